"""How a batch, a cycle and a sweep show what they did: one rule for every report dataclass."""

from __future__ import annotations

from collections import Counter
from dataclasses import fields
from typing import Any


def report_dict(report: Any, *, sort_counts: bool = True) -> dict[str, Any]:
    """The report's fields in their order, for JSON: counters as plain dicts (by key when
    ``sort_counts``), other dicts keyed by text, and ``seconds`` last, to the millisecond."""
    out: dict[str, Any] = {}
    for f in fields(report):
        if f.name != "seconds":
            out[f.name] = _plain(getattr(report, f.name), sort_counts)
    out["seconds"] = round(report.seconds, 3)
    return out


def _plain(value: Any, sort_counts: bool) -> Any:
    if isinstance(value, Counter):
        return dict(sorted(value.items())) if sort_counts else dict(value)
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return value
