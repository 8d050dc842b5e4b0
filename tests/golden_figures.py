"""The golden year of review figures the decision tests share: under the shipped rulebook it
scores 60.90, grade C, on 120 m² without a previous year (see the integration golden test)."""

from __future__ import annotations

from typing import Any


def golden_figures(**changes: Any) -> dict[str, Any]:
    """The golden year, with ``changes`` applied."""
    base: dict[str, Any] = {
        "revenue_yuan": 3_000_000,
        "tax_paid_yuan": 150_000,
        "net_profit_yuan": 200_000,
        "rd_spend_yuan": 240_000,
        "new_ip_count": 5,
        "high_tech_enterprise": False,
        "tech_sme": True,
        "specialized_new": False,
        "equity_raised_yuan": 1_000_000,
        "headcount": 25,
        "rd_staff": 9,
        "graduates_hired": 2,
        "rent_on_time": True,
        "safety_inspections_passed": True,
        "activities_attended": 3,
        "major_accident": False,
        "credit_listed": False,
    }
    return {**base, **changes}
