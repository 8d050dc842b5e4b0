"""What the applications pages call things: the steps of an application, its deadlines, and
the names inside a decision's trace, in Chinese and English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows import vocabulary
from workflows.applications import APPLICATION_DEADLINES
from workflows.trace_words import TRACE_WORDS

#: The triggers the application page offers (the rest belong to the tenancy page).
APPLICATION_TRIGGERS = frozenset(
    {"screen_in", "screen_out", "request_info", "approve", "reject", "admit", "sign"}
)
#: Deadlines of an application, as a person names them.
DEADLINE_LABELS = {k: vocabulary.DEADLINES[k] for k in APPLICATION_DEADLINES}
#: What an audit step of an application is called.
TRIGGER_LABELS = vocabulary.APPLICATION_STEPS


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
