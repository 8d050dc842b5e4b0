"""Admission: apply, screen, request information, score, approve, 公示, admit, sign."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import col, select

from db.effects import TenancyRow
from db.tables import Application, ExitCase, ReviewerScore, Tenancy
from lifecycle import rulebook as rbook
from lifecycle.errors import AlreadyExists, GuardFailed, InvalidInput
from lifecycle.machine import Facts
from lifecycle.table import ADMITTED, APPLIED, EVALUATING, INFO_REQUESTED, TERMINAL
from workflows import rules
from workflows.commands import (
    Apply,
    Approve,
    Lapse,
    Reject,
    RejectWithoutPanel,
    RequestInfo,
    Resubmit,
    ScoreApplication,
    Screen,
    Withdraw,
)
from workflows.core import Step, Work
from workflows.identity import actor_name

APPLICATION_DEADLINES = ("info_request_lapse", "publicity_end", "agreement_lapse")


def _profile(w: Work, tenancy: TenancyRow, application: Application) -> rbook.ApplicationProfile:
    firm = w.firm(tenancy.firm_id)
    data: dict[str, Any] = {
        "uscc": firm.uscc,
        "name": firm.name,
        "industry": firm.industry,
        "track": application.track,
        "requested_area_m2": application.requested_area_m2,
    }
    if firm.founded_on is not None:
        data["founded_on"] = firm.founded_on
    data.update(application.profile)
    try:
        return rbook.ApplicationProfile.model_validate(data)
    except ValidationError as err:
        from workflows import forms  # imported here: forms imports this module's neighbours

        # Every problem at once, each with its field, expected type and unit.
        given = application.profile
        base = {key: value for key, value in data.items() if key not in given}
        problems = forms.check_profile(rules.for_tenancy(w, tenancy), given, firm=base)
        if problems:
            raise forms.FormProblems("profile", problems) from err
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "profile"
        raise InvalidInput(f"profile.{field}", first["msg"]) from err


def _application(w: Work, tenancy_id: int) -> Application:
    row = w.session.exec(select(Application).where(Application.tenancy_id == tenancy_id)).first()
    if row is None:
        raise InvalidInput("tenancy_id", "has no application on record", tenancy_id)
    return row


def _reapply_barred_until(w: Work, firm_id: int, rb: rbook.Rulebook) -> date | None:
    """The end of a re-application bar from an earlier fraud exit of this firm, if any."""
    rows = w.session.exec(
        select(ExitCase)
        .join(Tenancy, col(Tenancy.id) == col(ExitCase.tenancy_id))
        .where(
            Tenancy.firm_id == firm_id,
            ExitCase.exit_type == "forced",
            col(ExitCase.grounds).is_not(None),
        )
    ).all()
    latest: date | None = None
    for case in rows:
        bar = rbook.reapply_bar(rb, case.grounds or "")
        if bar is None:
            continue
        start = w.calendar.local_date(case.handed_over_at or case.served_at or case.created_at)
        until = (
            w.calendar.add_months(start, bar.amount)
            if bar.unit == "months"
            else start + timedelta(days=bar.amount)
        )
        latest = until if latest is None or until > latest else latest
    return latest


def apply(w: Work, cmd: Apply) -> Step:
    firm = w.firm(cmd.firm)
    space = w.space_by_code(cmd.space)
    rb = rules.for_space(w, space)
    if cmd.track not in rb.tracks:
        raise InvalidInput("track", f"must be one of {', '.join(rb.tracks)}", cmd.track)
    if cmd.requested_area_m2 < 0:
        raise InvalidInput("requested_area_m2", "must not be negative", cmd.requested_area_m2)
    open_stays = w.session.exec(
        select(Tenancy).where(
            Tenancy.firm_id == firm.id,
            Tenancy.space_id == space.id,
            col(Tenancy.state).not_in(TERMINAL),
        )
    ).first()
    if open_stays is not None:
        raise AlreadyExists(
            "tenancy", f"firm {firm.uscc} in {space.code} (#{open_stays.id}, {open_stays.state})"
        )
    assert firm.id is not None and space.id is not None
    tenancy_id = w.insert(
        Tenancy,
        firm_id=firm.id,
        space_id=space.id,
        state=APPLIED,
        version=1,
        track=cmd.track,
        rulebook_version=rb.version,
        priority=False,
        audit_seq=0,
        audit_head="0" * 64,
        created_at=w.now,
        updated_at=w.now,
    )
    tenancy = w.tenancy(tenancy_id)
    application = Application(
        tenancy_id=tenancy.id,
        track=cmd.track,
        requested_area_m2=cmd.requested_area_m2,
        profile=dict(cmd.profile),
        submitted_at=w.now,
    )
    w.session.add(application)
    _profile(w, tenancy, application)  # validate now: a bad profile is refused at the door
    w.audit(
        tenancy,
        "apply",
        None,
        APPLIED,
        by=cmd,
        data={"firm": firm.uscc, "space": space.code, "track": cmd.track},
    )
    w.notify(tenancy, "application_received", context={"track": cmd.track})
    return Step(tenancy.id, "apply", None, APPLIED, tenancy.version)


def screen(w: Work, cmd: Screen) -> Step:
    tenancy = w.load(cmd, "screen_out" if cmd.reject else "screen_in")
    if cmd.reject:
        if not cmd.reason:
            raise InvalidInput("reason", "an operator's rejection must give its reason")
        step = w.transition(tenancy, "screen_out", by=cmd)
        w.notify(
            tenancy,
            "screening_result",
            context={"passed": False, "reason": cmd.reason, "failures": []},
        )
        return step
    application = _application(w, tenancy.id)
    rb = rules.active_in(w, tenancy.space_id)
    decision = rbook.evaluate_hard_requirements(
        rb,
        _profile(w, tenancy, application),
        on=w.today,
        reapply_barred_until=_reapply_barred_until(w, tenancy.firm_id, rb),
    )
    trace = decision.trace.to_dict()
    application.decision = {"screening": trace, "rulebook_version": rb.version}
    w.session.add(application)
    failures = [
        {"id": f.id, "label_zh": f.label_zh, "label_en": f.label_en} for f in decision.failures
    ]
    data = {"rulebook_version": rb.version, "trace": trace, "failures": failures}
    trigger = "screen_in" if decision.passed else "screen_out"
    # The application is decided under the rulebook that screened it (scoring, 公示, signing).
    tenancy.rulebook_version = rb.version
    reason = cmd.reason or ("; ".join(f"{f['id']} {f['label_zh']}" for f in failures) or None)
    step = w.transition(tenancy, trigger, actor=cmd.actor, reason=reason, data=data)
    w.notify(
        tenancy,
        "screening_result",
        context={"passed": decision.passed, "failures": failures, "reason": reason},
    )
    return step


def request_info(w: Work, cmd: RequestInfo) -> Step:
    tenancy = w.load(cmd, "request_info")
    if not cmd.items.strip():
        raise InvalidInput("items", "say which information is missing")
    rb = rules.for_tenancy(w, tenancy)
    due = w.due(w.today, rb.periods.info_request_response)
    step = w.transition(tenancy, "request_info", by=cmd, data={"items": cmd.items, "due_on": due})
    w.deadline(tenancy, "info_request_lapse", due, key=str(tenancy.audit_seq))
    w.notify(tenancy, "info_requested", context={"items": cmd.items, "due_on": due})
    return step


def resubmit(w: Work, cmd: Resubmit) -> Step:
    tenancy = w.load(cmd, "resubmit")
    application = _application(w, tenancy.id)
    step = w.transition(tenancy, "resubmit", by=cmd, data={"changed": sorted(cmd.profile)})
    application.profile = {**application.profile, **cmd.profile}
    w.session.add(application)
    _profile(w, tenancy, application)
    w.cancel_deadlines(tenancy.id, "info_request_lapse")
    return step


def score_application(w: Work, cmd: ScoreApplication) -> Step:
    tenancy = w.load_for(cmd, "score", (EVALUATING,))
    if not cmd.reviewer.strip():
        raise InvalidInput("reviewer", "must name the reviewer")
    rb = rules.for_tenancy(w, tenancy)
    total = rbook.reviewer_total(rb, cmd.scores)  # validates criteria and bands
    exists = w.session.exec(
        select(ReviewerScore).where(
            ReviewerScore.tenancy_id == tenancy.id, ReviewerScore.reviewer == cmd.reviewer
        )
    ).first()
    if exists is not None:
        raise AlreadyExists("score", f"by {cmd.reviewer} for tenancy {tenancy.id}")
    w.session.add(
        ReviewerScore(
            tenancy_id=tenancy.id,
            reviewer=cmd.reviewer,
            conflict_of_interest=cmd.conflict_of_interest,
            scores=dict(cmd.scores),
            total=total,
            created_at=w.now,
        )
    )
    return w.record(
        tenancy,
        "score",
        by=cmd,
        data={
            "reviewer": cmd.reviewer,
            "total": total,
            "conflict_of_interest": cmd.conflict_of_interest,
        },
    )


def _scoring(w: Work, tenancy: TenancyRow, rb: rbook.Rulebook) -> rbook.ScoringDecision:
    rows = w.session.exec(
        select(ReviewerScore)
        .where(ReviewerScore.tenancy_id == tenancy.id)
        .order_by(col(ReviewerScore.id))
    ).all()
    inputs = [
        rbook.ReviewerScoreInput(
            reviewer=r.reviewer, conflict_of_interest=r.conflict_of_interest, scores=r.scores
        )
        for r in rows
    ]
    return rbook.score_application(rb, inputs)


# Names of the operator role and the scheduler: a decision taken without a valid panel must
# name the person who takes it.
UNNAMED_ACTORS = frozenset({"", "operator", "system", "firm"})


def _panel(w: Work, tenancy: TenancyRow, rb: rbook.Rulebook, trigger: str) -> rbook.ScoringDecision:
    """The panel's scoring; refused (GuardFailed) while fewer than the rulebook's minimum of
    reviewers without a conflict of interest have scored: approval and rejection alike."""
    try:
        return _scoring(w, tenancy, rb)
    except InvalidInput as err:
        if err.field != "reviewers":
            raise
        raise GuardFailed(
            tenancy.id,
            trigger,
            f"no valid panel / 评审小组不足: {err.rule}"
            + (
                "; a rejection without one is a named operator's decision: "
                "`reject N --without-panel --actor NAME --grounds TEXT`"
                if trigger == "reject"
                else ""
            ),
        ) from None


def approve(w: Work, cmd: Approve) -> Step:
    tenancy = w.load(cmd, "approve")
    rb = rules.for_tenancy(w, tenancy)
    scoring = _panel(w, tenancy, rb, "approve")
    tenancy.score, tenancy.priority = scoring.mean, scoring.priority
    first = w.today
    last = w.due(first, rb.periods.publicity)
    step = w.transition(
        tenancy,
        "approve",
        by=cmd,
        facts=Facts(tenancy.state, score_passed=scoring.passed),
        data={
            "score": scoring.mean,
            "priority": scoring.priority,
            "publicity_from": first,
            "publicity_to": last,
            "rulebook_version": rb.version,
            "trace": scoring.trace.to_dict(),
        },
    )
    w.deadline(tenancy, "publicity_end", last, key=str(tenancy.audit_seq))
    w.notify(
        tenancy,
        "scoring_result",
        context={"score": scoring.mean, "passed": True, "priority": scoring.priority},
    )
    w.notify(
        tenancy,
        "publicity_start",
        context={"from": first, "to": last, "period": rb.periods.publicity.describe()},
    )
    return step


def reject(w: Work, cmd: Reject) -> Step:
    tenancy = w.load(cmd, "reject")
    rb = rules.for_tenancy(w, tenancy)
    scoring = _panel(w, tenancy, rb, "reject")
    tenancy.score = scoring.mean
    data = {"score": scoring.mean, "trace": scoring.trace.to_dict()}
    step = w.transition(tenancy, "reject", by=cmd, data=data)
    w.notify(
        tenancy,
        "scoring_result",
        context={"score": scoring.mean, "passed": False, "reason": cmd.reason},
    )
    return step


def reject_without_panel(w: Work, cmd: RejectWithoutPanel) -> Step:
    """An operator's named decision to reject while no valid panel has scored."""
    tenancy = w.load(cmd, "reject_without_panel")
    if actor_name(cmd.actor).strip().lower() in UNNAMED_ACTORS:
        raise InvalidInput(
            "actor", "name the operator who takes this decision (--actor NAME)", cmd.actor
        )
    grounds = cmd.grounds.strip()
    if not grounds:
        raise InvalidInput("grounds", "a rejection without a valid panel must state its grounds")
    rb = rules.for_tenancy(w, tenancy)
    try:
        _scoring(w, tenancy, rb)
    except InvalidInput as err:
        if err.field != "reviewers":
            raise
        panel = err.rule
    else:
        raise GuardFailed(
            tenancy.id,
            "reject_without_panel",
            "a valid panel has scored: decide with `approve` or `reject`",
        )
    cfg = rb.admission.scoring
    data = {
        "decided_by": actor_name(cmd.actor),
        "grounds": grounds,
        "panel": panel,
        "min_reviewers": cfg.min_reviewers,
        "rulebook_version": rb.version,
    }
    step = w.transition(tenancy, "reject_without_panel", by=cmd, data=data)
    w.notify(
        tenancy,
        "rejection_without_panel",
        context={
            "decided_by": actor_name(cmd.actor),
            "grounds": grounds,
            "min_reviewers": cfg.min_reviewers,
            "reason": cmd.reason,
        },
    )
    return step


def withdraw(w: Work, cmd: Withdraw) -> Step:
    tenancy = w.load(cmd, "withdraw")
    step = w.transition(tenancy, "withdraw", by=cmd)
    w.cancel_deadlines(tenancy.id, *APPLICATION_DEADLINES)
    w.notify(tenancy, "application_withdrawn", context={"reason": cmd.reason})
    return step


def lapse(w: Work, cmd: Lapse) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    step = w.transition(tenancy, "lapse", by=cmd, data=_lapse_trace(w, tenancy))
    w.cancel_deadlines(tenancy.id, *APPLICATION_DEADLINES)
    w.notify(tenancy, "application_lapsed", context={"reason": cmd.reason})
    return step


LAPSES = {  # state -> (deadline kind, rulebook period, label_zh, label_en)
    INFO_REQUESTED: (
        "info_request_lapse",
        "info_request_response",
        "补充材料逾期未提交",
        "Information not supplied in time",
    ),
    ADMITTED: (
        "agreement_lapse",
        "agreement_signing",
        "未在规定期限内签订入驻协议",
        "Agreement not signed in time",
    ),
}


def _lapse_trace(w: Work, tenancy: TenancyRow) -> dict[str, Any]:
    """The time limit that ran out, as a trace (read before the transition)."""
    if tenancy.state not in LAPSES:
        return {}
    kind, period, zh, en = LAPSES[tenancy.state]
    rb = rules.for_tenancy(w, tenancy)
    due = w.pending_due_on(tenancy.id, kind)
    trace = rbook.Trace(
        "admission.lapse",
        rb.version,
        (
            rbook.TraceStep(
                f"periods.{period}",
                zh,
                en,
                {"due_on": due, "today": w.today},
                {period: rb.periods.get(period).describe("zh-CN")},
                "lapse" if due is None or w.today > due else "before_due",
            ),
        ),
    )
    return {"rulebook_version": rb.version, "trace": trace.to_dict()}
