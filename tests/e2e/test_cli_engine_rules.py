"""Rules the engine holds itself to (issue 14, items 1-5), through the operator's CLI on
SQLite and PostgreSQL: no decision before its window ends unless waived in writing; a valid
panel for every admission decision; graduation through its 公示; recorded veto facts feed the
review; a catch-up leaves nothing for the next tick."""

from __future__ import annotations

import random

import pytest
from e2e.cli_support import NOW, Cli
from e2e.test_cli_lifecycle import AFTER_PUBLICITY, admitted_firm

from entrypoints.demo_data import good_profile, make_uscc
from workflows.identity import cli_actor

SCORES = (
    "technology_ip=20",
    "team=20",
    "industry_fit=16",
    "market_business_model=12",
    "growth_financing=8",
    "jobs=4",
)


@pytest.fixture
def space(cli: Cli) -> str:
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    for code in ("A-101", "A-102", "A-103"):
        cli.ok("unit", "add", "MC3", code, "--kind", "office", "--area", "120")
    return "MC3"


def _score(cli: Cli, tenancy: int, reviewer: str, *extra: str) -> None:
    args = [a for s in SCORES for a in ("--score", s)]
    cli.ok("score", str(tenancy), "--reviewer", reviewer, *args, *extra)


def evaluating(cli: Cli, rng: random.Random) -> int:
    from datetime import date

    uscc = make_uscc(rng)
    cli.ok("firm", "add", "--name", f"蓉芯科技{uscc[-4:]}", "--uscc", uscc, "--industry", "pharma")
    profile = cli.file(f"{uscc}.json", good_profile(date(2024, 3, 4)))
    tenancy = int(
        cli.json("apply", uscc, "MC3", "--area", "120", "--profile", profile)["tenancy_id"]
    )
    cli.ok("screen", str(tenancy))
    return tenancy


def resident(cli: Cli, rng: random.Random, unit: str = "A-101") -> int:
    cli.at(NOW)
    _, t = admitted_firm(cli, rng)
    cli.at(AFTER_PUBLICITY)
    cli.ok("tick")
    cli.ok("sign", str(t), "--unit", unit, "--from", "2024-04-01", "--to", "2027-03-31")
    return t


def outbox_messages(cli: Cli, tenancy: int) -> list[str]:
    return [r["message"] for r in cli.json("outbox", "list") if r["tenancy_id"] == tenancy]


# ---- 2. a valid panel for every admission decision -----------------------------------------
def test_reject_needs_a_valid_panel_like_approve(cli: Cli, space: str) -> None:
    t = evaluating(cli, random.Random(21))
    _score(cli, t, "王")
    _score(cli, t, "李")
    _score(cli, t, "赵", "--conflict")  # declared a conflict of interest: not counted
    assert "need at least 3 reviewers" in cli.refused(4, "approve", str(t))
    refused = cli.refused(4, "reject", str(t), "--reason", "不符合产业方向")
    assert "--without-panel" in refused
    # without a valid panel, only as a named operator's decision with grounds
    assert "actor" in cli.refused(
        2, "reject", str(t), "--without-panel", "--grounds", "专家回避，无法组成评审小组"
    )
    assert "grounds" in cli.refused(2, "reject", str(t), "--without-panel", "--actor", "王芳")
    done = cli.json(
        "reject",
        str(t),
        "--without-panel",
        "--actor",
        "王芳",
        "--grounds",
        "专家回避，无法组成评审小组",
    )
    assert done["to"] == "rejected"
    [event] = [e for e in cli.json("timeline", str(t)) if e["trigger"] == "reject_without_panel"]
    assert event["actor"] == cli_actor("王芳")
    assert event["data"]["grounds"] == "专家回避，无法组成评审小组"
    assert event["data"]["decided_by"] == "王芳"
    assert "rejection_without_panel" in outbox_messages(cli, t)
    assert "审计链完整" in cli.ok("audit", "verify")


def test_a_named_rejection_is_refused_once_a_valid_panel_has_scored(cli: Cli, space: str) -> None:
    t = evaluating(cli, random.Random(22))
    for reviewer in ("王", "李", "张"):
        _score(cli, t, reviewer)
    cli.refused(
        4, "reject", str(t), "--without-panel", "--actor", "王芳", "--grounds", "不符合产业方向"
    )
    assert cli.json("reject", str(t), "--reason", "不符合产业方向")["to"] == "rejected"


# ---- 4. a recorded veto fact feeds that period's review -----------------------------------
def test_a_recorded_major_accident_vetoes_that_years_review(cli: Cli, space: str) -> None:
    from entrypoints.demo_data import figures

    rng = random.Random(41)
    t, other = resident(cli, rng, "A-101"), resident(cli, rng, "A-102")
    cli.at("2024-06-03T10:00+08:00")
    violation = cli.json(
        "violation", str(t), "--code", "major_accident", "--facts", "2024年6月1日实验室火灾"
    )["violation"]
    cli.at("2025-01-02T09:00+08:00")
    for tenancy in (t, other):
        cli.ok("review", "open", str(tenancy), "--period", "2024")
        data = cli.file(f"fig{tenancy}.json", figures("steady", year=2024, rng=random.Random(5)))
        cli.ok("review", "submit", str(tenancy), "--period", "2024", "--figures", data)
    decided = cli.json("review", "decide", str(t), "--period", "2024")  # no --veto given
    assert decided["grade"] == "D"
    assert cli.json("review", "decide", str(other), "--period", "2024")["grade"] != "D"
    [event] = [e for e in cli.json("timeline", str(t)) if e["trigger"] == "order_rectification"]
    [step] = [
        s for s in event["data"]["trace"]["steps"] if s["rule"] == "review.veto.major_accident"
    ]
    assert step["figures"]["violations"] == [violation]
    assert step["figures"]["raised"] is False and step["result"] == "fail"
    assert "审计链完整" in cli.ok("audit", "verify")


@pytest.mark.parametrize("path", [[], ["--batch"]], ids=["per-tenancy", "batch"])
def test_a_recorded_veto_fact_vetoes_the_cycle_decision_too(
    cli: Cli, space: str, path: list[str]
) -> None:
    from entrypoints.demo_data import figures

    rng = random.Random(42)
    t, other = resident(cli, rng, "A-101"), resident(cli, rng, "A-102")
    cli.at("2024-11-05T10:00+08:00")
    violation = cli.json("violation", str(t), "--code", "fraud", "--facts", "伪造研发费用凭证")[
        "violation"
    ]
    cli.at("2025-01-02T09:00+08:00")
    for tenancy in (t, other):
        cli.ok("review", "open", str(tenancy), "--period", "2024")
        data = cli.file(f"fig{tenancy}.json", figures("steady", year=2024, rng=random.Random(5)))
        cli.ok("review", "submit", str(tenancy), "--period", "2024", "--figures", data)
    cli.at("2025-02-10T09:00+08:00")  # after the submission deadline: the cohort is decided
    cli.ok("review", "decide-cycle", "MC3", "--period", "2024", *path)
    decided = [
        e
        for e in cli.json("timeline", str(t))
        if e["trigger"] in ("pass_review", "order_rectification", "fail_review")
    ]
    [step] = [s for s in decided[0]["data"]["trace"]["steps"] if s["rule"] == "review.veto.fraud"]
    assert step["figures"]["violations"] == [violation] and step["result"] == "fail"
    assert decided[0]["trigger"] == "order_rectification"
    other_events = [e["trigger"] for e in cli.json("timeline", str(other))]
    assert "pass_review" in other_events


# ---- 1. no decision before its window ends, unless waived in writing ------------------------
def test_the_defence_window_holds_the_exit_decision_unless_waived(cli: Cli, space: str) -> None:
    rng = random.Random(11)
    t, other = resident(cli, rng, "A-101"), resident(cli, rng, "A-102")
    cli.at("2024-06-03T10:00+08:00")
    for tenancy in (t, other):
        cli.ok(
            "exit", "notice", str(tenancy), "--grounds", "sublet", "--facts", "擅自转租",
            "--proof", "EMS 1001",
        )  # fmt: skip
    refused = cli.refused(4, "rule", str(t), "--dismissed", "--reason", "维持退出决定")
    assert "陈述申辩期" in refused and "innospace waive" in refused
    cli.refused(4, "exit", "confirm", str(t))
    waive = ("waive", str(t), "--window", "objection", "--document", "放弃陈述申辩声明 2024-018")
    assert "future" in cli.refused(2, *waive, "--on", "2024-06-04")
    assert "公示" in cli.refused(
        2, "waive", str(t), "--window", "publicity", "--on", "2024-06-03", "--document", "X"
    )
    cli.ok(*waive, "--on", "2024-06-03")
    assert "already waived" in cli.refused(4, *waive, "--on", "2024-06-03")
    assert cli.json("rule", str(t), "--dismissed", "--reason", "维持退出决定")["to"] == "vacating"
    [confirmed] = [e for e in cli.json("timeline", str(t)) if e["trigger"] == "confirm_exit"]
    assert confirmed["data"]["waiver"]["document"] == "放弃陈述申辩声明 2024-018"
    assert confirmed["data"]["waiver"]["waived_on"] == "2024-06-03"
    # without a waiver the decision waits for the window to end
    cli.at("2024-06-20T09:00+08:00")
    assert cli.json("rule", str(other), "--dismissed", "--reason", "维持退出决定")["to"] == (
        "vacating"
    )
    assert "审计链完整" in cli.ok("audit", "verify")


def test_no_exit_notice_during_a_cure_period_unless_waived(cli: Cli, space: str) -> None:
    t = resident(cli, random.Random(12))
    cli.at("2024-06-03T10:00+08:00")
    cli.ok("violation", str(t), "--code", "arrears", "--facts", "欠缴2024年二季度租金")
    notice = ("exit", "notice", str(t), "--grounds", "arrears", "--facts", "欠租", "--proof", "EMS")
    assert "cure period" in cli.refused(4, *notice)
    cli.ok("waive", str(t), "--window", "cure", "--on", "2024-06-03", "--document", "函 2024-3")
    assert cli.json(*notice)["to"] == "exit_notice"
    [served] = [e for e in cli.json("timeline", str(t)) if e["trigger"] == "serve_exit_notice"]
    assert served["data"]["waivers"][0]["window"] == "cure"


def test_a_reinspection_fails_only_after_the_plan_and_rectification_windows(
    cli: Cli, space: str
) -> None:
    from entrypoints.demo_data import figures

    t = resident(cli, random.Random(13))
    cli.at("2025-01-02T09:00+08:00")
    cli.ok("review", "open", str(t), "--period", "2024")
    data = cli.file("fig.json", figures("steady", year=2024, rng=random.Random(5)))
    cli.ok("review", "submit", str(t), "--period", "2024", "--figures", data)
    cli.ok(
        "review", "decide", str(t), "--period", "2024", "--outcome", "rectify",
        "--reason", "数据存疑",
    )  # fmt: skip
    fail = ("reinspect", str(t), "--fail", "--reason", "未整改")
    assert "rectification plan deadline" in cli.refused(4, *fail)
    cli.ok("waive", str(t), "--window", "plan", "--on", "2025-01-02", "--document", "函 01")
    assert "rectification period" in cli.refused(4, *fail)
    cli.ok(
        "waive", str(t), "--window", "rectification", "--on", "2025-01-02", "--document", "函 01"
    )
    assert cli.json(*fail)["to"] == "exit_notice"


# ---- 3. graduation goes through its 公示 ------------------------------------------------------
def test_a_graduation_goes_on_public_notice_and_the_sweep_ends_it(cli: Cli, space: str) -> None:
    t = resident(cli, random.Random(31))
    cli.at("2024-09-02T10:00+08:00")  # a Monday: 5 working days inclusive end on Friday
    begun = cli.json(
        "exit", "begin", str(t), "--type", "graduation", "--reason", "已认定为高新技术企业"
    )
    assert begun["to"] == "graduation_publicity"
    notices = {(r["message"], r["audience"]) for r in cli.json("outbox", "list")}
    assert {
        ("graduation_publicity_start", "firm"),
        ("graduation_publicity_start", "operators"),
    } <= notices
    cli.at("2024-09-06T20:00+08:00")  # the last day of the 公示
    cli.ok("tick")
    assert cli.json("show", str(t))["state"] == "graduation_publicity"
    cli.at("2024-09-07T09:00+08:00")
    ticked = cli.json("tick")
    assert ticked["deadlines"]["by_kind"] == {"graduation_publicity_end": 1}
    shown = cli.json("show", str(t))
    assert shown["state"] == "vacating"
    assert shown["exit_cases"][0]["type"] == "graduation"
    messages = [(r["message"], r["audience"]) for r in cli.json("outbox", "list")]
    assert ("graduation", "firm") in messages
    assert ("graduation_publicity_end", "operators") in messages
    moves = [e["trigger"] for e in cli.json("timeline", str(t)) if e["from"] != e["to"]]
    assert moves[-2:] == ["confirm_graduation", "graduate"]
    assert "审计链完整" in cli.ok("audit", "verify")


# ---- 5. a catch-up leaves nothing for the next tick -------------------------------------------
def test_a_catch_up_tick_leaves_nothing_for_the_next_tick(cli: Cli, space: str) -> None:
    _, t = admitted_firm(cli, random.Random(51))
    cli.at("2024-04-15T09:00+08:00")  # six weeks without a scheduler
    first = cli.json("tick")["deadlines"]
    assert first["by_kind"] == {"publicity_end": 1}
    # the admission decided by the catch-up gets its lapse warning in the same tick
    assert first["planned"] == 1
    assert cli.json("show", str(t))["state"] == "admitted"
    again = cli.json("tick")["deadlines"]
    assert (again["handled"], again["moot"], again["planned"]) == (0, 0, 0)
    assert not [r for r in cli.json("outbox", "list") if r["status"] == "pending"]


def test_a_cured_violation_no_longer_backs_an_exit_notice_and_the_tick_leaves_it(
    cli: Cli, space: str
) -> None:
    """`innospace violation cure ID --on DATE` records the firm's cure: the period's deadline
    is cancelled (the tick does not escalate it) and an exit notice on its grounds is refused;
    `innospace violation TENANCY --code …` records as it always did, refusing the codes the
    engine raises itself."""
    t = resident(cli, random.Random(31))
    cli.at("2024-06-03T10:00+08:00")
    err = cli.refused(2, "violation", str(t), "--code", "consecutive_d", "--facts", "两年D")
    assert "code" in err and "系统依据考核/整改结果自动认定" in err, err
    v = cli.json("violation", str(t), "--code", "arrears", "--facts", "欠缴2024年二季度租金")
    cli.ok("violation", "report", str(t), "--code", "change_of_use", "--facts", "改作宿舍")
    err = cli.refused(2, "violation", "cure", str(v["violation"]), "--on", "2024-06-04")
    assert "纠正日期不能晚于今天" in err, err
    cli.at("2024-06-10T10:00+08:00")
    out = cli.ok(
        "violation", "cure", str(v["violation"]), "--on", "2024-06-08", "--note", "收据 0608"
    )
    assert out.startswith(f"入驻记录 {t}：违规 #{v['violation']} 已登记纠正（2024-06-08）"), out
    err = cli.refused(4, "violation", "cure", str(v["violation"]), "--on", "2024-06-08")
    assert f"违规 #{v['violation']} arrears（拖欠租金或费用）状态为「已纠正」" in err, err
    assert "违规记录" in cli.refused(3, "violation", "cure", "9999", "--on", "2024-06-08")
    notice = ("exit", "notice", str(t), "--grounds", "arrears", "--facts", "欠租", "--proof", "EMS")
    cli.at("2024-07-01T10:00+08:00")
    assert "arrears" in cli.refused(2, *notice)
    # The tick escalates only the violation left uncured (change of use), not the cured one.
    cli.ok("tick")
    served = [e for e in cli.json("timeline", str(t)) if e["trigger"] == "serve_exit_notice"]
    assert [e["data"]["grounds"] for e in served] == ["change_of_use"], served
    assert "审计链完整" in cli.ok("audit", "verify")


def test_a_violation_is_cured_only_within_its_period_and_never_beside_its_exit_notice(
    cli: Cli, space: str
) -> None:
    """With the clock past the payment demand's last day, `violation cure ID --on` a later
    day is refused (the firm did not pay in time); the exit notice then served on arrears
    escalates the violation, and a cure of it is refused; a violation of immediate grounds
    (fraud) takes no cure at all. Every refusal in words, Chinese first, no traceback."""
    t = resident(cli, random.Random(37))
    cli.at("2024-06-03T10:00+08:00")
    v = cli.json("violation", str(t), "--code", "arrears", "--facts", "欠缴2024年二季度租金")
    due = v["cure_due_on"]
    fraud = cli.json("violation", str(t), "--code", "fraud", "--facts", "虚报申报材料")
    assert fraud["cure_due_on"] is None
    err = cli.refused(4, "violation", "cure", str(fraud["violation"]), "--on", "2024-06-03")
    assert "依退出规则没有改正期限" in err and "Traceback" not in err, err

    cli.at("2024-06-25T10:00+08:00")
    err = cli.refused(2, "violation", "cure", str(v["violation"]), "--on", "2024-06-24")
    assert f"晚于改正期限的最后一日（{due}）" in err and "企业未在期限内纠正" in err, err
    assert "Traceback" not in err and "None" not in err, err
    cli.ok("exit", "notice", str(t), "--grounds", "arrears", "--facts", "欠租", "--proof", "EMS")
    err = cli.refused(4, "violation", "cure", str(v["violation"]), "--on", due)
    assert "已据此送达退出告知书" in err, err
    assert "撤销的期限" not in cli.ok("timeline", str(t))
    assert "审计链完整" in cli.ok("audit", "verify")
