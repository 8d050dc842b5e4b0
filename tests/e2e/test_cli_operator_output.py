"""Operator output is Chinese first and never shows a Python value (issue 14, item 16).

Success lines name the states in Chinese, a refused step names the tenancy's state in Chinese
and the commands that would be accepted (not the engine's trigger names), an invalid USCC says
why in Chinese, every command and every parameter has a Chinese help text, timelines and
traces print no ``None``/``True``/``False``/``Decimal(…)``/braces, times are Asia/Shanghai
and ``inbox --mark-read`` shows the rows it marked as read.
"""

from __future__ import annotations

import re

import pytest
from e2e.cli_support import Cli
from stdnum.cn import uscc as uscc_check

from entrypoints.cli import command

USCC = "91510115MA6CX1A2B2"
SCORES = (
    "technology_ip=20",
    "team=20",
    "industry_fit=16",
    "market_business_model=12",
    "growth_financing=8",
    "jobs=4",
)
PROFILE = {
    "founded_on": "2024-01-15",
    "staff": 18,
    "revenue_yuan": 1200000,
    "assets_yuan": 3000000,
    "prev_year_revenue_yuan": 900000,
    "requested_area_m2": 120,
    "industry": "pharma",
    "track": "incubation",
    "prohibited_business": False,
    "major_incident_recent": False,
    "abnormal_operations_listed": False,
    "serious_dishonest_listed": False,
    "dishonest_executee": False,
    "ip_ownership_clear": True,
    "env_fire_safety_approved": True,
    "water_intensive_or_polluting": False,
    "will_register_in_space": True,
}
PYTHON_VALUES = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|Decimal\(|[{}]|\['|'\]")


@pytest.fixture
def applied(cli: Cli) -> str:
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    cli.ok("unit", "add", "MC3", "A-101", "--kind", "office", "--area", "120")
    cli.ok("firm", "add", "--name", "峰际生物", "--uscc", USCC, "--industry", "pharma")
    return cli.ok("apply", USCC, "MC3", "--area", "120", "--profile", cli.file("p.json", PROFILE))


def test_a_success_line_names_the_states_in_chinese(cli: Cli, applied: str) -> None:
    assert "None" not in applied
    assert applied.startswith("入驻记录 1：")
    assert "已申请" in applied
    screened = cli.ok("screen", "1")
    assert "已申请（applied） → 专家评审中（evaluating）" in screened


def test_a_refused_step_names_the_state_in_chinese_and_the_commands(cli: Cli, applied: str) -> None:
    line = cli.refused(4, "rectify", "plan", "1", "--plan", "整改方案")
    assert "已申请（applied）" in line
    assert "`innospace rectify plan`" in line and "`innospace screen`" in line
    assert "file_plan" not in line and "screen_in" not in line


def test_an_invalid_uscc_says_why_in_chinese(cli: Cli) -> None:
    cli.ok("init")
    wrong = USCC[:-1] + ("3" if USCC[-1] != "3" else "4")
    line = cli.refused(
        2, "firm", "add", "--name", "某公司", "--uscc", wrong, "--industry", "pharma"
    )
    should = uscc_check.calc_check_digit(USCC[:17])
    assert f"第 18 位校验码应为 {should}" in line
    assert "checksum or check digit" not in line


def _chinese(text: str | None) -> bool:
    return bool(text) and re.search(r"[\u4e00-\u9fff]", text or "") is not None


def test_every_command_and_every_parameter_has_a_chinese_help_text() -> None:
    missing: list[str] = []
    pending = [(command(), "innospace")]
    while pending:
        cmd, path = pending.pop()
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            pending.append((sub, f"{path} {name}"))
        if not _chinese(cmd.help):
            missing.append(path)
        for param in cmd.params:
            if not _chinese(getattr(param, "help", None)):
                missing.append(f"{path} {param.name}")
    assert missing == []


def test_timelines_and_traces_show_no_python_values(cli: Cli, applied: str) -> None:
    cli.ok("screen", "1")
    for reviewer in ("王芳", "李明", "张伟"):
        cli.ok("score", "1", "--reviewer", reviewer, *(a for s in SCORES for a in ("--score", s)))
    cli.ok("approve", "1")
    timeline = cli.ok("timeline", "1")
    shown = cli.ok("show", "1")
    assert "H1" in timeline and "admission.scoring.pass" in timeline
    for text in (timeline, shown):
        assert PYTHON_VALUES.findall(text) == [], text


def test_template_history_is_in_shanghai_time(cli: Cli, applied: str) -> None:
    source = cli.file("subject.j2", "【{{ space.name }}】准予入驻（新）")
    cli.ok(
        "templates", "set", "admitted", "--locale", "zh-CN", "--part", "subject", "--file", source
    )
    history = cli.ok("templates", "history", "admitted")
    assert "2024-03-04 09:00:00" in history  # NOW is 2024-03-04T09:00+08:00
    assert "+00:00" not in history and "T01:00" not in history


def test_inbox_mark_read_shows_the_rows_as_read(cli: Cli, applied: str) -> None:
    cli.ok("screen", "1")
    for reviewer in ("王芳", "李明", "张伟"):
        cli.ok("score", "1", "--reviewer", reviewer, *(a for s in SCORES for a in ("--score", s)))
    cli.ok("approve", "1")
    cli.ok("outbox", "relay")  # the in-app notices are delivered by the relay
    marked = cli.ok("inbox", USCC, "--mark-read")
    rows = [line for line in marked.splitlines() if line.startswith("#")]
    assert rows and all("[已读]" in line for line in rows), marked
    assert "2024-03-04 09:00" in marked  # the notice's time, in Asia/Shanghai


def test_a_choice_list_is_chinese_first_with_the_states_named(cli: Cli) -> None:
    cli.ok("init")
    line = cli.refused(2, "list", "--state", "somewhere")
    assert "须为以下之一 / must be one of" in line
    assert "applied（已申请）" in line and "exited（已退出）" in line


def test_rulebook_versions_and_the_outbox_are_in_shanghai_time(cli: Cli, applied: str) -> None:
    versions = cli.ok("rules", "versions")
    assert "2024-03-04 09:00:00" in versions and "T01:00" not in versions
    outbox = cli.ok("outbox", "list")
    assert "2024-03-04 09:00" in outbox and "+00:00" not in outbox
