"""W1 — a city's review cycle opened: N active tenancies, one ``open_cycle_batch``.

Each tenancy gets its state change and version bump, the review row, a hash-chained audit
event, the "review_opened" notice and its deadlines (submission + two reminders). Also the
scaling series (cost per tenancy at N/10, N/2, N) and the check that the result verifies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from bench import fixtures, floor
from bench.harness import Context, Result, sqlite_instant, timed
from db.engine import make_engine
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import FixedClock
from workflows.audit import verify
from workflows.batch import BatchReport, open_cycle_batch

TARGET_RATIO = 3  # issue 13: W1 within 3x the raw-SQL floor
SCALING_SLACK = 1.5  # cost per tenancy at N may exceed the cost at N/10 by this factor


def open_cycle(ctx: Context, url: str, label: str) -> tuple[float, BatchReport]:
    """Run the batch (timed) on ``url``."""
    engine = make_engine(url)
    try:
        with ctx.progress(label) as bar:
            seconds, report = timed(
                lambda: open_cycle_batch(
                    engine,
                    FixedClock(fixtures.OPEN_AT),
                    WorkCalendar(),
                    space_code=fixtures.SPACE,
                    period=fixtures.PERIOD,
                    progress=bar,
                )
            )
    finally:
        engine.dispose()
    return seconds, report


def spot_check(url: str, n: int) -> None:
    """The chains of tenancies spread over the run verify (the whole run would take longer
    than the run itself)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            for tenancy_id in fixtures.sample_ids(n, 50):
                report = verify(session, tenancy_id)
                if not report.ok:
                    raise AssertionError(f"audit chain broken after W1: {report.problems[0]}")
    finally:
        engine.dispose()


def run_sqlite(ctx: Context, n: int, *, name: str = "w1") -> tuple[Result, Path]:
    """W1 on SQLite and its floor; returns the result and the engine's database (W4 uses
    the notices it queued)."""
    base = ctx.base(n)
    engine_db, floor_db = ctx.copy(base, f"{name}-engine"), ctx.copy(base, f"{name}-floor")
    with ctx.step(f"W1 engine, {n:,} tenancies"):
        seconds, report = open_cycle(ctx, fixtures.sqlite_url(engine_db), f"W1 open {n:,}")
    if report.written != n:
        raise AssertionError(f"W1 opened {report.written} of {n}")
    with ctx.step("W1 floor"):
        floor_s = replay_sqlite(engine_db, floor_db, floor.WRITTEN_BY_OPEN, 5000)
    same_rows(engine_db, floor_db)
    spot_check(fixtures.sqlite_url(engine_db), n)
    result = Result(
        f"W1 cycle opening, N={n:,}",
        engine_s=seconds,
        floor_s=floor_s,
        figure=f"{n / seconds:,.0f} tenancies/s; {seconds / n * 1e6:.0f} µs each",
        target=f"ratio ≤ {TARGET_RATIO:g}",
    )
    result.ok = result.ratio is not None and result.ratio <= TARGET_RATIO
    return result, engine_db


def replay_sqlite(
    engine_db: Path, floor_db: Path, spec: floor.Replay, chunk: int, now: Any = None
) -> float:
    source, target = floor.SqliteDriver(engine_db), floor.SqliteDriver(floor_db)
    try:
        models = list(spec.inserted)
        before = floor.max_ids(target, models)
        when = now if now is not None else sqlite_instant(fixtures.OPEN_AT)
        return floor.replay(source, target, spec, before=before, now=when, chunk=chunk)
    finally:
        source.close()
        target.close()


SUMMARY = {  # per table: rows, and a sum over what the workloads write into it
    "tenancies": "count(*), total(version), group_concat(audit_head, '')",
    "reviews": "count(*), total(length(trace)), total(score)",
    "audit_events": "count(*), total(length(data)), max(hash)",
    "outbox": "count(*), total(length(context)), total(length(dedupe_key))",
    "deadlines": "count(*), total(status = 'cancelled'), total(length(dedupe_key))",
    "rectifications": "count(*), total(length(defects))",
    "exit_cases": "count(*), total(length(facts))",
    "inbox": "count(*), total(length(body))",
}


def same_rows(a: Path, b: Path) -> None:
    """The floor wrote what the engine wrote: same counts and content summaries per table."""
    da, db = floor.SqliteDriver(a), floor.SqliteDriver(b)
    try:
        for t, summary in SUMMARY.items():
            query = f"SELECT {summary} FROM {t}"
            if da.read(query, []) != db.read(query, []):
                raise AssertionError(f"floor and engine differ in {t}")
    finally:
        da.close()
        db.close()


def scaling(ctx: Context, sizes: list[int], known: dict[int, Result]) -> list[Result]:
    """W1 at several sizes; cost per tenancy should stay flat (streaming, no N² anywhere)."""
    results: list[Result] = []
    per: dict[int, float] = {}
    for n in sizes:
        if n in known and known[n].engine_s is not None:
            seconds = known[n].engine_s
            assert seconds is not None
        else:
            base = ctx.base(n)
            db = ctx.copy(base, f"w1-scale-{n}")
            with ctx.step(f"W1 scaling, {n:,}"):
                seconds, _ = open_cycle(ctx, fixtures.sqlite_url(db), f"W1 open {n:,}")
            db.unlink(missing_ok=True)
        per[n] = seconds / n * 1e6
        results.append(
            Result(f"W1 scaling, N={n:,}", engine_s=seconds, figure=f"{per[n]:.1f} µs per tenancy")
        )
    first, last = per[sizes[0]], per[sizes[-1]]
    growth = last / first
    results[-1].target = f"µs/tenancy at {sizes[-1]:,} ≤ {SCALING_SLACK:g}× at {sizes[0]:,}"
    results[-1].ok = growth <= SCALING_SLACK
    results[-1].figure += f" ({growth:.2f}× the {sizes[0]:,} cost)"
    return results
