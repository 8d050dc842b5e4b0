"""City-scale batches: a space's review cycle opened and decided as "load many, decide each,
write many".

A district reviewing 100,000 firms in the same January week cannot wait for 100,000 single
commands, each with its own transaction and a dozen round trips. The batch path does what the
single commands do, for a chunk of tenancies at a time:

* **load many** — one query per chunk brings the tenancies with the parties their notices
  quote (``db.repositories``), and for a decision their reviews, last year's reviews and the
  area they lease;
* **decide each** — for every tenancy the same pure function the single command calls
  (:func:`workflows.reviews.open_review`, :func:`workflows.reviews.decide_review`) fills an
  :class:`~db.effects.Effects`: transition, hash-chained audit event, rows, deadlines and
  notices with their dedupe keys and wording;
* **write many** — :func:`db.writer.write` writes the chunk's effects with one
  ``executemany`` per statement shape.

Nothing here restates a rule, a wording, a key format or the audit hash: the batch and the
single path are equivalent by construction, and ``tests/integration/test_batch_property.py``
checks it on generated cohorts and rulebooks, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from db import repositories as repo
from db import writer
from db.cohorts import cycle_candidates
from db.collection import collector_paused
from db.effects import Effects, TenancyRow
from db.repositories import TENANCY_WITH_PARTY, ReviewRow
from db.tables import ALL_TABLES
from lifecycle import rulebook as rbook
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import Clock
from lifecycle.errors import Conflict, InvalidInput, NotFound, StaleTenancy, review_not_found
from lifecycle.rulebook.trace import Trace
from lifecycle.table import UNDER_REVIEW
from workflows import reviews, rules, veto_facts
from workflows.reports import report_dict
from workflows.reviews import CYCLE_REASON, SYSTEM

__all__ = ["BatchReport", "decide_cycle_batch", "open_cycle_batch"]

# progress(advance, total): once with (0, total) before the first chunk, then per chunk.
Progress = Callable[[int, int], None]

TENANCIES = ALL_TABLES.tables["tenancies"]
REVIEWS = ALL_TABLES.tables["reviews"]
SPACES = ALL_TABLES.tables["spaces"]


@dataclass
class BatchReport:
    """What a batch did: ``selected`` at the start, ``written`` tenancies changed."""

    space: str
    period: int
    kind: str  # open | decide
    selected: int = 0
    written: int = 0
    chunks: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    stopped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return report_dict(self)


@dataclass(frozen=True)
class _Space:
    id: int
    code: str
    rulebook_version: str | None


class _Rulebooks:
    """Rulebooks by version, parsed once per batch (``rules.parse`` caches by content)."""

    def __init__(self) -> None:
        self._cache: dict[str, rbook.Rulebook] = {}

    def get(self, conn: Connection, version: str | None) -> rbook.Rulebook:
        if version is None:
            raise NotFound("rulebook", "(none active)")
        hit = self._cache.get(version)
        if hit is None:
            content = repo.rulebook_text(conn, version)
            if content is None:
                raise NotFound("rulebook", version)
            hit = self._cache[version] = rules.parse(content, f"rulebook {version[:12]}")
        return hit


def _space(conn: Connection, code: str) -> _Space:
    row = conn.execute(
        select(SPACES.c.id, SPACES.c.code, SPACES.c.rulebook_version).where(SPACES.c.code == code)
    ).first()
    if row is None:
        raise NotFound("space", code)
    return _Space(row.id, row.code, row.rulebook_version)


def _start(
    engine: Engine, clock: Clock, calendar: WorkCalendar | None, *, chunk: int, period: int
) -> tuple[WorkCalendar, datetime, date]:
    """Refuse a batch's bad arguments; its calendar, the time and today's date."""
    if chunk < 1:
        raise InvalidInput("chunk", "must be at least 1", chunk)
    calendar = calendar or _calendar(engine)
    now = clock.now()
    today = calendar.local_date(now)
    reviews.check_period(period, today)
    return calendar, now, today


def _calendar(engine: Engine) -> WorkCalendar:
    with engine.connect() as conn:
        overrides, published = repo.calendar_state(conn)
        return WorkCalendar(dict(overrides), published=published)


# ---- a cycle opened --------------------------------------------------------------------------
def open_cycle_batch(
    engine: Engine,
    clock: Clock,
    calendar: WorkCalendar | None = None,
    *,
    space_code: str,
    period: int,
    chunk: int = 5000,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
    actor: str = SYSTEM,
    reason: str | None = CYCLE_REASON,
    fence: Callable[[Connection], None] | None = None,
) -> BatchReport:
    """Open the ``period`` review of every eligible tenancy of a space, ``chunk`` per
    transaction, each as ``OpenReview`` would (``fence``, when given, is asked in each
    chunk's transaction before it commits, as :class:`workflows.service.Service` does).

    A chunk commits whole or not at all; a rerun finds what is still unopened. A tenancy
    changed concurrently rolls its chunk back and raises :class:`StaleTenancy`; chunks
    committed before stay committed. ``stop`` is asked before each chunk (a scheduler
    shutting down): the batch ends between chunks, ``report.stopped`` set. Call it outside
    any open unit of work: on SQLite each chunk takes the write lock.
    """
    started = time.perf_counter()
    calendar, now, today = _start(engine, clock, calendar, chunk=chunk, period=period)
    reviews.check_period_ended(period, today)
    books = _Rulebooks()
    with engine.connect() as conn:
        space = _space(conn, space_code)
        # Fail fast on the calendar (an unpublished year) rather than inside a chunk.
        rbook.review_due_on(books.get(conn, space.rulebook_version), calendar, opened_on=today)
        report = BatchReport(space.code, period, "open")
        report.selected = int(
            conn.execute(
                select(func.count())
                .select_from(TENANCIES)
                .where(*cycle_candidates(space.id, period))
            ).scalar_one()
        )
    if progress:
        progress(0, report.selected)
    last = 0
    while True:
        if stop is not None and stop():
            report.stopped = True
            break
        with collector_paused(), engine.begin() as conn:
            rows = repo.tenancies(
                conn,
                TENANCY_WITH_PARTY.where(*cycle_candidates(space.id, period), TENANCIES.c.id > last)
                .order_by(TENANCIES.c.id)
                .limit(chunk),
            )
            if not rows:
                break
            effects = []
            for t in rows:
                # rules.for_tenancy: the rulebook it was admitted under, else the space's.
                rb = books.get(conn, t.rulebook_version or space.rulebook_version)
                e = Effects(t, now=now, today=today)
                reviews.open_review(e, rb, calendar, period=period, actor=actor, reason=reason)
                effects.append(e)
            writer.write(conn, effects)
            if fence is not None:
                fence(conn)
        last = rows[-1].id
        report.written += len(rows)
        report.outcomes[UNDER_REVIEW] += len(rows)
        report.chunks += 1
        if progress:
            progress(len(rows), report.selected)
    report.seconds = time.perf_counter() - started
    return report


# ---- a cycle decided -------------------------------------------------------------------------
@dataclass
class _Cohort:
    """The period's reviews of a space, classified as ``decisions.cohort`` does."""

    members: int = 0
    decidable: list[int] = field(default_factory=list)
    still_open: list[tuple[int, date | None]] = field(default_factory=list)
    recorded: list[rbook.ReviewDecision] = field(default_factory=list)  # decided already

    @classmethod
    def survey(
        cls, conn: Connection, space_id: int, period: int, today: date, rb: rbook.Rulebook
    ) -> _Cohort:
        from workflows.decisions import recorded_decision

        r, t = REVIEWS.c, TENANCIES.c
        out = cls()
        stmt = (
            select(t.id, t.state, r.status, r.due_on, r.score, r.grade, r.consequence)
            .select_from(REVIEWS)
            .join(TENANCIES, t.id == r.tenancy_id)
            .where(t.space_id == space_id, r.period == period)
            .order_by(t.id)
        )
        if conn.dialect.name == "postgresql":  # deciding locks the cohort's tenancies
            stmt = stmt.with_for_update(of=TENANCIES)
        for row in conn.execute(stmt):
            out.members += 1
            status = reviews.classify(row.status, row.state, row.due_on, today)
            if status == "decided":
                out.recorded.append(
                    recorded_decision(row.score, row.grade, row.consequence, rb.version)
                )
            elif status in ("submitted", "overdue"):
                out.decidable.append(row.id)
            elif status == "open":
                out.still_open.append((row.id, row.due_on))
        return out


@dataclass
class _Loaded:
    """A chunk of the cohort, loaded for deciding."""

    tenancies: list[TenancyRow]
    reviews: dict[int, ReviewRow]
    previous: dict[int, ReviewRow]
    areas: dict[int, float]


def _load(conn: Connection, ids: Sequence[int], period: int) -> _Loaded:
    rows = repo.tenancies(
        conn, TENANCY_WITH_PARTY.where(TENANCIES.c.id.in_(list(ids))).order_by(TENANCIES.c.id)
    )
    if len(rows) != len(ids):
        missing = sorted(set(ids) - {t.id for t in rows})[0]
        raise StaleTenancy(missing, None, None)
    return _Loaded(
        rows,
        repo.reviews_of(conn, ids, period),
        repo.reviews_of(conn, ids, period - 1),
        repo.leased_areas(conn, ids),
    )


def decide_cycle_batch(
    engine: Engine,
    clock: Clock,
    calendar: WorkCalendar | None = None,
    *,
    space_code: str,
    period: int,
    actor: str = "operator",
    reason: str | None = None,
    vetoes: Mapping[int, Collection[str]] | None = None,
    chunk: int = 2000,
    progress: Progress | None = None,
) -> BatchReport:
    """Decide the ``period`` review of every firm of a space as ``decisions.decide_cycle``
    does (same refusals, same cohort, the A cap across it), each as ``DecideReview`` writes.

    One transaction for the whole cohort: the cap is a property of the cohort, and a cohort
    half decided before a crash could be capped differently on a rerun. Reviews are scored
    chunk by chunk and written at once, except those graded at the capped grade: they wait
    (as score and grade only) until the whole cohort is scored and the cap is known, then
    are scored again and written with the cap's trace steps.
    """
    from workflows.decisions import apply_cap

    started = time.perf_counter()
    calendar, now, today = _start(engine, clock, calendar, chunk=chunk, period=period)
    veto_map = {int(k): tuple(v) for k, v in (vetoes or {}).items()}
    with engine.begin() as conn:
        space = _space(conn, space_code)
        rb = _Rulebooks().get(conn, space.rulebook_version)
        cohort = _Cohort.survey(conn, space.id, period, today, rb)
        if not cohort.members:
            raise review_not_found(period, space=space.code)
        if cohort.still_open:
            dues = [d for _, d in cohort.still_open if d is not None]
            until = f" until {max(dues).isoformat()}" if dues else ""
            zh_until = f"，截止 {max(dues).isoformat()}" if dues else ""
            tenancies = ", ".join(str(t) for t, _ in cohort.still_open)
            raise Conflict(
                f"空间 {space.code} {period} 年度仍有 {len(cohort.still_open)} 项考核未截止"
                f"{zh_until}；本轮须在截止后统一决定（入驻记录 {tenancies}） / "
                f"{len(cohort.still_open)} review(s) of {space.code} for {period} are still "
                f"open{until}; the cohort is decided after the deadline (tenancies "
                f"{tenancies})",
                space=space.code,
                period=period,
            )
        if unknown := sorted(set(veto_map) - set(cohort.decidable)):
            raise InvalidInput(
                "vetoes",
                "names a tenancy without a review to decide in this cycle",
                ", ".join(str(t) for t in unknown),
            )
        report = BatchReport(space.code, period, "decide", selected=len(cohort.decidable))
        if progress:
            progress(0, report.selected)
        decide = _Decider(conn, rb, calendar, now, today, period, veto_map, actor, reason)
        cap = rb.review.grade_cap
        scored: dict[int, rbook.ReviewDecision] = {}  # every decision, without its trace
        no_steps = _no_steps(rb)  # a trace is immutable: one empty one serves them all
        held: list[int] = []  # graded at the capped grade: written once the cap is known
        # One pause for the cohort, not one a chunk: every decision is kept (``scored``) until
        # the cap is known, and a collection after each chunk would walk all of them again.
        with collector_paused():
            for part in _chunks(cohort.decidable, chunk):
                loaded = _load(conn, part, period)
                final = []
                for t, decision in decide.score(loaded):
                    scored[t.id] = replace(decision, category_scores={}, trace=no_steps)
                    if cap is not None and decision.grade == cap.grade:
                        held.append(t.id)
                    else:
                        final.append((decide.effects(t, loaded, decision), decision.consequence))
                decide.write(final, report)
                if progress:
                    progress(len(final), report.selected)
            if held:
                capped = apply_cap(rb, cohort.recorded, scored)
                for part in _chunks(held, chunk):
                    loaded = _load(conn, part, period)
                    final = []
                    for t, decision in decide.score(loaded):
                        after = capped[t.id]
                        report.outcomes["demoted"] += after.grade != decision.grade
                        final.append(
                            (
                                decide.effects(
                                    t,
                                    loaded,
                                    replace(
                                        after,
                                        category_scores=decision.category_scores,
                                        trace=decision.trace.add(*after.trace.steps),
                                    ),
                                ),
                                after.consequence,
                            )
                        )
                    decide.write(final, report)
                    if progress:
                        progress(len(final), report.selected)
    report.seconds = time.perf_counter() - started
    return report


def _no_steps(rb: rbook.Rulebook) -> Trace:
    return Trace("review", rb.version)


def _chunks(ids: Sequence[int], size: int) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@dataclass
class _Decider:
    """Scores and decides chunks of one cohort inside its one transaction."""

    conn: Connection
    rb: rbook.Rulebook
    calendar: WorkCalendar
    now: datetime
    today: date
    period: int
    vetoes: Mapping[int, tuple[str, ...]]
    actor: str
    reason: str | None

    def score(self, loaded: _Loaded) -> list[tuple[TenancyRow, rbook.ReviewDecision]]:
        out = []
        facts = repo.veto_facts(
            self.conn,
            [t.id for t in loaded.tenancies],
            veto_facts.codes(self.rb),
            *veto_facts.period_bounds(self.period),
        )
        counted = veto_facts.counted(
            partial(repo.cooperation, self.conn),
            self.rb,
            [(t.id, t.firm_id, loaded.reviews[t.id]) for t in loaded.tenancies],
            self.period,
        )
        for t in loaded.tenancies:
            review, prev = loaded.reviews[t.id], loaded.previous.get(t.id)
            try:
                decision = rbook.score_review(
                    self.rb,
                    figures=review.figures,
                    previous_figures=prev.figures if prev else None,
                    leased_area_m2=loaded.areas[t.id],
                    vetoes=self.vetoes.get(t.id, ()),
                    submitted=review.status == "submitted",
                    previous_grade=prev.grade if prev else None,
                    recorded=facts.get(t.id),
                    facts=counted.get(t.id),
                )
            except InvalidInput as err:  # as decisions.plan_cycle names it
                raise InvalidInput(f"tenancy {t.id}: {err.field}", err.rule) from err
            out.append((t, decision))
        return out

    def effects(self, t: TenancyRow, loaded: _Loaded, decision: rbook.ReviewDecision) -> Effects:
        e = Effects(t, now=self.now, today=self.today)
        reviews.decide_review(
            e,
            loaded.reviews[t.id],
            self.rb,
            self.calendar,
            score=decision.score,
            grade=decision.grade,
            consequence=decision.consequence,
            trace=decision.trace.to_dict(),
            outcome=None,
            actor=self.actor,
            reason=self.reason,
        )
        return e

    def write(self, final: list[tuple[Effects, str]], report: BatchReport) -> None:
        """Write decided effects; ``report`` counts them by outcome (from the consequence)."""
        writer.write(self.conn, [e for e, _ in final])
        report.written += len(final)
        report.chunks += 1
        for _, consequence in final:
            report.outcomes[reviews.outcome_for(consequence)] += 1
