"""Rectification (整改) and reported violations decided as data: filing a plan, extending
the period, re-inspecting, recording a violation with its cure period.

Pure functions, as in :mod:`workflows.reviews`: each takes what the command loaded (the
tenancy as an :class:`~db.effects.Effects` to fill, the open rectification, the rulebook, the
calendar, the recorded waivers) and adds the step, the row updates, the deadlines and the
notices. The handlers in ``workflows.residency`` load, call one and write the effects once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Unpack

from db.cases import EventRow, ExitCaseRow, RectificationRow, ViolationRow
from db.effects import Effects, StepResult
from lifecycle import rulebook as rbook
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import GuardFailed, InvalidInput, NotFound
from lifecycle.periods import Period
from workflows import reviews, windows
from workflows.core import Who, acting
from workflows.reviews import SYSTEM_SERVICE

#: A calendar, or how to get it when a decision first counts days (many never do).
Calendar = WorkCalendar | Callable[[], WorkCalendar]
RECTIFICATION_DEADLINES = ("rectification_plan_due", "rectification_end")


def _calendar(calendar: Calendar) -> WorkCalendar:
    return calendar if isinstance(calendar, WorkCalendar) else calendar()


# ---- rectification -----------------------------------------------------------------------------
def check_plan(plan: str) -> None:
    if not plan.strip():
        raise InvalidInput("plan", "must not be empty")


def file_plan(
    e: Effects,
    row: RectificationRow,
    *,
    plan: str,
    attachments: Sequence[Mapping[str, Any]] = (),
    **who: Unpack[Who],
) -> StepResult:
    """The firm's rectification plan on file (late if after its deadline), with the files
    sent with it (name, type, size and SHA-256 of each) in the audit event."""
    actor, reason = acting(who)
    check_plan(plan)
    e.update("rectifications", row.id, plan=plan)
    e.cancel("rectification_plan_due")
    data: dict[str, Any] = {"rectification": row.id, "late": e.today > row.plan_due_on}
    if attachments:
        data["attachments"] = [dict(a) for a in attachments]
    return e.record("file_plan", actor=actor, reason=reason, data=data)


def extend_rectification(
    e: Effects,
    row: RectificationRow,
    rb: rbook.Rulebook,
    calendar: WorkCalendar,
    *,
    days: int,
    **who: Unpack[Who],
) -> StepResult:
    """The rectification period extended once, by up to the rulebook's maximum."""
    actor, reason = acting(who)
    limit = rb.periods.rectification_extension_max.amount
    if not 1 <= days <= limit:
        raise InvalidInput("days", f"an extension is 1 to {limit} days", days)
    if row.extended:
        raise GuardFailed(e.tenancy.id, "extend_rectification", "only one extension is allowed")
    due = calendar.add_calendar_days(row.due_on, days)
    e.update("rectifications", row.id, extended=True, due_on=due)
    e.cancel("rectification_end")
    e.deadline(
        "rectification_end", due, calendar.due_instant(due), subject=row.id, key=f"{row.id}:ext"
    )
    # The notice is keyed before the step is recorded (as it always was).
    e.notify("rectification_extended", context={"due_on": due, "days": days})
    data = {"rectification": row.id, "days": days, "due_on": due}
    return e.record("extend_rectification", actor=actor, reason=reason, data=data)


def reinspect(
    e: Effects,
    row: RectificationRow,
    rb: rbook.Rulebook,
    calendar: Calendar,
    *,
    passed: bool,
    waivers: Sequence[EventRow],
    **who: Unpack[Who],
) -> StepResult:
    """The re-inspection's result. Passing returns the firm to residency; failing opens a
    forced-exit case (failed rectification), and is refused while the plan deadline (no plan
    filed) or the rectification period runs, unless the firm waived them in writing."""
    actor, reason = acting(who)
    trigger = "pass_reinspection" if passed else "fail_reinspection"
    data: dict[str, Any] = {"rectification": row.id}
    if not passed:
        relied = [
            windows.check_ended(
                e.tenancy.id, trigger, "plan", row.id, row.plan_due_on, e.today, waivers
            )
            if not row.plan
            else None,
            windows.check_ended(
                e.tenancy.id, trigger, "rectification", row.id, row.due_on, e.today, waivers
            ),
        ]
        if waived := [x for x in relied if x is not None]:
            data["waivers"] = waived
    step = e.transition(trigger, actor=actor, reason=reason, data=data)
    e.update("rectifications", row.id, status="passed" if passed else "failed")
    e.cancel(*RECTIFICATION_DEADLINES)
    e.notify("reinspection_result", context={"passed": passed, "reason": reason})
    if not passed:
        reviews.open_forced_case(
            e,
            rb,
            _calendar(calendar),
            grounds="failed_rectification",
            facts=reason or "整改复查不合格",
            proof_of_service=SYSTEM_SERVICE,
        )
    return step


def windows_open(row: RectificationRow, today: date) -> bool:
    """Whether failing the re-inspection today closes a window of the firm's (the plan
    deadline with no plan filed, or the rectification period)."""
    ends = [row.due_on] if row.plan else [row.plan_due_on, row.due_on]
    return any(today <= end for end in ends)


# ---- violations --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ViolationDecision:
    """How a reported violation is handled: the rulebook's trigger, and the cure period the
    firm is given (None: the exit notice may follow at once)."""

    code: str
    facts: str
    evidence: str | None
    trigger: rbook.ForcedExitTrigger
    cure: Period | None
    cure_due_on: date | None

    def row(self, tenancy_id: int, now: Any) -> dict[str, Any]:
        """The violation's row."""
        return {
            "tenancy_id": tenancy_id,
            "code": self.code,
            "facts": self.facts,
            "evidence": self.evidence,
            "cure_due_on": self.cure_due_on,
            "status": "open",
            "reported_at": now,
        }


def check_reportable(trig: rbook.ForcedExitTrigger) -> None:
    """Refuse a violation of grounds the engine raises itself (two consecutive D grades, a
    failed rectification): the review and the re-inspection record those, not an operator."""
    if trig.raised_by_engine:
        raise InvalidInput(
            "code",
            f"{trig.code}（{trig.label_zh}）由系统依据考核/整改结果自动认定（`review decide`、"
            f"`reinspect --fail`），不能手工登记为违规 / {trig.code} ({trig.label_en}) is "
            "raised by the engine from reviews and rectifications (`review decide`, "
            "`reinspect --fail`): it cannot be recorded as a violation by hand",
            trig.code,
        )


def judge_violation(
    rb: rbook.Rulebook,
    calendar: Calendar,
    today: date,
    *,
    code: str,
    facts: str,
    evidence: str | None,
) -> ViolationDecision:
    """A violation of ``code`` as the rulebook handles it (unknown codes are refused)."""
    if not facts.strip():
        raise InvalidInput("facts", "须写明违规事实 / record the facts of the violation")
    trig = rbook.exit_trigger(rb, code, "code")
    check_reportable(trig)
    cure = rbook.cure_period(rb, code)
    cure_due = _calendar(calendar).due_date(today, cure) if cure is not None else None
    return ViolationDecision(code, facts, evidence, trig, cure, cure_due)


def report_violation(
    e: Effects,
    decision: ViolationDecision,
    rb: rbook.Rulebook,
    calendar: Calendar,
    *,
    violation_id: int,
    **who: Unpack[Who],
) -> dict[str, Any]:
    """The violation recorded on the tenancy, its row inserted as ``violation_id`` (handed out
    beforehand: the audit event names it); with a cure period, its deadline and the firm's
    cure notice."""
    actor, reason = acting(who)
    e.insert("violations", id=violation_id, **decision.row(e.tenancy.id, e.now))
    trig, cure_due = decision.trigger, decision.cure_due_on
    data = {
        "violation": violation_id,
        "code": decision.code,
        "handling": trig.handling,
        "cure_due_on": cure_due,
        "facts": decision.facts,
    }
    step = e.record("report_violation", actor=actor, reason=reason, data=data)
    if cure_due is not None:
        e.deadline(
            "cure_end", cure_due, _calendar(calendar).due_instant(cure_due), subject=violation_id
        )
        e.notify(
            "cure_notice",
            context={
                "code": decision.code,
                "label_zh": trig.label_zh,
                "label_en": trig.label_en,
                "facts": decision.facts,
                "due_on": cure_due,
                "period": decision.cure.describe() if decision.cure else "",
                **reviews.exit_ground_rule(rb, trig),
            },
            key=str(violation_id),
        )
    return {
        **step.to_dict(),
        "violation": violation_id,
        "handling": trig.handling,
        "cure_due_on": cure_due.isoformat() if cure_due else None,
        "immediate": cure_due is None,
    }


#: The deadline a violation's period writes (its subject: the violation); a cure cancels it.
CURE_DEADLINE = "cure_end"
#: How a violation's status reads to a person.
VIOLATION_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "open": ("未纠正", "open"),
    "cured": ("已纠正", "cured"),
    "escalated": ("已据此送达退出告知书", "escalated: an exit notice was served on it"),
}


def _named(violation: ViolationRow, trig: rbook.ForcedExitTrigger | None) -> tuple[str, str]:
    """A violation as the refusals name it: number, code and grounds in words (zh, en)."""
    zh_label = f"（{trig.label_zh}）" if trig is not None else ""
    en_label = f" ({trig.label_en})" if trig is not None else ""
    return (
        f"违规 #{violation.id} {violation.code}{zh_label}",
        f"violation #{violation.id} {violation.code}{en_label}",
    )


def cure_refusal(
    violation: ViolationRow, rb: rbook.Rulebook, case: ExitCaseRow | None
) -> str | None:
    """Why ``violation`` cannot be recorded cured on any day (Chinese first, then English),
    or None when it can on a day within its period: the rule :func:`cure_violation` applies
    and the console asks before it offers a cure.

    Only an ``open`` violation whose grounds take a cure period under the rulebook (cure
    notice, payment demand, dormancy, delisting: the trigger's ``period``) and that has its
    period's last day is cured. Immediate grounds (fraud, illegal conduct, subletting, …)
    and grounds for the lease's end have none: nothing the firm does takes them away. Nor is
    a violation cured while the tenancy's open exit case (``case``) was served on its grounds:
    the notice rests on it, and the 陈述申辩 is where the firm answers it."""
    trig = rb.triggers.get(violation.code)
    what_zh, what_en = _named(violation, trig)
    if violation.status != "open":
        zh, en = VIOLATION_STATUS_WORDS.get(violation.status, (violation.status,) * 2)
        why_zh, why_en = (
            ("无需再次登记", "it is cured already")
            if violation.status == "cured"
            else ("不能再登记纠正", "it can no longer be cured")
        )
        return f"{what_zh}状态为「{zh}」，{why_zh} / {what_en} is {en}: {why_en}"
    if trig is None or trig.period is None or violation.cure_due_on is None:
        return (
            f"{what_zh}依退出规则没有改正期限（立即退出或租期届满时处理的事由），"
            f"不适用纠正 / under the rulebook the grounds of {what_en} take no cure period "
            "(an immediate exit, or one at the lease's end): they cannot be cured"
        )
    if case is not None and case.grounds == violation.code:
        return (
            f"退出案件 #{case.id} 已以 {what_zh} 的事由送达退出告知书，不能再登记纠正；"
            f"企业可在陈述申辩期内提出申辩 / exit case #{case.id} was served on the grounds "
            f"of {what_en}: it can no longer be recorded cured; the firm answers in its "
            "statement and defence"
        )
    return None


def cure_violation(
    e: Effects,
    violation: ViolationRow | None,
    rb: rbook.Rulebook,
    calendar: Calendar,
    *,
    violation_id: int,
    case: ExitCaseRow | None,
    cured_on: date,
    note: str | None,
    deadlines: Sequence[int],
    **who: Unpack[Who],
) -> dict[str, Any]:
    """Record that the firm cured ``violation`` on ``cured_on``: the violation ``cured`` with
    the day and the ``note``, the pending ``deadlines`` its period wrote cancelled (so the
    sweep never escalates it), an audit event and the firm's notice.

    One of another tenancy (or none) is not found; one :func:`cure_refusal` refuses (not
    open, no cure period, the grounds of the open exit ``case``) is refused. The day lies
    within the period: not before the violation was reported, not after the period's last
    day (cured later, the firm did not cure in time) and not after today."""
    actor, reason = acting(who)
    if violation is None or violation.tenancy_id != e.tenancy.id:
        raise NotFound("violation", violation_id)
    refused = cure_refusal(violation, rb, case)
    if refused is not None:
        raise GuardFailed(e.tenancy.id, "cure_violation", refused)
    trig = rb.triggers[violation.code]  # cure_refusal: a trigger with a period
    due = violation.cure_due_on
    assert due is not None  # cure_refusal: a violation with a period
    reported_on = _calendar(calendar).local_date(violation.reported_at)
    if cured_on > e.today:
        raise InvalidInput(
            "cured_on",
            f"纠正日期不能晚于今天（{e.today.isoformat()}） / the cure date may not be in "
            f"the future (today is {e.today.isoformat()})",
            cured_on.isoformat(),
        )
    if cured_on < reported_on:
        raise InvalidInput(
            "cured_on",
            f"纠正日期不能早于违规登记日（{reported_on.isoformat()}） / the cure date may not "
            f"be before the violation was reported ({reported_on.isoformat()})",
            cured_on.isoformat(),
        )
    if cured_on > due:
        raise InvalidInput(
            "cured_on",
            f"纠正日期（{cured_on.isoformat()}）晚于改正期限的最后一日（{due.isoformat()}）："
            f"期限已届满，企业未在期限内纠正 / the cure date ({cured_on.isoformat()}) is after "
            f"the period's last day ({due.isoformat()}): the period has ended and the firm "
            "did not cure in time",
            cured_on.isoformat(),
        )
    note = (note or "").strip() or None
    e.update("violations", violation.id, status="cured", cured_on=cured_on, cure_note=note)
    for deadline_id in deadlines:
        e.update("deadlines", deadline_id, status="cancelled", done_at=e.now)
    data: dict[str, Any] = {
        "violation": violation.id,
        "code": violation.code,
        "cured_on": cured_on,
        "cure_due_on": violation.cure_due_on,
    }
    if note is not None:
        data["cure_note"] = note
    if deadlines:
        data["cancelled_deadlines"] = list(deadlines)
    step = e.record("cure_violation", actor=actor, reason=reason, data=data)
    e.notify(
        "violation_cured",
        context={
            "violation": violation.id,
            "code": violation.code,
            "label_zh": trig.label_zh,
            "label_en": trig.label_en,
            "facts": violation.facts,
            "cured_on": cured_on,
            "note": note or "",
        },
        key=f"cure:{violation.id}",
    )
    return {
        **step.to_dict(),
        "violation": violation.id,
        "status": "cured",
        "cured_on": cured_on.isoformat(),
    }
