"""What the applications pages call things: the steps of an application, its deadlines, and
the names inside a decision's trace, in Chinese and English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lifecycle.table import TRANSITIONS
from workflows.trace_words import TRACE_WORDS

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
