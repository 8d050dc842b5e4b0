"""Bytes per tenancy-year: what one annual review adds to the database.

On a fresh space of N active tenancies, the year's cycle is run as W1 and W2 run it: the
cycle opened (``open_cycle_batch``), every firm's figures submitted (``SubmitReview`` through
``Service.handle``, one command per firm: no batch path submits), and the cycle decided
(``decide_cycle_batch``). The database is measured before and after; the difference over N is
the storage one tenancy costs per year. On SQLite: the file size (WAL checkpointed into it)
and each table's pages with its indexes (``dbstat``); on PostgreSQL: each table's
``pg_total_relation_size`` (heap, indexes, TOAST; dead row versions left by updates count,
as they would until a vacuum reuses them). The notices' delivery into the inbox is not part
of it (the relay's work, W4).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import fixtures
from bench.harness import Context, Result
from db.engine import make_engine
from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import figures
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.batch import decide_cycle_batch, open_cycle_batch
from workflows.service import Service

TABLES = ("reviews", "audit_events", "outbox", "deadlines")
QUICK_N, DEFAULT_N = 1000, 5000


def size(ctx: Context) -> int:
    return min(ctx.n, QUICK_N if ctx.quick else DEFAULT_N)


def review_year(url: str, n: int) -> dict[str, Any]:
    """Open, submit and decide the year on the built space at ``url`` (tenancies 1..n)."""
    engine = make_engine(url)
    try:
        opened = open_cycle_batch(
            engine,
            FixedClock(fixtures.OPEN_AT),
            WorkCalendar(),
            space_code=fixtures.SPACE,
            period=fixtures.PERIOD,
        )
        service = Service(engine, FixedClock(fixtures.SUBMIT_AT), HANDLERS)
        rng = random.Random(7)
        for t in range(1, n + 1):
            level = rng.choices(("strong", "steady", "weak"), weights=(25, 65, 10))[0]
            service.handle(
                c.SubmitReview(
                    tenancy_id=t,
                    period=fixtures.PERIOD,
                    figures=figures(level, year=fixtures.PERIOD, rng=rng),
                )
            )
        decided = decide_cycle_batch(
            engine,
            FixedClock(fixtures.DECIDE_AT),
            WorkCalendar(),
            space_code=fixtures.SPACE,
            period=fixtures.PERIOD,
        )
    finally:
        engine.dispose()
    if opened.written != n or decided.written != n:
        raise AssertionError(f"tenancy-year: opened {opened.written}, decided {decided.written}")
    return dict(decided.outcomes)


def _sqlite_sizes(path: Path) -> tuple[int, dict[str, int]]:
    """The file's size with the WAL checkpointed into it, and each table's bytes (its pages
    and its indexes' pages)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute(
            "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
            "LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1"
        ).fetchall()
    finally:
        conn.close()
    return path.stat().st_size, {str(name): int(b) for name, b in rows}


def _pg_sizes(url: str) -> tuple[int, dict[str, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                )
            ).all()
            trace = conn.execute(
                text("SELECT avg(pg_column_size(trace)) FROM reviews WHERE status = 'decided'")
            ).scalar_one()
    finally:
        engine.dispose()
    sizes = {str(name): int(b) for name, b in rows}
    sizes["(trace)"] = int(trace or 0)
    return sum(b for name, b in sizes.items() if not name.startswith("(")), sizes


def _sqlite_trace(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        value = conn.execute(
            "SELECT avg(length(CAST(trace AS BLOB))) FROM reviews WHERE status = 'decided'"
        ).fetchone()[0]
    finally:
        conn.close()
    return int(value or 0)


def _results(
    backend: str,
    n: int,
    total: int,
    tables: dict[str, int],
    trace: int,
    measured: str,
) -> list[Result]:
    per = total / n
    other = sum(b for t, b in tables.items() if t not in TABLES)
    split = [f"{t} {tables.get(t, 0) / n / 1024:.1f}" for t in TABLES]
    return [
        Result(
            f"Bytes per tenancy-year, N={n:,}",
            backend=backend,
            figure=f"{per / 1024:.1f} KB per tenancy-year ({measured} +{total / 2**20:.1f} MB); "
            f"a decision's trace {trace / 1024:.1f} KB as stored",
        ),
        Result(
            "  by table, KB per tenancy-year",
            backend=backend,
            figure=f"{', '.join(split)}, other {other / n / 1024:.1f} (with indexes)",
        ),
    ]


def run_sqlite(ctx: Context) -> list[Result]:
    n = size(ctx)
    db = ctx.copy(ctx.base(n), "bytes")
    file_before, before = _sqlite_sizes(db)
    with ctx.step(f"bytes per tenancy-year: a review year for {n:,} tenancies (SQLite)"):
        review_year(fixtures.sqlite_url(db), n)
    file_after, after = _sqlite_sizes(db)
    tables = {t: after.get(t, 0) - before.get(t, 0) for t in after}
    return _results("sqlite", n, file_after - file_before, tables, _sqlite_trace(db), "file")


def run_postgres(ctx: Context, create: Callable[[str], str]) -> list[Result]:
    """``create(label)``: a new empty scratch database's URL."""
    n = size(ctx)
    url = create("bytes")
    fixtures.build(url, n)
    _, before = _pg_sizes(url)
    with ctx.step(f"bytes per tenancy-year: a review year for {n:,} tenancies (PostgreSQL)"):
        review_year(url, n)
    total_after, after = _pg_sizes(url)
    total = total_after - sum(b for t, b in before.items() if not t.startswith("("))
    trace = after.pop("(trace)")
    tables = {t: b - before.get(t, 0) for t, b in after.items()}
    return _results("postgresql", n, total, tables, trace, "tables")
