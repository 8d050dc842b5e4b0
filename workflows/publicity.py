"""公示 and objections: lodging, ruling, and the end of the public notice.

The same objection machinery serves the statement-and-defence (陈述申辩) of an exit notice.
Lodging, a ruling during the 公示 and its end are decided by the pure functions of
:mod:`workflows.admittance`; dismissing an exit defence decides the exit (``workflows.exits``).
"""

from __future__ import annotations

from typing import Any

from db.effects import TenancyRow
from lifecycle.errors import InvalidInput
from lifecycle.table import EXIT_NOTICE, PUBLICITY
from workflows import admittance, rules, windows
from workflows.commands import EndPublicity, LodgeObjection, RuleOnObjection
from workflows.core import Step, Work
from workflows.exits import case_of, confirm_exit


def lodge_objection(w: Work, cmd: LodgeObjection) -> dict[str, Any]:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    rb = rules.for_tenancy(w, tenancy)
    window = admittance.OBJECTION_WINDOWS.get(tenancy.state)
    window_end = w.uow.admissions.pending_due_on(tenancy.id, window[0]) if window else None
    case = w.uow.cases.open_exit_case(tenancy.id) if tenancy.state == EXIT_NOTICE else None
    step, decision = w.decide(
        tenancy,
        admittance.lodge_objection,
        rb,
        window_end=window_end,
        open_case=case.id if case is not None else None,
        written=cmd.written,
        by=cmd.by,
        grounds=cmd.grounds,
        evidence=cmd.evidence,
        actor=cmd.actor,
    )
    return {**step.to_dict(), "accepted": decision.passed, "refusal": decision.reason}


def _accepted_objections(w: Work, tenancy: TenancyRow) -> int:
    """Accepted objections lodged since the tenancy entered its state (the sweeps ask)."""
    events = w.uow.admissions.objections(tenancy.id)
    return admittance.accepted_objections(tenancy.state, events)


def rule_on_objection(w: Work, cmd: RuleOnObjection) -> Step:
    tenancy = w.load(cmd, "uphold_objection" if cmd.upheld else "confirm_exit", "uphold_objection")
    if not cmd.reason:
        raise InvalidInput("reason", "a ruling must give its reasons")
    if tenancy.state == PUBLICITY:
        events = w.uow.admissions.objections(tenancy.id)
        return w.decide(
            tenancy, admittance.rule_on_publicity_objection, events, upheld=cmd.upheld, by=cmd
        )
    case = case_of(w, tenancy.id)
    if cmd.upheld:
        return w.decide(
            tenancy, admittance.uphold_exit_defence, case.id, actor=cmd.actor, reason=cmd.reason
        )
    # Dismissing the defence decides the exit: not before the 陈述申辩 window ends (the firm
    # may add to its defence until then), unless it waived the window in writing.
    waiver = windows.require_ended(
        w, tenancy, "confirm_exit", "objection", case.id, case.objection_due_on
    )
    return confirm_exit(w, tenancy, waiver=waiver, by=cmd)


def end_publicity(w: Work, cmd: EndPublicity) -> Step:
    tenancy = w.load(cmd, "admit")
    admissions = w.uow.admissions
    last_day = admissions.pending_due_on(tenancy.id, "publicity_end")
    events = admissions.objections(tenancy.id)
    return rules.decide(
        w, tenancy, admittance.end_publicity, last_day=last_day, objections=events, by=cmd
    )
