"""Exit: notice with proof of service, 陈述申辩, ruling, 腾退, handover, settlement.

Each handler loads what its decision needs (the tenancy, the open exit case, the rulebook,
recorded waivers, benefits and units), lets a pure function of :mod:`workflows.exit_rules`
fill the command's effects, and writes them once.
"""

from __future__ import annotations

from typing import Unpack

from db.cases import ExitCaseRow
from db.effects import TenancyRow
from lifecycle.errors import InvalidInput
from workflows import benefits, exit_rules, rules, windows
from workflows.answers import REQUEST_EXIT
from workflows.commands import (
    BeginExit,
    ConfirmExit,
    EndGraduationPublicity,
    EscalateVacating,
    HandOver,
    ServeExitNotice,
)
from workflows.core import Step, Who, Work
from workflows.exit_rules import GRADUATION_PUBLICITY_END, HANDOVER_ITEMS

__all__ = ["GRADUATION_PUBLICITY_END", "HANDOVER_ITEMS", "case_of", "confirm_exit"]


def case_of(w: Work, tenancy_id: int) -> ExitCaseRow:
    """The tenancy's open exit case, as a record."""
    case = w.uow.cases.open_exit_case(tenancy_id)
    if case is None:
        raise InvalidInput("tenancy_id", "has no open exit case", tenancy_id)
    return case


def serve_exit_notice(w: Work, cmd: ServeExitNotice) -> Step:
    tenancy = w.load(cmd, "serve_exit_notice")
    exit_rules.check_service(cmd.facts, cmd.proof_of_service)
    rb = rules.active_in(w, tenancy.space_id)
    violations = w.uow.cases.uncured(tenancy.id, cmd.grounds)
    curing = windows.curing([v for v in violations if v.status == "open"], w.today)
    return w.decide(
        tenancy,
        exit_rules.serve_exit_notice,
        rb,
        w.calendar,
        fields=cmd.fields(),
        violations=violations,
        waivers=windows.waivers(w, tenancy.id) if curing else [],
        by=cmd,
    )


def confirm_exit(
    w: Work, tenancy: TenancyRow, *, waiver: dict[str, object] | None = None, **who: Unpack[Who]
) -> Step:
    """Decide the exit after the 陈述申辩 window (objection dismissed or none lodged), or
    before it ends on the firm's written ``waiver`` of it (the step names the waiver)."""
    w.require(tenancy, "confirm_exit")
    case = case_of(w, tenancy.id)
    rb = rules.for_tenancy(w, tenancy)
    return w.decide(tenancy, exit_rules.confirm_exit, case, rb, w.calendar, waiver=waiver, **who)


def confirm_exit_cmd(w: Work, cmd: ConfirmExit) -> Step:
    tenancy = w.load(cmd, "confirm_exit")
    case = case_of(w, tenancy.id)
    window_open = case.objection_due_on is not None and w.today <= case.objection_due_on
    waivers = windows.waivers(w, tenancy.id) if window_open else []
    waiver = exit_rules.objection_waiver(tenancy.id, case, w.today, waivers)
    return confirm_exit(w, tenancy, waiver=waiver, by=cmd)


def begin_exit(w: Work, cmd: BeginExit) -> Step:
    graduation = cmd.exit_type == "graduation"
    tenancy = w.load(cmd, "confirm_graduation" if graduation else "begin_exit")
    if cmd.exit_type not in ("graduation", "term_expiry", "voluntary"):
        raise InvalidInput(
            "exit_type",
            "must be graduation, term_expiry or voluntary "
            "(a forced exit begins with an exit notice served)",
            cmd.exit_type,
        )
    if graduation:
        return rules.decide(
            w, tenancy, exit_rules.confirm_graduation, approved=cmd.approved, by=cmd
        )
    requests = (
        w.uow.cases.events(tenancy.id, (REQUEST_EXIT, *exit_rules.CASE_OPENED_BY))
        if cmd.exit_type == "voluntary"
        else []
    )
    return rules.decide(
        w,
        tenancy,
        exit_rules.open_exit,
        trigger="begin_exit",
        exit_type=cmd.exit_type,
        approved=cmd.approved,
        request=exit_rules.pending_request(requests, REQUEST_EXIT),
        by=cmd,
    )


def end_graduation_publicity(w: Work, cmd: EndGraduationPublicity) -> Step:
    tenancy = w.load(cmd, "graduate")
    last = w.uow.cases.pending_due_on(tenancy.id, GRADUATION_PUBLICITY_END)
    confirmations = w.uow.cases.events(tenancy.id, ("confirm_graduation",))
    return rules.decide(
        w,
        tenancy,
        exit_rules.graduate,
        publicity_ends_on=last,
        confirmations=confirmations,
        by=cmd,
    )


def hand_over(w: Work, cmd: HandOver) -> Step:
    exit_rules.check_checklist(cmd.checklist)
    tenancy = w.load(cmd, "hand_over")
    exit_rules.check_handover(tenancy.id, cmd.checklist, cmd.arrears_yuan, cmd.damage_yuan)
    case = case_of(w, tenancy.id)
    rb = rules.for_tenancy(w, tenancy)
    deposit = _deposit(w, tenancy)
    recorded = benefits.recorded(w, tenancy)
    units = w.uow.cases.open_allocations(tenancy.id)
    return w.decide(
        tenancy,
        exit_rules.hand_over,
        case,
        rb,
        w.calendar,
        checklist=cmd.checklist,
        arrears_yuan=cmd.arrears_yuan,
        damage_yuan=cmd.damage_yuan,
        deposit_yuan=deposit,
        benefits=recorded,
        allocations=units,
        by=cmd,
    )


def _deposit(w: Work, tenancy: TenancyRow) -> int:
    """The tenancy's deposit as its agreement and amendments recorded it."""
    return exit_rules.deposit_of(w.uow.cases.events(tenancy.id, exit_rules.DEPOSIT_TRIGGERS))


def escalate_vacating(w: Work, cmd: EscalateVacating) -> Step:
    tenancy = w.load(cmd, "escalate_vacating")
    case = case_of(w, tenancy.id)
    return w.decide(tenancy, exit_rules.escalate_vacating, case, by=cmd)
