"""The lifecycle of a tenancy as one declarative table, read top to bottom.

This module is the only place that says which trigger moves a tenancy from which state to
which. ``lifecycle.machine`` turns the table into the one shared ``transitions`` machine;
nothing else adds transitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class State(Enum):
    """Where a tenancy is. Values are what the database stores (plain strings)."""

    APPLIED = "applied"
    INFO_REQUESTED = "info_requested"
    EVALUATING = "evaluating"
    PUBLICITY = "publicity"
    ADMITTED = "admitted"
    ACTIVE = "active"
    UNDER_REVIEW = "under_review"
    RECTIFYING = "rectifying"
    EXIT_NOTICE = "exit_notice"
    GRADUATION_PUBLICITY = "graduation_publicity"
    VACATING = "vacating"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXITED = "exited"


class Phase(Enum):
    APPLICATION = "application"
    RESIDENCY = "residency"
    EXIT = "exit"
    CLOSED = "closed"


PHASE: dict[str, Phase] = {
    **{
        s.value: Phase.APPLICATION
        for s in (
            State.APPLIED,
            State.INFO_REQUESTED,
            State.EVALUATING,
            State.PUBLICITY,
            State.ADMITTED,
        )
    },
    **{s.value: Phase.RESIDENCY for s in (State.ACTIVE, State.UNDER_REVIEW, State.RECTIFYING)},
    **{
        s.value: Phase.EXIT for s in (State.EXIT_NOTICE, State.GRADUATION_PUBLICITY, State.VACATING)
    },
    **{s.value: Phase.CLOSED for s in (State.REJECTED, State.WITHDRAWN, State.EXITED)},
}
TERMINAL: frozenset[str] = frozenset(s for s, p in PHASE.items() if p is Phase.CLOSED)
INITIAL = State.APPLIED.value
#: The states of a firm in residency (reviewed, may be told to rectify, may be served notice).
RESIDENT_STATES: tuple[str, ...] = tuple(s for s, p in PHASE.items() if p is Phase.RESIDENCY)
#: The states in which a firm still occupies its unit: in residency, or on its way out until
#: the handover is signed off (exit notice, graduation publicity, vacating).
OCCUPYING_STATES: tuple[str, ...] = tuple(
    s for s, p in PHASE.items() if p in (Phase.RESIDENCY, Phase.EXIT)
)

# The stored values, for code that compares or queries states (never a raw string elsewhere).
APPLIED = State.APPLIED.value
INFO_REQUESTED = State.INFO_REQUESTED.value
EVALUATING = State.EVALUATING.value
PUBLICITY = State.PUBLICITY.value
ADMITTED = State.ADMITTED.value
ACTIVE = State.ACTIVE.value
UNDER_REVIEW = State.UNDER_REVIEW.value
RECTIFYING = State.RECTIFYING.value
EXIT_NOTICE = State.EXIT_NOTICE.value
GRADUATION_PUBLICITY = State.GRADUATION_PUBLICITY.value
VACATING = State.VACATING.value
REJECTED = State.REJECTED.value
WITHDRAWN = State.WITHDRAWN.value
EXITED = State.EXITED.value

STATE_LABELS: dict[str, tuple[str, str]] = {
    "applied": ("已申请", "applied"),
    "info_requested": ("待补充材料", "information requested"),
    "evaluating": ("专家评审中", "expert evaluation"),
    "publicity": ("公示中", "public notice"),
    "admitted": ("已准入待签约", "admitted, awaiting agreement"),
    "active": ("在孵", "resident"),
    "under_review": ("考核中", "under review"),
    "rectifying": ("整改中", "rectifying"),
    "exit_notice": ("退出告知（陈述申辩期）", "exit notice (statement and defence)"),
    "graduation_publicity": ("毕业公示中", "graduation public notice"),
    "vacating": ("腾退中", "vacating"),
    "rejected": ("未通过", "rejected"),
    "withdrawn": ("已撤回", "withdrawn"),
    "exited": ("已退出", "exited"),
}


@dataclass(frozen=True, slots=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    label_zh: str
    label_en: str
    guard: str | None = None  # name of a guard in lifecycle.guards; checked by the machine


def _t(
    trigger: str, sources: str, dest: str, zh: str, en: str, guard: str | None = None
) -> Transition:
    return Transition(trigger, tuple(sources.split()), dest, zh, en, guard)


RESIDENT = "active under_review rectifying"

TRANSITIONS: tuple[Transition, ...] = (
    # application
    _t("screen_in", "applied", "evaluating", "形式审查通过", "pass screening"),
    _t("screen_out", "applied", "rejected", "形式审查不通过", "fail screening"),
    _t("request_info", "applied", "info_requested", "要求补充材料", "request information"),
    _t("resubmit", "info_requested", "applied", "补充材料后重新提交", "resubmit"),
    _t(
        "withdraw",
        "applied info_requested evaluating publicity admitted",
        "withdrawn",
        "申请撤回",
        "withdraw application",
    ),
    _t("lapse", "info_requested admitted", "withdrawn", "逾期失效", "lapse (deadline passed)"),
    _t(
        "approve",
        "evaluating",
        "publicity",
        "评审通过，进入公示",
        "approve, start public notice",
        guard="has_passing_score",
    ),
    _t("reject", "evaluating", "rejected", "评审不通过", "reject after evaluation"),
    _t(
        "reject_without_panel",
        "evaluating",
        "rejected",
        "未经有效评审小组，运营方具名决定不予通过",
        "reject without a valid panel (a named operator's decision with grounds)",
    ),
    _t("admit", "publicity", "admitted", "公示期满无异议，准予入驻", "admit after public notice"),
    _t("uphold_objection", "publicity", "rejected", "公示异议成立", "objection upheld"),
    _t("sign", "admitted", "active", "签订入驻协议", "sign agreement", guard="has_units"),
    # residency
    _t("open_review", "active", "under_review", "启动年度考核", "open periodic review"),
    _t("pass_review", "under_review", "active", "考核合格", "pass review"),
    _t("order_rectification", "under_review", "rectifying", "责令整改", "order rectification"),
    _t(
        "fail_review",
        "under_review",
        "exit_notice",
        "考核不合格，启动退出",
        "fail review, start exit",
    ),
    _t("pass_reinspection", "rectifying", "active", "整改复查通过", "pass re-inspection"),
    _t("fail_reinspection", "rectifying", "exit_notice", "整改复查不通过", "fail re-inspection"),
    # exit
    _t("serve_exit_notice", RESIDENT, "exit_notice", "送达退出告知书", "serve exit notice"),
    _t(
        "confirm_graduation",
        RESIDENT,
        "graduation_publicity",
        "确认毕业，进入毕业公示",
        "confirm graduation, start its public notice",
    ),
    _t(
        "graduate",
        "graduation_publicity",
        "vacating",
        "毕业公示期满，办理毕业退出",
        "graduation notice over, begin the graduation exit",
    ),
    _t(
        "begin_exit",
        RESIDENT,
        "vacating",
        "办理退出（到期/自愿）",
        "begin exit (term end, voluntary)",
    ),
    _t(
        "uphold_objection",
        "exit_notice",
        "active",
        "申辩成立，撤销退出",
        "objection upheld, exit withdrawn",
    ),
    _t("confirm_exit", "exit_notice", "vacating", "作出退出决定", "confirm exit"),
    _t(
        "escalate_vacating",
        "vacating",
        "vacating",
        "逾期未腾退，升级处理",
        "escalate overdue vacating",
    ),
    _t("hand_over", "vacating", "exited", "交接验收完成", "handover signed"),
)

STATES: tuple[str, ...] = tuple(s.value for s in State)
TRIGGERS: tuple[str, ...] = tuple(dict.fromkeys(t.trigger for t in TRANSITIONS))

_ALLOWED: dict[str, frozenset[str]] = {
    state: frozenset(t.trigger for t in TRANSITIONS if state in t.sources) for state in STATES
}


def allowed_triggers(state: str) -> frozenset[str]:
    """Triggers the table accepts in ``state`` (before guards)."""
    return _ALLOWED.get(state, frozenset())


def destination(state: str, trigger: str) -> str | None:
    """Where ``trigger`` leads from ``state`` per the table, or None if it is not allowed."""
    for t in TRANSITIONS:
        if t.trigger == trigger and state in t.sources:
            return t.dest
    return None


def transition_for(state: str, trigger: str) -> Transition | None:
    for t in TRANSITIONS:
        if t.trigger == trigger and state in t.sources:
            return t
    return None
