"""公示 and objections: lodging, ruling, and the end of the public notice.

The same objection machinery serves the statement-and-defence (陈述申辩) of an exit notice.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from db.effects import TenancyRow
from db.tables import AuditEvent
from lifecycle import rulebook as rbook
from lifecycle.errors import GuardFailed, InvalidInput, TransitionNotAllowed
from lifecycle.table import EXIT_NOTICE, PUBLICITY, allowed_triggers
from workflows import rules, windows
from workflows.admission import APPLICATION_DEADLINES
from workflows.commands import EndPublicity, LodgeObjection, RuleOnObjection
from workflows.core import Step, Work
from workflows.exits import confirm_exit, open_case


def lodge_objection(w: Work, cmd: LodgeObjection) -> dict[str, Any]:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    rb = rules.for_tenancy(w, tenancy)
    if tenancy.state == PUBLICITY:
        window_end = w.pending_due_on(tenancy.id, "publicity_end")
        kind = "publicity_objection"
    elif tenancy.state == EXIT_NOTICE:
        window_end = w.pending_due_on(tenancy.id, "objection_window_end")
        kind = "exit_defence"
    else:
        raise TransitionNotAllowed(
            tenancy.id, "lodge_objection", tenancy.state, allowed_triggers(tenancy.state)
        )
    decision = rbook.objection_acceptable(
        rb,
        written=cmd.written,
        named=bool(cmd.by and cmd.by.strip()),
        has_reasons=bool(cmd.grounds.strip()),
        lodged_on=w.today,
        window_end=window_end or w.today,
    )
    data = {
        "kind": kind,
        "by": cmd.by,
        "grounds": cmd.grounds,
        "evidence": cmd.evidence,
        "accepted": decision.passed,
        "trace": decision.trace.to_dict(),
    }
    step = w.record(
        tenancy,
        "lodge_objection",
        actor=cmd.actor,
        reason=None if decision.passed else decision.reason,
        data=data,
    )
    if kind == "exit_defence" and decision.passed:
        case = open_case(w, tenancy.id)
        case.objection = cmd.grounds
        w.session.add(case)
    return {**step.to_dict(), "accepted": decision.passed, "refusal": decision.reason}


def _accepted_objections(w: Work, tenancy: TenancyRow) -> int:

    rows = w.session.exec(
        select(AuditEvent)
        .where(AuditEvent.tenancy_id == tenancy.id, AuditEvent.trigger == "lodge_objection")
        .order_by(col(AuditEvent.seq).desc())
    ).all()
    count = 0
    for event in rows:
        if event.from_state != tenancy.state:
            break
        count += bool(event.data.get("accepted"))
    return count


def rule_on_objection(w: Work, cmd: RuleOnObjection) -> Step:
    tenancy = w.load(cmd, "uphold_objection" if cmd.upheld else "confirm_exit", "uphold_objection")
    if not cmd.reason:
        raise InvalidInput("reason", "a ruling must give its reasons")
    if tenancy.state == PUBLICITY:
        if _accepted_objections(w, tenancy) == 0:
            raise GuardFailed(
                tenancy.id,
                "uphold_objection",
                "no accepted objection has been lodged during this 公示",
            )
        if cmd.upheld:
            w.cancel_deadlines(tenancy.id, *APPLICATION_DEADLINES)
            step = w.transition(tenancy, "uphold_objection", by=cmd)
            w.notify(tenancy, "objection_ruling", context={"upheld": True, "reason": cmd.reason})
            return step
        step = w.record(tenancy, "dismiss_objection", by=cmd)
        w.notify(tenancy, "objection_ruling", context={"upheld": False, "reason": cmd.reason})
        return step
    if cmd.upheld:
        case = open_case(w, tenancy.id)
        case.status, case.ruling = "withdrawn", cmd.reason
        w.session.add(case)
        w.cancel_deadlines(tenancy.id, "objection_window_end")
        step = w.transition(tenancy, "uphold_objection", by=cmd)
        w.notify(tenancy, "exit_ruling", context={"upheld": True, "reason": cmd.reason})
        return step
    # Dismissing the defence decides the exit: not before the 陈述申辩 window ends (the firm
    # may add to its defence until then), unless it waived the window in writing.
    case = open_case(w, tenancy.id)
    waiver = windows.require_ended(
        w, tenancy, "confirm_exit", "objection", case.id, case.objection_due_on
    )
    return confirm_exit(w, tenancy, actor=cmd.actor, reason=cmd.reason, waiver=waiver)


def end_publicity(w: Work, cmd: EndPublicity) -> Step:
    tenancy = w.load(cmd, "admit")
    last = w.pending_due_on(tenancy.id, "publicity_end")
    if last is not None and w.today <= last:
        raise GuardFailed(tenancy.id, "admit", f"公示 runs until {last.isoformat()} inclusive")
    pending = _accepted_objections(w, tenancy)
    if pending and not _objections_ruled(w, tenancy):
        raise GuardFailed(tenancy.id, "admit", "an accepted objection awaits a ruling")
    rb = rules.for_tenancy(w, tenancy)
    due = w.due(w.today, rb.periods.agreement_signing)
    w.cancel_deadlines(tenancy.id, "publicity_end")
    step = w.transition(tenancy, "admit", by=cmd, data={"sign_by": due})
    w.deadline(tenancy, "agreement_lapse", due, key=str(tenancy.audit_seq))
    w.notify(
        tenancy,
        "admitted",
        context={"sign_by": due, "period": rb.periods.agreement_signing.describe()},
    )
    return step


def _objections_ruled(w: Work, tenancy: TenancyRow) -> bool:

    last = w.session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.tenancy_id == tenancy.id,
            col(AuditEvent.trigger).in_(("lodge_objection", "dismiss_objection")),
        )
        .order_by(col(AuditEvent.seq).desc())
    ).first()
    return last is not None and last.trigger == "dismiss_objection"
