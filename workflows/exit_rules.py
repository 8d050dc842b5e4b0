"""The exit decided as data: what serving notice, ruling, beginning an exit, the graduation's
公示, handover and escalation write.

Each function here is pure, as in :mod:`workflows.reviews`: it takes what the command loaded
(the tenancy as an :class:`~db.effects.Effects` to fill, the open exit case, the rulebook, the
calendar, the recorded waivers and benefits) and adds the transition with its audit event, the
rows, the deadlines and the notices. ``workflows.exits`` loads, calls one of them and hands the
effects to the writer once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Unpack

from db.cases import AllocationRow, EventRow, ExitCaseRow, ViolationRow
from db.effects import Effects, StepResult
from lifecycle import rulebook as rbook
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import GuardFailed, InvalidInput
from lifecycle.rulebook.model_exit import RAISED_BY_ENGINE
from workflows import reviews, windows
from workflows.core import Who, acting
from workflows.quarterly_rules import QUARTERLY_DEADLINES
from workflows.reviews import RESIDENCY_DEADLINES
from workflows.vocabulary import HANDOVER

HANDOVER_ITEMS = ("meters", "keys", "access_cards", "premises_restored")
GRADUATION_PUBLICITY_END = "graduation_publicity_end"  # the deadline that ends the 公示
CONFIRMED_RULING = "陈述申辩期满，维持退出决定"
DEPOSIT_TRIGGERS = ("sign", "amend_agreement")


# ---- forced exit: notice and ruling ------------------------------------------------------------
def check_service(facts: str, proof_of_service: str) -> None:
    """A forced-exit notice records its facts and how it was served."""
    if not facts.strip():
        raise InvalidInput("facts", "record the facts and evidence before serving notice")
    if not proof_of_service.strip():
        raise InvalidInput("proof_of_service", "record how the notice was served")


#: Grounds the engine raises itself (a D after a D, a failed re-inspection), never by hand.
RAISED_BY_REVIEW = RAISED_BY_ENGINE
#: Grounds that apply at the lease's end only.
AT_LEASE_END = "lease_end"


def check_grounds(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    trig: rbook.ForcedExitTrigger,
    violations: Sequence[ViolationRow],
) -> None:
    """Refuse grounds the engine's own records do not bear out: grounds the review or the
    re-inspection raises by itself; grounds with a period to run first (cure notice, payment
    demand, dormancy, delisting) with no violation of them recorded (``violations``: those
    not cured); grounds for the lease's end before the term ends within the rulebook's
    ``renewal_request`` period."""
    words = f"{trig.code}（{trig.label_zh}）"
    if trig.raised_by_engine:
        raise InvalidInput(
            "grounds",
            f"{words}由考核结果或整改复查不合格直接启动退出（`review decide`、"
            f"`reinspect --fail`），不能手工送达 / {trig.code} ({trig.label_en}) is raised by "
            "the review results themselves (`review decide`, `reinspect --fail`): it is not "
            "served by hand",
            trig.code,
        )
    if trig.period is not None and not violations:
        period = rb.periods.get(trig.period)
        raise InvalidInput(
            "grounds",
            f"{words}须先登记违规（`violation --code {trig.code}`）并给予 {period.describe()} "
            f"期限（exit.triggers.{trig.code}），期满未纠正方可送达退出通知 / "
            f"{trig.code} needs a recorded violation (`violation --code {trig.code}`) whose "
            f"{period.describe('en')} (exit.triggers.{trig.code}) ran out uncured first",
            trig.code,
        )
    if trig.handling == AT_LEASE_END:
        check_near_term_end(e, rb, calendar, field="grounds", value=trig.code, what=words)


def check_near_term_end(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    field: str,
    value: str,
    what: str,
) -> None:
    """Refuse an exit at the lease's end before the term ends within the rulebook's
    ``periods.renewal_request`` (the time before expiry in which renewal is settled)."""
    period = rb.periods.renewal_request
    end = e.tenancy.term_end
    if end is not None and (end <= e.today or end <= calendar.due_date(e.today, period)):
        return
    term = f"租期至 {end.isoformat()}" if end is not None else "未约定租期"
    term_en = f"the term ends on {end.isoformat()}" if end is not None else "no term is agreed"
    raise InvalidInput(
        field,
        f"{what}仅适用于租期届满：须在租期届满前 {period.describe()}（periods.renewal_request）"
        f"内或届满后办理，{term} / applies at the lease's end only: within "
        f"{period.describe('en')} (periods.renewal_request) of the term's end or after it; "
        f"{term_en}",
        value,
    )


def serve_exit_notice(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    fields: Mapping[str, Any],
    violations: Sequence[ViolationRow],
    waivers: Sequence[EventRow],
    **who: Unpack[Who],
) -> StepResult:
    """Serve a forced-exit notice on ``fields["grounds"]``: the transition (under the space's
    rulebook ``rb``), the case with its 陈述申辩 window, residency deadlines cancelled.

    The grounds must be borne out by the records (:func:`check_grounds`; ``violations``: the
    violations of these grounds not cured, with a cure period or without). One still in its
    cure period refuses the notice unless the firm waived it in writing (``waivers``). Served,
    every violation of these grounds still open is escalated (in its period, its period over,
    or with none): the notice rests on them, and none of them can be cured beside it."""
    actor, reason = acting(who)
    grounds, facts = str(fields["grounds"]), str(fields["facts"])
    proof = str(fields["proof_of_service"])
    check_service(facts, proof)
    trig = rbook.exit_trigger(rb, grounds)  # unknown grounds are refused before anything changes
    check_grounds(e, rb, calendar, trig, [v for v in violations if v.cure_due_on is not None])
    still_open = [v for v in violations if v.status == "open"]
    open_cures = windows.curing(still_open, e.today)
    cure_waivers = [
        windows.check_ended(
            e.tenancy.id, "serve_exit_notice", "cure", v.id, v.cure_due_on, e.today, waivers
        )
        for v in open_cures
    ]
    # The case's 陈述申辩 window, as reviews.open_forced_case computes it: carried in the event
    # so that `audit verify` can check the case row against it.
    objection_due = calendar.due_date(e.today, rb.periods.objection_window)
    data = {**fields, "rulebook_version": rb.version, "objection_due_on": objection_due}
    if cure_waivers:
        data["waivers"] = cure_waivers
    admitted, e.event_rulebook = e.event_rulebook, rb.version
    step = e.transition("serve_exit_notice", actor=actor, reason=reason, data=data)
    e.event_rulebook = admitted
    for violation in still_open:
        e.update("violations", violation.id, status="escalated")
    reviews.open_forced_case(e, rb, calendar, grounds=grounds, facts=facts, proof_of_service=proof)
    return step


def confirm_exit(
    e: Effects,
    case: ExitCaseRow,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    waiver: Mapping[str, Any] | None = None,
    **who: Unpack[Who],
) -> StepResult:
    """Decide the exit after the 陈述申辩 window (objection dismissed or none lodged), or
    before it ends on the firm's written ``waiver`` of it (the step names the waiver): the
    ruling on the case, the vacate deadline, the firm's notice."""
    actor, reason = acting(who)
    period = rbook.vacate_period(rb, "forced", case.grounds)
    due = calendar.due_date(e.today, period)
    trig = rbook.exit_trigger(rb, case.grounds or "")
    end = e.tenancy.term_end
    if trig.handling == AT_LEASE_END and end is not None and due < end:
        due = end  # grounds for the lease's end: never out before the term ends
    ruling = reason or CONFIRMED_RULING
    e.update("exit_cases", case.id, ruling=ruling, vacate_due_on=due)
    e.cancel("objection_window_end")
    data: dict[str, Any] = {"exit_case": case.id, "vacate_due_on": due}
    if waiver is not None:
        data["waiver"] = dict(waiver)
    step = e.transition("confirm_exit", actor=actor, reason=ruling, data=data)
    e.deadline("vacate_due", due, calendar.due_instant(due), subject=case.id)
    e.notify(
        "exit_ruling",
        context={
            "upheld": False,
            "reason": ruling,
            "vacate_due_on": due,
            "period": period.describe(),
            "grounds": case.grounds,
            "facts": case.facts,
            "objection": case.objection,
            "grounds_zh": trig.label_zh,
            "grounds_en": trig.label_en,
            **reviews.exit_ground_rule(rb, trig),
        },
    )
    return step


def objection_waiver(
    tenancy_id: int, case: ExitCaseRow, today: date, waivers: Sequence[EventRow]
) -> dict[str, Any] | None:
    """May an operator confirm the exit now? Not while the 陈述申辩 window runs (unless the
    firm waived it in writing: that waiver comes back) and not over a lodged defence, which
    is ruled on instead."""
    waiver = windows.check_ended(
        tenancy_id, "confirm_exit", "objection", case.id, case.objection_due_on, today, waivers
    )
    if case.objection:
        raise GuardFailed(
            tenancy_id,
            "confirm_exit",
            "a defence was lodged: rule on it with `rule --upheld/--dismissed`",
        )
    return waiver


# ---- graduation, term end, voluntary exit ------------------------------------------------------
#: The audit triggers that open an exit case: a firm's request to leave is answered by the
#: first of them after it.
CASE_OPENED_BY = ("begin_exit", "graduate", "serve_exit_notice", "fail_review", "fail_reinspection")


def pending_request(events: Sequence[EventRow], request: str) -> EventRow | None:
    """The firm's newest written request to leave (``request`` events among ``events``, in
    chain order) that no exit case has followed yet."""
    found: EventRow | None = None
    for event in events:
        if event.trigger == request:
            found = event
        elif event.trigger in CASE_OPENED_BY:
            found = None
    return found


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def exit_floor(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    exit_type: str,
    request: EventRow | None,
) -> tuple[date | None, dict[str, Any]]:
    """The day before which a term-expiry or voluntary exit cannot have the firm out, with
    what the audit event records of it: the term's end (refused before the term ends within
    ``periods.renewal_request``), or the day the firm asked to leave (refused without its
    written request on record)."""
    if exit_type == "term_expiry":
        check_near_term_end(
            e, rb, calendar, field="exit_type", value=exit_type, what="期满退出（term_expiry）"
        )
        return e.tenancy.term_end, {}
    if exit_type != "voluntary":
        return None, {}
    if request is None:
        raise InvalidInput(
            "exit_type",
            "自愿退出须有企业的书面退出申请在案（企业门户“申请退出”，或运营方登记其书面申请 "
            "`exit request --leave-on DATE`），尚无待办理的申请 / a voluntary exit needs the "
            "firm's written request on record (the portal's exit request, or its letter "
            "recorded with `exit request --leave-on DATE`): none is pending",
            exit_type,
        )
    leave_on = _day(request.data["leave_on"])
    return leave_on, {"request_seq": request.seq, "leave_on": leave_on}


def open_exit(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    trigger: str,
    exit_type: str,
    approved: bool,
    request: EventRow | None = None,
    **who: Unpack[Who],
) -> StepResult:
    """Move to vacating with an exit case, its vacate deadline and the firm's notice. The
    vacate date is the vacate period on from today, and never before the term's end (term
    expiry) or the day the firm asked to leave (voluntary: its pending ``request``)."""
    actor, reason = acting(who)
    floor, asked = exit_floor(e, rb, calendar, exit_type, request)
    period = rbook.vacate_period(rb, exit_type, None)
    due = calendar.due_date(e.today, period)
    if floor is not None and due < floor:
        due = floor
    data = {"exit_type": exit_type, "approved": approved, "vacate_due_on": due, **asked}
    step = e.transition(trigger, actor=actor, reason=reason, data=data)
    case = e.insert(
        "exit_cases",
        tenancy_id=e.tenancy.id,
        exit_type=exit_type,
        facts=reason,
        vacate_due_on=due,
        checklist={},
        settlement={"approved": approved},
        status="open",
        rulebook_version=rb.version,
        created_at=e.now,
    )
    e.cancel(*RESIDENCY_DEADLINES)
    e.deadline("vacate_due", due, calendar.due_instant(due), subject=case)
    message = "graduation" if exit_type == "graduation" else "exit_confirmed"
    context = {
        "exit_type": exit_type,
        "vacate_due_on": due,
        "period": period.describe(),
        "approved": approved,
    }
    e.notify(message, context=context)
    if exit_type == "graduation":
        e.notify("graduation_publicity_end", context=context, audience="operators")
    return step


def confirm_graduation(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    approved: bool,
    **who: Unpack[Who],
) -> StepResult:
    """The operator verified the graduation: its 公示 (rulebook ``graduation_publicity``)
    starts today; the sweep ends it and the graduation exit begins then."""
    actor, reason = acting(who)
    period = rb.periods.graduation_publicity
    first = e.today
    last = calendar.due_date(first, period)
    data = {
        "exit_type": "graduation",
        "approved": approved,
        "publicity_from": first,
        "publicity_to": last,
        "rulebook_version": rb.version,
    }
    step = e.transition("confirm_graduation", actor=actor, reason=reason, data=data)
    e.cancel(*RESIDENCY_DEADLINES)
    e.deadline(
        GRADUATION_PUBLICITY_END,
        last,
        calendar.due_instant(last),
        key=str(e.tenancy.audit_seq),
    )
    context = {"from": first, "to": last, "period": period.describe(), "reason": reason}
    e.notify("graduation_publicity_start", context=context)
    e.notify("graduation_publicity_start", context=context, audience="operators")
    return step


def graduation_approved(confirmations: Sequence[EventRow]) -> bool:
    """Whether the graduation was confirmed as approved (its newest confirmation says)."""
    return bool(confirmations[-1].data.get("approved", True)) if confirmations else True


def graduate(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    publicity_ends_on: date | None,
    confirmations: Sequence[EventRow],
    **who: Unpack[Who],
) -> StepResult:
    """The graduation's 公示 is over (it ends on ``publicity_ends_on`` inclusive): the
    graduation exit begins, approved as its confirmation said."""
    if publicity_ends_on is not None and e.today <= publicity_ends_on:
        raise GuardFailed(
            e.tenancy.id,
            "graduate",
            f"毕业公示 runs until {publicity_ends_on.isoformat()} inclusive",
        )
    e.cancel(GRADUATION_PUBLICITY_END)
    return open_exit(
        e,
        rb,
        calendar,
        trigger="graduate",
        exit_type="graduation",
        approved=graduation_approved(confirmations),
        **who,
    )


# ---- handover and escalation -------------------------------------------------------------------
def check_checklist(checklist: Mapping[str, bool]) -> None:
    """Refuse an item the handover checklist does not have (a typo must not pass unnoticed)."""
    if unknown := sorted(set(checklist) - set(HANDOVER_ITEMS)):
        items = "、".join(f"{item}（{HANDOVER[item][0]}）" for item in HANDOVER_ITEMS)
        raise InvalidInput(
            "checklist",
            f"交接清单项只有 {items} / the checklist's items are {', '.join(HANDOVER_ITEMS)}",
            ", ".join(unknown),
        )


def check_handover(
    tenancy_id: int, checklist: Mapping[str, bool], arrears_yuan: int, damage_yuan: int
) -> None:
    """Refuse an incomplete checklist or a negative amount (before anything is read)."""
    missing = [item for item in HANDOVER_ITEMS if not checklist.get(item)]
    if missing:
        zh = "、".join(f"{HANDOVER.get(m, (m, m))[0]}（{m}）" for m in missing)
        raise GuardFailed(
            tenancy_id,
            "hand_over",
            f"交接清单未完成，尚缺：{zh} / handover checklist incomplete: {', '.join(missing)}",
        )
    if arrears_yuan < 0 or damage_yuan < 0:
        raise InvalidInput(
            "arrears_yuan" if arrears_yuan < 0 else "damage_yuan",
            "不得为负数 / must not be negative",
        )


def deposit_of(agreement_events: Sequence[EventRow]) -> int:
    """The deposit: the newest amendment that set it, else the agreement's (0 if none)."""
    for event in reversed(agreement_events):
        if "deposit_yuan" in event.data:
            return int(event.data["deposit_yuan"])
    return 0


def hand_over(
    e: Effects,
    case: ExitCaseRow,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    checklist: Mapping[str, bool],
    arrears_yuan: int,
    damage_yuan: int,
    deposit_yuan: int,
    benefits: Sequence[rbook.Benefit],
    allocations: Sequence[AllocationRow],
    **who: Unpack[Who],
) -> StepResult:
    """The handover signed off: the settlement (deposit, arrears, damage, benefits clawed
    back as the rulebook says), the units lettable again, the case closed, the firm told."""
    actor, reason = acting(who)
    settlement = rbook.settle(
        rb,
        exit_type=case.exit_type,
        grounds=case.grounds,
        approved=bool(case.settlement.get("approved", True)),
        deposit_yuan=deposit_yuan,
        arrears_yuan=arrears_yuan,
        damage_yuan=damage_yuan,
        benefits=list(benefits),
        exit_on=e.today,
    )
    for alloc in allocations:
        e.update("allocations", alloc.id, end_on=e.today)
        # lettable again only now that handover is signed off
        e.update("units", alloc.unit_id, status="available")
    settled = settlement.to_dict()
    e.update(
        "exit_cases",
        case.id,
        checklist=dict(checklist),
        handed_over_at=e.now,
        settlement={**case.settlement, **settled},
        status="closed",
    )
    # the firm has left: its quarters' light reports are no longer asked for (those it still
    # owed, the handover ends too, rather than leave them to go moot)
    e.cancel("vacate_due", *QUARTERLY_DEADLINES)
    move_out = calendar.due_date(e.today, rb.periods.registration_move_out)
    data = {
        "exit_case": case.id,
        "checklist": dict(checklist),
        "settlement": settled,
        "registration_move_out_by": move_out,
    }
    step = e.transition("hand_over", actor=actor, reason=reason, data=data)
    e.notify(
        "handover_settlement",
        context={
            "settlement": {k: v for k, v in settled.items() if k != "trace"},
            "registration_move_out_by": move_out,
            "claim_by": calendar.due_date(e.today, rb.periods.deposit_claim),
            "exit_type": case.exit_type,
        },
    )
    return step


def escalate_vacating(e: Effects, case: ExitCaseRow, **who: Unpack[Who]) -> StepResult:
    """Vacating overdue: the tenancy stays, the firm and its account manager are told."""
    actor, reason = acting(who)
    data = {"exit_case": case.id, "vacate_due_on": case.vacate_due_on}
    step = e.transition("escalate_vacating", actor=actor, reason=reason, data=data)
    context: dict[str, Any] = {"vacate_due_on": case.vacate_due_on}
    e.notify("vacate_overdue", context=context)
    e.notify("vacate_overdue", context=context, audience="manager")
    return step
