"""Residency: periodic reviews (年度考核), rectification (整改) and reported violations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlmodel import col, select

from db.prepared import Prepared
from db.tables import Allocation, Rectification, Review, Tenancy, Violation
from lifecycle import rulebook as rbook
from lifecycle.errors import (
    AlreadyExists,
    GuardFailed,
    InvalidInput,
    NotFound,
)
from workflows import rules
from workflows.commands import (
    DecideReview,
    ExtendRectification,
    FileRectificationPlan,
    OpenReview,
    Reinspect,
    ReportViolation,
    SubmitReview,
)
from workflows.core import Step, Work
from workflows.exits import SYSTEM_SERVICE, open_forced_case
from workflows.service import handles

OUTCOME_TRIGGER = {"pass": "pass_review", "rectify": "order_rectification", "fail": "fail_review"}


_REVIEWS = Review.__table__  # type: ignore[attr-defined]
_REVIEW_KEYS = tuple(c.key for c in _REVIEWS.c)
_REVIEW = Prepared(
    select(_REVIEWS).where(
        _REVIEWS.c.tenancy_id == bindparam("tenancy_id"), _REVIEWS.c.period == bindparam("period")
    )
)
_LEASED_AREAS = Prepared(
    select(Allocation.area_m2).where(
        Allocation.tenancy_id == bindparam("tenancy_id"), col(Allocation.end_on).is_(None)
    )
)


def find_review(w: Work, tenancy_id: int, period: int) -> Review | None:
    row = w.read(_REVIEW, {"tenancy_id": tenancy_id, "period": period})
    if row is None:
        return None
    return w.uow.attach(Review, dict(zip(_REVIEW_KEYS, row, strict=True)))  # type: ignore[no-any-return]


def review_of(w: Work, tenancy_id: int, period: int) -> Review:
    row = find_review(w, tenancy_id, period)
    if row is None:
        raise NotFound("review", f"{period} of tenancy {tenancy_id}")
    return row


def leased_area(w: Work, tenancy_id: int) -> float:
    rows = w.read_all(_LEASED_AREAS, {"tenancy_id": tenancy_id})
    return round(sum(area for (area,) in rows), 2)


@handles(OpenReview)
def open_review(w: Work, cmd: OpenReview) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require(tenancy, "open_review")
    if not 2000 <= cmd.period <= w.today.year:
        raise InvalidInput("period", f"must be a year between 2000 and {w.today.year}", cmd.period)
    if find_review(w, tenancy.id, cmd.period) is not None:  # type: ignore[arg-type]
        raise AlreadyExists("review", f"{cmd.period} of tenancy {tenancy.id}")
    rb = rules.for_tenancy(w, tenancy)
    due = rbook.review_due_on(rb, w.calendar, opened_on=w.today)
    step = w.transition(
        tenancy,
        "open_review",
        actor=cmd.actor,
        reason=cmd.reason,
        data={"period": cmd.period, "due_on": due},
    )
    review_id = w.insert(
        Review,
        tenancy_id=tenancy.id,
        period=cmd.period,
        opened_at=w.now,
        due_on=due,
        rulebook_version=rb.version,
    )
    w.deadline(tenancy, "review_submission_due", due, subject_id=review_id)
    for offset in rb.review.reminders.before_workdays:
        on = w.calendar.subtract_working_days(due, offset)
        if on > w.today:
            w.deadline(
                tenancy,
                "review_reminder",
                on,
                key=f"{review_id}:-{offset}",
                subject_id=review_id,
                payload={"offset": -offset, "due_on": due},
            )
    w.notify(
        tenancy, "review_opened", context={"period": cmd.period, "due_on": due}, key=f"{cmd.period}"
    )
    return step


@handles(SubmitReview)
def submit_review(w: Work, cmd: SubmitReview) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "submit_review", ("under_review",))
    review = review_of(w, tenancy.id, cmd.period)  # type: ignore[arg-type]
    if review.status == "decided":
        raise GuardFailed(tenancy.id, "submit_review", f"the {cmd.period} review is decided")
    rb = rules.for_tenancy(w, tenancy)
    figures = rbook.jsonable(rbook.validate_figures(rb, cmd.figures))
    w.update(review, figures=figures, status="submitted", submitted_at=w.now)
    w.cancel_deadlines(tenancy.id, "review_reminder", "review_overdue_reminder")  # type: ignore[arg-type]
    return w.record(
        tenancy,
        "submit_review",
        actor=cmd.actor,
        reason=cmd.reason,
        data={"period": cmd.period, "figures": figures},
    )


def _previous(w: Work, tenancy_id: int, period: int) -> Review | None:
    return find_review(w, tenancy_id, period - 1)


def evaluate(
    w: Work, tenancy: Tenancy, review: Review, rb: rbook.Rulebook, vetoes: tuple[str, ...]
) -> rbook.ReviewDecision:
    previous = _previous(w, tenancy.id, review.period)  # type: ignore[arg-type]
    return rbook.score_review(
        rb,
        figures=review.figures,
        previous_figures=previous.figures if previous else None,
        leased_area_m2=leased_area(w, tenancy.id),  # type: ignore[arg-type]
        vetoes=vetoes,
        submitted=review.status == "submitted",
        previous_grade=previous.grade if previous else None,
    )


@handles(DecideReview)
def decide_review(w: Work, cmd: DecideReview) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require(
        tenancy,
        *(OUTCOME_TRIGGER[cmd.outcome],)
        if cmd.outcome in OUTCOME_TRIGGER
        else OUTCOME_TRIGGER.values(),
    )
    review = review_of(w, tenancy.id, cmd.period)  # type: ignore[arg-type]
    if review.status == "decided":
        raise GuardFailed(tenancy.id, "decide_review", f"the {cmd.period} review is decided")
    rb = rules.active_in(w, tenancy.space_id)
    decision = evaluate(w, tenancy, review, rb, cmd.vetoes)
    return apply_decision(
        w,
        tenancy,
        review,
        rb,
        score=decision.score,
        grade=decision.grade,
        consequence=decision.consequence,
        trace=decision.trace.to_dict(),
        outcome=cmd.outcome,
        actor=cmd.actor,
        reason=cmd.reason,
    )


def outcome_for(consequence: str) -> str:
    return {"forced_exit": "fail", "rectification": "rectify"}.get(consequence, "pass")


def apply_decision(
    w: Work,
    tenancy: Tenancy,
    review: Review,
    rb: rbook.Rulebook,
    *,
    score: float,
    grade: str,
    consequence: str,
    trace: dict[str, Any],
    outcome: str | None,
    actor: str,
    reason: str | None,
) -> Step:
    """Record a graded review and carry out its consequence (shared with the batch path)."""
    decided = outcome_for(consequence)
    if outcome is not None:
        if outcome not in OUTCOME_TRIGGER:
            raise InvalidInput("outcome", "must be pass, rectify or fail", outcome)
        if outcome != decided and not reason:
            raise InvalidInput(
                "reason", f"overriding the rulebook's outcome ({decided}) needs a reason"
            )
        decided = outcome
    w.update(
        review,
        score=score,
        grade=grade,
        consequence=consequence,
        trace=trace,
        status="decided",
        decided_at=w.now,
        rulebook_version=rb.version,
    )
    w.cancel_deadlines(
        tenancy.id,
        "review_submission_due",
        "review_reminder",  # type: ignore[arg-type]
        "review_overdue_reminder",
    )
    data = {
        "period": review.period,
        "score": score,
        "grade": grade,
        "consequence": consequence,
        "outcome": decided,
        "rulebook_version": rb.version,
        "trace": trace,
    }
    with rules.decided_under(w, tenancy, rb):
        step = w.transition(
            tenancy, OUTCOME_TRIGGER[decided], actor=actor, reason=reason, data=data
        )
    w.notify(
        tenancy,
        "review_result",
        context={
            "period": review.period,
            "score": score,
            "grade": grade,
            "consequence": consequence,
            "outcome": decided,
            "trace": trace,
            "rule": f"《{rb.meta.name_zh}》年度考核：等级（review.grades）与考核结果"
            f"（review.consequences），规则版本 {rb.version[:12]}",
            "rule_en": f"{rb.meta.name}: annual review grades (review.grades) and consequences "
            f"(review.consequences), rulebook {rb.version[:12]}",
        },
        key=str(review.period),
    )
    if decided == "rectify":
        _start_rectification(w, tenancy, review, rb)
    elif decided == "fail":
        open_forced_case(
            w,
            tenancy,
            rb,
            grounds="consecutive_d",
            actor=actor,
            facts=f"{review.period} 年度考核等级 {grade}；{reason or ''}".strip("；"),
            proof_of_service=SYSTEM_SERVICE,
        )
    return step


def _start_rectification(w: Work, tenancy: Tenancy, review: Review, rb: rbook.Rulebook) -> None:
    plan_due = w.due(w.today, rb.periods.rectification_plan)
    due = w.due(w.today, rb.periods.rectification)
    defects = (
        "; ".join(str(s) for s in review.trace.get("defects", []))
        or f"{review.period} 年度考核等级 {review.grade}"
    )
    rectification_id = w.insert(
        Rectification,
        tenancy_id=tenancy.id,
        review_id=review.id,
        defects=defects,
        plan_due_on=plan_due,
        due_on=due,
        created_at=w.now,
    )
    w.deadline(tenancy, "rectification_plan_due", plan_due, subject_id=rectification_id)
    w.deadline(tenancy, "rectification_end", due, subject_id=rectification_id)
    w.notify(
        tenancy,
        "rectification_notice",
        context={
            "defects": defects,
            "plan_due_on": plan_due,
            "due_on": due,
            "plan_period": rb.periods.rectification_plan.describe(),
            "period": rb.periods.rectification.describe(),
            "review_period": review.period,
            "grade": review.grade,
            "rule": f"《{rb.meta.name_zh}》年度考核结果（review.consequences）与整改规定"
            f"（rectification），规则版本 {rb.version[:12]}",
            "rule_en": f"{rb.meta.name}: review consequences (review.consequences) and "
            f"rectification (rectification), rulebook {rb.version[:12]}",
        },
    )


def _open_rectification(w: Work, tenancy_id: int) -> Rectification:
    row = w.session.exec(
        select(Rectification)
        .where(Rectification.tenancy_id == tenancy_id, Rectification.status == "open")
        .order_by(col(Rectification.id).desc())
    ).first()
    if row is None:
        raise NotFound("rectification", f"open one of tenancy {tenancy_id}")
    return row


@handles(FileRectificationPlan)
def file_plan(w: Work, cmd: FileRectificationPlan) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "file_plan", ("rectifying",))
    if not cmd.plan.strip():
        raise InvalidInput("plan", "must not be empty")
    row = _open_rectification(w, tenancy.id)  # type: ignore[arg-type]
    row.plan = cmd.plan
    w.session.add(row)
    w.cancel_deadlines(tenancy.id, "rectification_plan_due")  # type: ignore[arg-type]
    return w.record(
        tenancy,
        "file_plan",
        actor=cmd.actor,
        reason=cmd.reason,
        data={"rectification": row.id, "late": w.today > row.plan_due_on},
    )


@handles(ExtendRectification)
def extend_rectification(w: Work, cmd: ExtendRectification) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "extend_rectification", ("rectifying",))
    rb = rules.for_tenancy(w, tenancy)
    limit = rb.periods.rectification_extension_max.amount
    if not 1 <= cmd.days <= limit:
        raise InvalidInput("days", f"an extension is 1 to {limit} days", cmd.days)
    row = _open_rectification(w, tenancy.id)  # type: ignore[arg-type]
    if row.extended:
        raise GuardFailed(tenancy.id, "extend_rectification", "only one extension is allowed")
    row.extended = True
    row.due_on = w.calendar.add_calendar_days(row.due_on, cmd.days)
    w.session.add(row)
    w.cancel_deadlines(tenancy.id, "rectification_end")  # type: ignore[arg-type]
    w.deadline(tenancy, "rectification_end", row.due_on, subject_id=row.id, key=f"{row.id}:ext")
    w.notify(tenancy, "rectification_extended", context={"due_on": row.due_on, "days": cmd.days})
    return w.record(
        tenancy,
        "extend_rectification",
        actor=cmd.actor,
        reason=cmd.reason,
        data={"rectification": row.id, "days": cmd.days, "due_on": row.due_on},
    )


@handles(Reinspect)
def reinspect(w: Work, cmd: Reinspect) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    trigger = "pass_reinspection" if cmd.passed else "fail_reinspection"
    w.require(tenancy, trigger)
    row = _open_rectification(w, tenancy.id)  # type: ignore[arg-type]
    step = w.transition(
        tenancy, trigger, actor=cmd.actor, reason=cmd.reason, data={"rectification": row.id}
    )
    row.status = "passed" if cmd.passed else "failed"
    w.session.add(row)
    w.cancel_deadlines(tenancy.id, "rectification_plan_due", "rectification_end")  # type: ignore[arg-type]
    w.notify(tenancy, "reinspection_result", context={"passed": cmd.passed, "reason": cmd.reason})
    if not cmd.passed:
        rb = rules.for_tenancy(w, tenancy)
        open_forced_case(
            w,
            tenancy,
            rb,
            grounds="failed_rectification",
            actor=cmd.actor,
            facts=cmd.reason or "整改复查不合格",
            proof_of_service=SYSTEM_SERVICE,
        )
    return step


@handles(ReportViolation)
def report_violation(w: Work, cmd: ReportViolation) -> dict[str, Any]:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "report_violation", ("active", "under_review", "rectifying"))
    if not cmd.facts.strip():
        raise InvalidInput("facts", "record the facts of the violation")
    rb = rules.for_tenancy(w, tenancy)
    trig = rbook.exit_trigger(rb, cmd.code)
    cure = rbook.cure_period(rb, cmd.code)
    cure_due = w.due(w.today, cure) if cure is not None else None
    row = Violation(
        tenancy_id=tenancy.id,
        code=cmd.code,
        facts=cmd.facts,  # type: ignore[arg-type]
        evidence=cmd.evidence,
        cure_due_on=cure_due,
        reported_at=w.now,
    )
    w.session.add(row)
    w.session.flush()
    step = w.record(
        tenancy,
        "report_violation",
        actor=cmd.actor,
        reason=cmd.reason,
        data={
            "violation": row.id,
            "code": cmd.code,
            "handling": trig.handling,
            "cure_due_on": cure_due,
            "facts": cmd.facts,
        },
    )
    if cure_due is not None:
        w.deadline(tenancy, "cure_end", cure_due, subject_id=row.id)
        w.notify(
            tenancy,
            "cure_notice",
            context={
                "code": cmd.code,
                "label_zh": trig.label_zh,
                "label_en": trig.label_en,
                "facts": cmd.facts,
                "due_on": cure_due,
                "period": cure.describe() if cure else "",
                "rule": f"《{rb.meta.name_zh}》强制退出情形“{trig.label_zh}”"
                f"（{trig.rule_ref}，规则版本 {rb.version[:12]}）",
                "rule_en": f"{rb.meta.name}: forced-exit ground “{trig.label_en}” "
                f"({trig.rule_ref}, rulebook {rb.version[:12]})",
                "rule_id": trig.rule_ref,
            },
            key=str(row.id),
        )
    return {
        **step.to_dict(),
        "violation": row.id,
        "handling": trig.handling,
        "cure_due_on": cure_due.isoformat() if cure_due else None,
        "immediate": cure_due is None,
    }
