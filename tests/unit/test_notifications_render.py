"""Rendering the message catalog: every message in both locales, escaping, filters, sandbox."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from jinja2 import Environment

from lifecycle.errors import InvalidTemplate

# Submodule imports: the editable install may map ``notifications`` as a namespace package
# (it was installed before the package had an ``__init__``), which skips the re-exports.
from notifications.catalog import CATALOG, LEGAL_SECTIONS, samples, spec
from notifications.formatting import FILTERS, format_amount, format_date
from notifications.overrides import check_templates, preview
from notifications.render import Override, Renderer

WORKFLOW_KEYS = {
    "application_received",
    "info_requested",
    "screening_result",
    "scoring_result",
    "publicity_start",
    "objection_ruling",
    "admitted",
    "agreement_signed",
    "application_withdrawn",
    "application_lapsed",
    "review_opened",
    "review_result",
    "rectification_notice",
    "rectification_extended",
    "reinspection_result",
    "cure_notice",
    "exit_notice",
    "exit_ruling",
    "exit_confirmed",
    "graduation",
    "vacate_overdue",
    "handover_settlement",
}
SCHEDULER_KEYS = {
    "publicity_end",
    "agreement_lapse_warning",
    "review_reminder",
    "review_overdue",
    "term_expiry_warning",
    "operator_digest",
}
CASES = [
    (key, locale, audience, index, context)
    for key in CATALOG
    for locale in ("zh-CN", "en")
    for index, (audience, context) in enumerate(samples(key))
]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def override(
    part: str, source: str, revision: int = 1, name: str = "admitted", locale: str = "zh-CN"
) -> dict[tuple[str, str, str], Override]:
    return {(name, locale, part): Override(name, locale, part, revision, source)}


def test_the_catalog_has_every_message_the_workflows_and_scheduler_emit() -> None:
    assert set(CATALOG) >= WORKFLOW_KEYS | SCHEDULER_KEYS
    assert spec("operator_digest").audiences == {"operators"}


@pytest.mark.parametrize(
    ("key", "locale", "audience", "index", "context"),
    CASES,
    ids=[f"{k}-{loc}-{a}-{i}" for k, loc, a, i, _ in CASES],
)
def test_every_message_renders_in_both_locales_against_its_samples(
    renderer: Renderer, key: str, locale: str, audience: str, index: int, context: dict[str, Any]
) -> None:
    out = renderer.render(key, locale, context, audience=audience)
    assert out.subject and "\n" not in out.subject
    assert out.text.strip() and out.html.lstrip().startswith("<!DOCTYPE html>")
    if locale == "zh-CN":
        assert "特此通知" in out.text
    else:
        assert "Yours faithfully" in out.text
    if spec(key).is_legal(context, audience):
        for heading in LEGAL_SECTIONS[locale]:
            assert heading in out.text and heading in out.html


def test_legal_notices_state_grounds_rule_deadline_and_remedy(renderer: Renderer) -> None:
    ctx = samples("exit_notice")[0][1]
    zh = renderer.render("exit_notice", "zh-CN", ctx).text
    assert ctx["facts"] in zh and ctx["rule"] in zh
    assert "2026年12月3日" in zh and "陈述和申辩" in zh and "行政复议" in zh
    en = renderer.render("exit_notice", "en", ctx).text
    assert "3 Dec 2026" in en and "administrative reconsideration" in en


def test_review_result_is_a_legal_notice_only_with_a_consequence(renderer: Renderer) -> None:
    adverse, fine = (c for _, c in samples("review_result"))
    assert spec("review_result").is_legal(adverse) and not spec("review_result").is_legal(fine)
    assert "四、救济途径" not in renderer.render("review_result", "zh-CN", fine).text
    assert not spec("exit_notice").is_legal(samples("exit_notice")[0][1], "operators")


def test_a_list_is_named_by_its_number_once(renderer: Renderer) -> None:
    """Not "温江区第5期城市机会清单（第5期）": the number is added only when the title lacks it."""
    ctx = samples("opportunity_published")[0][1]
    named = renderer.render("opportunity_published", "zh-CN", ctx).text
    assert "温江区第5期城市机会清单已发布" in named and "（第5期）" not in named
    plain = {**ctx, "list": {**ctx["list"], "title": "城市机会清单"}}
    assert (
        "城市机会清单（第5期）已发布"
        in renderer.render("opportunity_published", "zh-CN", plain).text
    )


def test_strict_undefined_catches_a_missing_key(renderer: Renderer) -> None:
    ctx = dict(samples("admitted")[0][1])
    del ctx["sign_by"]
    with pytest.raises(InvalidTemplate, match="lacks sign_by"):
        renderer.render("admitted", "zh-CN", ctx)
    # A key the catalog does not list, used by a template, is caught by StrictUndefined.
    with pytest.raises(InvalidTemplate, match="admitted.txt.j2.*'nope' is undefined"):
        renderer.render(
            "admitted", "zh-CN", samples("admitted")[0][1], overrides=override("text", "{{ nope }}")
        )


def test_a_legal_override_that_drops_the_remedy_is_refused(renderer: Renderer) -> None:
    with pytest.raises(InvalidTemplate, match="lacks section"):
        renderer.render(
            "exit_notice",
            "zh-CN",
            samples("exit_notice")[0][1],
            overrides=override("text", "请腾退。", name="exit_notice"),
        )


def test_html_is_escaped_and_text_is_not(renderer: Renderer) -> None:
    ctx = samples("admitted")[0][1]
    ctx = {**ctx, "firm": {**ctx["firm"], "name": "<script>alert(1)</script> & Co"}}
    out = renderer.render("admitted", "zh-CN", ctx)
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in out.html
    assert "<script>alert(1)</script> & Co：" in out.text
    assert "<script>" in out.subject or "script" not in out.subject  # subject is plain text


def test_html_overrides_are_escaped_too(renderer: Renderer) -> None:
    ctx = {**samples("admitted")[0][1], "sign_by": "2027-01-20"}
    ctx["firm"] = {**ctx["firm"], "name": "<b>x</b>"}
    out = renderer.render(
        "admitted", "zh-CN", ctx, overrides=override("html", "<p>{{ firm.name }}</p>")
    )
    assert out.html.strip() == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        ("2026-11-26", "2026年11月26日", "26 Nov 2026"),
        (date(2027, 1, 6), "2027年1月6日", "6 Jan 2027"),
        ("2026-11-26T17:00:00+00:00", "2026年11月27日", "27 Nov 2026"),  # local date, Shanghai
        (None, "—", "—"),
    ],
)
def test_dates_follow_chinese_and_english_conventions(value: object, zh: str, en: str) -> None:
    assert format_date(value, "zh-CN") == zh
    assert format_date(value, "en") == en


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (12345, "12,345.00元", "12,345.00 yuan"),
        ("1500.5", "1,500.50元", "1,500.50 yuan"),
        (-20, "-20.00元", "-20.00 yuan"),
    ],
)
def test_amounts_are_shown_in_yuan(value: object, zh: str, en: str) -> None:
    assert format_amount(value, "zh-CN") == zh
    assert format_amount(value, "en") == en


def test_filters_read_the_locale_from_the_context() -> None:
    env = Environment()
    env.filters.update(FILTERS)
    t = env.from_string("{{ d|date }} {{ a|yuan }} {{ g|grade }} {{ g2|grade }}")
    values = {"d": "2026-11-26", "a": 12345, "g": "A", "g2": "D"}
    assert t.render(locale="zh-CN", **values) == "2026年11月26日 12,345.00元 优秀 不合格"
    assert t.render(locale="en", **values) == "26 Nov 2026 12,345.00 yuan Excellent Unsatisfactory"
    assert env.from_string("{{ 'B'|grade }}{{ 'C'|grade }}").render(locale="zh-CN") == "良好合格"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ firm.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__['os'] }}",
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
        "{{ firm.update({'name': 'x'}) }}",
    ],
)
def test_the_sandbox_refuses_overrides_that_reach_python_internals(
    renderer: Renderer, source: str
) -> None:
    with pytest.raises(InvalidTemplate) as info:
        renderer.render(
            "admitted",
            "zh-CN",
            samples("admitted")[0][1],
            overrides=override("text", source, revision=7),
        )
    assert "zh-CN/admitted.txt.j2 (override r7)" in str(info.value)
    assert "unsafe" in str(info.value)


def test_an_override_with_a_syntax_error_is_refused_with_its_line(renderer: Renderer) -> None:
    with pytest.raises(InvalidTemplate, match=r"override r1\): 第 2 行：.* / line 2: "):
        renderer.render(
            "admitted",
            "zh-CN",
            samples("admitted")[0][1],
            overrides=override("subject", "ok\n{% if %}"),
        )


def test_overrides_may_extend_the_shared_layout(renderer: Renderer) -> None:
    source = (
        '{% extends "_layout.txt.j2" %}{% block body %}请于{{ sign_by|date }}前签约。{% endblock %}'
    )
    out = renderer.render(
        "admitted", "zh-CN", samples("admitted")[0][1], overrides=override("text", source)
    )
    assert "请于2027年1月20日前签约。" in out.text and "特此通知" in out.text


def test_file_templates_are_compiled_once() -> None:
    r = Renderer()
    ctx = samples("admitted")[0][1]
    first = r.render("admitted", "zh-CN", ctx)
    loads = r.loads
    assert loads >= 3  # subject, text, html (+ layouts and macros)
    assert r.render("admitted", "zh-CN", ctx) == first
    assert r.loads == loads


def test_overrides_are_compiled_once_per_revision() -> None:
    r = Renderer()
    ctx = samples("admitted")[0][1]
    rev1 = override("subject", "第一版 {{ firm.name }}")
    assert r.render("admitted", "zh-CN", ctx, overrides=rev1).subject.startswith("第一版")
    r.render("admitted", "zh-CN", ctx, overrides=rev1)
    assert r.override_compiles == 1
    rev2 = override("subject", "第二版", revision=2)
    assert r.render("admitted", "zh-CN", ctx, overrides=rev2).subject == "第二版"
    assert r.override_compiles == 2


def test_check_templates_reports_nothing_for_the_shipped_set(renderer: Renderer) -> None:
    assert check_templates(renderer) == []


def test_check_templates_reports_a_broken_override(renderer: Renderer) -> None:
    problems = check_templates(
        renderer, overrides=override("text", "{{ firm.nickname }}", name="exit_notice")
    )
    assert problems and all(p.startswith("exit_notice [zh-CN, firm") for p in problems)
    assert "nickname" in problems[0]


def test_preview_renders_a_sample(renderer: Renderer) -> None:
    out = preview(renderer, "term_expiry_warning", "en")
    assert out.subject == "[成都医学城三医创新中心] Your term ends in 30 days"
    assert "31 Jan 2027" in out.text
    digest = preview(renderer, "operator_digest", "zh-CN")
    assert "&lt;b&gt;测试&lt;/b&gt;" in digest.html and "<b>测试</b>" in digest.text


def test_unknown_messages_and_locales(renderer: Renderer) -> None:
    with pytest.raises(InvalidTemplate, match="not in the message catalog"):
        renderer.render("no_such_message", "zh-CN", {})
    # A firm whose locale is en-US gets English; anything else Chinese.
    ctx = samples("admitted")[0][1]
    assert renderer.render("admitted", "en-US", ctx).subject.endswith("You are admitted")
    assert "准予入驻" in renderer.render("admitted", None, ctx).subject


def test_sent_on_is_printed_as_a_local_date(renderer: Renderer) -> None:
    ctx = {
        **samples("admitted")[0][1],
        "sent_on": datetime(2026, 11, 26, 20, tzinfo=UTC).isoformat(),
    }
    assert "2026年11月27日" in renderer.render("admitted", "zh-CN", ctx).text


@pytest.mark.parametrize(
    "message",
    ["quarterly_report_opened", "quarterly_report_reminder", "quarterly_report_overdue"],
)
def test_quarterly_notices_say_the_last_day_inclusively(renderer: Renderer, message: str) -> None:
    """The last day counts, to its end (as the portal says it): never "请于…前" / "by …"."""
    [(audience, ctx)] = samples(message)
    zh = renderer.render(message, "zh-CN", ctx, audience=audience).text
    en = renderer.render(message, "en", ctx, audience=audience).text
    assert "当日 24 时" in zh and "于2026年10月15日前" not in zh
    assert "by the end of" in en
    received = renderer.render(
        "quarterly_report_received", "zh-CN", samples("quarterly_report_received")[0][1]
    )
    assert "当日 24 时" in received.text
    provisional = samples("quarterly_report_received")[2][1]
    assert "暂按日历日计" in renderer.render("quarterly_report_received", "zh-CN", provisional).text
