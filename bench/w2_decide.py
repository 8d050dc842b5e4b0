"""W2 — a city's review cycle decided: N submitted reviews, one ``decide_cycle_batch``.

Every review is scored under the rulebook (25 % strong, 65 % steady, 10 % weak firms), the A
cap applied across the cohort, and each consequence carried out: the review's grade and
trace, state change and audit event, the result notice, cancelled deadlines, and for a D a
rectification (case, two deadlines, notice) or, after last year's D, a forced exit (case,
objection deadline, exit notice).
"""

from __future__ import annotations

from bench import fixtures, floor
from bench.harness import Context, Result, sqlite_instant, timed
from bench.w1_open import replay_sqlite, same_rows, spot_check
from db.engine import make_engine
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import FixedClock
from workflows.batch import decide_cycle_batch

TARGET_RATIO = 5.0
CHUNK = 2000


def run_sqlite(ctx: Context, n: int) -> Result:
    base = ctx.base(n, reviewed=True)
    engine_db, floor_db = ctx.copy(base, "w2-engine"), ctx.copy(base, "w2-floor")
    engine = make_engine(fixtures.sqlite_url(engine_db))
    try:
        with ctx.step(f"W2 engine, {n:,} reviews"), ctx.progress(f"W2 decide {n:,}") as bar:
            seconds, report = timed(
                lambda: decide_cycle_batch(
                    engine,
                    FixedClock(fixtures.DECIDE_AT),
                    WorkCalendar(),
                    space_code=fixtures.SPACE,
                    period=fixtures.PERIOD,
                    chunk=CHUNK,
                    progress=bar,
                )
            )
    finally:
        engine.dispose()
    if report.written != n:
        raise AssertionError(f"W2 decided {report.written} of {n}")
    with ctx.step("W2 floor"):
        floor_s = replay_sqlite(
            engine_db,
            floor_db,
            floor.WRITTEN_BY_DECIDE,
            CHUNK,
            now=sqlite_instant(fixtures.DECIDE_AT),
        )
    same_rows(engine_db, floor_db)
    spot_check(fixtures.sqlite_url(engine_db), n)
    out = report.outcomes
    result = Result(
        f"W2 cycle decision, N={n:,}",
        engine_s=seconds,
        floor_s=floor_s,
        figure=f"{n / seconds:,.0f} reviews/s; pass {out['pass']:,}, rectify "
        f"{out['rectify']:,}, fail {out['fail']:,}, A capped "
        f"{out['demoted']:,}",
        target=f"ratio ≤ {TARGET_RATIO:g}",
    )
    result.ok = result.ratio is not None and result.ratio <= TARGET_RATIO
    return result
