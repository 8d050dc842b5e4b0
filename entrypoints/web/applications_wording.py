"""What the applications pages call things: the steps of an application, its deadlines, and
the names inside a decision's trace, in Chinese and English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lifecycle.table import TRANSITIONS

#: The triggers the application page offers (the rest belong to the tenancy page).
APPLICATION_TRIGGERS = frozenset(
    {"screen_in", "screen_out", "request_info", "approve", "reject", "admit", "sign"}
)
#: Deadlines of an application, as a person names them.
DEADLINE_LABELS = {
    "info_request_lapse": ("补充材料截止", "information due"),
    "publicity_end": ("公示截止", "public notice ends"),
    "agreement_lapse": ("签约截止", "agreement due"),
}
#: What an audit step of an application is called (the table's transitions, and the steps
#: that record without changing the state).
TRIGGER_LABELS: dict[str, tuple[str, str]] = {
    **{t.trigger: (t.label_zh, t.label_en) for t in TRANSITIONS},
    "apply": ("提交入驻申请", "application filed"),
    "score": ("评审专家评分", "reviewer scored"),
    "assign_reviewer": ("分配评审专家", "reviewer assigned"),
    "unassign_reviewer": ("取消分配评审专家", "reviewer unassigned"),
    "lodge_objection": ("登记公示异议", "objection lodged"),
    "dismiss_objection": ("异议不成立", "objection dismissed"),
}
#: Names in a trace that are not profile fields or criteria.
TRACE_WORDS: dict[str, tuple[str, str]] = {
    "standard": ("标准", "standard"),
    "on": ("审查日", "on"),
    "age_months": ("成立月数", "age in months"),
    "latest_entry_on": ("最迟入驻日", "latest entry"),
    "max_age_months": ("成立月数上限", "max age in months"),
    "max_area_m2": ("面积上限（m²）", "max area (m²)"),
    "max_prev_year_revenue_yuan": ("上年营收上限（元）", "max previous-year revenue"),
    "max_staff": ("人数上限", "max staff"),
    "max_revenue_yuan": ("营收上限（元）", "max revenue"),
    "max_assets_yuan": ("资产上限（元）", "max assets"),
    "require_true": ("须为“是”", "must be yes"),
    "require_false": ("须为“否”", "must be no"),
    "industries": ("行业清单", "industries"),
    "period": ("期限", "period"),
    "barred_until": ("限制期至", "barred until"),
    "reviewer": ("评审专家", "reviewer"),
    "reviewers": ("评审人数", "reviewers"),
    "score": ("得分", "score"),
    "band": ("分数段", "band"),
    "excluded": ("回避", "excluded"),
    "dropped": ("去掉", "dropped"),
    "trim_from": ("去分起始人数", "trim from"),
    "trim_each_end": ("两端各去", "trim each end"),
    "mean": ("平均分", "mean"),
    "counted": ("计入", "counted"),
}


def wording(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The names a page shows for codes: tracks, choices, deadlines, steps, trace figures."""
    labels: dict[str, tuple[str, str]] = dict(TRACE_WORDS)
    labels |= {f["code"]: (f["label_zh"], f["label_en"]) for f in detail["profile"]}
    labels |= {c["id"]: (c["label_zh"], c["label_en"]) for c in detail["rubric"]["criteria"]}
    codes = {f["code"]: (f["label_zh"], f["label_en"]) for f in detail["profile"]}
    codes |= detail.get("choices", {})  # a field, a track or an industry named as a value
    return {
        "labels": labels,
        "tracks": detail.get("tracks", {}),
        "choice_labels": detail.get("choices", {}),
        "codes": codes,
        "deadline_labels": DEADLINE_LABELS,
        "trigger_labels": TRIGGER_LABELS,
        "application_triggers": APPLICATION_TRIGGERS,
    }
