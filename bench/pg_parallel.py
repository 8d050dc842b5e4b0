"""W3 and W4 on PostgreSQL with several processes at once (1 and 4), each its own engine.

W3: each worker process runs the annual review of its own firms (``OpenReview``,
``SubmitReview``, ``DecideReview``) command by command through ``Service.handle``, as W3 does
on SQLite; the workers' tenancies do not overlap. Throughput is all workers' commands over
the span from the first start to the last finish; p50 / p99 are over every command.

W4: relay processes share one outbox of "review_opened" notices (queued by
``open_cycle_batch``); ``Relay`` claims its batches with ``FOR UPDATE SKIP LOCKED``, so each
notice goes to exactly one relay. Each process calls ``run_once`` until a call claims nothing
(a short batch does not mean the queue is empty while another relay holds rows). Throughput
is the notices over the span from the first start to the last finish.

Workers are spawned processes; each opens its engine and warms up (W3: its first command,
untimed, as W3 does; W4: one pooled connection) and then waits on a barrier, so start-up is
not timed. Every loop is bounded by a count and by :data:`DEADLINE_S`.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bench import fixtures, w3_commands
from bench.harness import Context, Result, percentile

WORKERS = (1, 4)
W4_GOAL_PER_S = 25_000.0  # issue 13: 4 relays on PostgreSQL (printed, not enforced)
DEADLINE_S = 300.0  # no worker runs longer than this; what it did by then is reported
BARRIER_S = 120.0  # the slowest worker's start-up (imports, connection, warm-up)
RELAY_AT = fixtures.OPEN_AT + timedelta(minutes=1)
COMMANDS = ("OpenReview", "SubmitReview", "DecideReview")  # the order p50s are printed in


# ---- the worker processes (top-level functions: spawned children import them) --------------


def _w3_worker(url: str, first: int, firms: int, barrier: Any, out: Any, deadline_s: float) -> None:
    try:
        from db.engine import make_engine
        from entrypoints.bootstrap import HANDLERS
        from lifecycle.clock import FixedClock
        from workflows.service import Service

        engine = make_engine(url)
        try:
            service = Service(engine, FixedClock(fixtures.OPEN_AT), HANDLERS)
            todo = w3_commands.commands(firms, first=first)
            service.handle(todo[0][1])  # warm-up, untimed (as W3)
            barrier.wait(BARRIER_S)
            latencies: dict[str, list[float]] = defaultdict(list)
            started = time.monotonic()
            stopped = False
            for name, command in todo[1:]:
                t0 = time.perf_counter()
                service.handle(command)
                latencies[name].append(time.perf_counter() - t0)
                if time.monotonic() - started > deadline_s:
                    stopped = True
                    break
            finished = time.monotonic()
        finally:
            engine.dispose()
        out.put(
            {"start": started, "end": finished, "latencies": dict(latencies), "stopped": stopped}
        )
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which raises
        out.put({"error": f"{type(err).__name__}: {err}"})


def _w4_worker(url: str, barrier: Any, out: Any, deadline_s: float) -> None:
    try:
        from db.engine import make_engine
        from lifecycle.clock import FixedClock
        from notifications.relay import Relay, RelayReport
        from notifications.render import Renderer

        engine = make_engine(url)
        try:
            relay = Relay(engine, Renderer(), None, FixedClock(RELAY_AT))
            with engine.connect():  # the pool's connection, made before the clock starts
                pass
            barrier.wait(BARRIER_S)
            total = RelayReport()
            started = time.monotonic()
            stopped = False
            for _ in range(10_000):  # bounded: each call claims at least one batch or ends
                report = relay.run_once(RELAY_AT, max_batches=10**6)
                total.add(report)
                if report.claimed == 0:
                    break
                if time.monotonic() - started > deadline_s:
                    stopped = True
                    break
            finished = time.monotonic()
        finally:
            engine.dispose()
        out.put({"start": started, "end": finished, "report": total.to_dict(), "stopped": stopped})
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which raises
        out.put({"error": f"{type(err).__name__}: {err}"})


def _spawn(target: Any, args_of: list[tuple[Any, ...]], deadline_s: float) -> list[dict[str, Any]]:
    """Start one process per argument tuple (the barrier and queue are appended), collect
    one dict from each; a worker that fails or hangs stops the run."""
    spawn = mp.get_context("spawn")
    barrier, out = spawn.Barrier(len(args_of)), spawn.Queue()
    procs = [
        spawn.Process(target=target, args=(*args, barrier, out, deadline_s), daemon=True)
        for args in args_of
    ]
    for p in procs:
        p.start()
    got: list[dict[str, Any]] = []
    try:
        for _ in procs:
            got.append(out.get(timeout=BARRIER_S + deadline_s + 60))
    except queue_module.Empty:
        raise AssertionError(f"{len(procs) - len(got)} worker(s) gave no result in time") from None
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    errors = [g["error"] for g in got if "error" in g]
    if errors:
        raise AssertionError(f"worker failed: {errors[0]}")
    return got


def _span(got: list[dict[str, Any]]) -> float:
    return max(g["end"] for g in got) - min(g["start"] for g in got)


def _count(url: str, sql: str) -> int:
    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


# ---- W3 ----------------------------------------------------------------------------------


def w3(ctx: Context, pg: Any, base: str, base_n: int, firms: int) -> list[Result]:
    """``base``: the scratch label of a database of ``base_n`` active tenancies."""
    per_worker = min(firms, base_n // max(WORKERS))
    deadline = DEADLINE_S / 4 if ctx.quick else DEADLINE_S
    results: list[Result] = []
    for k in WORKERS:
        url = pg.create(f"w3par{k}", base)
        with ctx.step(f"PostgreSQL W3, {k} worker(s) x {per_worker * 3:,} commands"):
            got = _spawn(
                _w3_worker,
                [(url, 1 + i * per_worker, per_worker) for i in range(k)],
                deadline,
            )
        everything = [v for g in got for vs in g["latencies"].values() for v in vs]
        by_command: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for g in got:
            for name, values in g["latencies"].items():
                by_command.setdefault(name, []).extend(values)
        decided = _count(url, "SELECT count(*) FROM reviews WHERE status = 'decided'")
        stopped = any(g["stopped"] for g in got)
        if decided != k * per_worker and not (stopped and decided >= k):
            raise AssertionError(f"PostgreSQL W3 x{k}: {decided} reviews decided")
        seconds = _span(got)
        rate = len(everything) / seconds
        notes = [
            "p50 "
            + " / ".join(f"{percentile(v, 50) * 1e3:.2f}" for v in by_command.values())
            + " ms ("
            + " / ".join(by_command)
            + ")"
        ]
        if k > 1:
            notes.append(
                "per worker "
                + ", ".join(
                    f"{sum(map(len, g['latencies'].values())) / (g['end'] - g['start']):,.0f}/s"
                    for g in got
                )
            )
        if stopped:
            notes.append(f"stopped at the {deadline:.0f} s bound")
        results.append(
            Result(
                f"W3 single commands, {k} worker{'s' if k > 1 else ''} x {len(everything) // k:,}",
                backend="postgresql",
                engine_s=seconds,
                figure=f"{rate:,.0f}/s; p50 {percentile(everything, 50) * 1e3:.2f} ms, "
                f"p99 {percentile(everything, 99) * 1e3:.2f} ms",
                notes=notes,
            )
        )
    return results


# ---- W4 ----------------------------------------------------------------------------------


def w4(ctx: Context, pg: Any, opened: str, n: int) -> list[Result]:
    """``opened``: the scratch label of a database where W1 queued ``n`` notices."""
    deadline = DEADLINE_S / 4 if ctx.quick else DEADLINE_S
    results: list[Result] = []
    for k in WORKERS:
        url = pg.create(f"w4par{k}", opened)
        with ctx.step(f"PostgreSQL W4, {k} relay process(es), {n:,} notices"):
            got = _spawn(_w4_worker, [(url,) for _ in range(k)], deadline)
        delivered = sum(g["report"]["delivered"] for g in got)
        stopped = any(g["stopped"] for g in got)
        inbox = _count(url, "SELECT count(*) FROM inbox")
        if not stopped and (delivered != n or inbox != n):
            dead = sum(g["report"]["dead"] for g in got)
            raise AssertionError(
                f"PostgreSQL W4 x{k}: delivered {delivered}, inbox {inbox} of {n} (dead {dead})"
            )
        if inbox != delivered:
            raise AssertionError(f"PostgreSQL W4 x{k}: {delivered} delivered, {inbox} in inbox")
        seconds = _span(got)
        rate = delivered / seconds
        notes = []
        if k > 1:
            notes.append("per relay " + " / ".join(f"{g['report']['delivered']:,}" for g in got))
        if stopped:
            notes.append(f"stopped at the {deadline:.0f} s bound")
        result = Result(
            f"W4 relay to inbox, {k} relay{'s' if k > 1 else ''}, N={delivered:,}",
            backend="postgresql",
            engine_s=seconds,
            figure=f"{rate:,.0f} notices/s",
            notes=notes,
        )
        if k == max(WORKERS):
            result.target = f"goal ≥ {W4_GOAL_PER_S:,.0f}/s"
            result.ok = rate >= W4_GOAL_PER_S
            result.enforced = False
        results.append(result)
    return results
