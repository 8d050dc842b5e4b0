"""Decisions and their traces: which rule, which figures, what threshold, what result.

Every evaluation in this package returns a decision carrying a :class:`Trace`; ``to_dict()``
is JSON-safe (Decimals as exact strings, dates as ISO text) with a stable key order, so it can
be stored with the decision and shown to operators and firms as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lifecycle.rulebook._base import jsonable

PASS = "pass"
FAIL = "fail"


@dataclass(frozen=True)
class TraceStep:
    """One rule applied: ``result`` is ``"pass"`` / ``"fail"`` for tests, or the value computed
    (a score, a grade, an amount) for calculations; ``note`` says why, in English."""

    rule: str
    label_zh: str
    label_en: str
    figures: dict[str, Any] = field(default_factory=dict)
    threshold: Any = None
    result: Any = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "figures": jsonable(self.figures),
            "threshold": jsonable(self.threshold),
            "result": jsonable(self.result),
            "note": self.note,
        }


@dataclass(frozen=True)
class Trace:
    """The steps of one evaluation, under one rulebook version."""

    kind: str
    rulebook_version: str
    steps: tuple[TraceStep, ...] = ()

    def add(self, *steps: TraceStep) -> Trace:
        # Built directly: dataclasses.replace re-reads the fields on every call, and a
        # decision adds a dozen steps.
        return Trace(self.kind, self.rulebook_version, self.steps + steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rulebook_version": self.rulebook_version,
            "steps": [step.to_dict() for step in self.steps],
        }


@dataclass(frozen=True)
class RuleRef:
    """A rule named in a decision (a failed requirement, a met criterion)."""

    id: str
    label_zh: str
    label_en: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "label_zh": self.label_zh, "label_en": self.label_en}


@dataclass(frozen=True)
class Decision:
    """A yes/no decision: ``failures`` name the rules that failed, ``met`` the rules that were
    satisfied when any one suffices (graduation), ``reason`` is the first failure's label."""

    passed: bool
    trace: Trace
    failures: tuple[RuleRef, ...] = ()
    met: tuple[RuleRef, ...] = ()

    @property
    def reason(self) -> str | None:
        """The refusal reason in Chinese (then English), or None when passed."""
        if self.passed or not self.failures:
            return None
        return "；".join(f"{f.label_zh}（{f.label_en}）" for f in self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failures": [f.to_dict() for f in self.failures],
            "met": [m.to_dict() for m in self.met],
            "trace": self.trace.to_dict(),
        }


def step(
    ref: RuleRef,
    *,
    figures: dict[str, Any] | None = None,
    threshold: Any = None,
    result: Any = None,
    note: str = "",
) -> TraceStep:
    """A trace step for a rule given by reference."""
    return TraceStep(
        ref.id, ref.label_zh, ref.label_en, dict(figures or {}), threshold, result, note
    )
