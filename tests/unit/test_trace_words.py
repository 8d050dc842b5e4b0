"""Every name a decision's trace uses under the default rulebook has words for a person: the
console shows "同比增长（%） 25.00", never "growth_percent=25.00"."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from golden_figures import golden_figures

from entrypoints.demo_data import good_profile
from lifecycle.rulebook import (
    ApplicationProfile,
    Rulebook,
    Trace,
    apply_grade_cap,
    evaluate_hard_requirements,
    parse_rulebook,
    score_application,
    score_review,
)
from lifecycle.rulebook.admission import ReviewerScoreInput
from workflows.trace_words import TRACE_WORDS, trace_words

DEFAULT = Path(__file__).resolve().parents[2] / "workflows" / "default_rulebook.toml"
RB: Rulebook = parse_rulebook(DEFAULT.read_text("utf-8"), "default_rulebook.toml")
FIGURES = golden_figures()
ON = date(2025, 6, 2)
PROFILE = ApplicationProfile.model_validate(
    {**good_profile(ON), "uscc": "91510100MA61R7LN1Y", "name": "成都示例医疗科技有限公司"}
)


def _names(trace: Trace) -> set[str]:
    out: set[str] = set()
    for step in trace.steps:
        for part in (step.figures, step.threshold):
            if isinstance(part, dict):
                out |= {str(k) for k in part}
    return out - set(RB.grades)  # a grade is called by its letter


def _traces() -> list[Trace]:
    with_previous = score_review(
        RB,
        figures=FIGURES,
        previous_figures={"revenue_yuan": 2_400_000, "tax_paid_yuan": 200_000},
        leased_area_m2=400,
    )
    first_year = score_review(
        RB,
        figures=FIGURES,
        leased_area_m2=400,
        previous_grade="B",
        facts={
            "cooperation": {"published_entries": 1, "deals": 1},
            "data_on_time": {"submitted_on": date(2025, 1, 17), "due_on": date(2025, 1, 14)},
        },
    )
    missing = score_review(RB, figures={}, submitted=False)
    vetoed = score_review(RB, figures=FIGURES, leased_area_m2=400, vetoes=("major_accident",))
    capped = apply_grade_cap(RB, [(i, with_previous) for i in range(10)])
    sheet = dict.fromkeys((c.id for c in RB.admission.scoring.criteria), 1)
    panel = score_application(RB, [ReviewerScoreInput(f"r{i}", i == 0, sheet) for i in range(6)])
    screened = evaluate_hard_requirements(RB, PROFILE, on=ON)
    return [
        with_previous.trace,
        first_year.trace,
        missing.trace,
        vetoed.trace,
        *(d.trace for _, d in capped),
        panel.trace,
        screened.trace,
    ]


def test_every_name_in_a_trace_has_words() -> None:
    words = trace_words(RB)
    names = set().union(*(_names(t) for t in _traces()))
    assert {"growth_percent", "previous_revenue_yuan", "per_m2", "max_staff", "deals"} <= names
    assert {"submitted_on", "due_on", "days_late"} <= names  # when the figures came in
    assert sorted(names - set(words)) == []
    assert words["previous_revenue_yuan"] == ("上年营业收入", "Revenue (previous year)")


def test_without_a_rulebook_the_fixed_words_and_profile_fields_remain() -> None:
    words = trace_words(None)
    assert TRACE_WORDS.items() <= words.items()
    assert words["staff"][0] == "从业人员"


def _codes(value: object) -> set[str]:
    """The codes among a trace's values (``incubation``, ``medical_devices``, a profile
    field, a period's name), found in lists and mappings too."""
    if isinstance(value, str):
        return {value} if re.fullmatch(r"[a-z][a-z0-9_]*", value) else set()
    if isinstance(value, dict):
        return set().union(set(), *(_codes(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(set(), *(_codes(v) for v in value))
    return set()


def test_every_code_a_screening_trace_gives_as_a_value_has_words() -> None:
    """The console shows "入驻类别 孵化", not "入驻类别 incubation": a track, an industry, the
    profile's yes/no fields and a period's name, given as values, are words too."""
    words = trace_words(RB)
    screened = evaluate_hard_requirements(RB, PROFILE, on=ON).trace
    codes = set().union(
        *(_codes(part) for step in screened.steps for part in (step.figures, step.threshold))
    )
    assert {"incubation", "medical_devices", "prohibited_business"} <= codes
    assert sorted(codes - set(words)) == []
