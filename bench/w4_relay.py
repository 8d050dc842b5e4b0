"""W4 — the notices of an opened cycle rendered and delivered to the in-app inbox.

``Relay.run_once`` as the scheduler's relay tick runs it, without SMTP: claim a batch, render
each notice (Jinja2, cached templates, both locales' layouts), insert inbox items, mark the
outbox rows sent. The floor writes the same inbox rows and outbox marks with the bare driver.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bench import fixtures, floor
from bench.harness import Context, Result, sqlite_instant, timed
from bench.w1_open import same_rows
from db.engine import make_engine
from lifecycle.clock import FixedClock
from notifications.relay import Relay
from notifications.render import Renderer

TARGET_PER_S = 10_000.0
RELAY_AT = fixtures.OPEN_AT + timedelta(minutes=1)


def run_sqlite(ctx: Context, opened_db: Path, n: int) -> Result:
    """``opened_db``: a database where W1 queued ``n`` "review_opened" notices."""
    engine_db, floor_db = ctx.copy(opened_db, "w4-engine"), ctx.copy(opened_db, "w4-floor")
    engine = make_engine(fixtures.sqlite_url(engine_db))
    relay = Relay(engine, Renderer(), None, FixedClock(RELAY_AT))
    try:
        with ctx.step(f"W4 relay, {n:,} notices"):
            seconds, report = timed(lambda: relay.run_once(RELAY_AT, max_batches=10**6))
    finally:
        engine.dispose()
    if report.delivered != n:
        raise AssertionError(f"W4 delivered {report.delivered} of {n} (dead {report.dead})")
    with ctx.step("W4 floor"):
        source, target = floor.SqliteDriver(engine_db), floor.SqliteDriver(floor_db)
        try:
            before = floor.max_ids(target, list(floor.WRITTEN_BY_RELAY.inserted))
            floor_s = floor.replay(
                source,
                target,
                floor.WRITTEN_BY_RELAY,
                before=before,
                now=sqlite_instant(RELAY_AT),
                chunk=relay.batch_size,
            )
        finally:
            source.close()
            target.close()
    same_rows(engine_db, floor_db)
    rate = n / seconds
    return Result(
        f"W4 relay to inbox, N={n:,}",
        engine_s=seconds,
        floor_s=floor_s,
        figure=f"{rate:,.0f} notices/s",
        target=f"≥ {TARGET_PER_S:,.0f}/s",
        ok=rate >= TARGET_PER_S,
    )
