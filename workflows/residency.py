"""Residency: periodic reviews (年度考核), rectification (整改) and reported violations."""

from __future__ import annotations

from typing import Any, Literal

from db.effects import TenancyRow
from db.repositories import ReviewRow
from db.tables import Rectification, Violation
from lifecycle import rulebook as rbook
from lifecycle.errors import (
    AlreadyExists,
    GuardFailed,
    InvalidInput,
    NotFound,
)
from lifecycle.table import RECTIFYING, RESIDENT_STATES, UNDER_REVIEW
from workflows import reviews, rules, veto_facts, windows
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
from workflows.exits import open_forced_case
from workflows.reviews import OUTCOME_TRIGGER, SYSTEM_SERVICE, AnyReview

__all__ = ["OUTCOME_TRIGGER", "apply_decision", "evaluate", "find_review", "review_of"]


def find_review(w: Work, tenancy_id: int, period: int) -> ReviewRow | None:
    return w.uow.reviews.get(tenancy_id, period)


def review_of(w: Work, tenancy_id: int, period: int) -> ReviewRow:
    row = find_review(w, tenancy_id, period)
    if row is None:
        raise NotFound("review", f"{period} of tenancy {tenancy_id}")
    return row


def open_review(w: Work, cmd: OpenReview) -> Step:
    tenancy = w.load(cmd, "open_review")
    reviews.check_period(cmd.period, w.today)
    if find_review(w, tenancy.id, cmd.period) is not None:
        raise AlreadyExists("review", f"{cmd.period} of tenancy {tenancy.id}")
    rb = rules.for_tenancy(w, tenancy)
    effects = w.effects(tenancy)
    step = reviews.open_review(
        effects, rb, w.calendar, period=cmd.period, actor=cmd.actor, reason=cmd.reason
    )
    w.apply(effects)
    return step


def submit_review(w: Work, cmd: SubmitReview) -> Step:
    tenancy = w.load_for(cmd, "submit_review", (UNDER_REVIEW,))
    review = review_of(w, tenancy.id, cmd.period)
    if review.status == "decided":
        raise GuardFailed(tenancy.id, "submit_review", f"the {cmd.period} review is decided")
    rb = rules.for_tenancy(w, tenancy)
    from dataclasses import replace

    from workflows import forms  # imported here: forms imports this module

    problems = forms.check_figures(rb, cmd.figures)
    if problems:  # every problem at once, each with its field, type and unit
        named = [replace(p, field=f"figures.{p.field}") for p in problems]
        raise forms.FormProblems("figures", named)
    figures = rbook.jsonable(rbook.validate_figures(rb, cmd.figures))
    effects = w.effects(tenancy)
    step = reviews.submit_review(effects, review, figures, actor=cmd.actor, reason=cmd.reason)
    w.apply(effects)
    return step


def evaluate(
    w: Work,
    tenancy: TenancyRow,
    review: AnyReview,
    rb: rbook.Rulebook,
    vetoes: tuple[str, ...],
    *,
    previous: AnyReview | None | Literal["load"] = "load",
) -> rbook.ReviewDecision:
    """Score a review under ``rb`` (``previous``: last year's review, if already loaded)."""
    if previous == "load":
        previous = find_review(w, tenancy.id, review.period - 1)
    facts = veto_facts.recorded(w.uow.reviews, rb, [tenancy.id], review.period)
    return rbook.score_review(
        rb,
        figures=review.figures,
        previous_figures=previous.figures if previous else None,
        leased_area_m2=w.uow.allocations.leased_area(tenancy.id),
        vetoes=vetoes,
        submitted=review.status == "submitted",
        previous_grade=previous.grade if previous else None,
        recorded=facts.get(tenancy.id),
    )


def decide_review(w: Work, cmd: DecideReview) -> Step:
    chosen = OUTCOME_TRIGGER.get(cmd.outcome or "")
    tenancy = w.load(cmd, *([chosen] if chosen else OUTCOME_TRIGGER.values()))
    review, previous = w.uow.reviews.with_previous(tenancy.id, cmd.period)
    if review is None:
        raise NotFound("review", f"{cmd.period} of tenancy {tenancy.id}")
    if review.status == "decided":
        raise GuardFailed(tenancy.id, "decide_review", f"the {cmd.period} review is decided")
    rb = rules.active_in(w, tenancy.space_id)
    decision = evaluate(w, tenancy, review, rb, cmd.vetoes, previous=previous)
    return apply_decision(
        w, tenancy, review, rb, decision, outcome=cmd.outcome, actor=cmd.actor, reason=cmd.reason
    )


def apply_decision(
    w: Work,
    tenancy: TenancyRow,
    review: AnyReview,
    rb: rbook.Rulebook,
    decision: rbook.ReviewDecision,
    *,
    outcome: str | None,
    actor: str,
    reason: str | None,
) -> Step:
    """Record a graded review and carry out its consequence (``reviews.decide_review``)."""
    effects = w.effects(tenancy)
    step = reviews.decide_review(
        effects,
        review,
        rb,
        lambda: w.calendar,  # read only when a consequence counts days
        score=decision.score,
        grade=decision.grade,
        consequence=decision.consequence,
        trace=decision.trace.to_dict(),
        outcome=outcome,
        actor=actor,
        reason=reason,
    )
    w.apply(effects)
    return step


def _open_rectification(w: Work, tenancy_id: int) -> Rectification:
    row = w.open_row(Rectification, tenancy_id)
    if row is None:
        raise NotFound("rectification", f"open one of tenancy {tenancy_id}")
    return row


def file_plan(w: Work, cmd: FileRectificationPlan) -> Step:
    tenancy = w.load_for(cmd, "file_plan", (RECTIFYING,))
    if not cmd.plan.strip():
        raise InvalidInput("plan", "must not be empty")
    row = _open_rectification(w, tenancy.id)
    row.plan = cmd.plan
    w.session.add(row)
    w.cancel_deadlines(tenancy.id, "rectification_plan_due")
    return w.record(
        tenancy,
        "file_plan",
        by=cmd,
        data={"rectification": row.id, "late": w.today > row.plan_due_on},
    )


def extend_rectification(w: Work, cmd: ExtendRectification) -> Step:
    tenancy = w.load_for(cmd, "extend_rectification", (RECTIFYING,))
    rb = rules.for_tenancy(w, tenancy)
    limit = rb.periods.rectification_extension_max.amount
    if not 1 <= cmd.days <= limit:
        raise InvalidInput("days", f"an extension is 1 to {limit} days", cmd.days)
    row = _open_rectification(w, tenancy.id)
    if row.extended:
        raise GuardFailed(tenancy.id, "extend_rectification", "only one extension is allowed")
    row.extended = True
    row.due_on = w.calendar.add_calendar_days(row.due_on, cmd.days)
    w.session.add(row)
    w.cancel_deadlines(tenancy.id, "rectification_end")
    w.deadline(tenancy, "rectification_end", row.due_on, subject_id=row.id, key=f"{row.id}:ext")
    w.notify(tenancy, "rectification_extended", context={"due_on": row.due_on, "days": cmd.days})
    return w.record(
        tenancy,
        "extend_rectification",
        by=cmd,
        data={"rectification": row.id, "days": cmd.days, "due_on": row.due_on},
    )


def reinspect(w: Work, cmd: Reinspect) -> Step:
    trigger = "pass_reinspection" if cmd.passed else "fail_reinspection"
    tenancy = w.load(cmd, trigger)
    row = _open_rectification(w, tenancy.id)
    data: dict[str, Any] = {"rectification": row.id}
    if not cmd.passed:
        # Failing closes the firm's windows: not before the plan deadline (no plan filed) and
        # the rectification period end, unless the firm waived them in writing.
        waivers = [
            windows.require_ended(w, tenancy, trigger, "plan", row.id, row.plan_due_on)
            if not row.plan
            else None,
            windows.require_ended(w, tenancy, trigger, "rectification", row.id, row.due_on),
        ]
        if relied := [x for x in waivers if x is not None]:
            data["waivers"] = relied
    step = w.transition(tenancy, trigger, by=cmd, data=data)
    row.status = "passed" if cmd.passed else "failed"
    w.session.add(row)
    w.cancel_deadlines(tenancy.id, "rectification_plan_due", "rectification_end")
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


def report_violation(w: Work, cmd: ReportViolation) -> dict[str, Any]:
    tenancy = w.load_for(cmd, "report_violation", RESIDENT_STATES)
    if not cmd.facts.strip():
        raise InvalidInput("facts", "record the facts of the violation")
    rb = rules.for_tenancy(w, tenancy)
    trig = rbook.exit_trigger(rb, cmd.code)
    cure = rbook.cure_period(rb, cmd.code)
    cure_due = w.due(w.today, cure) if cure is not None else None
    row = Violation(
        tenancy_id=tenancy.id,
        code=cmd.code,
        facts=cmd.facts,
        evidence=cmd.evidence,
        cure_due_on=cure_due,
        reported_at=w.now,
    )
    w.session.add(row)
    w.session.flush()
    step = w.record(
        tenancy,
        "report_violation",
        by=cmd,
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
                **reviews.exit_ground_rule(rb, trig),
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
