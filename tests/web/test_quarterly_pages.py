"""The quarterly light report on the web: the firm fills in its quarter's form (every field
checked at once, what was typed kept; filed once however often the button is pressed; a
correction shown as such), another firm's quarter is not found, and the console lists the
quarter's filings of the operator's spaces only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from api_support import World
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from web_exit_support import clock_of, make_resident
from web_support import signed_in, tokens_in

from db.tables import QuarterlyReport

GOOD = {
    "revenue_yuan": "1,200,000",
    "tax_paid_yuan": "36000",
    "headcount": "14",
    "rd_spend_yuan": "90000",
}


def post(client: TestClient, url: str, data: dict[str, Any]) -> Any:
    tokens = tokens_in(client.get(url).text)
    return client.post(url, data={**tokens, **data}, follow_redirects=False)


def reports(world: World) -> list[QuarterlyReport]:
    with Session(world.app.engine) as s:
        return list(s.exec(select(QuarterlyReport)).all())


def test_a_firm_files_its_quarter_field_by_field_and_a_double_submit_files_once(
    world: World,
) -> None:
    t = make_resident(world)  # resident from 18 March 2024
    clock_of(world).advance(timedelta(days=22))  # 9 April 2024
    firm = signed_in(world, "firm")
    url = f"/portal/quarterly/{t}/2024/1"
    listing = firm.get("/portal/quarterly").text
    assert url in listing and "未报送（未到截止日）" in listing
    page = firm.get(url).text
    assert "营业收入" in page and "研发投入" in page and "报送截止日" in page
    assert "净利润" not in page  # annual-only metrics are not asked for
    # the quarter's figures are neither scored nor graded: each field's label, unit and rule
    assert "计分项" not in page and "缺报评为" not in page and "scored" not in page
    assert "不小于 0 的数值，单位：元" in page

    bad = post(firm, url, GOOD | {"revenue_yuan": "abc", "headcount": "2.5", "tax_paid_yuan": ""})
    assert bad.status_code == 422
    assert re.search(r'id="e-revenue_yuan"[^>]*>须为数字', bad.text)
    assert re.search(r'id="e-headcount"[^>]*>须为整数', bad.text)
    assert re.search(r'id="e-tax_paid_yuan"[^>]*>必填', bad.text)
    assert 'value="abc"' in bad.text and reports(world) == []

    tokens = tokens_in(firm.get(url).text)
    first = firm.post(url, data={**tokens, **GOOD}, follow_redirects=False)
    second = firm.post(url, data={**tokens, **GOOD}, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    receipt = firm.get(first.headers["location"]).text
    assert "报送回执" in receipt and "已按时报送" in receipt and 'value="1200000"' in receipt
    [row] = reports(world)
    assert row.figures["revenue_yuan"] == "1200000" and row.first_submitted_at == row.submitted_at

    clock_of(world).advance(timedelta(minutes=5))
    corrected = post(firm, url, GOOD | {"headcount": "15"})
    assert corrected.status_code == 303
    [row] = reports(world)
    assert row.figures["headcount"] == "15" and row.first_submitted_at < row.submitted_at
    assert "更正并重新报送" in firm.get(url).text


def test_another_firms_quarter_is_not_found(world: World) -> None:
    make_resident(world)
    other = make_resident(world, world.other_tenancy)
    clock_of(world).advance(timedelta(days=22))
    firm = signed_in(world, "firm")
    assert firm.get(f"/portal/quarterly/{other}/2024/1").status_code == 404
    assert post(firm, f"/portal/quarterly/{world.own_tenancy}/2024/1", GOOD).status_code == 303
    refused = firm.post(f"/portal/quarterly/{other}/2024/1", data=GOOD, follow_redirects=False)
    assert refused.status_code in (403, 404) and reports(world)[0].tenancy_id == world.own_tenancy


def test_the_console_lists_the_quarters_filings_of_the_operators_spaces(world: World) -> None:
    t = make_resident(world)  # MC3, resident from 18 March 2024
    make_resident(world, world.other_tenancy)  # HX, from 1 April: not in 2024 Q1
    clock_of(world).advance(timedelta(days=8))  # 9 April 2024
    post(signed_in(world, "firm"), f"/portal/quarterly/{t}/2024/1", GOOD)
    operator = signed_in(world, "operator")
    html = operator.get("/console/quarterly?year=2024&quarter=1").text
    assert "本企业医疗科技" in html and "已按时报送" in html
    assert "account:" not in html  # who filed, by name (the console's `who`)
    timeline = operator.get(f"/console/tenancies/{t}").text
    assert "报送季度数据" in timeline and "年度：2024" in timeline and "季度：1" in timeline
    assert "按时报送：是" in timeline and "更正报送：否" in timeline
    assert not any(k in timeline for k in ("in_time", "corrected", "year：", "quarter："))
    assert f'href="/console/tenancies/{t}"' in html
    assert "海峡中小企业孵化园" not in html  # HX is not the operator's space
    everything = signed_in(world, "admin").get("/console/quarterly").text  # 2024 Q1, just ended
    assert "海峡中小企业孵化园" in everything and "本季度没有在孵企业" in everything
    assert "None" not in everything
    assert operator.get("/console/quarterly?quarter=7").status_code == 422
    assert signed_in(world, "firm").get("/console/quarterly").status_code == 403


def test_the_quarter_pages_work_in_a_year_whose_holidays_are_not_published(world: World) -> None:
    """2026 Q4 falls due in January 2027, whose schedule is not published: the pages show the
    unrolled date (31 December + 15 days), say it is provisional, and the form still files."""
    t = make_resident(world)  # from 18 March 2024, for three years
    clock = clock_of(world)
    clock.set(datetime(2027, 1, 12, 2, tzinfo=UTC))  # 10:00 in Shanghai
    firm = signed_in(world, "firm")
    note = "2027 年放假安排未公布，截止日暂按日历日计"
    listing = firm.get("/portal/quarterly")
    assert listing.status_code == 200 and note in listing.text
    url = f"/portal/quarterly/{t}/2026/4"
    assert note in firm.get(url).text
    assert post(firm, url, GOOD).status_code == 303
    console = signed_in(world, "operator").get("/console/quarterly?year=2026&quarter=4")
    assert console.status_code == 200 and note in console.text and "已按时报送" in console.text
    assert "None" not in console.text
