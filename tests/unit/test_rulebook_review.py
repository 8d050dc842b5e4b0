"""The annual review under the default rulebook: figures, items, grades, vetoes, cap."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.errors import InvalidInput
from lifecycle.rulebook import (
    ReviewDecision,
    Rulebook,
    Trace,
    apply_grade_cap,
    consequence_for,
    grade_for_score,
    parse_rulebook,
    score_review,
    validate_figures,
)
from workflows.queries_cycles_pages import reasons

DEFAULT = Path(__file__).resolve().parents[2] / "workflows" / "default_rulebook.toml"
RB: Rulebook = parse_rulebook(DEFAULT.read_text("utf-8"), "default_rulebook.toml")

# A firm worked through by hand (see test_golden_review_trace for every item).
FIGURES: dict[str, Any] = {
    "revenue_yuan": 3_000_000,
    "tax_paid_yuan": 250_000,
    "rd_spend_yuan": 240_000,
    "new_ip_count": 3,
    "high_tech_enterprise": True,
    "tech_sme": True,
    "specialized_new": False,
    "equity_raised_yuan": 1_000_000,
    "headcount": 30,
    "rd_staff": 9,
    "graduates_hired": 2,
    "rent_on_time": True,
    "safety_inspections_passed": True,
    "activities_attended": 2,
}
PREVIOUS: dict[str, Any] = {"revenue_yuan": 2_400_000, "tax_paid_yuan": 200_000}
AREA = 400
#: The review's due date and the day the figures arrived, four days before it.
DUE_ON = date(2025, 1, 14)
ON_TIME = {"submitted_on": date(2025, 1, 10), "due_on": DUE_ON}
#: The engine's facts for the year: the figures on time, one entry on a published list, no
#: deal yet.
FACTS = {"data_on_time": ON_TIME, "cooperation": {"published_entries": 1, "deals": 0}}
BEST_FACTS = {"data_on_time": ON_TIME, "cooperation": {"published_entries": 1, "deals": 1}}


def review(**kw: Any) -> ReviewDecision:
    args: dict[str, Any] = {
        "figures": FIGURES,
        "previous_figures": PREVIOUS,
        "leased_area_m2": AREA,
        "facts": FACTS,
    }
    args.update(kw)
    return score_review(RB, **args)


def items(decision: ReviewDecision) -> dict[str, Any]:
    return {
        s.rule.removeprefix("review.item."): s.result
        for s in decision.trace.steps
        if s.rule.startswith("review.item.")
    }


# --- figures --------------------------------------------------------------------------------


def test_validate_figures_normalises() -> None:
    out = validate_figures(RB, {**FIGURES, "net_profit_yuan": -120_000.5, "graduates_hired": None})
    assert out["revenue_yuan"] == Decimal(3_000_000)
    assert out["net_profit_yuan"] == Decimal("-120000.5")  # sign "any" allows a loss
    assert out["graduates_hired"] is None and out["high_tech_enterprise"] is True


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"turnover": 1}, "figures.turnover", "unknown metric"),
        ({"revenue_yuan": -1}, "figures.revenue_yuan", "must not be negative"),
        ({"headcount": -3}, "figures.headcount", "must not be negative"),
        ({"rent_on_time": 1}, "figures.rent_on_time", "must be yes/no"),
        ({"headcount": True}, "figures.headcount", "must be a number"),
        ({"revenue_yuan": float("nan")}, "figures.revenue_yuan", "finite"),
        ({"revenue_yuan": None}, "figures.revenue_yuan", "is required"),
        ({"headcount": 3.5}, "figures.headcount", "须为整数 / must be a whole number"),
        ({"rd_staff": "1.5"}, "figures.rd_staff", "须为整数"),
        ({"new_ip_count": Decimal("2.5")}, "figures.new_ip_count", "须为整数"),
        ({"graduates_hired": 0.1}, "figures.graduates_hired", "须为整数"),
        ({"activities_attended": 2.25}, "figures.activities_attended", "须为整数"),
    ],
)
def test_validate_figures_refuses(changes: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_figures(RB, {**FIGURES, **changes})
    assert info.value.field == field and rule in info.value.rule


def test_counts_of_people_and_patents_are_whole_numbers() -> None:
    """The default rulebook says which metrics count whole things (``integer = true``): a
    fraction of them is refused when submitted; a whole number written 3.0 is 3."""
    counts = {name for name, m in RB.metrics.items() if m.integer}
    assert counts == {
        "new_ip_count",
        "headcount",
        "rd_staff",
        "graduates_hired",
        "activities_attended",
        "cooperation",
    }
    assert {m.name for m in RB.metrics.values() if m.unit == "count"} == counts
    out = validate_figures(RB, {**FIGURES, "headcount": 3.0, "rd_staff": "2"})
    assert out["headcount"] == 3 and out["rd_staff"] == 2
    # figures on record (scored, simulated, a previous year) are read as they were accepted
    kept = validate_figures(RB, {"headcount": 3.5}, complete=False, on_record=True)
    assert kept == {"headcount": Decimal("3.5")}


def test_a_rulebook_stored_before_integer_existed_still_loads_and_takes_any_number() -> None:
    old = DEFAULT.read_text("utf-8").replace("integer = true\n", "")
    rb = parse_rulebook(old, "stored.toml")
    assert rb.version != RB.version and not any(m.integer for m in rb.metrics.values())
    assert validate_figures(rb, {**FIGURES, "headcount": 3.5})["headcount"] == Decimal("3.5")


def test_integer_is_for_a_count() -> None:
    text = DEFAULT.read_text("utf-8").replace(
        'name = "revenue_yuan"\nlabel_zh = "营业收入"\nlabel_en = "Revenue"\nunit = "yuan"\n',
        'name = "revenue_yuan"\nlabel_zh = "营业收入"\nlabel_en = "Revenue"\nunit = "yuan"\n'
        "integer = true\n",
    )
    assert text != DEFAULT.read_text("utf-8")
    with pytest.raises(Exception, match="integer = true"):
        parse_rulebook(text, "bad.toml")


def test_incomplete_figures_allowed_when_not_complete() -> None:
    assert validate_figures(RB, {"revenue_yuan": 5}, complete=False) == {"revenue_yuan": Decimal(5)}


# --- scoring items --------------------------------------------------------------------------


def test_worked_example() -> None:
    decision = review()
    assert items(decision) == {
        "revenue_growth": Decimal("10.00"),
        "tax_paid": Decimal("5.00"),
        "tax_per_m2": Decimal("10.00"),
        "rd_intensity": Decimal("8.00"),
        "new_ip": Decimal("6.00"),
        "high_tech_enterprise": Decimal("5.00"),
        "tech_sme": Decimal("2.00"),
        "specialized_new": Decimal("0.00"),
        "tax_growth": Decimal("8.00"),
        "equity_raised": Decimal("1.40"),
        "headcount": Decimal("2.40"),
        "rd_staff": Decimal("1.80"),
        "graduates_hired": Decimal("1.20"),
        "rent_on_time": Decimal("5.00"),
        "data_on_time": Decimal("3.00"),
        "safety_inspections": Decimal("3.00"),
        "space_activities": Decimal("1.00"),
        "cooperation": Decimal("1.00"),
    }
    assert decision.category_scores == {
        "economic": 25.0,
        "innovation": 21.0,
        "growth_financing": 9.4,
        "talent_jobs": 5.4,
        "compliance": 13.0,
    }
    assert decision.score == 73.8 and decision.grade == "C" and decision.consequence == "none"


@pytest.mark.parametrize(
    ("current", "previous", "points"),
    [
        (2_400_000, 2_400_000, "0.00"),  # flat
        (2_640_000, 2_400_000, "5.00"),  # +10 %: half of full marks
        (2_880_000, 2_400_000, "10.00"),  # +20 %: full
        (3_600_000, 2_400_000, "10.00"),  # +50 %: capped
        (1_200_000, 2_400_000, "0.00"),  # shrinking: nothing, never negative
        (1_000, 0, "10.00"),  # from zero
        (0, 0, "0.00"),
    ],
)
def test_growth_uses_previous_year(current: int, previous: int, points: str) -> None:
    decision = review(
        figures={**FIGURES, "revenue_yuan": current},
        previous_figures={**PREVIOUS, "revenue_yuan": previous},
    )
    assert items(decision)["revenue_growth"] == Decimal(points)


def test_growth_without_previous_year_gets_the_configured_share() -> None:
    decision = review(previous_figures=None)
    assert items(decision)["revenue_growth"] == Decimal("5.00")
    assert items(decision)["tax_growth"] == Decimal("4.00")


@pytest.mark.parametrize(("area", "points"), [(400, "10.00"), (1000, "5.00"), (0, "0.00")])
def test_tax_per_m2_uses_leased_area(area: int, points: str) -> None:
    assert items(review(leased_area_m2=area))["tax_per_m2"] == Decimal(points)


def test_rd_intensity_with_no_revenue() -> None:
    assert items(review(figures={**FIGURES, "revenue_yuan": 0}))["rd_intensity"] == Decimal(10)
    no_rd = {**FIGURES, "revenue_yuan": 0, "rd_spend_yuan": 0}
    assert items(review(figures=no_rd))["rd_intensity"] == Decimal(0)


def test_optional_metric_missing_scores_zero() -> None:
    figures = {k: v for k, v in FIGURES.items() if k != "equity_raised_yuan"}
    decision = review(figures=figures)
    step = next(s for s in decision.trace.steps if s.rule == "review.item.equity_raised")
    assert step.result == 0 and step.note == "equity_raised_yuan not reported"


def test_negative_leased_area_refused() -> None:
    with pytest.raises(InvalidInput):
        review(leased_area_m2=-1)


# --- grades ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (0, "D"),
        (59, "D"),
        ("59.99", "D"),
        (60, "C"),
        (74, "C"),
        ("74.99", "C"),
        (75, "B"),
        (84, "B"),
        ("84.99", "B"),
        (85, "A"),
        (100, "A"),
    ],
)
def test_grade_band_edges(score: object, grade: str) -> None:
    assert grade_for_score(RB, score) == grade


def test_grade_out_of_range() -> None:
    with pytest.raises(InvalidInput):
        grade_for_score(RB, 100.01)
    with pytest.raises(InvalidInput):
        grade_for_score(RB, -1)


def best_figures() -> dict[str, Any]:
    return {
        **FIGURES,
        "tax_paid_yuan": 600_000,
        "rd_spend_yuan": 400_000,
        "new_ip_count": 5,
        "specialized_new": True,
        "equity_raised_yuan": 5_000_000,
        "headcount": 50,
        "rd_staff": 15,
        "graduates_hired": 5,
        "activities_attended": 4,
    }


def test_full_marks() -> None:
    decision = review(figures=best_figures(), facts=BEST_FACTS)
    assert decision.score == 100.0 and decision.grade == "A"
    assert decision.consequence == "renewal_priority"


# --- cooperation, the metric the engine counts ------------------------------------------


def without_cooperation() -> Rulebook:
    """The default rulebook as it was before the cooperation metric (its points given back),
    when the firm answered data on time itself."""
    text = older_text()
    start = text.index('[[review.metrics]]\nname = "cooperation"')
    text = text[:start] + text[text.index("[[review.metrics]]", start + 1) :]
    lines = [line for line in text.splitlines() if 'id = "cooperation"' not in line]
    text = "\n".join(lines).replace(
        'points = 3, kind = "flag", metric = "data_on_time"',
        'points = 4, kind = "flag", metric = "data_on_time"',
    )
    text = text.replace(
        'points = 2, kind = "linear", metric = "activities_attended"',
        'points = 3, kind = "linear", metric = "activities_attended"',
    )
    return parse_rulebook(text, "without_cooperation.toml")


def test_cooperation_earns_its_points_and_the_trace_shows_the_count() -> None:
    decision = review(figures=best_figures(), facts=BEST_FACTS)
    assert items(decision)["cooperation"] == Decimal("2.00")
    fact = next(s for s in decision.trace.steps if s.rule == "review.fact.cooperation")
    assert fact.label_zh.startswith("机会清单合作") and fact.label_en.startswith("Opportunity")
    assert fact.figures == {"published_entries": 1, "deals": 1} and fact.result == 2


def test_the_trace_in_words_names_the_cooperation_count() -> None:
    trace = review(figures=best_figures(), facts=BEST_FACTS).trace.to_dict()
    fact = next(r for r in reasons(trace, RB) if r["label_zh"].startswith("机会清单合作"))
    assert fact["label_zh"] == "机会清单合作（当年发布条目及成交对接）"
    assert fact["figures_zh"] == "当年成交的对接 1；当年发布的机会清单条目 1"
    assert fact["figures_en"] == "introductions ending in a deal 1; entries on lists published 1"
    assert (fact["result_zh"], fact["result_en"]) == ("系统统计 2", "counted: 2")


@pytest.mark.parametrize(
    "facts",
    [
        {"data_on_time": ON_TIME},
        {"data_on_time": ON_TIME, "cooperation": {"published_entries": 0, "deals": 0}},
    ],
)
def test_no_cooperation_earns_none_of_its_points(facts: Any) -> None:
    decision = review(figures=best_figures(), facts=facts)
    assert items(decision)["cooperation"] == Decimal("0.00")
    assert decision.score == 98.0 and decision.grade == "A"


@pytest.mark.parametrize(("name", "value"), [("cooperation", 3), ("data_on_time", True)])
def test_a_fact_is_established_never_submitted(name: str, value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_figures(RB, {**FIGURES, name: value})
    assert info.value.field == f"figures.{name}" and info.value.rule.startswith("由系统统计")


def test_a_rulebook_without_the_metric_scores_as_before() -> None:
    rb = without_cooperation()
    assert "cooperation" not in rb.metrics and not rb.facts
    answered = {**FIGURES, "data_on_time": True}
    decision = score_review(
        rb, figures=answered, previous_figures=PREVIOUS, leased_area_m2=AREA, facts=BEST_FACTS
    )
    assert decision.score == 74.3 and decision.category_scores["compliance"] == 13.5
    assert not any(s.rule.startswith("review.fact.") for s in decision.trace.steps)
    best = score_review(
        rb,
        figures={**best_figures(), "data_on_time": True},
        previous_figures=PREVIOUS,
        leased_area_m2=AREA,
    )
    assert best.score == 100.0


@pytest.mark.parametrize(
    ("shipped", "changed", "says"),
    [
        ('unit = "count"\nfact = "cooperation"', 'unit = "yuan"\nfact = "cooperation"', "count"),
        ('unit = "count"\nfact = "cooperation"', 'unit = "bool"\nfact = "cooperation"', "count"),
        (
            'unit = "bool"\nfact = "submitted_on_time"',
            'unit = "count"\nfact = "submitted_on_time"',
            "'bool'",
        ),
        (
            'unit = "bool"\nfact = "submitted_on_time"',
            'unit = "bool"\nrequired = true\nfact = "submitted_on_time"',
            "not required",
        ),
    ],
)
def test_a_fact_metric_has_its_facts_unit_and_is_never_required(
    shipped: str, changed: str, says: str
) -> None:
    """Cooperation is a count, submitted on time yes/no; neither is ever required (the firm
    does not submit it)."""
    text = DEFAULT.read_text("utf-8")
    assert shipped in text
    with pytest.raises(Exception, match="a fact metric is established by the engine") as info:
        parse_rulebook(text.replace(shipped, changed), "bad.toml")
    assert says in str(info.value)


# --- data on time, the fact the engine establishes from the submission --------------------


def on_time_step(decision: ReviewDecision) -> Any:
    return next(s for s in decision.trace.steps if s.rule == "review.fact.data_on_time")


def test_figures_submitted_after_the_due_date_earn_nothing_for_data_on_time() -> None:
    late = {"submitted_on": date(2025, 1, 17), "due_on": DUE_ON}
    decision = review(figures=best_figures(), facts={**BEST_FACTS, "data_on_time": late})
    assert items(decision)["data_on_time"] == Decimal("0.00")
    assert decision.score == 97.0 and decision.grade == "A"
    step = on_time_step(decision)
    assert step.result is False
    assert step.figures == {"submitted_on": date(2025, 1, 17), "due_on": DUE_ON, "days_late": 3}
    assert (step.label_zh, step.label_en) == (
        "按时报送考核数据（不晚于截止日）",
        "Figures submitted by the due date",
    )


def test_figures_submitted_on_the_due_date_are_on_time() -> None:
    on_the_day = {"submitted_on": DUE_ON, "due_on": DUE_ON}
    decision = review(figures=best_figures(), facts={**BEST_FACTS, "data_on_time": on_the_day})
    assert items(decision)["data_on_time"] == Decimal("3.00") and decision.score == 100.0
    step = on_time_step(decision)
    assert step.result is True and step.figures["days_late"] == 0


def test_without_the_day_of_submission_the_figures_are_not_shown_on_time() -> None:
    decision = review(figures=best_figures(), facts={"cooperation": {"deals": 2}})
    assert items(decision)["data_on_time"] == Decimal("0.00")
    assert on_time_step(decision).figures == {"submitted_on": None, "due_on": None}
    # a review without a due date (none was set) is on time whenever it came in
    undated = {"submitted_on": date(2025, 3, 1), "due_on": None}
    decision = review(figures=best_figures(), facts={**BEST_FACTS, "data_on_time": undated})
    assert items(decision)["data_on_time"] == Decimal("3.00")


def test_the_trace_in_words_says_when_the_figures_came_and_how_late() -> None:
    late = {"submitted_on": date(2025, 1, 17), "due_on": DUE_ON}
    trace = review(facts={**FACTS, "data_on_time": late}).trace.to_dict()
    rows = reasons(trace, RB)
    fact = next(r for r in rows if r["label_zh"] == "按时报送考核数据（不晚于截止日）")
    assert fact["figures_zh"] == "报送日 2025-01-17；截止日 2025-01-14；逾期 3 天"
    assert fact["figures_en"] == "submitted on 2025-01-17; due on 2025-01-14; late by 3 days"
    assert (fact["result_zh"], fact["result_en"]) == ("系统判定：否", "established: no")
    item = next(r for r in rows if r["label_zh"] == "按时报送数据")
    assert item["figures_zh"] == "按时报送考核数据（不晚于截止日） 否"
    assert item["result_zh"] == "0.00 分（满分 3 分）"
    shown = " ".join(r[k] for r in rows for k in ("figures_zh", "figures_en", "result_zh"))
    assert "False" not in shown and "days_late" not in shown and "submitted_on" not in shown


def older_text() -> str:
    """The default rulebook as stored before data on time was established by the engine: the
    firm answered it yes or no, and had to."""
    shipped = DEFAULT.read_text("utf-8")
    text = shipped.replace(
        'unit = "bool"\nfact = "submitted_on_time"', 'unit = "bool"\nrequired = true'
    )
    assert text != shipped
    return text


def older_rulebook() -> Rulebook:
    return parse_rulebook(older_text(), "stored.toml")


def test_an_older_rulebook_still_scores_the_firms_own_answer() -> None:
    rb = older_rulebook()
    assert rb.version != RB.version and rb.metrics["data_on_time"].required
    assert list(rb.facts) == ["cooperation"]
    with pytest.raises(InvalidInput) as info:
        validate_figures(rb, FIGURES)
    assert info.value.field == "figures.data_on_time" and "is required" in info.value.rule
    late = {"submitted_on": date(2025, 1, 17), "due_on": DUE_ON}
    args: dict[str, Any] = {"previous_figures": PREVIOUS, "leased_area_m2": AREA}
    facts = {**BEST_FACTS, "data_on_time": late}  # not the rulebook's fact: not read
    yes = score_review(rb, figures={**best_figures(), "data_on_time": True}, facts=facts, **args)
    no = score_review(rb, figures={**best_figures(), "data_on_time": False}, facts=facts, **args)
    assert (yes.score, no.score) == (100.0, 97.0)
    assert not any(s.rule == "review.fact.data_on_time" for s in yes.trace.steps)


def test_figures_on_record_from_an_older_rulebook_are_scored_with_the_fact() -> None:
    """A review submitted under the older rulebook (the firm said yes) and decided under this
    one: the firm's answer is left out, the engine's fact is scored."""
    recorded = {**best_figures(), "data_on_time": True}
    kept = validate_figures(RB, recorded, on_record=True)
    assert "data_on_time" not in kept
    late = {"submitted_on": date(2025, 1, 17), "due_on": DUE_ON}
    decision = review(figures=recorded, facts={**BEST_FACTS, "data_on_time": late})
    assert items(decision)["data_on_time"] == Decimal("0.00")
    previous = review(
        figures=best_figures(),
        previous_figures={**PREVIOUS, "data_on_time": True},
        facts=BEST_FACTS,
    )
    assert previous.score == 100.0


@pytest.mark.parametrize("code", ["fraud", "major_accident", "credit_listing"])
def test_each_veto_gives_d(code: str) -> None:
    decision = review(figures=best_figures(), facts=BEST_FACTS, vetoes=[code])
    assert decision.score == 100.0 and decision.grade == "D" and decision.vetoed == (code,)
    assert decision.consequence == "rectification"
    step = next(s for s in decision.trace.steps if s.rule == f"review.veto.{code}")
    assert step.result == "fail"


@pytest.mark.parametrize(
    ("metric", "code"), [("major_accident", "major_accident"), ("credit_listed", "credit_listing")]
)
def test_veto_from_reported_metric(metric: str, code: str) -> None:
    decision = review(figures={**best_figures(), metric: True})
    assert decision.grade == "D" and decision.vetoed == (code,)
    assert review(figures={**best_figures(), metric: False}, facts=BEST_FACTS).grade == "A"


def test_unknown_veto_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        review(vetoes=["rudeness"])
    assert info.value.field == "vetoes" and "fraud" in info.value.rule


def test_missing_data_gives_d() -> None:
    decision = review(figures={}, submitted=False)
    assert decision.grade == "D" and decision.score == 0.0 and decision.missing_data
    assert decision.consequence == "rectification"
    step = next(s for s in decision.trace.steps if s.rule == "review.missing_data")
    assert step.result == "fail"


@pytest.mark.parametrize(
    ("grade", "previous", "consequence"),
    [
        ("A", None, "renewal_priority"),
        ("A", "D", "renewal_priority"),
        ("B", None, "none"),
        ("C", "D", "none"),
        ("D", None, "rectification"),
        ("D", "C", "rectification"),
        ("D", "D", "forced_exit"),
    ],
)
def test_consequences(grade: str, previous: str | None, consequence: str) -> None:
    assert consequence_for(RB, grade, previous) == consequence


def test_consequence_unknown_grade() -> None:
    with pytest.raises(InvalidInput):
        consequence_for(RB, "E", None)


def test_second_consecutive_d_is_forced_exit() -> None:
    decision = review(figures={}, submitted=False, previous_grade="D")
    assert decision.consequence == "forced_exit"
    assert decision.trace.steps[-1].rule == "review.consequence"
    assert decision.trace.steps[-1].result == "forced_exit"


# --- the A cap ------------------------------------------------------------------------------


def fake(score: float, grade: str | None = None, previous: str | None = None) -> ReviewDecision:
    grade = grade or grade_for_score(RB, score)
    return ReviewDecision(
        score,
        grade,
        consequence_for(RB, grade, previous),
        previous,
        (),
        False,
        {},
        Trace("review", RB.version),
    )


def test_cap_keeps_the_best_twenty_percent() -> None:
    cohort = [(f"f{i}", fake(s)) for i, s in enumerate([95, 90, 88, 86, 70, 65, 60, 50, 40, 30])]
    out = dict(apply_grade_cap(RB, cohort))
    assert [out[f"f{i}"].grade for i in range(4)] == ["A", "A", "B", "B"]
    assert out["f2"].consequence == "none"
    demoted = out["f2"].trace.steps[-2]
    assert demoted.rule == "review.grade_cap" and demoted.result == "B"
    assert demoted.figures["allowed"] == 2 and demoted.figures["cutoff"] == Decimal("88.00")
    kept = out["f0"].trace.steps[-1]
    assert kept.rule == "review.grade_cap" and kept.result == "A"
    assert [k for k, _ in apply_grade_cap(RB, cohort)] == [k for k, _ in cohort]


def test_cap_under_the_limit_changes_nothing() -> None:
    cohort = [(i, fake(s)) for i, s in enumerate([90, 70, 70, 70, 70])]
    out = apply_grade_cap(RB, cohort)
    assert [d.grade for _, d in out] == ["A", "C", "C", "C", "C"]


def test_cap_ties_at_the_cutoff_are_all_demoted() -> None:
    cohort = [(i, fake(s)) for i, s in enumerate([90, 88, 88, 60, 60, 60, 60, 60, 60, 60])]
    out = apply_grade_cap(RB, cohort)
    assert [d.grade for _, d in out][:3] == ["A", "B", "B"]


def test_cap_on_small_cohort_rounds_down() -> None:
    out = apply_grade_cap(RB, [(i, fake(s)) for i, s in enumerate([95, 70, 70])])
    assert out[0][1].grade == "B"  # 20 % of 3 is 0.6: no A


def test_demoted_d_history_keeps_consequence_logic() -> None:
    out = apply_grade_cap(RB, [(0, fake(90, previous="D")), (1, fake(91, previous="D"))])
    assert [d.grade for _, d in out] == ["B", "B"]
    assert {d.consequence for _, d in out} == {"none"}


# --- properties -----------------------------------------------------------------------------


def _metric_strategy(name: str) -> st.SearchStrategy[Any]:
    metric = RB.metrics[name]
    if metric.unit == "bool":
        return st.booleans()
    low = -(10**9) if metric.sign == "any" else 0
    return st.one_of(
        st.integers(low, 10**9),
        st.decimals(low, 10**9, places=2, allow_nan=False, allow_infinity=False),
    )


FIGURES_STRATEGY = st.fixed_dictionaries(
    {name: _metric_strategy(name) for name in RB.metrics if name not in RB.facts}
)
OPTIONAL_PREVIOUS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {}, optional={n: _metric_strategy(n) for n in ("revenue_yuan", "tax_paid_yuan")}
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    figures=FIGURES_STRATEGY,
    previous=OPTIONAL_PREVIOUS,
    area=st.decimals(0, 10_000, places=2),
    vetoes=st.sets(st.sampled_from(["fraud", "major_accident", "credit_listing"]), max_size=1),
    submitted=st.booleans(),
)
def test_score_always_between_0_and_100(
    figures: dict[str, Any],
    previous: dict[str, Any] | None,
    area: Decimal,
    vetoes: set[str],
    submitted: bool,
) -> None:
    decision = score_review(
        RB,
        figures=figures,
        previous_figures=previous,
        leased_area_m2=area,
        vetoes=vetoes,
        submitted=submitted,
    )
    assert 0 <= decision.score <= 100
    if submitted and not decision.vetoed:
        assert decision.grade == grade_for_score(RB, decision.score)
    else:
        assert decision.grade == "D"


def _rank(grade: str) -> int:
    return RB.grades[grade].min


@given(a=st.decimals(0, 100, places=2), b=st.decimals(0, 100, places=2))
def test_grade_monotone_in_score(a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert _rank(grade_for_score(RB, low)) <= _rank(grade_for_score(RB, high))


# --- golden ---------------------------------------------------------------------------------


def test_golden_review_trace() -> None:
    decision = review()
    assert decision.trace.to_dict() == {
        "kind": "review",
        "rulebook_version": RB.version,
        "steps": GOLDEN_REVIEW_STEPS,
    }


# Worked by hand: 10 + 5 + 10 | 8 + 6 + 5 + 2 + 0 | 8 + 1.4 | 2.4 + 1.8 + 1.2 | 5 + 3 + 3 + 1 + 1
# = 25 + 21 + 9.4 + 5.4 + 13 = 73.80 -> C (figures on time; cooperation: one published entry,
# no deal).
GOLDEN_REVIEW_STEPS: list[dict[str, Any]] = [
    {
        "rule": "review.fact.data_on_time",
        "label_zh": "按时报送考核数据（不晚于截止日）",
        "label_en": "Figures submitted by the due date",
        "figures": {"days_late": 0, "due_on": "2025-01-14", "submitted_on": "2025-01-10"},
        "threshold": None,
        "result": True,
        "note": "",
    },
    {
        "rule": "review.fact.cooperation",
        "label_zh": "机会清单合作（当年发布条目及成交对接）",
        "label_en": "Opportunity-list cooperation (entries published and deals made this year)",
        "figures": {"deals": 0, "published_entries": 1},
        "threshold": None,
        "result": "1",
        "note": "",
    },
    {
        "rule": "review.item.revenue_growth",
        "label_zh": "营业收入增长",
        "label_en": "Revenue growth",
        "figures": {
            "growth_percent": "25.00",
            "previous_revenue_yuan": "2400000",
            "revenue_yuan": "3000000",
        },
        "threshold": {"full_at_percent": "20", "no_previous_percent": 50, "points": 10},
        "result": "10.00",
        "note": "",
    },
    {
        "rule": "review.item.tax_paid",
        "label_zh": "实缴税收",
        "label_en": "Tax paid",
        "figures": {"tax_paid_yuan": "250000"},
        "threshold": {"full_at": "500000", "points": 10},
        "result": "5.00",
        "note": "",
    },
    {
        "rule": "review.item.tax_per_m2",
        "label_zh": "单位面积税收（按租赁面积）",
        "label_en": "Tax per m² of leased area",
        "figures": {"leased_area_m2": "400", "per_m2": "625.00", "tax_paid_yuan": "250000"},
        "threshold": {"full_at": "500", "points": 10},
        "result": "10.00",
        "note": "",
    },
    {
        "rule": "review.category.economic",
        "label_zh": "经济贡献",
        "label_en": "Economic contribution",
        "figures": {"revenue_growth": "10.00", "tax_paid": "5.00", "tax_per_m2": "10.00"},
        "threshold": {"weight": 30},
        "result": "25.00",
        "note": "",
    },
    {
        "rule": "review.item.rd_intensity",
        "label_zh": "研发投入强度",
        "label_en": "R&D intensity",
        "figures": {"percent": "8.00", "rd_spend_yuan": "240000", "revenue_yuan": "3000000"},
        "threshold": {"full_at_percent": "10", "points": 10},
        "result": "8.00",
        "note": "",
    },
    {
        "rule": "review.item.new_ip",
        "label_zh": "新增专利及软件著作权",
        "label_en": "New patents and software copyrights",
        "figures": {"new_ip_count": "3"},
        "threshold": {"full_at": "5", "points": 10},
        "result": "6.00",
        "note": "",
    },
    {
        "rule": "review.item.high_tech_enterprise",
        "label_zh": "高新技术企业资质",
        "label_en": "High-tech enterprise status",
        "figures": {"high_tech_enterprise": True},
        "threshold": {"points": 5},
        "result": "5.00",
        "note": "",
    },
    {
        "rule": "review.item.tech_sme",
        "label_zh": "科技型中小企业资质",
        "label_en": "Tech SME status",
        "figures": {"tech_sme": True},
        "threshold": {"points": 2},
        "result": "2.00",
        "note": "",
    },
    {
        "rule": "review.item.specialized_new",
        "label_zh": "专精特新资质",
        "label_en": "Specialized and innovative status",
        "figures": {"specialized_new": False},
        "threshold": {"points": 3},
        "result": "0.00",
        "note": "",
    },
    {
        "rule": "review.category.innovation",
        "label_zh": "创新能力",
        "label_en": "Innovation",
        "figures": {
            "high_tech_enterprise": "5.00",
            "new_ip": "6.00",
            "rd_intensity": "8.00",
            "specialized_new": "0.00",
            "tech_sme": "2.00",
        },
        "threshold": {"weight": 30},
        "result": "21.00",
        "note": "",
    },
    {
        "rule": "review.item.tax_growth",
        "label_zh": "税收同比增长（超过20%得满分）",
        "label_en": "Tax growth year on year (full marks above 20 %)",
        "figures": {
            "growth_percent": "25.00",
            "previous_tax_paid_yuan": "200000",
            "tax_paid_yuan": "250000",
        },
        "threshold": {"full_at_percent": "20", "no_previous_percent": 50, "points": 8},
        "result": "8.00",
        "note": "",
    },
    {
        "rule": "review.item.equity_raised",
        "label_zh": "股权融资",
        "label_en": "Equity raised",
        "figures": {"equity_raised_yuan": "1000000"},
        "threshold": {"full_at": "5000000", "points": 7},
        "result": "1.40",
        "note": "",
    },
    {
        "rule": "review.category.growth_financing",
        "label_zh": "成长性与融资",
        "label_en": "Growth & financing",
        "figures": {"equity_raised": "1.40", "tax_growth": "8.00"},
        "threshold": {"weight": 15},
        "result": "9.40",
        "note": "",
    },
    {
        "rule": "review.item.headcount",
        "label_zh": "从业人员",
        "label_en": "Headcount",
        "figures": {"headcount": "30"},
        "threshold": {"full_at": "50", "points": 4},
        "result": "2.40",
        "note": "",
    },
    {
        "rule": "review.item.rd_staff",
        "label_zh": "研发人员",
        "label_en": "R&D staff",
        "figures": {"rd_staff": "9"},
        "threshold": {"full_at": "15", "points": 3},
        "result": "1.80",
        "note": "",
    },
    {
        "rule": "review.item.graduates_hired",
        "label_zh": "吸纳应届毕业生",
        "label_en": "Graduates hired",
        "figures": {"graduates_hired": "2"},
        "threshold": {"full_at": "5", "points": 3},
        "result": "1.20",
        "note": "",
    },
    {
        "rule": "review.category.talent_jobs",
        "label_zh": "人才与就业",
        "label_en": "Talent & jobs",
        "figures": {"graduates_hired": "1.20", "headcount": "2.40", "rd_staff": "1.80"},
        "threshold": {"weight": 10},
        "result": "5.40",
        "note": "",
    },
    {
        "rule": "review.item.rent_on_time",
        "label_zh": "按时缴纳租金",
        "label_en": "Rent on time",
        "figures": {"rent_on_time": True},
        "threshold": {"points": 5},
        "result": "5.00",
        "note": "",
    },
    {
        "rule": "review.item.data_on_time",
        "label_zh": "按时报送数据",
        "label_en": "Data on time",
        "figures": {"data_on_time": True},
        "threshold": {"points": 3},
        "result": "3.00",
        "note": "",
    },
    {
        "rule": "review.item.safety_inspections",
        "label_zh": "安全检查",
        "label_en": "Safety inspections",
        "figures": {"safety_inspections_passed": True},
        "threshold": {"points": 3},
        "result": "3.00",
        "note": "",
    },
    {
        "rule": "review.item.space_activities",
        "label_zh": "参与空间活动",
        "label_en": "Space activities",
        "figures": {"activities_attended": "2"},
        "threshold": {"full_at": "4", "points": 2},
        "result": "1.00",
        "note": "",
    },
    {
        "rule": "review.item.cooperation",
        "label_zh": "机会清单合作对接",
        "label_en": "Cooperation through the opportunity lists",
        "figures": {"cooperation": "1"},
        "threshold": {"full_at": "2", "points": 2},
        "result": "1.00",
        "note": "",
    },
    {
        "rule": "review.category.compliance",
        "label_zh": "合规与配合",
        "label_en": "Compliance & cooperation",
        "figures": {
            "cooperation": "1.00",
            "data_on_time": "3.00",
            "rent_on_time": "5.00",
            "safety_inspections": "3.00",
            "space_activities": "1.00",
        },
        "threshold": {"weight": 15},
        "result": "13.00",
        "note": "",
    },
    {
        "rule": "review.grade",
        "label_zh": "考核等级",
        "label_en": "Grade",
        "figures": {"score": "73.80"},
        "threshold": {"A": [85, 100], "B": [75, 84], "C": [60, 74], "D": [0, 59]},
        "result": "C",
        "note": "",
    },
    {
        "rule": "review.missing_data",
        "label_zh": "按期报送考核数据",
        "label_en": "Data submitted on time",
        "figures": {"submitted": True},
        "threshold": "D",
        "result": "pass",
        "note": "",
    },
    {
        "rule": "review.veto.fraud",
        "label_zh": "弄虚作假",
        "label_en": "Fraud",
        "figures": {"raised": False},
        "threshold": "D",
        "result": "pass",
        "note": "",
    },
    {
        "rule": "review.veto.major_accident",
        "label_zh": "发生重大安全或环境事故",
        "label_en": "Major safety or environmental accident",
        "figures": {"major_accident": None, "raised": False},
        "threshold": "D",
        "result": "pass",
        "note": "",
    },
    {
        "rule": "review.veto.credit_listing",
        "label_zh": "被列入失信名单",
        "label_en": "Listed as dishonest (失信)",
        "figures": {"credit_listed": None, "raised": False},
        "threshold": "D",
        "result": "pass",
        "note": "",
    },
    {
        "rule": "review.consequence",
        "label_zh": "无",
        "label_en": "None",
        "figures": {"grade": "C", "previous_grade": None},
        "threshold": None,
        "result": "none",
        "note": "",
    },
]


# --- review dates (with the real working-day calendar) ---------------------------------------


def test_review_window_dates() -> None:
    from datetime import date

    from lifecycle.calendar import WorkCalendar
    from lifecycle.rulebook import quarterly_report_due_on, review_due_on, review_opens_on

    cal = WorkCalendar()
    assert review_opens_on(RB, cal, 2025) == date(2025, 1, 2)  # 1 January is a holiday
    assert review_due_on(RB, cal, opened_on=date(2025, 1, 2)) == date(2025, 1, 15)  # 10th wd
    assert review_due_on(RB, cal, opened_on=date(2025, 2, 10)) == date(2025, 2, 21)  # late: +9 wd
    assert [quarterly_report_due_on(RB, cal, year=2025, quarter=q) for q in (1, 2, 3, 4)] == [
        date(2025, 4, 15),
        date(2025, 7, 15),
        date(2025, 10, 15),
        date(2026, 1, 15),
    ]
    with pytest.raises(InvalidInput):
        quarterly_report_due_on(RB, cal, year=2025, quarter=5)


def test_review_decision_to_dict_is_json_safe() -> None:
    import json

    data = review().to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["grade"] == "C" and data["rulebook_version"] == RB.version
