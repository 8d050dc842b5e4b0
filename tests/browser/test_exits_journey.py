"""The exit journey in a real browser: an exit notice served from the console → the firm reads
it in its inbox and answers with an attached PDF in the portal → the operator rules on the
statement (confirming first) → vacating → handover (confirming first) → exited; the firm's
inbox at the end is the screenshot the README shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from api_support import World
from playwright.sync_api import Page, expect
from web_exit_support import PDF, clock_of, make_resident

from workflows import queries


def _state(world: World) -> str:
    return str(world.app.service.query(queries.show_tenancy, tenancy_id=world.own_tenancy)["state"])


def test_an_exit_notice_is_answered_ruled_on_vacated_and_handed_over(
    world: World,
    as_user: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    make_resident(world)

    # The operator serves the notice from the console, confirming first.
    operator = as_user("operator")
    operator.goto(f"/console/exits/serve/{world.own_tenancy}")
    operator.select_option("select[name=grounds]", "sublet")
    operator.fill(
        "textarea[name=facts]", "2024 年 3 月巡查发现 B 座 201 室被转租给第三方，有照片和合同为证。"
    )
    operator.fill("input[name=proof_of_service]", "EMS 1234567890，法定代表人签收")
    operator.get_by_role("button", name="下一步：确认").click()
    expect(operator.locator(".confirm")).to_contain_text("陈述申辩期")
    assert _state(world) == "active"
    operator.get_by_role("button", name="确认").click()
    expect(operator.locator(".flash.ok")).to_contain_text("已送达退出告知书")
    assert _state(world) == "exit_notice"
    world.app.relay().run_once()  # the notice reaches the firm's inbox

    # The firm, on a phone, finds the notice unread in its inbox and reads it.
    firm = as_user("firm", viewport=(375, 740))
    firm.on("dialog", lambda dialog: dialog.accept())  # "send it?" asks first
    firm.goto("/portal/inbox")
    row = firm.locator("table.inbox tr.unread", has_text="退出")
    expect(row.first).to_be_visible()
    row.first.locator("a").first.click()
    for heading in ("一、事实与理由", "二、依据", "三、期限", "四、救济途径"):
        expect(firm.locator(".notice-section h2", has_text=heading)).to_be_visible()
    expect(firm.locator(".letterhead")).to_contain_text("成都医学城三医创新中心")
    assert firm.evaluate("document.documentElement.scrollWidth") <= 375
    firm.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    firm.emulate_media(media="print")
    expect(firm.locator("header.top")).to_be_hidden()
    expect(firm.locator(".letterhead")).to_be_visible()
    shot(firm, "notice-print")
    firm.emulate_media(media="screen")
    firm.set_viewport_size({"width": 375, "height": 740})

    # ... and answers it with a PDF before the deadline shown on the page.
    firm.get_by_role("link", name="在线答复").click()
    expect(firm.locator("strong.deadline")).to_have_text("2024-03-25")
    evidence = tmp_path / "租赁备案.pdf"
    evidence.write_bytes(PDF)
    firm.fill("textarea[name=text]", "B 座 201 室由我司全资子公司使用，并非转租；附租赁备案。")
    firm.set_input_files("input[name=attachments]", str(evidence))
    firm.get_by_role("button", name="提交").click()
    expect(firm.locator(".flash.ok").first).to_contain_text("已提交")
    expect(firm.locator("ul.files")).to_contain_text("租赁备案.pdf")
    assert firm.evaluate("document.documentElement.scrollWidth") <= 375
    shot(firm, "answer-phone")

    # The window ends; the operator reads the statement and rules on it.
    clock_of(world).advance(timedelta(days=10))
    operator = as_user("operator")
    operator.goto("/console/exits")
    operator.locator("table a", has_text="本企业医疗科技").first.click()
    expect(operator.locator("article.statement")).to_contain_text("并非转租")
    expect(operator.locator("article.statement ul.files")).to_contain_text("租赁备案.pdf")
    operator.check("input[name=upheld][value=no]")
    operator.fill("textarea[name=reason]", "现场核查及租赁合同证明存在转租，申辩理由不成立。")
    operator.get_by_role("button", name="提交裁决…").click()
    expect(operator.locator("h1")).to_have_text("确认裁决陈述申辩")
    expect(operator.locator(".confirm")).to_contain_text("本企业医疗科技")
    assert _state(world) == "exit_notice"  # nothing happens before the confirmation
    operator.get_by_role("button", name="确认").click()
    expect(operator.locator(".flash.ok")).to_contain_text("企业进入腾退")
    assert _state(world) == "vacating"

    # Vacating: the handover checklist, then the exit.
    for item in ("meters", "keys", "access_cards", "premises_restored"):
        operator.check(f"input[name=checklist][value={item}]")
    operator.fill("input[name=arrears_yuan]", "1500")
    operator.get_by_role("button", name="记录交接并确认退出…").click()
    expect(operator.locator(".confirm")).to_contain_text("不可撤销")
    operator.get_by_role("button", name="确认").click()
    expect(operator.locator(".flash.ok")).to_contain_text("企业已退出")
    expect(operator.locator("dl.facts").last).to_contain_text("18,500.00 元")
    assert _state(world) == "exited"
    shot(operator, "exit-case")

    # The firm's inbox: the notice, the decision and the settlement.
    world.app.relay().run_once()
    firm = as_user("firm")
    firm.goto("/portal/inbox")
    expect(firm.locator("table.inbox tr.unread").first).to_be_visible()
    assert firm.locator("table.inbox tbody tr").count() >= 3  # notice, decision, settlement
    shot(firm, "inbox")
