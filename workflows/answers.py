"""What a firm sends from the portal: its answer to an exit notice (陈述申辩) or to a
rectification order (整改方案), with attached files, and a request to leave of its own will.

The answers go through the same decisions as the API's ``object`` and ``file_plan`` actions
(``admittance.lodge_objection``, ``residency_rules.file_plan``); what these commands add is
the attached files, recorded in the audit event by name, type, size and SHA-256 (the files
themselves are stored outside the database by the portal, ``workflows.attachments``).

A voluntary exit is the operator's to begin (``BeginExit``, with or without approval, which
decides the deposit); the firm's written request is an audited fact with the date it means
to leave, no earlier than the rulebook's notice period (``periods.voluntary_notice``) allows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lifecycle.errors import GuardFailed, InvalidInput
from lifecycle.table import EXIT_NOTICE, RECTIFYING, RESIDENT_STATES
from workflows import admittance, inputs, residency_rules, rules
from workflows.attachments import Attachment, check_count
from workflows.commands import TenancyCommand
from workflows.core import Step, Work
from workflows.residency import _open_rectification

#: The audit trigger of a firm's written request to leave.
REQUEST_EXIT = "request_voluntary_exit"
#: The deadline that ends the 陈述申辩 window.
WINDOW_END = admittance.OBJECTION_WINDOWS[EXIT_NOTICE][0]


class FileDefence(TenancyCommand):
    """The firm's statement and defence (陈述申辩) against an exit notice, with files."""

    grounds: str
    by: str | None = None  # who signs it (the firm's name by default)
    attachments: tuple[Attachment, ...] = ()


class FilePlan(TenancyCommand):
    """The firm's rectification plan (整改方案), with files."""

    plan: str
    attachments: tuple[Attachment, ...] = ()


class RequestVoluntaryExit(TenancyCommand):
    """The firm asks in writing to leave on ``leave_on`` (its reasons in ``reason``)."""

    leave_on: date


#: The longest reasons a voluntary exit request gives, in characters (the portal's form
#: says the same).
MAX_EXIT_REASON_CHARS = 2000


def check_exit_reason(reason: str | None) -> str | None:
    """The reasons of a voluntary exit request: at most :data:`MAX_EXIT_REASON_CHARS`
    characters of free text (every entry point: the handler checks them, the portal before
    it asks to confirm)."""
    if reason is None:
        return None
    return inputs.check_text("reason", reason, limit=MAX_EXIT_REASON_CHARS)


def _in_time(
    tenancy_id: int, trigger: str, last_day: date | None, today: date, zh: str, en: str
) -> None:
    """The portal takes an answer until the end of its last day (Asia/Shanghai); a late one
    is for the operators to record on paper."""
    if last_day is not None and today > last_day:
        raise GuardFailed(
            tenancy_id,
            trigger,
            f"{zh}期限已于 {last_day.isoformat()} 届满，不能再在线提交；如有书面材料请联系运营方 / "
            f"the {en} period ended on {last_day.isoformat()}; it can no longer be sent "
            "online — contact the space's operators with anything in writing",
        )


def _files(items: tuple[Attachment, ...]) -> list[dict[str, Any]]:
    check_count(len(items))
    return [a.to_dict() for a in items]


def file_defence(w: Work, cmd: FileDefence) -> dict[str, Any]:
    if not cmd.grounds.strip():
        raise InvalidInput("grounds", "请填写陈述申辩的事实和理由 / state your facts and reasons")
    files = _files(cmd.attachments)
    tenancy = w.load_for(cmd, "lodge_objection", (EXIT_NOTICE,))
    rb = rules.for_tenancy(w, tenancy)
    case = w.uow.cases.open_exit_case(tenancy.id)
    window_end = w.uow.admissions.pending_due_on(tenancy.id, WINDOW_END)
    if window_end is None and case is not None:
        window_end = case.objection_due_on
    _in_time(tenancy.id, "lodge_objection", window_end, w.today, "陈述申辩", "statement")
    effects = w.effects(tenancy)
    by = cmd.by or (tenancy.party.name if tenancy.party is not None else None)
    step, decision = admittance.lodge_objection(
        effects,
        rb,
        window_end=window_end,
        open_case=case.id if case is not None else None,
        written=True,
        by=by,
        grounds=cmd.grounds,
        evidence="、".join(a["name"] for a in files) or None,
        actor=cmd.actor,
        attachments=files,
    )
    w.apply(effects)
    return {**step.to_dict(), "accepted": decision.passed, "refusal": decision.reason}


def file_plan(w: Work, cmd: FilePlan) -> Step:
    files = _files(cmd.attachments)
    tenancy = w.load_for(cmd, "file_plan", (RECTIFYING,))
    residency_rules.check_plan(cmd.plan)
    row = _open_rectification(w, tenancy.id)
    if row.plan is None:
        _in_time(tenancy.id, "file_plan", row.plan_due_on, w.today, "整改方案", "plan")
    return w.decide(
        tenancy, residency_rules.file_plan, row, plan=cmd.plan, attachments=files, by=cmd
    )


def earliest_leave_on(w: Work, space_id: int) -> date:
    """The first day a firm asking today may leave: today plus the notice period."""
    rb = rules.active_in(w, space_id)
    return w.calendar.due_date(w.today, rb.periods.voluntary_notice)


def earliest_leave_on_of(w: Work, *, tenancy_id: int) -> date:
    """The first day the firm of ``tenancy_id``, asking today, may leave on (its rulebook's
    notice period)."""
    rb = rules.for_tenancy(w, w.tenancy(tenancy_id, lock=False))
    return w.calendar.due_date(w.today, rb.periods.voluntary_notice)


def request_voluntary_exit(w: Work, cmd: RequestVoluntaryExit) -> Step:
    check_exit_reason(cmd.reason)
    tenancy = w.load_for(cmd, REQUEST_EXIT, RESIDENT_STATES)
    rb = rules.for_tenancy(w, tenancy)
    period = rb.periods.voluntary_notice
    earliest = w.calendar.due_date(w.today, period)
    end = tenancy.term_end
    if end is not None and (cmd.leave_on > end or earliest > end):  # it ends by expiry first
        raise InvalidInput(
            "leave_on",
            f"须不晚于协议到期日 {end.isoformat()}（协议到期即期满退出，无需申请） / must be no "
            f"later than the agreement's end, {end.isoformat()} (the stay ends then without a "
            "request)",
            cmd.leave_on.isoformat(),
        )
    if cmd.leave_on < earliest:
        raise InvalidInput(
            "leave_on",
            f"须提前 {period.describe()} 书面申请，最早可于 {earliest.isoformat()} 退出 / "
            f"a voluntary exit is requested {period.describe()} ahead: the earliest day is "
            f"{earliest.isoformat()}",
            cmd.leave_on.isoformat(),
        )
    effects = w.effects(tenancy)
    data = {
        "leave_on": cmd.leave_on,
        "notice_period": period.describe(),
        "earliest": earliest,
        "rulebook_version": rb.version,
    }
    step = effects.record(REQUEST_EXIT, actor=cmd.actor, reason=cmd.reason, data=data)
    w.apply(effects)
    return step
