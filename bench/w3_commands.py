"""W3 — single commands through ``Service.handle``, one after another, on a database file.

The commands are a firm's annual review as an operator runs it: ``OpenReview`` (transition,
review row, three deadlines, notice), ``SubmitReview`` (validated figures, audited, reminders
cancelled) and ``DecideReview`` (scored under the rulebook, graded, transition, notice). Each
is one unit of work with its audit event and outbox row, committed before the next starts.
The floor is the same rows written with the bare driver, one transaction per command.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from typing import Any

from bench import fixtures, floor
from bench.harness import Context, Result, percentile, sqlite_instant
from db.engine import make_engine
from db.tables import AuditEvent, Deadline, ExitCase, OutboxMessage, Rectification, Review
from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import figures
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.service import Service

TARGET_PER_S = 1500.0


def commands(n: int, first: int = 1) -> list[tuple[str, c.Command]]:
    """The review of firms first..first+n-1: open, submit, decide, firm after firm."""
    rng = random.Random(3)
    out: list[tuple[str, c.Command]] = []
    for t in range(first, first + n):
        level = ("strong", "steady", "steady", "steady", "weak")[t % 5]
        out += [
            ("OpenReview", c.OpenReview(tenancy_id=t, period=fixtures.PERIOD)),
            (
                "SubmitReview",
                c.SubmitReview(
                    tenancy_id=t,
                    period=fixtures.PERIOD,
                    figures=figures(level, year=fixtures.PERIOD, rng=rng),
                ),
            ),
            ("DecideReview", c.DecideReview(tenancy_id=t, period=fixtures.PERIOD)),
        ]
    return out


def measure(url: str, n: int) -> tuple[float, dict[str, list[float]]]:
    """Run the commands; return wall seconds and latencies (seconds) by command."""
    engine = make_engine(url)
    service = Service(engine, FixedClock(fixtures.OPEN_AT), HANDLERS)
    todo = commands(n)
    latencies: dict[str, list[float]] = defaultdict(list)
    try:
        service.handle(todo[0][1])  # warm-up: imports, handler registry, compiled statements
        # No live progress bar: its refresh thread would share the CPU with the commands being
        # timed (the workload takes seconds).
        started = time.perf_counter()
        for name, command in todo[1:]:
            t0 = time.perf_counter()
            service.handle(command)
            latencies[name].append(time.perf_counter() - t0)
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return seconds, latencies


def summarize(
    name: str,
    backend: str,
    seconds: float,
    latencies: dict[str, list[float]],
    floor_s: float | None,
) -> list[Result]:
    everything = [v for values in latencies.values() for v in values]
    rate = len(everything) / seconds
    out = [
        Result(
            f"{name}: {len(everything):,} commands",
            backend=backend,
            engine_s=seconds,
            floor_s=floor_s,
            figure=f"{rate:,.0f}/s; p50 {percentile(everything, 50) * 1e3:.2f} ms, "
            f"p99 {percentile(everything, 99) * 1e3:.2f} ms",
            # The target is set for SQLite; PostgreSQL is printed beside it.
            target=f"≥ {TARGET_PER_S:,.0f}/s" if backend == "sqlite" else "",
            ok=rate >= TARGET_PER_S if backend == "sqlite" else None,
        )
    ]
    for command, values in latencies.items():
        out.append(
            Result(
                f"  {command}",
                backend=backend,
                figure=f"p50 {percentile(values, 50) * 1e3:.2f} ms, "
                f"p99 {percentile(values, 99) * 1e3:.2f} ms",
            )
        )
    return out


def run_sqlite(ctx: Context, firms: int) -> list[Result]:
    base = ctx.base(max(firms, 1000))
    engine_db, floor_db = ctx.copy(base, "w3-engine"), ctx.copy(base, "w3-floor")
    with ctx.step(f"W3 engine, {firms * 3:,} commands"):
        seconds, latencies = measure(fixtures.sqlite_url(engine_db), firms)
    with ctx.step("W3 floor"):
        floor_s = _floor(engine_db, floor_db)
    return summarize("W3 single commands", "sqlite", seconds, latencies, floor_s)


def _floor(engine_db: Any, floor_db: Any) -> float:
    """The rows of the commands, one transaction per tenancy's three commands' worth (the
    bare driver commits as often as the engine would: per command, so x3)."""
    source, target = floor.SqliteDriver(engine_db), floor.SqliteDriver(floor_db)
    try:
        spec = floor.Replay(
            inserted=(Review, AuditEvent, Rectification, ExitCase, Deadline, OutboxMessage),
            updated=dict(floor.WRITTEN_BY_DECIDE.updated),
            version_step=3,
        )
        before = floor.max_ids(target, list(spec.inserted))
        seconds = floor.replay(
            source, target, spec, before=before, now=sqlite_instant(fixtures.OPEN_AT), chunk=1
        )
        # Two more commits per tenancy (the engine commits each of its three commands).
        extra = (
            len(
                source.read(
                    "SELECT id FROM reviews WHERE decided_at = ?",
                    [sqlite_instant(fixtures.OPEN_AT)],
                )
            )
            * 2
        )
        started = time.perf_counter()
        for _ in range(extra):
            target.begin()
            target.commit()
        return seconds + time.perf_counter() - started
    finally:
        source.close()
        target.close()
