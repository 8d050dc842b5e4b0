"""The message catalog: which messages exist, who receives them, what context each needs.

One row per message key the workflows and the scheduler emit. A message may go to several
audiences (``firm``, ``manager``, ``operators``) with different contexts — the deadline sweeps
reuse ``rectification_notice`` or ``exit_ruling`` as tasks for staff — so requirements and
sample contexts are kept per (message, audience) *variant*. Samples drive ``check_templates``,
``preview`` and the validation of operator overrides: every template must render against every
sample of its message, in every locale, under ``StrictUndefined``.

Legal notices (exit, ruling, rectification, cure, adverse review results) must state grounds,
rule, deadline and remedy; the shared layouts print those four sections whenever
:meth:`MessageSpec.is_legal` is true and fail to render if a template leaves one out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lifecycle.errors import NotFound
from lifecycle.table import ACTIVE

PARTS: dict[str, str] = {"subject": "subject.j2", "text": "txt.j2", "html": "html.j2"}
AUDIENCES = ("firm", "manager", "operators")
BASE_KEYS = ("firm", "space", "tenancy", "sent_on")  # what Work.notify always adds
# The four sections every legal notice prints (the layouts use these headings and the
# renderer refuses a legal notice whose text or HTML lacks one).
LEGAL_SECTIONS: dict[str, tuple[str, str, str, str]] = {
    "zh-CN": ("一、事实与理由", "二、依据", "三、期限", "四、救济途径"),
    "en": ("1. Grounds", "2. Rule applied", "3. Deadline", "4. Your remedies"),
}

BASE_SAMPLE: dict[str, Any] = {
    "firm": {
        "id": 7,
        "name": "成都蓉医生物科技有限公司",
        "uscc": "91510100MA61RXYZ3K",
        "contact_name": "李明",
        "email": "liming@rongyi-bio.example",
        "account_manager": "王芳",
    },
    "space": {"code": "wj-med", "name": "成都医学城三医创新中心"},
    "tenancy": {"id": 42, "state": ACTIVE},
    "sent_on": "2026-11-26",
}


@dataclass(frozen=True)
class Variant:
    """What one audience's copy of a message needs; samples are rendered by the checks."""

    required: tuple[str, ...]
    samples: tuple[Mapping[str, Any], ...]
    legal_required: tuple[str, ...] = ()
    base: tuple[str, ...] = BASE_KEYS

    def sample(self, index: int = 0) -> dict[str, Any]:
        base = {k: v for k, v in BASE_SAMPLE.items() if k in self.base}
        return {**base, **self.samples[index]}


Legal = bool | Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class MessageSpec:
    key: str
    variants: Mapping[str, Variant]
    legal: Legal = False
    doc: str = ""
    templates: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        names = {part: f"{self.key}.{suffix}" for part, suffix in PARTS.items()}
        object.__setattr__(self, "templates", MappingProxyType(names))

    @property
    def audiences(self) -> frozenset[str]:
        return frozenset(self.variants)

    def template(self, locale: str, part: str) -> str:
        """The file template name, e.g. ``zh-CN/exit_notice.txt.j2``."""
        return f"{locale}/{self.templates[part]}"

    def variant(self, audience: str) -> Variant:
        try:
            return self.variants[audience]
        except KeyError:
            raise NotFound("message audience", f"{self.key}/{audience}") from None

    def is_legal(self, context: Mapping[str, Any], audience: str = "firm") -> bool:
        """Legal notices go to the firm; staff copies of the same key are tasks."""
        if audience != "firm":
            return False
        return self.legal(context) if callable(self.legal) else self.legal

    def missing(self, context: Mapping[str, Any], audience: str) -> list[str]:
        v = self.variant(audience)
        keys = [*v.base, *v.required]
        if self.is_legal(context, audience):
            keys += v.legal_required
        return [k for k in keys if k not in context]


def _v(
    required: str, *samples: Mapping[str, Any], legal: str = "", base: tuple[str, ...] = BASE_KEYS
) -> Variant:
    return Variant(tuple(required.split()), samples or ({},), tuple(legal.split()), base)


def _firm(required: str, *samples: Mapping[str, Any], legal: str = "") -> dict[str, Variant]:
    return {"firm": _v(required, *samples, legal=legal)}


_RULE_RECT = {
    "rule": "《成都医学城三医创新中心入驻企业管理规则》第十二条（年度考核与整改）",
    "rule_en": "Tenant rules of the space, art. 12 (annual review and rectification)",
}
_REVIEW_TRACE: dict[str, Any] = {
    "kind": "review",
    "defects": ["研发投入强度 1.2%，低于 3%", "季度数据逾期两次"],
    "steps": [
        {
            "rule": "review.category.innovation",
            "label_zh": "创新能力",
            "label_en": "Innovation",
            "figures": {},
            "threshold": {"weight": 30},
            "result": "8.5",
            "note": "",
        },
        {
            "rule": "review.category.compliance",
            "label_zh": "合规与配合",
            "label_en": "Compliance & cooperation",
            "figures": {},
            "threshold": {"weight": 15},
            "result": "4",
            "note": "",
        },
        {
            "rule": "review.grade",
            "label_zh": "考核等级",
            "label_en": "Grade",
            "figures": {},
            "threshold": {},
            "result": "D",
            "note": "",
        },
        {
            "rule": "review.veto.credit_listing",
            "label_zh": "被列入失信名单",
            "label_en": "Listed as dishonest",
            "figures": {},
            "threshold": "D",
            "result": "fail",
            "note": "",
        },
    ],
}
ADVERSE_OUTCOMES = {"rectify": "rectification", "fail": "forced_exit"}


def _adverse_review(context: Mapping[str, Any]) -> bool:
    """A review result is a legal notice when it orders rectification or exit: the decided
    ``outcome`` (an operator may override the rulebook) wins over the rulebook's consequence."""
    outcome = context.get("outcome")
    if outcome is not None:
        return outcome in ADVERSE_OUTCOMES
    return context.get("consequence") in ADVERSE_OUTCOMES.values()


# The opportunity-list notices name no tenancy: an entry belongs to a firm in a space.
_ENTRY_BASE = ("firm", "space", "sent_on")
_ENTRY = {
    "id": 12,
    "title": "寻求与三甲医院开展临床技术合作",
    "kind_zh": "新场景",
    "kind_en": "new scenario (need)",
}

_DEFECTS = "2025年度研发投入强度低于3%；未按时报送季度数据"

SPECS: tuple[MessageSpec, ...] = (
    MessageSpec("application_received", _firm("track", {"track": "incubation"})),
    MessageSpec(
        "info_requested",
        _firm(
            "items due_on", {"items": "2025年度审计报告；知识产权权属证明", "due_on": "2026-12-04"}
        ),
    ),
    MessageSpec(
        "screening_result",
        _firm(
            "passed failures reason",
            {
                "passed": False,
                "reason": "H4 成立时间超过24个月",
                "failures": [
                    {
                        "id": "H4",
                        "label_zh": "成立时间不超过24个月",
                        "label_en": "firm at most 24 months old",
                    }
                ],
            },
            {"passed": True, "reason": None, "failures": []},
        ),
    ),
    MessageSpec(
        "scoring_result",
        _firm(
            "score passed",
            {"score": 82.5, "passed": True, "priority": True},
            {"score": 55.0, "passed": False, "reason": "专家评审平均分低于60分"},
        ),
    ),
    MessageSpec(
        "rejection_without_panel",
        _firm(
            "decided_by grounds min_reviewers reason",
            {
                "decided_by": "王芳",
                "grounds": "三次邀请的评审专家均因利益冲突回避，且申报项目不在招引需求清单内",
                "min_reviewers": 3,
                "reason": None,
            },
        ),
        legal=True,
        doc="a rejection without a valid panel: a named operator's decision with grounds",
    ),
    MessageSpec(
        "publicity_start",
        _firm(
            "from to period",
            {"from": "2026-12-30", "to": "2027-01-06", "period": "5个工作日（含首日）"},
        ),
    ),
    MessageSpec(
        "publicity_end", {"operators": _v("objection_pending", {"objection_pending": True})}
    ),
    MessageSpec(
        "objection_ruling",
        _firm(
            "upheld reason",
            {"upheld": True, "reason": "经核实，申请材料中的营收数据不实"},
            {"upheld": False, "reason": "异议所述情况经核查不属实"},
        ),
    ),
    MessageSpec(
        "admitted", _firm("sign_by period", {"sign_by": "2027-01-20", "period": "10个工作日"})
    ),
    MessageSpec(
        "agreement_lapse_warning", _firm("sign_by", {"sign_by": "2027-01-20", "days_left": 3})
    ),
    MessageSpec(
        "agreement_signed",
        _firm(
            "units area_m2 term_start term_end",
            {
                "units": ["A-301", "A-302"],
                "area_m2": 360.5,
                "term_start": "2027-02-01",
                "term_end": "2030-01-31",
            },
        ),
    ),
    MessageSpec("application_withdrawn", _firm("reason", {"reason": "企业主动撤回申请"})),
    MessageSpec("application_lapsed", _firm("reason", {"reason": "补充材料逾期未提交"})),
    MessageSpec("review_opened", _firm("period due_on", {"period": 2026, "due_on": "2027-01-15"})),
    MessageSpec(
        "review_received",
        _firm(
            "period received_on reported in_time",
            {
                "period": 2026,
                "received_on": "2027-01-08",
                "reported": 15,
                "due_on": "2027-01-15",
                "in_time": True,
            },
            {
                "period": 2026,
                "received_on": "2027-01-20",
                "reported": 12,
                "due_on": "2027-01-15",
                "in_time": False,
            },
        ),
    ),
    MessageSpec(
        "review_reminder",
        _firm(
            "period due_on offset",
            {"period": 2026, "due_on": "2027-01-15", "offset": -5},
            {"period": 2026, "due_on": "2027-01-15", "offset": 1},
        ),
    ),
    MessageSpec(
        "review_overdue",
        {
            "firm": _v("period due_on", {"period": 2026, "due_on": "2027-01-15"}),
            "manager": _v("period due_on", {"period": 2026, "due_on": "2027-01-15", "offset": 5}),
            # the rulebook's review.reminders.escalate_to may name operators instead
            "operators": _v("period due_on", {"period": 2026, "due_on": "2027-01-15", "offset": 5}),
        },
    ),
    MessageSpec(
        "quarterly_report_opened",
        _firm("year quarter due_on", {"year": 2026, "quarter": 3, "due_on": "2026-10-15"}),
        doc="a quarter is open for its light report (RULEBOOK §3)",
    ),
    MessageSpec(
        "quarterly_report_reminder",
        _firm(
            "year quarter due_on offset",
            {"year": 2026, "quarter": 3, "due_on": "2026-10-15", "offset": -1},
        ),
    ),
    MessageSpec(
        "quarterly_report_received",
        _firm(
            "year quarter received_on first_on due_on in_time corrected",
            {
                "year": 2026,
                "quarter": 3,
                "received_on": "2026-10-10",
                "first_on": "2026-10-10",
                "due_on": "2026-10-15",
                "in_time": True,
                "corrected": False,
            },
            {
                "year": 2026,
                "quarter": 3,
                "received_on": "2026-10-20",
                "first_on": "2026-10-18",
                "due_on": "2026-10-15",
                "in_time": False,
                "corrected": True,
            },
            {
                "year": 2026,
                "quarter": 4,
                "received_on": "2027-01-18",
                "first_on": "2027-01-18",
                "due_on": "2027-01-15",
                "in_time": True,
                "provisional": True,
                "corrected": False,
            },
        ),
    ),
    MessageSpec(
        "quarterly_report_overdue",
        {
            "operators": _v(
                "year quarter due_on", {"year": 2026, "quarter": 3, "due_on": "2026-10-15"}
            )
        },
    ),
    MessageSpec(
        "review_result",
        _firm(
            "period score grade consequence trace",
            {
                "period": 2026,
                "score": 52.0,
                "grade": "D",
                "consequence": "rectification",
                "outcome": "rectify",
                "trace": _REVIEW_TRACE,
                **_RULE_RECT,
            },
            {
                "period": 2026,
                "score": 88.5,
                "grade": "A",
                "consequence": "renewal_priority",
                "outcome": "pass",
                "trace": {},
            },
            legal="rule",
        ),
        legal=_adverse_review,
    ),
    MessageSpec(
        "rectification_notice",
        {
            "firm": _v(
                "defects plan_due_on due_on plan_period period",
                {
                    "defects": _DEFECTS,
                    "plan_due_on": "2027-02-26",
                    "due_on": "2027-05-12",
                    "plan_period": "10个工作日",
                    "period": "90日",
                    **_RULE_RECT,
                },
                legal="rule",
            ),
            "manager": _v("overdue due_on", {"overdue": "plan", "due_on": "2027-02-26"}),
        },
        legal=True,
    ),
    MessageSpec(
        "rectification_extended", _firm("due_on days", {"due_on": "2027-06-11", "days": 30})
    ),
    MessageSpec(
        "reinspection_result",
        {
            "firm": _v(
                "passed reason",
                {"passed": True, "reason": "整改事项已全部完成"},
                {"passed": False, "reason": "研发投入仍未达标"},
            ),
            "operators": _v(
                "task due_on passed reason",
                {
                    "task": "reinspection_due",
                    "due_on": "2027-05-12",
                    "passed": None,
                    "reason": None,
                },
            ),
        },
    ),
    MessageSpec(
        "cure_notice",
        _firm(
            "code label_zh label_en facts due_on period",
            {
                "code": "change_of_use",
                "label_zh": "擅自改变房屋用途",
                "label_en": "change of use",
                "facts": "2026年11月20日巡查发现A-302室被改作员工宿舍",
                "due_on": "2026-12-11",
                "period": "15日",
                "rule": "《入驻企业管理规则》第二十条（擅自改变用途或结构）",
                "rule_en": "Tenant rules, art. 20 (change of use or structure)",
            },
            legal="rule",
        ),
        legal=True,
    ),
    MessageSpec(
        "violation_cured",
        _firm(
            "violation code label_zh label_en facts cured_on note",
            {
                "violation": 12,
                "code": "arrears",
                "label_zh": "拖欠租金或费用",
                "label_en": "Rent or fee arrears",
                "facts": "2026年第三季度租金48,000元逾期未缴",
                "cured_on": "2026-12-05",
                "note": "已于2026年12月5日缴清，收据号 2026-1205-03",
            },
            {
                "violation": 13,
                "code": "change_of_use",
                "label_zh": "擅自改变房屋用途或结构",
                "label_en": "Changing use or structure",
                "facts": "A-302室被改作员工宿舍",
                "cured_on": "2026-12-08",
                "note": "",
            },
        ),
    ),
    MessageSpec(
        "exit_notice",
        _firm(
            "grounds grounds_zh grounds_en rule facts objection_due_on objection_period "
            "proof_of_service",
            {
                "grounds": "arrears",
                "grounds_zh": "拖欠租金及费用",
                "grounds_en": "rent arrears",
                "rule": "《入驻企业管理规则》第二十一条",
                "facts": "2026年7月至10月租金共计48,000元未缴",
                "objection_due_on": "2026-12-03",
                "objection_period": "5个工作日",
                "proof_of_service": "EMS 1234567890123，2026年11月26日签收",
            },
        ),
        legal=True,
    ),
    MessageSpec(
        "exit_ruling",
        {
            "firm": _v(
                "upheld reason",
                {
                    "upheld": False,
                    "reason": "陈述申辩期满未提出申辩，维持退出决定",
                    "vacate_due_on": "2027-01-02",
                    "period": "30日",
                    "grounds": "arrears",
                    "grounds_zh": "拖欠租金及费用",
                    "grounds_en": "rent arrears",
                    "facts": "2026年7月至10月租金共计48,000元未缴",
                    "rule": "《入驻企业管理规则》第二十一条",
                    "rule_en": "Tenant rules, art. 21",
                    "objection": None,
                },
                {
                    "upheld": False,
                    "reason": "申辩所称已缴清欠款与银行流水不符，维持退出决定",
                    "vacate_due_on": "2027-01-02",
                    "period": "30日",
                    "grounds": "arrears",
                    "grounds_zh": "拖欠租金及费用",
                    "grounds_en": "rent arrears",
                    "facts": "2026年7月至10月租金未缴",
                    "rule": "《入驻企业管理规则》第二十一条",
                    "objection": "欠款已于11月缴清",
                },
                {"upheld": True, "reason": "企业已于申辩期内缴清欠款，撤销退出决定"},
                legal="vacate_due_on period rule grounds_zh grounds_en facts",
            ),
            "operators": _v(
                "task upheld reason", {"task": "ruling_due", "upheld": None, "reason": None}
            ),
        },
        legal=lambda c: c.get("upheld") is False,
    ),
    MessageSpec(
        "exit_confirmed",
        _firm(
            "exit_type vacate_due_on period approved",
            {
                "exit_type": "voluntary",
                "vacate_due_on": "2027-02-28",
                "period": "3个月",
                "approved": True,
            },
            {
                "exit_type": "term_expiry",
                "vacate_due_on": "2027-02-28",
                "period": "30日",
                "approved": True,
            },
        ),
    ),
    MessageSpec(
        "graduation",
        _firm(
            "exit_type vacate_due_on period approved",
            {
                "exit_type": "graduation",
                "vacate_due_on": "2027-05-26",
                "period": "6个月",
                "approved": True,
            },
        ),
    ),
    MessageSpec(
        "graduation_publicity_start",
        {
            audience: _v(
                "from to period",
                {
                    "from": "2027-03-01",
                    "to": "2027-03-05",
                    "period": "5个工作日（含首日）",
                    "reason": "经核实已认定为高新技术企业",
                },
                {"from": "2027-03-01", "to": "2027-03-05", "period": "5个工作日（含首日）"},
            )
            for audience in ("firm", "operators")
        },
        doc="a verified graduation goes on public notice (firm and operators told)",
    ),
    MessageSpec(
        "graduation_publicity_end",
        {
            "operators": _v(
                "vacate_due_on period",
                {
                    "exit_type": "graduation",
                    "vacate_due_on": "2027-09-05",
                    "period": "6个月",
                    "approved": True,
                },
            )
        },
        doc="the graduation notice is over: the graduation exit has begun",
    ),
    MessageSpec(
        "vacate_overdue",
        {
            "firm": _v("vacate_due_on", {"vacate_due_on": "2027-01-02"}),
            "manager": _v("vacate_due_on", {"vacate_due_on": "2027-01-02"}),
        },
    ),
    MessageSpec(
        "handover_settlement",
        _firm(
            "settlement registration_move_out_by exit_type claim_by",
            {
                "settlement": {
                    "refund_yuan": "18499.50",
                    "deductions_yuan": "1500.50",
                    "clawback_yuan": "0.00",
                    "due_yuan": "0.00",
                    "deposit_forfeited": False,
                    "prepaid_rent_forfeited": False,
                },
                "registration_move_out_by": "2027-02-01",
                "claim_by": "2027-04-01",
                "exit_type": "forced",
            },
        ),
    ),
    MessageSpec(
        "term_expiry_warning",
        _firm("days_left term_end", {"days_left": 30, "term_end": "2027-01-31"}),
    ),
    MessageSpec(
        "operator_digest",
        {
            "operators": _v(
                "counts items",
                {
                    "space": {"code": "wj-med", "name": "成都医学城三医创新中心"},
                    "counts": {"pending_decisions": 3, "overdue_reviews": 2, "dead_messages": 1},
                    "items": [
                        {
                            "title": "[wj-med] 成都蓉医生物科技有限公司：陈述申辩期满待裁决",
                            "tenancy_id": 42,
                            "due_on": "2026-11-27",
                        },
                        {
                            "title": "<b>测试</b> 企业：整改复查到期",
                            "tenancy_id": 43,
                            "due_on": None,
                        },
                    ],
                },
                # The audit checkpoint, in the digest's form: about no space.
                {
                    "counts": {},
                    "items": [{"title": "审计检查点 / audit checkpoint 2026-11-26T08:30:00+08:00"}],
                },
                base=("sent_on",),
            )
        },
        doc="a space's operators' daily digest: what waits for them there (one a space "
        "with something waiting, none for a space with nothing; the audit checkpoint comes in "
        "its form, about no space)",
    ),
    MessageSpec(
        "opportunity_returned",
        {
            "firm": _v(
                "entry reason",
                {"entry": _ENTRY, "reason": "需求描述过于笼统，请补充合作方式和预算"},
                base=_ENTRY_BASE,
            )
        },
        doc="an opportunity-list entry returned to its firm with the reason",
    ),
    MessageSpec(
        "opportunity_accepted",
        {"firm": _v("entry", {"entry": _ENTRY}, base=_ENTRY_BASE)},
        doc="an opportunity-list entry accepted for the next list",
    ),
    MessageSpec(
        "opportunity_published",
        {
            "firm": _v(
                "entry list",
                {
                    "entry": _ENTRY,
                    "list": {"number": 5, "title": "温江区第5期城市机会清单", "n": 3},
                },
                base=_ENTRY_BASE,
            )
        },
        doc="a published list carries the firm's entry",
    ),
)

CATALOG: Mapping[str, MessageSpec] = MappingProxyType({s.key: s for s in SPECS})


def spec(key: str) -> MessageSpec:
    try:
        return CATALOG[key]
    except KeyError:
        raise NotFound("message", key) from None


def samples(key: str) -> list[tuple[str, dict[str, Any]]]:
    """Every (audience, sample context) of a message, in catalog order."""
    s = spec(key)
    return [(aud, v.sample(i)) for aud, v in s.variants.items() for i in range(len(v.samples))]
