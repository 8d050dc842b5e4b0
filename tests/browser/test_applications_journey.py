"""The admission journey in a real browser: a firm applies in the portal → an operator
screens it and assigns three reviewers → they score → the operator approves → the 公示 ends
(the training database's clock moved on and the sweeps run as ``innospace tick`` runs them)
→ admitted → the agreement is signed."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from api_support import PASSWORD, START, World
from playwright.sync_api import Page, expect

from entrypoints.demo_data import good_profile, make_uscc, scores
from entrypoints.ticks import run_ticks
from workflows import commands as c
from workflows import identity as i

SHANGHAI = ZoneInfo("Asia/Shanghai")
REVIEWERS = ("reviewer", "r2", "r3")


def _accounts(world: World) -> str:
    uscc = make_uscc(random.Random("journey"))
    world.do(c.RegisterFirm(name="蓉城新药研发有限公司", uscc=uscc, industry="pharma"))
    world.do(
        i.AddUser(
            username="newfirm",
            display_name="蓉城新药",
            role="firm",
            password=PASSWORD,
            firm_uscc=uscc,
        )
    )
    for name in REVIEWERS[1:]:
        world.do(
            i.AddUser(username=name, display_name=f"专家{name}", role="reviewer", password=PASSWORD)
        )
    return uscc


def _apply(page: Page, uscc: str) -> None:
    page.goto("/portal/apply")
    page.select_option("select[name=space]", "MC3")
    page.fill("input[name=uscc]", uscc[:10])
    expect(page.locator("[data-uscc-result]")).to_contain_text("还差")
    page.fill("input[name=uscc]", uscc[:17] + ("0" if uscc[17] != "0" else "1"))
    expect(page.locator("[data-uscc-result]")).to_contain_text("校验位不正确")
    page.fill("input[name=uscc]", uscc)
    expect(page.locator("[data-uscc-result]")).to_contain_text("代码有效")
    profile = {**good_profile(START.date()), "requested_area_m2": 100}
    for name, value in profile.items():
        if isinstance(value, bool):
            page.check(f"input[name={name}][value={'yes' if value else 'no'}]")
        elif name in ("industry", "track"):
            page.select_option(f"select[name={name}]", str(value))
        else:
            page.fill(f"input[name={name}]", str(value))
    page.click("button[value=draft]")
    expect(page.locator(".flash.ok")).to_contain_text("草稿已保存")
    expect(page.locator("input[name=staff]")).to_have_value("18")  # the draft, from the server
    page.click("button[value=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("申请已提交")
    expect(page.locator("#mine")).to_contain_text("已申请")


def _open_application(page: Page, firm: str) -> None:
    page.goto("/console/applications")
    page.get_by_role("link", name=firm).first.click()
    expect(page.locator("h1")).to_contain_text(firm)


def _confirm(page: Page, button: str, *, expect_text: str = "") -> None:
    page.get_by_role("button", name=button).click()
    expect(page.locator("h1")).to_contain_text("请确认")
    if expect_text:
        expect(page.locator(".confirm")).to_contain_text(expect_text)
    page.get_by_role("button", name="确认").click()


def test_a_firm_applies_is_scored_approved_admitted_and_signs(
    world: World, as_user: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    uscc = _accounts(world)
    firm = "蓉城新药研发有限公司"

    firm_page = as_user("newfirm", viewport=(375, 800))
    problems: list[str] = []  # a script the content security policy blocked, or one that failed
    firm_page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _apply(firm_page, uscc)
    assert not problems, problems
    shot(firm_page, "portal-on-a-phone")

    operator = as_user("operator")
    _open_application(operator, firm)
    _confirm(operator, "形式审查…", expect_text="硬性条件")
    expect(operator.locator("h1 .badge")).to_have_text("专家评审中")
    for name in REVIEWERS:
        operator.select_option("select[name=username]", name)
        operator.get_by_role("button", name="分配", exact=True).click()
        expect(operator.locator(".flash.ok")).to_contain_text(name)
    expect(operator.locator("ul.reviewers li")).to_have_count(3)

    for level, name in zip((0.9, 0.8, 0.7), REVIEWERS, strict=True):
        reviewer = as_user(name)
        reviewer.on("dialog", lambda dialog: dialog.accept())
        _open_application(reviewer, firm)
        expect(reviewer.locator("#panel")).not_to_contain_text("r2（")
        for criterion, points in scores(level).items():
            reviewer.fill(f"input[name=score_{criterion}]", str(points))
        reviewer.check("input[name=final]")
        reviewer.get_by_role("button", name="提交评分").click()
        expect(reviewer.locator(".flash.ok")).to_contain_text("评分已提交")

    operator.reload()
    expect(operator.locator("#panel")).to_contain_text("评审小组有效")
    _confirm(operator, "通过并公示…", expect_text="2024-03-08")
    expect(operator.locator("h1 .badge")).to_have_text("公示中")
    operator.goto("/console/publicity")
    expect(operator.locator("table.publicity")).to_contain_text(firm)

    # The 公示 (5 working days, the first included) ends on Friday 8 March: on Monday the
    # sweep `innospace tick` runs admits the firm.
    world.app.clock.set(datetime(2024, 3, 11, 9, 0, tzinfo=SHANGHAI))  # type: ignore[attr-defined]
    run_ticks(world.app)

    operator = as_user("operator")  # the old session is a week idle
    _open_application(operator, firm)
    expect(operator.locator("h1 .badge")).to_have_text("已准入待签约")
    operator.fill("input[name=units]", "U0")
    operator.fill("input[name=term_end]", "2027-03-10")
    _confirm(operator, "签约…", expect_text="U0")
    expect(operator.locator("h1 .badge")).to_have_text("在孵")
    expect(operator.locator(".timeline")).to_contain_text("签订入驻协议")
    firm_page = as_user("newfirm", viewport=(375, 800))
    firm_page.goto("/portal/apply")
    expect(firm_page.locator("#mine")).to_contain_text("在孵")
    shot(operator, "signed")
