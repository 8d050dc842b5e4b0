"""The 城市机会清单 pages on SQLite and PostgreSQL: a firm sees and edits only its own entries
(another firm's is "not found"), bad input is refused in Chinese with nothing written, a form
sent twice acts once, a form without its CSRF token changes nothing, the operator accepts and
returns (asking first), the district publishes, the public page shows only published lists and
only the contacts an entry allowed, and no page shows a Python value."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from api_support import START, World
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from web_support import signed_in, tokens_in

from db.tables import ALL_TABLES
from entrypoints.web.routes_opportunity_lists import TREND_YEARS
from workflows import attachments
from workflows import opportunity_commands as oc

TABLES = ("opportunity_entries", "opportunity_lists", "opportunity_events", "introductions")
PYTHON = re.compile(r">\s*(None|True|False)\s*<|Decimal\(|\{'|\[\]|&#39;")
VALID = (START.date() + timedelta(days=200)).isoformat()


def counts(world: World) -> dict[str, int]:
    with world.app.engine.connect() as conn:
        return {
            t: int(
                conn.execute(select(func.count()).select_from(ALL_TABLES.tables[t])).scalar_one()
            )
            for t in TABLES
        }


def form(**kw: str) -> dict[str, str]:
    return {
        "kind": "need",
        "space": "MC3",
        "title": "寻求医院临床验证合作",
        "description": "本企业寻求与三甲医院开展医疗器械临床验证合作（测试数据）。",
        "field": "medical_devices",
        "sought": "医院临床验证合作",
        "contact_name": "赵联系",
        "contact_phone": "028-1234 5678",
        "valid_until": VALID,
        **kw,
    }


def post(client: TestClient, url: str, page_url: str, data: dict[str, str]) -> Any:
    tokens = tokens_in(client.get(page_url).text)
    return client.post(url, data={**tokens, **data}, follow_redirects=False)


def clean(html: str) -> None:
    assert not PYTHON.search(html), PYTHON.search(html)


def other_entry(world: World, **kw: Any) -> int:
    """The other firm's supply in HX (sent by staff, as the CLI would)."""
    values: dict[str, Any] = {
        "space": "HX",
        "firm": world.other_firm,
        "kind": "supply",
        "title": "医疗器械临床验证服务",
        "description": "提供医疗器械临床验证与医院合作对接服务（测试数据）。",
        "field": "medical_devices",
        "sought": "医院临床验证合作对接",
        "contact_name": "钱供给",
        "contact_phone": "028-8765 4321",
        "contact_public": False,
        "valid_until": START.date() + timedelta(days=300),
        **kw,
    }
    done = world.do(oc.SubmitEntry(actor="tests", **values))
    return int(done["entry_id"])


def submitted(world: World, client: TestClient, **kw: str) -> int:
    response = post(client, "/portal/opportunities", "/portal/opportunities", form(**kw))
    assert response.status_code == 303, response.text
    with world.app.engine.connect() as conn:
        table = ALL_TABLES.tables["opportunity_entries"]
        return int(conn.execute(select(func.max(table.c.id))).scalar_one())


@pytest.fixture
def firm(world: World) -> TestClient:
    return signed_in(world, "firm")


def test_a_firm_submits_sees_and_edits_only_its_own_entries(world: World, firm: TestClient) -> None:
    own = submitted(world, firm)
    other = other_entry(world)
    page = firm.get("/portal/opportunities")
    assert page.status_code == 200
    assert "寻求医院临床验证合作" in page.text and "待审核" in page.text
    assert "医疗器械临床验证服务" not in page.text
    clean(page.text)
    assert firm.get(f"/portal/opportunities/{own}").status_code == 200
    before = counts(world)
    refused = firm.get(f"/portal/opportunities/{other}")
    assert refused.status_code == 404 and "未找到" in refused.text
    edit = post(
        firm,
        f"/portal/opportunities/{other}",
        f"/portal/opportunities/{own}",
        form(title="改别人的"),
    )
    assert edit.status_code == 404
    assert counts(world) == before
    # the console is not the firm's
    assert firm.get(f"/console/opportunities/{own}").status_code in (403, 404)


def test_a_returned_entry_is_edited_and_resubmitted(world: World, firm: TestClient) -> None:
    own = submitted(world, firm)
    operator = signed_in(world, "operator")
    url = f"/console/opportunities/{own}"
    ask = post(operator, f"{url}/return", url, {"reason": "请补充验证周期与预算"})
    assert ask.status_code == 200 and "确认退回" in ask.text and "本企业医疗科技" in ask.text
    assert "待审核" in operator.get(url).text  # nothing happened before confirming
    done = operator.post(
        f"{url}/return",
        data={**tokens_in(ask.text), "confirmed": "1", "reason": "请补充验证周期与预算"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = firm.get(f"/portal/opportunities/{own}")
    assert "已退回" in page.text and "请补充验证周期与预算" in page.text
    saved = post(
        firm,
        f"/portal/opportunities/{own}",
        f"/portal/opportunities/{own}",
        form(title="寻求医院临床验证合作（六个月）"),
    )
    assert saved.status_code == 303
    page = firm.get(f"/portal/opportunities/{own}")
    assert "（六个月）" in page.text and "待审核" in page.text


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("title", "", "名称：不能为空"),
        ("title", "长" * 81, "名称"),
        ("description", "短", "内容简介"),
        ("contact_name", "   ", "联系人：不能为空"),
        ("valid_until", "明天", "有效期至"),
        ("sought", "x" * 6000, "需求 / 可提供"),
        ("contact_name", "\u202e李四", "联系人：不得含控制字符或换行"),
        ("title", "👍👍👍", "名称：不得含表情符号"),
        ("description", "本企业寻求与三甲医院\u202e开展临床验证合作", "内容简介：不得含控制字符"),
    ],
)
def test_bad_input_is_refused_in_chinese_with_nothing_written(
    world: World, firm: TestClient, field: str, value: str, words: str
) -> None:
    before = counts(world)
    response = post(firm, "/portal/opportunities", "/portal/opportunities", form(**{field: value}))
    assert response.status_code == 422
    assert words in response.text
    assert counts(world) == before
    clean(response.text)


def test_a_double_submit_acts_once_and_no_csrf_changes_nothing(
    world: World, firm: TestClient
) -> None:
    tokens = tokens_in(firm.get("/portal/opportunities").text)
    before = counts(world)
    first = firm.post("/portal/opportunities", data={**tokens, **form()}, follow_redirects=False)
    second = firm.post("/portal/opportunities", data={**tokens, **form()}, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert counts(world)["opportunity_entries"] == before["opportunity_entries"] + 1
    after = counts(world)
    no_csrf = {"form_token": tokens["form_token"] + "x", **form(title="没有令牌的条目")}
    refused = firm.post("/portal/opportunities", data=no_csrf, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert counts(world) == after


def test_operator_accepts_district_publishes_and_the_public_sees_only_what_is_published(
    world: World, firm: TestClient
) -> None:
    own = submitted(world, firm, contact_public="1")
    other = other_entry(world)  # in HX: outside the operator's spaces, contacts kept private
    operator = signed_in(world, "operator")
    assert operator.get(f"/console/opportunities/{other}").status_code == 404
    listing = operator.get("/console/opportunities")
    assert "寻求医院临床验证合作" in listing.text and "医疗器械临床验证服务" not in listing.text
    assert "待审核（1）" in listing.text  # the other space's entry is not counted
    assert "寻求医院" not in operator.get("/console/opportunities?status=accepted").text
    clean(listing.text)
    sheet = operator.get("/console/opportunities?format=xlsx")
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats")
    url = f"/console/opportunities/{own}"
    ask = post(operator, f"{url}/accept", url, {})
    assert "确认采纳" in ask.text
    done = operator.post(
        f"{url}/accept", data={**tokens_in(ask.text), "confirmed": "1"}, follow_redirects=False
    )
    assert done.status_code == 303
    world.do(oc.AcceptEntry(entry_id=other, actor="tests"))

    # the district (admin) starts list 1, puts both on it; before publishing, nothing is public
    admin = signed_in(world, "admin")
    created = post(
        admin, "/console/opportunity-lists", "/console/opportunity-lists", {"title": "测试清单"}
    )
    assert created.status_code == 303
    number = created.headers["location"].rsplit("/", 1)[1]
    page_url = f"/console/opportunity-lists/{number}"
    arranged = post(
        admin,
        f"{page_url}/arrange",
        page_url,
        {"entry": [str(other), str(own)], f"position_{own}": "1", f"position_{other}": "2"},  # type: ignore[dict-item]
    )
    assert arranged.status_code == 303
    anyone = TestClient(world.api, raise_server_exceptions=False)
    assert anyone.post(f"/lists/{number}").status_code == 405  # read-only
    hidden = anyone.get(f"/lists/{number}")
    assert hidden.status_code == 404 and "寻求医院" not in hidden.text
    assert anyone.get("/lists/99").status_code == 404

    ask = post(admin, f"{page_url}/publish", page_url, {})
    assert "冻结" in ask.text and "SHA-256" in ask.text
    done = admin.post(
        f"{page_url}/publish",
        data={**tokens_in(ask.text), "confirmed": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    public = anyone.get(f"/lists/{number}")
    assert public.status_code == 200
    text = public.text
    assert text.index("寻求医院临床验证合作") < text.index("医疗器械临床验证服务")
    assert "028-1234 5678" in text  # allowed
    assert "028-8765 4321" not in text and "钱供给" not in text  # kept private
    assert "新场景" in text and "新产品" in text
    clean(text)
    printed = admin.get(f"{page_url}/print")
    assert printed.status_code == 200 and "letterhead" in printed.text
    book = load_workbook(io.BytesIO(admin.get(f"{page_url}/export.xlsx").content))
    values = [c.value for row in book.active.iter_rows() for c in row]
    assert "寻求医院临床验证合作" in values and "028-8765 4321" not in values
    # a firm or an operator cannot publish
    assert operator.get("/console/opportunity-lists").status_code == 403


def test_an_operator_cannot_assemble_a_list_in_the_console(world: World, firm: TestClient) -> None:
    """The lists are the district's: an operator's forms (with a valid session and token)
    to start, arrange or publish one are refused, for its own space's entry and for HX's; a
    viewer granted MC3 cannot list HX's entry; the admin arranges both."""
    own, other = submitted(world, firm), other_entry(world)
    for e in (own, other):
        world.do(oc.AcceptEntry(entry_id=e, actor="tests"))
    world.do(oc.CreateList(title="第1期城市机会清单", actor="tests"))
    operator = signed_in(world, "operator")
    tokens = tokens_in(operator.get("/console/opportunities").text)
    before = counts(world)
    base = "/console/opportunity-lists"
    for url, data in (
        (base, {"title": "第2期城市机会清单"}),
        (f"{base}/1/arrange", {"entry": [str(own)], f"position_{own}": "1"}),
        (f"{base}/1/arrange", {"entry": [str(other)], f"position_{other}": "1"}),
        (f"{base}/1/publish", {"confirmed": "1"}),
    ):
        refused = operator.post(url, data={**tokens, **data}, follow_redirects=False)
        assert refused.status_code == 403, (url, refused.text)
        assert "CSRF" not in refused.text  # refused for the role, not for the form
    assert counts(world) == before
    page = f"{base}/1"
    both = {"entry": [str(own), str(other)], f"position_{own}": "1", f"position_{other}": "2"}
    viewer = signed_in(world, "viewer")  # the district, granted MC3 only: HX's entry is unseen
    beyond = post(viewer, f"{page}/arrange", page, both)  # type: ignore[arg-type]
    assert beyond.status_code == 422 and f"条目 {other} 不存在" in beyond.text
    assert counts(world) == before
    admin = signed_in(world, "admin")
    assert post(admin, f"{page}/arrange", page, both).status_code == 303  # type: ignore[arg-type]
    assert "医疗器械临床验证服务" in admin.get(page).text
    # The viewer granted MC3 sees only MC3's entry on the draft (not HX's title, firm or
    # private contact), and saving what it sees keeps HX's entry on the list, after its own.
    shown = viewer.get(page).text
    assert "医疗器械临床验证服务" not in shown and "028-8765 4321" not in shown
    saved = post(viewer, f"{page}/arrange", page, {"entry": [str(own)], f"position_{own}": "1"})  # type: ignore[arg-type]
    assert saved.status_code == 303, saved.text
    entries = ALL_TABLES.tables["opportunity_entries"]
    with world.app.engine.connect() as conn:
        placed = conn.execute(
            select(entries.c.id).where(entries.c.list_id.is_not(None)).order_by(entries.c.position)
        ).scalars()
        assert list(placed) == [own, other]
    # It may not publish a list holding HX's entry, which it cannot see: the list's page
    # offers no publishing, asking is refused without a confirmation step, and a confirmed
    # form is refused too, with nothing written.
    refusal = "第1期清单含有 1 条您无权查看的空间的条目，不能发布"
    before = counts(world)
    assert refusal in shown and f'action="{page}/publish"' not in shown
    ask = post(viewer, f"{page}/publish", page, {})
    assert ask.status_code == 403 and refusal in ask.text
    assert 'name="confirmed"' not in ask.text and "医疗器械临床验证服务" not in ask.text
    done = post(viewer, f"{page}/publish", page, {"confirmed": "1"})
    assert done.status_code == 403 and refusal in done.text
    assert counts(world) == before
    # The admin may: asked, it is told the whole count and both firms.
    asked = admin.get(page).text
    assert f'action="{page}/publish"' in asked and refusal not in asked
    ask = post(admin, f"{page}/publish", page, {})
    assert "共 2 条" in ask.text and 'name="confirmed"' in ask.text


def test_suggestions_and_introductions(world: World, firm: TestClient) -> None:
    own = submitted(world, firm)
    other = other_entry(world)
    world.do(oc.AcceptEntry(entry_id=other, actor="tests"))
    admin = signed_in(world, "admin")
    url = f"/console/opportunities/{own}"
    assert "条目采纳后才能记录对接" in admin.get(url).text
    world.do(oc.AcceptEntry(entry_id=own, actor="tests"))
    page = admin.get(url)
    assert "医疗器械临床验证服务" in page.text and "临床" in page.text
    unchosen = post(admin, f"{url}/introduce", url, {"other_id": ""})
    assert unchosen.status_code == 422  # said on the entry's page, the field in words
    assert "对接条目：请选择要对接的条目" in unchosen.text and "other_id：" not in unchosen.text
    assert "医疗器械临床验证服务" in unchosen.text
    done = post(admin, f"{url}/introduce", url, {"other_id": str(other)})
    assert done.status_code == 303
    page = admin.get(url)
    assert "已对接" in page.text
    intro = re.search(rf'action="{url}/introductions/(\d+)"', page.text)
    assert intro is not None
    done = post(admin, f"{url}/introductions/{intro.group(1)}", url, {"outcome": "deal"})
    assert done.status_code == 303
    assert "已合作" in firm.get("/portal/opportunities").text


def test_the_district_view(world: World) -> None:
    viewer = signed_in(world, "viewer")
    year = START.year
    page = viewer.get(f"/console/district?year={year}")
    assert page.status_code == 200
    assert "亩均税收" in page.text and "成都医学城三医创新中心" in page.text
    assert "海峡中小企业孵化园" not in page.text  # not the viewer's space
    assert 'class="chart"' in page.text
    clean(page.text)
    sheet = viewer.get(f"/console/district?year={year}&format=xlsx")
    book = load_workbook(io.BytesIO(sheet.content))
    assert any("亩均税收" in str(c.value) for c in next(book.active.iter_rows()))
    assert signed_in(world, "firm").get("/console/district").status_code == 403
    viewer.get("/language/en", follow_redirects=False)
    english = viewer.get(f"/console/district?year={year}")
    assert "Tax per mu" in english.text and "亩均税收" not in english.text
    clean(english.text)


def test_the_district_view_of_a_range_of_years(world: World) -> None:
    """The district viewer chooses a from-year and a to-year: the page shows those years year
    by year (table and trend charts) with the last year's tables, and exports the range."""
    viewer = signed_in(world, "viewer")
    last = START.year
    first = last - 2
    page = viewer.get(f"/console/district?year={first}&to_year={last}")
    assert page.status_code == 200
    text = page.text
    assert f"<h1>{first}–{last} 年区县视图</h1>" in text
    assert f'<option value="{first}" selected>' in text.split('name="to_year"')[0]
    assert f'<option value="{last}" selected>' in text.split('name="to_year"')[1]
    trend = text[text.rindex('<table class="responsive trend">') :]
    shown = re.findall(r'to_year=(\d{4})">(\d{4})</a>', trend)
    assert [int(y) for _, y in shown] == [first, first + 1, last]
    charts = re.findall(r"data-option='([^']*)'", text)
    assert all(f'"data": ["{first}", "{first + 1}", "{last}"]' in c for c in charts[:2])
    assert f"year={first}&amp;to_year={last}&amp;format=xlsx" in text
    assert f"导出 {first}–{last} 年逐年 Excel" in text
    clean(text)

    sheet = viewer.get(f"/console/district?year={first}&to_year={last}&format=xlsx")
    assert sheet.status_code == 200
    assert f"district-{first}-{last}.xlsx" in sheet.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    at = next(i for i, h in enumerate(header) if "年度" in h or "Year" in h)
    assert sorted({r[at] for r in rows[1:] if r[at] is not None}) == [first, first + 1, last]

    viewer.get("/language/en", follow_redirects=False)
    english = viewer.get(f"/console/district?year={first}&to_year={last}").text
    assert f"{first}–{last} district view" in english and "To year" in english
    clean(english)


def test_a_district_range_given_only_its_last_year_begins_as_a_years_trend(
    world: World,
) -> None:
    """Only ``to_year``, earlier than this year: the range is the trend a single year's page
    shows (the years before it), not a range from this year refused as "before the first
    year", which nobody gave."""
    viewer = signed_in(world, "viewer")
    last = world.app.clock.now().year - 3
    page = viewer.get(f"/console/district?to_year={last}")
    assert page.status_code == 200, page.text
    assert f"<h1>{last - TREND_YEARS}–{last} 年区县视图</h1>" in page.text
    clean(page.text)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("year=2024&to_year=2023", "截止年份：须不早于起始年份 2024"),
        ("year=2000&to_year=2021", "且最多晚 20 年"),
        ("year=2024&to_year=3000", "截止年份：年度须为 2000 至"),
    ],
)
def test_a_district_range_it_cannot_show_is_named_as_the_api_names_it(
    world: World, query: str, words: str
) -> None:
    viewer = signed_in(world, "viewer")
    page = viewer.get(f"/console/district?{query}")
    assert page.status_code == 422
    assert words in page.text
    assert "区县视图</h1>" not in page.text
    clean(page.text)
    if "3000" not in query:  # the API refuses the same range by the same rule
        api = world.client("admin").get(f"/api/district?{query}")
        assert api.status_code == 422 and words.split("：")[-1] in api.json()["detail"]


@pytest.mark.parametrize("year", ["abc", "3000", "1999", "20245"])
def test_a_district_year_it_cannot_show_is_named_not_replaced(world: World, year: str) -> None:
    viewer = signed_in(world, "viewer")
    page = viewer.get(f"/console/district?year={year}")
    assert page.status_code == 422
    last = world.app.clock.now().year + 1
    assert f"年份：年度须为 2000 至 {last} 之间的年份" in page.text
    assert "年度区县视图" not in page.text  # no other year shown in its place
    clean(page.text)


def test_the_operator_edits_an_entry_and_bad_input_writes_nothing(
    world: World, firm: TestClient
) -> None:
    own = submitted(world, firm)
    operator = signed_in(world, "operator")
    url = f"/console/opportunities/{own}"
    before = counts(world)
    refused = post(operator, f"{url}/edit", url, form(title="长" * 81))
    assert refused.status_code == 422 and "名称" in refused.text
    assert counts(world) == before
    saved = post(operator, f"{url}/edit", url, form(sought="三甲医院临床验证与注册检验"))
    assert saved.status_code == 303
    assert "三甲医院临床验证与注册检验" in firm.get(f"/portal/opportunities/{own}").text
    no_reason = post(operator, f"{url}/return", url, {"reason": "  "})
    assert no_reason.status_code == 422 and "理由" in no_reason.text
    assert "待审核" in operator.get(url).text


# ---- attachments ------------------------------------------------------------------------------
PDF = b"%PDF-1.7\n% a product brochure (test data)\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def stored_files(world: World) -> list[str]:
    root = world.app.settings.files_directory()
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def send_files(client: TestClient, url: str, page_url: str, files: list[Any], **data: Any) -> Any:
    tokens = tokens_in(client.get(page_url).text)
    return client.post(url, data={**tokens, **data}, files=files, follow_redirects=False)


def test_a_firm_submits_an_entry_with_files_and_only_those_who_see_it_download_them(
    world: World, firm: TestClient
) -> None:
    sent = send_files(
        firm,
        "/portal/opportunities",
        "/portal/opportunities",
        [
            ("attachments", ("产品手册.pdf", PDF, "application/pdf")),
            ("attachments", ("样机.png", PNG, "image/png")),
        ],
        **form(),
    )
    assert sent.status_code == 303, sent.text
    with world.app.engine.connect() as conn:
        own = int(
            conn.execute(
                select(func.max(ALL_TABLES.tables["opportunity_entries"].c.id))
            ).scalar_one()
        )
    page = firm.get(f"/portal/opportunities/{own}")
    assert "产品手册.pdf" in page.text and "样机.png" in page.text
    clean(page.text)
    sha = re.findall(rf"/portal/opportunities/{own}/files/([0-9a-f]{{64}})", page.text)
    assert len(sha) == 2
    got = firm.get(f"/portal/opportunities/{own}/files/{sha[0]}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert "attachment" in got.headers["content-disposition"]
    # its space's operator, the district viewer and the admin see the entry, so its files
    for role in ("operator", "viewer", "admin"):
        client = signed_in(world, role)
        assert client.get(f"/console/opportunities/{own}/files/{sha[1]}").content == PNG

    # the other firm's entry in HX: not found for this firm and for MC3's operator and viewer
    other = other_entry(world)
    world.do(
        oc.AttachToEntry(
            entry_id=other,
            attachments=(attachments.check("brochure.pdf", PDF),),
            actor="tests",
        )
    )
    assert firm.get(f"/portal/opportunities/{other}/files/{sha[0]}").status_code == 404
    for role in ("operator", "viewer"):
        client = signed_in(world, role)
        assert client.get(f"/console/opportunities/{other}/files/{sha[0]}").status_code == 404
    assert (
        signed_in(world, "admin").get(f"/console/opportunities/{other}/files/{sha[0]}").status_code
        == 200
    )
    # a file the entry does not carry is not served, even if the store holds it
    assert firm.get(f"/portal/opportunities/{own}/files/{'0' * 64}").status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("产品手册.pdf", b"MZ\x90\x00 an executable named .pdf", "不是 PDF、PNG 或 JPEG"),
        ("大文件.pdf", PDF + b"0" * (10 * 1024 * 1024), "超过 10 MiB"),
        ("空.pdf", b"", "空文件"),
    ],
)
def test_a_wrong_file_is_refused_in_chinese_and_nothing_is_written(
    world: World, firm: TestClient, name: str, data: bytes, said: str
) -> None:
    before, files = counts(world), stored_files(world)
    refused = send_files(
        firm,
        "/portal/opportunities",
        "/portal/opportunities",
        [("attachments", (name, data, "application/pdf"))],
        **form(),
    )
    assert refused.status_code == 422
    assert "附件" in refused.text and said in refused.text
    assert counts(world) == before and stored_files(world) == files


def test_an_operator_adds_files_in_the_console_within_the_limit(
    world: World, firm: TestClient
) -> None:
    own = submitted(world, firm)
    operator = signed_in(world, "operator")
    url = f"/console/opportunities/{own}"
    done = send_files(
        operator, f"{url}/attachments", url, [("attachments", ("手册.pdf", PDF, "application/pdf"))]
    )
    assert done.status_code == 303, done.text
    assert "手册.pdf" in operator.get(url).text
    other = other_entry(world)
    before, files = counts(world), stored_files(world)
    too_many = [("attachments", (f"图{i}.png", PNG + bytes([i]), "image/png")) for i in range(5)]
    refused = send_files(operator, f"{url}/attachments", url, too_many)
    assert refused.status_code == 422 and "最多上传 5 个附件" in refused.text
    assert counts(world) == before and stored_files(world) == files
    # the firm cannot add files to another firm's entry (not found), nor once it is accepted
    page = f"/portal/opportunities/{own}"
    assert (
        send_files(
            firm,
            f"/portal/opportunities/{other}/attachments",
            page,
            [("attachments", ("a.pdf", PDF, "application/pdf"))],
        ).status_code
        == 404
    )
    assert counts(world) == before and stored_files(world) == files
    world.do(oc.AcceptEntry(entry_id=own, actor="tests"))
    before = counts(world)
    late = send_files(
        firm,
        f"{page}/attachments",
        page,
        [("attachments", ("b.pdf", PDF + b"b", "application/pdf"))],
    )
    assert late.status_code == 409
    assert counts(world) == before and stored_files(world) == files
