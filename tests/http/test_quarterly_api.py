"""Quarterly light reports over HTTP: the firm files its own tenancy's quarter (the action
``submit_quarterly_report``, If-Match as every action), the space's operator may too, another
firm's tenancy is 404; the space's filings list says who filed and who has not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api_support import World
from web_exit_support import clock_of, make_resident

FIGURES = {"revenue_yuan": 500000, "tax_paid_yuan": 20000, "headcount": 9, "rd_spend_yuan": 60000}


def _file(world: World, role: str, t: int, body: dict[str, Any]) -> Any:
    headers = {"If-Match": f'"{world.version(t)}"'}
    return world.client(role).post(
        f"/api/tenancies/{t}/actions/submit_quarterly_report", json=body, headers=headers
    )


def test_the_firm_files_its_quarter_and_the_operator_lists_the_filings(world: World) -> None:
    t = make_resident(world)  # resident from 18 March 2024
    clock_of(world).advance(timedelta(days=22))  # 9 April 2024: 2024 Q1 is over
    filed = _file(world, "firm", t, {"year": 2024, "quarter": 1, "figures": FIGURES})
    assert filed.status_code == 200, filed.json()
    assert filed.json()["trigger"] == "submit_quarterly_report"

    listed = world.client("operator").get(
        "/api/spaces/MC3/quarterly-reports", params={"year": 2024, "quarter": 1}
    )
    assert listed.status_code == 200, listed.json()
    body = listed.json()
    [row] = [f for f in body["filings"] if f["tenancy_id"] == t]
    assert (row["status"], row["figures"]["headcount"]) == ("filed", "9")
    assert body["counts"]["filed"] == 1
    # without year and quarter: the quarter just ended
    assert world.client("operator").get("/api/spaces/MC3/quarterly-reports").json()["quarter"] == 1


def test_the_operator_may_file_but_another_firms_tenancy_is_not_found(world: World) -> None:
    t = make_resident(world)
    other = make_resident(world, world.other_tenancy)
    clock_of(world).advance(timedelta(days=22))
    body = {"year": 2024, "quarter": 1, "figures": FIGURES}
    assert _file(world, "operator", t, body).status_code == 200
    refused = _file(world, "firm", other, body)
    assert refused.status_code == 404
    assert _file(world, "viewer", t, body).status_code == 403


def test_bad_figures_are_422_naming_each_field(world: World) -> None:
    t = make_resident(world)
    clock_of(world).advance(timedelta(days=22))
    bad = _file(world, "firm", t, {"year": 2024, "quarter": 1, "figures": {"revenue_yuan": -1}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "figures.revenue_yuan"
    problems = " ".join(bad.json()["problems"])  # every one at once, as the annual figures'
    assert "figures.headcount（从业人员）: 必填" in problems
    early = _file(world, "firm", t, {"year": 2024, "quarter": 2, "figures": FIGURES})
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "quarter"
