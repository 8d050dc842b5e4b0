"""Admission under the default rulebook: hard requirements, scoring, objections, term checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from lifecycle.errors import InvalidInput
from lifecycle.rulebook import (
    ApplicationProfile,
    ReviewerScoreInput,
    Rulebook,
    check_area,
    check_extension,
    check_lease,
    evaluate_hard_requirements,
    lease_decision,
    objection_acceptable,
    parse_rulebook,
    reviewer_total,
    score_application,
)

DEFAULT = Path(__file__).resolve().parents[2] / "workflows" / "default_rulebook.toml"
VALID_USCC = "91510100MA6CA12345"
ON = date(2025, 6, 2)


@pytest.fixture(scope="module")
def rb() -> Rulebook:
    return parse_rulebook(DEFAULT.read_text("utf-8"), "default_rulebook.toml")


def profile(**changes: Any) -> ApplicationProfile:
    data: dict[str, Any] = {
        "uscc": VALID_USCC,
        "name": "成都示例医疗科技有限公司",
        "founded_on": date(2024, 3, 1),
        "staff": 12,
        "revenue_yuan": 800_000,
        "assets_yuan": 3_000_000,
        "prev_year_revenue_yuan": 600_000,
        "requested_area_m2": 240,
        "industry": "pharma",
        "track": "incubation",
        "prohibited_business": False,
        "major_incident_recent": False,
        "abnormal_operations_listed": False,
        "serious_dishonest_listed": False,
        "dishonest_executee": False,
        "ip_ownership_clear": True,
        "env_fire_safety_approved": True,
        "water_intensive_or_polluting": False,
        "will_register_in_space": True,
    }
    data.update(changes)
    return ApplicationProfile.model_validate(data)


def failed_ids(rb: Rulebook, p: ApplicationProfile, **kw: Any) -> list[str]:
    decision = evaluate_hard_requirements(rb, p, on=kw.pop("on", ON), **kw)
    assert decision.passed == (not decision.failures)
    return [f.id for f in decision.failures]


# --- hard requirements ----------------------------------------------------------------------


def test_a_good_applicant_passes_every_requirement(rb: Rulebook) -> None:
    decision = evaluate_hard_requirements(rb, profile(), on=ON)
    assert decision.passed and decision.reason is None
    assert [s.rule for s in decision.trace.steps] == [
        "H1",
        "H2",
        "H3",
        "H4",
        "H5",
        "H6",
        "H7",
        "H8",
        "R1",
    ]
    assert {s.result for s in decision.trace.steps} == {"pass"}


@pytest.mark.parametrize(
    ("changes", "failed"),
    [
        ({"uscc": "91510100MA6CA12340"}, "H1"),  # wrong check character
        ({"uscc": "123"}, "H1"),
        ({"staff": 501}, "H2"),
        ({"revenue_yuan": 200_000_001}, "H2"),
        ({"assets_yuan": 200_000_001}, "H2"),
        ({"prohibited_business": True}, "H2"),
        ({"major_incident_recent": True}, "H2"),
        ({"abnormal_operations_listed": True}, "H2"),
        ({"serious_dishonest_listed": True}, "H2"),
        ({"dishonest_executee": True}, "H2"),
        ({"will_register_in_space": False}, "H3"),
        ({"founded_on": date(2023, 6, 1)}, "H4"),  # 24 months and a day on ON
        ({"requested_area_m2": "1000.5"}, "H5"),
        ({"prev_year_revenue_yuan": 2_000_001}, "H6"),
        ({"ip_ownership_clear": False}, "H7"),
        ({"industry": "fintech"}, "H7"),
        (
            {"industry": "integrated_circuits"},
            "H7",
        ),  # extended cap, but not on this recruitment list
        ({"env_fire_safety_approved": False}, "H8"),
        ({"water_intensive_or_polluting": True}, "H8"),
    ],
)
def test_each_requirement_fails_alone(rb: Rulebook, changes: dict[str, Any], failed: str) -> None:
    assert failed_ids(rb, profile(**changes)) == [failed]


@pytest.mark.parametrize(
    "changes",
    [
        {"staff": 500},
        {"revenue_yuan": 200_000_000},
        {"assets_yuan": 200_000_000},
        {"founded_on": date(2023, 6, 2)},  # exactly 24 months on ON
        {"requested_area_m2": 1000},
        {"prev_year_revenue_yuan": 2_000_000},
        {"industry": "medical_devices"},
        {"industry": "health_services"},
        {"industry": "medical_big_data"},
    ],
)
def test_limits_are_inclusive(rb: Rulebook, changes: dict[str, Any]) -> None:
    assert failed_ids(rb, profile(**changes)) == []


def test_acceleration_track_has_no_caps(rb: Rulebook) -> None:
    big = profile(
        track="acceleration",
        founded_on=date(2015, 1, 1),
        requested_area_m2=5000,
        prev_year_revenue_yuan=50_000_000,
    )
    decision = evaluate_hard_requirements(rb, big, on=ON)
    assert decision.passed
    h4 = next(s for s in decision.trace.steps if s.rule == "H4")
    assert h4.note == "no max_age_months on track acceleration"


def test_several_failures_are_all_named(rb: Rulebook) -> None:
    decision = evaluate_hard_requirements(
        rb, profile(uscc="x", staff=900, water_intensive_or_polluting=True), on=ON
    )
    assert [f.id for f in decision.failures] == ["H1", "H2", "H8"]
    assert decision.failures[0].label_zh.startswith("具有独立法人资格")
    assert decision.reason is not None and "统一社会信用代码" in decision.reason


def test_reapply_bar(rb: Rulebook) -> None:
    assert failed_ids(rb, profile(), reapply_barred_until=ON) == ["R1"]
    assert failed_ids(rb, profile(), reapply_barred_until=date(2025, 6, 1)) == []


def test_unknown_track_and_future_founding_are_input_errors(rb: Rulebook) -> None:
    with pytest.raises(InvalidInput) as info:
        evaluate_hard_requirements(rb, profile(track="seed"), on=ON)
    assert info.value.field == "track"
    with pytest.raises(InvalidInput) as info:
        evaluate_hard_requirements(rb, profile(founded_on=date(2026, 1, 1)), on=ON)
    assert info.value.field == "founded_on"


def test_profile_requires_every_fact() -> None:
    data = profile().model_dump()
    del data["env_fire_safety_approved"]
    with pytest.raises(ValidationError):
        ApplicationProfile.model_validate(data)
    with pytest.raises(ValidationError):
        profile(revenue_yuan=-1)


GOLDEN_ADMISSION_STEPS: list[dict[str, Any]] = [
    {
        "rule": "H1",
        "label_zh": "具有独立法人资格，统一社会信用代码有效",
        "label_en": "A legal entity with a valid unified social credit code",
        "figures": {"uscc": "91510100MA6CA12345"},
        "threshold": {"standard": "GB 32100-2015"},
        "result": "pass",
        "note": "",
    },
    {
        "rule": "H2",
        "label_zh": "符合科技型中小企业条件，无禁止类业务、重大事故及失信记录",
        "label_en": "A tech SME: within size caps, no prohibited business, major incident or "
        "credit listing",
        "figures": {
            "abnormal_operations_listed": False,
            "assets_yuan": "3000000",
            "dishonest_executee": False,
            "major_incident_recent": False,
            "prohibited_business": False,
            "revenue_yuan": "800000",
            "serious_dishonest_listed": False,
            "staff": 12,
        },
        "threshold": {
            "max_assets_yuan": 200000000,
            "max_revenue_yuan": 200000000,
            "max_staff": 500,
            "require_false": [
                "prohibited_business",
                "major_incident_recent",
                "abnormal_operations_listed",
                "serious_dishonest_listed",
                "dishonest_executee",
            ],
        },
        "result": "pass",
        "note": "",
    },
    {
        "rule": "H3",
        "label_zh": "注册并实际在空间内经营，新设企业签约后30日内完成注册",
        "label_en": "Registers and works in the space; a new firm registers within 30 days of "
        "signing",
        "figures": {"will_register_in_space": True},
        "threshold": {
            "period": {"registration_after_signing": "30d"},
            "require_true": ["will_register_in_space"],
        },
        "result": "pass",
        "note": "",
    },
    {
        "rule": "H4",
        "label_zh": "孵化类企业成立时间不超过24个月",
        "label_en": "Incubation track: firm at most 24 months old at entry",
        "figures": {
            "age_months": 31,
            "founded_on": "2022-11-01",
            "on": "2025-06-02",
            "track": "incubation",
        },
        "threshold": {"latest_entry_on": "2024-11-01", "max_age_months": 24},
        "result": "fail",
        "note": "above max_age_months",
    },
    {
        "rule": "H5",
        "label_zh": "孵化类企业租用面积不超过1000平方米",
        "label_en": "Incubation track: leases at most 1000 m²",
        "figures": {"requested_area_m2": "240", "track": "incubation"},
        "threshold": {"max_area_m2": "1000"},
        "result": "pass",
        "note": "",
    },
    {
        "rule": "H6",
        "label_zh": "孵化类企业上年度营业收入不超过200万元",
        "label_en": "Incubation track: previous-year revenue at most 2,000,000 yuan",
        "figures": {"prev_year_revenue_yuan": "600000", "track": "incubation"},
        "threshold": {"max_prev_year_revenue_yuan": 2000000},
        "result": "pass",
        "note": "",
    },
    {
        "rule": "H7",
        "label_zh": "知识产权归属清晰，业务符合空间主导产业及招引需求清单",
        "label_en": "Clear IP ownership; business on the space's recruitment list",
        "figures": {"industry": "pharma", "ip_ownership_clear": True},
        "threshold": {
            "industries": ["pharma", "medical_devices", "health_services", "medical_big_data"],
            "require_true": ["ip_ownership_clear"],
        },
        "result": "pass",
        "note": "",
    },
    {
        "rule": "H8",
        "label_zh": "实验及生产用途已取得环评、消防、安全审批，无高耗水、高污染工艺",
        "label_en": "Environmental, fire and safety approvals; no water-intensive or polluting "
        "processes",
        "figures": {"env_fire_safety_approved": True, "water_intensive_or_polluting": False},
        "threshold": {
            "require_false": ["water_intensive_or_polluting"],
            "require_true": ["env_fire_safety_approved"],
        },
        "result": "pass",
        "note": "",
    },
    {
        "rule": "R1",
        "label_zh": "不在因欺诈退出后的重新申请限制期内",
        "label_en": "Not barred from re-applying after a fraud exit",
        "figures": {"barred_until": None, "on": "2025-06-02"},
        "threshold": {},
        "result": "pass",
        "note": "",
    },
]


def test_golden_admission_trace(rb: Rulebook) -> None:
    decision = evaluate_hard_requirements(rb, profile(founded_on=date(2022, 11, 1)), on=ON)
    assert decision.trace.to_dict() == {
        "kind": "admission.hard_requirements",
        "rulebook_version": rb.version,
        "steps": GOLDEN_ADMISSION_STEPS,
    }
    assert [f.id for f in decision.failures] == ["H4"]


# --- expert scoring -------------------------------------------------------------------------

CRITERIA = (
    "technology_ip",
    "team",
    "industry_fit",
    "market_business_model",
    "growth_financing",
    "jobs",
)


def sheet(*values: float) -> dict[str, float]:
    return dict(zip(CRITERIA, values, strict=True))


def reviewer(name: str, *values: float, conflict: bool = False) -> ReviewerScoreInput:
    return ReviewerScoreInput(reviewer=name, conflict_of_interest=conflict, scores=sheet(*values))


def test_reviewer_total_validates_and_sums(rb: Rulebook) -> None:
    assert reviewer_total(rb, sheet(20, 20, 15, 10, 8, 4)) == 77
    assert reviewer_total(rb, sheet(21.5, 20, 15, 10, 8, 4.5)) == 79
    with pytest.raises(InvalidInput) as info:
        reviewer_total(rb, sheet(26, 20, 15, 10, 8, 4))
    assert info.value.field == "scores.technology_ip" and "between 0 and 25" in info.value.rule
    with pytest.raises(InvalidInput) as info:
        reviewer_total(rb, {k: v for k, v in sheet(20, 20, 15, 10, 8, 4).items() if k != "jobs"})
    assert info.value.field == "scores.jobs"
    with pytest.raises(InvalidInput) as info:
        reviewer_total(rb, {**sheet(20, 20, 15, 10, 8, 4), "charisma": 3})
    assert info.value.field == "scores.charisma"
    with pytest.raises(InvalidInput):
        reviewer_total(rb, sheet(-1, 20, 15, 10, 8, 4))
    with pytest.raises(InvalidInput):
        reviewer_total(rb, {**sheet(20, 20, 15, 10, 8, 4), "jobs": True})


def test_three_reviewers_mean_and_pass(rb: Rulebook) -> None:
    result = score_application(
        rb,
        [
            reviewer("a", 20, 20, 15, 10, 8, 4),  # 77
            reviewer("b", 18, 18, 14, 10, 6, 3),  # 69
            reviewer("c", 15, 15, 10, 8, 5, 2),
        ],
    )  # 55
    assert result.mean == pytest.approx(67.0)
    assert result.passed and not result.priority
    assert result.trimmed == ()


def test_conflicted_reviewer_is_excluded(rb: Rulebook) -> None:
    result = score_application(
        rb,
        [
            reviewer("a", 20, 20, 15, 10, 8, 4),
            reviewer("b", 18, 18, 14, 10, 6, 3),
            reviewer("c", 15, 15, 10, 8, 5, 2),
            reviewer("d", 25, 25, 20, 15, 10, 5, conflict=True),
        ],
    )
    assert result.excluded == ("d",) and "d" not in result.totals
    assert result.mean == pytest.approx(67.0)


def test_too_few_reviewers_without_conflict(rb: Rulebook) -> None:
    with pytest.raises(InvalidInput) as info:
        score_application(
            rb,
            [
                reviewer("a", 20, 20, 15, 10, 8, 4),
                reviewer("b", 18, 18, 14, 10, 6, 3),
                reviewer("c", 15, 15, 10, 8, 5, 2, conflict=True),
            ],
        )
    assert info.value.field == "reviewers" and "at least 3" in info.value.rule


def test_five_reviewers_drop_highest_and_lowest(rb: Rulebook) -> None:
    result = score_application(
        rb,
        [
            reviewer("a", 25, 25, 20, 15, 10, 5),  # 100, dropped
            reviewer("b", 22, 22, 18, 14, 8, 4),  # 88
            reviewer("c", 20, 20, 16, 12, 8, 4),  # 80
            reviewer("d", 20, 20, 15, 12, 7, 4),  # 78
            reviewer("e", 5, 5, 5, 5, 5, 5),
        ],
    )  # 30, dropped
    assert set(result.trimmed) == {"a", "e"}
    assert result.mean == pytest.approx(82.0)
    assert result.passed and result.priority


def test_four_reviewers_are_not_trimmed(rb: Rulebook) -> None:
    result = score_application(
        rb,
        [
            reviewer("a", 25, 25, 20, 15, 10, 5),
            reviewer("b", 22, 22, 18, 14, 8, 4),
            reviewer("c", 20, 20, 16, 12, 8, 4),
            reviewer("e", 5, 5, 5, 5, 5, 5),
        ],
    )
    assert result.trimmed == () and result.mean == pytest.approx(74.5)


@pytest.mark.parametrize(
    ("totals", "passed", "priority"),
    [
        ((59, 60, 60), False, False),  # 59.67
        ((60, 60, 60), True, False),
        ((79, 80, 80), True, False),  # 79.67
        ((80, 80, 80), True, True),
    ],
)
def test_pass_and_priority_lines(
    rb: Rulebook, totals: tuple[int, ...], passed: bool, priority: bool
) -> None:
    inputs = [
        reviewer(
            str(i),
            min(t, 25),
            min(max(t - 25, 0), 25),
            min(max(t - 50, 0), 20),
            min(max(t - 70, 0), 15),
            min(max(t - 85, 0), 10),
            min(max(t - 95, 0), 5),
        )
        for i, t in enumerate(totals)
    ]
    result = score_application(rb, inputs)
    assert (result.passed, result.priority) == (passed, priority)


def test_duplicate_reviewer_refused(rb: Rulebook) -> None:
    with pytest.raises(InvalidInput):
        score_application(rb, [reviewer("a", 20, 20, 15, 10, 8, 4)] * 3)


def test_scoring_trace_names_bands(rb: Rulebook) -> None:
    result = score_application(
        rb,
        [
            reviewer("a", 20, 20, 15, 10, 8, 4),
            reviewer("b", 18, 18, 14, 10, 6, 3),
            reviewer("c", 15, 15, 10, 8, 5, 2),
        ],
    )
    first = result.trace.to_dict()["steps"][0]
    assert first["figures"]["technology_ip"] == {
        "score": "20",
        "band": "技术较先进，拥有授权专利或软件著作权",
    }
    assert result.trace.steps[-2].rule == "admission.scoring.pass"
    assert result.trace.steps[-2].figures["mean"] == result.mean_decimal


# --- objections -----------------------------------------------------------------------------

END = date(2021, 1, 6)


@pytest.mark.parametrize(
    ("kw", "refused"),
    [
        ({}, []),
        ({"written": False}, ["written"]),
        ({"named": False}, ["named"]),
        ({"has_reasons": False}, ["has_reasons"]),
        ({"lodged_on": date(2021, 1, 7)}, ["in_window"]),
        ({"named": False, "lodged_on": date(2021, 1, 7)}, ["named", "in_window"]),
    ],
)
def test_objection_rules(rb: Rulebook, kw: dict[str, Any], refused: list[str]) -> None:
    args: dict[str, Any] = {
        "written": True,
        "named": True,
        "has_reasons": True,
        "lodged_on": END,
        "window_end": END,
        **kw,
    }
    decision = objection_acceptable(rb, **args)
    assert [f.id for f in decision.failures] == refused
    assert decision.passed == (not refused)
    if refused:
        assert decision.reason is not None and decision.failures[0].label_zh in decision.reason


# --- term: lease, extension, area -----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "industry", "ok"),
    [
        (date(2025, 1, 1), date(2025, 12, 31), "pharma", True),  # one year, end on the eve
        (date(2025, 1, 1), date(2026, 1, 1), "pharma", True),
        (date(2025, 1, 1), date(2025, 12, 30), "pharma", False),  # too short
        (date(2025, 1, 1), date(2028, 1, 1), "pharma", True),  # three years
        (date(2025, 1, 1), date(2028, 1, 2), "pharma", False),  # too long
    ],
)
def test_lease_length(rb: Rulebook, start: date, end: date, industry: str, ok: bool) -> None:
    decision = lease_decision(
        rb, track="incubation", industry=industry, term_start=start, term_end=end
    )
    assert decision.passed == ok


def test_lease_never_past_the_incubation_cap(rb: Rulebook) -> None:
    entered = date(2022, 1, 1)
    # 48 months for health services end 2026-01-01; 60 for pharma end 2027-01-01
    with pytest.raises(InvalidInput) as info:
        check_lease(
            rb,
            track="incubation",
            industry="health_services",
            term_start=date(2025, 1, 1),
            term_end=date(2026, 12, 31),
            entered_on=entered,
        )
    assert info.value.field == "term_end" and "孵化期上限" in info.value.rule
    check_lease(
        rb,
        track="incubation",
        industry="pharma",
        term_start=date(2025, 1, 1),
        term_end=date(2026, 12, 31),
        entered_on=entered,
    )


def test_one_extension_of_at_most_twelve_months(rb: Rulebook) -> None:
    kw: dict[str, Any] = {
        "industry": "pharma",
        "entered_on": date(2023, 1, 1),
        "current_end": date(2026, 1, 1),
    }
    assert check_extension(rb, new_end=date(2027, 1, 1), extensions_so_far=0, **kw).passed
    with pytest.raises(InvalidInput):
        check_extension(rb, new_end=date(2027, 1, 2), extensions_so_far=0, **kw)
    with pytest.raises(InvalidInput):
        check_extension(rb, new_end=date(2026, 6, 1), extensions_so_far=1, **kw)
    with pytest.raises(InvalidInput):  # 2023-01-01 + 48 months for a non-listed industry
        check_extension(
            rb,
            new_end=date(2027, 1, 2),
            extensions_so_far=0,
            **{**kw, "industry": "health_services"},
        )


def test_area_cap_at_signing(rb: Rulebook) -> None:
    check_area(rb, track="incubation", area_m2=1000)
    check_area(rb, track="acceleration", area_m2=4000)
    with pytest.raises(InvalidInput) as info:
        check_area(rb, track="incubation", area_m2=1000.01)
    assert info.value.field == "area_m2"


@pytest.mark.parametrize("area", [0, -1])
def test_an_allocation_of_no_area_is_refused(rb: Rulebook, area: int) -> None:
    with pytest.raises(InvalidInput, match="须大于 0") as info:
        check_area(rb, track="acceleration", area_m2=area)
    assert info.value.field == "area_m2"


def test_scoring_decision_to_dict_is_json_safe(rb: Rulebook) -> None:
    import json

    result = score_application(
        rb,
        [
            reviewer("a", 20, 20, 15, 10, 8, 4),
            reviewer("b", 18, 18, 14, 10, 6, 3),
            reviewer("c", 15, 15, 10, 8, 5, 2),
        ],
    )
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["mean"] == 67.0 and data["totals"] == {"a": 77.0, "b": 69.0, "c": 55.0}


def test_a_refused_lease_names_each_limit_with_its_bound(rb: Rulebook) -> None:
    """Signing for ten years read only "租期不超过最长租期（Lease at most the maximum length）；
    不超过孵化期上限（Within the incubation cap）": not how long a lease may be."""
    with pytest.raises(InvalidInput) as info:
        check_lease(
            rb,
            track="incubation",
            industry="pharma",
            term_start=date(2024, 4, 1),
            term_end=date(2034, 3, 31),
        )
    zh, _, en = info.value.rule.partition(" / ")
    assert f"租期不超过最长租期（{rb.term.lease_max_years} 年，最晚到期 2027-04-01）" in zh, zh
    assert "不超过孵化期上限（60 个月，最晚到期 2029-04-01）" in zh, zh
    assert "Lease at most the maximum length (3 years, ending by 2027-04-01)" in en, en
    assert "Lease" not in zh, zh
