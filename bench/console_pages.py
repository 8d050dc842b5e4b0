"""CONSOLE — the operator console's pages at city scale: p50 / p95 server time of the
dashboard, the tenancy list (filtered, one page), a tenancy page and the review cycle board.

Set-up (not measured): a database of N tenancies under review for :data:`fixtures.PERIOD`,
their figures submitted and last year decided (``fixtures.build(reviewed=True)``: every
tenancy has units, allocations, two reviews and a ten-event audit chain); an operator of the
bench's space with a password, made with the service's own command (``AddUser``); the app as
``innospace serve`` builds it (``bootstrap`` + ``create_app``), its clock at
:data:`fixtures.DECIDE_AT`; a session through the login form, as a browser gets one.

Measured in process: each page is asked for through Starlette's TestClient, and the time is
taken inside the ASGI application — from the request entering the app to its last body
byte leaving it — so the figure is the server's (routing, session and scope checks, the
named queries, rendering), not the client's. Every answer is checked (status 200 and a
marker of the page), a page at a time, one request after another:

* ``GET /console`` — every figure of the dashboard over the N tenancies;
* ``GET /console/tenancies?space=CITY&state=under_review&page=P`` — one page of 50 from a
  random page of the filtered list;
* ``GET /console/tenancies/{id}`` — a random tenancy with its explained timeline;
* ``GET /console/cycles/CITY/{PERIOD}`` — the review cycle board, another page of the
  console: measured when the app has the route (:data:`CYCLE_BOARD`), reported as not
  measured otherwise.

Target (issue 17): p95 under 200 ms on SQLite.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from bench import fixtures
from bench.harness import Context, Result, percentile

TARGET_MS = 200.0
SAMPLES, QUICK_SAMPLES = 300, 100
WARM = 5  # untimed requests of each page first
PAGE = 50
USERNAME = "bench-console"
#: The cycle board's path (``space``, ``period``): measured when the app has this route.
CYCLE_BOARD = "/console/cycles/{space}/{period}"


class Timed:
    """An ASGI wrapper that records each request's server time (seconds): wall time, and the
    process's CPU time over the same span (on a busy machine the first waits for a core, the
    second does not)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0
        self.last_cpu = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started, cpu = time.perf_counter(), time.process_time()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - started
                self.last_cpu = time.process_time() - cpu

        await self.app(scope, receive, timed_send)


def _operator(url: str, password: str) -> None:
    from db.engine import make_engine
    from entrypoints.bootstrap import HANDLERS, SystemClock
    from workflows import identity
    from workflows.service import Service

    engine = make_engine(url)
    try:
        Service(engine, SystemClock(), HANDLERS).handle(
            identity.AddUser(
                username=USERNAME,
                display_name="基准测试运营",
                role="operator",
                password=password,
                space_codes=(fixtures.SPACE,),
                actor="bench",
            )
        )
    finally:
        engine.dispose()


def has_cycle_board(api: Any) -> bool:
    """Whether the console has the review cycle board's page (another part of issue 17)."""
    from entrypoints.http.app import all_routes

    return any(r.path == CYCLE_BOARD for r in all_routes(api))


def run_sqlite(ctx: Context, n: int) -> list[Result]:
    base = ctx.base(n, reviewed=True)
    db = ctx.copy(base, "console")
    return _run(ctx, fixtures.sqlite_url(db), "sqlite", n)


def _run(ctx: Context, url: str, backend: str, n: int) -> list[Result]:
    import warnings

    # Starlette's TestClient prefers the httpx2 fork now; httpx is what the project pins.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from entrypoints.bootstrap import bootstrap
    from entrypoints.http import create_app
    from entrypoints.settings import Settings
    from lifecycle.clock import FixedClock

    password, secret = secrets.token_urlsafe(18), secrets.token_urlsafe(32)
    with ctx.step(f"CONSOLE set-up ({backend}): operator, app, session"):
        _operator(url, password)
        app = bootstrap(
            settings=Settings(database_url=url, secret_key=secret),
            clock=FixedClock(fixtures.DECIDE_AT),
        )
        api = create_app(app, secret_key=secret)
        timed = Timed(api)
        client = TestClient(timed, base_url="http://localhost")
        login = client.post(
            "/login",
            data={"username": USERNAME, "password": password},
            follow_redirects=False,
        )
        if login.status_code != 303:
            raise AssertionError(f"CONSOLE login: {login.status_code} {login.text[:300]}")
    rng = random.Random(17)
    pages: list[tuple[str, Callable[[], str], str]] = [
        ("dashboard", lambda: "/console", "pipe-h"),
        (
            "tenancy list (filtered, one page of 50)",
            lambda: (
                f"/console/tenancies?space={fixtures.SPACE}&state=under_review"
                f"&page={rng.randrange(1, max(2, n // PAGE))}"
            ),
            'id="tenancies"',
        ),
        ("tenancy page", lambda: f"/console/tenancies/{rng.randrange(1, n + 1)}", "tl-h"),
    ]
    board = CYCLE_BOARD.format(space=fixtures.SPACE, period=fixtures.PERIOD)
    if has_cycle_board(api):
        pages.append(("cycle board", lambda: board, "<h1"))
    samples = QUICK_SAMPLES if ctx.quick else SAMPLES
    results: list[Result] = []
    try:
        for label, path_of, marker in pages:
            for _ in range(WARM):
                _get(client, path_of(), marker)
            times, cpu = [], []
            with ctx.step(f"CONSOLE {label} ({backend}), {samples} requests"):
                started = time.perf_counter()
                for _ in range(samples):
                    _get(client, path_of(), marker)
                    times.append(timed.last)
                    cpu.append(timed.last_cpu)
                seconds = time.perf_counter() - started
            results.append(_result(f"CONSOLE {label}", backend, times, cpu, seconds, n))
    finally:
        client.close()
        app.engine.dispose()
    if not has_cycle_board(api):
        results.append(
            Result(
                "CONSOLE cycle board",
                backend=backend,
                figure=f"not measured: {CYCLE_BOARD} is not on this branch (bench.console_pages"
                ".CYCLE_BOARD names the path it measures once it is)",
            )
        )
    return results


def _get(client: Any, path: str, marker: str) -> None:
    response = client.get(path)
    if response.status_code != 200 or marker not in response.text:
        raise AssertionError(f"CONSOLE GET {path}: {response.status_code} {response.text[:300]}")


def _result(
    label: str, backend: str, times: list[float], cpu: list[float], seconds: float, n: int
) -> Result:
    p50, p95, p99 = (percentile(times, p) * 1e3 for p in (50, 95, 99))
    result = Result(
        label,
        backend=backend,
        engine_s=seconds,
        figure=f"server p50 {p50:.1f}, p95 {p95:.1f}, p99 {p99:.1f} ms ({len(times)} requests, "
        f"{n:,} tenancies)",
        target=f"p95 < {TARGET_MS:g} ms",
        ok=p95 < TARGET_MS,
    )
    result.notes.append(
        f"server CPU p50 {percentile(cpu, 50) * 1e3:.1f}, p95 {percentile(cpu, 95) * 1e3:.1f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return result
