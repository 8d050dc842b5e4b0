"""Admission decided as data: objections to the 公示, its end, signing the agreement, and
leaving before admission (withdrawn, or a time limit lapsed).

Each function here is pure, as in :mod:`workflows.applications`: it takes what the command
loaded (the tenancy as an :class:`~db.effects.Effects` to fill, the objections lodged so far,
the last day of the 公示, the units asked for and who holds them, the rulebook, the calendar,
today) and adds the effects. The handlers are ``workflows.publicity``,
``workflows.agreement`` and, for withdrawing and lapsing, ``workflows.admission``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Unpack

from db.effects import Effects, StepResult
from db.repositories import ApplicationRow, FirmRow, ObjectionEvent, UnitRow
from lifecycle import rulebook as rbook
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import GuardFailed, InvalidInput, TransitionNotAllowed
from lifecycle.machine import Facts
from lifecycle.table import ADMITTED, EXIT_NOTICE, INFO_REQUESTED, PUBLICITY, allowed_triggers
from workflows import inputs
from workflows.applications import APPLICATION_DEADLINES
from workflows.commands import Sign
from workflows.core import Who, acting

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
#: The states an objection may be lodged in: the deadline that ends its window, its kind.
OBJECTION_WINDOWS = {
    PUBLICITY: ("publicity_end", "publicity_objection"),
    EXIT_NOTICE: ("objection_window_end", "exit_defence"),
}


# ---- objections ---------------------------------------------------------------------------------
def accepted_objections(state: str, events: Sequence[ObjectionEvent]) -> int:
    """How many accepted objections were lodged in ``state`` since the tenancy entered it
    (``events``: newest first)."""
    count = 0
    for event in events:
        if event.trigger != "lodge_objection":
            continue
        if event.from_state != state:
            break
        count += event.accepted
    return count


def objections_ruled(events: Sequence[ObjectionEvent]) -> bool:
    """Whether the newest objection step was a dismissal (``events``: newest first)."""
    return bool(events) and events[0].trigger == "dismiss_objection"


def lodge_objection(
    e: Effects,
    rb: rbook.Rulebook,
    *,
    window_end: date | None,
    open_case: int | None,
    written: bool,
    by: str | None,
    grounds: str,
    evidence: str | None,
    actor: str,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> tuple[StepResult, rbook.Decision]:
    """An objection to the 公示, or the firm's defence against an exit notice, recorded with
    whether it is admissible (``window_end``: the window's last day, if it has a deadline;
    ``open_case``: the exit case a defence is lodged against; ``attachments``: the files sent
    with it, each its name, type, size and SHA-256)."""
    t = e.tenancy
    if t.state not in OBJECTION_WINDOWS:
        raise TransitionNotAllowed(t.id, "lodge_objection", t.state, allowed_triggers(t.state))
    kind = OBJECTION_WINDOWS[t.state][1]
    decision = rbook.objection_acceptable(
        rb,
        written=written,
        named=bool(by and by.strip()),
        has_reasons=bool(grounds.strip()),
        lodged_on=e.today,
        window_end=window_end or e.today,
    )
    data: dict[str, Any] = {
        "kind": kind,
        "by": by,
        "grounds": grounds,
        "evidence": evidence,
        "accepted": decision.passed,
        "trace": decision.trace.to_dict(),
    }
    if attachments:
        data["attachments"] = [dict(a) for a in attachments]
    reason = None if decision.passed else decision.reason
    step = e.record("lodge_objection", actor=actor, reason=reason, data=data)
    if kind == "exit_defence" and decision.passed:
        if open_case is None:
            raise InvalidInput("tenancy_id", "has no open exit case", t.id)
        e.update("exit_cases", open_case, objection=grounds)
    return step, decision


def rule_on_publicity_objection(
    e: Effects, objections: Sequence[ObjectionEvent], *, upheld: bool, **who: Unpack[Who]
) -> StepResult:
    """A ruling on the objections to the 公示: upheld rejects the application, dismissed
    lets the 公示 run its course."""
    actor, reason = acting(who)
    t = e.tenancy
    if accepted_objections(t.state, objections) == 0:
        raise GuardFailed(
            t.id, "uphold_objection", "no accepted objection has been lodged during this 公示"
        )
    if upheld:
        e.cancel(*APPLICATION_DEADLINES)
        step = e.transition("uphold_objection", actor=actor, reason=reason)
    else:
        step = e.record("dismiss_objection", actor=actor, reason=reason)
    e.notify("objection_ruling", context={"upheld": upheld, "reason": reason})
    return step


def uphold_exit_defence(e: Effects, case_id: int, *, actor: str, reason: str) -> StepResult:
    """The firm's defence against an exit notice upheld: the exit case is withdrawn and the
    tenancy returns to residency."""
    e.update("exit_cases", case_id, status="withdrawn", ruling=reason)
    e.cancel("objection_window_end")
    step = e.transition("uphold_objection", actor=actor, reason=reason)
    e.notify("exit_ruling", context={"upheld": True, "reason": reason})
    return step


# ---- the end of the 公示 ------------------------------------------------------------------------
def end_publicity(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    last_day: date | None,
    objections: Sequence[ObjectionEvent],
    **who: Unpack[Who],
) -> StepResult:
    """Admitted once the 公示 has run (``last_day`` inclusive) with every accepted objection
    ruled on; the agreement is due within the rulebook's signing period."""
    actor, reason = acting(who)
    t = e.tenancy
    if last_day is not None and e.today <= last_day:
        raise GuardFailed(t.id, "admit", f"公示 runs until {last_day.isoformat()} inclusive")
    if accepted_objections(t.state, objections) and not objections_ruled(objections):
        raise GuardFailed(t.id, "admit", "an accepted objection awaits a ruling")
    due = calendar.due_date(e.today, rb.periods.agreement_signing)
    e.cancel("publicity_end")
    step = e.transition("admit", actor=actor, reason=reason, data={"sign_by": due})
    e.deadline("agreement_lapse", due, calendar.due_instant(due), key=str(t.audit_seq))
    e.notify(
        "admitted",
        context={"sign_by": due, "period": rb.periods.agreement_signing.describe()},
    )
    return step


# ---- the agreement ---------------------------------------------------------------------------
def sign(
    e: Effects,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    application: ApplicationRow,
    firm: FirmRow,
    units: Mapping[str, UnitRow],
    let_to: Mapping[int, int],
    lease: Sign,
    **who: Unpack[Who],
) -> StepResult:
    """The agreement signed as ``lease`` asks: the units (``units``: those of the space with
    the codes asked for; ``let_to``: unit id -> the tenancy holding it for an overlapping
    term) let for the term, residency begins, the term's deadlines and the notice."""
    actor, reason = acting(who)
    t = e.tenancy
    codes, term_start, term_end = lease.units, lease.term_start, lease.term_end
    deposit_yuan = lease.deposit_yuan
    inputs.check_term(term_start, term_end, e.today)
    inputs.check_amount("deposit_yuan", deposit_yuan)
    if len(set(codes)) != len(codes):
        raise InvalidInput("units", "a unit is listed twice", ",".join(codes))
    rbook.check_lease(
        rb, track=t.track, industry=firm.industry, term_start=term_start, term_end=term_end
    )
    chosen = [_lettable(t.id, units, let_to, code) for code in codes]
    area = round(sum(u.area_m2 for u in chosen), 2)
    rbook.check_area(rb, track=t.track, area_m2=area)
    for unit in chosen:
        e.update("units", unit.id, status="let")
        e.insert(
            "allocations",
            tenancy_id=t.id,
            unit_id=unit.id,
            area_m2=unit.area_m2,
            start_on=term_start,
        )
    e.set(term_start=term_start, term_end=term_end, rulebook_version=rb.version)
    e.cancel("agreement_lapse")
    # What was let, as the audit event records it and the notice tells the firm.
    let = {"units": list(codes), "area_m2": area, "term_start": term_start, "term_end": term_end}
    step = e.transition(
        "sign",
        actor=actor,
        reason=reason,
        facts=Facts(t.state, unit_count=len(chosen)),
        data={
            **let,
            "deposit_yuan": deposit_yuan,
            "requested_area_m2": application.requested_area_m2,
        },
    )
    term_deadlines(e, rb, calendar)
    e.notify("agreement_signed", context=let)
    return step


def _lettable(
    tenancy_id: int, units: Mapping[str, UnitRow], let_to: Mapping[int, int], code: str
) -> UnitRow:
    unit = units.get(code)
    if unit is None:
        raise InvalidInput("units", f"本空间没有单元 {code} / no unit {code} in this space", code)
    if unit.status != "available":
        raise GuardFailed(
            tenancy_id,
            "sign",
            f"unit {code} is {unit.status}, not available (a unit cannot be let twice)",
        )
    if unit.id in let_to:
        raise GuardFailed(
            tenancy_id,
            "sign",
            f"unit {code} is let to tenancy {let_to[unit.id]} for an overlapping term",
        )
    return unit


def term_deadlines(e: Effects, rb: rbook.Rulebook, calendar: WorkCalendar) -> None:
    """The term's end and the warnings the rulebook gives before it (those still ahead)."""
    end = e.tenancy.term_end
    assert end is not None
    for days in rb.term.expiry_alert_days:
        on = end - timedelta(days=days)
        if on > e.today:
            e.deadline(
                "term_expiry_warning",
                on,
                calendar.reminder_instant(on),
                key=f"{end}:{days}",
                payload={"days_left": days, "term_end": end},
            )
    e.deadline("term_end", end, calendar.due_instant(end), key=str(end))


# ---- leaving before admission -----------------------------------------------------------------
def withdraw(e: Effects, **who: Unpack[Who]) -> StepResult:
    actor, reason = acting(who)
    step = e.transition("withdraw", actor=actor, reason=reason)
    e.cancel(*APPLICATION_DEADLINES)
    e.notify("application_withdrawn", context={"reason": reason})
    return step


def lapse_trace(
    state: str, rb: rbook.Rulebook, *, due_on: date | None, today: date
) -> dict[str, Any]:
    """The time limit that ran out in ``state``, as a trace (empty where none applies)."""
    if state not in LAPSES:
        return {}
    _, period, zh, en = LAPSES[state]
    trace = rbook.Trace(
        "admission.lapse",
        rb.version,
        (
            rbook.TraceStep(
                f"periods.{period}",
                zh,
                en,
                {"due_on": due_on, "today": today},
                {period: rb.periods.get(period).describe("zh-CN")},
                "lapse" if due_on is None or today > due_on else "before_due",
            ),
        ),
    )
    return {"rulebook_version": rb.version, "trace": trace.to_dict()}


def lapse(e: Effects, trace: Mapping[str, Any], **who: Unpack[Who]) -> StepResult:
    """A time limit ran out (``trace``: :func:`lapse_trace`, read before the transition)."""
    actor, reason = acting(who)
    step = e.transition("lapse", actor=actor, reason=reason, data=trace)
    e.cancel(*APPLICATION_DEADLINES)
    e.notify("application_lapsed", context={"reason": reason})
    return step
