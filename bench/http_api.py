"""HTTP — the API as a client on the same machine sees it: ``innospace serve`` in a subprocess,
httpx clients in threads over loopback.

Set-up (not measured): a database of N tenancies under review for :data:`fixtures.PERIOD`, the
review opened and its figures not yet submitted (``fixtures.build(opened=True)``); an operator
account of the bench's space and an API token for it, made with the service's own commands
(``AddUser``, ``CreateToken``), so requests carry ``Authorization: Bearer`` and need no CSRF
token; then ``innospace --db URL serve --no-scheduler --port P --workers K`` (SQLite: 1
worker; PostgreSQL: 4), waited for until every worker has started and the API answers.

Measured, for 1 and then 8 concurrent clients (threads, one keep-alive ``httpx.Client``
each, the same clients warmed up first with a few untimed reads and submits):

* ``GET /api/tenancies?space=CITY&state=under_review&cursor=…`` — one page (50) from a
  random cursor;
* ``GET /api/tenancies/{id}`` — one tenancy with its timeline (9–10 audit events) and ETag;
* ``POST /api/tenancies/{id}/actions/submit_review`` with ``If-Match`` the tenancy's version
  (read in set-up) and figures from ``entrypoints.demo_data.figures``; each tenancy once,
  none shared between clients or measurements.

Each measurement is a bounded count of requests (and stops at :data:`DEADLINE_S` whatever
it has done); the figure is p50 / p95 / p99 of each request's wall time at the client and
the requests per second over the measurement. Every status is checked: a non-2xx response
is counted and reported, and more than :data:`FAILURES_ALLOWED` stop the run. After the
writes the submitted reviews are counted in the database. The server is then stopped
(SIGTERM, then its process group is killed if it has not exited) and the database dropped
with the scratch directory.

The client runs on the same two cores as the server (and PostgreSQL): its own time — httpx
building and parsing each request in Python, threads sharing one GIL — is inside every
figure. The server runs as shipped: uvicorn's access log on (one line per request).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bench import cli_start, fixtures
from bench.harness import Context, Result, percentile

if TYPE_CHECKING:
    from bench.postgres import Scratch

CLIENTS = (1, 8)
READS, WRITES = 2_000, 1_000  # requests per measurement
QUICK_READS, QUICK_WRITES = 400, 200
WARM_READS, WARM_WRITES = 20, 2  # per client, untimed, before its first measurement
PAGE = 50
READ_TARGET_MS = 50.0  # issue 16: read p95
WRITE_GOAL_PER_S = 1_000.0  # issue 16: writes on PostgreSQL with 4 workers
FAILURES_ALLOWED = 5  # per measurement; more stop the run
DEADLINE_S = 120.0  # no measurement runs longer; what it did by then is reported
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0
USERNAME = "bench-operator"


@dataclass
class Call:
    """One request to send."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class Measured:
    latencies: list[float]
    seconds: float
    ok: int
    failures: list[str]  # "status method path: detail", the first few kept in full
    stopped: bool
    client_cpu_s: float = 0.0  # this process's CPU time over the measurement (the clients)
    server_cpu_s: float | None = None  # the server's processes' (uvicorn and its workers)
    database_cpu_s: float | None = None  # PostgreSQL's backends serving the bench database

    @property
    def count(self) -> int:
        return len(self.latencies)


# ---- set-up ---------------------------------------------------------------------------------


def _operator_token(url: str) -> str:
    """An operator of the bench's space and an API token of theirs, through the commands."""
    from db.engine import make_engine
    from entrypoints.bootstrap import HANDLERS, SystemClock
    from workflows import identity
    from workflows.service import Service

    engine = make_engine(url)
    try:
        service = Service(engine, SystemClock(), HANDLERS)
        service.handle(
            identity.AddUser(
                username=USERNAME,
                display_name="基准测试运营",
                role="operator",
                password=secrets.token_urlsafe(18),
                space_codes=(fixtures.SPACE,),
                actor="bench",
            )
        )
        new = service.handle(identity.CreateToken(username=USERNAME, label="bench", actor="bench"))
        return str(new.token)
    finally:
        engine.dispose()


def _versions(url: str, ids: list[int]) -> dict[int, int]:
    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, version FROM tenancies")).all()
    finally:
        engine.dispose()
    wanted = set(ids)
    return {int(i): int(v) for i, v in rows if i in wanted}


def _submitted(url: str) -> int:
    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM reviews WHERE period = :p AND status = 'submitted'"),
                    {"p": fixtures.PERIOD},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    ctx: Context, url: str, workers: int, token: str, label: str
) -> Iterator[tuple[str, int]]:
    """``innospace serve`` on a free loopback port until the block ends; yields its base URL
    and its process group (its own session: the server and its workers)."""
    port = _free_port()
    argv = [
        *cli_start.executable(),
        "--db",
        url,
        "serve",
        "--no-scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOSPACE_")}
    env["INNOSPACE_SECRET_KEY"] = secrets.token_urlsafe(32)
    log = ctx.root / f"serve-{label}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=ctx.root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, base, token, workers, log)
        yield base, proc.pid
    finally:
        _stop(proc)


def _wait_ready(
    proc: subprocess.Popen[bytes], base: str, token: str, workers: int, log: Path
) -> None:
    """Until every worker has logged its start-up and the API answers an authorized read."""
    deadline = time.monotonic() + START_TIMEOUT_S
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"innospace serve exited ({proc.returncode}):\n{_tail(log)}")
        started = log.read_text(errors="replace").count("Application startup complete")
        if started >= workers:
            try:
                r = httpx.get(f"{base}/api/tenancies?limit=1", headers=headers, timeout=5)
            except httpx.TransportError:
                pass
            else:
                if r.status_code == 200:
                    return
                raise AssertionError(f"innospace serve answered {r.status_code}: {r.text[:300]}")
        time.sleep(0.2)
    raise AssertionError(f"innospace serve not ready in {START_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn stops its workers and exits); if it has not exited in time, its
    process group (started by this run, workers included) is killed."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # still running: the group is this run's
        proc.wait(10)


def _cpu_by_pid() -> dict[int, tuple[int, float]]:
    """Each live process's group and CPU seconds (user + system), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[int, float]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state, ppid, pgrp, …, utime (14th field), stime (15th)
        out[int(stat.parent.name)] = (int(fields[2]), (int(fields[11]) + int(fields[12])) / tick)
    return out


def group_cpu_s(pgid: int) -> float | None:
    """CPU seconds of the live processes of process group ``pgid`` (the server and its
    workers: ``start_new_session``); None where there is none."""
    cpu = [s for group, s in _cpu_by_pid().values() if group == pgid]
    return sum(cpu) if cpu else None


def backend_pids(url: str) -> set[int]:
    """PostgreSQL's backends connected to the database of ``url`` (this query's excepted),
    when the server runs on this machine (their CPU is then read from /proc)."""
    from sqlalchemy import create_engine

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
    finally:
        engine.dispose()
    return {int(r[0]) for r in rows}


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---- the requests ---------------------------------------------------------------------------


def list_calls(n: int, count: int, rng: random.Random) -> list[Call]:
    out = []
    for _ in range(count):
        after = rng.randrange(0, max(1, n - PAGE))
        query = f"space={fixtures.SPACE}&state=under_review&limit={PAGE}"
        out.append(Call("GET", f"/api/tenancies?{query}" + (f"&cursor={after}" if after else "")))
    return out


def show_calls(n: int, count: int, rng: random.Random) -> list[Call]:
    return [Call("GET", f"/api/tenancies/{rng.randrange(1, n + 1)}") for _ in range(count)]


def submit_calls(ids: list[int], versions: dict[int, int], rng: random.Random) -> list[Call]:
    from entrypoints.demo_data import figures

    out = []
    for i in ids:
        level = ("strong", "steady", "steady", "steady", "weak")[i % 5]
        body = {"period": fixtures.PERIOD, "figures": figures(level, year=fixtures.PERIOD, rng=rng)}
        out.append(
            Call(
                "POST",
                f"/api/tenancies/{i}/actions/submit_review",
                {"If-Match": f'"{versions[i]}"', "Content-Type": "application/json"},
                json.dumps(body).encode(),
            )
        )
    return out


def measure(
    clients: list[httpx.Client], calls: list[Call], server_pgid: int = 0, pg_url: str | None = None
) -> Measured:
    """Send ``calls`` through ``clients`` at once (client k sends calls k, k+c, k+2c, …);
    ``server_pgid``: the server's process group, whose CPU time is taken too; ``pg_url``:
    the PostgreSQL database whose backends' CPU time is taken (a local server)."""
    c = len(clients)
    start = threading.Barrier(c + 1)
    latencies: list[list[float]] = [[] for _ in clients]
    failures: list[list[str]] = [[] for _ in clients]
    ends: list[float] = [0.0] * c
    stopped = threading.Event()
    began: list[float] = [0.0]

    def worker(k: int) -> None:
        client, mine, bad = clients[k], latencies[k], failures[k]
        start.wait()
        for call in calls[k::c]:
            t0 = time.perf_counter()
            try:
                r = client.request(call.method, call.path, headers=call.headers, content=call.body)
                r.read()
                status, detail = r.status_code, r.text[:200] if r.status_code >= 300 else ""
            except httpx.HTTPError as err:
                status, detail = 0, f"{type(err).__name__}: {err}"
            mine.append(time.perf_counter() - t0)
            if not 200 <= status < 300:
                bad.append(f"{status} {call.method} {call.path}: {detail}")
            if time.perf_counter() - began[0] > DEADLINE_S:
                stopped.set()
                break
        ends[k] = time.perf_counter()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(c)]
    for t in threads:
        t.start()
    server_before = group_cpu_s(server_pgid) if server_pgid else None
    backends = backend_pids(pg_url) if pg_url else set()
    db_before = {pid: cpu for pid, (_, cpu) in _cpu_by_pid().items() if pid in backends}
    client_before = time.process_time()
    began[0] = time.perf_counter()
    start.wait()
    for t in threads:
        t.join(DEADLINE_S + REQUEST_TIMEOUT_S + 10)
    if any(t.is_alive() for t in threads):
        raise AssertionError("an HTTP client thread did not finish")
    client_cpu = time.process_time() - client_before
    server_after = group_cpu_s(server_pgid) if server_pgid else None
    db_cpu = None
    if pg_url:
        now = _cpu_by_pid()
        # Backends opened during the measurement count from zero (pools grow at c=8); none
        # visible in /proc: PostgreSQL runs elsewhere, and no figure is given.
        after = [pid for pid in backend_pids(pg_url) if pid in now]
        if after:
            db_cpu = sum(now[pid][1] - db_before.get(pid, 0.0) for pid in after)
    every = [v for vs in latencies for v in vs]
    failed = [f for fs in failures for f in fs]
    return Measured(
        every,
        max(ends) - began[0],
        len(every) - len(failed),
        failed,
        stopped.is_set(),
        client_cpu,
        None if server_before is None or server_after is None else server_after - server_before,
        db_cpu,
    )


def _check(label: str, m: Measured) -> None:
    if len(m.failures) > FAILURES_ALLOWED:
        shown = "\n  ".join(m.failures[:5])
        raise AssertionError(f"{label}: {len(m.failures)} of {m.count} requests failed:\n  {shown}")


def _sanity(client: httpx.Client, n: int) -> None:
    """The reads answer what they are meant to: a full page, a tenancy with its timeline."""
    page = client.get(
        f"/api/tenancies?space={fixtures.SPACE}&state=under_review&limit={PAGE}"
    ).json()
    if len(page["items"]) != PAGE or page["next"] is None:
        raise AssertionError(f"HTTP list: {len(page['items'])} items, next {page['next']!r}")
    one = client.get(f"/api/tenancies/{n // 2}")
    if one.status_code != 200 or not one.json().get("timeline") or "etag" not in one.headers:
        raise AssertionError(f"HTTP show: {one.status_code} {one.text[:200]}")


# ---- the workload ---------------------------------------------------------------------------


def run_sqlite(ctx: Context, n: int) -> list[Result]:
    base = ctx.base(n, opened=True)
    db = ctx.copy(base, "http")
    return _run(ctx, fixtures.sqlite_url(db), "sqlite", 1, n)


def run_postgres(ctx: Context, pg: Scratch, n: int) -> list[Result]:
    url = pg.create("http")
    with ctx.step(f"PostgreSQL set-up: {n:,} tenancies under review (opened)"):
        fixtures.build(url, n, opened=True)
    return _run(ctx, url, "postgresql", 4, n)


def _run(ctx: Context, url: str, backend: str, workers: int, n: int) -> list[Result]:
    reads, writes = (QUICK_READS, QUICK_WRITES) if ctx.quick else (READS, WRITES)
    rng = random.Random(16)
    writes_needed = sum(c * WARM_WRITES + writes for c in CLIENTS)
    if writes_needed > n:
        writes = max(1, (n - sum(c * WARM_WRITES for c in CLIENTS)) // len(CLIENTS))
    ids = rng.sample(range(1, n + 1), sum(c * WARM_WRITES + writes for c in CLIENTS))
    with ctx.step(f"HTTP set-up ({backend}): operator, token, versions"):
        token = _operator_token(url)
        versions = _versions(url, ids)
    per = f"{workers} worker{'s' if workers > 1 else ''}"
    results: list[Result] = []
    submitted = 0
    with serving(ctx, url, workers, token, backend) as (base_url, pgid):
        for c in CLIENTS:
            clients = [
                httpx.Client(
                    base_url=base_url,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=REQUEST_TIMEOUT_S,
                )
                for _ in range(c)
            ]
            try:
                _sanity(clients[0], n)
                warm = ids[: c * WARM_WRITES]
                ids = ids[c * WARM_WRITES :]
                mine, ids = ids[:writes], ids[writes:]
                with ctx.step(f"HTTP warm-up ({backend}, c={c})"):
                    warm_m = measure(
                        clients,
                        list_calls(n, c * WARM_READS, rng)
                        + show_calls(n, c * WARM_READS, rng)
                        + submit_calls(warm, versions, rng),
                    )
                _check(f"HTTP warm-up ({backend}, c={c})", warm_m)
                submitted += len(warm) - sum(1 for f in warm_m.failures if "submit_review" in f)
                for kind, calls in (
                    ("list (one page)", list_calls(n, reads, rng)),
                    ("show + timeline", show_calls(n, reads, rng)),
                    ("submit_review", submit_calls(mine, versions, rng)),
                ):
                    label = f"HTTP {kind}, {per}, c={c}"
                    with ctx.step(f"{label} ({backend}), {len(calls):,} requests"):
                        m = measure(clients, calls, pgid, url if backend == "postgresql" else None)
                    _check(f"{label} ({backend})", m)
                    if kind == "submit_review":
                        submitted += m.ok
                    results.append(_result(label, backend, kind, workers, c, m))
            finally:
                for client in clients:
                    client.close()
    in_db = _submitted(url)
    if in_db != submitted:
        raise AssertionError(f"HTTP ({backend}): {submitted} submits answered 2xx, {in_db} in db")
    return results


def _result(label: str, backend: str, kind: str, workers: int, c: int, m: Measured) -> Result:
    p50, p95, p99 = (percentile(m.latencies, p) * 1e3 for p in (50, 95, 99))
    rate = m.count / m.seconds
    result = Result(
        label,
        backend=backend,
        engine_s=m.seconds,
        figure=f"p50 {p50:.1f}, p95 {p95:.1f}, p99 {p99:.1f} ms; {rate:,.0f} req/s "
        f"({m.count:,} requests)",
    )
    cpu = f"CPU per request: client {m.client_cpu_s / m.count * 1e3:.1f} ms"
    if m.server_cpu_s is not None:
        cpu += f", server {m.server_cpu_s / m.count * 1e3:.1f} ms"
    if m.database_cpu_s is not None:
        cpu += f", PostgreSQL {m.database_cpu_s / m.count * 1e3:.1f} ms"
    result.notes.append(cpu)
    if m.failures:
        result.notes.append(f"{len(m.failures)} non-2xx: {m.failures[0][:120]}")
    if m.stopped:
        result.notes.append(f"stopped at the {DEADLINE_S:.0f} s bound")
    if kind != "submit_review":
        result.target = f"p95 < {READ_TARGET_MS:g} ms"
        result.ok = p95 < READ_TARGET_MS
    elif backend == "postgresql" and workers == 4 and c == max(CLIENTS):
        # Not held on a 2-core machine shared by server, PostgreSQL and client: W3 on
        # PostgreSQL, without HTTP, makes about 500 commands/s with 4 processes.
        result.target = f"goal ≥ {WRITE_GOAL_PER_S:,.0f}/s"
        result.ok = rate >= WRITE_GOAL_PER_S
        result.enforced = False
    return result
