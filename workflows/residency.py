"""Residency: periodic reviews (年度考核), rectification (整改) and reported violations."""

from __future__ import annotations

from typing import Any, Literal

from db.cases import RectificationRow
from db.effects import TenancyRow
from db.repositories import ReviewRow
from lifecycle import rulebook as rbook
from lifecycle.errors import (
    AlreadyExists,
    GuardFailed,
    InvalidInput,
    none_open,
    review_not_found,
)
from lifecycle.table import EXIT_NOTICE, RECTIFYING, RESIDENT_STATES, UNDER_REVIEW
from workflows import residency_rules, reviews, rules, veto_facts, windows
from workflows.commands import (
    CureViolation,
    DecideReview,
    ExtendRectification,
    FileRectificationPlan,
    OpenReview,
    Reinspect,
    ReportViolation,
    SubmitReview,
)
from workflows.core import Step, Work
from workflows.reviews import OUTCOME_TRIGGER, AnyReview

__all__ = ["OUTCOME_TRIGGER", "apply_decision", "evaluate", "find_review"]


def find_review(w: Work, tenancy_id: int, period: int) -> ReviewRow | None:
    return w.uow.reviews.get(tenancy_id, period)


def open_review(w: Work, cmd: OpenReview) -> Step:
    tenancy, found = w.tenancy_with_reviews(cmd, cmd.period)
    w.require(tenancy, "open_review")
    reviews.check_period_ended(cmd.period, w.today)
    if cmd.period in found:
        raise AlreadyExists(
            "review",
            f"{cmd.period} of tenancy {tenancy.id}",
            zh=f"入驻记录 {tenancy.id} 的 {cmd.period} 年度考核已存在",
        )
    rb = rules.for_tenancy(w, tenancy)
    effects = w.effects(tenancy)
    step = reviews.open_review(
        effects, rb, w.calendar, period=cmd.period, actor=cmd.actor, reason=cmd.reason
    )
    w.apply(effects)
    return step


def submit_review(w: Work, cmd: SubmitReview) -> Step:
    tenancy, found = w.tenancy_with_reviews(cmd, cmd.period)
    w.require_state(tenancy, "submit_review", (UNDER_REVIEW,))
    review = found.get(cmd.period)
    if review is None:
        raise review_not_found(cmd.period, tenancy_id=tenancy.id)
    if review.status == "decided":
        raise GuardFailed(tenancy.id, "submit_review", f"the {cmd.period} review is decided")
    rb = rules.for_tenancy(w, tenancy)
    from dataclasses import replace

    from workflows import forms  # imported here: forms imports this module

    read, problems = forms.read_figures(rb, cmd.figures, json_typed=cmd.json_typed)
    if problems:  # every problem at once, each with its field, type and unit
        named = [replace(p, field=f"figures.{p.field}") for p in problems]
        raise forms.FormProblems("figures", named)
    # What is stored is what was checked: the figures as the form reads them ("1,000" and
    # "１０００" as 1000, 是/否 as yes/no, each through validate_figures), not as typed.
    figures = rbook.jsonable(read)
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
    # The violations, the firm's cooperation and the area held, in one read (the batch
    # decision reads each for many tenancies: veto_facts.recorded, counted, leased_areas).
    read = w.uow.reviews.decision_facts(
        tenancy.id,
        tenancy.firm_id,
        veto_facts.codes(rb),
        *veto_facts.period_bounds(review.period),
    )
    counted = veto_facts.counted(
        lambda *_: {tenancy.firm_id: read.cooperation},
        rb,
        [(tenancy.id, tenancy.firm_id, review)],
        review.period,
    )
    return rbook.score_review(
        rb,
        figures=review.figures,
        previous_figures=previous.figures if previous else None,
        leased_area_m2=read.leased_area,
        vetoes=vetoes,
        submitted=review.status == "submitted",
        previous_grade=previous.grade if previous else None,
        recorded=read.vetoes or None,
        facts=counted.get(tenancy.id),
    )


def decide_review(w: Work, cmd: DecideReview) -> Step:
    chosen = OUTCOME_TRIGGER.get(cmd.outcome or "")
    tenancy, found = w.tenancy_with_reviews(cmd, cmd.period, previous=True)
    w.require(tenancy, *([chosen] if chosen else OUTCOME_TRIGGER.values()))
    review, previous = found.get(cmd.period), found.get(cmd.period - 1)
    if review is None:
        raise review_not_found(cmd.period, tenancy_id=tenancy.id)
    if review.status == "decided":
        raise GuardFailed(tenancy.id, "decide_review", f"the {cmd.period} review is decided")
    if reviews.classify(review.status, tenancy.state, review.due_on, w.today) == "open":
        # As a cycle is decided (decisions.cohort): not while the firm may still submit.
        due = review.due_on.isoformat() if review.due_on else ""
        raise GuardFailed(
            tenancy.id,
            "decide_review",
            f"{cmd.period} 年度考核尚在报送期内（截止 {due}），企业报送或期满后方可评定 / "
            f"the {cmd.period} review is open until {due}: decide it once the firm has "
            "submitted its figures or the deadline has passed",
        )
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


def _open_rectification(w: Work, tenancy_id: int) -> RectificationRow:
    row = w.uow.cases.open_rectification(tenancy_id)
    if row is None:
        raise none_open("rectification", tenancy_id)
    return row


def file_plan(w: Work, cmd: FileRectificationPlan) -> Step:
    tenancy = w.load_for(cmd, "file_plan", (RECTIFYING,))
    residency_rules.check_plan(cmd.plan)
    row = _open_rectification(w, tenancy.id)
    return w.decide(tenancy, residency_rules.file_plan, row, plan=cmd.plan, by=cmd)


def extend_rectification(w: Work, cmd: ExtendRectification) -> Step:
    tenancy = w.load_for(cmd, "extend_rectification", (RECTIFYING,))
    rb = rules.for_tenancy(w, tenancy)
    row = _open_rectification(w, tenancy.id)
    return w.decide(
        tenancy,
        residency_rules.extend_rectification,
        row,
        rb,
        w.calendar,
        days=cmd.days,
        by=cmd,
    )


def reinspect(w: Work, cmd: Reinspect) -> Step:
    tenancy = w.load(cmd, "pass_reinspection" if cmd.passed else "fail_reinspection")
    row = _open_rectification(w, tenancy.id)
    # Failing before the firm's windows end relies on its written waivers: read only then.
    waiting = not cmd.passed and residency_rules.windows_open(row, w.today)
    return w.decide(
        tenancy,
        residency_rules.reinspect,
        row,
        rules.for_tenancy(w, tenancy),
        lambda: w.calendar,  # read only when failing opens a case
        passed=cmd.passed,
        waivers=windows.waivers(w, tenancy.id) if waiting else [],
        by=cmd,
    )


def report_violation(w: Work, cmd: ReportViolation) -> dict[str, Any]:
    tenancy = w.load_for(cmd, "report_violation", RESIDENT_STATES)
    if not cmd.facts.strip():
        raise InvalidInput("facts", "须写明违规事实 / record the facts of the violation")
    rb = rules.for_tenancy(w, tenancy)
    decision = residency_rules.judge_violation(
        rb, lambda: w.calendar, w.today, code=cmd.code, facts=cmd.facts, evidence=cmd.evidence
    )
    # The audit event names the violation and is hashed when decided: its id is handed out
    # first, and the violation's row written with it.
    violation_id = w.uow.ids.next("violations")
    return w.decide(
        tenancy,
        residency_rules.report_violation,
        decision,
        rb,
        lambda: w.calendar,
        violation_id=violation_id,
        by=cmd,
    )


#: Where a violation may be cured: in residency, and while an exit notice on other grounds
#: awaits its ruling (an objection upheld returns the firm to residency); a notice on the
#: violation's own grounds refuses it (residency_rules.cure_refusal).
CURE_STATES = (*RESIDENT_STATES, EXIT_NOTICE)


def cure_violation(w: Work, cmd: CureViolation) -> dict[str, Any]:
    tenancy = w.load_for(cmd, "cure_violation", CURE_STATES)
    violation = w.uow.cases.violation(cmd.violation)
    mine = violation is not None and violation.tenancy_id == tenancy.id
    deadlines = (
        w.uow.cases.pending_of_subject(tenancy.id, residency_rules.CURE_DEADLINE, cmd.violation)
        if mine
        else []
    )
    return w.decide(
        tenancy,
        residency_rules.cure_violation,
        violation,
        rules.for_tenancy(w, tenancy),
        lambda: w.calendar,
        violation_id=cmd.violation,
        case=w.uow.cases.open_exit_case(tenancy.id),
        cured_on=cmd.cured_on,
        note=cmd.note,
        deadlines=deadlines,
        by=cmd,
    )
