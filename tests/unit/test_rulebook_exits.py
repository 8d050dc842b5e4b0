"""Exit under the default rulebook: triggers, vacate periods, settlement, graduation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lifecycle.errors import InvalidInput
from lifecycle.periods import Period
from lifecycle.rulebook import (
    Benefit,
    Rulebook,
    graduation_eligibility,
    handling_period,
    parse_rulebook,
    reapply_bar,
    settlement,
    skips_objection_window,
    trigger,
    vacate_period,
)

DEFAULT = Path(__file__).resolve().parents[2] / "workflows" / "default_rulebook.toml"


@pytest.fixture(scope="module")
def rb() -> Rulebook:
    return parse_rulebook(DEFAULT.read_text("utf-8"), "default_rulebook.toml")


# code: (handling, handling period, immediate vacate -> vacate period, clawback, reapply bar)
TRIGGERS: dict[str, tuple[str, str | None, str, str, str | None]] = {
    "fraud": ("immediate", None, "15d", "full", "24m"),
    "illegal_conduct": ("immediate", None, "15d", "pro_rata", None),
    "sublet": ("immediate", None, "15d", "pro_rata", None),
    "change_of_use": ("cure", "15d", "30d", "pro_rata", None),
    "arrears": ("demand", "15d", "30d", "pro_rata", None),
    "moved_out": ("immediate", None, "15d", "pro_rata", None),
    "shell_dormant": ("dormancy", "3m", "30d", "pro_rata", None),
    "credit_listing": ("delisting", "30d", "30d", "pro_rata", None),
    "major_accident": ("immediate", None, "15d", "pro_rata", None),
    "consecutive_d": ("review", None, "30d", "pro_rata", None),
    "failed_rectification": ("review", None, "30d", "pro_rata", None),
    "industry_misfit": ("lease_end", None, "30d", "none", None),
}


def test_every_trigger_of_rulebook_section_5_is_there(rb: Rulebook) -> None:
    assert set(rb.triggers) == set(TRIGGERS)


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_trigger_handling(rb: Rulebook, code: str) -> None:
    handling, period, vacate, clawback, bar = TRIGGERS[code]
    found = trigger(rb, code)
    assert found.handling == handling and found.clawback == clawback
    assert found.label_zh and found.label_en
    assert handling_period(rb, code) == (Period.parse(period) if period else None)
    assert vacate_period(rb, "forced", code) == Period.parse(vacate)
    assert reapply_bar(rb, code) == (Period.parse(bar) if bar else None)


def test_sublet_must_be_acted_on_within_six_months(rb: Rulebook) -> None:
    found = trigger(rb, "sublet")
    assert found.act_within is not None
    assert rb.periods.get(found.act_within) == Period.parse("6m")


def test_unknown_trigger_lists_valid_codes(rb: Rulebook) -> None:
    with pytest.raises(InvalidInput) as info:
        trigger(rb, "bad_vibes")
    assert info.value.field == "grounds" and "fraud" in info.value.rule
    assert reapply_bar(rb, "bad_vibes") is None and reapply_bar(rb, None) is None


@pytest.mark.parametrize(
    ("exit_type", "period", "skips"),
    [
        ("graduation", "6m", True),
        ("term_expiry", "30d", True),
        ("voluntary", "30d", True),
    ],
)
def test_vacate_and_objection_window_by_exit_type(
    rb: Rulebook, exit_type: str, period: str, skips: bool
) -> None:
    assert vacate_period(rb, exit_type) == Period.parse(period)
    assert skips_objection_window(exit_type) is skips


def test_forced_exit_keeps_the_objection_window_and_needs_a_trigger(rb: Rulebook) -> None:
    assert skips_objection_window("forced") is False
    with pytest.raises(InvalidInput):
        vacate_period(rb, "forced")
    with pytest.raises(InvalidInput) as info:
        skips_objection_window("evicted")
    assert info.value.field == "exit_type"


def test_procedure_steps_in_order(rb: Rulebook) -> None:
    assert [s.step for s in rb.exit.procedure] == [
        "record_facts",
        "serve_notice",
        "statement_and_defence",
        "decision",
        "vacate",
        "handover",
        "registration_move_out",
        "settlement",
    ]
    defence = rb.exit.procedure[2]
    assert defence.period is not None and rb.periods.get(defence.period) == Period.parse("5wd")


# --- settlement -----------------------------------------------------------------------------

EXIT_ON = date(2025, 7, 1)
SUBSIDY = Benefit("subsidy", 120_000, date(2024, 7, 1), 24)  # 2024-07-01 .. 2026-07-01
RENT_FREE = ("rent_free", 36_000, date(2023, 1, 1), 12)  # commitment already served


def settle(rb: Rulebook, **kw: Any) -> Any:
    args: dict[str, Any] = {"exit_type": "term_expiry", "deposit_yuan": 20_000, "exit_on": EXIT_ON}
    args.update(kw)
    return settlement(rb, **args)


def test_plain_exit_refunds_deposit_and_prepaid_rent(rb: Rulebook) -> None:
    result = settle(rb, prepaid_rent_yuan=5_000)
    assert result.refund_yuan == Decimal("25000.00") and result.due_yuan == 0
    assert not result.deposit_forfeited and not result.prepaid_rent_forfeited


def test_arrears_and_damage_are_deducted(rb: Rulebook) -> None:
    result = settle(rb, arrears_yuan=3_000, damage_yuan=2_500)
    assert result.deductions_yuan == Decimal("5500.00")
    assert result.refund_yuan == Decimal("14500.00")
    result = settle(rb, arrears_yuan=30_000)
    assert result.refund_yuan == 0 and result.due_yuan == Decimal("10000.00")


def test_voluntary_with_approval_refunds(rb: Rulebook) -> None:
    result = settle(rb, exit_type="voluntary", approved=True, prepaid_rent_yuan=5_000)
    assert result.refund_yuan == Decimal("25000.00")


def test_voluntary_without_approval_forfeits_deposit_and_prepaid_rent(rb: Rulebook) -> None:
    result = settle(
        rb, exit_type="voluntary", approved=False, prepaid_rent_yuan=5_000, arrears_yuan=1_000
    )
    assert result.deposit_forfeited and result.prepaid_rent_forfeited
    assert result.refund_yuan == 0 and result.due_yuan == Decimal("1000.00")


def test_never_moved_in_forfeits_the_deposit(rb: Rulebook) -> None:
    result = settle(rb, never_moved_in=True)
    assert result.deposit_forfeited and result.refund_yuan == 0


def test_fraud_claws_back_everything(rb: Rulebook) -> None:
    result = settle(rb, exit_type="forced", grounds_code="fraud", benefits=[SUBSIDY, RENT_FREE])
    assert result.clawback_mode == "full"
    assert result.clawback_items == (("subsidy", Decimal(120_000)), ("rent_free", Decimal(36_000)))
    assert result.due_yuan == Decimal("136000.00")  # 156,000 clawed back less the 20,000 deposit


def test_pro_rata_clawback_within_the_commitment(rb: Rulebook) -> None:
    result = settle(rb, exit_type="voluntary", approved=True, benefits=[SUBSIDY, RENT_FREE])
    assert result.clawback_mode == "pro_rata"
    # 365 of 730 committed days remain: half the subsidy; the rent-free commitment is served
    assert result.clawback_items == (("subsidy", Decimal("60000.00")), ("rent_free", Decimal(0)))
    assert result.due_yuan == Decimal("40000.00")
    step = next(s for s in result.trace.steps if s.rule == "exit.clawback.subsidy")
    assert step.figures["days_remaining"] == 365 and step.figures["days_committed"] == 730


@pytest.mark.parametrize(
    ("kw", "mode", "clawed"),
    [
        ({"exit_type": "graduation"}, "none", Decimal(0)),
        ({"exit_type": "term_expiry"}, "pro_rata", Decimal("60000.00")),
        ({"exit_type": "forced", "grounds_code": "arrears"}, "pro_rata", Decimal("60000.00")),
        ({"exit_type": "forced", "grounds_code": "industry_misfit"}, "none", Decimal(0)),
    ],
)
def test_clawback_mode_by_exit(
    rb: Rulebook, kw: dict[str, Any], mode: str, clawed: Decimal
) -> None:
    result = settle(rb, benefits=[SUBSIDY], **kw)
    assert result.clawback_mode == mode and result.clawback_yuan == clawed


def test_settlement_input_errors(rb: Rulebook) -> None:
    with pytest.raises(InvalidInput) as info:
        settle(rb, exit_type="forced")
    assert info.value.field == "grounds"
    with pytest.raises(InvalidInput) as info:
        settle(rb, benefits=[("lunch", 10, EXIT_ON, 0)])
    assert info.value.field == "benefits[0].kind"
    with pytest.raises(InvalidInput) as info:
        settle(rb, deposit_yuan=-1)
    assert info.value.field == "deposit_yuan"


def test_settlement_trace_is_json_safe(rb: Rulebook) -> None:
    data = settle(rb, benefits=[SUBSIDY], arrears_yuan=500).trace.to_dict()
    balance = data["steps"][-1]
    assert balance["rule"] == "exit.settlement.balance"
    assert balance["result"] == {"due_yuan": "40500.00", "refund_yuan": "0.00"}


# --- graduation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "met"),
    [
        ({}, []),
        ({"qualifications": ["high_tech_enterprise"]}, ["high_tech_enterprise"]),
        ({"figures_by_year": {2024: {"high_tech_enterprise": True}}}, ["high_tech_enterprise"]),
        ({"cumulative_funding_yuan": 5_000_000}, []),  # not above
        ({"cumulative_funding_yuan": 5_000_001}, ["funding"]),
        (
            {
                "figures_by_year": {
                    2023: {"revenue_yuan": 12_000_000},
                    2024: {"revenue_yuan": 11_000_000},
                }
            },
            ["revenue"],
        ),
        (
            {
                "figures_by_year": {
                    2022: {"revenue_yuan": 12_000_000},
                    2024: {"revenue_yuan": 11_000_000},
                }
            },
            [],
        ),  # not consecutive
        (
            {
                "figures_by_year": {
                    2023: {"revenue_yuan": 10_000_000},
                    2024: {"revenue_yuan": 11_000_000},
                }
            },
            [],
        ),  # not above in 2023
        ({"acquired_or_listed": True}, ["acquired_or_listed"]),
        (
            {"acquired_or_listed": True, "cumulative_funding_yuan": 9_000_000},
            ["funding", "acquired_or_listed"],
        ),
    ],
)
def test_graduation_criteria(rb: Rulebook, kw: dict[str, Any], met: list[str]) -> None:
    args: dict[str, Any] = {"figures_by_year": {}}
    args.update(kw)
    decision = graduation_eligibility(rb, **args)
    assert [m.id for m in decision.met] == met
    assert decision.passed == bool(met)
    assert [s.rule for s in decision.trace.steps] == [
        "high_tech_enterprise",
        "funding",
        "revenue",
        "acquired_or_listed",
    ]


def test_graduation_input_errors(rb: Rulebook) -> None:
    with pytest.raises(InvalidInput):
        graduation_eligibility(rb, figures_by_year={}, qualifications=["nobel_prize"])
    with pytest.raises(InvalidInput):
        graduation_eligibility(rb, figures_by_year={2024: {"revenue_yuan": -5}})


def test_aliases_used_by_the_workflows(rb: Rulebook) -> None:
    import json

    from lifecycle.rulebook import cure_period, exit_trigger, settle

    assert exit_trigger(rb, "arrears") == trigger(rb, "arrears")
    assert exit_trigger(rb, "arrears").rule_ref == "exit.triggers.arrears"
    assert cure_period(rb, "change_of_use") == Period.parse("15d")
    result = settle(
        rb,
        exit_type="forced",
        grounds="fraud",
        deposit_yuan=1_000,
        benefits=[SUBSIDY],
        exit_on=EXIT_ON,
    )
    assert result.clawback_mode == "full"
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data and data["due_yuan"] == "119000.00"
