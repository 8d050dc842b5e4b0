"""What a new operator reads on the command line, found trying the product as one: a review's
consequence, a tenancy's deadlines and exit case and a recorded violation in words (not
``none`` or ``agreement_lapse_warning``), a refused score's value as written (not
``Decimal('200')``), the engine's refusals Chinese first, the district's amounts grouped."""

from __future__ import annotations

import random
import re

from e2e.cli_support import Cli
from e2e.test_cli_engine_rules import SCORES, _score, evaluating, resident, space

__all__ = ["space"]  # the fixture, imported for the tests below


def test_a_review_decision_and_the_tenancy_page_name_the_consequence_in_words(
    cli: Cli, space: str
) -> None:
    t = resident(cli, random.Random(7))
    cli.at("2025-01-02T09:00+08:00")
    cli.ok("review", "open", str(t), "--period", "2024")
    figures = cli.file("figures.json", _figures())
    cli.ok("review", "submit", str(t), "--period", "2024", "--figures", figures)
    decided = cli.ok("review", "decide", str(t), "--period", "2024")
    assert "→ 无（none）" in decided, decided
    shown = cli.ok("show", str(t))
    assert "→ 无（none）" in shown and "→ none" not in shown, shown
    assert "租期届满（term_end）" in shown, shown
    assert "考核 review 2024: 已评定（decided）" in shown, shown
    assert "入驻通道 track: 孵化（incubation）" in shown, shown  # the track and unit in words
    assert re.search(r"单元 unit \S+（办公（office）", shown), shown
    violation = cli.ok("violation", str(t), "--code", "arrears", "--facts", "租金逾期")
    assert violation.startswith(f"入驻记录 {t}：已登记违规 #"), violation
    assert "催告缴纳，逾期退出（demand）" in violation, violation


def test_a_refused_score_shows_the_value_as_written_and_the_rule_in_chinese(
    cli: Cli, space: str
) -> None:
    t = evaluating(cli, random.Random(8))
    args = [a for s in SCORES[1:] for a in ("--score", s)]
    err = cli.refused(
        2, "score", str(t), "--reviewer", "王芳", "--score", "technology_ip=200", *args
    )
    assert "Decimal" not in err, err
    assert "须在 0 到 25 分之间" in err and "(got 200)" in err, err
    err = cli.refused(2, "score", str(t), "--reviewer", "王芳", "--score", "team=20")
    assert "每个评分项都须评分" in err, err
    _score(cli, t, "王芳")
    err = cli.refused(4, "approve", str(t))
    assert "评审小组不足：须至少 3 名无利益冲突的评审专家评分，现有 1 名" in err, err
    # the command typed, not the engine's trigger in Python quotes ("'approve' refused")
    assert f"入驻记录 {t} 不能执行 `innospace approve`，规则不允许：评审小组不足" in err, err
    assert "' refused" not in err, err


def test_engine_refusals_a_new_operator_meets_first_are_chinese_first(cli: Cli, space: str) -> None:
    err = cli.refused(
        2, "firm", "add", "--name", "峰际生物", "--uscc", "91510115MA6CX1A2B2",
        "--industry", "pharma", "--email", "not-an-address",
    )  # fmt: skip
    assert "须为电子邮件地址" in err, err
    err = cli.refused(2, "unit", "add", "MC3", "A-9", "--kind", "spaceship", "--area", "10")
    assert "须为以下之一" in err, err
    t = resident(cli, random.Random(9))
    err = cli.refused(2, "violation", str(t), "--code", "nonsense", "--facts", "x")
    assert "未知的退出情形代码" in err, err


def test_the_district_report_groups_the_tax_and_revenue_amounts() -> None:
    from entrypoints.cli.district import table

    block = {
        "space": "MC3", "name": "三医", "parcels": 1, "land_uses": ["M0"],
        "land_area_m2": 1.0, "land_area_mu": 1.0, "floor_area_m2": 1.0, "plot_ratio": 1.0,
        "occupancy": 0.5, "leased_area_m2": 1.0, "lettable_area_m2": 2.0,
        "tax_yuan": "2747836.00", "tax_per_m2": 1.0, "tax_per_mu": 1.0,
        "revenue_yuan": "45853808.5", "revenue_per_m2": 1.0, "revenue_per_mu": 1.0,
        "admitted": 0, "released_units": 0, "relet_units": 0, "avg_days_to_relet": None,
        "exits": {"graduation": 0, "term_expiry": 0, "voluntary": 0, "forced": 0},
        "grades": {"A": 0},
    }  # fmt: skip
    text = table({"year": 2023, "as_of": "2023-12-31", "spaces": [block], "total": block})
    assert "税收 / tax: 2,747,836.00 元" in text, text
    assert "营收 / revenue: 45,853,808.50 元" in text, text


def _figures() -> dict[str, object]:
    """A firm's figures that grade B: no consequence under the default rulebook."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    figures: dict[str, object] = json.loads((root / "examples" / "figures.json").read_text())
    return figures


def test_an_application_from_a_firm_founded_after_today_is_refused_at_the_door(
    cli: Cli, space: str
) -> None:
    """The portal took a founding date in 2030 on 2024-03-04; screening then refused with
    "founded_on: is after the evaluation date" every time, and the application stood there."""
    from datetime import date

    from entrypoints.demo_data import good_profile

    uscc = "91510115MA6CX1A2B2"
    cli.ok("firm", "add", "--name", "峰际生物", "--uscc", uscc, "--industry", "pharma")
    profile = cli.file("p.json", {**good_profile(date(2024, 3, 4)), "founded_on": "2030-01-01"})
    err = cli.refused(2, "apply", uscc, "MC3", "--area", "120", "--profile", profile)
    assert "profile.founded_on: 成立日期不得晚于今天" in err and "(got 2030-01-01)" in err, err
    assert cli.ok("list").strip().endswith("（共 0 条入驻记录 / 0 tenancies）")


def test_an_incomplete_handover_names_the_missing_items_in_words() -> None:
    """It read "handover checklist incomplete: access_cards, premises_restored"."""
    import pytest

    from lifecycle.errors import GuardFailed
    from workflows.exit_rules import check_handover

    with pytest.raises(GuardFailed) as info:
        check_handover(1, {"meters": True, "keys": True}, 0, 0)
    assert info.value.rule.startswith(
        "交接清单未完成，尚缺：门禁卡交回（access_cards）、场地恢复原状（premises_restored）"
    ), info.value.rule


def test_the_token_command_the_api_docs_show_parses() -> None:
    """docs/http-api.md said `innospace token create USER --label …`: the account is
    ``--user USER`` (a bare USER is refused: "Missing option '--user'")."""
    import re
    import shlex
    from pathlib import Path

    import typer

    from entrypoints.cli import app

    docs = (Path(__file__).resolve().parents[2] / "docs" / "http-api.md").read_text()
    shown = re.findall(r"`innospace (token create [^`]*)`", docs)
    assert shown, "the docs show how a system gets its token"
    create = typer.main.get_command(app).commands["token"].commands["create"]  # type: ignore[attr-defined]
    for line in shown:
        args = [a.replace("…", "x") for a in shlex.split(line)[2:]]
        create.make_context("create", args)  # raises click.UsageError on a bad line


def test_tick_reports_in_chinese_first(cli: Cli) -> None:
    """`innospace tick` printed English only ("review cycles: opened 0 …")."""
    cli.ok("init", "--training")
    out = cli.ok("tick").splitlines()
    assert [line.split("：")[0] for line in out] == ["年度考核", "期限", "每日摘要", "通知"], out
    err = cli.refused(2, "tick", "--until", "2024-03-01T09:00+08:00")
    assert "不得早于当前时间（现在是 2024-03-04 09:00，北京时间）" in err, err


def test_not_found_and_already_exists_name_the_record_in_chinese_first(cli: Cli) -> None:
    """They read "space NOPE not found", "firm … already exists": English only."""
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    err = cli.refused(3, "unit", "add", "NOPE", "A-1", "--kind", "office", "--area", "10")
    assert "未找到空间 NOPE / space NOPE not found" in err, err
    err = cli.refused(6, "space", "create", "MC3", "重复")
    assert "空间 MC3 已存在 / space MC3 already exists" in err, err
    assert "未找到入驻记录 999" in cli.refused(3, "screen", "999")


def test_the_api_says_a_refused_transition_and_a_stale_version_chinese_first() -> None:
    """The problem details' ``detail`` read only "tenancy 39: 'screen_in' is not allowed in
    state 'evaluating'; …" and "tenancy 39 was changed by someone else …"."""
    from lifecycle.errors import StaleTenancy, TransitionNotAllowed

    refused = TransitionNotAllowed(39, "screen_in", "evaluating", ["approve", "withdraw"])
    assert refused.message.startswith(
        "入驻记录 39 当前状态为「专家评审中」，不允许 screen_in；可用：approve、withdraw / "
    ), refused.message
    stale = StaleTenancy(39, 1, 3)
    assert stale.message.startswith(
        "入驻记录 39 已被他人修改（您持有版本 1，当前为版本 3），请刷新后重试 / "
    ), stale.message


def test_a_command_line_click_refuses_is_said_chinese_first(cli: Cli, space: str) -> None:
    """Typer's own box said only "Invalid value for '--deposit': Input should be a valid
    integer": the parameter is named Chinese first, the command's help pointed to, exit 2."""
    t = resident(cli, random.Random(9))
    err = cli.refused(2, "agreement", "amend", str(t), "--deposit", "20000.50", "--reason", "x")
    assert err.startswith("错误 [用法 / usage] (exit 2): 参数 --deposit 的值无效 / "), err
    assert "innospace agreement amend --help" in err, err
    assert "╭" not in err, err  # not Typer's English box
    err = cli.refused(2, "list", "--nope")
    assert "没有选项 --nope / No such option" in err, err
    err = cli.refused(2, "nosuchcommand")
    assert "命令用法有误 / No such command" in err, err
