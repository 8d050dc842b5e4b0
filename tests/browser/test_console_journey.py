"""Browser journeys of the console's dashboard and tenancies: an operator's first round
(dashboard → filtered list → a tenancy → an allowed action through its confirmation), and a
firm user reaching for another firm's tenancy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from api_support import World
from playwright.sync_api import Page


def _no_errors(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_an_operator_reads_the_dashboard_filters_opens_a_tenancy_and_screens_it(
    world: World, as_user: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    page = as_user("operator")
    problems = _no_errors(page)
    page.goto("/console")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").first.inner_text() == "仪表盘"
    page.wait_for_selector(".chart canvas")  # ECharts drew under the CSP
    assert page.locator(".chart canvas").count() == page.locator(".chart").count()
    assert page.locator("#pipe-h ~ .chart-pair table").inner_text().count("已申请") == 1
    shot(page, "dashboard")

    page.click("nav.main >> text=入驻企业")
    page.fill("input[name=firm]", "本企业")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#tenancies tbody tr")
    assert rows.count() == 1 and "本企业医疗科技" in rows.first.inner_text()
    assert "firm=" in page.url

    rows.first.locator("a").nth(1).click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".tenancy-head .badge").inner_text() == "已申请"
    page.click(".actions >> text=形式审查")
    page.wait_for_load_state("networkidle")
    assert "将发生什么" in page.content() and "形式审查结果" in page.content()
    shot(page, "confirmation")
    page.once("dialog", lambda d: d.accept())  # "this cannot be undone" — yes
    page.click("form button[type=submit].danger")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/console/tenancies/{world.own_tenancy}")
    assert "已执行「形式审查」" in page.locator("#messages").inner_text()
    assert page.locator(".tenancy-head .badge").inner_text() == "专家评审中"
    assert page.locator(".timeline details[open] .trace li").count() > 0
    assert not problems, problems
    shot(page, "tenancy")


def test_a_firm_user_tries_another_firms_tenancy_url_and_sees_not_found(
    world: World, as_user: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    page = as_user("firm", viewport=(375, 740))
    response = page.goto(f"/console/tenancies/{world.other_tenancy}")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "未找到"
    assert "他企业生物科技" not in page.content()
    shot(page, "not-found")
