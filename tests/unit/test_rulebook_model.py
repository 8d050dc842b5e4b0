"""The rulebook model: the default file loads, and every broken rulebook names its key path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import get_args

import pytest

from lifecycle.errors import InvalidInput, InvalidRulebook
from lifecycle.periods import Counting, Period, PeriodUnit
from lifecycle.rulebook import ApplicationProfile, Rulebook, describe, parse_rulebook
from lifecycle.rulebook.model import Periods, ProfileFlag

DEFAULT = Path(__file__).resolve().parents[2] / "workflows" / "default_rulebook.toml"
TEXT = DEFAULT.read_text("utf-8")


@pytest.fixture(scope="module")
def rb() -> Rulebook:
    return parse_rulebook(TEXT, "default_rulebook.toml")


def broken(old: str, new: str, count: int = 1) -> str:
    assert old in TEXT, f"fixture text not found: {old!r}"
    return TEXT.replace(old, new, count)


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRulebook) as info:
        parse_rulebook(text, "space.toml")
    assert info.value.source == "space.toml"
    assert "space.toml" in info.value.message
    return info.value.problems


def paths_of(text: str) -> list[str]:
    return [path for path, _ in problems_of(text)]


# --- the default rulebook -------------------------------------------------------------------


def test_default_rulebook_loads_with_meta(rb: Rulebook) -> None:
    assert rb.meta.timezone == "Asia/Shanghai"
    assert rb.meta.schema_version == 1
    assert rb.meta.name_zh.startswith("成都")


def test_version_is_sha256_of_text_and_text_is_kept(rb: Rulebook) -> None:
    assert rb.version == hashlib.sha256(TEXT.encode("utf-8")).hexdigest()
    assert rb.source_text == TEXT
    assert parse_rulebook(TEXT + "\n# comment\n").version != rb.version


def test_rulebook_built_from_data_has_a_content_version(rb: Rulebook) -> None:
    copy = Rulebook.model_validate(rb.model_dump())
    assert copy.source_text is None
    assert len(copy.version) == 64
    assert copy.version == Rulebook.model_validate(rb.model_dump()).version


REQUIRED_PERIODS = {
    "info_request_response": (10, PeriodUnit.WORKING_DAYS, Counting.CIVIL),
    "publicity": (5, PeriodUnit.WORKING_DAYS, Counting.INCLUSIVE),
    "objection_lodging": (5, PeriodUnit.WORKING_DAYS, Counting.INCLUSIVE),
    "agreement_signing": (10, PeriodUnit.WORKING_DAYS, Counting.CIVIL),
    "registration_after_signing": (30, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "review_quarterly_report": (15, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "rectification_plan": (10, PeriodUnit.WORKING_DAYS, Counting.CIVIL),
    "rectification": (90, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "rectification_extension_max": (30, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "objection_window": (5, PeriodUnit.WORKING_DAYS, Counting.CIVIL),
    "vacate": (30, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "vacate_immediate": (15, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "cure_notice": (15, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "arrears_demand": (15, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "delisting": (30, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
    "shell_dormancy": (3, PeriodUnit.MONTHS, Counting.CIVIL),
    "registration_move_out": (1, PeriodUnit.MONTHS, Counting.CIVIL),
    "deposit_claim": (3, PeriodUnit.MONTHS, Counting.CIVIL),
    "graduation_publicity": (5, PeriodUnit.WORKING_DAYS, Counting.INCLUSIVE),
    "graduation_leave": (6, PeriodUnit.MONTHS, Counting.CIVIL),
    "voluntary_notice": (2, PeriodUnit.MONTHS, Counting.CIVIL),
    "renewal_request": (2, PeriodUnit.MONTHS, Counting.CIVIL),
    "fraud_reapply_bar": (24, PeriodUnit.MONTHS, Counting.CIVIL),
}


@pytest.mark.parametrize("name", sorted(REQUIRED_PERIODS))
def test_required_periods_by_attribute_and_name(rb: Rulebook, name: str) -> None:
    amount, unit, counting = REQUIRED_PERIODS[name]
    period = getattr(rb.periods, name)
    assert (period.amount, period.unit, period.counting) == (amount, unit, counting)
    assert rb.periods.get(name) == period


def test_periods_model_requires_exactly_the_documented_keys() -> None:
    assert set(Periods.model_fields) == set(REQUIRED_PERIODS)


def test_extra_period_and_unknown_period(rb: Rulebook) -> None:
    assert rb.periods.get("sublet_objection") == Period.parse("6m")
    with pytest.raises(InvalidInput) as info:
        rb.periods.get("nope")
    assert info.value.field == "period" and "publicity" in info.value.rule


def test_tracks_and_term(rb: Rulebook) -> None:
    inc, acc = rb.track("incubation"), rb.track("acceleration")
    assert (inc.max_age_months, inc.max_area_m2, inc.max_prev_year_revenue_yuan) == (
        24,
        1000,
        2_000_000,
    )
    assert (acc.max_age_months, acc.max_area_m2, acc.max_prev_year_revenue_yuan) == (
        None,
        None,
        None,
    )
    assert rb.term.expiry_alert_days == (90, 60, 30)
    assert (rb.term.lease_min_years, rb.term.lease_max_years) == (1, 3)
    assert (rb.term.max_extensions, rb.term.extension_max_months) == (1, 12)
    with pytest.raises(InvalidInput):
        rb.track("seed")


@pytest.mark.parametrize(
    ("industry", "months"),
    [
        ("pharma", 60),
        ("medical_devices", 60),
        ("biomedicine", 60),
        ("integrated_circuits", 60),
        ("modern_agriculture", 60),
        ("health_services", 48),
        ("medical_big_data", 48),
        ("software", 48),
    ],
)
def test_incubation_cap_by_industry(rb: Rulebook, industry: str, months: int) -> None:
    assert rb.incubation_cap_months(industry) == months


def test_scoring_and_review_numbers(rb: Rulebook) -> None:
    sc = rb.admission.scoring
    assert [c.weight for c in sc.criteria] == [25, 25, 20, 15, 10, 5]
    assert (sc.min_reviewers, sc.trim_from, sc.pass_score, sc.priority_score) == (3, 5, 60, 80)
    assert [c.weight for c in rb.review.categories] == [30, 30, 15, 10, 15]
    assert {g.grade: (g.min, g.max) for g in rb.review.grades} == {
        "A": (85, 100),
        "B": (75, 84),
        "C": (60, 74),
        "D": (0, 59),
    }
    assert rb.review.grade_cap is not None and rb.review.grade_cap.max_percent == 20
    cal, rem = rb.review.calendar, rb.review.reminders
    assert (cal.open_month, cal.open_workday, cal.due_workday) == (1, 1, 10)
    assert (rem.before_workdays, rem.after_workdays) == ((5, 1), (1, 5))
    assert rem.escalate_to == "account_manager"


def test_profile_flags_match_application_profile() -> None:
    fields = ApplicationProfile.model_fields
    bools = {n for n, f in fields.items() if f.annotation in (bool, "bool")}
    assert bools == set(get_args(ProfileFlag))


def test_describe_both_languages(rb: Rulebook) -> None:
    zh, en = describe(rb, "zh-CN"), describe(rb, "en")
    assert "5个工作日（含首日）" in zh and "优秀" in zh and "H7" in zh
    assert "5 working days (first day included)" in en and "Excellent" in en
    assert rb.version[:12] in zh
    with pytest.raises(InvalidInput):
        describe(rb, "fr")


# --- invalid rulebooks name their key path ---------------------------------------------------


def test_criterion_weights_not_100() -> None:
    problems = problems_of(broken("weight = 25\nbands", "weight = 26\nbands"))
    assert (
        "admission.scoring.criteria",
        "criterion weights must sum to 100, got 26 + 25 + 20 + 15 + 10 + 5 = 101",
    ) in problems


def test_review_category_weights_not_100() -> None:
    text = broken(
        'label_en = "Talent & jobs"\nweight = 10', 'label_en = "Talent & jobs"\nweight = 11'
    )
    paths = paths_of(text)
    assert "review.categories" in paths
    assert "review.categories[3].items" in paths  # the items no longer add up to the weight


def test_overlapping_grade_bands() -> None:
    problems = problems_of(broken("min = 75", "min = 74"))
    assert problems == [("review.grades[1].min", "band overlaps review.grades[2] (74 <= 74)")]


def test_gap_in_grade_bands() -> None:
    problems = problems_of(broken("min = 75", "min = 77"))
    assert problems == [
        ("review.grades[1].min", "gap after review.grades[2]: nothing covers 75..76")
    ]


def test_grade_bands_must_reach_100() -> None:
    assert paths_of(broken("min = 85\nmax = 100", "min = 85\nmax = 99")) == ["review.grades[0].max"]


def test_criterion_bands_must_cover_the_weight() -> None:
    text = broken(
        '{ min = 4, max = 5, label_zh = "带动就业明显',
        '{ min = 5, max = 5, label_zh = "带动就业明显',
    )
    assert paths_of(text) == ["admission.scoring.criteria[5].bands[2].min"]


def test_unknown_metric_in_category() -> None:
    text = broken(
        'metric = "tax_paid_yuan", full_at = 500000', 'metric = "taxes", full_at = 500000'
    )
    assert problems_of(text) == [
        (
            "review.categories[0].items[1].metric",
            "unknown metric 'taxes'; define it under [[review.metrics]]",
        )
    ]


def test_unknown_metric_in_veto() -> None:
    text = broken('metric = "credit_listed"', 'metric = "blacklisted"')
    assert paths_of(text) == ["review.vetoes[2].metric"]


def test_veto_metric_must_be_yes_no() -> None:
    text = broken('metric = "credit_listed"', 'metric = "revenue_yuan"')
    assert problems_of(text)[0][1].endswith("must have unit 'bool', it has 'yuan'")


def test_unknown_metric_in_graduation_and_quarterly() -> None:
    text = broken('metric = "revenue_yuan"\nabove_yuan', 'metric = "turnover"\nabove_yuan')
    assert paths_of(text) == ["exit.graduation.criteria[2].metric"]
    text = broken('quarterly_metrics = ["revenue_yuan"', 'quarterly_metrics = ["sales"')
    assert paths_of(text) == ["review.calendar.quarterly_metrics[0]"]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("max_staff = 500", "max_staff = -5", "admission.requirements[1].max_staff"),
        ("max_area_m2 = 1000", "max_area_m2 = -1", "tracks.incubation.max_area_m2"),
        (
            "expiry_alert_days = [90, 60, 30]",
            "expiry_alert_days = [90, -60, 30]",
            "term.expiry_alert_days[1]",
        ),
        ("above_yuan = 5000000", "above_yuan = -1", "exit.graduation.criteria[1].above_yuan"),
        ("full_at = 500000", "full_at = -500000", "review.categories[0].items[1].full_at"),
    ],
)
def test_negative_numbers_refused(old: str, new: str, path: str) -> None:
    problems = problems_of(broken(old, new))
    assert problems[0][0] == path
    assert "greater than" in problems[0][1]


def test_duplicate_ids() -> None:
    assert paths_of(broken('id = "H8"', 'id = "H7"')) == ["admission.requirements[7]"]
    text = broken('code = "illegal_conduct"', 'code = "fraud"')
    assert "exit.triggers[1]" in paths_of(text)
    text = broken('name = "tax_paid_yuan"', 'name = "revenue_yuan"')
    assert "review.metrics[1]" in paths_of(text)


def test_min_reviewers_and_trim_from_floors() -> None:
    problems = problems_of(broken("min_reviewers = 3", "min_reviewers = 2"))
    assert problems == [
        (
            "admission.scoring.min_reviewers",
            "须不小于 3 / Input should be greater than or equal to 3 (got 2)",
        )
    ]
    assert paths_of(broken("trim_from = 5", "trim_from = 2")) == ["admission.scoring.trim_from"]


def test_bad_toml_syntax_names_the_table_and_line() -> None:
    problems = problems_of(
        broken("[review.calendar]\nopen_month = 1", "[review.calendar]\nopen_month = = 1")
    )
    assert len(problems) == 1
    path, message = problems[0]
    assert path == "review.calendar"
    assert message.startswith("TOML syntax error") and "line" in message


def test_bad_period_shorthand() -> None:
    problems = problems_of(broken('vacate = "30d"', 'vacate = "30 days"'))
    assert problems[0][0] == "periods.vacate" and "'<amount><wd|d|m>'" in problems[0][1]


def test_missing_required_period() -> None:
    problems = problems_of(broken('vacate = "30d"', ""))
    assert problems == [("periods.vacate", "必填 / Field required")]


def test_objection_lodging_must_equal_publicity() -> None:
    problems = problems_of(
        broken('objection_lodging = "5wd inclusive"', 'objection_lodging = "7wd inclusive"')
    )
    assert [p for p, _ in problems] == ["periods.objection_lodging"]


def test_unknown_period_reference() -> None:
    assert paths_of(broken('period = "cure_notice"', 'period = "cure"')) == [
        "exit.triggers[3].period"
    ]
    assert paths_of(broken('forced_immediate = "vacate_immediate"', 'forced_immediate = "x"')) == [
        "exit.vacate.forced_immediate"
    ]


def test_unknown_industry_and_extra_key() -> None:
    text = broken('"health_services", "medical_big_data"]', '"health_services", "fintech"]')
    assert paths_of(text) == ["admission.requirements[6].industries[3]"]
    text = broken("max_staff = 500", "max_staf = 500")
    assert (
        "admission.requirements[1].max_staf",
        "不认识的字段（拼写错误或多余） / Extra inputs are not permitted",
    ) in (problems_of(text))


def test_requirement_parameters_must_fit_the_check() -> None:
    text = broken('check = "uscc"', 'check = "uscc"\ncap = "max_area_m2"')
    assert problems_of(text) == [
        ("admission.requirements[0]", "取值无效 / check 'uscc' takes no cap")
    ]


def test_consequence_and_cap_grades_must_exist() -> None:
    assert paths_of(broken('demote_to = "B"', 'demote_to = "E"')) == ["review.grade_cap.demote_to"]
    assert paths_of(broken('veto_grade = "D"', 'veto_grade = "F"')) == ["review.veto_grade"]


def test_rectification_failure_trigger_must_exist() -> None:
    text = broken('failure_trigger = "failed_rectification"', 'failure_trigger = "oops"')
    assert paths_of(text) == ["rectification.failure_trigger"]


def test_several_problems_are_all_reported() -> None:
    text = broken('metric = "credit_listed"', 'metric = "blacklisted"')
    text = text.replace('veto_grade = "D"', 'veto_grade = "F"')
    assert set(paths_of(text)) == {"review.vetoes[2].metric", "review.veto_grade"}
