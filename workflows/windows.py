"""No decision before its window ends (issue 14, item 1), unless the firm waived it in writing.

A window protects the firm: the 陈述申辩 window of an exit notice, the cure period of a
violation, the deadline for a rectification plan and the rectification period itself. A decision
that closes one — dismissing the defence and confirming the exit, serving an exit notice on a
violation still in its cure period, failing a re-inspection — is refused until the window has
ended, unless the firm waived it in writing: ``innospace waive`` records the waiver (the window,
the date of the firm's letter and its document reference) as an audited event, and the decision
then names the waiver it relied on.

The 公示 is not the firm's window but the public's (anyone may object): no firm can waive it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Unpack

from db.cases import EventRow, ViolationRow
from db.effects import Effects, TenancyRow
from lifecycle.errors import GuardFailed, InvalidInput, NotFound, none_open
from lifecycle.table import EXIT_NOTICE, RECTIFYING, RESIDENT_STATES
from workflows.commands import WaiveWindow
from workflows.core import Step, Who, Work, acting

WAIVE = "waive_window"
#: window -> (Chinese name, English name)
WINDOWS: dict[str, tuple[str, str]] = {
    "objection": ("陈述申辩期", "statement-and-defence window"),
    "cure": ("限期改正期", "cure period"),
    "plan": ("整改方案提交期限", "rectification plan deadline"),
    "rectification": ("整改期", "rectification period"),
}
NOT_WAIVABLE = {
    "publicity": "公示是面向公众的异议期，企业不能放弃 / the 公示 is the public's window "
    "for objections: a firm cannot waive it",
}


def label(window: str) -> str:
    zh, en = WINDOWS[window]
    return f"{zh} / {en}"


def not_open(window: str) -> str:
    """The refusal of a waiver of ``window`` when none is open: nothing to waive."""
    zh, en = WINDOWS[window]
    return f"此入驻记录目前没有进行中的{zh}，无可放弃 / no {en} of this tenancy is open to waive"


#: The refusal when the tenancy has no window a firm could waive at all.
NONE_OPEN = (
    "此入驻记录目前没有进行中的、企业可书面放弃的期限（"
    + "、".join(zh for zh, _ in WINDOWS.values())
    + "） / no window of this tenancy that the firm could waive is open"
)


# ---- pure: the rules of a window ---------------------------------------------------------------
def waiver_in(waivers: Sequence[EventRow], window: str, subject: int) -> dict[str, Any] | None:
    """The firm's written waiver of ``window`` of ``subject`` (a case, a violation, a
    rectification) among the tenancy's ``waive_window`` events, if there is one."""
    for event in waivers:
        data = event.data or {}
        if data.get("window") == window and data.get("subject") == subject:
            return {**data, "event_seq": event.seq}
    return None


def check_ended(
    tenancy_id: int,
    trigger: str,
    window: str,
    subject: int | None,
    ends_on: date | None,
    today: date,
    waivers: Sequence[EventRow],
) -> dict[str, Any] | None:
    """Refuse ``trigger`` while ``window`` (ending on ``ends_on`` inclusive) is open, unless
    the firm waived it in writing; returns the waiver relied on (None: the window is over)."""
    if ends_on is None or subject is None or today > ends_on:
        return None
    found = waiver_in(waivers, window, subject)
    if found is not None:
        return {
            "window": window,
            "waived_on": found.get("waived_on"),
            "document": found.get("document"),
            "event_seq": found["event_seq"],
        }
    raise GuardFailed(
        tenancy_id,
        trigger,
        f"{label(window)} runs until {ends_on.isoformat()} inclusive / 期限届满前不得作出决定; "
        f"wait, or record the firm's written waiver: "
        f"`innospace waive {tenancy_id} --window {window} --on DATE --document REF`",
    )


def curing(violations: Sequence[ViolationRow], today: date) -> list[ViolationRow]:
    """The violations whose cure period has not ended by ``today``."""
    return [v for v in violations if v.cure_due_on is not None and today <= v.cure_due_on]


def waive(
    e: Effects,
    *,
    window: str,
    subject: int,
    ends_on: date | None,
    waived_on: date,
    document: str,
    waivers: Sequence[EventRow],
    **who: Unpack[Who],
) -> Step:
    """Record the firm's written waiver of an open ``window`` not waived before."""
    actor, reason = acting(who)
    t = e.tenancy
    zh, en = WINDOWS[window]
    if ends_on is None or e.today > ends_on:
        raise GuardFailed(t.id, WAIVE, f"{zh}已届满 / the {en} is already over")
    if waiver_in(waivers, window, subject) is not None:
        raise GuardFailed(t.id, WAIVE, f"{zh}已登记放弃 / the {en} is already waived")
    data = {
        "window": window,
        "subject": subject,
        "window_ends_on": ends_on,
        "waived_on": waived_on,
        "document": document,
    }
    return e.record(WAIVE, actor=actor, reason=reason, data=data)


# ---- loading -----------------------------------------------------------------------------------
def waivers(w: Work, tenancy_id: int) -> list[EventRow]:
    """The tenancy's recorded waivers (its ``waive_window`` events), oldest first."""
    return w.uow.cases.events(tenancy_id, (WAIVE,))


def require_ended(
    w: Work,
    tenancy: TenancyRow,
    trigger: str,
    window: str,
    subject: int | None,
    ends_on: date | None,
) -> dict[str, Any] | None:
    """:func:`check_ended`, reading the waivers only when the window is still open."""
    if ends_on is None or subject is None or w.today > ends_on:
        return None
    return check_ended(
        tenancy.id, trigger, window, subject, ends_on, w.today, waivers(w, tenancy.id)
    )


def open_cure(w: Work, tenancy_id: int, code: str | None = None) -> list[ViolationRow]:
    """Open violations whose cure period has not ended (of ``code``, when given)."""
    return curing(w.uow.cases.open_cure(tenancy_id, code), w.today)


def _subject(
    w: Work, tenancy: TenancyRow, window: str, violation: int | None = None
) -> tuple[int, date | None]:
    """The case, violation or rectification whose window is waived, and when it ends
    (GuardFailed, saying so, when the tenancy has no such window open)."""
    refuse = GuardFailed(tenancy.id, WAIVE, not_open(window))
    if window == "objection":
        if tenancy.state != EXIT_NOTICE:
            raise refuse
        case = w.uow.cases.open_exit_case(tenancy.id)
        if case is None:
            raise none_open("exit case", tenancy.id)
        return case.id, case.objection_due_on
    if window == "cure":
        if tenancy.state not in RESIDENT_STATES:
            raise refuse
        pending = open_cure(w, tenancy.id)
        if violation is not None:
            pending = [v for v in pending if v.id == violation]
            if not pending:
                raise NotFound("violation in its cure period", violation)
        if not pending:
            raise refuse
        if len(pending) > 1:
            raise InvalidInput(
                "violation",
                "several cure periods are open: name one with --violation ID",
                ", ".join(str(v.id) for v in pending),
            )
        return pending[0].id, pending[0].cure_due_on
    if tenancy.state != RECTIFYING:
        raise refuse
    rect = w.uow.cases.open_rectification(tenancy.id)
    if rect is None:
        raise none_open("rectification", tenancy.id)
    if window == "plan":
        if rect.plan:
            raise GuardFailed(
                tenancy.id, WAIVE, "整改方案已提交 / the rectification plan is already filed"
            )
        return rect.id, rect.plan_due_on
    return rect.id, rect.due_on


def open_windows(w: Work, tenancy: TenancyRow) -> list[str]:
    """The windows of ``tenancy`` its firm could waive today (open, not over, not waived
    yet), in :data:`WINDOWS` order: the console offers ``waive_window`` only for these."""
    done = waivers(w, tenancy.id)
    found: list[str] = []
    for window in WINDOWS:
        subjects: list[tuple[int, date | None]]
        if window == "cure":
            resident = tenancy.state in RESIDENT_STATES
            pending = open_cure(w, tenancy.id) if resident else []
            subjects = [(v.id, v.cure_due_on) for v in pending]
        else:
            try:
                subjects = [_subject(w, tenancy, window)]
            except (GuardFailed, NotFound):
                subjects = []
        if any(
            ends_on is not None and w.today <= ends_on and waiver_in(done, window, s) is None
            for s, ends_on in subjects
        ):
            found.append(window)
    return found


def waive_window(w: Work, cmd: WaiveWindow) -> Step:
    """Record the firm's written waiver of one of its windows (audited, never undone)."""
    if cmd.window in NOT_WAIVABLE:
        raise InvalidInput("window", NOT_WAIVABLE[cmd.window], cmd.window)
    if cmd.window not in WINDOWS:
        raise InvalidInput("window", f"must be one of {', '.join(WINDOWS)}", cmd.window)
    document = cmd.document.strip()
    if not document:
        raise InvalidInput("document", "give the reference of the firm's written waiver")
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    if cmd.waived_on > w.today:
        raise InvalidInput("on", "the waiver's date must not be in the future", cmd.waived_on)
    subject, ends_on = _subject(w, tenancy, cmd.window, cmd.violation)
    return w.decide(
        tenancy,
        waive,
        window=cmd.window,
        subject=subject,
        ends_on=ends_on,
        waived_on=cmd.waived_on,
        document=document,
        waivers=waivers(w, tenancy.id),
        by=cmd,
    )
