"""The review-cycle board and the portal's figures form, through the pages (SQLite and
PostgreSQL): opening a cycle, reminding once a day, importing a sheet (all rows or none),
previewing and deciding the cycle as a job, and a firm reporting its own figures."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from api_support import World
from cycles_support import PERIOD, SHANGHAI, clock, figures_for, residents, sheet
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select
from web_support import signed_in, tokens_in

from db.tables import InboxItem, OutboxMessage, Review
from db.tables_cycles import CycleJob
from workflows import commands as c
from workflows import excel
from workflows.forms import shown_value

BOARD = f"/console/cycles/MC3/{PERIOD}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def post(
    client: TestClient, page: str, url: str, data: dict[str, Any] | None = None, **kw: Any
) -> Any:
    """Send the form of ``page`` (its CSRF and form tokens) to ``url``."""
    tokens = tokens_in(client.get(page).text)
    return client.post(url, data={**tokens, **(data or {})}, follow_redirects=False, **kw)


def wait_for_job(client: TestClient, job_id: int, *, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        html = client.get(f"{BOARD}/jobs/{job_id}", headers={"HX-Request": "true"}).text
        status = re.search(r'data-status="(\w+)"', html)
        assert status, html
        if status.group(1) in ("done", "failed"):
            return html
        assert time.monotonic() < deadline, html
        time.sleep(0.1)


def job_of(response: Any) -> int:
    assert response.status_code == 303, response.text
    found = re.search(r"job=(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def notices(world: World, message: str) -> list[OutboxMessage]:
    with Session(world.app.engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.message == message)).all())


def reviews(world: World) -> dict[int, Review]:
    with Session(world.app.engine) as s:
        rows = s.exec(select(Review).where(Review.period == PERIOD)).all()
        return {r.tenancy_id: r for r in rows}


def open_cycle(world: World, client: TestClient) -> None:
    confirm = post(
        client, "/console/cycles", "/console/cycles/open", {"space": "MC3", "period": str(PERIOD)}
    )
    assert confirm.status_code == 200
    assert "启动后不能撤回" in confirm.text and "年度考核启动通知" in confirm.text
    tokens = tokens_in(confirm.text)
    done = client.post(
        "/console/cycles/open",
        data={**tokens, "confirmed": "1", "space": "MC3", "period": str(PERIOD)},
        follow_redirects=False,
    )
    assert "已完成" in wait_for_job(client, job_of(done))


@pytest.fixture
def cohort(world: World) -> list[tuple[int, str, str]]:
    return residents(world, 3)


@pytest.fixture
def operator(world: World, cohort: list[tuple[int, str, str]]) -> TestClient:
    client = signed_in(world, "operator")
    open_cycle(world, client)
    return client


def test_opening_a_cycle_asks_first_then_opens_every_resident_firm_and_tells_each(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient, tmp_path: Path
) -> None:
    assert set(reviews(world)) == {t for t, _, _ in cohort}
    with Session(world.app.engine) as s:
        job = s.exec(select(CycleJob)).one()
    assert (job.kind, job.status, job.total, job.done) == ("open", "done", 4, 4)
    assert job.result["opened"] == 4
    assert len(notices(world, "review_opened")) == len(cohort)
    board = operator.get("/console/cycles").text
    assert "成都医学城三医创新中心" in board and str(PERIOD) in board
    page = operator.get(BOARD).text
    assert "未报送" in page and "蓉创生物01" in page
    export = operator.get(f"{BOARD}?format=xlsx")
    assert export.headers["content-type"] == XLSX
    template = operator.get(f"{BOARD}/sheet")
    assert template.headers["content-type"] == XLSX
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(template.content)
    columns, rows = excel.read_figures(str(path))
    assert "revenue_yuan" in columns
    assert sorted(str(r.uscc) for r in rows) == sorted(uscc for _, uscc, _ in cohort)


def test_a_year_the_opening_form_cannot_take_comes_back_named_on_the_board(
    world: World,
) -> None:
    client = signed_in(world, "operator")
    refused = post(
        client, "/console/cycles", "/console/cycles/open", {"space": "MC3", "period": "24"}
    )
    assert refused.status_code == 422
    assert "考核年度：须为 2000–2100 之间的年份" in refused.text and "period：" not in refused.text
    assert 'name="period" value="24"' in refused.text and 'value="MC3" selected' in refused.text
    assert reviews(world) == {}


def test_a_cycle_of_the_year_not_yet_ended_is_refused_before_it_is_confirmed(
    world: World, cohort: list[tuple[int, str, str]]
) -> None:
    """Opened on REVIEW_DAY (2 January 2025), the 2025 review would cover a year just begun:
    refused in Chinese first, on the confirmation and when sent confirmed; nothing opens."""
    client = signed_in(world, "operator")
    for confirmed in ("", "1"):
        data = {"space": "MC3", "period": str(PERIOD + 1), "confirmed": confirmed}
        response = post(client, "/console/cycles", "/console/cycles/open", data)
        assert response.status_code == 422, response.text
        assert f"{PERIOD + 1} 年度尚未结束" in response.text
    with Session(world.app.engine) as s:
        assert s.exec(select(func.count()).select_from(Review)).one() == 0
        assert s.exec(select(func.count()).select_from(CycleJob)).one() == 0


def test_an_operator_of_another_space_finds_no_such_cycle(
    world: World, operator: TestClient
) -> None:
    assert operator.get(f"/console/cycles/HX/{PERIOD}").status_code == 404
    response = post(
        operator,
        "/console/cycles",
        "/console/cycles/open",
        {"space": "HX", "period": str(PERIOD), "confirmed": "1"},
    )
    assert response.status_code == 404


def test_reminding_twice_the_same_day_sends_once_and_only_to_firms_that_have_not_reported(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    reported = cohort[0][0]
    world.do(c.SubmitReview(tenancy_id=reported, period=PERIOD, figures=figures_for(0)))
    first = post(operator, BOARD, f"{BOARD}/remind")
    assert first.status_code == 200
    assert "将向 3 家" in first.text and "同一企业同一天只提醒一次" in first.text
    assert notices(world, "review_reminder") == []  # asking first sends nothing
    send = post(operator, BOARD, f"{BOARD}/remind", {"confirmed": "1"})
    assert send.status_code == 303
    again = post(operator, BOARD, f"{BOARD}/remind", {"confirmed": "1"})
    assert again.status_code == 303
    sent = notices(world, "review_reminder")
    assert sorted(n.tenancy_id or 0 for n in sent) == sorted(t for t, _, _ in cohort[1:])
    assert all(n.context["period"] == PERIOD for n in sent)
    world.app.relay().run_once()
    with Session(world.app.engine) as s:
        inbox = s.exec(select(InboxItem).where(InboxItem.message == "review_reminder")).all()
    assert len(inbox) == 3
    assert all("报送提醒" in i.subject and f"{PERIOD}年度考核数据" in i.body for i in inbox)
    assert "今天已提醒过" in operator.get(BOARD).text


def test_a_viewer_reads_the_board_but_cannot_act(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    viewer = signed_in(world, "viewer")
    page = viewer.get(BOARD)
    assert page.status_code == 200 and "蓉创生物01" in page.text
    assert "/remind" not in page.text and "/import" not in page.text
    response = post(viewer, BOARD, f"{BOARD}/remind", {"confirmed": "1"})
    assert response.status_code == 403
    assert notices(world, "review_reminder") == []


def test_a_bad_sheet_is_refused_row_by_row_and_nothing_is_imported(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    rows = [
        {"uscc": uscc, "name": name, **figures_for(n)} for n, (_, uscc, name) in enumerate(cohort)
    ]
    rows[1]["revenue_yuan"] = "很多"
    rows[2]["headcount"] = -3
    rows[0]["headcount"] = 2.5  # a count of people is a whole number
    response = post(
        operator,
        BOARD,
        f"{BOARD}/import",
        files={"file": ("figures.xlsx", sheet(world, rows), XLSX)},
    )
    assert response.status_code == 422
    assert "未导入任何数据" in response.text
    text = re.sub(r"<[^>]+>", " ", response.text)
    assert re.search(r"\b4\b.*revenue_yuan（营业收入）.*须为数字.*很多", text, re.S)
    assert re.search(r"\b5\b.*headcount.*不得为负数", text, re.S)
    assert re.search(r"\b3\b.*headcount（从业人员）.*须为整数.*2\.5", text, re.S)
    assert all(r.status == "open" for r in reviews(world).values())


def test_a_workbook_without_the_figures_sheet_is_refused(
    world: World, operator: TestClient
) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    assert book.active is not None
    book.active.append(["企业", "收入"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = post(
        operator, BOARD, f"{BOARD}/import", files={"file": ("other.xlsx", buffer.getvalue(), XLSX)}
    )
    assert response.status_code == 422
    assert "uscc" in response.text and "第 1 行须为字段代码" in response.text
    response = post(
        operator,
        BOARD,
        f"{BOARD}/import",
        files={"file": ("fake.xlsx", b"MZ\x90\x00 not a workbook", XLSX)},
    )
    assert response.status_code == 422 and "不是有效的 xlsx 工作簿" in response.text
    assert all(r.status == "open" for r in reviews(world).values())


def _import_all(world: World, client: TestClient, cohort: list[tuple[int, str, str]]) -> None:
    rows = [
        {"uscc": uscc, "name": name, **figures_for(n)} for n, (_, uscc, name) in enumerate(cohort)
    ]
    response = post(
        client, BOARD, f"{BOARD}/import", files={"file": ("figures.xlsx", sheet(world, rows), XLSX)}
    )
    assert response.status_code == 303, response.text


def test_a_good_sheet_submits_every_firm_then_the_cycle_is_previewed_and_decided(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    _import_all(world, operator, cohort)
    assert {r.status for r in reviews(world).values()} == {"submitted"}
    assert f"已导入 {len(cohort)} 家" in operator.get(BOARD).text
    preview = operator.get(f"{BOARD}/preview")
    assert preview.status_code == 200
    assert "优秀比例上限" in preview.text and "评定后不能撤回" in preview.text
    assert all(r.status == "submitted" for r in reviews(world).values())  # nothing written
    tokens = tokens_in(preview.text)
    decided = operator.post(
        f"{BOARD}/decide", data={**tokens, "confirmed": "1"}, follow_redirects=False
    )
    job = job_of(decided)
    again = operator.post(
        f"{BOARD}/decide", data={**tokens, "confirmed": "1"}, follow_redirects=False
    )
    assert job_of(again) == job  # the same form sent twice asks once
    html = wait_for_job(operator, job)
    assert "已完成" in html and "本次评定" in html
    page = operator.get(f"{BOARD}/jobs/{job}").text  # without htmx: a whole page
    assert page.startswith("<!doctype html>") and 'http-equiv="refresh"' not in page
    assert {r.status for r in reviews(world).values()} == {"decided"}
    assert len(notices(world, "review_result")) == len(cohort)
    with Session(world.app.engine) as s:
        assert s.exec(select(func.count()).select_from(CycleJob)).one() == 2  # open, decide
    # The firm's page names a way to contest only where its notice gives one (rectification
    # or exit); a pass grade's notice gives none, so the page promises none.
    shown = signed_in(world, "firm").get(f"/portal/figures/{world.own_tenancy}/{PERIOD}").text
    consequence = reviews(world)[world.own_tenancy].consequence
    assert "结果通知已发送至您的站内信" in shown
    assert ("申请复核" in shown) == (consequence in ("rectification", "forced_exit"))


def test_a_job_left_running_by_a_stopped_server_is_taken_up_again(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    _import_all(world, operator, cohort)
    with Session(world.app.engine) as s:
        space_id = s.exec(select(CycleJob.space_id)).first()
        assert space_id is not None
        now = world.app.clock.now()
        job = CycleJob(
            space_id=space_id,
            period=PERIOD,
            kind="decide",
            status="running",
            attempts=1,
            requested_by="operator",
            created_at=now,
            started_at=now,
            lease_until=now,
        )
        s.add(job)
        s.commit()
        job_id = job.id
    assert job_id is not None
    page = operator.get(BOARD).text  # the page finds the job without a runner and starts one
    assert f"#{job_id}" in page
    assert "已完成" in wait_for_job(operator, job_id)
    assert {r.status for r in reviews(world).values()} == {"decided"}


# ---- the portal ---------------------------------------------------------------------------
def form_url(world: World) -> str:
    return f"/portal/figures/{world.own_tenancy}/{PERIOD}"


def typed(values: dict[str, Any]) -> dict[str, str]:
    return {k: shown_value(v) for k, v in values.items()}


def test_a_firm_reports_field_by_field_and_a_double_submit_acts_once(
    world: World, operator: TestClient
) -> None:
    firm = signed_in(world, "firm")
    listing = firm.get("/portal/figures").text
    assert form_url(world) in listing and "未报送" in listing
    page = firm.get(form_url(world)).text
    assert "营业收入" in page and "报送截止日" in page
    bad = typed(figures_for(0)) | {"revenue_yuan": "abc", "headcount": ""}
    response = post(firm, form_url(world), form_url(world), {**bad, "action": "submit"})
    assert response.status_code == 422
    html = response.text
    assert re.search(r'id="e-revenue_yuan"[^>]*>须为数字', html)
    assert re.search(r'id="e-headcount"[^>]*>必填', html)
    assert 'value="abc"' in html  # what was typed stays
    assert reviews(world)[world.own_tenancy].status == "open"
    draft = post(firm, form_url(world), form_url(world), {**bad, "action": "draft"})
    assert draft.status_code == 303
    assert 'value="abc"' in firm.get(form_url(world)).text  # the draft is kept on the server
    tokens = tokens_in(firm.get(form_url(world)).text)
    good = {**tokens, **typed(figures_for(0)), "action": "submit"}
    first = firm.post(form_url(world), data=good, follow_redirects=False)
    second = firm.post(form_url(world), data=good, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert "received=1" in first.headers["location"]
    receipt = firm.get(first.headers["location"]).text
    assert "报送回执" in receipt
    assert 'value="abc"' not in receipt and 'value="3000000"' in receipt  # not the old draft
    with Session(world.app.engine) as s:
        from db.tables import AuditEvent

        submits = s.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.tenancy_id == world.own_tenancy,
                col(AuditEvent.trigger) == "submit_review",
            )
        ).one()
    assert submits == 1


def test_a_fraction_of_a_person_or_a_patent_is_refused_field_by_field(
    world: World, operator: TestClient
) -> None:
    """Head counts and patents are whole numbers: 3.5 people used to be stored and scored."""
    firm = signed_in(world, "firm")
    page = firm.get(form_url(world)).text
    assert re.search(r'id="h-headcount"[^>]*>[^<]*不小于 0 的整数', page)
    assert re.search(r'id="f-headcount"[^>]*inputmode="numeric"', page)
    bad = typed(figures_for(0)) | {"headcount": "3.5", "rd_staff": "1.5", "new_ip_count": "2.5"}
    response = post(firm, form_url(world), form_url(world), {**bad, "action": "submit"})
    assert response.status_code == 422
    for code in ("headcount", "rd_staff", "new_ip_count"):
        assert re.search(rf'id="e-{code}"[^>]*>须为整数', response.text), code
    assert reviews(world)[world.own_tenancy].status == "open"
    assert reviews(world)[world.own_tenancy].figures == {}


def test_another_firms_review_is_not_found(
    world: World, operator: TestClient, cohort: list[tuple[int, str, str]]
) -> None:
    firm = signed_in(world, "firm")
    other = cohort[1][0]
    assert firm.get(f"/portal/figures/{other}/{PERIOD}").status_code == 404
    assert firm.get(f"/portal/figures/{world.other_tenancy}/{PERIOD}").status_code == 404
    response = post(
        firm,
        form_url(world),
        f"/portal/figures/{other}/{PERIOD}",
        {**typed(figures_for(1)), "action": "submit"},
    )
    assert response.status_code == 404
    assert reviews(world)[other].status == "open"
    assert firm.get(BOARD).status_code == 403


def test_a_firm_uploads_its_own_row_only(
    world: World, operator: TestClient, cohort: list[tuple[int, str, str]]
) -> None:
    firm = signed_in(world, "firm")
    both = [
        {"uscc": uscc, "name": name, **figures_for(n)}
        for n, (_, uscc, name) in enumerate(cohort[:2])
    ]
    refused = post(
        firm,
        form_url(world),
        f"{form_url(world)}/upload",
        files={"file": ("mine.xlsx", sheet(world, both), XLSX)},
    )
    assert refused.status_code == 422 and "本企业一行" in refused.text
    # said on the figures form, the field named in words, not on a bare error page
    assert "数据表：表中须只有本企业一行" in refused.text and "file：" not in refused.text
    assert "上传并报送" in refused.text
    assert reviews(world)[world.own_tenancy].status == "open"
    mine = post(
        firm,
        form_url(world),
        f"{form_url(world)}/upload",
        files={"file": ("mine.xlsx", sheet(world, both[:1]), XLSX)},
    )
    assert mine.status_code == 303
    assert reviews(world)[world.own_tenancy].status == "submitted"


def test_submitting_after_the_cycle_is_decided_is_refused_in_chinese(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    firm = signed_in(world, "firm")
    stale = tokens_in(firm.get(form_url(world)).text)
    _import_all(world, operator, cohort)
    world.do(c.DecideCycle(space="MC3", period=PERIOD))
    response = firm.post(
        form_url(world), data={**stale, **typed(figures_for(3)), "action": "submit"}
    )
    assert response.status_code == 409
    assert "年度考核已评定，不能再报送考核数据" in response.text
    draft = post(firm, form_url(world), form_url(world), {"action": "draft"})
    assert draft.status_code == 409 and "不能再保存草稿" in draft.text
    page = firm.get(form_url(world)).text
    assert "考核结果" in page and "评定依据" in page
    with Session(world.app.engine) as s:
        from db.tables import AuditEvent

        submits = s.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.tenancy_id == world.own_tenancy,
                col(AuditEvent.trigger) == "submit_review",
            )
        ).one()
    assert submits == 1  # the import's; the late form changed nothing


def test_the_pages_show_no_python_value_in_either_language(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    _import_all(world, operator, cohort)
    firm = signed_in(world, "firm")
    for lang in ("zh", "en"):
        operator.get(f"/language/{lang}?next=/")
        firm.get(f"/language/{lang}?next=/")
        pages = [
            operator.get("/console/cycles"),
            operator.get(BOARD),
            operator.get(f"{BOARD}/preview"),
            firm.get("/portal/figures"),
            firm.get(form_url(world)),
        ]
        for response in pages:
            assert response.status_code == 200, response.url
            text = re.sub(r"<[^>]+>", " ", response.text)
            for word in ("None", "True", "False", "Decimal(", "under_review", "{{"):
                assert word not in text, (response.url, lang, word)
    assert "Preview of the decision" in operator.get(f"{BOARD}/preview").text


def test_a_cycle_with_firms_still_able_to_report_is_not_decided(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    preview = operator.get(f"{BOARD}/preview")
    assert "截止后方可集中评定" in preview.text
    assert "确认评定" not in preview.text
    response = post(operator, BOARD, f"{BOARD}/decide", {"confirmed": "1"})
    assert response.status_code == 409
    assert "截止后方可集中评定" in response.text
    assert {r.status for r in reviews(world).values()} == {"open"}
    with Session(world.app.engine) as s:
        kinds = s.exec(select(CycleJob.kind)).all()
    assert list(kinds) == ["open"]


def test_a_sheet_that_unpacks_too_far_is_refused_before_it_is_opened(
    world: World, operator: TestClient, cohort: list[tuple[int, str, str]]
) -> None:
    """A workbook is a zip: a few kilobytes sent may unpack to gigabytes, which openpyxl would
    hold in memory (a whole row, every shared string). A page's upload may unpack to
    ``excel.PAGE_UNPACKED_BYTES`` at most; beyond, it is refused unread, nothing written."""
    import io
    import zipfile

    firm = signed_in(world, "firm")
    _, uscc, name = cohort[0]
    good = sheet(world, [{"uscc": uscc, "name": name, **figures_for(0)}])
    packed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good)) as source,
        zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for part in source.infolist():
            bomb.writestr(part, source.read(part.filename))
        bomb.writestr("xl/media/padding.bin", b"\0" * (excel.PAGE_UNPACKED_BYTES + 1))
    assert len(packed.getvalue()) < 100_000
    refused = post(
        firm,
        form_url(world),
        f"{form_url(world)}/upload",
        files={"file": ("mine.xlsx", packed.getvalue(), XLSX)},
    )
    assert refused.status_code == 422, refused.text
    assert "解压后超过" in refused.text
    assert reviews(world)[world.own_tenancy].status == "open"


def test_figures_filed_after_the_due_date_earn_nothing_for_data_on_time_and_the_pages_say_why(
    world: World, cohort: list[tuple[int, str, str]], operator: TestClient
) -> None:
    """Data on time (按时报送数据) is no field of the form: the engine compares the day the
    figures came in with the review's due date (2025-01-15). The other firms' figures are
    imported on 2 January; this firm files its own on the 17th, still accepted."""
    firm = signed_in(world, "firm")
    before = firm.get(form_url(world)).text
    assert 'name="data_on_time"' not in before and "截止日后报送或更正" not in before
    rows = [
        {"uscc": uscc, "name": name, **figures_for(n)}
        for n, (t, uscc, name) in enumerate(cohort)
        if t != world.own_tenancy
    ]
    imported = post(
        operator,
        BOARD,
        f"{BOARD}/import",
        files={"file": ("figures.xlsx", sheet(world, rows), XLSX)},
    )
    assert imported.status_code == 303, imported.text
    clock(world).set(datetime(2025, 1, 17, 10, 0, tzinfo=SHANGHAI))
    firm = signed_in(world, "firm")  # a new day, a new session
    assert "截止日后报送或更正的数据，不计“按时报送数据”得分" in firm.get(form_url(world)).text
    late = post(
        firm, form_url(world), form_url(world), {**typed(figures_for(0)), "action": "submit"}
    )
    assert late.status_code == 303 and "received=1" in late.headers["location"]
    clock(world).set(datetime(2025, 1, 20, 9, 30, tzinfo=SHANGHAI))
    world.do(c.DecideCycle(space="MC3", period=PERIOD))
    firm, operator = signed_in(world, "firm"), signed_in(world, "operator")

    def on_time(t: int) -> tuple[Any, Any, Any]:
        steps = {s["rule"]: s for s in reviews(world)[t].trace["steps"]}
        fact = steps["review.fact.data_on_time"]
        return fact["figures"], fact["result"], steps["review.item.data_on_time"]["result"]

    due = {"due_on": "2025-01-15"}
    assert on_time(world.own_tenancy) == (
        {"submitted_on": "2025-01-17", **due, "days_late": 2},
        False,
        "0.00",
    )
    assert on_time(cohort[1][0]) == (
        {"submitted_on": "2025-01-02", **due, "days_late": 0},
        True,
        "3.00",
    )
    page = firm.get(form_url(world)).text
    assert "报送日 2025-01-17；截止日 2025-01-15；逾期 2 天" in page and "系统判定：否" in page
    assert "按时报送考核数据（不晚于截止日） 否" in page and "0.00 分（满分 3 分）" in page
    firm.get("/language/en?next=/")
    english = firm.get(form_url(world)).text
    assert "submitted on 2025-01-17; due on 2025-01-15; late by 2 days" in english
    assert "established: no" in english
    console = re.sub(r"\s+", " ", operator.get(f"/console/tenancies/{world.own_tenancy}").text)
    assert "逾期天数 2" in console and "报送日 2025-01-17" in console
    assert "days_late" not in console and "submitted_on" not in console
