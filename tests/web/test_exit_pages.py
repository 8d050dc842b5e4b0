"""Exit cases in the console and the firm's notices and answers in the portal, through the
pages as a browser sends them (TestClient), on both databases: what the operator sees and
does, what the firm reads and sends, and every bad input refused with nothing changed."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from api_support import SECRET, START, World
from conftest import local
from fastapi.testclient import TestClient
from web_exit_support import ELF, PDF, clock_of, make_resident, png, serve_notice
from web_support import signed_in, tokens_in

from entrypoints.bootstrap import App, bootstrap
from entrypoints.http.middleware import UPLOAD_BODY_BYTES
from entrypoints.settings import Settings
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import queries
from workflows.attachments import MAX_FILE_BYTES


@pytest.fixture
def http_app(world_db_url: str, tmp_path: Path) -> Iterator[App]:
    """The API's application with its files kept in this test's directory."""
    settings = Settings(
        database_url=world_db_url, secret_key=SECRET, files_dir=str(tmp_path / "files")
    )
    app = bootstrap(settings=settings, clock=FixedClock(START))
    yield app
    app.engine.dispose()


def _events(world: World, trigger: str, tenancy_id: int | None = None) -> list[dict[str, object]]:
    events = world.app.service.query(queries.timeline, tenancy_id=tenancy_id or world.own_tenancy)
    return [e for e in events if e["trigger"] == trigger]


def _state(world: World, tenancy_id: int | None = None) -> str:
    shown = world.app.service.query(
        queries.show_tenancy, tenancy_id=tenancy_id or world.own_tenancy
    )
    return str(shown["state"])


def _answer(
    client: TestClient,
    tenancy_id: int,
    files: list[tuple[str, bytes, str]],
    *,
    text: str = "我司未转租，B 座 201 室由子公司使用，附租赁备案。",
    tokens: dict[str, str] | None = None,
) -> httpx.Response:
    tokens = tokens or tokens_in(client.get(f"/portal/answer/{tenancy_id}").text)
    response: httpx.Response = client.post(
        f"/portal/answer/{tenancy_id}",
        data={"text": text, **tokens},
        files=[("attachments", f) for f in files],
        follow_redirects=False,
    )
    return response


@pytest.fixture
def served(world: World) -> World:
    make_resident(world)
    serve_notice(world)
    return world


# ---- the firm answers ----------------------------------------------------------------------
def test_the_firm_answers_with_files_and_the_operator_sees_and_downloads_them(
    served: World, tmp_path: Path
) -> None:
    world = served
    firm = signed_in(world, "firm")
    page = firm.get(f"/portal/answer/{world.own_tenancy}")
    assert page.status_code == 200
    assert "陈述申辩" in page.text and "提交截止日期" in page.text
    image = png()
    response = _answer(
        firm,
        world.own_tenancy,
        [("租赁备案.pdf", PDF, "application/pdf"), ("现场照片.png", image, "image/png")],
    )
    assert response.status_code == 303, response.text
    [event] = _events(world, "lodge_objection")
    data = event["data"]
    assert isinstance(data, dict) and data["accepted"] is True
    assert data["attachments"] == [
        {
            "name": "租赁备案.pdf",
            "type": "application/pdf",
            "size": len(PDF),
            "sha256": hashlib.sha256(PDF).hexdigest(),
        },
        {
            "name": "现场照片.png",
            "type": "image/png",
            "size": len(image),
            "sha256": hashlib.sha256(image).hexdigest(),
        },
    ]
    sha = hashlib.sha256(PDF).hexdigest()
    stored = tmp_path / "files" / sha[:2] / sha
    assert stored.read_bytes() == PDF  # outside the database, named by its SHA-256
    # The form is closed once answered; the firm sees what it sent.
    again = firm.get(f"/portal/answer/{world.own_tenancy}").text
    assert "您的答复已提交" in again and 'name="text"' not in again
    # The operator sees the statement and downloads the file from the exit case's page.
    operator = signed_in(world, "operator")
    listing = operator.get("/console/exits?status=open&sort=id&dir=desc").text
    rows = world.app.service.query(queries.show_tenancy, tenancy_id=world.own_tenancy)
    case = max(rows["exit_cases"], key=lambda c: c["id"])
    assert f'href="/console/exits/{case["id"]}"' in listing
    page = operator.get(f"/console/exits/{case['id']}")
    assert "我司未转租" in page.text and "租赁备案.pdf" in page.text
    download = operator.get(f"/console/exits/{case['id']}/files/{sha}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    # ... but not a file of another case, nor through another space's operator.
    other = operator.get(f"/console/exits/{world.other_exit_case}/files/{sha}")
    assert other.status_code == 404


def test_an_executable_named_pdf_is_refused_in_chinese_and_nothing_is_stored(
    served: World, tmp_path: Path
) -> None:
    firm = signed_in(served, "firm")
    response = _answer(firm, served.own_tenancy, [("说明.pdf", ELF, "application/pdf")])
    assert response.status_code == 422
    text = response.text
    assert "不是 PDF、PNG 或 JPEG 文件" in text and "按文件内容识别" in text
    assert _events(served, "lodge_objection") == []
    assert not (tmp_path / "files").exists() or not any((tmp_path / "files").rglob("*"))


def test_an_oversized_file_is_refused_and_a_body_over_the_limit_is_413(served: World) -> None:
    firm = signed_in(served, "firm")
    big = b"%PDF-1.4\n" + b"0" * MAX_FILE_BYTES
    response = _answer(firm, served.own_tenancy, [("大文件.pdf", big, "application/pdf")])
    assert response.status_code == 422
    assert "超过 10 MiB 的上限" in response.text
    # A whole form over the upload path's limit is refused before the page runs, as a page.
    tokens = tokens_in(firm.get(f"/portal/answer/{served.own_tenancy}").text)
    huge = firm.post(
        f"/portal/answer/{served.own_tenancy}",
        data={"text": "x", **tokens},
        files=[("attachments", ("a.pdf", b"%PDF-" + b"0" * UPLOAD_BODY_BYTES, "application/pdf"))],
    )
    assert huge.status_code == 413 and "提交的内容过大" in huge.text
    assert _events(served, "lodge_objection") == []
    # Every other page keeps the 1 MiB limit.
    other = firm.post("/logout", data={"x": "y" * 1_100_000})
    assert other.status_code == 413


def test_a_double_submit_acts_once(served: World) -> None:
    firm = signed_in(served, "firm")
    tokens = tokens_in(firm.get(f"/portal/answer/{served.own_tenancy}").text)
    files = [("租赁备案.pdf", PDF, "application/pdf")]
    first = _answer(firm, served.own_tenancy, files, tokens=tokens)
    second = _answer(firm, served.own_tenancy, files, tokens=tokens)
    assert first.status_code == 303 and second.status_code == 303
    assert len(_events(served, "lodge_objection")) == 1


def test_after_the_deadline_the_form_is_closed_and_an_answer_refused(served: World) -> None:
    clock_of(served).advance(timedelta(days=14))  # past the 5 working days
    firm = signed_in(served, "firm")
    page = firm.get(f"/portal/answer/{served.own_tenancy}")
    assert "提交期限已过" in page.text and 'name="text"' not in page.text
    tokens = {"csrf_token": tokens_in(page.text).get("csrf_token", ""), "form_token": "late-1"}
    if not tokens["csrf_token"]:
        tokens["csrf_token"] = firm.cookies.get("innospace_csrf") or ""
    response = _answer(firm, served.own_tenancy, [], tokens=tokens)
    assert response.status_code == 409
    assert "提交期限已过" in response.text
    assert _events(served, "lodge_objection") == []


def test_a_form_without_the_csrf_token_changes_nothing(served: World) -> None:
    firm = signed_in(served, "firm")
    tokens = tokens_in(firm.get(f"/portal/answer/{served.own_tenancy}").text)
    del tokens["csrf_token"]
    response = _answer(firm, served.own_tenancy, [], tokens=tokens)
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert _events(served, "lodge_objection") == []


def test_another_firms_tenancy_notice_and_case_are_not_found(served: World) -> None:
    firm = signed_in(served, "firm")
    for url in (
        f"/portal/answer/{served.other_tenancy}",
        f"/portal/exit/{served.other_tenancy}",
        "/portal/inbox/999999",
    ):
        response = firm.get(url)
        assert response.status_code == 404, url
        assert "不存在" in response.text, response.text
    tokens = tokens_in(firm.get(f"/portal/answer/{served.own_tenancy}").text)
    response = _answer(firm, served.other_tenancy, [], tokens=tokens)
    assert response.status_code == 404
    # The other firm's notice (delivered to its inbox) is not found for this firm.
    make_resident(served, served.other_tenancy)  # moves the clock: sign in again
    serve_notice(served, served.other_tenancy)
    firm = signed_in(served, "firm")
    own_ids = {i["id"] for i in _inbox(served, served.own_firm)}
    other_ids = {i["id"] for i in _inbox(served, served.other_firm)}
    assert other_ids and not own_ids & other_ids
    for item_id in other_ids:
        response = firm.get(f"/portal/inbox/{item_id}", follow_redirects=False)
        assert response.status_code == 404 and "不存在" in response.text
    # An operator of MC3 does not see HX's exit case either.
    operator = signed_in(served, "operator")
    assert operator.get(f"/console/exits/{served.other_exit_case}").status_code == 404


def _chain_problems(world: World) -> list[object]:
    """What ``audit verify`` finds on the own tenancy, but for the exit-case rows: the world
    writes an exit case row on it directly (api_support.add_cases), which no event opened."""
    report = world.app.service.query(queries.audit_report, tenancy_id=world.own_tenancy)
    assert report.events > 0
    return [p for p in report.problems if not p.detail.startswith("exit_cases #")]


def _inbox(world: World, firm: str) -> list[dict[str, object]]:
    from workflows import queries_ops

    data = world.app.service.query(queries_ops.inbox, firm=firm)
    items: list[dict[str, object]] = data["items"]
    return items


# ---- the inbox -----------------------------------------------------------------------------
def test_the_inbox_lists_the_firms_notices_and_opening_one_marks_it_read(served: World) -> None:
    firm = signed_in(served, "firm")
    listing = firm.get("/portal/inbox")
    assert listing.status_code == 200
    assert "未读" in listing.text and "法律文书" in listing.text
    notice = next(i for i in _inbox(served, served.own_firm) if i["message"] == "exit_notice")
    page = firm.get(f"/portal/inbox/{notice['id']}")
    assert page.status_code == 200
    for heading in ("一、事实与理由", "二、依据", "三、期限", "四、救济途径"):
        assert heading in page.text
    assert "letterhead" in page.text and "成都医学城三医创新中心" in page.text
    assert "在线答复" in page.text
    read = next(i for i in _inbox(served, served.own_firm) if i["id"] == notice["id"])
    assert read["read_at"] is not None
    unread_only = firm.get("/portal/inbox?unread=1").text
    assert f"/portal/inbox/{notice['id']}" not in unread_only
    export = firm.get("/portal/inbox?format=xlsx")
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")


# ---- the operator rules, the firm vacates and hands over ------------------------------------
def test_the_operator_rules_with_a_confirmation_then_records_the_handover(served: World) -> None:
    world = served
    firm = signed_in(world, "firm")
    assert _answer(firm, world.own_tenancy, []).status_code == 303
    clock_of(world).advance(timedelta(days=10))  # the window is over
    operator = signed_in(world, "operator")
    case_id = max(
        world.app.service.query(queries.show_tenancy, tenancy_id=world.own_tenancy)["exit_cases"],
        key=lambda c: c["id"],
    )["id"]
    page = operator.get(f"/console/exits/{case_id}").text
    assert "裁决陈述申辩" in page
    tokens = tokens_in(page)
    form = {"upheld": "no", "reason": "转租事实有租赁合同为证，申辩理由不成立", **tokens}
    ask = operator.post(f"/console/exits/{case_id}/rule", data=form)
    assert ask.status_code == 200 and "将通知" in ask.text and "本企业医疗科技" in ask.text
    assert _state(world) == "exit_notice"  # asking changed nothing
    confirm = {**form, "confirmed": "1", **tokens_in(ask.text)}
    done = operator.post(f"/console/exits/{case_id}/rule", data=confirm, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert _state(world) == "vacating"
    page = operator.get(f"/console/exits/{case_id}").text
    assert "腾退期限" in page and "交接验收" in page
    # An incomplete checklist is refused, naming what is missing.
    tokens = tokens_in(page)
    partial = operator.post(
        f"/console/exits/{case_id}/handover",
        data={
            "checklist": ["meters", "keys"],
            "arrears_yuan": "1,500",
            "damage_yuan": "0",
            "reason": "钥匙已收",
            **tokens,
        },
    )
    assert partial.status_code == 422 and "门禁卡交回" in partial.text
    # ... on the case page again, what was entered kept, the field named in words
    assert "交接清单：交接清单未完成" in partial.text and "checklist：" not in partial.text
    assert 'value="1,500"' in partial.text and 'value="钥匙已收"' in partial.text
    assert re.search(r'value="keys" checked', partial.text)
    assert not re.search(r'value="access_cards" checked', partial.text)
    handover: dict[str, str | list[str]] = {
        "checklist": ["meters", "keys", "access_cards", "premises_restored"],
        "arrears_yuan": "1,500",
        "damage_yuan": "0",
        **tokens,
    }
    ask = operator.post(f"/console/exits/{case_id}/handover", data=handover)
    assert "不可撤销" in ask.text
    confirm_handover: dict[str, str | list[str]] = {
        **handover,
        "confirmed": "1",
        **tokens_in(ask.text),
    }
    done = operator.post(
        f"/console/exits/{case_id}/handover", data=confirm_handover, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert _state(world) == "exited"
    page = operator.get(f"/console/exits/{case_id}").text
    assert "已办结" in page and "18,500.00 元" in page  # 20,000 deposit − 1,500 arrears
    assert _chain_problems(world) == []  # the answer with its files is part of a sound chain


def test_a_viewer_sees_the_case_but_has_no_actions(served: World) -> None:
    viewer = signed_in(served, "viewer")
    listing = viewer.get("/console/exits")
    assert listing.status_code == 200 and "本企业医疗科技" in listing.text
    assert "他企业生物科技" not in listing.text  # another space's
    case_id = max(
        served.app.service.query(queries.show_tenancy, tenancy_id=served.own_tenancy)["exit_cases"],
        key=lambda c: c["id"],
    )["id"]
    page = viewer.get(f"/console/exits/{case_id}").text
    assert "送达书面退出通知" in page and "/rule" not in page
    tokens = tokens_in(viewer.get("/console/exits").text) or {}
    refused = viewer.post(
        f"/console/exits/{case_id}/confirm",
        data={"csrf_token": viewer.cookies.get("innospace_csrf") or "", **tokens},
    )
    assert refused.status_code in (403, 404)
    export = viewer.get("/console/exits?format=xlsx")
    assert export.status_code == 200


# ---- voluntary exit --------------------------------------------------------------------------
def test_no_voluntary_exit_is_offered_when_the_agreement_ends_first(world: World) -> None:
    """Twenty days before the agreement ends, two months' notice would run past it: the page
    says the stay ends by expiry (no form to fill), and a date after the end is refused."""
    make_resident(world)
    shown = world.app.service.query(queries.show_tenancy, tenancy_id=world.own_tenancy)
    term_end = date.fromisoformat(str(shown["term_end"]))
    clock = clock_of(world)
    clock.advance(
        timedelta(days=(term_end - clock.now().date()).days - 20)
    )  # 20 days before the end
    for year in range(clock.now().year, term_end.year + 1):  # working days are counted then
        world.do(c.PublishCalendarYear(year=year))
    firm = signed_in(world, "firm")
    page = firm.get(f"/portal/exit/{world.own_tenancy}")
    assert page.status_code == 200
    assert "到期即按期满退出，无需申请自愿退出" in page.text and "下一步：确认" not in page.text
    after = (term_end + timedelta(days=1)).isoformat()
    refused = firm.post(
        f"/portal/exit/{world.own_tenancy}",
        data={"leave_on": after, "reason": "迁址", "confirmed": "1", **tokens_in(page.text)},
    )
    assert refused.status_code == 422 and "协议到期日" in refused.text
    assert _events(world, "request_voluntary_exit") == []


def test_a_voluntary_exit_needs_the_notice_period_and_a_confirmation(world: World) -> None:
    make_resident(world)
    firm = signed_in(world, "firm")
    page = firm.get(f"/portal/exit/{world.own_tenancy}")
    assert page.status_code == 200
    assert "2个月" in page.text and "钥匙交回" in page.text
    tokens = tokens_in(page.text)
    early = firm.post(
        f"/portal/exit/{world.own_tenancy}",
        data={"leave_on": START.date().isoformat(), "reason": "迁往新厂区", **tokens},
    )
    assert early.status_code == 422 and "最早可于" in early.text
    # the form comes back with the date and the reasons kept, the field named in words
    assert "拟退出日期：须提前" in early.text and "leave_on：" not in early.text
    assert (
        f'value="{START.date().isoformat()}"' in early.text
        and ">迁往新厂区</textarea>" in early.text
    )
    today = clock_of(world).now().date()
    leave_on = today.replace(year=today.year + 1).isoformat()
    ask = firm.post(
        f"/portal/exit/{world.own_tenancy}", data={"leave_on": leave_on, "reason": "迁址", **tokens}
    )
    assert ask.status_code == 200 and "确认提交退出申请" in ask.text
    assert _events(world, "request_voluntary_exit") == []
    confirm = {"leave_on": leave_on, "reason": "迁址", "confirmed": "1", **tokens_in(ask.text)}
    done = firm.post(f"/portal/exit/{world.own_tenancy}", data=confirm, follow_redirects=False)
    assert done.status_code == 303
    [event] = _events(world, "request_voluntary_exit")
    assert isinstance(event["data"], dict) and event["data"]["leave_on"] == leave_on
    assert "等待运营方办理" in firm.get(f"/portal/exit/{world.own_tenancy}").text
    # The operator sees the request and begins the exit, approved.
    operator = signed_in(world, "operator")
    listing = operator.get("/console/exits").text
    assert "企业自愿退出申请" in listing and "迁址" in listing
    form = {"exit_type": "voluntary", "approved": "yes", **tokens_in(listing)}
    ask = operator.post(f"/console/exits/begin/{world.own_tenancy}", data=form)
    assert "押金及预付租金按规则退还" in ask.text
    done = operator.post(
        f"/console/exits/begin/{world.own_tenancy}",
        data={**form, "confirmed": "1", **tokens_in(ask.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _state(world) == "vacating"
    assert "企业自愿退出申请" not in operator.get("/console/exits").text  # acted on
    assert _chain_problems(world) == []


# ---- a rectification order ----------------------------------------------------------------
def test_the_firm_files_its_rectification_plan_with_a_photo(world: World) -> None:
    import random

    from entrypoints.demo_data import figures
    from workflows import commands as c

    make_resident(world)
    tid = world.own_tenancy
    clock_of(world).set(local(2025, 1, 2, 9, 0))  # 2024, the term's first year, is reviewed
    world.do(c.OpenReview(tenancy_id=tid, period=2024))
    world.do(
        c.SubmitReview(
            tenancy_id=tid,
            period=2024,
            figures=figures("steady", year=2024, rng=random.Random(3)),
        )
    )
    world.do(c.DecideReview(tenancy_id=tid, period=2024, outcome="rectify", reason="数据存疑"))
    assert _state(world) == "rectifying"
    firm = signed_in(world, "firm")
    page = firm.get(f"/portal/answer/{tid}").text
    assert "提交整改方案" in page and "需整改的问题" in page and "提交截止日期" in page
    image = png()
    response = _answer(
        firm, tid, [("整改照片.png", image, "image/png")], text="一、补报研发投入台账；二、…"
    )
    assert response.status_code == 303, response.text
    [event] = _events(world, "file_plan")
    data = event["data"]
    assert isinstance(data, dict)
    assert data["attachments"][0]["sha256"] == hashlib.sha256(image).hexdigest()
    assert data["late"] is False
    again = firm.get(f"/portal/answer/{tid}").text
    assert "整改照片.png" in again and "补报研发投入台账" in again


def test_the_pages_show_no_python_value_in_either_language(served: World) -> None:
    firm = signed_in(served, "firm")
    assert _answer(firm, served.own_tenancy, [("a.pdf", PDF, "application/pdf")]).status_code == 303
    operator = signed_in(served, "operator")
    case_id = max(
        served.app.service.query(queries.show_tenancy, tenancy_id=served.own_tenancy)["exit_cases"],
        key=lambda c: c["id"],
    )["id"]
    notice = next(i for i in _inbox(served, served.own_firm) if i["message"] == "exit_notice")
    pages = [
        (operator, "/console/exits"),
        (operator, f"/console/exits/{case_id}"),
        (operator, f"/console/exits/{served.own_exit_case}"),
        (firm, "/portal/inbox"),
        (firm, f"/portal/inbox/{notice['id']}"),
        (firm, f"/portal/answer/{served.own_tenancy}"),
        (firm, f"/portal/exit/{served.own_tenancy}"),
    ]
    for lang in ("zh", "en"):
        for client in (operator, firm):
            client.get(f"/language/{lang}?next=/")
        for client, url in pages:
            response = client.get(url)
            assert response.status_code == 200, (url, response.text[-500:])
            text = re.sub(r"<[^>]+>", " ", response.text)
            for value in ("None", "True", "False", "Decimal(", "exit_notice", "vacating"):
                assert value not in text, (lang, url, value)
    assert "Statement and defence" in firm.get(f"/portal/answer/{served.own_tenancy}").text


# ---- serving a notice from the console --------------------------------------------------------
def test_the_operator_serves_a_notice_from_the_console_after_confirming(world: World) -> None:
    make_resident(world)
    operator = signed_in(world, "operator")
    page = operator.get(f"/console/exits/serve/{world.own_tenancy}")
    assert page.status_code == 200 and "未经同意转租" in page.text
    tokens = tokens_in(page.text)
    missing = operator.post(
        f"/console/exits/serve/{world.own_tenancy}",
        data={"grounds": "sublet", "facts": "", "proof_of_service": "EMS", **tokens},
    )
    assert missing.status_code == 422 and "facts" in missing.text
    # the form comes back with what was typed, the problem named as the form names the field
    assert "事实与证据：请记录事实和证据" in missing.text and "facts：" not in missing.text
    assert 'value="EMS"' in missing.text and 'value="sublet" selected' in missing.text
    form = {
        "grounds": "sublet",
        "facts": "B 座 201 室被转租",
        "proof_of_service": "EMS 1234567890",
        **tokens,
    }
    ask = operator.post(f"/console/exits/serve/{world.own_tenancy}", data=form)
    assert "确认送达退出告知书" in ask.text and "本企业医疗科技" in ask.text
    assert _state(world) == "active"
    confirm = {**form, "confirmed": "1", **tokens_in(ask.text)}
    first = operator.post(
        f"/console/exits/serve/{world.own_tenancy}", data=confirm, follow_redirects=False
    )
    again = operator.post(
        f"/console/exits/serve/{world.own_tenancy}", data=confirm, follow_redirects=False
    )
    assert first.status_code == 303 and again.status_code == 303
    assert len(_events(world, "serve_exit_notice")) == 1  # the double submit acted once
    assert _state(world) == "exit_notice"
    # Another space's tenancy is not found; a viewer may not serve.
    assert operator.get(f"/console/exits/serve/{world.other_tenancy}").status_code == 404
    viewer = signed_in(world, "viewer")
    assert viewer.get(f"/console/exits/serve/{world.own_tenancy}").status_code == 403


def test_a_refused_plan_comes_back_with_the_text_kept_and_the_problem_named(
    world: World,
) -> None:
    """A blank plan or a fourth file gave a bare error page ("text：…", "attachments：…") and
    the plan typed was lost: the form comes back with it, the problem beside its field."""
    import random

    from entrypoints.demo_data import figures
    from workflows import commands as c

    make_resident(world)
    tid = world.own_tenancy
    clock_of(world).set(local(2025, 1, 2, 9, 0))  # 2024, the term's first year, is reviewed
    world.do(c.OpenReview(tenancy_id=tid, period=2024))
    world.do(
        c.SubmitReview(
            tenancy_id=tid, period=2024, figures=figures("steady", year=2024, rng=random.Random(3))
        )
    )
    world.do(c.DecideReview(tenancy_id=tid, period=2024, outcome="rectify", reason="数据存疑"))
    firm = signed_in(world, "firm")
    blank = _answer(firm, tid, [], text="   ")
    assert blank.status_code == 422
    assert "整改方案：请填写整改方案" in blank.text and "text：" not in blank.text
    assert "提交整改方案" in blank.text and 'name="text"' in blank.text
    plan = "一、补报研发投入台账；二、十五个工作日内完成整改。"
    four = [(f"照片{n}.png", png(), "image/png") for n in range(4)]
    refused = _answer(firm, tid, four, text=plan)
    assert refused.status_code == 422
    assert "附件：最多上传 3 个附件" in refused.text and "attachments：" not in refused.text
    assert f">{plan}</textarea>" in refused.text
    assert "请重新选择要上传的附件" in refused.text
    assert _events(world, "file_plan") == []
    english = signed_in(world, "firm")
    english.get("/language/en?next=/portal")
    said = _answer(english, tid, four, text=plan).text
    assert "Attachments: at most 3 files" in said and f">{plan}</textarea>" in said


def test_malformed_fields_are_refused_naming_the_field(served: World) -> None:
    operator = signed_in(served, "operator")
    case_id = max(
        served.app.service.query(queries.show_tenancy, tenancy_id=served.own_tenancy)["exit_cases"],
        key=lambda c: c["id"],
    )["id"]
    tokens = tokens_in(operator.get(f"/console/exits/{case_id}").text)
    bad = [
        (f"/console/exits/{case_id}/rule", {"upheld": "maybe", "reason": "x"}, "裁决："),
        (f"/console/exits/{case_id}/rule", {"upheld": "no", "reason": "  "}, "理由："),
        (
            f"/console/exits/{case_id}/handover",
            {
                "checklist": ["meters", "keys", "access_cards", "premises_restored"],
                "arrears_yuan": "-5",
            },
            "欠缴租金及费用（元）：",
        ),
        (f"/console/exits/begin/{served.own_tenancy}", {"exit_type": "forced"}, "exit_type"),
    ]
    for url, data, field in bad:
        response = operator.post(url, data={**data, **tokens})
        assert response.status_code == 422, (url, response.status_code)
        assert field in response.text
    # A refused form of the case page comes back as the case page, the problem named in words.
    refused = operator.post(bad[1][0], data={**bad[1][1], **tokens})
    assert "理由：请写明理由" in refused.text and "reason：" not in refused.text
    assert "退出案件" in refused.text and "未执行" in refused.text
    firm = signed_in(served, "firm")
    page = tokens_in(firm.get(f"/portal/exit/{served.own_tenancy}").text)
    response = firm.post(f"/portal/exit/{served.own_tenancy}", data={"leave_on": "明天", **page})
    assert response.status_code in (409, 422)
    assert _events(served, "request_voluntary_exit") == []
    assert _state(served) == "exit_notice"


# ---- who may open which page ---------------------------------------------------------------
#: role -> the status each page answers with (403: the role never may; 404: outside its scope).
MATRIX: dict[str, dict[str, int]] = {
    "/console/exits": {"admin": 200, "operator": 200, "viewer": 200, "reviewer": 403, "firm": 403},
    "/console/exits/{own_case}": {"admin": 200, "operator": 200, "viewer": 200, "firm": 403},
    "/console/exits/{other_case}": {"admin": 200, "operator": 404, "viewer": 404},
    "/console/exits/serve/{own}": {"admin": 200, "operator": 200, "viewer": 403, "firm": 403},
    "/portal/inbox": {"firm": 200, "admin": 403, "operator": 403, "viewer": 403},
    "/portal/answer/{own}": {"firm": 200, "operator": 403, "reviewer": 403},
    "/portal/answer/{other}": {"firm": 404},
    "/portal/exit/{own}": {"firm": 200, "admin": 403},
    "/portal/exit/{other}": {"firm": 404},
}


def test_each_role_opens_only_its_pages(world: World) -> None:
    ids = {
        "own": world.own_tenancy,
        "other": world.other_tenancy,
        "own_case": world.own_exit_case,
        "other_case": world.other_exit_case,
    }
    clients = {
        role: signed_in(world, role) for role in ("admin", "operator", "viewer", "reviewer", "firm")
    }
    for pattern, expected in MATRIX.items():
        url = pattern.format(**ids)
        for role, status in expected.items():
            response = clients[role].get(url, follow_redirects=False)
            assert response.status_code == status, (url, role, response.status_code)
            assert response.headers["content-type"].startswith("text/html")


def test_voluntary_exit_reasons_longer_than_the_form_takes_are_refused(world: World) -> None:
    """The form's ``maxlength`` is the handler's limit: 2,710 characters sent past the
    browser are refused naming the field, on asking and on confirming, nothing recorded."""
    make_resident(world)
    firm = signed_in(world, "firm")
    page = firm.get(f"/portal/exit/{world.own_tenancy}")
    assert 'maxlength="2000"' in page.text
    today = clock_of(world).now().date()
    leave_on = today.replace(year=today.year + 1).isoformat()
    long = "迁" * 2710
    for extra in ({}, {"confirmed": "1"}):
        refused = firm.post(
            f"/portal/exit/{world.own_tenancy}",
            data={"leave_on": leave_on, "reason": long, **extra, **tokens_in(page.text)},
        )
        assert refused.status_code == 422, refused.text
        assert "退出理由：不得超过 2,000 个字符" in refused.text
    assert _events(world, "request_voluntary_exit") == []


def test_the_console_serves_no_notice_the_records_do_not_bear_out(world: World) -> None:
    """Arrears with no payment demand recorded, industry misfit long before the term ends,
    two D grades the reviews never gave: refused in words, naming the field, and the grounds
    the review raises by itself are not offered at all."""
    make_resident(world)
    operator = signed_in(world, "operator")
    url = f"/console/exits/serve/{world.own_tenancy}"
    page = operator.get(url).text
    assert 'value="arrears"' in page and 'value="consecutive_d"' not in page
    assert 'value="failed_rectification"' not in page
    for grounds, words in (
        ("arrears", "须先登记违规"),
        ("industry_misfit", "仅适用于租期届满"),
        ("consecutive_d", "请选择规则中的退出事由"),
    ):
        form = {
            "grounds": grounds,
            "facts": "巡查记录",
            "proof_of_service": "EMS 1",
            **tokens_in(page),
        }
        ask = operator.post(url, data=form)
        if ask.status_code == 200:  # the confirmation page: the refusal comes on confirming
            ask = operator.post(url, data={**form, "confirmed": "1", **tokens_in(ask.text)})
        assert ask.status_code == 422, (grounds, ask.status_code)
        assert words in ask.text, grounds
    assert _state(world) == "active" and _events(world, "serve_exit_notice") == []


def test_the_console_begins_no_voluntary_exit_the_firm_did_not_ask_for(world: World) -> None:
    make_resident(world)
    operator = signed_in(world, "operator")
    url = f"/console/exits/begin/{world.own_tenancy}"
    listing = operator.get("/console/exits").text
    form = {"exit_type": "voluntary", "approved": "yes", **tokens_in(listing)}
    ask = operator.post(url, data=form)
    if ask.status_code == 200:
        ask = operator.post(url, data={**form, "confirmed": "1", **tokens_in(ask.text)})
    assert ask.status_code == 422 and "书面退出申请" in ask.text
    assert _state(world) == "active" and _events(world, "begin_exit") == []
