"""The annual review (年度考核, RULEBOOK §3): figures, score, grade, vetoes, cap, consequence."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from lifecycle.errors import InvalidInput
from lifecycle.rulebook._base import FULL_SCORE, HUNDRED, plain, quantize, to_decimal
from lifecycle.rulebook.model import Rulebook
from lifecycle.rulebook.model_review import Consequence, Metric, ScoreItem
from lifecycle.rulebook.trace import FAIL, PASS, Trace, TraceStep

Figure = Decimal | bool | None
#: The largest magnitude a review figure may have (10^15: a thousand trillion 元, m², people);
#: a bigger one is a typing slip and would overflow the scoring arithmetic.
MAX_FIGURE = Decimal(10) ** 15
FIGURE_BOUND_RULE = "must be between -10^15 and 10^15"
WHOLE_NUMBER_RULE = "须为整数 / must be a whole number"
#: Why a figure of a metric the engine establishes itself (``Metric.fact``) is refused.
FACT_RULE = "由系统统计，无需填报 / counted by the engine, not submitted"
FACT_RULE_ZH, _, FACT_RULE_EN = FACT_RULE.partition(" / ")
K = TypeVar("K")


@dataclass(frozen=True)
class ReviewDecision:
    """``score`` is 0..100 rounded half-up to 0.01; the grade bands are applied to it."""

    score: float
    grade: str
    consequence: str
    previous_grade: str | None
    vetoed: tuple[str, ...]
    missing_data: bool
    category_scores: Mapping[str, float]
    trace: Trace

    @property
    def score_decimal(self) -> Decimal:
        return quantize(Decimal(repr(self.score)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "grade": self.grade,
            "consequence": self.consequence,
            "previous_grade": self.previous_grade,
            "vetoed": list(self.vetoed),
            "missing_data": self.missing_data,
            "category_scores": dict(sorted(self.category_scores.items())),
            "rulebook_version": self.trace.rulebook_version,
            "trace": self.trace.to_dict(),
        }


def validate_figures(
    rb: Rulebook, figures: Mapping[str, object], *, complete: bool = True, on_record: bool = False
) -> dict[str, Figure]:
    """Normalise submitted figures: numbers to exact Decimals, yes/no metrics to bool, None
    for not given. Unknown metrics, wrong types, negatives where the metric's sign forbids
    them, fractions of an ``integer`` metric and (when ``complete``) missing required metrics
    are :class:`InvalidInput` naming ``figures.<metric>``, and so is a figure of a metric the
    engine establishes (``Metric.fact``). ``on_record``: figures read back from the record to
    be scored (a review decided or simulated, a previous year, a graduation's years), accepted
    when they were submitted; a fraction stored before the whole-number rule is read as it
    stands, not refused again, and a figure the firm gave under an older rulebook for a metric
    this one establishes itself (``data_on_time`` before it became a fact) is left out: the
    engine's fact is scored instead."""
    out: dict[str, Figure] = {}
    for name, value in figures.items():
        metric = rb.metrics.get(name)
        if metric is None:
            raise InvalidInput(
                f"figures.{name}", f"unknown metric; metrics are {', '.join(rb.metrics)}"
            )
        if metric.fact is not None:
            if on_record:  # typed under an older rulebook: the engine's own fact is scored
                continue
            raise InvalidInput(f"figures.{name}", FACT_RULE)
        if value is None:
            out[name] = None
        elif metric.unit == "bool":
            if not isinstance(value, bool):
                raise InvalidInput(f"figures.{name}", "must be yes/no (true or false)", value)
            out[name] = value
        else:
            number = to_decimal(value, f"figures.{name}")
            if number.copy_abs() > MAX_FIGURE:  # no arithmetic: it could overflow
                raise InvalidInput(f"figures.{name}", FIGURE_BOUND_RULE, value)
            if metric.sign == "non_negative" and number < 0:
                raise InvalidInput(f"figures.{name}", "must not be negative", value)
            if metric.integer and not on_record and number != number.to_integral_value():
                raise InvalidInput(f"figures.{name}", WHOLE_NUMBER_RULE, value)
            # 1e3 is kept as 1000: a figure is shown to people as it is stored (one read back
            # from the record was written so when it was submitted).
            out[name] = number if on_record else plain(number)
    if complete:
        for metric in rb.review.metrics:
            if metric.required and out.get(metric.name) is None:
                raise InvalidInput(f"figures.{metric.name}", "is required")
    return out


def grade_for_score(rb: Rulebook, score: object) -> str:
    """The grade band holding ``score`` (``min <= score < max + 1``; the top band holds 100)."""
    value = to_decimal(score, "score")
    if not 0 <= value <= FULL_SCORE:
        raise InvalidInput("score", f"must be between 0 and {FULL_SCORE}", score)
    for band in rb.review.grades:
        if band.min <= value < band.max + 1 or value == band.max == FULL_SCORE:
            return band.grade
    raise InvalidInput("score", "is in no grade band", score)  # unreachable: bands cover 0..100


_ZERO, _ONE = Decimal(0), Decimal(1)  # immutable: shared by every item scored


def _number(value: Figure) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _fraction(
    item: ScoreItem, cur: Mapping[str, Figure], prev: Mapping[str, Figure] | None, area: Decimal
) -> tuple[Decimal, dict[str, Any], str]:
    """The share (0..1) of the item's points earned, the figures used and a note."""
    value = cur.get(item.metric)
    figures: dict[str, Any] = {item.metric: value}
    if item.kind == "flag":
        return (_ONE if value is True else _ZERO), figures, ""
    number = _number(value)
    if number is None:
        return _ZERO, figures, f"{item.metric} not reported"
    if item.kind == "linear":
        assert item.full_at is not None
        return number / item.full_at, figures, ""
    if item.kind == "per_leased_area":
        assert item.full_at is not None
        figures["leased_area_m2"] = area
        if area == 0:
            return _ZERO, figures, "no leased area"
        figures["per_m2"] = quantize(number / area)
        return number / area / item.full_at, figures, ""
    assert item.full_at_percent is not None
    if item.kind == "ratio":
        assert item.denominator is not None
        base = _number(cur.get(item.denominator))
        figures[item.denominator] = base
        if not base:
            full = number > 0
            return Decimal(int(full)), figures, f"{item.denominator} is zero or not reported"
        figures["percent"] = quantize(number / base * HUNDRED)
        return number / base * HUNDRED / item.full_at_percent, figures, ""
    # growth, year on year
    before = _number(prev.get(item.metric)) if prev is not None else None
    figures[f"previous_{item.metric}"] = before
    if before is None:
        assert item.no_previous_percent is not None
        return Decimal(item.no_previous_percent) / HUNDRED, figures, "no previous-year figure"
    if before == 0:
        return Decimal(int(number > 0)), figures, "previous-year figure is zero"
    growth = (number - before) / abs(before) * HUNDRED
    figures["growth_percent"] = quantize(growth)
    return growth / item.full_at_percent, figures, ""


def _item_points(
    item: ScoreItem, cur: Mapping[str, Figure], prev: Mapping[str, Figure] | None, area: Decimal
) -> TraceStep:
    share, figures, note = _fraction(item, cur, prev, area)
    share = min(max(share, _ZERO), _ONE)
    points = quantize(share * item.points)
    threshold: dict[str, Any] = {"points": item.points}
    for name in ("full_at", "full_at_percent", "no_previous_percent"):
        if getattr(item, name) is not None:
            threshold[name] = getattr(item, name)
    return TraceStep(
        f"review.item.{item.id}", item.label_zh, item.label_en, figures, threshold, points, note
    )


def _lowest(rb: Rulebook, grades: Sequence[str]) -> str:
    return min(grades, key=lambda g: rb.grades[g].min)


def consequence_rule(rb: Rulebook, grade: str, previous_grade: str | None) -> Consequence | None:
    for name, value in (("grade", grade), ("previous_grade", previous_grade)):
        if value is not None and value not in rb.grades:
            raise InvalidInput(name, f"must be one of {', '.join(rb.grades)}", value)
    rules = rb.review.consequences
    specific = [
        r
        for r in rules
        if r.grade == grade and r.previous_grade is not None and r.previous_grade == previous_grade
    ]
    general = [r for r in rules if r.grade == grade and r.previous_grade is None]
    found = specific or general
    return found[0] if found else None


def consequence_for(rb: Rulebook, grade: str, previous_grade: str | None = None) -> str:
    """``forced_exit`` | ``rectification`` | ``renewal_priority`` | ``none``, as the rulebook's
    ``review.consequences`` say (a rule for this grade after ``previous_grade`` wins)."""
    rule = consequence_rule(rb, grade, previous_grade)
    return "none" if rule is None else rule.action


def _consequence_step(rb: Rulebook, grade: str, previous_grade: str | None) -> TraceStep:
    rule = consequence_rule(rb, grade, previous_grade)
    zh, en = (rule.label_zh, rule.label_en) if rule else ("无", "None")
    return TraceStep(
        "review.consequence",
        zh,
        en,
        {"grade": grade, "previous_grade": previous_grade},
        None,
        rule.action if rule else "none",
    )


def fact_figure(metric: Metric, parts: Mapping[str, object]) -> tuple[Figure, dict[str, Any]]:
    """The figure of a metric the engine establishes (``metric.fact``) from the parts it
    gathered, and the parts the trace shows. ``cooperation``: the sum of its counts (none
    given: 0). ``submitted_on_time``: yes when the day the figures arrived (``submitted_on``,
    in the space's time zone) is on or before the day they were due (``due_on``; a review
    without a due date is on time), shown with the ``days_late`` (0 when on time); without the
    day they arrived the figures cannot be shown to be on time: no."""
    if metric.fact == "submitted_on_time":
        arrived, given = parts.get("submitted_on"), parts.get("due_on")
        due = given if isinstance(given, date) else None
        if not isinstance(arrived, date):
            return False, {"submitted_on": None, "due_on": due}
        late = max((arrived - due).days, 0) if due is not None else 0
        return late == 0, {"submitted_on": arrived, "due_on": due, "days_late": late}
    counts = {k: int(v) for k, v in parts.items() if isinstance(v, int)}
    return Decimal(sum(counts.values())), counts


def score_review(
    rb: Rulebook,
    *,
    figures: Mapping[str, object],
    previous_figures: Mapping[str, object] | None = None,
    leased_area_m2: object = 0,
    vetoes: Collection[str] = (),
    submitted: bool = True,
    previous_grade: str | None = None,
    recorded: Mapping[str, Sequence[int]] | None = None,
    facts: Mapping[str, Mapping[str, object]] | None = None,
) -> ReviewDecision:
    """Score one firm's year, on its figures as recorded (checked when they were submitted).
    Not submitted by the deadline: ``missing_data_grade`` with score 0.
    A veto (by code in ``vetoes``, by a yes/no veto metric reported true, or by a veto fact
    recorded during the period: ``recorded`` maps a veto code to the ids of the violations
    recorded with it, and the trace names them) gives ``veto_grade``; the worse of the grades
    applies. ``previous_grade`` is last year's grade. ``facts`` maps each metric the engine
    establishes (``rb.facts``) to its parts, and the trace shows them under the metric's label:
    for ``cooperation`` counts (``{"published_entries": 1, "deals": 2}``), the figure being their
    sum; for ``submitted_on_time`` the day the figures arrived and the day they were due
    (``{"submitted_on": date, "due_on": date}``), the figure being yes when the one is not after
    the other (:func:`fact_figure`)."""
    known = {v.code for v in rb.review.vetoes}
    if unknown := sorted(set(vetoes) - known):
        raise InvalidInput(
            "vetoes", f"unknown veto; vetoes are {', '.join(sorted(known))}", ", ".join(unknown)
        )
    if previous_grade is not None and previous_grade not in rb.grades:
        raise InvalidInput(
            "previous_grade", f"must be one of {', '.join(rb.grades)}", previous_grade
        )
    area = to_decimal(leased_area_m2, "leased_area_m2")
    if area < 0:
        raise InvalidInput("leased_area_m2", "must not be negative", leased_area_m2)
    trace = Trace("review", rb.version)
    # Figures scored are on record: refused at the door (``submit_review``, the import, the
    # portal) when a count is a fraction; a decision or a simulation never refuses them again.
    cur: dict[str, Figure] = (
        validate_figures(rb, figures, complete=submitted, on_record=True) if submitted else {}
    )
    prev = (
        validate_figures(rb, previous_figures, complete=False, on_record=True)
        if previous_figures
        else None
    )
    for name, metric in rb.facts.items() if submitted else ():
        cur[name], parts = fact_figure(metric, (facts or {}).get(name, {}))
        trace = trace.add(
            TraceStep(
                f"review.fact.{name}", metric.label_zh, metric.label_en, parts, None, cur[name]
            )
        )
    categories: dict[str, Decimal] = {}
    for category in rb.review.categories if submitted else ():
        steps = [_item_points(item, cur, prev, area) for item in category.items]
        categories[category.id] = sum((s.result for s in steps), _ZERO)
        trace = trace.add(
            *steps,
            TraceStep(
                f"review.category.{category.id}",
                category.label_zh,
                category.label_en,
                {s.rule.removeprefix("review.item."): s.result for s in steps},
                {"weight": category.weight},
                categories[category.id],
            ),
        )
    score = min(max(sum(categories.values(), _ZERO), _ZERO), Decimal(FULL_SCORE))
    score = quantize(score)
    candidates = [grade_for_score(rb, score)]
    trace = trace.add(
        TraceStep(
            "review.grade",
            "考核等级",
            "Grade",
            {"score": score},
            {g.grade: [g.min, g.max] for g in rb.review.grades},
            candidates[0],
        )
    )
    if not submitted:
        candidates.append(rb.review.missing_data_grade)
    trace = trace.add(
        TraceStep(
            "review.missing_data",
            "按期报送考核数据",
            "Data submitted on time",
            {"submitted": submitted},
            rb.review.missing_data_grade,
            PASS if submitted else FAIL,
        )
    )
    vetoed: list[str] = []
    for veto in rb.review.vetoes:
        by_metric = veto.metric is not None and cur.get(veto.metric) is True
        violations = list((recorded or {}).get(veto.code, ()))
        hit = veto.code in vetoes or by_metric or bool(violations)
        if hit:
            vetoed.append(veto.code)
        shown: dict[str, Any] = {"raised": veto.code in vetoes}
        if violations:
            shown["violations"] = violations
        if veto.metric is not None:
            shown[veto.metric] = cur.get(veto.metric)
        trace = trace.add(
            TraceStep(
                f"review.veto.{veto.code}",
                veto.label_zh,
                veto.label_en,
                shown,
                rb.review.veto_grade,
                FAIL if hit else PASS,
            )
        )
    if vetoed:
        candidates.append(rb.review.veto_grade)
    grade = _lowest(rb, candidates)
    trace = trace.add(_consequence_step(rb, grade, previous_grade))
    return ReviewDecision(
        float(score),
        grade,
        consequence_for(rb, grade, previous_grade),
        previous_grade,
        tuple(vetoed),
        not submitted,
        {k: float(v) for k, v in categories.items()},
        trace,
    )


def _allowed(count: int, percent: int, rounding: str) -> int:
    exact = Decimal(count * percent) / HUNDRED
    if rounding == "ceil":
        return math.ceil(exact)
    if rounding == "half_up":
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return math.floor(exact)


def grade_cap_allowance(rb: Rulebook, cohort: int) -> int | None:
    """How many of a cohort of ``cohort`` firms may keep the capped grade (None: no cap)."""
    cap = rb.review.grade_cap
    if isinstance(cohort, bool) or not isinstance(cohort, int) or cohort < 0:
        raise InvalidInput("cohort", "must be a whole number >= 0", cohort)
    return None if cap is None else _allowed(cohort, cap.max_percent, cap.rounding)


def apply_grade_cap(
    rb: Rulebook, decisions: Sequence[tuple[K, ReviewDecision]]
) -> list[tuple[K, ReviewDecision]]:
    """At most ``grade_cap.max_percent`` of the cohort keeps the capped grade, best scores
    first; firms tied at the cut-off are all demoted (no arbitrary tie-break). Every firm with
    the capped grade gets a ``review.grade_cap`` trace step; the input order is kept."""
    cap = rb.review.grade_cap
    if cap is None:
        return list(decisions)
    allowed = _allowed(len(decisions), cap.max_percent, cap.rounding)
    capped = sorted((d.score_decimal for _, d in decisions if d.grade == cap.grade), reverse=True)
    cutoff = capped[allowed] if len(capped) > allowed else None
    out: list[tuple[K, ReviewDecision]] = []
    for key, decision in decisions:
        if decision.grade != cap.grade:
            out.append((key, decision))
            continue
        keep = cutoff is None or decision.score_decimal > cutoff
        figures = {
            "score": decision.score_decimal,
            "cohort": len(decisions),
            "with_grade": len(capped),
            "allowed": allowed,
            "cutoff": cutoff,
        }
        step = TraceStep(
            "review.grade_cap",
            "优秀等级比例上限",
            "Cap on the share of top grades",
            figures,
            {"max_percent": cap.max_percent, "rounding": cap.rounding},
            decision.grade if keep else cap.demote_to,
        )
        if keep:
            out.append((key, replace(decision, trace=decision.trace.add(step))))
            continue
        consequence = _consequence_step(rb, cap.demote_to, decision.previous_grade)
        out.append(
            (
                key,
                replace(
                    decision,
                    grade=cap.demote_to,
                    consequence=consequence_for(rb, cap.demote_to, decision.previous_grade),
                    trace=decision.trace.add(step, consequence),
                ),
            )
        )
    return out
