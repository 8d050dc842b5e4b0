"""The console's tenancy list, tenancy page and its actions: what an operator relies on —
only their spaces, the state in words, the decision's basis, only the actions the lifecycle
allows, a confirmation that says what happens and who is told, and a stale page refused."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

from api_support import World
from openpyxl import load_workbook
from sqlalchemy import text
from web_support import signed_in, tokens_in

from workflows import commands as c
from workflows import console_actions


def _form(world: World, client: Any, url: str, tenancy_id: int, **fields: str) -> dict[str, str]:
    """An action's form as its confirmation page gives it (the page's tokens, the tenancy's
    version) with ``fields`` filled in."""
    return {
        **tokens_in(client.get(url).text),
        "version": str(world.version(tenancy_id)),
        **fields,
    }


def _outbox(world: World, tenancy_id: int) -> list[tuple[str, str]]:
    with world.app.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT message, audience FROM outbox WHERE tenancy_id = :t ORDER BY id"),
            {"t": tenancy_id},
        ).all()
    return [(str(m), str(a)) for m, a in rows]


def _state(world: World, tenancy_id: int) -> str:
    return str(world.client("admin").get(f"/api/tenancies/{tenancy_id}").json()["state"])


# ---- the list -------------------------------------------------------------------------------
def test_the_list_shows_only_the_operators_spaces(world: World) -> None:
    page = signed_in(world, "operator").get("/console/tenancies")
    assert page.status_code == 200
    assert "本企业医疗科技" in page.text
    assert "他企业生物科技" not in page.text
    assert "已申请" in page.text and ">applied<" not in page.text
    everyone = signed_in(world, "admin").get("/console/tenancies").text
    assert "本企业医疗科技" in everyone and "他企业生物科技" in everyone


def test_the_list_filters_by_name_uscc_state_and_space(world: World) -> None:
    admin = signed_in(world, "admin")
    by_name = admin.get("/console/tenancies", params={"firm": "他企业"}).text
    assert "他企业生物科技" in by_name and "本企业医疗科技" not in by_name
    by_uscc = admin.get("/console/tenancies", params={"uscc": world.own_firm.lower()}).text
    assert "本企业医疗科技" in by_uscc and "他企业生物科技" not in by_uscc
    by_space = admin.get("/console/tenancies", params={"space": "HX"}).text
    assert "他企业生物科技" in by_space and "本企业医疗科技" not in by_space
    nothing = admin.get("/console/tenancies", params={"state": "active"}).text
    assert "没有符合条件的入驻企业" in nothing
    wrong = admin.get("/console/tenancies", params={"state": "nonsense"})
    assert wrong.status_code == 422 and "state" in wrong.text


def test_the_list_sorts_and_pages(world: World) -> None:
    admin = signed_in(world, "admin")
    down = admin.get("/console/tenancies", params={"sort": "firm", "dir": "desc"}).text
    assert down.index("本企业医疗科技") < down.index("他企业生物科技")  # 本 (U+672C) > 他 (U+4ED6)
    up = admin.get("/console/tenancies", params={"sort": "firm", "dir": "asc"}).text
    assert up.index("他企业生物科技") < up.index("本企业医疗科技")
    first = admin.get("/console/tenancies", params={"size": 1}).text
    assert 'rel="next"' in first
    second = admin.get("/console/tenancies", params={"size": 1, "page": 2}).text
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_the_list_exports_to_excel_with_the_states_in_words(world: World) -> None:
    response = signed_in(world, "operator").get("/console/tenancies", params={"format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("编号", "企业")
    assert [r[1] for r in rows[1:]] == ["本企业医疗科技"]  # the operator's space only
    assert "已申请" in rows[1]


# ---- who may open a tenancy ---------------------------------------------------------------------
def test_a_firm_user_gets_not_found_for_another_firms_tenancy(world: World) -> None:
    firm = signed_in(world, "firm")
    other = firm.get(f"/console/tenancies/{world.other_tenancy}")
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("text/html")
    assert "他企业生物科技" not in other.text
    missing = firm.get("/console/tenancies/999999")
    assert missing.status_code == 404
    assert "未找到" in other.text and "未找到" in missing.text  # the same answer
    own = firm.get(f"/console/tenancies/{world.own_tenancy}", follow_redirects=False)
    assert own.status_code == 303 and own.headers["location"] == "/portal"


def test_an_address_whose_id_cannot_be_one_is_a_record_not_found(world: World) -> None:
    """``/console/tenancies/-1`` answered a bare "请求无效" (invalid request)."""
    operator = signed_in(world, "operator")
    for url in (
        "/console/tenancies/-1",
        "/console/tenancies/99999999999999999999999",
        "/console/exits/0",
        "/console/tenancies/abc",
        "/console/cycles/MC3/-1",
        "/console/cycles/MC3/99999",
    ):
        page = operator.get(url)
        assert page.status_code == 404, url
        assert "未找到该记录，或您无权查看" in page.text and "请求无效" not in page.text, url


def test_an_operator_gets_not_found_outside_their_spaces_and_a_reviewer_no_page(
    world: World,
) -> None:
    assert (
        signed_in(world, "operator").get(f"/console/tenancies/{world.other_tenancy}").status_code
        == 404
    )
    assert (
        signed_in(world, "reviewer").get(f"/console/tenancies/{world.own_tenancy}").status_code
        == 403
    )


# ---- the tenancy page ---------------------------------------------------------------------------
def test_the_page_shows_the_state_and_only_the_actions_allowed_now(world: World) -> None:
    page = signed_in(world, "operator").get(f"/console/tenancies/{world.own_tenancy}")
    assert page.status_code == 200
    assert "已申请" in page.text
    offered = set(re.findall(rf"/console/tenancies/{world.own_tenancy}/actions/(\w+)", page.text))
    assert offered == {a.trigger for a in console_actions.allowed("applied")}
    assert {"screen", "request_info", "withdraw"} <= offered
    assert not offered & {"sign", "approve", "hand_over", "decide_review"}
    assert "提交入驻申请" in page.text  # the timeline, in words


def test_a_viewer_reads_the_page_without_actions(world: World) -> None:
    viewer = signed_in(world, "viewer")
    page = viewer.get(f"/console/tenancies/{world.own_tenancy}")
    assert page.status_code == 200 and "/actions/" not in page.text
    assert viewer.get(f"/console/tenancies/{world.own_tenancy}/actions/screen").status_code == 403


def test_an_action_the_state_does_not_allow_is_not_found(world: World) -> None:
    operator = signed_in(world, "operator")
    assert operator.get(f"/console/tenancies/{world.own_tenancy}/actions/sign").status_code == 404
    assert operator.get(f"/console/tenancies/{world.own_tenancy}/actions/nope").status_code == 404


def test_the_confirmation_says_what_happens_and_who_is_told(world: World) -> None:
    page = signed_in(world, "operator").get(
        f"/console/tenancies/{world.own_tenancy}/actions/screen"
    )
    assert page.status_code == 200
    assert "形式审查通过" in page.text and "专家评审中" in page.text  # pass → evaluating
    assert "形式审查不通过" in page.text and "未通过" in page.text  # fail → rejected
    assert "形式审查结果" in page.text  # the notice to the firm
    assert f'name="version" value="{world.version(world.own_tenancy)}"' in page.text
    assert 'data-confirm="' in page.text


def test_screening_through_the_confirmation_acts_once_and_explains_the_decision(
    world: World,
) -> None:
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{world.own_tenancy}/actions/screen"
    form = {
        **tokens_in(operator.get(url).text),
        "version": str(world.version(world.own_tenancy)),
        "reason": "",
    }
    done = operator.post(url, data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/console/tenancies/{world.own_tenancy}"
    again = operator.post(url, data=form, follow_redirects=False)  # a double submit
    assert again.status_code == 303
    assert _state(world, world.own_tenancy) == "evaluating"
    notices = _outbox(world, world.own_tenancy)
    assert notices.count(("screening_result", "firm")) == 1
    said = {(n.message, n.audience) for n in console_actions.BY_TRIGGER["screen"].notices}
    assert {n for n in notices if n[0] != "application_received"} == said
    page = operator.get(done.headers["location"]).text
    assert "已执行「形式审查」" in page and "专家评审中" in page
    assert "决定依据" in page and "形式审查通过" in page
    assert re.search(r'class="rule">H\d', page), "each rule of the screening is shown"
    assert "人数上限" in page and "max_staff" not in page, "the trace's names in words"
    # and its values that are codes: a track, the industries, the yes/no fields of the profile
    for code in ("medical_devices", "prohibited_business", ">incubation", " incubation"):
        assert code not in page, code
    assert "医疗器械" in page
    # who screened it: the operator by name, not the audit log's account key
    assert "· operator 测试</div>" in page and "account:" not in page
    offered = set(re.findall(r"/actions/(\w+)", page))
    assert "screen" not in offered and "approve" in offered


def test_a_stale_page_is_refused_and_nothing_is_done(world: World) -> None:
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{world.own_tenancy}/actions/request_info"
    form = {
        **tokens_in(operator.get(url).text),
        "version": str(world.version(world.own_tenancy)),
        "items": "审计报告",
    }
    world.do(c.RequestInfo(tenancy_id=world.own_tenancy, items="营业执照", actor="someone"))
    world.do(c.Resubmit(tenancy_id=world.own_tenancy, actor="someone"))
    before = world.version(world.own_tenancy)
    response = operator.post(url, data=form)
    assert response.status_code == 409
    assert "已被他人修改" in response.text
    assert world.version(world.own_tenancy) == before
    assert f'name="version" value="{before}"' in response.text  # the page read again


def test_a_missing_field_is_named_and_nothing_is_done(world: World) -> None:
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{world.own_tenancy}/actions/request_info"
    form = _form(world, operator, url, world.own_tenancy, items="  ")
    response = operator.post(url, data=form)
    assert response.status_code == 422
    assert "items" in response.text and "必填" in response.text
    assert world.version(world.own_tenancy) == int(form["version"])


def test_an_action_needs_the_csrf_token(world: World) -> None:
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{world.own_tenancy}/actions/withdraw"
    response = operator.post(
        url, data={"version": str(world.version(world.own_tenancy)), "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert _state(world, world.own_tenancy) == "applied"


def test_every_action_of_the_console_is_an_api_action_and_its_notices_exist() -> None:
    from entrypoints.http.routes_tenancies import ACTION_COMMANDS
    from notifications.catalog import CATALOG

    assert set(console_actions.BY_TRIGGER) | console_actions.ELSEWHERE == set(ACTION_COMMANDS)
    for action in console_actions.ACTIONS:
        for notice in action.notices:
            assert notice.audience in CATALOG[notice.message].audiences, notice
        command_fields = set(ACTION_COMMANDS[action.trigger].__dataclass_fields__)
        assert {f.name for f in action.fields} <= command_fields, action.trigger


def test_signing_through_the_console_shows_the_agreement_and_the_occupancy(world: World) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from entrypoints.demo_data import scores

    t = world.own_tenancy
    world.do(c.Screen(tenancy_id=t))
    for reviewer in ("甲", "乙", "丙"):
        world.do(c.ScoreApplication(tenancy_id=t, reviewer=reviewer, scores=scores(0.75)))
    world.do(c.Approve(tenancy_id=t))
    world.app.clock.set(datetime(2024, 3, 18, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))  # type: ignore[attr-defined]
    world.do(c.EndPublicity(tenancy_id=t))
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{t}/actions/sign"
    confirm = operator.get(url).text
    assert "签订入驻协议" in confirm and "在孵" in confirm and "入驻协议签订确认" in confirm
    form = {
        **tokens_in(confirm),
        "version": str(world.version(t)),
        "units": "U0",
        "term_start": "2024-04-01",
        "term_end": "2027-03-31",
        "deposit_yuan": "10000",
    }
    done = operator.post(url, data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert ("agreement_signed", "firm") in _outbox(world, t)
    page = operator.get(f"/console/tenancies/{t}").text
    agreement = page[page.index('id="agr-h"') : page.index('id="dl-h"')]
    assert "10,000.00 元" in agreement and "100.00 m²" in agreement
    assert "2024-04-01 — 2027-03-31" in agreement and "U0" in agreement
    assert "租期届满" in page  # the term's deadline, with its date
    assert "None" not in page and "True" not in page
    dashboard = operator.get("/console").text
    assert "100.00 m² / 300.00 m²" in dashboard and "33.3%" in dashboard
    # a benefit's amount on the timeline as money, however it was typed
    world.app.clock.set(datetime(2024, 4, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))  # type: ignore[attr-defined]
    world.do(
        c.RecordBenefit(
            tenancy_id=t, kind="rent_free", amount_yuan="1e3", granted_on=date(2024, 4, 1)
        )
    )
    timeline = signed_in(world, "operator").get(f"/console/tenancies/{t}").text
    assert "金额（元）：1,000.00 元" in timeline and "1E+3" not in timeline


def test_a_refusal_by_a_rule_is_said_whole_and_in_chinese(world: World) -> None:
    """Approving before a valid panel scored: the page said only "tenancy N: 'approve'
    refused: no valid panel" (the first half of a bilingual message, cut at its first " / "),
    in English and without the reason."""
    world.do(c.Screen(tenancy_id=world.own_tenancy, actor="someone"))
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{world.own_tenancy}/actions/approve"
    form = _form(world, operator, url, world.own_tenancy, reason="")
    response = operator.post(url, data=form)
    assert response.status_code == 409
    assert "规则不允许此操作：评审小组不足：须至少 3 名无利益冲突的评审专家评分" in response.text
    assert "&#39;approve&#39; refused" not in response.text
    assert _state(world, world.own_tenancy) == "evaluating"


def test_a_violation_is_chosen_from_the_rulebook_in_words_not_typed_as_a_code(
    world: World,
) -> None:
    """The 登记违规 form asked for a free-text code: the operator had to know
    ``change_of_use``. It offers the tenancy's rulebook's grounds in words; those the review
    decides by itself (two D grades, a failed rectification) are not reported by hand."""
    from web_exit_support import make_resident

    tid = make_resident(world)
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{tid}/actions/report_violation"
    page = operator.get(url).text
    assert '<select name="code"' in page
    assert 'value="arrears"' in page and "拖欠租金或费用" in page
    assert 'value="consecutive_d"' not in page
    form = _form(
        world, operator, url, tid, code="arrears", facts="2024年第一季度租金逾期未缴（测试数据）。"
    )
    done = operator.post(url, data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    with world.app.engine.connect() as conn:
        newest = conn.execute(
            text("SELECT code FROM violations WHERE tenancy_id = :t ORDER BY id DESC"), {"t": tid}
        ).first()
        assert newest is not None and newest[0] == "arrears"
    # Nor are they served by hand: the review and the re-inspection open those cases.
    notice = operator.get(f"/console/tenancies/{tid}/actions/serve_exit_notice").text
    assert 'value="arrears"' in notice and "拖欠租金或费用" in notice
    assert 'value="consecutive_d"' not in notice and "年度考核连续两年不合格" not in notice
    assert 'value="failed_rectification"' not in notice


def test_a_refused_form_names_the_field_as_the_form_does(world: World) -> None:
    from web_exit_support import make_resident

    tid = make_resident(world)
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{tid}/actions/report_violation"
    form = _form(world, operator, url, tid, code="arrears", facts="")
    refused = operator.post(url, data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert "事实：必填" in refused.text and "facts：" not in refused.text


def test_a_waiver_is_offered_only_while_a_window_is_open(world: World) -> None:
    """An active tenancy with no window open was offered 登记企业书面放弃期限, and sending it
    said the page had expired; it is offered once a window runs, with that window only, and
    reached without one it says there is none."""
    from web_exit_support import make_resident

    tid = make_resident(world)
    operator = signed_in(world, "operator")
    page = operator.get(f"/console/tenancies/{tid}").text
    assert "/actions/waive_window" not in page and "/actions/report_violation" in page
    url = f"/console/tenancies/{tid}/actions/waive_window"
    reached = operator.get(url)
    assert reached.status_code == 409
    assert "没有进行中的、企业可书面放弃的期限" in reached.text
    sent = operator.post(
        url,
        data={
            **tokens_in(operator.get(f"/console/tenancies/{tid}").text),
            "version": str(world.version(tid)),
            "window": "objection",
            "waived_on": "2024-03-01",
            "document": "函 1",
        },
    )
    assert sent.status_code == 409
    assert "没有进行中的" in sent.text and "页面已过期" not in sent.text

    world.do(c.ReportViolation(tenancy_id=tid, code="arrears", facts="欠缴租金（测试）"))
    page = operator.get(f"/console/tenancies/{tid}").text
    assert "/actions/waive_window" in page
    form = operator.get(url).text
    assert 'value="cure"' in form and 'value="objection"' not in form


def test_a_refused_form_says_the_rule_in_chinese_on_a_chinese_page(world: World) -> None:
    """A benefit dated after today: the console said "给予日期：must not be in the future" (the
    field in Chinese, its rule in English); the rule is now said in Chinese, once."""
    from web_exit_support import make_resident

    from workflows.console_actions import CHOICES

    tid = make_resident(world)
    operator = signed_in(world, "operator")
    url = f"/console/tenancies/{tid}/actions/record_benefit"
    kind = CHOICES["benefit_kinds"][0][0]
    fields = {"kind": kind, "amount_yuan": "5000", "granted_on": "2030-01-01"}
    form = _form(world, operator, url, tid, **fields)
    refused = operator.post(url, data=form)
    assert refused.status_code == 422, refused.text
    assert "给予日期：不得晚于今天" in refused.text
    assert refused.text.count("不得晚于今天") == 1
    assert "must not be in the future" not in refused.text
    assert world.version(tid) == int(form["version"])


def test_a_rule_written_in_english_is_said_by_its_chinese_on_a_chinese_page() -> None:
    from entrypoints.web.pages import describe
    from lifecycle.errors import GuardFailed

    rule = "signing needs at least one allocated unit (allocate with --unit)"
    err = GuardFailed(3, "sign", rule)
    assert describe(err, "zh") == "规则不允许此操作：签约须至少分配一个单元（用 --unit 分配）"
    assert describe(err, "en") == f"Refused by a rule: {rule}"


def test_a_violation_is_recorded_cured_from_the_tenancy_pages_list_without_javascript(
    world: World,
) -> None:
    """The tenancy page lists its violations with their status in words; an open one has a
    按钮 to record its cure, whose form (a plain POST) names the violation and today; once
    cured the list says so, the button is gone and its deadline is no longer pending."""
    from web_exit_support import clock_of, make_resident

    tid = make_resident(world)  # the world's own tenancy, with one violation open already
    operator = signed_in(world, "operator")
    v = world.do(c.ReportViolation(tenancy_id=tid, code="arrears", facts="欠缴租金（测试）"))
    vid = v["violation"]
    other = world.do(c.ReportViolation(tenancy_id=tid, code="change_of_use", facts="改作宿舍"))
    other_id = other["violation"]
    page = operator.get(f"/console/tenancies/{tid}").text
    assert "违规记录" in page and "拖欠租金或费用" in page and "未纠正" in page
    url = f"/console/tenancies/{tid}/actions/cure_violation"
    assert f'href="{url}?violation={vid}"' in page
    form_page = operator.get(f"{url}?violation={vid}").text
    assert f'<option value="{vid}" selected>' in form_page
    today = clock_of(world).now().date().isoformat()
    assert f'value="{today}"' in form_page and "违规已纠正确认" in form_page

    future = _form(world, operator, url, tid, violation=str(vid), cured_on="2099-01-01")
    refused = operator.post(url, data=future, follow_redirects=False)
    assert refused.status_code == 422 and "纠正日期：纠正日期不能晚于今天" in refused.text

    sent = _form(world, operator, url, tid, violation=str(vid), cured_on=today, note="收据 01")
    done = operator.post(url, data=sent, follow_redirects=False)
    assert done.status_code == 303, done.text
    page = operator.get(f"/console/tenancies/{tid}").text
    assert "已纠正" in page and "收据 01" in page
    assert "登记违规已纠正" in page and "纠正日期：" in page and "纠正情况：收据 01" in page
    assert "cure_note" not in page and "None" not in page
    assert "撤销的期限" not in page and "cancelled_deadlines" not in page  # no deadline ids
    assert f"cure_violation?violation={vid}" not in page
    assert f"cure_violation?violation={other_id}" in page
    # the world's own violation (subletting, open beside an exit case on it) takes no cure
    assert f"cure_violation?violation={world.own_violation}" not in page
    assert ("violation_cured", "firm") in _outbox(world, tid)
    # With none left that can be cured, the cure is offered no more.
    world.do(
        c.CureViolation(tenancy_id=tid, violation=other_id, cured_on=date.fromisoformat(today))
    )
    assert "/actions/cure_violation" not in operator.get(f"/console/tenancies/{tid}").text
    none_open = operator.get(url)
    assert none_open.status_code == 409 and "没有可登记纠正的违规" in none_open.text
    with world.app.engine.connect() as conn:
        pending = conn.execute(
            text(
                "SELECT count(*) FROM deadlines WHERE tenancy_id = :t AND kind = 'cure_end' "
                "AND status = 'pending'"
            ),
            {"t": tid},
        ).scalar()
    assert pending == 0


def test_the_console_offers_a_cure_only_where_the_rule_accepts_one(world: World) -> None:
    """The button and the form's choices ask the command's own rule: a violation of
    immediate grounds (fraud) is never offered; one of timed grounds is offered while no
    exit notice rests on it (past its period too: a cure dated within it is accepted, one
    dated after it refused), and no longer once a notice was served on its grounds — even
    left open beside that notice, as notices served before escalating every such one did."""
    from web_exit_support import clock_of, make_resident

    def today_of(world: World) -> str:
        return clock_of(world).now().date().isoformat()

    tid = make_resident(world)
    operator = signed_in(world, "operator")
    fraud = world.do(c.ReportViolation(tenancy_id=tid, code="fraud", facts="虚报材料"))
    arrears = world.do(c.ReportViolation(tenancy_id=tid, code="arrears", facts="欠缴租金"))
    fid, aid = fraud["violation"], arrears["violation"]
    url = f"/console/tenancies/{tid}/actions/cure_violation"
    page = operator.get(f"/console/tenancies/{tid}").text
    assert f"{url}?violation={aid}" in page and f"{url}?violation={fid}" not in page
    form = operator.get(f"{url}?violation={fid}").text
    assert f'<option value="{aid}"' in form and f'<option value="{fid}"' not in form
    refused = operator.post(
        url, data=_form(world, operator, url, tid, violation=str(fid), cured_on=today_of(world))
    )
    assert refused.status_code == 409 and "没有改正期限" in refused.text

    clock_of(world).advance(timedelta(days=20))  # the demand's 15 days are over
    operator = signed_in(world, "operator")  # the session did not last that long
    page = operator.get(f"/console/tenancies/{tid}").text
    assert f"{url}?violation={aid}" in page
    late = _form(world, operator, url, tid, violation=str(aid), cured_on=today_of(world))
    refused = operator.post(url, data=late, follow_redirects=False)
    assert refused.status_code == 422 and "晚于改正期限的最后一日" in refused.text

    world.do(
        c.ServeExitNotice(
            tenancy_id=tid, grounds="arrears", facts="欠缴租金逾期未付", proof_of_service="EMS 1"
        )
    )
    page = operator.get(f"/console/tenancies/{tid}").text
    assert "/actions/cure_violation" not in page and "已据此送达退出告知书" in page
    with world.app.engine.begin() as conn:  # left open, as a notice served before the fix did
        conn.execute(text("UPDATE violations SET status = 'open' WHERE id = :v"), {"v": aid})
    assert "/actions/cure_violation" not in operator.get(f"/console/tenancies/{tid}").text
    assert operator.get(url).status_code == 409
