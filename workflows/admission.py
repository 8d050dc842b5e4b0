"""Admission: apply, screen, request information, score, approve, 公示, admit, sign.

Each handler loads what its command needs (the tenancy, the application, the panel's scores,
the rulebook), lets the pure function of the same name in :mod:`workflows.applications`
decide, and writes the effects once (``Work.apply``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Concatenate, ParamSpec

from db.effects import Effects, TenancyRow
from db.repositories import ApplicationRow, ScoreRow
from lifecycle import rulebook as rbook
from lifecycle.errors import AlreadyExists, InvalidInput
from lifecycle.table import EVALUATING, STATE_LABELS, TERMINAL
from workflows import admittance, applications, inputs, rules
from workflows.admittance import LAPSES
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

P = ParamSpec("P")


def application_of(w: Work, tenancy_id: int) -> ApplicationRow:
    row = w.uow.admissions.application(tenancy_id)
    if row is None:
        raise InvalidInput("tenancy_id", "has no application on record", tenancy_id)
    return row


def _profile(
    w: Work, tenancy: TenancyRow, application: ApplicationRow, profile: dict[str, Any]
) -> rbook.ApplicationProfile:
    """The application's profile (``profile``: its fields as they will stand), validated."""
    return applications.application_profile(
        rules.for_tenancy(w, tenancy),
        w.firm(tenancy.firm_id),
        track=application.track,
        requested_area_m2=application.requested_area_m2,
        profile=profile,
    )


def _not_founded_later(w: Work, profile: rbook.ApplicationProfile) -> None:
    """A firm founded after today is refused when it applies or corrects its application:
    screening measures the firm's age to its own day and could never take it (the
    application stood there, unscreenable, until the operator asked for a correction)."""
    if profile.founded_on > w.today:
        raise InvalidInput(
            "profile.founded_on",
            "成立日期不得晚于今天 / must not be in the future",
            profile.founded_on,
        )


def _area_requested(profile: rbook.ApplicationProfile) -> None:
    """The area the application is judged on (the profile's, else the command's) is finite,
    > 0 and at most ``inputs.MAX_AREA_M2``: an application for 0 m² is no application."""
    inputs.check_area("requested_area_m2", float(profile.requested_area_m2))


def apply(w: Work, cmd: Apply) -> Step:
    firm = w.firm(cmd.firm)
    space = w.space_row(cmd.space)
    rb = rules.for_space(w, space)
    if cmd.track not in rb.tracks:
        raise InvalidInput("track", f"must be one of {', '.join(rb.tracks)}", cmd.track)
    open_stay = w.uow.admissions.open_tenancy(firm.id, space.id, TERMINAL)
    if open_stay is not None:
        raise AlreadyExists(
            "tenancy",
            f"firm {firm.uscc} in {space.code} (#{open_stay[0]}, {open_stay[1]})",
            zh=f"企业 {firm.uscc} 在空间 {space.code} 已有入驻记录 {open_stay[0]}"
            f"（{STATE_LABELS.get(open_stay[1], (open_stay[1],))[0]}）",
        )
    # A bad profile is refused at the door, before the tenancy is created.
    if cmd.json_typed:
        applications.check_json_profile(rb, cmd.profile)
    profile = applications.application_profile(
        rb, firm, track=cmd.track, requested_area_m2=cmd.requested_area_m2, profile=cmd.profile
    )
    _not_founded_later(w, profile)
    _area_requested(profile)
    # 0 is the command's "not given": the area applied for is then the one the profile states.
    area = inputs.check_area(
        "requested_area_m2", cmd.requested_area_m2 or float(profile.requested_area_m2)
    )
    # Its events hash its id: the tenancy is decided with the id the writer inserts it with.
    tenancy = applications.new_tenancy(
        w.uow.ids.next("tenancies"),
        firm,
        space,
        track=cmd.track,
        rulebook_version=rb.version,
        now=w.now,
    )
    effects = Effects.create(tenancy, now=w.now, today=w.today)
    step, _ = applications.apply(effects, requested_area_m2=area, profile=cmd.profile, by=cmd)
    w.apply(effects)
    return step


def screen(w: Work, cmd: Screen) -> Step:
    tenancy = w.load(cmd, "screen_out" if cmd.reject else "screen_in")
    if cmd.reject:
        return w.decide(tenancy, applications.screen_out, by=cmd)
    application = application_of(w, tenancy.id)
    rb = rules.active_in(w, tenancy.space_id)
    profile = _profile(w, tenancy, application, application.profile)
    exits = w.uow.admissions.forced_exits(tenancy.firm_id)
    barred = applications.reapply_barred_until(rb, w.calendar, exits) if exits else None
    return w.decide(
        tenancy,
        applications.screen,
        application,
        rb,
        profile,
        barred_until=barred,
        by=cmd,
    )


def request_info(w: Work, cmd: RequestInfo) -> Step:
    tenancy = w.load(cmd, "request_info")
    if not cmd.items.strip():
        raise InvalidInput("items", "say which information is missing")
    return rules.decide(w, tenancy, applications.request_info, items=cmd.items, by=cmd)


def resubmit(w: Work, cmd: Resubmit) -> Step:
    tenancy = w.load(cmd, "resubmit")
    application = application_of(w, tenancy.id)
    if cmd.json_typed:
        applications.check_json_profile(rules.for_tenancy(w, tenancy), cmd.profile)
    profile = _profile(w, tenancy, application, {**application.profile, **cmd.profile})
    _not_founded_later(w, profile)
    _area_requested(profile)
    return w.decide(tenancy, applications.resubmit, application, cmd.profile, by=cmd)


def score_application(w: Work, cmd: ScoreApplication) -> Step:
    tenancy = w.load_for(cmd, "score", (EVALUATING,))
    rb = rules.for_tenancy(w, tenancy)
    return w.decide(
        tenancy,
        applications.score,
        rb,
        reviewer=cmd.reviewer,
        scores=cmd.scores,
        conflict_of_interest=cmd.conflict_of_interest,
        scored=w.uow.admissions.reviewer_scores(tenancy.id),
        by=cmd,
    )


def approve(w: Work, cmd: Approve) -> Step:
    tenancy = w.load(cmd, "approve")
    scores = w.uow.admissions.reviewer_scores(tenancy.id)
    return rules.decide(w, tenancy, applications.approve, scores, by=cmd)


def reject(w: Work, cmd: Reject) -> Step:
    tenancy = w.load(cmd, "reject")
    return _on_scores(w, tenancy, applications.reject, by=cmd)


def reject_without_panel(w: Work, cmd: RejectWithoutPanel) -> Step:
    """An operator's named decision to reject while no valid panel has scored."""
    tenancy = w.load(cmd, "reject_without_panel")
    return _on_scores(w, tenancy, applications.reject_without_panel, grounds=cmd.grounds, by=cmd)


def _on_scores(
    w: Work,
    tenancy: TenancyRow,
    decision: Callable[Concatenate[Effects, rbook.Rulebook, Sequence[ScoreRow], P], Step],
    *args: P.args,
    **kwargs: P.kwargs,
) -> Step:
    """Decide on the panel's scores so far, under the tenancy's rulebook."""
    rb = rules.for_tenancy(w, tenancy)
    scores = w.uow.admissions.reviewer_scores(tenancy.id)
    return w.decide(tenancy, decision, rb, scores, *args, **kwargs)


def withdraw(w: Work, cmd: Withdraw) -> Step:
    tenancy = w.load(cmd, "withdraw")
    return w.decide(tenancy, admittance.withdraw, by=cmd)


def lapse(w: Work, cmd: Lapse) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    trace: dict[str, Any] = {}
    if tenancy.state in LAPSES:  # the time limit that ran out, read before the transition
        kind = LAPSES[tenancy.state][0]
        trace = admittance.lapse_trace(
            tenancy.state,
            rules.for_tenancy(w, tenancy),
            due_on=w.uow.admissions.pending_due_on(tenancy.id, kind),
            today=w.today,
        )
    return w.decide(tenancy, admittance.lapse, trace, by=cmd)
