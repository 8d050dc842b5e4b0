"""Rules that span the rulebook's tables, each problem reported with its key path.

Called from :class:`Rulebook`'s validator once every field has validated on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from lifecycle.rulebook._base import FULL_SCORE
from lifecycle.rulebook.model_exit import REQUIRED_TRIGGER_CODES

if TYPE_CHECKING:
    from lifecycle.rulebook.model import Rulebook

Problems = list[tuple[str, str]]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _Bounded(Protocol):
    @property
    def min(self) -> int: ...
    @property
    def max(self) -> int: ...


def problems(rb: Rulebook) -> Problems:
    out: Problems = []
    _periods(rb, out)
    _industries(rb, out)
    _term(rb, out)
    _admission(rb, out)
    _review(rb, out)
    _exit(rb, out)
    return out


def _duplicates(path: str, ids: Iterable[str], out: Problems, what: str = "id") -> None:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            out.append((f"{path}[{index}]", f"duplicate {what} {value!r}"))
        seen.add(value)


def _sum_is(path: str, values: Sequence[int], total: int, what: str, out: Problems) -> None:
    if sum(values) != total:
        shown = " + ".join(str(v) for v in values)
        out.append((path, f"{what} must sum to {total}, got {shown} = {sum(values)}"))


def _covers(path: str, bands: Sequence[_Bounded], low: int, high: int, out: Problems) -> None:
    """Bands (inclusive integer bounds) must be contiguous, non-overlapping, cover low..high."""
    order = sorted(range(len(bands)), key=lambda i: (bands[i].min, bands[i].max))
    if bands[order[0]].min != low:
        out.append((f"{path}[{order[0]}].min", f"the lowest band must start at {low}"))
    if bands[order[-1]].max != high:
        out.append((f"{path}[{order[-1]}].max", f"the highest band must end at {high}"))
    for prev, cur in zip(order, order[1:], strict=False):
        gap = bands[cur].min - bands[prev].max
        if gap < 1:
            out.append(
                (
                    f"{path}[{cur}].min",
                    f"band overlaps {path}[{prev}] ({bands[cur].min} <= {bands[prev].max})",
                )
            )
        elif gap > 1:
            out.append(
                (
                    f"{path}[{cur}].min",
                    f"gap after {path}[{prev}]: nothing covers "
                    f"{bands[prev].max + 1}..{bands[cur].min - 1}",
                )
            )


def _period_ref(rb: Rulebook, path: str, name: str | None, out: Problems) -> None:
    if name is not None and name not in rb.periods.names():
        out.append((path, f"unknown period {name!r}; define it under [periods]"))


def _periods(rb: Rulebook, out: Problems) -> None:
    for name in rb.periods.model_extra or {}:
        if not _NAME.match(name):
            out.append((f"periods.{name}", "period names are lower_snake_case"))
    if rb.periods.objection_lodging != rb.periods.publicity:
        out.append(
            (
                "periods.objection_lodging",
                "must equal periods.publicity (objections are "
                "lodged during publicity; later ones are late)",
            )
        )


def _industries(rb: Rulebook, out: Problems) -> None:
    codes = [i.code for i in rb.industries]
    _duplicates("industries", codes, out, "code")
    for index, industry in enumerate(rb.industries):
        if industry.parent is not None and industry.parent not in codes:
            out.append((f"industries[{index}].parent", f"unknown industry {industry.parent!r}"))
        elif _in_cycle(rb, industry.code):
            out.append((f"industries[{index}].parent", "industry parents form a cycle"))


def _in_cycle(rb: Rulebook, code: str) -> bool:
    parents = {i.code: i.parent for i in rb.industries}
    seen: set[str] = set()
    current: str | None = parents.get(code)
    while current is not None and current not in seen:
        if current == code:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _industry_refs(rb: Rulebook, path: str, refs: Sequence[str], out: Problems) -> None:
    known = {i.code for i in rb.industries}
    for index, code in enumerate(refs):
        if code not in known:
            out.append((f"{path}[{index}]", f"unknown industry {code!r}; add it to [[industries]]"))


def _term(rb: Rulebook, out: Problems) -> None:
    term = rb.term
    if term.extended_cap_months < term.incubation_cap_months:
        out.append(("term.extended_cap_months", "must not be below term.incubation_cap_months"))
    if term.lease_min_years > term.lease_max_years:
        out.append(("term.lease_min_years", "must not be above term.lease_max_years"))
    alerts = list(term.expiry_alert_days)
    if alerts != sorted(set(alerts), reverse=True):
        out.append(("term.expiry_alert_days", "must be distinct and in descending order"))
    _industry_refs(rb, "term.extended_cap_industries", term.extended_cap_industries, out)


def _admission(rb: Rulebook, out: Problems) -> None:
    reqs = rb.admission.requirements
    _duplicates("admission.requirements", [r.id for r in reqs], out)
    for index, req in enumerate(reqs):
        path = f"admission.requirements[{index}]"
        _period_ref(rb, f"{path}.period", req.period, out)
        _industry_refs(rb, f"{path}.industries", req.industries, out)
    scoring = rb.admission.scoring
    criteria = scoring.criteria
    _duplicates("admission.scoring.criteria", [c.id for c in criteria], out)
    _sum_is(
        "admission.scoring.criteria",
        [c.weight for c in criteria],
        FULL_SCORE,
        "criterion weights",
        out,
    )
    for index, criterion in enumerate(criteria):
        _covers(
            f"admission.scoring.criteria[{index}].bands", criterion.bands, 0, criterion.weight, out
        )
    if scoring.trim_from <= 2 * scoring.trim_each_end:
        out.append(
            (
                "admission.scoring.trim_from",
                "must leave at least one score after dropping trim_each_end from each end",
            )
        )
    if not scoring.pass_score <= scoring.priority_score <= FULL_SCORE:
        out.append(
            (
                "admission.scoring.priority_score",
                f"need pass_score <= priority_score <= {FULL_SCORE}",
            )
        )
    _duplicates("admission.objection_rules", [r.id for r in rb.admission.objection_rules], out)


def _metric_ref(
    rb: Rulebook,
    path: str,
    name: str | None,
    out: Problems,
    *,
    unit: str | None = None,
    numeric: bool = False,
) -> None:
    if name is None:
        return
    metric = rb.metrics.get(name)
    if metric is None:
        out.append((path, f"unknown metric {name!r}; define it under [[review.metrics]]"))
    elif unit is not None and metric.unit != unit:
        out.append((path, f"metric {name!r} must have unit {unit!r}, it has {metric.unit!r}"))
    elif numeric and metric.unit == "bool":
        out.append((path, f"metric {name!r} is yes/no; a number is needed here"))


def _grade_ref(rb: Rulebook, path: str, grade: str | None, out: Problems) -> None:
    if grade is not None and grade not in rb.grades:
        out.append((path, f"unknown grade {grade!r}; grades are {', '.join(rb.grades)}"))


def _review(rb: Rulebook, out: Problems) -> None:
    review = rb.review
    _duplicates("review.metrics", [m.name for m in review.metrics], out, "metric name")
    category_ids = [c.id for c in review.categories]
    _duplicates("review.categories", category_ids, out)
    for index, metric in enumerate(review.metrics):
        if metric.category is not None and metric.category not in category_ids:
            out.append(
                (f"review.metrics[{index}].category", f"unknown category {metric.category!r}")
            )
    for index, name in enumerate(review.calendar.quarterly_metrics):
        _metric_ref(rb, f"review.calendar.quarterly_metrics[{index}]", name, out, numeric=True)
        if name in rb.facts:
            out.append(
                (
                    f"review.calendar.quarterly_metrics[{index}]",
                    f"{name!r} is counted, not reported",
                )
            )
    _sum_is(
        "review.categories",
        [c.weight for c in review.categories],
        FULL_SCORE,
        "category weights",
        out,
    )
    item_ids: list[str] = []
    for ci, category in enumerate(review.categories):
        path = f"review.categories[{ci}].items"
        _sum_is(
            path,
            [i.points for i in category.items],
            category.weight,
            f"points of category {category.id!r}",
            out,
        )
        for ii, item in enumerate(category.items):
            item_ids.append(item.id)
            flag = item.kind == "flag"
            _metric_ref(
                rb,
                f"{path}[{ii}].metric",
                item.metric,
                out,
                unit="bool" if flag else None,
                numeric=not flag,
            )
            _metric_ref(rb, f"{path}[{ii}].denominator", item.denominator, out, numeric=True)
    _duplicates("review.categories[*].items", item_ids, out)
    _duplicates("review.grades", [g.grade for g in review.grades], out, "grade")
    _covers("review.grades", review.grades, 0, FULL_SCORE, out)
    if review.grade_cap is not None:
        _grade_ref(rb, "review.grade_cap.grade", review.grade_cap.grade, out)
        _grade_ref(rb, "review.grade_cap.demote_to", review.grade_cap.demote_to, out)
    _duplicates("review.vetoes", [v.code for v in review.vetoes], out, "code")
    for index, veto in enumerate(review.vetoes):
        _metric_ref(rb, f"review.vetoes[{index}].metric", veto.metric, out, unit="bool")
    _grade_ref(rb, "review.veto_grade", review.veto_grade, out)
    _grade_ref(rb, "review.missing_data_grade", review.missing_data_grade, out)
    seen: set[tuple[str, str | None]] = set()
    for index, rule in enumerate(review.consequences):
        _grade_ref(rb, f"review.consequences[{index}].grade", rule.grade, out)
        _grade_ref(rb, f"review.consequences[{index}].previous_grade", rule.previous_grade, out)
        if (rule.grade, rule.previous_grade) in seen:
            out.append((f"review.consequences[{index}]", "duplicate grade/previous_grade pair"))
        seen.add((rule.grade, rule.previous_grade))
    reminders = review.reminders
    if reminders.after_workdays and (
        reminders.escalate_from_after_index >= len(reminders.after_workdays)
    ):
        out.append(
            (
                "review.reminders.escalate_from_after_index",
                "must index into review.reminders.after_workdays",
            )
        )


def _exit(rb: Rulebook, out: Problems) -> None:
    exit_ = rb.exit
    _duplicates("exit.triggers", [t.code for t in exit_.triggers], out, "code")
    for index, trig in enumerate(exit_.triggers):
        path = f"exit.triggers[{index}]"
        _period_ref(rb, f"{path}.period", trig.period, out)
        _period_ref(rb, f"{path}.act_within", trig.act_within, out)
        _period_ref(rb, f"{path}.reapply_bar", trig.reapply_bar, out)
    for code in REQUIRED_TRIGGER_CODES:
        if code not in rb.triggers:
            out.append(
                (
                    f"exit.triggers.{code}",
                    f"required trigger missing: the workflows open forced exits on {code!r}; "
                    f'add an [[exit.triggers]] with code = "{code}"',
                )
            )
    if rb.rectification.failure_trigger not in rb.triggers:
        out.append(
            (
                "rectification.failure_trigger",
                f"unknown trigger {rb.rectification.failure_trigger!r}",
            )
        )
    _duplicates("exit.procedure", [s.step for s in exit_.procedure], out, "step")
    for index, step in enumerate(exit_.procedure):
        _period_ref(rb, f"exit.procedure[{index}].period", step.period, out)
    for name, value in exit_.vacate:
        _period_ref(rb, f"exit.vacate.{name}", value, out)
    criteria = exit_.graduation.criteria
    _duplicates("exit.graduation.criteria", [c.id for c in criteria], out)
    for index, crit in enumerate(criteria):
        path = f"exit.graduation.criteria[{index}]"
        _metric_ref(rb, f"{path}.qualification", crit.qualification, out, unit="bool")
        _metric_ref(rb, f"{path}.metric", crit.metric, out, numeric=True)
    _duplicates(
        "after_exit.benefit_kinds", [k.code for k in rb.after_exit.benefit_kinds], out, "code"
    )
