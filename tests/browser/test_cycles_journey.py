"""A review cycle in the browser: the operator opens it, one firm reports through the portal
form and ten by the operator's Excel import, the cycle is decided through the board (a job
whose progress the page polls), and the firm reads its grade and the reasons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from api_support import World
from cycles_support import PERIOD, figures_for, residents, sheet
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from db.tables import OutboxMessage, Review
from workflows.forms import shown_value

BOARD = f"/console/cycles/MC3/{PERIOD}"


def test_a_cycle_is_opened_reported_imported_decided_and_read_by_the_firm(
    world: World,
    tmp_path: Path,
    as_user: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    firms = residents(world, 10)
    own = world.own_tenancy

    # the operator opens the 2024 cycle from the board, after a confirmation step
    operator = as_user("operator")
    operator.goto("/console/cycles")
    operator.select_option("form[action='/console/cycles/open'] select[name=space]", "MC3")
    operator.fill("form[action='/console/cycles/open'] input[name=period]", str(PERIOD))
    operator.click("form[action='/console/cycles/open'] button[type=submit]")
    expect(operator.locator(".confirm")).to_contain_text("11 家在驻企业")
    operator.click(".confirm button[type=submit]")
    expect(operator.locator("#cycle-job")).to_have_attribute("data-status", "done")
    operator.goto(BOARD)
    expect(operator.locator("table.members tbody tr")).to_have_count(11)

    # one firm reports through the portal form (a mistake first, shown beside its field)
    firm = as_user("firm", viewport=(375, 812))
    firm.goto("/portal/figures")
    firm.click(f"a[href='/portal/figures/{own}/{PERIOD}']")
    for code, value in figures_for(0).items():
        if isinstance(value, bool):
            firm.select_option(f"#f-{code}", shown_value(value))
        else:
            firm.fill(f"#f-{code}", shown_value(value))
    firm.fill("#f-revenue_yuan", "三百万")
    firm.click("button[value=submit]")
    expect(firm.locator("#e-revenue_yuan")).to_contain_text("须为数字")
    shot(firm, "field-error")
    firm.fill("#f-revenue_yuan", "3000000")
    firm.click("button[value=submit]")
    expect(firm.locator(".receipt")).to_contain_text("收到")

    # the operator imports the other ten firms' figures from the sheet
    rows = [
        {"uscc": uscc, "name": name, **figures_for(n)}
        for n, (_, uscc, name) in enumerate(firms)
        if n > 0
    ]
    path = tmp_path / "figures.xlsx"
    path.write_bytes(sheet(world, rows))
    operator.goto(BOARD)
    operator.set_input_files("input[name=file]", str(path))
    operator.click("form[action$='/import'] button[type=submit]")
    expect(operator.locator("#messages")).to_contain_text("已导入 10 家")
    with Session(world.app.engine) as s:
        statuses = {r.status for r in s.exec(select(Review).where(Review.period == PERIOD))}
    assert statuses == {"submitted"}

    # preview (the A cap shown), then decide: the job runs outside the request
    operator.click(f"a[href='{BOARD}/preview']")
    expect(operator.locator("dd.cap")).to_contain_text("最多")
    expect(operator.locator("table.preview tbody tr")).to_have_count(11)
    operator.click(".confirm button[type=submit]")
    expect(operator.locator("#cycle-job progress")).to_be_attached()
    expect(operator.locator("#cycle-job")).to_have_attribute("data-status", "done", timeout=60_000)
    expect(operator.locator("#cycle-job")).to_contain_text("本次评定")
    operator.click("#cycle-job a")
    expect(operator.locator("table.members")).not_to_contain_text("已报送")
    shot(operator, "board")

    # the firm reads its grade and the reasons; its result notice is queued
    firm.goto(f"/portal/figures/{own}/{PERIOD}")
    expect(firm.locator(".result")).to_be_visible()
    grade = firm.locator(".result .grade").inner_text()
    assert grade in ("A", "B", "C", "D")
    expect(firm.locator("table.reasons tbody tr").first).to_be_visible()
    expect(firm.locator("table.reasons")).to_contain_text("考核等级")
    with Session(world.app.engine) as s:
        notice = s.exec(
            select(OutboxMessage).where(
                OutboxMessage.message == "review_result", OutboxMessage.tenancy_id == own
            )
        ).one()
    assert notice.context["grade"] == grade
    shot(firm, "grade")

    # the relay delivers it: the firm reads the grade and the reasons in its inbox
    world.app.relay(world.app.clock).run_once()
    firm.goto("/portal/inbox")
    firm.get_by_role("link", name=f"{PERIOD}年度考核结果通知").click()
    expect(firm.locator("main")).to_contain_text("考核等级为")
    expect(firm.locator("main")).to_contain_text(f"（{grade}）")
    expect(firm.locator("main")).to_contain_text("评分说明")
    shot(firm, "inbox-grade")
