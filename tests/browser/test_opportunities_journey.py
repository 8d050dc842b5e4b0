"""The 城市机会清单 journey in a real browser: a firm submits a need from its phone → the operator
accepts it (confirming first) → the district starts 第N期, puts it on and publishes it
(confirming first) → the public page, without an account, and the Excel export show it → the
operator sees a matching supply suggested, with the words they share (the screenshot)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from api_support import START, World
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from workflows import opportunity_commands as oc

NEED = "寻求医院临床验证合作伙伴"


def test_a_need_is_accepted_published_and_matched(
    world: World,
    as_user: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    browser: Browser,
    live: str,
    tmp_path: Path,
) -> None:
    # another firm's supply, already accepted in its space
    supply = world.do(
        oc.SubmitEntry(
            space="HX",
            firm=world.other_firm,
            kind="supply",
            title="医疗器械临床验证服务",
            description="为医疗器械企业提供医院临床验证方案设计与合作医院对接服务。",
            field="medical_devices",
            sought="临床验证方案与合作医院",
            contact_name="钱供给",
            valid_until=START.date() + timedelta(days=300),
            actor="tests",
        )
    )["entry_id"]
    world.do(oc.AcceptEntry(entry_id=supply, actor="tests"))

    # The firm, on a phone, submits a need.
    firm = as_user("firm", viewport=(375, 740))
    firm.goto("/portal/opportunities")
    firm.check("input[name=kind][value=need]")
    firm.fill("input[name=title]", NEED)
    firm.fill("textarea[name=description]", "本企业的新型医疗器械需要与三甲医院开展临床验证合作。")
    firm.select_option("select[name=field]", "medical_devices")
    firm.fill("textarea[name=sought]", "三甲医院临床验证合作")
    firm.fill("input[name=contact_name]", "赵联系")
    firm.fill("input[name=contact_phone]", "028-1234 5678")
    firm.check("input[name=contact_public]")
    firm.fill("input[name=valid_until]", (START.date() + timedelta(days=180)).isoformat())
    firm.get_by_role("button", name="提交", exact=True).click()
    expect(firm.locator(".flash.ok")).to_contain_text("已提交")
    expect(firm.locator("table", has_text=NEED)).to_contain_text("待审核")
    assert firm.evaluate("document.documentElement.scrollWidth") <= 375
    shot(firm, "portal-phone")

    # The operator accepts it, confirming first.
    operator = as_user("operator")
    operator.goto("/console/opportunities?status=submitted")
    operator.get_by_role("link", name=NEED).click()
    operator.get_by_role("button", name="采纳…").click()
    expect(operator.locator(".confirm")).to_contain_text("本企业医疗科技")
    operator.get_by_role("button", name="确认").click()
    expect(operator.locator(".flash.ok")).to_contain_text("已采纳")
    entry_url = operator.url

    # The district starts a list, puts the need on it and publishes it, confirming first.
    district = as_user("admin")
    district.goto("/console/opportunity-lists")
    district.fill("input[name=title]", "2024年医疗健康专场")
    district.get_by_role("button", name="新建草稿").click()
    expect(district.locator(".flash.ok")).to_contain_text("草稿")
    district.locator("tr", has_text=NEED).locator("input[name=entry]").check()
    shot(district, "arrange")
    district.get_by_role("button", name="保存编排").click()
    expect(district.locator(".flash.ok")).to_contain_text("清单共 1 条")
    district.get_by_role("button", name="发布…").click()
    expect(district.locator(".confirm")).to_contain_text("冻结")
    district.get_by_role("button", name="确认").click()
    expect(district.locator(".flash.ok")).to_contain_text("已发布并冻结")
    number = district.url.rstrip("/").rsplit("/", 1)[1]
    with district.expect_download() as download:
        district.get_by_role("link", name="导出 Excel").click()
    saved = tmp_path / "list.xlsx"
    download.value.save_as(saved)
    cells = [c.value for row in load_workbook(saved).active.iter_rows() for c in row]
    assert NEED in cells and "028-1234 5678" in cells

    # Anyone, without an account, reads the published list.
    context = browser.new_context(base_url=live, locale="zh-CN")
    try:
        public = context.new_page()
        public.goto(f"/lists/{number}")
        expect(public.locator("h1")).to_contain_text(f"第{number}期城市机会清单")
        expect(public.locator(".opportunity-kind", has_text="新场景")).to_contain_text(NEED)
        expect(public.locator("body")).to_contain_text("028-1234 5678")
        expect(public.locator("body")).not_to_contain_text("钱供给")
        public.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
        public.emulate_media(media="print")
        shot(public, "public-print")
    finally:
        context.close()

    # The district view of the year, with its trend charts.
    district.goto(f"/console/district?year={START.year}")
    expect(district.locator(".chart canvas").first).to_be_visible()
    shot(district, "district")
    # A range of years, chosen in the form: shown year by year.
    district.select_option("select[name=year]", str(START.year - 2))
    district.select_option("select[name=to_year]", str(START.year))
    district.click("#district-range button[type=submit]")
    expect(district.locator("h1")).to_contain_text(f"{START.year - 2}–{START.year} 年区县视图")
    expect(district.locator("table.trend").last.locator("tbody tr")).to_have_count(3)
    expect(district.locator(".chart canvas").first).to_be_visible()

    # Back on the need, the operator sees the matching supply with the words they share.
    operator.goto(entry_url)
    match = operator.locator("table.suggestions tr", has_text="医疗器械临床验证服务")
    expect(match).to_be_visible()
    expect(match).to_contain_text("临床")
    shot(operator, "suggestions")
