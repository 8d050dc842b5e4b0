"""Graduation (毕业, RULEBOOK §5): the system detects eligibility, the operator verifies."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

from lifecycle.errors import InvalidInput
from lifecycle.rulebook._base import to_decimal
from lifecycle.rulebook.model import Rulebook
from lifecycle.rulebook.model_exit import GraduationCriterion
from lifecycle.rulebook.review import Figure, validate_figures
from lifecycle.rulebook.trace import FAIL, PASS, Decision, RuleRef, Trace, step


def _met(
    crit: GraduationCriterion,
    years: Mapping[int, Mapping[str, Figure]],
    qualifications: Collection[str],
    funding: Decimal,
    acquired_or_listed: bool,
) -> tuple[bool, dict[str, Any], Any]:
    if crit.kind == "qualification":
        assert crit.qualification is not None
        latest = years[max(years)] if years else {}
        held = crit.qualification in qualifications or latest.get(crit.qualification) is True
        return (
            held,
            {
                "qualifications": sorted(qualifications),
                crit.qualification: latest.get(crit.qualification),
            },
            crit.qualification,
        )
    if crit.kind == "funding":
        shown: dict[str, Any] = {"cumulative_funding_yuan": funding}
        if crit.metric is not None:
            series = {year: years[year].get(crit.metric) for year in sorted(years)}
            funding += sum((v for v in series.values() if isinstance(v, Decimal)), Decimal(0))
            shown = {
                "funding_before_yuan": shown["cumulative_funding_yuan"],
                crit.metric: series,
                "cumulative_funding_yuan": funding,
            }
        return funding > (crit.above_yuan or 0), shown, {"above_yuan": crit.above_yuan}
    if crit.kind == "acquired_or_listed":
        return acquired_or_listed, {"acquired_or_listed": acquired_or_listed}, True
    assert crit.metric is not None and crit.above_yuan is not None
    assert crit.consecutive_years is not None
    series = {year: years[year].get(crit.metric) for year in sorted(years)}
    run, best, ok = 0, 0, False
    previous: int | None = None
    for year, value in series.items():
        above = isinstance(value, Decimal) and value > crit.above_yuan
        run = (run + 1 if previous == year - 1 else 1) if above else 0
        previous = year if above else None
        best = max(best, run)
        ok = ok or run >= crit.consecutive_years
    threshold = {"above_yuan": crit.above_yuan, "consecutive_years": crit.consecutive_years}
    return ok, {crit.metric: series, "longest_run": best}, threshold


def graduation_eligibility(
    rb: Rulebook,
    *,
    figures_by_year: Mapping[int, Mapping[str, object]],
    qualifications: Collection[str] = (),
    cumulative_funding_yuan: object = 0,
    acquired_or_listed: bool = False,
) -> Decision:
    """Eligible when any one graduation criterion is met; ``met`` names those met.
    ``qualifications`` holds yes/no metric names held now (e.g. ``high_tech_enterprise``); the
    latest year's figures count too. ``figures_by_year`` maps a calendar year to its figures.
    ``cumulative_funding_yuan`` is funding not in those figures; a funding criterion naming a
    ``metric`` adds that metric summed over the years given."""
    years: dict[int, Mapping[str, Figure]] = {}
    for year, figures in figures_by_year.items():
        if isinstance(year, bool) or not isinstance(year, int):
            raise InvalidInput("figures_by_year", "keys must be calendar years", year)
        years[year] = validate_figures(rb, figures, complete=False, on_record=True)
    for name in qualifications:
        metric = rb.metrics.get(name)
        if metric is None or metric.unit != "bool":
            raise InvalidInput("qualifications", "unknown qualification", name)
    funding = to_decimal(cumulative_funding_yuan, "cumulative_funding_yuan")
    if funding < 0:
        raise InvalidInput("cumulative_funding_yuan", "must not be negative", funding)
    steps = []
    met: list[RuleRef] = []
    for crit in rb.exit.graduation.criteria:
        ok, figures, threshold = _met(crit, years, qualifications, funding, acquired_or_listed)
        ref = RuleRef(crit.id, crit.label_zh, crit.label_en)
        steps.append(step(ref, figures=figures, threshold=threshold, result=PASS if ok else FAIL))
        if ok:
            met.append(ref)
    failures = () if met else tuple(RuleRef(s.rule, s.label_zh, s.label_en) for s in steps)
    return Decision(
        passed=bool(met),
        trace=Trace("exit.graduation", rb.version, tuple(steps)),
        failures=failures,
        met=tuple(met),
    )
