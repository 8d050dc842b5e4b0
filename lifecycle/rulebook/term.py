"""Term (RULEBOOK §2): lease length, the incubation cap, extensions, area caps at signing."""

from __future__ import annotations

from datetime import date, timedelta

from lifecycle.errors import InvalidInput
from lifecycle.rulebook._base import add_months, to_decimal
from lifecycle.rulebook.model import Rulebook
from lifecycle.rulebook.trace import FAIL, PASS, Decision, RuleRef, Trace, TraceStep

_MIN = RuleRef("term.lease_min", "租期不短于最短租期", "Lease at least the minimum length")
_MAX = RuleRef("term.lease_max", "租期不超过最长租期", "Lease at most the maximum length")
_CAP = RuleRef("term.incubation_cap", "不超过孵化期上限", "Within the incubation cap")
_EXT_COUNT = RuleRef("term.extension_count", "延期次数不超过上限", "Extensions within their number")
_EXT_LEN = RuleRef("term.extension_length", "延期时长不超过上限", "Extension within its length")


def _decide(
    kind: str, rb: Rulebook, checks: list[tuple[RuleRef, bool, dict[str, object], object]]
) -> Decision:
    steps = tuple(
        TraceStep(
            ref.id, ref.label_zh, ref.label_en, dict(figures), threshold, PASS if ok else FAIL
        )
        for ref, ok, figures, threshold in checks
    )
    failures = tuple(ref for ref, ok, _, _ in checks if not ok)
    return Decision(passed=not failures, trace=Trace(kind, rb.version, steps), failures=failures)


def cap_end(rb: Rulebook, *, industry: str, entered_on: date) -> date:
    """The last day a firm that entered on ``entered_on`` may stay at incubation terms."""
    return add_months(entered_on, rb.incubation_cap_months(industry))


def lease_decision(
    rb: Rulebook,
    *,
    track: str,
    industry: str,
    term_start: date,
    term_end: date,
    entered_on: date | None = None,
) -> Decision:
    """A lease of ``lease_min_years``..``lease_max_years`` (an end on the day before the
    anniversary counts as whole years) ending no later than the incubation cap, counted from
    ``entered_on`` (default ``term_start``); the cap applies on every track."""
    rb.track(track)
    if term_end <= term_start:
        raise InvalidInput("term_end", "must be after term_start", term_end)
    term = rb.term
    shortest = add_months(term_start, 12 * term.lease_min_years) - timedelta(days=1)
    longest = add_months(term_start, 12 * term.lease_max_years)
    last = cap_end(rb, industry=industry, entered_on=entered_on or term_start)
    figures: dict[str, object] = {"term_start": term_start, "term_end": term_end}
    return _decide(
        "term.lease",
        rb,
        [
            (_MIN, term_end >= shortest, figures, {"lease_min_years": term.lease_min_years}),
            (_MAX, term_end <= longest, figures, {"lease_max_years": term.lease_max_years}),
            (
                _CAP,
                term_end <= last,
                {**figures, "industry": industry, "entered_on": entered_on or term_start},
                {"cap_months": rb.incubation_cap_months(industry), "cap_end": last},
            ),
        ],
    )


def check_lease(
    rb: Rulebook,
    *,
    track: str,
    industry: str,
    term_start: date,
    term_end: date,
    entered_on: date | None = None,
) -> Decision:
    """:func:`lease_decision`, raising :class:`InvalidInput` (field ``term_end``) if it fails."""
    decision = lease_decision(
        rb,
        track=track,
        industry=industry,
        term_start=term_start,
        term_end=term_end,
        entered_on=entered_on,
    )
    if not decision.passed:
        raise InvalidInput("term_end", _lease_refusal(decision), term_end.isoformat())
    return decision


def _lease_refusal(decision: Decision) -> str:
    """Each broken limit with its bound, Chinese first: "租期不超过最长租期（3 年，最晚到期
    2027-04-01） / Lease at most the maximum length (3 years, ending by 2027-04-01)" — the
    rule's name alone did not say how long a lease may be."""
    zh: list[str] = []
    en: list[str] = []
    failed = {f.id for f in decision.failures}
    for step in decision.trace.steps:
        if step.rule not in failed:
            continue
        bound = dict(step.threshold) if isinstance(step.threshold, dict) else {}
        start = step.figures.get("term_start")
        if step.rule == _MIN.id and isinstance(start, date):
            years = int(str(bound["lease_min_years"]))
            end = add_months(start, 12 * years) - timedelta(days=1)
            zh.append(f"{_MIN.label_zh}（{years} 年，最早到期 {end.isoformat()}）")
            en.append(f"{_MIN.label_en} ({years} years, ending on {end.isoformat()} or later)")
        elif step.rule == _MAX.id and isinstance(start, date):
            years = int(str(bound["lease_max_years"]))
            end = add_months(start, 12 * years)
            zh.append(f"{_MAX.label_zh}（{years} 年，最晚到期 {end.isoformat()}）")
            en.append(f"{_MAX.label_en} ({years} years, ending by {end.isoformat()})")
        elif step.rule == _CAP.id:
            last = bound.get("cap_end")
            shown = last.isoformat() if isinstance(last, date) else str(last)
            months = bound.get("cap_months")
            zh.append(f"{_CAP.label_zh}（{months} 个月，最晚到期 {shown}）")
            en.append(f"{_CAP.label_en} ({months} months, ending by {shown})")
    if not zh:
        return decision.reason or "租期不符合规则 / lease refused"
    return f"{'；'.join(zh)} / {'; '.join(en)}"


def check_extension(
    rb: Rulebook,
    *,
    industry: str,
    entered_on: date,
    current_end: date,
    new_end: date,
    extensions_so_far: int,
) -> Decision:
    """At most ``max_extensions`` extensions of at most ``extension_max_months`` each, inside
    the incubation cap; raises :class:`InvalidInput` (field ``new_end``) if refused."""
    if new_end <= current_end:
        raise InvalidInput("new_end", "must be after the current end", new_end)
    term = rb.term
    last = cap_end(rb, industry=industry, entered_on=entered_on)
    figures: dict[str, object] = {
        "current_end": current_end,
        "new_end": new_end,
        "extensions_so_far": extensions_so_far,
    }
    decision = _decide(
        "term.extension",
        rb,
        [
            (
                _EXT_COUNT,
                extensions_so_far < term.max_extensions,
                figures,
                {"max_extensions": term.max_extensions},
            ),
            (
                _EXT_LEN,
                new_end <= add_months(current_end, term.extension_max_months),
                figures,
                {"extension_max_months": term.extension_max_months},
            ),
            (_CAP, new_end <= last, figures, {"cap_end": last}),
        ],
    )
    if not decision.passed:
        raise InvalidInput("new_end", decision.reason or "extension refused", new_end.isoformat())
    return decision


def check_area(rb: Rulebook, *, track: str, area_m2: object) -> None:
    """Refuse (InvalidInput, field ``area_m2``) an allocation of no area (0 m² or less) or
    above the track's area cap."""
    cap = rb.track(track).max_area_m2
    area = to_decimal(area_m2, "area_m2")
    if area <= 0:
        raise InvalidInput("area_m2", "须大于 0 / must be greater than 0 (m²)", area_m2)
    if cap is not None and area > cap:
        raise InvalidInput("area_m2", f"track {track} allows at most {cap} m²", area_m2)
