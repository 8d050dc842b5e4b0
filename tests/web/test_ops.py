"""The console's Operations pages, on SQLite and PostgreSQL: who may open them, dead letters
retried once per form, rulebooks refused with their problems named and nothing stored, the
what-if as a table of changed grades, templates refused by the sandbox, rolled back as a new
revision, the calendar per year, accounts."""

from __future__ import annotations

import io
import re

import pytest
from api_support import PASSWORD, World
from openpyxl import load_workbook
from ops_support import (
    STRICT,
    dead_letter,
    deadline_status,
    decided_cycle,
    failed_deadline,
    outbox_status,
    rulebook_count,
    template_revisions,
)
from sqlmodel import Session, func, select
from web_support import csrf_of, signed_in, tokens_in

from db.tables import AuditEvent, CalendarOverride
from workflows import credentials, rules

ADMIN_ONLY = (
    "/console/ops/outbox",
    "/console/ops/templates",
    "/console/ops/templates/admitted",
    "/console/ops/accounts",
    "/console/ops/accounts/viewer/password",
)


def form(client: object, url: str) -> dict[str, str]:
    """The hidden tokens of the page at ``url``."""
    response = client.get(url)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text[-2000:]
    return tokens_in(response.text)


def retried_events(world: World) -> int:
    with Session(world.app.engine) as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.tenancy_id == world.own_tenancy,
                    AuditEvent.trigger == "notice_retried",
                )
            ).one()
        )


# ---- who may open what --------------------------------------------------------------------
@pytest.mark.parametrize("url", ADMIN_ONLY)
def test_an_operator_cannot_open_the_admin_pages(world: World, url: str) -> None:
    response = signed_in(world, "operator").get(url)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "无权" in response.text


def test_an_operator_reads_the_rulebook_of_their_space_only(world: World) -> None:
    operator = signed_in(world, "operator")
    page = operator.get("/console/ops/rulebooks")
    assert "MC3" in page.text and "/console/ops/rulebooks/HX" not in page.text
    assert "上传并校验规则" not in page.text  # uploading is an admin's
    own = operator.get("/console/ops/rulebooks/MC3")
    assert own.status_code == 200
    assert "通过线" in own.text and "强制退出情形" in own.text and "A 等比例上限" in own.text
    assert "[admission" not in own.text  # words and tables, not TOML
    assert operator.get("/console/ops/rulebooks/HX").status_code == 404
    assert operator.get("/console/ops/rulebooks/HX/simulate").status_code == 404
    toml = operator.get("/console/ops/rulebooks/MC3/rulebook.toml")
    assert toml.text == rules.default_rulebook_text()
    assert signed_in(world, "viewer").get("/console/ops/rulebooks/MC3/simulate").status_code == 403
    assert signed_in(world, "firm").get("/console/ops").status_code == 403


# ---- the outbox ---------------------------------------------------------------------------
def test_a_dead_letter_is_shown_in_words_and_retried_once_per_form(world: World) -> None:
    outbox_id = dead_letter(world)
    admin = signed_in(world, "admin")
    page = admin.get("/console/ops/outbox?status=dead")
    row = re.search(rf'<tr data-id="{outbox_id}".*?</tr>', page.text, re.S)
    assert row is not None
    assert "死信" in row.group(0) and "准予入驻通知" in row.group(0)
    assert "模板无法渲染" in row.group(0) and "sign_by" in row.group(0)
    assert "本企业医疗科技" in row.group(0)  # the recipient, by name
    tokens = tokens_in(page.text)
    data = {**tokens, "ids": str(outbox_id)}

    first = admin.post("/console/ops/outbox/retry", data=data, follow_redirects=False)
    assert first.status_code == 303
    assert outbox_status(world, outbox_id) == "pending"
    world.app.relay().run_once()  # dies again: the template still cannot render it
    assert outbox_status(world, outbox_id) == "dead"
    again = admin.post("/console/ops/outbox/retry", data=data, follow_redirects=False)
    assert again.status_code == 303
    assert outbox_status(world, outbox_id) == "dead"  # the same form acted once
    assert retried_events(world) == 1

    pending = admin.get("/console/ops/outbox?status=pending")
    assert f'data-id="{outbox_id}"' not in pending.text
    fresh = tokens_in(admin.get("/console/ops/outbox?status=dead").text)
    done = admin.post("/console/ops/outbox/retry", data={**fresh, "all": "dead"})
    assert done.status_code == 200 and "已将 1 条通知重新排入发送队列" in done.text
    assert f'data-id="{outbox_id}" data-status="pending"' in done.text
    assert retried_events(world) == 2


def test_a_retry_without_the_csrf_token_changes_nothing(world: World) -> None:
    outbox_id = dead_letter(world)
    admin = signed_in(world, "admin")
    tokens = form(admin, "/console/ops/outbox")
    for csrf in (None, "forged"):
        data = {"form_token": tokens["form_token"], "ids": str(outbox_id)}
        if csrf is not None:
            data["csrf_token"] = csrf
        response = admin.post("/console/ops/outbox/retry", data=data)
        assert response.status_code == 403 and "CSRF" in response.text
    assert outbox_status(world, outbox_id) == "dead"
    assert retried_events(world) == 0


def test_the_outbox_exports_its_rows_to_excel(world: World) -> None:
    dead_letter(world)
    response = signed_in(world, "admin").get("/console/ops/outbox?format=xlsx&status=dead")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "状态", "通知")
    assert len(rows) == 2 and rows[1][1] == "死信（已停止重试）"


def test_failed_deadlines_are_narrowed_to_the_spaces_and_retried_by_admins(
    world: World,
) -> None:
    own = failed_deadline(world, world.own_tenancy, "sweep failed: database went away")
    other = failed_deadline(world, world.other_tenancy)
    operator = signed_in(world, "operator")
    page = operator.get("/console/ops/deadlines")
    assert f'<tr data-id="{own}">' in page.text and f'<tr data-id="{other}">' not in page.text
    assert "补充材料期限" in page.text and "database went away" in page.text
    assert "/console/ops/deadlines/retry" not in page.text  # retrying is an admin's
    refused = operator.post(
        "/console/ops/deadlines/retry", data={**tokens_in(page.text), "ids": str(own)}
    )
    assert refused.status_code == 403
    assert deadline_status(world, own) == "failed"

    admin = signed_in(world, "admin")
    listed = admin.get("/console/ops/deadlines")
    assert f'<tr data-id="{other}">' in listed.text
    retried = admin.post(
        "/console/ops/deadlines/retry", data={**tokens_in(listed.text), "all": "failed"}
    )
    assert retried.status_code == 200 and "已将 2 个期限放回队列" in retried.text
    assert deadline_status(world, own) == deadline_status(world, other) == "pending"
    assert "没有失败的期限" in retried.text


def test_the_operations_pages_speak_english_when_asked(world: World) -> None:
    admin = signed_in(world, "admin")
    admin.get("/language/en?next=/console/ops")
    for url, words in (
        ("/console/ops", "Outbox and dead letters"),
        ("/console/ops/rulebooks/MC3", "Pass line"),
        ("/console/ops/calendar", "Holiday schedule per year"),
        ("/console/ops/accounts", "Add an account"),
        ("/console/ops/templates/admitted", "Save as a new revision"),
    ):
        page = admin.get(url)
        assert page.status_code == 200 and words in page.text, url
        assert "通过线" not in page.text and "新增账户" not in page.text


# ---- rulebooks ----------------------------------------------------------------------------
def test_a_rulebook_with_errors_is_refused_with_named_errors_and_nothing_stored(
    world: World,
) -> None:
    admin = signed_in(world, "admin")
    before = rulebook_count(world)
    broken = rules.default_rulebook_text().replace("pass_score = ", "pass_scor = ", 1)
    broken = broken.replace("open_month = ", 'open_month = "一月" #', 1)
    csrf = csrf_of(admin)
    checked = admin.post(
        "/console/ops/rulebooks/check",
        data={"csrf_token": csrf},
        files={"file": ("broken.toml", broken.encode(), "application/toml")},
    )
    assert checked.status_code == 422
    assert "规则有误，未存储" in checked.text
    assert "admission.scoring.pass_score" in checked.text and "必填" in checked.text
    assert "admission.scoring.pass_scor" in checked.text and "不认识的字段" in checked.text
    assert "review.calendar.open_month" in checked.text
    assert "/console/ops/rulebooks/load" not in checked.text  # nothing to store
    syntax = admin.post(
        "/console/ops/rulebooks/check",
        data={"csrf_token": csrf},
        files={"file": ("bad.toml", b"[meta\nname = 1", "application/toml")},
    )
    assert syntax.status_code == 422 and "TOML 语法错误" in syntax.text

    tokens = form(admin, "/console/ops/rulebooks")
    loaded = admin.post(
        "/console/ops/rulebooks/load", data={**tokens, "text": broken, "source": "broken.toml"}
    )
    assert loaded.status_code == 422
    activated = admin.post(
        "/console/ops/rulebooks/MC3/activate",
        data={**tokens, "text": broken, "source": "broken.toml", "confirmed": "yes"},
    )
    assert activated.status_code == 422
    assert rulebook_count(world) == before


def test_a_rulebook_is_checked_then_activated_after_confirmation(world: World) -> None:
    admin = signed_in(world, "admin")
    csrf = csrf_of(admin)
    checked = admin.post(
        "/console/ops/rulebooks/check",
        data={"csrf_token": csrf},
        files={"file": ("strict.toml", STRICT.encode(), "application/toml")},
    )
    assert checked.status_code == 200 and "校验通过" in checked.text
    assert "70–74" in checked.text  # the new band, read as a table
    version = rules.parse(STRICT, "strict").version
    before = rulebook_count(world)
    carried = re.search(r'name="carried" value="([^"]+)"', checked.text)
    assert carried is not None  # the checked bytes go on, unchanged, to the next step
    asked = admin.post(
        "/console/ops/rulebooks/HX/activate",
        data={"csrf_token": csrf, "carried": carried.group(1), "source": "strict.toml"},
    )
    assert (
        asked.status_code == 200 and "确认启用" in asked.text and "不会通知任何企业" in asked.text
    )
    assert rulebook_count(world) == before  # asking stores nothing
    done = admin.post(
        "/console/ops/rulebooks/HX/activate",
        data={
            **tokens_in(asked.text),
            "carried": carried.group(1),
            "source": "strict.toml",
            "confirmed": "yes",
        },
    )
    assert done.status_code == 200 and f"规则 {version[:12]} 已在 HX 启用" in done.text
    assert rulebook_count(world) == before + 1
    assert version[:12] in admin.get("/console/ops/rulebooks").text


def test_the_what_if_lists_only_the_changed_grades(world: World) -> None:
    ts = decided_cycle(world)
    operator = signed_in(world, "operator")
    before = rulebook_count(world)
    result = operator.post(
        "/console/ops/rulebooks/MC3/simulate",
        data={"csrf_token": csrf_of(operator), "period": "2024"},
        files={"file": ("strict.toml", STRICT.encode(), "application/toml")},
    )
    assert result.status_code == 200, result.text[-2000:]
    rows = re.findall(r'<tr class="change" data-tenancy="(\d+)">(.*?)</tr>', result.text, re.S)
    assert [int(t) for t, _ in rows] == [ts[0]]
    ((_, row),) = rows
    assert "C 合格" in row and "<strong>D</strong> 不合格" in row and "60.9" in row
    assert "限期整改" in row  # the consequence it would bring
    summary = re.search(r'<p id="sim-summary">(.*?)</p>', result.text, re.S)
    assert summary is not None
    assert "共 3 家企业参评" in summary.group(1) and "2 家等级不变" in summary.group(1)
    assert rulebook_count(world) == before  # a what-if stores nothing

    bad = operator.post(
        "/console/ops/rulebooks/MC3/simulate",
        data={"csrf_token": csrf_of(operator), "period": "2024"},
        files={"file": ("bad.toml", b"[meta", "application/toml")},
    )
    assert bad.status_code == 422 and "TOML 语法错误" in bad.text

    no_year = operator.post(
        "/console/ops/rulebooks/MC3/simulate",
        data={"csrf_token": csrf_of(operator), "period": "24", "show": "all"},
        files={"file": ("strict.toml", STRICT.encode(), "application/toml")},
    )
    assert no_year.status_code == 422  # the form again, the year kept, the rulebook carried
    assert (
        "未模拟：考核年度：须为 2000 至 2100 之间的年份" in no_year.text
        and "period：" not in no_year.text
    )
    assert 'name="period" value="24"' in no_year.text and 'name="carried" value="' in no_year.text


# ---- templates ----------------------------------------------------------------------------
def test_a_template_the_sandbox_refuses_is_not_saved(world: World) -> None:
    admin = signed_in(world, "admin")
    url = "/console/ops/templates/admitted?locale=zh-CN&part=text"
    tokens = form(admin, url)
    evil = "{{ ''.__class__.__mro__ }}"
    preview = admin.post(
        "/console/ops/templates/admitted/preview",
        data={**tokens, "locale": "zh-CN", "part": "text", "source": evil},
        headers={"HX-Request": "true"},
    )
    assert preview.status_code == 200 and "模板无法渲染" in preview.text
    assert "<html" not in preview.text  # a fragment for htmx
    saved = admin.post(
        "/console/ops/templates/admitted",
        data={**tokens, "locale": "zh-CN", "part": "text", "source": evil},
    )
    assert saved.status_code == 422 and "unsafe" in saved.text
    assert template_revisions(world, "admitted") == []
    # the editor comes back with the text typed (escaped in the textarea), not an error page
    assert "未保存" in saved.text and 'id="source"' in saved.text
    assert "{{ &#39;&#39;.__class__.__mro__ }}</textarea>" in saved.text


def test_a_template_is_previewed_saved_and_rolled_back_as_a_new_revision(world: World) -> None:
    admin = signed_in(world, "admin")
    url = "/console/ops/templates/admitted?locale=zh-CN&part=subject"
    tokens = form(admin, url)
    fields = {"locale": "zh-CN", "part": "subject"}
    preview = admin.post(
        "/console/ops/templates/admitted/preview",
        data={**tokens, **fields, "source": "准予入驻：{{ firm.name }}（试）"},
        headers={"HX-Request": "true"},
    )
    assert "准予入驻：成都蓉医生物科技有限公司（试）" in preview.text
    assert template_revisions(world, "admitted") == []  # a preview stores nothing
    for n, text in enumerate(("第一版 {{ firm.name }}", "第二版 {{ firm.name }}"), start=1):
        saved = admin.post(
            "/console/ops/templates/admitted",
            data={**form(admin, url), **fields, "source": text},
        )
        assert saved.status_code == 200 and f"已保存为第 {n} 版" in saved.text
    page = admin.get(url)
    assert "第二版" in page.text and "第一版" in page.text
    rolled = admin.post(
        "/console/ops/templates/admitted/rollback",
        data={**tokens_in(page.text), **fields, "revision": "1"},
    )
    assert "已恢复第 1 版的内容，保存为第 3 版" in rolled.text
    assert template_revisions(world, "admitted") == [1, 2, 3]
    api = world.client("admin").get("/api/templates/admitted").json()
    assert api[0]["revision"] == 3 and api[0]["source"] == "第一版 {{ firm.name }}"
    assert api[0]["author"].endswith("admin 测试")


def test_the_preview_shows_the_copy_of_the_audience_chosen(world: World) -> None:
    admin = signed_in(world, "admin")
    base = "/console/ops/templates/review_overdue?locale=zh-CN&part=text"
    firm = admin.get(base)
    staff = admin.get(base + "&audience=operators")
    assert firm.status_code == staff.status_code == 200
    assert '<option value="operators" selected>' in staff.text
    texts = []
    for page in (firm, staff):
        found = re.search(
            r'<pre class="preview-text" id="preview-text">(.*?)</pre>', page.text, re.S
        )
        assert found is not None
        texts.append(found.group(1))
    assert texts[0] != texts[1]  # the firm's copy and the staff task differ
    assert admin.get(base + "&audience=nobody").status_code == 422
    html = admin.get("/console/ops/templates/admitted?locale=zh-CN&part=html").text
    assert 'id="preview-html"' in html and "&lt;" in html  # the HTML body, as source


# ---- the calendar -------------------------------------------------------------------------
def test_the_calendar_shows_each_year_and_an_admin_sets_a_day(world: World) -> None:
    admin = signed_in(world, "admin")
    page = admin.get("/console/ops/calendar")
    years = dict(
        re.findall(r'<tr data-year="(\d+)">.*?<span class="badge (\w+)">', page.text, re.S)
    )
    assert years["2024"] == "ok" and years["2026"] == "ok"
    assert years["2027"] == "bad"  # beyond the shipped schedule, not published
    assert "2027 年节假日安排未公布" in page.text
    tokens = tokens_in(page.text)
    no_day = admin.post(
        "/console/ops/calendar/day",
        data={**tokens, "day": "2024-05-32", "kind": "holiday", "note": "补休"},
    )
    assert no_day.status_code == 422
    assert "日期：日期格式须为 YYYY-MM-DD" in no_day.text and "day：" not in no_day.text
    assert 'value="补休"' in no_day.text and 'value="holiday" selected' in no_day.text
    set_day = admin.post(
        "/console/ops/calendar/day",
        data={**tokens, "day": "2024-05-11", "kind": "workday", "note": "调休上班"},
    )
    assert set_day.status_code == 200 and "2024-05-11 已设为上班日" in set_day.text
    imported = admin.post(
        "/console/ops/calendar/import",
        data={**tokens_in(set_day.text), "complete": "yes"},
        files={
            "file": (
                "2027.txt",
                b"# 2027\n2027-02-06,workday,\xe6\x98\xa5\xe8\x8a\x82\n",
                "text/plain",
            )
        },
    )
    assert imported.status_code == 200, imported.text[-1500:]
    assert "已导入 1 天" in imported.text
    after = dict(
        re.findall(r'<tr data-year="(\d+)">.*?<span class="badge (\w+)">', imported.text, re.S)
    )
    assert after["2027"] == "ok"
    with Session(world.app.engine) as s:
        assert s.exec(select(func.count()).select_from(CalendarOverride)).one() == 2
    sheet = load_workbook(
        io.BytesIO(admin.get("/console/ops/calendar?year=2027&format=xlsx").content)
    ).active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True))[1][1:] == ("上班", "春节")
    bad = admin.post(
        "/console/ops/calendar/import",
        data={**tokens_in(imported.text), "text": "2027-13-01,workday"},
    )
    assert bad.status_code == 422 and "第 1 行" in bad.text
    for year in ("abc", "3000"):  # named, not silently replaced by this year
        odd = admin.get(f"/console/ops/calendar?year={year}")
        assert odd.status_code == 422 and "年份：年份须为 1901 至 2199 之间的年份" in odd.text
    # the calendar page again, the pasted text kept and the problem beside it
    assert "未导入：第 1 行：日期格式须为 YYYY-MM-DD" in bad.text and "line 1" not in bad.text
    assert ">2027-13-01,workday</textarea>" in bad.text


# ---- accounts -----------------------------------------------------------------------------
def test_an_admin_adds_an_account_with_a_generated_password_shown_once(world: World) -> None:
    admin = signed_in(world, "admin")
    page = admin.get("/console/ops/accounts")
    tokens = tokens_in(page.text)
    generated = re.search(r'name="generated" value="([^"]+)"', page.text)
    assert generated is not None
    data = {
        **tokens,
        "username": "zhangsan",
        "display_name": "张三",
        "role": "operator",
        "spaces": "MC3",
        "password_mode": "generated",
        "generated": generated.group(1),
    }
    added = admin.post("/console/ops/accounts", data=data)
    assert added.status_code == 200 and generated.group(1) in added.text
    again = admin.post("/console/ops/accounts", data=data)  # a double submit
    assert again.status_code == 200 and "账户已新增" in again.text
    listed = admin.get("/console/ops/accounts?q=zhang")
    assert 'data-user="zhangsan"' in listed.text and "MC3" in listed.text
    assert "正常" in listed.text
    assert signed_in(world, "zhangsan", generated.group(1)).get("/console").status_code == 200

    typed = {**tokens_in(listed.text), "username": "lisi", "display_name": "李四"}
    typed |= {"role": "viewer", "password_mode": "typed", "generated": "x" * 16}
    short = admin.post(
        "/console/ops/accounts", data={**typed, "password": "short", "password_again": "short"}
    )
    assert short.status_code == 422 and "至少 12 个字符" in short.text
    # the form comes back with what was typed (not the passwords), the field named in words
    assert "账户未新增" in short.text and "密码：" in short.text and "password：" not in short.text
    assert 'value="lisi"' in short.text and 'value="李四"' in short.text
    assert 'value="viewer" selected' in short.text and 'value="short"' not in short.text
    differ = admin.post(
        "/console/ops/accounts",
        data={**typed, "password": "a long password 1", "password_again": "a long password 2"},
    )
    assert differ.status_code == 422 and "两次输入的密码不一致" in differ.text
    same = admin.post(
        "/console/ops/accounts",
        data={
            **typed,
            "form_token": "another",
            "password": "lisi",
            "password_again": "lisi",
        },
    )
    assert same.status_code == 422


def test_a_password_reset_ends_the_accounts_sessions(world: World) -> None:
    viewer = signed_in(world, "viewer")
    assert viewer.get("/console").status_code == 200
    admin = signed_in(world, "admin")
    page = admin.get("/console/ops/accounts/viewer/password")
    assert "所有登录会话立即结束" in page.text
    differ = admin.post(
        "/console/ops/accounts/viewer/password",
        data={
            **tokens_in(page.text),
            "password_mode": "typed",
            "password": "a brand new passphrase",
            "password_again": "a brand new passphrasf",
        },
    )
    assert differ.status_code == 422 and "重置密码" in differ.text
    assert "密码：两次输入的密码不一致" in differ.text and "password：" not in differ.text
    reset = admin.post(
        "/console/ops/accounts/viewer/password",
        data={
            **tokens_in(page.text),
            "password_mode": "typed",
            "password": "a brand new passphrase",
            "password_again": "a brand new passphrase",
        },
    )
    assert reset.status_code == 200 and "密码已重置" in reset.text
    assert viewer.get("/console", follow_redirects=False).status_code == 303  # signed out
    assert signed_in(world, "viewer", "a brand new passphrase").get("/console").status_code == 200
    refused = world.client().post(
        "/login", data={"username": "viewer", "password": PASSWORD}, follow_redirects=False
    )
    assert refused.status_code == 401


def test_an_admin_disables_enables_and_grants(world: World) -> None:
    admin = signed_in(world, "admin")
    operator = signed_in(world, "operator")
    tokens = form(admin, "/console/ops/accounts")
    disabled = admin.post("/console/ops/accounts/operator/disable", data=tokens)
    assert disabled.status_code == 200 and "已停用" in disabled.text
    assert operator.get("/console", follow_redirects=False).status_code == 303
    enabled = admin.post("/console/ops/accounts/operator/enable", data=tokens_in(disabled.text))
    assert "已启用" in enabled.text
    granted = admin.post(
        "/console/ops/accounts/operator/grant", data={**tokens_in(enabled.text), "space": "HX"}
    )
    assert "已为 operator 授权空间 HX" in granted.text
    assert signed_in(world, "operator").get("/console/ops/rulebooks/HX").status_code == 200
    own = admin.post("/console/ops/accounts/admin/disable", data=tokens_in(granted.text))
    assert own.status_code == 422


def test_the_template_catalog_and_the_stored_rulebooks_export_to_excel(world: World) -> None:
    admin = signed_in(world, "admin")
    templates = admin.get("/console/ops/templates?format=xlsx")
    assert templates.status_code == 200
    sheet = load_workbook(io.BytesIO(templates.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("代码", "通知", "收件人", "法律文书", "运营修改")
    assert any(row[0] == "review_result" and row[1] for row in rows[1:])
    rulebooks = admin.get("/console/ops/rulebooks?format=xlsx")
    assert rulebooks.status_code == 200
    sheet = load_workbook(io.BytesIO(rulebooks.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("版本", "名称")
    assert len(rows) >= 2  # the default rulebook, in force in both spaces


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("gb18030", b"")],
)
def test_a_rulebook_saved_by_notepad_on_chinese_windows_is_read_as_the_cli_reads_it(
    world: World, encoding: str, bom: bytes
) -> None:
    """UTF-16 with its BOM or GB18030/GBK, as ``innospace rules check`` takes them: the
    same text, checked; the Chinese of the rulebook read back intact."""
    admin = signed_in(world, "admin")
    checked = admin.post(
        "/console/ops/rulebooks/check",
        data={"csrf_token": csrf_of(admin)},
        files={"file": ("strict.toml", bom + STRICT.encode(encoding), "application/toml")},
    )
    assert checked.status_code == 200, checked.text
    assert "校验通过" in checked.text and "70–74" in checked.text
    carried = re.search(r'name="carried" value="([^"]+)"', checked.text)
    assert carried is not None
    import base64

    assert base64.b64decode(carried.group(1)).decode("utf-8") == STRICT


def test_a_rulebook_in_no_encoding_the_cli_reads_is_refused_naming_the_file(
    world: World,
) -> None:
    admin = signed_in(world, "admin")
    refused = admin.post(
        "/console/ops/rulebooks/check",
        data={"csrf_token": csrf_of(admin)},
        files={"file": ("bad.toml", b"\xff\xff\x81\x30", "application/toml")},
    )
    assert refused.status_code == 422, refused.text
    assert "GB18030/GBK" in refused.text and "UTF-16" in refused.text


def test_an_admin_sees_the_addresses_an_account_is_locked_out_from_and_unlocks_it(
    world: World,
) -> None:
    """Failures from one address lock the account from there only: the accounts page names
    the address (the account stays active) and an admin lifts the lockout."""
    guesser = world.client()
    for _ in range(credentials.MAX_FAILURES):
        refused = guesser.post(
            "/login", data={"username": "operator", "password": "wrong password!"}
        )
        assert refused.status_code == 401
    right = {"username": "operator", "password": PASSWORD}
    assert guesser.post("/login", data=right, follow_redirects=False).status_code == 401
    admin = signed_in(world, "admin")
    page = admin.get("/console/ops/accounts?q=operator").text
    row = page[page.index('data-user="operator"') :]
    assert "以下地址登录已锁定：testclient" in row and "正常" in row
    unlock = re.search(r'action="/console/ops/accounts/operator/unlock".*?</form>', row, re.S)
    assert unlock is not None
    done = admin.post("/console/ops/accounts/operator/unlock", data=tokens_in(unlock.group(0)))
    assert done.status_code == 200 and "账户 operator 的登录锁定已解除" in done.text
    assert "以下地址登录已锁定" not in done.text
    assert guesser.post("/login", data=right, follow_redirects=False).status_code == 303
    # Unlocking an account no longer locked out (a page shown before, a second admin's click)
    # says so, not that a lockout was lifted.
    stale = {**tokens_in(unlock.group(0)), "form_token": "another-click"}
    done = admin.post("/console/ops/accounts/operator/unlock", data=stale)
    assert done.status_code == 200 and "账户 operator 当前没有登录锁定，无需解除" in done.text
    assert "登录锁定已解除" not in done.text
