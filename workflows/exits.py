"""Exit: notice with proof of service, 陈述申辩, ruling, 腾退, handover, settlement."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from db.effects import TenancyRow
from db.tables import Allocation, ExitCase, Unit
from lifecycle import rulebook as rbook
from lifecycle.errors import GuardFailed, InvalidInput
from workflows import benefits, reviews, rules, windows
from workflows.commands import (
    BeginExit,
    ConfirmExit,
    EndGraduationPublicity,
    EscalateVacating,
    HandOver,
    ServeExitNotice,
)
from workflows.core import Acting, Step, Work
from workflows.reviews import RESIDENCY_DEADLINES

HANDOVER_ITEMS = ("meters", "keys", "access_cards", "premises_restored")
GRADUATION_PUBLICITY_END = "graduation_publicity_end"  # the deadline that ends the 公示


def open_case(w: Work, tenancy_id: int) -> ExitCase:
    case = w.open_row(ExitCase, tenancy_id)
    if case is None:
        raise InvalidInput("tenancy_id", "has no open exit case", tenancy_id)
    return case


def open_forced_case(
    w: Work,
    tenancy: TenancyRow,
    rb: rbook.Rulebook,
    *,
    grounds: str,
    actor: str,
    facts: str,
    proof_of_service: str,
) -> int:
    """Open a forced-exit case for a tenancy already moved to ``exit_notice`` (see
    :func:`workflows.reviews.open_forced_case`); the case's id comes back."""
    del actor  # the case is the transition's consequence: its event names the actor
    effects = w.effects(tenancy)
    case = reviews.open_forced_case(
        effects, rb, w.calendar, grounds=grounds, facts=facts, proof_of_service=proof_of_service
    )
    w.apply(effects)
    assert case.id is not None
    return case.id


def serve_exit_notice(w: Work, cmd: ServeExitNotice) -> Step:
    tenancy = w.load(cmd, "serve_exit_notice")
    if not cmd.facts.strip():
        raise InvalidInput("facts", "record the facts and evidence before serving notice")
    if not cmd.proof_of_service.strip():
        raise InvalidInput("proof_of_service", "record how the notice was served")
    rb = rules.active_in(w, tenancy.space_id)
    rbook.exit_trigger(rb, cmd.grounds)  # unknown grounds are refused before anything changes
    # A violation of these grounds still in its cure period: no notice before it ends, unless
    # the firm waived it in writing; served, the violation is escalated.
    curing = windows.open_cure(w, tenancy.id, cmd.grounds)
    cure_waivers = [
        windows.require_ended(w, tenancy, "serve_exit_notice", "cure", v.id, v.cure_due_on)
        for v in curing
    ]
    # The case's 陈述申辩 window, as reviews.open_forced_case computes it: carried in the event
    # so that `audit verify` can check the case row against it.
    objection_due = w.calendar.due_date(w.today, rb.periods.objection_window)
    with rules.decided_under(w, tenancy, rb):
        step = w.transition(
            tenancy,
            "serve_exit_notice",
            by=cmd,
            data={
                **cmd.fields(),
                "rulebook_version": rb.version,
                "objection_due_on": objection_due,
                **({"waivers": cure_waivers} if cure_waivers else {}),
            },
        )
    for violation in curing:
        violation.status = "escalated"
        w.session.add(violation)
    open_forced_case(
        w,
        tenancy,
        rb,
        grounds=cmd.grounds,
        actor=cmd.actor,
        facts=cmd.facts,
        proof_of_service=cmd.proof_of_service,
    )
    return step


def confirm_exit(
    w: Work,
    tenancy: TenancyRow,
    *,
    actor: str,
    reason: str | None,
    waiver: dict[str, Any] | None = None,
) -> Step:
    """Decide the exit after the 陈述申辩 window (objection dismissed or none lodged), or
    before it ends on the firm's written ``waiver`` of it (the step names the waiver)."""
    w.require(tenancy, "confirm_exit")
    case = open_case(w, tenancy.id)
    rb = rules.for_tenancy(w, tenancy)
    period = rbook.vacate_period(rb, "forced", case.grounds)
    due = w.due(w.today, period)
    case.ruling = reason or "陈述申辩期满，维持退出决定"
    case.vacate_due_on = due
    w.session.add(case)
    w.cancel_deadlines(tenancy.id, "objection_window_end")
    step = w.transition(
        tenancy,
        "confirm_exit",
        actor=actor,
        reason=case.ruling,
        data={
            "exit_case": case.id,
            "vacate_due_on": due,
            **({"waiver": waiver} if waiver is not None else {}),
        },
    )
    w.deadline(tenancy, "vacate_due", due, subject_id=case.id)
    w.notify(
        tenancy,
        "exit_ruling",
        context={
            "upheld": False,
            "reason": case.ruling,
            "vacate_due_on": due,
            "period": period.describe(),
            "grounds": case.grounds,
            "facts": case.facts,
            "objection": case.objection,
            "grounds_zh": (trig := rbook.exit_trigger(rb, case.grounds or "")).label_zh,
            "grounds_en": trig.label_en,
            **reviews.exit_ground_rule(rb, trig),
        },
    )
    return step


def confirm_exit_cmd(w: Work, cmd: ConfirmExit) -> Step:
    tenancy = w.load(cmd, "confirm_exit")
    case = open_case(w, tenancy.id)
    waiver = windows.require_ended(
        w, tenancy, "confirm_exit", "objection", case.id, case.objection_due_on
    )
    if case.objection:
        raise GuardFailed(
            tenancy.id,
            "confirm_exit",
            "a defence was lodged: rule on it with `rule --upheld/--dismissed`",
        )
    return confirm_exit(w, tenancy, actor=cmd.actor, reason=cmd.reason, waiver=waiver)


def begin_exit(w: Work, cmd: BeginExit) -> Step:
    graduation = cmd.exit_type == "graduation"
    tenancy = w.load(cmd, "confirm_graduation" if graduation else "begin_exit")
    if cmd.exit_type not in ("graduation", "term_expiry", "voluntary"):
        raise InvalidInput(
            "exit_type",
            "must be graduation, term_expiry or voluntary "
            "(forced exits are served with exit-notice)",
            cmd.exit_type,
        )
    if graduation:
        return confirm_graduation(w, tenancy, cmd)
    return _open_exit(w, tenancy, "begin_exit", cmd.exit_type, cmd.approved, cmd)


def _open_exit(
    w: Work, tenancy: TenancyRow, trigger: str, exit_type: str, approved: bool, cmd: Acting
) -> Step:
    """Move to vacating with an exit case, its vacate deadline and the firm's notice."""
    rb = rules.for_tenancy(w, tenancy)
    period = rbook.vacate_period(rb, exit_type, None)
    due = w.due(w.today, period)
    case = ExitCase(
        tenancy_id=tenancy.id,
        exit_type=exit_type,
        facts=cmd.reason,
        vacate_due_on=due,
        rulebook_version=rb.version,
        created_at=w.now,
        settlement={"approved": approved},
    )
    step = w.transition(
        tenancy,
        trigger,
        by=cmd,
        data={"exit_type": exit_type, "approved": approved, "vacate_due_on": due},
    )
    w.session.add(case)
    w.session.flush()
    w.cancel_deadlines(tenancy.id, *RESIDENCY_DEADLINES)
    w.deadline(tenancy, "vacate_due", due, subject_id=case.id)
    message = "graduation" if exit_type == "graduation" else "exit_confirmed"
    context = {
        "exit_type": exit_type,
        "vacate_due_on": due,
        "period": period.describe(),
        "approved": approved,
    }
    w.notify(tenancy, message, context=context)
    if exit_type == "graduation":
        w.notify(tenancy, "graduation_publicity_end", context=context, audience="operators")
    return step


def confirm_graduation(w: Work, tenancy: TenancyRow, cmd: BeginExit) -> Step:
    """The operator verified the graduation: its 公示 (rulebook ``graduation_publicity``)
    starts today; the sweep ends it and the graduation exit begins then."""
    rb = rules.for_tenancy(w, tenancy)
    period = rb.periods.graduation_publicity
    first = w.today
    last = w.due(first, period)
    step = w.transition(
        tenancy,
        "confirm_graduation",
        by=cmd,
        data={
            "exit_type": "graduation",
            "approved": cmd.approved,
            "publicity_from": first,
            "publicity_to": last,
            "rulebook_version": rb.version,
        },
    )
    w.cancel_deadlines(tenancy.id, *RESIDENCY_DEADLINES)
    w.deadline(tenancy, GRADUATION_PUBLICITY_END, last, key=str(tenancy.audit_seq))
    context = {"from": first, "to": last, "period": period.describe(), "reason": cmd.reason}
    w.notify(tenancy, "graduation_publicity_start", context=context)
    w.notify(tenancy, "graduation_publicity_start", context=context, audience="operators")
    return step


def end_graduation_publicity(w: Work, cmd: EndGraduationPublicity) -> Step:
    tenancy = w.load(cmd, "graduate")
    last = w.pending_due_on(tenancy.id, GRADUATION_PUBLICITY_END)
    if last is not None and w.today <= last:
        raise GuardFailed(
            tenancy.id, "graduate", f"毕业公示 runs until {last.isoformat()} inclusive"
        )
    w.cancel_deadlines(tenancy.id, GRADUATION_PUBLICITY_END)
    return _open_exit(w, tenancy, "graduate", "graduation", _graduation_approved(w, tenancy), cmd)


def _graduation_approved(w: Work, tenancy: TenancyRow) -> bool:
    from db.tables import AuditEvent

    event = w.session.exec(
        select(AuditEvent)
        .where(AuditEvent.tenancy_id == tenancy.id, AuditEvent.trigger == "confirm_graduation")
        .order_by(col(AuditEvent.seq).desc())
    ).first()
    return bool(event.data.get("approved", True)) if event is not None else True


def hand_over(w: Work, cmd: HandOver) -> Step:
    tenancy = w.load(cmd, "hand_over")
    missing = [item for item in HANDOVER_ITEMS if not cmd.checklist.get(item)]
    if missing:
        raise GuardFailed(
            tenancy.id, "hand_over", f"handover checklist incomplete: {', '.join(missing)}"
        )
    if cmd.arrears_yuan < 0 or cmd.damage_yuan < 0:
        raise InvalidInput(
            "arrears_yuan" if cmd.arrears_yuan < 0 else "damage_yuan", "must not be negative"
        )
    case = open_case(w, tenancy.id)
    rb = rules.for_tenancy(w, tenancy)
    deposit = _deposit(w, tenancy)
    settlement = rbook.settle(
        rb,
        exit_type=case.exit_type,
        grounds=case.grounds,
        approved=bool(case.settlement.get("approved", True)),
        deposit_yuan=deposit,
        arrears_yuan=cmd.arrears_yuan,
        damage_yuan=cmd.damage_yuan,
        benefits=benefits.recorded(w, tenancy),
        exit_on=w.today,
    )
    allocations = w.session.exec(
        select(Allocation).where(
            Allocation.tenancy_id == tenancy.id, col(Allocation.end_on).is_(None)
        )
    ).all()
    for alloc in allocations:
        alloc.end_on = w.today
        unit = w.session.get(Unit, alloc.unit_id)
        assert unit is not None
        unit.status = "available"  # lettable again only now that handover is signed off
        w.session.add_all([alloc, unit])
    case.checklist = dict(cmd.checklist)
    case.handed_over_at = w.now
    case.settlement = {**case.settlement, **settlement.to_dict()}
    case.status = "closed"
    w.session.add(case)
    w.cancel_deadlines(tenancy.id, "vacate_due")
    move_out = w.due(w.today, rb.periods.registration_move_out)
    step = w.transition(
        tenancy,
        "hand_over",
        by=cmd,
        data={
            "exit_case": case.id,
            "checklist": dict(cmd.checklist),
            "settlement": settlement.to_dict(),
            "registration_move_out_by": move_out,
        },
    )
    w.notify(
        tenancy,
        "handover_settlement",
        context={
            "settlement": {k: v for k, v in settlement.to_dict().items() if k != "trace"},
            "registration_move_out_by": move_out,
            "claim_by": w.due(w.today, rb.periods.deposit_claim),
            "exit_type": case.exit_type,
        },
    )
    return step


def _deposit(w: Work, tenancy: TenancyRow) -> int:
    from db.tables import AuditEvent

    events = w.session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.tenancy_id == tenancy.id,
            col(AuditEvent.trigger).in_(("sign", "amend_agreement")),
        )
        .order_by(col(AuditEvent.seq).desc())
    ).all()
    for event in events:  # the newest amendment that set it, else the agreement's
        if "deposit_yuan" in event.data:
            return int(event.data["deposit_yuan"])
    return 0


def escalate_vacating(w: Work, cmd: EscalateVacating) -> Step:
    tenancy = w.load(cmd, "escalate_vacating")
    case = open_case(w, tenancy.id)
    step = w.transition(
        tenancy,
        "escalate_vacating",
        by=cmd,
        data={"exit_case": case.id, "vacate_due_on": case.vacate_due_on},
    )
    context: dict[str, Any] = {"vacate_due_on": case.vacate_due_on}
    w.notify(tenancy, "vacate_overdue", context=context)
    w.notify(tenancy, "vacate_overdue", context=context, audience="manager")
    return step
