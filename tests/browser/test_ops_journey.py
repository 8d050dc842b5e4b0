"""Operations journeys in a real browser: an admin retries a dead letter and sees it pending
again; an operator simulates a stricter rulebook and reads the grades it would change; an
admin edits a template and the preview follows the typing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from api_support import World
from ops_support import STRICT, dead_letter, decided_cycle, outbox_status
from playwright.sync_api import Page, expect


def test_an_admin_retries_a_dead_letter(
    world: World, as_user: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    outbox_id = dead_letter(world)
    page = as_user("admin")
    page.click("nav.main >> text=运维")
    page.click("a.badge.bad")  # the dead letters, from the overview
    row = page.locator(f'tr[data-id="{outbox_id}"]')
    expect(row).to_contain_text("死信")
    expect(row).to_contain_text("模板无法渲染")
    expect(page.locator("#dead-count")).to_have_text("1")

    row.get_by_role("button", name="重试").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/console/ops/outbox?status=pending")
    expect(page.locator("#messages")).to_contain_text("已将 1 条通知重新排入发送队列")
    expect(page.locator(f'tr[data-id="{outbox_id}"]')).to_have_attribute("data-status", "pending")
    expect(page.locator(f'tr[data-id="{outbox_id}"]')).to_contain_text("待发送")
    assert outbox_status(world, outbox_id) == "pending"
    shot(page, "pending-again")


def test_an_operator_simulates_a_stricter_rulebook(
    world: World, as_user: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    ts = decided_cycle(world)
    page = as_user("operator")
    page.goto("/console/ops/rulebooks")
    page.get_by_role("link", name="模拟新规则").click()
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "strict.toml", "mimeType": "text/plain", "buffer": STRICT.encode()}],
    )
    page.fill("input[name=period]", "2024")
    page.get_by_role("button", name="模拟").click()
    page.wait_for_load_state("networkidle")

    summary = page.locator("#sim-summary")
    expect(summary).to_contain_text("共 3 家企业参评")
    expect(summary).to_contain_text("2 家等级不变")
    changes = page.locator("tr.change")
    expect(changes).to_have_count(1)
    expect(changes.first).to_have_attribute("data-tenancy", str(ts[0]))
    expect(changes.first.locator(".grade-before")).to_have_text("C 合格")
    expect(changes.first.locator(".grade-after")).to_contain_text("D 不合格")
    expect(changes.first).to_contain_text("无 → 限期整改")
    shot(page, "changed-grades")


def test_an_admin_edits_a_template_with_a_live_preview(
    world: World, as_user: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    page = as_user("admin")
    page.goto("/console/ops/templates/admitted?locale=zh-CN&part=subject")
    source = page.locator("textarea#source")
    source.fill("")
    source.press_sequentially("准予入驻：{{ firm.name }}（测试）", delay=5)
    expect(page.locator("#preview-subject")).to_have_text(
        "准予入驻：成都蓉医生物科技有限公司（测试）", timeout=10_000
    )
    source.press_sequentially("{{ ''.__class__ }}", delay=5)
    expect(page.locator("#preview-error")).to_contain_text("模板无法渲染", timeout=10_000)
    source.fill("准予入驻：{{ firm.name }}")
    page.get_by_role("button", name="保存为新版本").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#messages")).to_contain_text("已保存为第 1 版")
    expect(page.locator("#history")).to_contain_text("在用")
    shot(page, "saved")
