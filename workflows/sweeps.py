"""Idempotent sweeps over due rows: what the scheduler ticks and ``innospace tick`` runs.

A deadline is handled in its own transaction together with the step it causes, and is marked
``done`` (or ``moot``, when the step it guarded no longer applies) in that same transaction, so
a crash either leaves it pending (handled again next time) or finished (never again): each
deadline is handled exactly once. On PostgreSQL the row is claimed with ``FOR UPDATE SKIP
LOCKED`` so two sweepers never take the same deadline; on SQLite the engine's ``BEGIN
IMMEDIATE`` serialises them.

Catch-up comes from the data, not from a scheduler's memory: a sweep takes everything due up
to ``until``, oldest first. When handling one deadline creates another that is already due
(after a long downtime the +1 working-day overdue reminder of a review is due the moment the
submission deadline is handled), the sweep re-reads the queue so due order holds across them;
it loops until no due deadline is left (and no warning is left to plan), so a catch-up leaves
nothing for the next tick.

A deadline whose handling raises a domain error (a calendar year not published, a rule that
refuses) is marked ``failed`` with the error in its payload, so one bad row cannot block every
later one; the operator digest lists it and ``innospace deadlines retry`` puts it back. A stale
tenancy (someone changed it concurrently) is simply left pending for the next sweep. Lost
database connections are not handled here: they propagate to the job, which backs off.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from db.effects import Rows, TenancyRow
from db.queues import DeadlineRow
from db.repositories import ReviewRow
from lifecycle.errors import AlreadyExists, GuardFailed, InvalidInput, StaleTenancy
from lifecycle.periods import Period, PeriodUnit
from lifecycle.rulebook import Rulebook
from lifecycle.rulebook._base import add_months
from lifecycle.table import (
    ADMITTED,
    EXIT_NOTICE,
    GRADUATION_PUBLICITY,
    INFO_REQUESTED,
    OCCUPYING_STATES,
    PUBLICITY,
    RECTIFYING,
    RESIDENT_STATES,
    VACATING,
)
from workflows import commands as c
from workflows import quarterly_rules, quarterly_sweep, rules, sweep_rules
from workflows.core import Work
from workflows.leadership import LeaseLost
from workflows.reports import report_dict
from workflows.reviews import SYSTEM_SERVICE
from workflows.service import Service

log = logging.getLogger("innospace.sweeps")
SYSTEM = "system"
# The optional rulebook period (under [periods]) that says how long before the agreement lapse
# the firm is warned; a rulebook without it sends no warning (no number lives in code).
AGREEMENT_WARNING_PERIOD = "agreement_lapse_warning"
CONNECTION_ERRORS = (OperationalError, InterfaceError)
Stop = Callable[[], bool]
Dispatch = Callable[[Work, c.Command], object]
Action = Callable[[Work, DeadlineRow, Dispatch], bool]


@dataclass
class SweepReport:
    handled: int = 0
    moot: int = 0
    failed: int = 0
    retry: int = 0  # left pending (stale tenancy); the next sweep takes them
    planned: int = 0  # derived deadlines added (agreement-lapse warnings, quarters planned)
    by_kind: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    stopped: bool = False

    @property
    def rows(self) -> int:
        return self.handled + self.moot + self.failed

    def to_dict(self) -> dict[str, object]:
        return report_dict(self, sort_counts=False)  # kinds in the order they were handled


@dataclass(frozen=True)
class Outcome:
    """What became of one deadline: done | moot | failed | retry | taken (by someone else)."""

    status: str
    kind: str | None = None
    new_due: datetime | None = None  # earliest due instant of deadlines this step created
    error: str | None = None
    deadline_id: int | None = None
    due_at: datetime | None = None


# ---- actions: one per deadline kind; True = acted, False = moot --------------------------
# An action runs the commands it causes with ``run`` (Service.dispatch: the command's handler,
# in the deadline's transaction).

# The state a deadline's action needs to act; in any other state the deadline is moot
# (``workflows.audit`` checks the chain against this same table). The review deadlines are
# moot once their review is no longer open, whatever the state.
ACTS_IN: dict[str, frozenset[str]] = {
    "info_request_lapse": frozenset({INFO_REQUESTED}),
    "agreement_lapse": frozenset({ADMITTED}),
    "agreement_lapse_warning": frozenset({ADMITTED}),
    "publicity_end": frozenset({PUBLICITY}),
    "term_end": frozenset(RESIDENT_STATES),
    "term_expiry_warning": frozenset(RESIDENT_STATES),
    "cure_end": frozenset(RESIDENT_STATES),
    "rectification_plan_due": frozenset({RECTIFYING}),
    "rectification_end": frozenset({RECTIFYING}),
    "objection_window_end": frozenset({EXIT_NOTICE}),
    "vacate_due": frozenset({VACATING}),
    "graduation_publicity_end": frozenset({GRADUATION_PUBLICITY}),
    # the quarter's light report (workflows.quarterly_sweep): asked while the firm occupies its
    # unit, through the exit until the handover; moot once filed, too
    **dict.fromkeys(quarterly_rules.QUARTERLY_DEADLINES, frozenset(OCCUPYING_STATES)),
}


def _tenancy(w: Work, d: DeadlineRow) -> TenancyRow:
    return w.tenancy(d.tenancy_id)


def _acts_in(t: TenancyRow, d: DeadlineRow) -> bool:
    return t.state in ACTS_IN[d.kind]


def _command(command: type[c.TenancyCommand], reason: str) -> Action:
    """In the acting state, run ``command`` on the deadline's tenancy (by the system)."""

    def action(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
        if not _acts_in(_tenancy(w, d), d):
            return False
        run(w, command(tenancy_id=d.tenancy_id, actor=SYSTEM, reason=reason))
        return True

    return action


def _notice(
    message: str, audience: str, context: Callable[[DeadlineRow], dict[str, Any]]
) -> Action:
    """In the acting state, queue ``message`` to ``audience`` (once: the deadline's key)."""

    def action(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
        t = _tenancy(w, d)
        if not _acts_in(t, d):
            return False
        _notify(w, t, message, key=d.dedupe_key, audience=audience, context=context(d))
        return True

    return action


def _notify(
    w: Work,
    t: TenancyRow,
    message: str,
    *,
    key: str,
    context: Mapping[str, Any],
    audience: str = "firm",
) -> None:
    """Queue one notice about ``t``, keyed by its deadline (written at once)."""
    effects = w.effects(t)
    effects.notify(message, key=key, audience=audience, context=context)
    w.apply(effects)


def _publicity_end(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    t = _tenancy(w, d)
    if not _acts_in(t, d):
        return False
    try:
        run(w, c.EndPublicity(tenancy_id=d.tenancy_id, actor=SYSTEM, reason="公示期满无异议"))
    except GuardFailed:  # an accepted objection awaits a ruling: that is the operators' task
        _notify(
            w,
            t,
            "publicity_end",
            context={"objection_pending": True},
            audience="operators",
            key=d.dedupe_key,
        )
    return True


def _agreement_lapse_warning(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    t = _tenancy(w, d)
    lapse = w.uow.queues.deadline(d.subject_id) if d.subject_id else None
    if not _acts_in(t, d) or lapse is None or lapse.status != "pending":
        return False
    _notify(
        w,
        t,
        "agreement_lapse_warning",
        key=d.dedupe_key,
        context={
            "sign_by": lapse.due_on,
            "days_left": max(0, w.calendar.working_days_between(w.today, lapse.due_on)),
        },
    )
    return True


def _term_expiry_warning(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    t = _tenancy(w, d)
    if (
        not _acts_in(t, d)
        or t.term_end is None
        or t.term_end.isoformat() != str(d.payload.get("term_end", t.term_end.isoformat()))
    ):
        return False  # left, or the term changed since the warning was planned
    # The days left as of the day it goes out (a sweep that catches up sends it late).
    left = (t.term_end - w.today).days
    context = {**d.payload, "days_left": max(0, left)}
    _notify(w, t, "term_expiry_warning", context=context, key=d.dedupe_key)
    return True


def _term_end(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    t = _tenancy(w, d)
    if not _acts_in(t, d) or (t.term_end is not None and t.term_end > d.due_on):
        return False
    run(
        w,
        c.BeginExit(
            tenancy_id=d.tenancy_id, exit_type="term_expiry", actor=SYSTEM, reason="入驻期限届满"
        ),
    )
    return True


def _open_review(w: Work, d: DeadlineRow) -> ReviewRow | None:
    review = w.uow.cases.review(d.subject_id) if d.subject_id else None
    return review if review is not None and review.status == "open" else None


def _review_reminder(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    review = _open_review(w, d)
    if review is None:
        return False
    _notify(
        w,
        _tenancy(w, d),
        "review_reminder",
        key=d.dedupe_key,
        context={
            "period": review.period,
            "due_on": review.due_on,
            "offset": d.payload.get("offset", 0),
        },
    )
    return True


def _decide_without_data(w: Work, t: TenancyRow, review: ReviewRow, run: Dispatch) -> None:
    assert t.id is not None
    run(
        w,
        c.DecideReview(
            tenancy_id=t.id, period=review.period, actor=SYSTEM, reason="逾期未报送考核数据"
        ),
    )


def _review_submission_due(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    """Plan the after-due reminders of the rulebook; with none, no data means the grade now."""
    review = _open_review(w, d)
    if review is None:
        return False
    t = _tenancy(w, d)
    reminders = rules.for_tenancy(w, t).review.reminders
    decide_now = w.decide(
        t, sweep_rules.submission_overdue, w.calendar, reminders, review, deadline_due_on=d.due_on
    )
    if decide_now:
        _decide_without_data(w, t, review, run)
    return True


def _review_overdue_reminder(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    """Remind the firm; from the rulebook's escalation index on, tell the account manager too;
    the last reminder passed without data grades the review (missing data -> D)."""
    review = _open_review(w, d)
    if review is None:
        return False
    t = _tenancy(w, d)
    final = w.decide(t, sweep_rules.overdue_reminder, review, d.payload, key=d.dedupe_key)
    if final:
        _decide_without_data(w, t, review, run)
    return True


def _objection_window_end(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    from workflows.exits import confirm_exit
    from workflows.publicity import _accepted_objections

    t = _tenancy(w, d)
    if not _acts_in(t, d):
        return False
    if _accepted_objections(w, t):
        _notify(
            w,
            t,
            "exit_ruling",
            key=d.dedupe_key,
            audience="operators",
            context={"task": "ruling_due", "upheld": None, "reason": None},
        )
        return True
    confirm_exit(w, t, actor=SYSTEM, reason="陈述申辩期满未提出申辩，维持退出决定")
    return True


def _cure_end(w: Work, d: DeadlineRow, run: Dispatch) -> bool:
    """Cure notice, payment demand, dormancy or delisting window over, not cured: serve the
    exit notice on the violation's own grounds (the 陈述申辩 window follows)."""
    violation = w.uow.cases.violation(d.subject_id) if d.subject_id else None
    t = _tenancy(w, d)
    if violation is None or violation.status != "open" or not _acts_in(t, d):
        return False
    assert violation.id is not None
    notice = c.ServeExitNotice(
        tenancy_id=d.tenancy_id,
        grounds=violation.code,
        actor=SYSTEM,
        facts=f"{violation.facts}（整改/补正期满未纠正）",
        proof_of_service=SYSTEM_SERVICE,
        reason="期限届满未纠正",
    )
    effects = w.effects(t)
    effects.update("violations", violation.id, status="escalated")
    w.apply(effects)
    run(w, notice)
    return True


# ---- stale reminders --------------------------------------------------------------------
# A reminder or warning tells of something still ahead. Handled late (a catch-up after a
# downtime, a ``tick --until``), it may no longer be: what it warns of is already past (and
# has its own deadline, handled in this same sweep with its own notice), or a later reminder
# of the same series (same tenancy, kind and subject) is due as well and says it better.
# Such a reminder is moot, its reason kept in its payload (``moot_reason``), and nothing is
# queued: the firm is never told "30 days left" of a term that ended last week.
# ``AHEAD[kind]`` names the instant the reminder warns of and what happens then (zh, en),
# or None when there is nothing (more) to check than the series.
Ahead = Callable[[Work, DeadlineRow], tuple[datetime, str, str] | None]


def _term_ahead(w: Work, d: DeadlineRow) -> tuple[datetime, str, str] | None:
    end = _tenancy(w, d).term_end
    if end is None:
        return None
    return w.calendar.due_instant(end), f"入驻期限已于{end}届满", f"the term ended on {end}"


def _lapse_ahead(w: Work, d: DeadlineRow) -> tuple[datetime, str, str] | None:
    lapse = w.uow.queues.deadline(d.subject_id) if d.subject_id else None
    if lapse is None:
        return None
    day = lapse.due_on
    return lapse.due_at, f"入驻协议签订期限{day}已过", f"the agreement was due by {day}"


def _review_due_ahead(w: Work, d: DeadlineRow) -> tuple[datetime, str, str] | None:
    review = _open_review(w, d)
    day = review.due_on if review is not None else None
    if review is None or day is None:
        return None
    return (
        w.calendar.due_instant(day),
        f"{review.period}年度考核数据报送截止日{day}已过",
        f"the {review.period} review data were due by {day}",
    )


def _rectification_ahead(w: Work, d: DeadlineRow) -> tuple[datetime, str, str] | None:
    ends = [
        e
        for e in w.uow.queues.pending_of_kind(d.tenancy_id, "rectification_end")
        if e.subject_id == d.subject_id
    ]
    if not ends:
        return None
    day = ends[-1].due_on
    return ends[-1].due_at, f"整改期限{day}已届满", f"the rectification period ended on {day}"


def _series_only(w: Work, d: DeadlineRow) -> tuple[datetime, str, str] | None:
    return None


AHEAD: dict[str, Ahead] = {
    "term_expiry_warning": _term_ahead,
    "agreement_lapse_warning": _lapse_ahead,
    "review_reminder": _review_due_ahead,
    # after due: the last one grades the review (it acts, never stale); an earlier one is
    # stale once a later one, the last included, is due as well
    "review_overdue_reminder": _series_only,
    # the manager's chase of a missing plan: stale once the rectification period is over
    "rectification_plan_due": _rectification_ahead,
    # the quarter's opening notice and its reminder: stale once the report is due
    "quarterly_report_open": quarterly_sweep.due_ahead,
    "quarterly_report_reminder": quarterly_sweep.due_ahead,
}


def stale_reason(w: Work, d: DeadlineRow) -> str | None:
    """Why the reminder ``d``, handled now, is no longer current (None: it is, or ``d`` is
    not a reminder). Bilingual, for the operators' deadline lists."""
    ahead = AHEAD.get(d.kind)
    if ahead is None or d.payload.get("final"):
        return None
    later = [
        x
        for x in w.uow.queues.pending_of_kind(d.tenancy_id, d.kind)
        if x.subject_id == d.subject_id
        and (d.due_at, d.id) < (x.due_at, x.id)
        and x.due_at <= w.now
    ]
    if later:
        return (
            f"提醒已过时：同一事项更晚的提醒（#{later[-1].id}，{later[-1].due_on}）也已到期 / "
            f"stale: a later reminder of the same matter (#{later[-1].id}, "
            f"{later[-1].due_on}) is due too"
        )
    found = ahead(w, d)
    if found is None or found[0] > w.now:
        return None
    _, zh, en = found
    return f"提醒已过时：{zh} / stale: {en}"


ACTIONS: dict[str, Action] = {
    "info_request_lapse": _command(c.Lapse, "补充材料逾期未提交"),
    "publicity_end": _publicity_end,
    "agreement_lapse_warning": _agreement_lapse_warning,
    "agreement_lapse": _command(c.Lapse, "未在规定期限内签订入驻协议"),
    "term_expiry_warning": _term_expiry_warning,
    "term_end": _term_end,
    "review_reminder": _review_reminder,
    "review_submission_due": _review_submission_due,
    "review_overdue_reminder": _review_overdue_reminder,
    "rectification_plan_due": _notice(
        "rectification_notice",
        "manager",
        lambda d: {"overdue": "plan", "due_on": d.due_on},
    ),
    "rectification_end": _notice(
        "reinspection_result",
        "operators",
        lambda d: {"task": "reinspection_due", "due_on": d.due_on, "passed": None, "reason": None},
    ),
    "objection_window_end": _objection_window_end,
    "vacate_due": _command(c.EscalateVacating, "逾期未腾退"),
    "graduation_publicity_end": _command(c.EndGraduationPublicity, "毕业公示期满"),
    "cure_end": _cure_end,  # cure notice, arrears demand, dormancy and delisting windows
    "quarterly_report_open": quarterly_sweep.notice_action("quarterly_report_opened", "firm"),
    "quarterly_report_reminder": quarterly_sweep.notice_action("quarterly_report_reminder", "firm"),
    "quarterly_report_due": quarterly_sweep.notice_action("quarterly_report_overdue", "operators"),
}


# ---- derived deadlines -----------------------------------------------------------------
def optional_period(rb: Rulebook, name: str) -> Period | None:
    try:
        return rb.periods.get(name)
    except InvalidInput:
        return None


def day_before(w: Work, day: date, period: Period) -> date:
    """The day ``period`` before ``day`` (working days count back over the calendar)."""
    if period.unit is PeriodUnit.WORKING_DAYS:
        return w.calendar.subtract_working_days(day, period.amount)
    if period.unit is PeriodUnit.CALENDAR_DAYS:
        return day - timedelta(days=period.amount)
    return add_months(day, -period.amount)


def plan_agreement_warnings(service: Service) -> int:
    """Add an ``agreement_lapse_warning`` deadline for each pending agreement lapse without one.

    The admission handler writes the lapse; the warning is derived here from the rulebook so
    the admission code need not know about reminders. Idempotent (one warning per lapse row,
    by dedupe key); a concurrent planner losing the race is harmless.
    """

    def plan(w: Work) -> int:
        rows = w.uow.queues.lapses_without_warning()
        added = 0
        for row in rows:
            t = w.tenancy(row.tenancy_id, lock=False)
            period = optional_period(rules.for_tenancy(w, t), AGREEMENT_WARNING_PERIOD)
            if period is None:
                continue
            on = min(day_before(w, row.due_on, period), row.due_on)
            effects = w.effects(t)
            effects.deadline(
                "agreement_lapse_warning",
                on,
                w.calendar.reminder_instant(on),
                subject=row.id,
                payload={"sign_by": row.due_on, "period": str(period)},
            )
            w.apply(effects)
            added += 1
        return added

    try:
        return int(service.run(plan))
    except AlreadyExists:
        return 0


# ---- the sweep ---------------------------------------------------------------------------
def due_ids(
    service: Service, until: datetime, limit: int, skip: set[int] | None = None
) -> list[int]:
    def q(w: Work) -> list[int]:
        return w.uow.queues.due_ids(until, limit, skip or ())

    return service.read(q)  # type: ignore[no-any-return]


def handle_one(service: Service, deadline_id: int, until: datetime) -> Outcome:
    """Handle one deadline in its own transaction, marking it in that same transaction."""

    def act(w: Work) -> Outcome:
        d = w.uow.queues.claim(deadline_id)
        if d is None or d.due_at > until:
            return Outcome("taken")
        action = ACTIONS.get(d.kind)
        if action is None:
            raise InvalidInput("deadline.kind", "no sweep action handles this kind", d.kind)
        reason = stale_reason(w, d)
        if reason is not None:
            status = "moot"  # nothing queued: the reminder is past
        else:
            status = "done" if action(w, d, service.dispatch) else "moot"
        w.apply_rows(marked(d, status, w.now, moot_reason=reason))
        pending = [row["due_at"] for row in w.added_deadlines]
        return Outcome(
            status, d.kind, min(pending, default=None), deadline_id=d.id, due_at=d.due_at
        )

    try:
        return service.run(act)  # type: ignore[no-any-return]
    except (*CONNECTION_ERRORS, LeaseLost):  # the sweep ends (a scheduler that lost its lease)
        raise
    except StaleTenancy as err:
        log.info("deadline %d: %s; left for the next sweep", deadline_id, err.message)
        return Outcome("retry", error=err.message)
    except Exception as err:  # one bad row must not block every later one
        message = getattr(err, "message", None) or f"{type(err).__name__}: {err}"
        log.error(
            "deadline %d failed: %s", deadline_id, message, exc_info=not hasattr(err, "message")
        )
        return _mark_failed(service, deadline_id, str(message))


def _mark_failed(service: Service, deadline_id: int, error: str) -> Outcome:
    def mark(w: Work) -> Outcome:
        d = w.uow.queues.deadline(deadline_id)
        if d is None or d.status != "pending":
            return Outcome("taken")
        w.apply_rows(marked(d, "failed", w.now, error=error))
        return Outcome("failed", d.kind, error=error, deadline_id=d.id, due_at=d.due_at)

    return service.run(mark)  # type: ignore[no-any-return]


def marked(d: DeadlineRow, status: str, now: datetime, **note: str | None) -> Rows:
    """The deadline's row finished: ``done``, ``moot`` or ``failed``. What is given of
    ``note`` (``error`` of a failure, kept for ``deadlines retry``; ``moot_reason`` of a
    stale reminder) goes into its payload, a new JSON value, each at most 500 characters."""
    rows = Rows()
    extra = {key: text[:500] for key, text in note.items() if text is not None}
    if not extra:
        rows.update("deadlines", d.id, status=status, done_at=now)
    else:
        payload = {**d.payload, **extra}
        rows.update("deadlines", d.id, status=status, done_at=now, payload=payload)
    return rows


def sweep_deadlines(
    service: Service,
    *,
    until: datetime | None = None,
    batch: int = 500,
    stop: Stop | None = None,
    progress: Callable[[int], None] | None = None,
    observe: Callable[[Outcome], None] | None = None,
) -> SweepReport:
    """Handle every deadline due by ``until`` (default: now), oldest first, each once.

    ``stop`` is polled between deadlines: the one in hand is finished (its transaction
    committed) and the sweep returns, so a SIGTERM never leaves half a step behind.
    ``progress(1)`` follows each finished deadline; ``observe`` receives its outcome.
    """
    started = time.perf_counter()
    until = until or service.clock.now()
    report = SweepReport()
    # The quarter just ended, planned for every resident tenancy before what is due is read
    # (once a pass: a catch-up plans and handles the quarter at once).
    report.planned += quarterly_sweep.plan_quarter(service, batch=batch, stop=stop)
    skip: set[int] = set()  # taken by another sweeper or stale: not again in this run
    # Until nothing due is left: a deadline this sweep created that is already due (or a
    # warning planned for an admission decided during it) is handled now, not next tick.
    while not report.stopped:
        if stop and stop():
            report.stopped = True
            break
        report.planned += plan_agreement_warnings(service)
        ids = due_ids(service, until, batch, skip)
        if not ids:
            break
        for deadline_id in ids:
            if stop and stop():
                report.stopped = True
                break
            outcome = handle_one(service, deadline_id, until)
            if outcome.status in ("taken", "retry"):
                skip.add(deadline_id)
                report.retry += outcome.status == "retry"
                continue
            if outcome.status == "done":
                report.handled += 1
                report.by_kind[outcome.kind or "?"] += 1
            elif outcome.status == "moot":
                report.moot += 1
            else:
                report.failed += 1
            if progress:
                progress(1)
            if observe:
                observe(outcome)
            if outcome.new_due is not None and outcome.new_due <= until:
                break  # a new deadline is already due: read the queue again, in due order
    report.seconds = time.perf_counter() - started
    log.info(
        "deadline sweep: handled=%d moot=%d failed=%d retry=%d planned=%d in %.3fs%s",
        report.handled,
        report.moot,
        report.failed,
        report.retry,
        report.planned,
        report.seconds,
        " (stopped)" if report.stopped else "",
    )
    return report
