"""An application decided as data: what applying, screening, scoring, approving and
rejecting write.

Each function here is pure: it takes what the command loaded (the tenancy as an
:class:`~db.effects.Effects` to fill, the application, the panel's scores, the rulebook, the
calendar, today) and adds the effects — the transition and its audit event, the rows, the
deadlines with their dedupe keys, the notices with their wording. The handlers in
``workflows.admission`` load, call one of these, and hand the effects to the one writer.
The 公示, the agreement, and leaving before admission follow in :mod:`workflows.admittance`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Unpack

from pydantic import ValidationError

from db.effects import Effects, Party, Ref, StepResult, TenancyRow
from db.registry import SpaceRow
from db.repositories import ApplicationRow, FirmRow, ForcedExitRow, ScoreRow
from lifecycle import rulebook as rbook
from lifecycle.audit import GENESIS
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import AlreadyExists, GuardFailed, InvalidInput
from lifecycle.machine import Facts
from lifecycle.table import APPLIED
from lifecycle.validation_words import said
from workflows.core import Who, acting
from workflows.identity import actor_name

APPLICATION_DEADLINES = ("info_request_lapse", "publicity_end", "agreement_lapse")
# Names of the operator role and the scheduler: a decision taken without a valid panel must
# name the person who takes it.
UNNAMED_ACTORS = frozenset({"", "operator", "system", "firm"})


# ---- the facts an application is judged on ----------------------------------------------------
def application_profile(
    rb: rbook.Rulebook,
    firm: FirmRow,
    *,
    track: str,
    requested_area_m2: float,
    profile: Mapping[str, Any],
) -> rbook.ApplicationProfile:
    """The firm's and the application's facts as a profile; refused with every problem at
    once (each with its field, expected type and unit) when they do not make one."""
    data: dict[str, Any] = {
        "uscc": firm.uscc,
        "name": firm.name,
        "industry": firm.industry,
        "track": track,
        "requested_area_m2": requested_area_m2,
    }
    if firm.founded_on is not None:
        data["founded_on"] = firm.founded_on
    data.update(profile)
    try:
        return rbook.ApplicationProfile.model_validate(data)
    except ValidationError as err:
        from workflows import forms  # imported here: forms imports the admission handlers

        base = {key: value for key, value in data.items() if key not in profile}
        problems = forms.check_profile(rb, dict(profile), firm=base)
        if problems:
            raise forms.FormProblems("profile", problems) from err
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "profile"
        raise InvalidInput(f"profile.{field}", said(first)) from err


def check_json_profile(rb: rbook.Rulebook, profile: Mapping[str, Any]) -> None:
    """A profile sent as a JSON body (the API's): every number a JSON number, every yes/no
    JSON ``true`` or ``false`` (``"80"`` is a client's bug, refused naming its field); the
    profile's other rules follow in :func:`application_profile`."""
    from workflows import forms  # imported here: forms imports the admission handlers

    problems = forms.json_typed_problems(forms.profile_fields(rb), profile)
    if problems:
        named = [replace(p, field=f"profile.{p.field}") for p in problems]
        raise forms.FormProblems("profile", named)


def reapply_barred_until(
    rb: rbook.Rulebook, calendar: WorkCalendar, exits: Sequence[ForcedExitRow]
) -> date | None:
    """The end of a re-application bar from an earlier fraud exit of the firm, if any."""
    latest: date | None = None
    for case in exits:
        bar = rbook.reapply_bar(rb, case.grounds)
        if bar is None:
            continue
        start = calendar.local_date(case.handed_over_at or case.served_at or case.created_at)
        until = (
            calendar.add_months(start, bar.amount)
            if bar.unit == "months"
            else start + timedelta(days=bar.amount)
        )
        latest = until if latest is None or until > latest else latest
    return latest


def panel(rb: rbook.Rulebook, scores: Sequence[ScoreRow]) -> rbook.ScoringDecision:
    """The panel's scoring (InvalidInput on ``reviewers`` while it is not a valid panel)."""
    inputs = [
        rbook.ReviewerScoreInput(
            reviewer=s.reviewer, conflict_of_interest=s.conflict_of_interest, scores=s.scores
        )
        for s in scores
    ]
    return rbook.score_application(rb, inputs)


def valid_panel(
    tenancy_id: int, rb: rbook.Rulebook, scores: Sequence[ScoreRow], trigger: str
) -> rbook.ScoringDecision:
    """The panel's scoring; refused (GuardFailed) while fewer than the rulebook's minimum of
    reviewers without a conflict of interest have scored: approval and rejection alike."""
    try:
        return panel(rb, scores)
    except InvalidInput as err:
        if err.field != "reviewers":
            raise
        zh, _, en = err.rule.partition(" / ")
        raise GuardFailed(
            tenancy_id,
            trigger,
            f"评审小组不足：{zh} / no valid panel: {en}"
            + (
                "; 未经有效评审小组不予通过须由经办人署名决定 / a rejection without one is a "
                "named operator's decision: `reject N --without-panel --actor NAME --grounds TEXT`"
                if trigger == "reject"
                else ""
            ),
        ) from None


# ---- apply and screen -------------------------------------------------------------------------
def new_tenancy(
    tenancy_id: int,
    firm: FirmRow,
    space: SpaceRow,
    *,
    track: str,
    rulebook_version: str,
    now: datetime,
) -> TenancyRow:
    """A firm's new stay in a space, as applying creates it (``tenancy_id``: the id handed
    out for it), with the parties its notices quote."""
    tenancy = TenancyRow(
        id=tenancy_id,
        firm_id=firm.id,
        space_id=space.id,
        state=APPLIED,
        version=1,
        track=track,
        term_start=None,
        term_end=None,
        rulebook_version=rulebook_version,
        score=None,
        priority=False,
        audit_seq=0,
        audit_head=GENESIS,
        created_at=now,
        updated_at=now,
    )
    tenancy.party = Party(
        firm_id=firm.id,
        name=firm.name,
        uscc=firm.uscc,
        contact_name=firm.contact_name,
        contact_email=firm.contact_email,
        account_manager=firm.account_manager,
        locale=firm.locale,
        space_code=space.code,
        space_name=space.name,
        space_rulebook_version=space.rulebook_version,
    )
    return tenancy


def apply(
    e: Effects, *, requested_area_m2: float, profile: Mapping[str, Any], **who: Unpack[Who]
) -> tuple[StepResult, Ref]:
    """A new tenancy's application (``e``: :meth:`Effects.create` of :func:`new_tenancy`):
    the application's row, the first event (naming the firm and the space of the tenancy's
    party), the "received" notice."""
    actor, reason = acting(who)
    t = e.tenancy
    assert t.party is not None  # new_tenancy gives it the firm and the space
    application = e.insert(
        "applications",
        tenancy_id=t.id,
        track=t.track,
        requested_area_m2=requested_area_m2,
        profile=dict(profile),
        submitted_at=e.now,
        decision={},
    )
    data = {"firm": t.party.uscc, "space": t.party.space_code, "track": t.track}
    e.begin("apply", APPLIED, actor=actor, reason=reason, data=data)
    e.notify("application_received", context={"track": t.track})
    return StepResult(t.id, "apply", None, APPLIED, e.new_version), application


def screen_out(e: Effects, **who: Unpack[Who]) -> StepResult:
    """An operator's rejection at screening (the reason is the operator's)."""
    actor, reason = acting(who)
    if not reason:
        raise InvalidInput("reason", "an operator's rejection must give its reason")
    step = e.transition("screen_out", actor=actor, reason=reason)
    e.notify("screening_result", context={"passed": False, "reason": reason, "failures": []})
    return step


def screen(
    e: Effects,
    application: ApplicationRow,
    rb: rbook.Rulebook,
    profile: rbook.ApplicationProfile,
    *,
    barred_until: date | None,
    **who: Unpack[Who],
) -> StepResult:
    """The hard requirements checked (``barred_until``: the end of a re-application bar):
    on to evaluation, or rejected naming each failure. The application is decided under the
    rulebook that screened it from here on."""
    actor, reason = acting(who)
    decision = rbook.evaluate_hard_requirements(
        rb, profile, on=e.today, reapply_barred_until=barred_until
    )
    trace = decision.trace.to_dict()
    e.update(
        "applications",
        application.id,
        decision={"screening": trace, "rulebook_version": rb.version},
    )
    failures = [
        {"id": f.id, "label_zh": f.label_zh, "label_en": f.label_en} for f in decision.failures
    ]
    data = {"rulebook_version": rb.version, "trace": trace, "failures": failures}
    trigger = "screen_in" if decision.passed else "screen_out"
    e.set(rulebook_version=rb.version)
    reason = reason or ("; ".join(f"{f['id']} {f['label_zh']}" for f in failures) or None)
    step = e.transition(trigger, actor=actor, reason=reason, data=data)
    e.notify(
        "screening_result",
        context={"passed": decision.passed, "failures": failures, "reason": reason},
    )
    return step


def request_info(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    items: str,
    **who: Unpack[Who],
) -> StepResult:
    """Ask for missing information, due within the rulebook's response period."""
    actor, reason = acting(who)
    if not items.strip():
        raise InvalidInput("items", "say which information is missing")
    due = calendar.due_date(e.today, rb.periods.info_request_response)
    step = e.transition(
        "request_info", actor=actor, reason=reason, data={"items": items, "due_on": due}
    )
    key = str(e.tenancy.audit_seq)
    e.deadline("info_request_lapse", due, calendar.due_instant(due), key=key)
    e.notify("info_requested", context={"items": items, "due_on": due})
    return step


def resubmit(
    e: Effects,
    application: ApplicationRow,
    changes: Mapping[str, Any],
    **who: Unpack[Who],
) -> StepResult:
    """The firm's answer: the changed profile fields (validated by the caller), back to
    screening; the lapse is moot."""
    actor, reason = acting(who)
    step = e.transition("resubmit", actor=actor, reason=reason, data={"changed": sorted(changes)})
    e.update("applications", application.id, profile={**application.profile, **changes})
    e.cancel("info_request_lapse")
    return step


# ---- the panel ----------------------------------------------------------------------------------
def score(
    e: Effects,
    rb: rbook.Rulebook,
    *,
    reviewer: str,
    scores: Mapping[str, Any],
    conflict_of_interest: bool,
    scored: Sequence[ScoreRow],
    **who: Unpack[Who],
) -> StepResult:
    """One reviewer's scores (criteria and bands checked against the rulebook); ``scored``:
    the panel's scores so far (a reviewer scores once)."""
    actor, reason = acting(who)
    if not reviewer.strip():
        raise InvalidInput("reviewer", "must name the reviewer")
    total = rbook.reviewer_total(rb, scores)
    if any(s.reviewer == reviewer for s in scored):
        raise AlreadyExists(
            "score",
            f"by {reviewer} for tenancy {e.tenancy.id}",
            zh=f"评审专家 {reviewer} 已为入驻记录 {e.tenancy.id} 评分",
        )
    e.insert(
        "reviewer_scores",
        tenancy_id=e.tenancy.id,
        reviewer=reviewer,
        conflict_of_interest=conflict_of_interest,
        scores=dict(scores),
        total=total,
        created_at=e.now,
    )
    data = {"reviewer": reviewer, "total": total, "conflict_of_interest": conflict_of_interest}
    return e.record("score", actor=actor, reason=reason, data=data)


def approve(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    scores: Sequence[ScoreRow],
    **who: Unpack[Who],
) -> StepResult:
    """Approved on the panel's scores (the table's guard checks the pass line): the 公示
    opens today and runs for the rulebook's period."""
    actor, reason = acting(who)
    scoring = valid_panel(e.tenancy.id, rb, scores, "approve")
    e.set(score=scoring.mean, priority=scoring.priority)
    first = e.today
    last = calendar.due_date(first, rb.periods.publicity)
    step = e.transition(
        "approve",
        actor=actor,
        reason=reason,
        facts=Facts(e.tenancy.state, score_passed=scoring.passed),
        data={
            "score": scoring.mean,
            "priority": scoring.priority,
            "publicity_from": first,
            "publicity_to": last,
            "rulebook_version": rb.version,
            "trace": scoring.trace.to_dict(),
        },
    )
    key = str(e.tenancy.audit_seq)
    e.deadline("publicity_end", last, calendar.due_instant(last), key=key)
    e.notify(
        "scoring_result",
        context={"score": scoring.mean, "passed": True, "priority": scoring.priority},
    )
    e.notify(
        "publicity_start",
        context={"from": first, "to": last, "period": rb.periods.publicity.describe()},
    )
    return step


def reject(
    e: Effects,
    rb: rbook.Rulebook,
    scores: Sequence[ScoreRow],
    **who: Unpack[Who],
) -> StepResult:
    """Rejected on the panel's scores."""
    actor, reason = acting(who)
    scoring = valid_panel(e.tenancy.id, rb, scores, "reject")
    e.set(score=scoring.mean)
    data = {"score": scoring.mean, "trace": scoring.trace.to_dict()}
    step = e.transition("reject", actor=actor, reason=reason, data=data)
    e.notify("scoring_result", context={"score": scoring.mean, "passed": False, "reason": reason})
    return step


def reject_without_panel(
    e: Effects,
    rb: rbook.Rulebook,
    scores: Sequence[ScoreRow],
    *,
    grounds: str,
    **who: Unpack[Who],
) -> StepResult:
    """An operator's named decision to reject while no valid panel has scored."""
    actor, reason = acting(who)
    if actor_name(actor).strip().lower() in UNNAMED_ACTORS:
        raise InvalidInput(
            "actor", "name the operator who takes this decision (--actor NAME)", actor
        )
    grounds = grounds.strip()
    if not grounds:
        raise InvalidInput("grounds", "a rejection without a valid panel must state its grounds")
    try:
        panel(rb, scores)
    except InvalidInput as err:
        if err.field != "reviewers":
            raise
        shortfall = err.rule
    else:
        raise GuardFailed(
            e.tenancy.id,
            "reject_without_panel",
            "a valid panel has scored: decide with `approve` or `reject`",
        )
    minimum = rb.admission.scoring.min_reviewers
    data = {
        "decided_by": actor_name(actor),
        "grounds": grounds,
        "panel": shortfall,
        "min_reviewers": minimum,
        "rulebook_version": rb.version,
    }
    step = e.transition("reject_without_panel", actor=actor, reason=reason, data=data)
    e.notify(
        "rejection_without_panel",
        context={
            "decided_by": actor_name(actor),
            "grounds": grounds,
            "min_reviewers": minimum,
            "reason": reason,
        },
    )
    return step
