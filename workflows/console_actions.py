"""The lifecycle actions as the console offers them: which the table allows in a state, what
each does in words (the transitions it may fire, the state it leads to), who is told (the
notices its handler queues) and the form fields it needs.

The table (:mod:`lifecycle.table`) speaks in transitions (``screen_in``, ``pass_review``);
the console, like the API, in actions (``screen``, ``decide_review``), one command each
(``entrypoints.http.routes_tenancies.ACTION_COMMANDS``). An action either fires one of its
``moves`` — offered when the table allows one of them in the tenancy's state — or is
record-only (a submission, a plan, a benefit), offered in the ``states`` its handler accepts.
Guards the table cannot see (a window still running, a panel not yet complete) are the
handler's to refuse, with its own message, when the action is sent.

``notices`` are the catalogue messages (:mod:`notifications.catalog`) the handler queues, read
from the handlers (``workflows.applications``, ``admittance``, ``reviews``,
``residency_rules``, ``exit_rules``); ``tests/web/test_console_tenancies.py`` holds the ones a
test performs to the outbox rows they really write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lifecycle.rulebook import Rulebook
from lifecycle.table import (
    EXIT_NOTICE,
    PUBLICITY,
    RECTIFYING,
    RESIDENT_STATES,
    allowed_triggers,
    transition_for,
)
from workflows import vocabulary
from workflows.exit_rules import HANDOVER_ITEMS
from workflows.windows import WINDOWS


@dataclass(frozen=True)
class FormField:
    """A field of an action's form. ``kind``: text, textarea, date, int, yuan (whole 元),
    bool (a checkbox), choice (``choices``: value, 中文, English), checks (one checkbox per
    choice, sent as a mapping of choice → ticked), codes (comma-separated list).
    ``choices_from``: the choices are the tenancy's rulebook's (:func:`with_rulebook`):
    ``violations`` (the grounds an operator reports) or ``grounds`` (every forced-exit
    ground); the command checks the code sent against the rulebook itself."""

    name: str
    zh: str
    en: str
    kind: str = "text"
    required: bool = True
    choices: tuple[tuple[str, str, str], ...] = ()
    help_zh: str = ""
    help_en: str = ""
    choices_from: str = ""


@dataclass(frozen=True)
class Notice:
    """A notice the action queues: the catalogue message, its audience, what it says."""

    message: str
    audience: str
    zh: str
    en: str
    when_zh: str = ""  # the condition, when not every send of the action queues it
    when_en: str = ""


@dataclass(frozen=True)
class Action:
    trigger: str
    zh: str
    en: str
    moves: tuple[str, ...] = ()
    states: tuple[str, ...] = ()  # record-only actions: the states that accept them
    notices: tuple[Notice, ...] = ()
    fields: tuple[FormField, ...] = ()
    #: False for what can be corrected by a later step (a record, a request): every other
    #: action asks first with a red button.
    irreversible: bool = True

    def allowed_in(self, state: str) -> bool:
        if self.moves:
            allowed = allowed_triggers(state)
            return any(m in allowed for m in self.moves)
        return state in self.states

    def outcomes(self, state: str) -> list[dict[str, str]]:
        """The transitions this action may fire from ``state``: label and resulting state."""
        out = []
        for move in self.moves:
            t = transition_for(state, move)
            if t is not None:
                out.append({"move": move, "zh": t.label_zh, "en": t.label_en, "to": t.dest})
        return out


def _n(
    message: str, zh: str, en: str, audience: str = "firm", when: tuple[str, str] = ("", "")
) -> Notice:
    return Notice(message, audience, zh, en, *when)


REASON = FormField(
    "reason",
    "理由 / 说明",
    "Reason",
    "textarea",
    required=False,
    help_zh="记入审计日志",
    help_en="kept in the audit log",
)
REASON_REQUIRED = FormField(
    "reason", "理由（必填）", "Reason (required)", "textarea", help_zh="记入审计日志并告知企业"
)
GROUNDS = FormField("grounds", "理由", "Grounds", "textarea")
FACTS = FormField("facts", "事实", "Facts", "textarea")
EVIDENCE = FormField("evidence", "证据", "Evidence", "textarea", required=False)
PERIOD = FormField("period", "考核年度", "Year reviewed", "int")


def _codes(name: str, zh: str, en: str, *, required: bool = True) -> FormField:
    """A field of codes, typed as a comma-separated list."""
    return FormField(
        name,
        zh,
        en,
        "codes",
        required=required,
        help_zh="多个以逗号分隔",
        help_en="comma-separated",
    )


EXIT_NOTICE_FIRM = _n(
    "exit_notice",
    "退出告知书（陈述申辩权利与期限）",
    "exit notice (the right to a statement and defence, its deadline)",
    when=("导致退出时", "when it leads to exit"),
)
_PASS, _RECTIFY, _FAIL = (vocabulary.OUTCOMES[k] for k in ("pass", "rectify", "fail"))
OUTCOMES = (
    ("", "按规则评定", "as the rulebook decides"),
    ("pass", *_PASS),
    ("rectify", *_RECTIFY),
    ("fail", f"{_FAIL[0]}（启动退出）", f"{_FAIL[1]} (start exit)"),
)
#: The exits an operator begins by hand (a forced exit starts with its notice).
EXIT_TYPES = tuple(
    (k, *vocabulary.EXIT_TYPES[k]) for k in ("term_expiry", "voluntary", "graduation")
)
BENEFIT_KINDS = tuple((k, zh, en) for k, (zh, en) in vocabulary.BENEFITS.items())

ACTIONS: tuple[Action, ...] = (
    Action(
        "screen",
        "形式审查",
        "Screen",
        moves=("screen_in", "screen_out"),
        notices=(
            _n(
                "screening_result",
                "形式审查结果（未通过时列明每项未满足的条件）",
                "screening result (each failed requirement named)",
            ),
        ),
        fields=(
            FormField(
                "reject",
                "以规则以外的理由不予通过",
                "Reject on grounds outside the rulebook",
                "bool",
                required=False,
                help_zh="勾选时须填写理由",
                help_en="give the reason when ticked",
            ),
            REASON,
        ),
    ),
    Action(
        "request_info",
        "要求补充材料",
        "Request information",
        moves=("request_info",),
        notices=(
            _n(
                "info_requested",
                "补充材料通知（所需材料与截止日期）",
                "information request (items and deadline)",
            ),
        ),
        fields=(FormField("items", "所需材料", "Items needed", "textarea"), REASON),
        irreversible=False,
    ),
    Action(
        "resubmit",
        "补充材料后重新提交",
        "Resubmit",
        moves=("resubmit",),
        fields=(REASON,),
        irreversible=False,
    ),
    Action(
        "approve",
        "评审通过，进入公示",
        "Approve",
        moves=("approve",),
        notices=(
            _n("scoring_result", "专家评审结果", "scoring result"),
            _n("publicity_start", "公示开始通知（公示期起止）", "public notice start (its dates)"),
        ),
        fields=(REASON,),
    ),
    Action(
        "reject",
        "评审不通过",
        "Reject",
        moves=("reject",),
        notices=(
            _n(
                "scoring_result",
                "专家评审结果（不通过及理由）",
                "scoring result (rejected, with reasons)",
            ),
        ),
        fields=(REASON,),
    ),
    Action(
        "reject_without_panel",
        "未经有效评审小组不予通过",
        "Reject without a valid panel",
        moves=("reject_without_panel",),
        notices=(
            _n(
                "rejection_without_panel",
                "不予通过决定书（具名决定人与理由，法律文书）",
                "rejection decision (named decider and grounds; a legal notice)",
            ),
        ),
        fields=(GROUNDS, REASON),
    ),
    Action(
        "withdraw",
        "撤回申请",
        "Withdraw",
        moves=("withdraw",),
        notices=(_n("application_withdrawn", "申请撤回确认", "application withdrawn"),),
        fields=(REASON,),
    ),
    Action(
        "object",
        "登记异议 / 陈述申辩",
        "Lodge an objection or defence",
        states=(PUBLICITY, EXIT_NOTICE),
        fields=(
            FormField("by", "异议人（署名）", "Lodged by (name)", required=False),
            GROUNDS,
            EVIDENCE,
            FormField("written", "书面提出", "In writing", "bool", required=False),
        ),
        irreversible=False,
    ),
    Action(
        "rule_on_objection",
        "对异议 / 申辩作出裁定",
        "Rule on the objection or defence",
        moves=("uphold_objection", "confirm_exit"),
        notices=(
            _n(
                "objection_ruling",
                "公示异议处理结果",
                "ruling on the objection",
                when=("公示期间", "during the public notice"),
            ),
            _n(
                "exit_ruling",
                "退出决定书或撤销退出通知",
                "exit ruling or its withdrawal",
                when=("退出告知期间", "during an exit notice"),
            ),
        ),
        fields=(
            FormField("upheld", "异议 / 申辩成立", "Upheld", "bool", required=False),
            REASON_REQUIRED,
        ),
    ),
    Action(
        "end_publicity",
        "公示期满，准予入驻",
        "End the public notice",
        moves=("admit",),
        notices=(_n("admitted", "准予入驻通知（签约期限）", "admission (the date to sign by)"),),
        fields=(REASON,),
    ),
    Action(
        "sign",
        "签订入驻协议",
        "Sign the agreement",
        moves=("sign",),
        notices=(
            _n(
                "agreement_signed",
                "入驻协议签订确认（单元、面积、期限）",
                "agreement signed (units, area, term)",
            ),
        ),
        fields=(
            _codes("units", "单元编号", "Unit codes"),
            FormField("term_start", "租期开始", "Term start", "date"),
            FormField("term_end", "租期结束", "Term end", "date"),
            FormField("deposit_yuan", "押金（元）", "Deposit (元)", "yuan", required=False),
            REASON,
        ),
    ),
    Action(
        "open_review",
        "启动年度考核",
        "Open the annual review",
        moves=("open_review",),
        notices=(
            _n(
                "review_opened",
                "年度考核通知（报送截止日期）",
                "review opened (the date to submit by)",
            ),
        ),
        fields=(PERIOD, REASON),
        irreversible=False,
    ),
    Action(
        "decide_review",
        "作出考核结论",
        "Decide the review",
        moves=("pass_review", "order_rectification", "fail_review"),
        notices=(
            _n(
                "review_result",
                "考核结果（得分、等级及依据）",
                "review result (score, grade and trace)",
            ),
            _n(
                "rectification_notice",
                "整改通知书（问题、期限，法律文书）",
                "rectification order (defects, deadlines; a legal notice)",
                when=("责令整改时", "when rectification is ordered"),
            ),
            EXIT_NOTICE_FIRM,
        ),
        fields=(
            PERIOD,
            FormField(
                "outcome",
                "结论",
                "Outcome",
                "choice",
                required=False,
                choices=OUTCOMES,
                help_zh="不按规则评定时须填写理由",
                help_en="an override needs a reason",
            ),
            _codes("vetoes", "否决项代码", "Veto codes", required=False),
            REASON,
        ),
    ),
    Action(
        "file_plan",
        "登记整改方案",
        "File the rectification plan",
        states=(RECTIFYING,),
        fields=(FormField("plan", "整改方案", "Plan", "textarea"), REASON),
        irreversible=False,
    ),
    Action(
        "extend_rectification",
        "延长整改期",
        "Extend the rectification",
        states=(RECTIFYING,),
        notices=(
            _n(
                "rectification_extended",
                "整改期延长通知（新截止日期）",
                "rectification extended (the new deadline)",
            ),
        ),
        fields=(FormField("days", "延长天数", "Days", "int"), REASON),
    ),
    Action(
        "reinspect",
        "整改复查",
        "Re-inspect",
        moves=("pass_reinspection", "fail_reinspection"),
        notices=(
            _n("reinspection_result", "整改复查结果", "re-inspection result"),
            EXIT_NOTICE_FIRM,
        ),
        fields=(FormField("passed", "复查通过", "Passed", "bool", required=False), REASON),
    ),
    Action(
        "report_violation",
        "登记违规",
        "Report a violation",
        states=RESIDENT_STATES,
        notices=(
            _n(
                "cure_notice",
                "限期改正通知书（法律文书）",
                "cure notice (a legal notice)",
                when=("规则设有改正期时", "when the rulebook sets a cure period"),
            ),
        ),
        fields=(
            FormField("code", "违规类型", "Violation", "choice", choices_from="violations"),
            FACTS,
            EVIDENCE,
            REASON,
        ),
    ),
    Action(
        "serve_exit_notice",
        "送达退出告知书",
        "Serve an exit notice",
        moves=("serve_exit_notice",),
        notices=(
            _n(
                "exit_notice",
                "退出告知书（事实、依据、陈述申辩期限与救济途径）",
                "exit notice (grounds, rule, defence deadline, remedies)",
            ),
        ),
        fields=(
            FormField("grounds", "退出事由", "Grounds", "choice", choices_from="grounds"),
            FACTS,
            FormField("proof_of_service", "送达凭证", "Proof of service", "textarea"),
            REASON,
        ),
    ),
    Action(
        "confirm_exit",
        "作出退出决定",
        "Confirm the exit",
        moves=("confirm_exit",),
        notices=(_n("exit_ruling", "退出决定书（腾退期限）", "exit ruling (the vacate date)"),),
        fields=(REASON,),
    ),
    Action(
        "begin_exit",
        "办理退出（到期 / 自愿 / 毕业）",
        "Begin an exit (term end, voluntary, graduation)",
        moves=("begin_exit", "confirm_graduation"),
        notices=(
            _n(
                "exit_confirmed",
                "退出确认（腾退期限）",
                "exit confirmed (the vacate date)",
                when=("到期或自愿退出", "term end or voluntary"),
            ),
            _n(
                "graduation_publicity_start",
                "毕业公示通知",
                "graduation public notice",
                when=("毕业时", "graduation"),
            ),
            _n(
                "graduation_publicity_start",
                "毕业公示通知（运营人员）",
                "graduation public notice (operators)",
                "operators",
                when=("毕业时", "graduation"),
            ),
        ),
        fields=(
            FormField("exit_type", "退出类型", "Exit type", "choice", choices=EXIT_TYPES),
            FormField("approved", "已批准", "Approved", "bool", required=False),
            REASON,
        ),
    ),
    Action(
        "hand_over",
        "交接验收",
        "Sign the handover",
        moves=("hand_over",),
        notices=(
            _n(
                "handover_settlement",
                "交接与结算通知（押金、欠费、追回优惠）",
                "handover and settlement (deposit, arrears, benefits clawed back)",
            ),
        ),
        fields=(
            FormField(
                "checklist",
                "交接清单",
                "Checklist",
                "checks",
                choices=tuple((k, *vocabulary.HANDOVER[k]) for k in HANDOVER_ITEMS),
                help_zh="每一项都须完成",
                help_en="every item must be done",
            ),
            FormField("arrears_yuan", "欠费（元）", "Arrears (元)", "yuan", required=False),
            FormField("damage_yuan", "损坏赔偿（元）", "Damage (元)", "yuan", required=False),
            REASON,
        ),
    ),
    Action(
        "waive_window",
        "登记企业书面放弃期限",
        "Record a written waiver",
        states=(*RESIDENT_STATES, EXIT_NOTICE),
        fields=(
            FormField(
                "window",
                "放弃的期限",
                "Window waived",
                "choice",
                choices=tuple((k, zh, en) for k, (zh, en) in WINDOWS.items()),
            ),
            FormField("waived_on", "书面放弃日期", "Date of the waiver", "date"),
            FormField("document", "文书编号", "Document reference"),
            FormField("violation", "违规记录编号", "Violation id", "int", required=False),
            REASON,
        ),
    ),
    Action(
        "record_benefit",
        "登记优惠政策",
        "Record a benefit",
        states=RESIDENT_STATES,
        fields=(
            FormField("kind", "优惠类型", "Kind", "choice", choices=BENEFIT_KINDS),
            FormField("amount_yuan", "金额（元）", "Amount (元)"),
            FormField("granted_on", "给予日期", "Granted on", "date"),
            FormField(
                "commitment_months", "承诺期（月）", "Commitment (months)", "int", required=False
            ),
            REASON,
        ),
        irreversible=False,
    ),
)
BY_TRIGGER: dict[str, Action] = {a.trigger: a for a in ACTIONS}
#: Left to other pages: a review's figures are a form of their own (the portal, the cycle
#: board's import).
ELSEWHERE = frozenset({"submit_review"})


def allowed(state: str) -> list[Action]:
    """The actions the table (or the record-only rule) allows in ``state``, in table order."""
    return [a for a in ACTIONS if a.allowed_in(state)]


def described(action: Action, state: str, rb: Rulebook | None = None) -> dict[str, Any]:
    """What the confirmation page says of ``action`` in ``state`` (its fields' choices from
    the tenancy's rulebook ``rb``, where they come from it)."""
    return {
        "trigger": action.trigger,
        "zh": action.zh,
        "en": action.en,
        "outcomes": action.outcomes(state),
        "record_only": not action.moves,
        "notices": action.notices,
        "fields": action.fields if rb is None else with_rulebook(action.fields, rb),
        "irreversible": action.irreversible,
    }


#: The forced-exit grounds the review decides by itself, not reported as a violation.
_DECIDED_BY_REVIEW = "review"


def with_rulebook(fields: tuple[FormField, ...], rb: Rulebook) -> tuple[FormField, ...]:
    """``fields`` with the choices that come from the rulebook filled in: the grounds in
    words, 中文 and English, so nobody types a code."""
    out = []
    for f in fields:
        if f.choices_from:
            triggers = [
                t
                for t in rb.triggers.values()
                if f.choices_from != "violations" or t.handling != _DECIDED_BY_REVIEW
            ]
            f = replace(f, choices=tuple((t.code, t.label_zh, t.label_en) for t in triggers))
        out.append(f)
    return tuple(out)
