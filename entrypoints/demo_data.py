"""Deterministic sample data for the demo and the tests: firms, profiles, scores, figures."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from stdnum.cn import uscc as uscc_check

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(rng: random.Random, district: str = "510115") -> str:
    """A well-formed 统一社会信用代码 (企业法人, Wenjiang) with a valid check character."""
    body = "91" + district + "MA6" + "".join(rng.choice(_ALPHABET) for _ in range(6))
    return body + uscc_check.calc_check_digit(body + "0")


def good_profile(
    today: date, *, industry: str = "pharma", track: str = "incubation", area: float = 120
) -> dict[str, Any]:
    """An application that meets every hard requirement of the default rulebook."""
    return {
        "founded_on": (today - timedelta(days=300)).isoformat(),
        "staff": 18,
        "revenue_yuan": 1_200_000,
        "assets_yuan": 3_000_000,
        "prev_year_revenue_yuan": 900_000,
        "industry": industry,
        "track": track,
        "requested_area_m2": area,
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


CRITERIA = {
    "technology_ip": 25,
    "team": 25,
    "industry_fit": 20,
    "market_business_model": 15,
    "growth_financing": 10,
    "jobs": 5,
}


def scores(level: float) -> dict[str, float]:
    """Scores at ``level`` (0..1) of every criterion's maximum."""
    return {k: max(0, min(v, round(v * level))) for k, v in CRITERIA.items()}


def figures(level: str, *, year: int, rng: random.Random) -> dict[str, Any]:
    """Review figures for a firm doing 'strong', 'steady' or 'weak'."""
    scale = {"strong": 12.0, "steady": 2.5, "weak": 0.05}[level]
    grow = 1 + (year - 2022) * (0.35 if level == "strong" else 0.15)
    revenue = int(1_000_000 * scale * grow * rng.uniform(0.98, 1.02))
    good = level != "weak"
    return {
        "revenue_yuan": revenue,
        "tax_paid_yuan": int(revenue * (0.06 if good else 0.001)),
        "net_profit_yuan": int(revenue * (0.1 if good else -0.5)),
        "rd_spend_yuan": int(revenue * (0.12 if good else 0.0)),
        "new_ip_count": {"strong": 6, "steady": 3, "weak": 0}[level],
        "high_tech_enterprise": level == "strong",
        "tech_sme": good,
        "specialized_new": level == "strong",
        "equity_raised_yuan": {"strong": 8_000_000, "steady": 2_000_000, "weak": 0}[level],
        "headcount": {"strong": 60, "steady": 35, "weak": 2}[level],
        "rd_staff": {"strong": 25, "steady": 10, "weak": 0}[level],
        "graduates_hired": {"strong": 8, "steady": 3, "weak": 0}[level],
        "rent_on_time": good,
        "safety_inspections_passed": good,
        "activities_attended": {"strong": 6, "steady": 3, "weak": 0}[level],
        "major_accident": False,
        "credit_listed": False,
    }


HANDOVER = {"meters": True, "keys": True, "access_cards": True, "premises_restored": True}
