"""Applications in the console and the portal: the queue names each failed requirement, a
reviewer sees only what is assigned and no colleague's score before the panel is complete,
every action asks first, and the firm's form refuses bad input with a message in Chinese
and acts once for its own firm only."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from api_support import PASSWORD, START, World
from fastapi.testclient import TestClient
from web_support import signed_in, tokens_in

from entrypoints.demo_data import good_profile, make_uscc, scores
from workflows import commands as c
from workflows import identity as i
from workflows import queries
from workflows import queries_application_form as qf
from workflows import queries_applications as qa


def _post(client: TestClient, page_url: str, url: str, data: dict[str, Any]) -> Any:
    """Send a form of the page at ``page_url`` as a browser would (its hidden tokens)."""
    tokens = tokens_in(client.get(page_url).text)
    return client.post(url, data={**tokens, **data}, follow_redirects=False)


#: What must never reach a person: Python values and reprs.
PYTHON = ("None", "True", "False", "Decimal(", "{'", "[{", "<built-in", "datetime.")


def _readable(html: str) -> str:
    for token in PYTHON:
        assert token not in html, (token, html[max(0, html.find(token) - 200) :][:400])
    return html


def _state(world: World, tenancy_id: int) -> str:
    detail = world.app.service.query(qa.application_detail, tenancy_id=tenancy_id)
    return str(detail["state"])


def _reviewers(world: World, *names: str) -> None:
    for name in names:
        world.do(
            i.AddUser(username=name, display_name=f"专家{name}", role="reviewer", password=PASSWORD)
        )


def _new_firm(world: World, username: str = "newfirm") -> str:
    uscc = make_uscc(random.Random(username))
    world.do(c.RegisterFirm(name="新申请生物医药有限公司", uscc=uscc, industry="pharma"))
    world.do(
        i.AddUser(
            username=username,
            display_name="新企业",
            role="firm",
            password=PASSWORD,
            firm_uscc=uscc,
        )
    )
    return uscc


def _form(uscc: str, **changes: str) -> dict[str, str]:
    profile = good_profile(START.date())
    data = {k: ("yes" if v is True else "no" if v is False else str(v)) for k, v in profile.items()}
    return {**data, "uscc": uscc, "space": "MC3", "intent": "submit", **changes}


# ---- the queue ------------------------------------------------------------------------------
def test_the_queue_shows_the_operators_spaces_and_names_each_failed_requirement(
    world: World,
) -> None:
    old = START.date() - timedelta(days=365 * 4)
    uscc = make_uscc(random.Random(3))
    world.do(c.RegisterFirm(name="老企业科技", uscc=uscc, industry="pharma"))
    profile = {**good_profile(START.date()), "founded_on": old.isoformat()}
    failing = world.do(
        c.Apply(firm=uscc, space="MC3", requested_area_m2=100, profile=profile)
    ).tenancy_id
    client = signed_in(world, "operator")
    url = f"/console/applications/{failing}"
    response = _post(client, f"{url}/confirm/screen", f"{url}/act/screen", {})
    assert response.status_code == 303, response.text
    assert _state(world, failing) == "rejected"

    queue = client.get("/console/applications?state=rejected").text
    assert "老企业科技" in queue
    assert "H4 孵化类企业成立时间不超过24个月" in queue.replace("</strong> ", " ")
    default = client.get("/console/applications").text
    assert "本企业医疗科技" in default and "他企业生物科技" not in default  # HX is not theirs
    assert "老企业科技" not in default  # rejected: not in the queue to handle

    sheet = client.get("/console/applications?state=rejected&format=xlsx")
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats")
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "编号"
    assert any("H4" in str(cell) for cell in rows[1])


def test_with_no_reviewer_left_to_assign_the_page_says_how_to_add_one(world: World) -> None:
    """The world's one reviewer account is assigned: the form to assign one went away with
    nothing said, and the panel the rulebook asks for could never be made."""
    page = signed_in(world, "operator").get(f"/console/applications/{world.own_tenancy}").text
    assert 'action="/console/applications/' + str(world.own_tenancy) + '/reviewers"' not in page
    assert "没有可再分配的评审专家账户：规则书要求至少 3 位评审专家，已分配 1 位" in page


def test_a_reviewer_sees_only_the_applications_assigned_to_them(world: World) -> None:
    client = signed_in(world, "reviewer")
    queue = client.get("/console/applications").text
    assert f'href="/console/applications/{world.own_tenancy}"' in queue
    assert f'href="/console/applications/{world.other_tenancy}"' not in queue
    assert client.get(f"/console/applications/{world.other_tenancy}").status_code == 404
    assert client.get("/console/publicity").status_code == 403


# ---- actions ask first ----------------------------------------------------------------------
def test_each_action_is_confirmed_on_a_page_that_says_what_happens_and_who_is_told(
    world: World,
) -> None:
    client = signed_in(world, "operator")
    t = world.own_tenancy
    page = client.get(f"/console/applications/{t}/confirm/request_info?items=审计报告&version=1")
    assert page.status_code == 200
    assert "将发生什么" in page.text and "本企业医疗科技" in page.text and "站内通知" in page.text
    assert _state(world, t) == "applied"  # nothing happened yet
    tokens = tokens_in(page.text)
    response = client.post(
        f"/console/applications/{t}/act/request_info",
        data={**tokens, "items": "审计报告", "version": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _state(world, t) == "info_requested"
    page = client.get(f"/console/applications/{t}").text
    assert "需补充：审计报告" in page and "补充材料期限" in page


def test_the_publicity_board_shows_the_dates_and_the_objections_to_rule_on(
    world: World,
) -> None:
    t = world.own_tenancy
    world.do(c.Screen(tenancy_id=t))
    _reviewers(world, "r2", "r3")
    for name, level in (("reviewer", 0.9), ("r2", 0.8), ("r3", 0.7)):
        world.do(c.ScoreApplication(tenancy_id=t, reviewer=name, scores=scores(level)))
    world.do(c.Approve(tenancy_id=t))
    client = signed_in(world, "operator")
    board = client.get("/console/publicity").text
    assert "本企业医疗科技" in board and "2024-03-04" in board and "2024-03-08" in board
    url = f"/console/applications/{t}"
    objection = {"by": "张三", "grounds": "营收数据不实", "evidence": "审计报告"}
    response = _post(client, f"{url}/confirm/object", f"{url}/act/object", objection)
    assert response.status_code == 303, response.text
    board = client.get("/console/publicity").text
    assert "1（1）" in board and "待决定" in board
    ruling = {"upheld": "0", "reason": "经核查不属实"}
    response = _post(client, f"{url}/confirm/rule?{urlencode(ruling)}", f"{url}/act/rule", ruling)
    assert response.status_code == 303, response.text
    assert _state(world, t) == "publicity"
    page = client.get(url).text
    assert "异议不成立" in page and "营收数据不实" in page
    assert "待决定" not in client.get("/console/publicity").text


def test_a_missing_reason_is_refused_before_the_confirmation(world: World) -> None:
    client = signed_in(world, "operator")
    page = client.get(f"/console/applications/{world.own_tenancy}/confirm/screen_out?reason=")
    assert page.status_code == 422
    assert "必填" in page.text
    # on the application page again, the field named as the form names it
    assert "理由：必填" in page.text and "reason：" not in page.text
    assert "可执行的操作" in page.text and "未执行" in page.text
    client.get("/language/en?next=/console")
    english = client.get(f"/console/applications/{world.own_tenancy}/confirm/screen_out?reason=")
    assert "send it again: Reason: required" in english.text
    assert _state(world, world.own_tenancy) == "applied"


def test_a_refused_signing_form_keeps_what_was_typed(world: World) -> None:
    """A malformed date on the 签约 form gave a bare error page ("term_end：…") and the units,
    dates and deposit typed were lost."""
    from datetime import timedelta

    from web_exit_support import clock_of, sweep_deadlines

    t = world.own_tenancy
    world.do(c.Screen(tenancy_id=t))
    for reviewer in ("张", "李", "王"):
        world.do(c.ScoreApplication(tenancy_id=t, reviewer=reviewer, scores=scores(0.8)))
    world.do(c.Approve(tenancy_id=t))
    clock_of(world).advance(timedelta(days=14))
    sweep_deadlines(world.app.service)
    client = signed_in(world, "operator")
    typed = {"units": "U0", "term_start": "2024-04-01", "term_end": "2027-02-30"}
    page = client.get(
        f"/console/applications/{t}/confirm/sign?" + urlencode(typed | {"deposit_yuan": "20000"})
    )
    assert page.status_code == 422
    text = _readable(page.text)
    assert "到期日：须为日期" in text and "term_end：" not in text
    assert 'name="units" required maxlength="500" value="U0"' in text
    assert 'value="2027-02-30"' in text and 'value="20000"' in text


def test_a_viewer_and_a_reviewer_cannot_act(world: World) -> None:
    for role in ("viewer", "reviewer"):
        client = signed_in(world, role)
        response = _post(
            client,
            "/console/applications",
            f"/console/applications/{world.own_tenancy}/act/screen",
            {},
        )
        assert response.status_code == 403, role
    assert _state(world, world.own_tenancy) == "applied"


# ---- the panel ------------------------------------------------------------------------------
def _panel(world: World) -> int:
    """The own application screened, with three more reviewers assigned; ``r2`` scored."""
    t = world.own_tenancy
    _reviewers(world, "r2", "r3")
    client = signed_in(world, "operator")
    _post(client, f"/console/applications/{t}", f"/console/applications/{t}/act/screen", {})
    for name in ("r2", "r3"):
        response = _post(
            client,
            f"/console/applications/{t}",
            f"/console/applications/{t}/reviewers",
            {"username": name},
        )
        assert response.status_code == 303, response.text
    world.do(c.ScoreApplication(tenancy_id=t, reviewer="r2", scores=scores(0.9)))
    return t


def test_a_reviewer_does_not_see_a_colleagues_score_before_the_panel_is_complete(
    world: World,
) -> None:
    t = _panel(world)
    r2_total = f"{sum(scores(0.9).values()):.1f}"
    client = signed_in(world, "reviewer")
    page = client.get(f"/console/applications/{t}").text
    assert "评分表" in page and "锚定" not in page or "评分标准" in page
    assert "r2" not in page and r2_total not in page
    assert "您只能看到自己的评分" in page
    data = {f"score_{k}": str(v) for k, v in scores(0.7).items()} | {"final": "1"}
    response = _post(client, f"/console/applications/{t}", f"/console/applications/{t}/score", data)
    assert response.status_code == 303, response.text
    page = client.get(f"/console/applications/{t}").text
    assert "您已评分" in page and "r2" not in page

    world.do(c.ScoreApplication(tenancy_id=t, reviewer="r3", scores=scores(0.8)))
    operator = signed_in(world, "operator")
    assert "评审小组有效" in operator.get(f"/console/applications/{t}").text
    confirm = operator.get(f"/console/applications/{t}/confirm/approve").text
    assert "公示" in confirm and "2024-03-08" in confirm  # 5 working days, the first included
    operator.post(
        f"/console/applications/{t}/act/approve",
        data=tokens_in(confirm),
        follow_redirects=False,
    )
    assert _state(world, t) == "publicity"
    page = client.get(f"/console/applications/{t}").text
    assert "r2" in page and r2_total in page  # the panel is complete


def test_a_score_outside_its_band_or_unconfirmed_changes_nothing(world: World) -> None:
    t = _panel(world)
    client = signed_in(world, "reviewer")
    data = {f"score_{k}": str(v) for k, v in scores(0.7).items()}
    unconfirmed = _post(
        client, f"/console/applications/{t}", f"/console/applications/{t}/score", data
    )
    assert unconfirmed.status_code == 422 and "不可修改" in unconfirmed.text
    too_high = data | {"score_jobs": "9", "final": "1"}
    response = _post(
        client, f"/console/applications/{t}", f"/console/applications/{t}/score", too_high
    )
    assert response.status_code == 422
    assert "jobs" in response.text
    detail = world.app.service.query(qa.application_detail, tenancy_id=t)
    assert detail["panel"]["scored"] == 1  # r2's only


def test_a_refused_score_comes_back_with_every_score_kept_and_each_problem_named(
    world: World,
) -> None:
    """A score over its maximum, a blank score or an unticked confirmation gave a bare error
    page naming the field by its code, and the six scores typed were lost."""
    t = _panel(world)
    client = signed_in(world, "reviewer")
    here, url = f"/console/applications/{t}", f"/console/applications/{t}/score"
    typed = {f"score_{k}": str(v) for k, v in scores(0.7).items()}
    too_high = _post(client, here, url, typed | {"score_technology_ip": "26", "final": "1"})
    assert too_high.status_code == 422
    page = _readable(too_high.text)
    assert "评分表" in page and 'name="score_technology_ip"' in page
    assert "技术与知识产权：须在 0 到 25 分之间" in page and "scores.technology_ip" not in page
    assert 'value="26"' in page and f'value="{typed["score_team"]}"' in page
    assert re.search(r'name="final" value="1" required checked', page)

    blank = _post(client, here, url, typed | {"score_team": ""})
    assert blank.status_code == 422
    page = _readable(blank.text)
    assert "团队：必填" in page and "team：" not in page
    assert "提交确认：请勾选确认" in page and "final：" not in page
    assert f'value="{typed["score_jobs"]}"' in page
    detail = world.app.service.query(qa.application_detail, tenancy_id=t)
    assert detail["panel"]["scored"] == 1  # r2's only


# ---- the firm's form ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("91510115MA6CB1XK1", "18 位"),
        ("91510115MA6CB1XK1I", "18 位"),
        ("91510115MA6CB1XK10", "校验位不正确"),
    ],
)
def test_a_bad_uscc_is_refused_with_a_message_in_chinese(
    world: World, typed: str, said: str
) -> None:
    _new_firm(world)
    client = signed_in(world, "newfirm")
    response = _post(client, "/portal/apply", "/portal/apply", _form(typed))
    assert response.status_code == 422
    assert said in response.text
    assert world.app.service.query(qf.firm_applications, firm_id=3) == []


def test_missing_fields_are_each_marked_and_nothing_is_sent(world: World) -> None:
    uscc = _new_firm(world)
    client = signed_in(world, "newfirm")
    data = _form(uscc)
    del data["staff"], data["ip_ownership_clear"]
    response = _post(client, "/portal/apply", "/portal/apply", data)
    assert response.status_code == 422
    assert "2 处" in response.text and response.text.count("必填</span>") == 2
    assert 'value="18"' not in response.text  # staff left empty is shown empty
    assert world.app.service.query(qf.firm_applications, firm_id=3) == []


def test_a_founding_date_after_today_is_said_at_its_field(world: World) -> None:
    """The engine's refusal read as a banner "profile.founded_on：成立日期不得晚于今天"."""
    uscc = _new_firm(world)
    client = signed_in(world, "newfirm")
    response = _post(client, "/portal/apply", "/portal/apply", _form(uscc, founded_on="2099-01-01"))
    assert response.status_code == 422
    assert '<span class="problem" role="alert">成立日期不得晚于今天</span>' in response.text
    assert "profile.founded_on" not in response.text and "1 处" in response.text
    assert world.app.service.query(qf.firm_applications, firm_id=3) == []


@pytest.mark.parametrize("area", ["0", "0.00", "0.001"])
def test_an_application_for_no_area_is_refused_on_the_form(world: World, area: str) -> None:
    """The form asks for an area greater than 0 (its hint and its ``min``) and refuses 0 m²:
    such an application used to pass screening and reach its 公示."""
    uscc = _new_firm(world)
    client = signed_in(world, "newfirm")
    page = client.get("/portal/apply").text
    field = page[page.index('id="f-requested_area_m2"') :]
    assert 'min="0.01"' in field[: field.index(">")]
    hint = field[field.index('class="help"') :][:200]
    assert "大于 0" in hint and "不小于 0" not in hint
    response = _post(client, "/portal/apply", "/portal/apply", _form(uscc, requested_area_m2=area))
    assert response.status_code == 422
    assert "大于 0" in response.text
    assert world.app.service.query(qf.firm_applications, firm_id=3) == []


def test_another_firms_code_or_id_in_the_form_never_applies_for_it(world: World) -> None:
    uscc = _new_firm(world)
    client = signed_in(world, "newfirm")
    refused = _post(client, "/portal/apply", "/portal/apply", _form(world.other_firm))
    assert refused.status_code == 422 and "只能为本企业申请" in refused.text
    response = _post(
        client, "/portal/apply", "/portal/apply", _form(uscc, firm=world.other_firm, firm_id="2")
    )
    assert response.status_code == 303, response.text
    mine = world.app.service.query(qf.firm_applications, firm_id=3)
    assert len(mine) == 1
    other = world.app.service.query(qf.firm_applications, firm_id=2)
    assert [a["id"] for a in other] == [world.other_tenancy]


def test_a_double_submit_applies_once(world: World) -> None:
    uscc = _new_firm(world)
    client = signed_in(world, "newfirm")
    tokens = tokens_in(client.get("/portal/apply").text)
    first = client.post("/portal/apply", data={**tokens, **_form(uscc)}, follow_redirects=False)
    second = client.post("/portal/apply", data={**tokens, **_form(uscc)}, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert len(world.app.service.query(qf.firm_applications, firm_id=3)) == 1
    page = client.get("/portal/apply").text
    assert "已申请" in page and "等待形式审查" in page


def test_a_draft_is_kept_on_the_server_and_discarded_when_sent(world: World) -> None:
    uscc = _new_firm(world)
    client = signed_in(world, "newfirm")
    half = {"uscc": uscc, "space": "MC3", "staff": "17", "intent": "draft"}
    response = _post(client, "/portal/apply", "/portal/apply", half)
    assert response.status_code == 303
    again = signed_in(world, "newfirm").get("/portal/apply").text  # another browser
    assert "草稿" in again and 'value="17"' in again and uscc in again
    assert world.app.service.query(qf.firm_applications, firm_id=3) == []
    _post(client, "/portal/apply", "/portal/apply", _form(uscc))
    assert world.app.service.query(qf.application_draft, firm_id=3) is None


def test_a_firm_sees_its_screening_result_with_each_failed_requirement(world: World) -> None:
    uscc = _new_firm(world)
    client = signed_in(world, "newfirm")
    data = _form(uscc, prohibited_business="yes")
    assert _post(client, "/portal/apply", "/portal/apply", data).status_code == 303
    tenancy = world.app.service.query(qf.firm_applications, firm_id=3)[0]["id"]
    world.do(c.Screen(tenancy_id=tenancy))
    page = client.get("/portal/apply").text
    assert "形式审查未通过" in page and "H2" in page
    assert "符合科技型中小企业条件" in page
    assert signed_in(world, "newfirm").get("/console/applications").status_code == 403


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_of_an_application_shows_no_python_value(world: World, lang: str) -> None:
    t = world.own_tenancy
    operator, reviewer = signed_in(world, "operator"), signed_in(world, "reviewer")
    for client in (operator, reviewer):
        client.get(f"/language/{lang}?next=/")
    pages = ["/console/applications", f"/console/applications/{t}"]
    for url in pages:
        _readable(operator.get(url).text)
    world.do(c.Screen(tenancy_id=t))
    _reviewers(world, "r2", "r3")
    world.do(c.ScoreApplication(tenancy_id=t, reviewer="r2", scores=scores(0.8)))
    _readable(reviewer.get(f"/console/applications/{t}").text)
    for name, level in (("reviewer", 0.9), ("r3", 0.7)):
        world.do(c.ScoreApplication(tenancy_id=t, reviewer=name, scores=scores(level)))
    _readable(operator.get(f"/console/applications/{t}/confirm/approve").text)
    world.do(c.Approve(tenancy_id=t))
    for url in [*pages, "/console/publicity", "/console/applications?format=xlsx"]:
        response = operator.get(url)
        assert response.status_code == 200, url
        if "xlsx" not in url:
            _readable(response.text)
    firm = signed_in(world, "firm")
    firm.get(f"/language/{lang}?next=/")
    page = _readable(firm.get("/portal/apply").text)
    assert ("公示期" if lang == "zh" else "Public notice") in page
    words = ("形式审查" if lang == "zh" else "Screening", "专家评审" if lang == "zh" else "panel")
    detail = operator.get(f"/console/applications/{t}").text
    assert all(w in detail for w in words)


def test_a_firm_answers_an_information_request_and_withdraws_only_its_own(
    world: World,
) -> None:
    t = world.own_tenancy
    world.do(c.RequestInfo(tenancy_id=t, items="2023年度审计报告"))
    client = signed_in(world, "firm")
    page = client.get("/portal/apply").text
    assert "需补充材料：2023年度审计报告" in page and "补充材料期限" in page
    response = _post(
        client, "/portal/apply", f"/portal/apply/{t}/resubmit", {"note": "已上传审计报告"}
    )
    assert response.status_code == 303, response.text
    assert _state(world, t) == "applied"

    other = world.other_tenancy
    refused = _post(client, "/portal/apply", f"/portal/apply/{other}/withdraw", {"confirm": "1"})
    assert refused.status_code == 404  # another firm's application does not exist for it
    assert _state(world, other) == "applied"
    unconfirmed = _post(client, "/portal/apply", f"/portal/apply/{t}/withdraw", {})
    assert unconfirmed.status_code == 422 and _state(world, t) == "applied"
    # said beside the withdrawal's own form, the field named in words
    assert "撤回确认：请勾选确认" in unconfirmed.text and "confirm：" not in unconfirmed.text
    assert '<details class="withdraw" open>' in unconfirmed.text
    response = _post(client, "/portal/apply", f"/portal/apply/{t}/withdraw", {"confirm": "1"})
    assert response.status_code == 303 and _state(world, t) == "withdrawn"


def _profile(world: World, tenancy_id: int) -> dict[str, Any]:
    detail = world.app.service.query(qa.application_detail, tenancy_id=tenancy_id)
    return {f["code"]: f["value"] for f in detail["profile"]}


def test_a_firm_corrects_its_application_when_asked_for_information(world: World) -> None:
    t = world.own_tenancy
    world.do(c.RequestInfo(tenancy_id=t, items="从业人员人数有误，请按社保缴纳人数更正"))
    client = signed_in(world, "firm")
    assert f'href="/portal/apply/{t}/answer"' in client.get("/portal/apply").text
    before = _profile(world, t)
    page = _readable(client.get(f"/portal/apply/{t}/answer").text)
    assert "从业人员人数有误" in page and "补充材料期限" in page
    assert f'name="staff" value="{before["staff"]}"' in page  # the application as it stands
    form = {
        k: ("yes" if v is True else "no" if v is False else str(v))
        for k, v in before.items()
        if k not in ("uscc", "name")
    }

    wrong = _post(
        client,
        f"/portal/apply/{t}/answer",
        f"/portal/apply/{t}/resubmit",
        {**form, "staff": "很多", "with_profile": "1"},
    )
    assert wrong.status_code == 422 and "请更正以下标出的" in wrong.text
    assert 'value="很多"' in wrong.text  # what was typed stays on the page
    assert _state(world, t) == "info_requested" and _profile(world, t) == before

    sent = _post(
        client,
        f"/portal/apply/{t}/answer",
        f"/portal/apply/{t}/resubmit",
        {**form, "staff": str(int(before["staff"]) + 7), "with_profile": "1", "note": "按社保人数"},
    )
    assert sent.status_code == 303, sent.text
    assert _state(world, t) == "applied"
    assert _profile(world, t) == {**before, "staff": int(before["staff"]) + 7}
    events = world.app.service.query(queries.timeline, tenancy_id=t)
    (event,) = [e for e in events if e["trigger"] == "resubmit"]
    assert event["data"]["changed"] == ["staff"] and event["reason"] == "按社保人数"
    assert "更正 1 项" in client.get("/portal/apply").text

    other = world.other_tenancy
    assert client.get(f"/portal/apply/{other}/answer").status_code == 404


def test_applying_twice_in_one_space_is_said_on_the_form(world: World) -> None:
    client = signed_in(world, "firm")  # the own firm applied in MC3 already
    response = _post(client, "/portal/apply", "/portal/apply", _form(world.own_firm))
    assert response.status_code == 409
    assert "已有进行中的申请" in response.text and 'name="staff"' in response.text


def test_amounts_from_the_portal_form_read_as_whole_numbers_in_the_trace(world: World) -> None:
    """The portal stored every amount as a float, so the application's screening trace read
    "资产总额 3000000.0；营业收入 1200000.0；申请面积 120.0" on the console."""
    uscc = _new_firm(world)
    client = signed_in(world, "newfirm")
    data = _form(uscc, assets_yuan="3000000", revenue_yuan="1200000.50")
    assert _post(client, "/portal/apply", "/portal/apply", data).status_code == 303
    tenancy = world.app.service.query(qf.firm_applications, firm_id=3)[0]["id"]
    world.do(c.Screen(tenancy_id=tenancy))
    page = signed_in(world, "operator").get(f"/console/applications/{tenancy}").text
    assert "资产总额 3000000；" in page and "营业收入 1200000.5；" in page, page
    assert not re.search(r"\d\.0[；，<]", page), re.findall(r".{30}\d\.0[；，<]", page)
