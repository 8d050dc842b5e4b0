"""The annual review decided as data: what opening, submitting and deciding a review write.

Each function here is pure: it takes what the command loaded (the tenancy as an
:class:`~db.effects.Effects` to fill, the review, the rulebook, the calendar, today) and adds
the effects — the transition and its audit event, the rows, the deadlines with their dedupe
keys, the notices with their wording. The single commands (``workflows.residency``) and the
city-scale batch (``workflows.batch``) call the same functions and hand the effects to the
same writer, so the two paths write the same rows by construction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import orjson

from db.effects import Effects, Ref, StepResult
from db.repositories import ReviewRow
from db.tables import Review
from lifecycle import rulebook as rbook
from lifecycle.audit import canonical_json
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import InvalidInput
from lifecycle.table import UNDER_REVIEW
from workflows import inputs

OUTCOME_TRIGGER = {"pass": "pass_review", "rectify": "order_rectification", "fail": "fail_review"}
REVIEW_DEADLINES = ("review_submission_due", "review_reminder", "review_overdue_reminder")
RESIDENCY_DEADLINES = (
    *REVIEW_DEADLINES,
    "rectification_plan_due",
    "rectification_end",
    "cure_end",
    "term_expiry_warning",
    "term_end",
)
# How a notice the system itself serves is recorded as served (the firm's inbox).
SYSTEM_SERVICE = "系统站内通知 / in-app notice"
SYSTEM = "system"
CYCLE_REASON = "按规则日历自动启动年度考核"  # a review opened by the space's calendar
#: A review as loaded: a record from the repositories, or the ORM row a cohort query gave.
AnyReview = ReviewRow | Review


def trace_digest(trace: Mapping[str, Any]) -> str:
    """The SHA-256 of a decision's trace as the audit chain serializes it."""
    return hashlib.sha256(canonical_json(dict(trace))).hexdigest()


def classify(status: str, state: str, due_on: date | None, today: date) -> str:
    """Where a review stands in its cohort: decided, submitted, overdue (graded as missing
    data), open (before its deadline), or not_reviewable (its tenancy left review)."""
    if status == "decided":
        return "decided"
    if state != UNDER_REVIEW:
        return "not_reviewable"
    if status == "submitted":
        return "submitted"
    if due_on is not None and due_on < today:
        return "overdue"
    return "open"


def check_period(period: int, today: date) -> None:
    """A review period is a calendar year from 2000 up to this one (a review opened before
    this year can still be read, reminded and decided)."""
    if isinstance(period, bool) or not isinstance(period, int) or not 2000 <= period <= today.year:
        raise InvalidInput(
            "period",
            f"须为 2000 至 {today.year} 之间的年份 / must be a year between 2000 and {today.year}",
            period,
        )


def check_period_ended(period: int, today: date) -> None:
    """A review is opened only for a year that has ended: it covers the calendar year, and its
    window opens in the January after it (RULEBOOK §3; ``review_opens_on(year)`` opens the
    review of ``year - 1``). Opened on 31 December, the current year's review would ask for a
    year's figures before the year is over, due within days."""
    if isinstance(period, int) and not isinstance(period, bool) and period >= today.year:
        raise InvalidInput(
            "period",
            f"{period} 年度尚未结束：年度考核在次年 1 月开启，目前最晚可启动 {today.year - 1} 年度"
            f" / {period} has not ended: a year's review opens in the January after it, the "
            f"latest that can be opened now is {today.year - 1}",
            period,
        )
    check_period(period, today)


def check_period_in_term(period: int, term_start: date | None) -> None:
    """A year is reviewed only once the tenancy's term has begun in it (as a cycle opens only
    tenancies whose term began by the year's end): a firm is not graded for a year it was
    not resident."""
    inputs.check_in_term(
        "period",
        period,
        (date(period, 1, 1), date(period, 12, 31)),
        (term_start, None),
        what=(f"{period} 年度", f"{period} is not a year"),
        refused_zh="不能考核",
    )


def rule_wording(rb: rbook.Rulebook, zh: str, en: str, ref: str | None = None) -> dict[str, str]:
    """A notice's ``rule`` and ``rule_en``: the rulebook's name, the part of it that applies
    (``zh`` and ``en``, with its article ``ref`` if it has one) and the rulebook's version."""
    version = rb.version[:12]
    if ref is None:
        return {
            "rule": f"《{rb.meta.name_zh}》{zh}，规则版本 {version}",
            "rule_en": f"{rb.meta.name}: {en}, rulebook {version}",
        }
    return {
        "rule": f"《{rb.meta.name_zh}》{zh}（{ref}，规则版本 {version}）",
        "rule_en": f"{rb.meta.name}: {en} ({ref}, rulebook {version})",
    }


def exit_ground_rule(rb: rbook.Rulebook, trig: rbook.ForcedExitTrigger) -> dict[str, str]:
    """A notice's ``rule``, ``rule_en`` and ``rule_id`` for a forced-exit ground."""
    zh, en = f"强制退出情形“{trig.label_zh}”", f"forced-exit ground “{trig.label_en}”"
    return {**rule_wording(rb, zh, en, trig.rule_ref), "rule_id": trig.rule_ref}


def outcome_for(consequence: str) -> str:
    """The rulebook's consequence of a grade as a review outcome."""
    return {"forced_exit": "fail", "rectification": "rectify"}.get(consequence, "pass")


# ---- open --------------------------------------------------------------------------------------
def open_review(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    period: int,
    actor: str,
    reason: str | None,
) -> StepResult:
    """Open the tenancy's ``period`` review: the review row, its submission deadline and the
    reminders still ahead, the "review_opened" notice."""
    check_period_in_term(period, e.tenancy.term_start)
    due = rbook.review_due_on(rb, calendar, opened_on=e.today)
    step = e.transition(
        "open_review", actor=actor, reason=reason, data={"period": period, "due_on": due}
    )
    review = e.insert(
        "reviews",
        tenancy_id=e.tenancy.id,
        period=period,
        status="open",
        opened_at=e.now,
        due_on=due,
        figures={},
        trace={},
        rulebook_version=rb.version,
    )
    e.deadline("review_submission_due", due, calendar.due_instant(due), subject=review)
    for offset in rb.review.reminders.before_workdays:
        on = calendar.subtract_working_days(due, offset)
        if on > e.today:
            e.deadline(
                "review_reminder",
                on,
                calendar.reminder_instant(on),
                subject=review,
                key_suffix=f":-{offset}",
                payload={"offset": -offset, "due_on": due},
            )
    e.notify("review_opened", context={"period": period, "due_on": due}, key=f"{period}")
    return step


# ---- submit ------------------------------------------------------------------------------------
def submit_review(
    e: Effects,
    review: AnyReview,
    figures: Mapping[str, Any],
    *,
    actor: str,
    reason: str | None,
) -> StepResult:
    """Record the firm's figures (validated by the caller against the rulebook)."""
    assert review.id is not None
    e.update("reviews", review.id, figures=dict(figures), status="submitted", submitted_at=e.now)
    e.cancel("review_reminder", "review_overdue_reminder")
    # A receipt for each submission (a corrected one gets its own): what arrived and when.
    e.notify(
        "review_received",
        context={
            "period": review.period,
            "received_on": e.today,
            "reported": sum(1 for v in figures.values() if v is not None),
            "due_on": review.due_on,
            "in_time": review.due_on is None or e.today <= review.due_on,
        },
        key=f"{review.period}:{e.tenancy.version}",
    )
    return e.record(
        "submit_review",
        actor=actor,
        reason=reason,
        data={"period": review.period, "figures": dict(figures)},
    )


# ---- decide ------------------------------------------------------------------------------------
def chosen_outcome(consequence: str, outcome: str | None, reason: str | None) -> str:
    """The outcome carried out: the rulebook's, or the operator's override with a reason."""
    decided = outcome_for(consequence)
    if outcome is None:
        return decided
    if outcome not in OUTCOME_TRIGGER:
        raise InvalidInput("outcome", "must be pass, rectify or fail", outcome)
    if outcome != decided and not reason:
        raise InvalidInput(
            "reason", f"overriding the rulebook's outcome ({decided}) needs a reason"
        )
    return outcome


def decide_review(
    e: Effects,
    review: AnyReview,
    rb: rbook.Rulebook,
    calendar: WorkCalendar | Callable[[], WorkCalendar],
    *,
    score: float,
    grade: str,
    consequence: str,
    trace: dict[str, Any],
    outcome: str | None,
    actor: str,
    reason: str | None,
) -> StepResult:
    """Record a graded review and carry out its consequence: pass, rectification ordered,
    or a forced-exit case opened (consecutive D). ``calendar`` may be given as a function:
    a pass counts no days, so the calendar is then never read."""
    decided = chosen_outcome(consequence, outcome, reason)
    assert review.id is not None
    # What the review row, the audit event and the notice all carry.
    graded = {"score": score, "grade": grade, "consequence": consequence}
    # The trace (about 7 KB) is stored once, on the review; the audit event and the notice
    # carry its digest, which ``audit verify`` and the relay check against the review's. It
    # is serialized once: the digest's canonical bytes are the column's text.
    canonical = canonical_json(dict(trace))
    digest = hashlib.sha256(canonical).hexdigest()
    e.update(
        "reviews",
        review.id,
        **graded,
        trace=orjson.Fragment(canonical),
        status="decided",
        decided_at=e.now,
        rulebook_version=rb.version,
    )
    e.cancel(*REVIEW_DEADLINES)
    data = {
        "period": review.period,
        **graded,
        "outcome": decided,
        "rulebook_version": rb.version,
        "trace_sha256": digest,
    }
    # The event records the rulebook the decision used (the space's), while the tenancy
    # keeps the one it was admitted under.
    admitted, e.event_rulebook = e.event_rulebook, rb.version
    step = e.transition(OUTCOME_TRIGGER[decided], actor=actor, reason=reason, data=data)
    e.event_rulebook = admitted
    e.notify(
        "review_result",
        context={
            "period": review.period,
            **graded,
            "outcome": decided,
            "trace_sha256": digest,
            **rule_wording(
                rb,
                "年度考核：等级（review.grades）与考核结果（review.consequences）",
                "annual review grades (review.grades) and consequences (review.consequences)",
            ),
        },
        key=str(review.period),
    )
    if decided == "rectify":
        order_rectification(e, review, rb, _calendar(calendar), grade=grade, trace=trace)
    elif decided == "fail":
        open_forced_case(
            e,
            rb,
            _calendar(calendar),
            grounds="consecutive_d",
            facts=f"{review.period} 年度考核等级 {grade}；{reason or ''}".strip("；"),
            proof_of_service=SYSTEM_SERVICE,
        )
    return step


def _calendar(calendar: WorkCalendar | Callable[[], WorkCalendar]) -> WorkCalendar:
    return calendar if isinstance(calendar, WorkCalendar) else calendar()


def order_rectification(
    e: Effects,
    review: AnyReview,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    grade: str,
    trace: Mapping[str, Any],
) -> Ref:
    """The rectification a review ordered: its row, plan and end deadlines, the notice."""
    plan_due = calendar.due_date(e.today, rb.periods.rectification_plan)
    due = calendar.due_date(e.today, rb.periods.rectification)
    defects = (
        "; ".join(str(s) for s in trace.get("defects", []))
        or f"{review.period} 年度考核等级 {grade}"
    )
    rectification = e.insert(
        "rectifications",
        tenancy_id=e.tenancy.id,
        review_id=review.id,
        defects=defects,
        plan_due_on=plan_due,
        due_on=due,
        extended=False,
        status="open",
        created_at=e.now,
    )
    e.deadline(
        "rectification_plan_due", plan_due, calendar.due_instant(plan_due), subject=rectification
    )
    e.deadline("rectification_end", due, calendar.due_instant(due), subject=rectification)
    e.notify(
        "rectification_notice",
        context={
            "defects": defects,
            "plan_due_on": plan_due,
            "due_on": due,
            "plan_period": rb.periods.rectification_plan.describe(),
            "period": rb.periods.rectification.describe(),
            "review_period": review.period,
            "grade": grade,
            **rule_wording(
                rb,
                "年度考核结果（review.consequences）与整改规定（rectification）",
                "review consequences (review.consequences) and rectification (rectification)",
            ),
        },
    )
    return rectification


def open_forced_case(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    grounds: str,
    facts: str,
    proof_of_service: str,
) -> Ref:
    """A forced-exit case for a tenancy already moved to ``exit_notice``: the case, the
    陈述申辩 window's deadline, residency deadlines cancelled, the exit notice."""
    trig = rbook.exit_trigger(rb, grounds)
    due = calendar.due_date(e.today, rb.periods.objection_window)
    case = e.insert(
        "exit_cases",
        tenancy_id=e.tenancy.id,
        exit_type="forced",
        grounds=grounds,
        facts=facts,
        proof_of_service=proof_of_service,
        served_at=e.now,
        objection_due_on=due,
        checklist={},
        settlement={},
        status="open",
        rulebook_version=rb.version,
        created_at=e.now,
    )
    e.cancel(*RESIDENCY_DEADLINES)
    e.deadline("objection_window_end", due, calendar.due_instant(due), subject=case)
    e.notify(
        "exit_notice",
        context={
            "grounds": grounds,
            "grounds_zh": trig.label_zh,
            "grounds_en": trig.label_en,
            **exit_ground_rule(rb, trig),
            "facts": facts,
            "objection_due_on": due,
            "objection_period": rb.periods.objection_window.describe(),
            "proof_of_service": proof_of_service,
        },
        key=case,
    )
    return case
