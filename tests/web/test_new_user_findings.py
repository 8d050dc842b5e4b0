"""What a new user of the console and portal runs into: each role, in Chinese and English,
follows every same-site link from the home page two levels deep; no page fails, and no page
shows a Python value, an ISO timestamp or (on a Chinese page) a raw state name."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from api_support import ROLES, World
from fastapi.testclient import TestClient
from web_support import signed_in

from lifecycle.errors import InvalidInput
from lifecycle.table import STATE_LABELS

#: Pages that show a code beside its words on purpose (the templates' keys an admin edits).
CODES_SHOWN = ("/console/ops/templates",)
SKIP = ("/logout", "/language/", "/static/", "/api/", "/login")
PYTHON_VALUES = re.compile(r"(?<![\w-])(None|True|False|Decimal\(|nan)(?![\w-])")
#: The lists' own words (the pager, the export link) that an English page must not show.
CHINESE_CHROME = re.compile(r"导出|上一页|下一页|第\s*\d+\s*页")
ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
_STATES = "|".join(sorted(STATE_LABELS, key=len, reverse=True))
RAW_STATES = re.compile(r"(?<![\w./=-])(" + _STATES + r")(?![\w./=-])")


class _Page(HTMLParser):
    """The text a person reads (not scripts, styles or attributes) and the page's links."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def _read(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def crawl(client: TestClient, depth: int = 2) -> dict[str, tuple[int, str]]:
    """Every same-site page reachable from ``/`` within ``depth`` links: url → (status, text)."""
    seen: dict[str, tuple[int, str]] = {}
    level = ["/"]
    for d in range(depth + 1):
        following: list[str] = []
        for url in level:
            if url in seen:
                continue
            response = client.get(url)
            if "spreadsheet" in response.headers.get("content-type", ""):
                seen[url] = (response.status_code, "")
                continue
            page = _read(response.text)
            seen[url] = (response.status_code, " ".join(page.text))
            if d == depth:
                continue
            base = str(response.url)
            for href in page.links:
                parts = urlsplit(urljoin(base, href))
                if parts.netloc != urlsplit(base).netloc or parts.path.startswith(SKIP):
                    continue
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                if target not in seen:
                    following.append(target)
        level = following
    return seen


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_every_linked_page_answers_and_shows_no_python_values(
    world: World, role: str, lang: str
) -> None:
    client = signed_in(world, role)
    client.get(f"/language/{lang}?next=/")
    pages = crawl(client)
    assert len(pages) > 2, pages.keys()
    failed = {url: status for url, (status, _) in pages.items() if status != 200}
    assert not failed, failed
    shown: list[tuple[str, str]] = []
    for url, (_, text) in pages.items():
        found = PYTHON_VALUES.findall(text) + ISO_INSTANT.findall(text)
        if lang == "zh" and not url.startswith(CODES_SHOWN):
            found += RAW_STATES.findall(text)
        if lang == "en":
            found += CHINESE_CHROME.findall(text)
        shown += [(url, f) for f in found]
    assert not shown, shown


def test_every_notification_template_has_a_name_in_both_languages() -> None:
    from notifications.catalog import CATALOG
    from workflows.queries_ops_pages import MESSAGES

    assert not sorted(set(CATALOG) - set(MESSAGES)), "templates listed by their key only"


def test_a_timeline_event_names_its_facts_and_the_consequence_in_words() -> None:
    from workflows.queries_console import FACT_LABELS, explain

    event = {
        "seq": 9,
        "at": "2024-01-24T09:00:00+08:00",
        "actor": "system",
        "trigger": "confirm_exit",
        "from": "exit_notice",
        "to": "vacating",
        "reason": "",
        "data": {
            "exit_case": 14,
            "registration_move_out_by": "2024-03-18",
            "handling": "immediate",
            "kind": "exit_defence",
            "trace": {
                "steps": [
                    {
                        "rule_id": "review.consequence",
                        "label_zh": "无",
                        "label_en": "None",
                        "result": "none",
                    },
                    {
                        "rule_id": "review.consequence",
                        "label_zh": "连续两年不合格，强制退出",
                        "label_en": "Two failed years: forced exit",
                        "result": "forced_exit",
                    },
                ]
            },
        },
    }
    shown = explain(event)
    for fact in shown["facts"]:
        assert fact["key"] in FACT_LABELS, fact
    words = {f["key"]: f["words"] for f in shown["facts"]}
    assert words["handling"] == ("立即启动退出", "exit notice at once")
    assert words["kind"] == ("陈述申辩", "statement and defence")
    none, forced = shown["steps"]
    assert none["en"] == "No consequence" and none["result_words"] == ("无", "none")
    assert forced["result_words"] == ("强制退出", "forced exit")


def test_a_recorded_benefit_is_shown_in_words_on_the_timeline() -> None:
    """Not "类型：rent_free；granted_on：2024-02-10；commitment_months：5"."""
    from workflows.queries_console import explain

    data = {"kind": "rent_free", "amount_yuan": "5000", "granted_on": "2024-02-10"}
    event = {"seq": 3, "at": "2024-02-10T09:00:00+08:00", "actor": "operator", "reason": ""}
    event |= {"trigger": "record_benefit", "from": "resident", "to": "resident"}
    shown = explain({**event, "data": {**data, "commitment_months": 5}})
    assert {f["key"]: f["label"][0] for f in shown["facts"]} == {
        "kind": "类型",
        "amount_yuan": "金额（元）",
        "granted_on": "给予日期",
        "commitment_months": "承诺期（月）",
    }
    assert shown["facts"][0]["words"] == ("免租", "rent free")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_application_form_names_the_industries_in_words(world: World, lang: str) -> None:
    client = signed_in(world, "firm")
    client.get(f"/language/{lang}?next=/")
    response = client.get("/portal/apply")
    assert response.status_code == 200
    text = " ".join(_read(response.text).text)
    assert "medical_devices" not in text and "health_services" not in text
    assert ("医疗器械" if lang == "zh" else "Medical devices") in text


def test_the_rulebook_list_names_the_rulebook_in_the_pages_language(world: World) -> None:
    client = signed_in(world, "admin")
    zh = " ".join(_read(client.get("/console/ops/rulebooks").text).text)
    assert "成都高品质科创空间默认规则" in zh and "default rulebook" not in zh
    client.get("/language/en?next=/")
    en = " ".join(_read(client.get("/console/ops/rulebooks").text).text)
    assert "default rulebook" in en and "成都高品质科创空间默认规则" not in en


def test_a_dashboard_of_an_empty_space_draws_no_chart_of_zeros(world: World) -> None:
    from workflows import commands as c

    world.do(c.CreateSpace(code="NEW", name="新空间"))
    client = signed_in(world, "admin")
    page = client.get("/console?space=NEW").text
    charts = ('aria-label="各状态企业数" data-option', 'aria-label="退出情况" data-option')
    for chart in charts:  # bare axes, or a pie of equal slices of nothing
        assert chart not in page
    assert "暂无" in page  # the table says so instead
    busy = client.get("/console?space=MC3").text
    for chart in charts:
        assert chart in busy


@pytest.mark.parametrize(
    ("field", "labels", "zh", "en"),
    [
        ("year", None, "年份：年份无效", "Year: not a year"),
        ("space", {"spaces": ("授权空间", "Spaces")}, "空间：年份无效", "Space: not a year"),
        (
            "benefit.amount_yuan",
            {"amount_yuan": ("金额（元）", "Amount")},
            "金额（元）：",
            "Amount: ",
        ),
        ("attachments", None, "附件：", "Attachments: "),
    ],
)
def test_a_refusal_names_the_field_in_words_never_by_its_code(
    field: str, labels: dict[str, tuple[str, str]] | None, zh: str, en: str
) -> None:
    """A form that does not name a field itself ("year" of the calendar's publish button,
    "space" of a grant, a part of a record) still says it in words."""
    from entrypoints.web.pages import describe

    refused = InvalidInput(field, "年份无效 / not a year", "x")
    assert describe(refused, "zh", labels).startswith(zh)
    assert describe(refused, "en", labels).startswith(en)


@pytest.mark.parametrize(
    ("size", "shown"),
    [(40, "40 B"), (1023, "1,023 B"), (1536, "1.5 KiB"), (5 * 1024 * 1024, "5.0 MiB")],
)
def test_a_file_size_reads_as_a_person_writes_it(size: int, shown: str) -> None:
    """A small attachment read "0.0 KiB"."""
    from entrypoints.web.rendering import size as file_size

    assert file_size(size) == shown
