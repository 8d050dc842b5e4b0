"""Corrections (issue 14, item 12): `firm edit`, `unit edit`, `unit retire`, `agreement amend`
— each with a reason, audited in the timeline, refused where it contradicts a decision taken."""

from __future__ import annotations

import random

import pytest
from e2e.cli_support import Cli
from e2e.test_cli_lifecycle import _admitted

SIGN = ["--unit", "A-101", "--from", "2024-04-01", "--to", "2027-03-31", "--deposit", "20000"]
CHECKS = ["--check", "meters", "--check", "keys", "--check", "access_cards"]


@pytest.fixture
def space(cli: Cli) -> str:
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    for code in ("A-101", "A-102", "A-103"):
        cli.ok("unit", "add", "MC3", code, "--kind", "office", "--area", "120")
    return "MC3"


def _events(cli: Cli, t: int, trigger: str) -> list[dict[str, object]]:
    return [e for e in cli.json("timeline", str(t)) if e["trigger"] == trigger]


def test_a_firm_is_corrected_with_a_reason_and_the_timeline_shows_it(cli: Cli, space: str) -> None:
    t = _admitted(cli, random.Random(41))
    (firm,) = cli.json("firm", "list")
    firm_id = str(firm["id"])
    assert "reason" in cli.refused(2, "firm", "edit", firm_id, "--name", "新名", "--reason", " ")
    out = cli.ok("firm", "edit", firm_id, "--name", "峰际生物科技", "--reason", "工商变更登记")
    assert "峰际生物科技" in out
    assert "峰际生物科技" in [f["name"] for f in cli.json("firm", "list")]
    (event,) = _events(cli, t, "correct_firm")
    assert event["reason"] == "工商变更登记"
    assert "峰际生物科技" in str(event["data"])
    assert "审计链完整" in cli.ok("audit", "verify")


def test_a_let_unit_is_neither_retired_nor_resized_outside_its_agreement(
    cli: Cli, space: str
) -> None:
    t = _admitted(cli, random.Random(42))
    cli.ok("sign", str(t), *SIGN)
    assert "已出租" in cli.refused(4, "unit", "retire", "MC3", "A-101", "--reason", "拆除")
    assert "agreement amend" in cli.refused(
        4, "unit", "edit", "MC3", "A-101", "--area", "100", "--reason", "复测"
    )
    cli.ok("unit", "edit", "MC3", "A-101", "--kind", "lab", "--reason", "实为实验室")
    assert _events(cli, t, "correct_unit")[0]["reason"] == "实为实验室"
    cli.ok("unit", "edit", "MC3", "A-102", "--area", "98.5", "--reason", "复测面积")
    cli.ok("unit", "retire", "MC3", "A-103", "--reason", "改作公共区域")
    units = {u["code"]: u for u in cli.json("unit", "list", "MC3")}
    assert units["A-101"]["kind"] == "lab" and units["A-102"]["area_m2"] == 98.5
    assert units["A-103"]["status"] == "retired"
    other = _admitted(cli, random.Random(43))
    sign = ["--from", "2024-04-01", "--to", "2027-03-31"]
    cli.refused(4, "sign", str(other), "--unit", "A-103", *sign)


def test_an_agreement_is_amended_while_resident_and_never_after_the_exit(
    cli: Cli, space: str
) -> None:
    t = _admitted(cli, random.Random(44))
    assert cli.refused(4, "agreement", "amend", str(t), "--to", "2026-03-31", "--reason", "x")
    cli.ok("sign", str(t), *SIGN)
    assert "deposit_yuan: 不得为负数" in cli.refused(
        2, "agreement", "amend", str(t), "--deposit", "-1", "--reason", "录入错误"
    )
    cli.ok(
        "agreement",
        "amend",
        str(t),
        "--to",
        "2026-03-31",
        "--deposit",
        "30000",
        "--unit",
        "A-101",
        "--unit",
        "A-102",
        "--reason",
        "合同录入错误",
    )
    shown = cli.json("show", str(t))
    assert shown["term_end"] == "2026-03-31"
    (event,) = _events(cli, t, "amend_agreement")
    assert event["reason"] == "合同录入错误"
    units = {u["code"]: u["status"] for u in cli.json("unit", "list", "MC3")}
    assert units["A-101"] == units["A-102"] == "let"
    cli.ok("exit", "request", str(t), "--leave-on", "2024-06-03", "--reason", "迁往自有厂房")
    cli.ok("exit", "begin", str(t), "--type", "voluntary", "--reason", "迁往自有厂房")
    cli.ok("exit", "handover", str(t), *CHECKS, "--check", "premises_restored")
    shown = cli.json("show", str(t))
    assert shown["state"] == "exited"
    assert shown["exit_cases"][0]["settlement"]["refund_yuan"] == "30000.00"
    assert "`innospace agreement amend`" in cli.refused(
        4, "agreement", "amend", str(t), "--to", "2027-03-31", "--reason", "再改"
    )
    assert "审计链完整" in cli.ok("audit", "verify")
