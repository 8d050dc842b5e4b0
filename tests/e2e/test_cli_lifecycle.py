"""The operator's command line, end to end, on a real SQLite file and on PostgreSQL.

Each bad input must give a one-line error naming the thing and the rule, the documented exit
code, and leave the database exactly as it was.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from e2e.cli_support import NOW, Cli, snapshot
from sqlalchemy import create_engine, text

from db.engine import normalize_url
from entrypoints.demo_data import figures, good_profile, make_uscc

AFTER_PUBLICITY = "2024-03-12T09:00+08:00"


def admitted_firm(cli: Cli, rng: random.Random, *, space: str = "MC3") -> tuple[str, int]:
    uscc = make_uscc(rng)
    cli.ok(
        "firm",
        "add",
        "--name",
        f"峰际生物{uscc[-4:]}",
        "--uscc",
        uscc,
        "--industry",
        "pharma",
        "--email",
        "ops@fengji.example.cn",
    )
    profile = cli.file(f"{uscc}.json", good_profile(random_date()))
    tenancy = cli.json("apply", uscc, space, "--area", "120", "--profile", profile)["tenancy_id"]
    cli.ok("screen", str(tenancy))
    for reviewer in ("王", "李", "张"):
        cli.ok(
            "score",
            str(tenancy),
            "--reviewer",
            reviewer,
            "--score",
            "technology_ip=20",
            "--score",
            "team=20",
            "--score",
            "industry_fit=16",
            "--score",
            "market_business_model=12",
            "--score",
            "growth_financing=8",
            "--score",
            "jobs=4",
        )
    cli.ok("approve", str(tenancy))
    return uscc, int(tenancy)


def random_date() -> Any:
    from datetime import date

    return date(2024, 3, 4)


@pytest.fixture
def space(cli: Cli) -> str:
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    for code, kind, area in (
        ("A-101", "office", "120"),
        ("A-102", "office", "120"),
        ("L-201", "wet_lab", "260"),
    ):
        cli.ok("unit", "add", "MC3", code, "--kind", kind, "--area", area)
    return "MC3"


def test_an_operator_carries_a_firm_from_application_to_exit(cli: Cli, space: str) -> None:
    rng = random.Random(11)
    _, t = admitted_firm(cli, rng)
    assert cli.json("show", str(t))["state"] == "publicity"
    cli.at(AFTER_PUBLICITY)
    ticked = cli.json("tick")
    assert ticked["deadlines"]["by_kind"] == {"publicity_end": 1}
    assert cli.json("show", str(t))["state"] == "admitted"
    cli.ok(
        "sign",
        str(t),
        "--unit",
        "A-101",
        "--from",
        "2024-04-01",
        "--to",
        "2027-03-31",
        "--deposit",
        "20000",
    )
    cli.at("2025-01-02T09:00+08:00")
    cli.ok("review", "open", str(t), "--period", "2024")
    data = cli.file("fig.json", figures("steady", year=2024, rng=rng))
    cli.ok("review", "submit", str(t), "--period", "2024", "--figures", data)
    decided = cli.json("review", "decide", str(t), "--period", "2024")
    assert decided["grade"] in ("A", "B", "C") and decided["to"] == "active"
    # no voluntary exit without the firm's written request; too early a day is refused
    refused = cli.refused(2, "exit", "begin", str(t), "--type", "voluntary")
    assert "exit_type: 自愿退出须有企业的书面退出申请" in refused
    assert "leave_on" in cli.refused(2, "exit", "request", str(t), "--leave-on", "2025-02-05")
    # the firm's written request, 2 months ahead, recorded by the operator
    cli.ok("exit", "request", str(t), "--leave-on", "2025-03-03", "--reason", "迁往自有厂房")
    cli.ok("exit", "begin", str(t), "--type", "voluntary", "--reason", "迁往自有厂房")
    cli.ok(
        "exit",
        "handover",
        str(t),
        "--check",
        "meters",
        "--check",
        "keys",
        "--check",
        "access_cards",
        "--check",
        "premises_restored",
    )
    shown = cli.json("show", str(t))
    assert shown["state"] == "exited"
    assert shown["exit_cases"][0]["settlement"]["refund_yuan"] == "20000.00"
    timeline = cli.json("timeline", str(t))
    assert [e["trigger"] for e in timeline if e["from"] != e["to"]] == [
        "apply",
        "screen_in",
        "approve",
        "admit",
        "sign",
        "open_review",
        "pass_review",
        "begin_exit",
        "hand_over",
    ]
    assert [r["id"] for r in cli.json("list", "--state", "exited")] == [t]
    assert "审计链完整" in cli.ok("audit", "verify")
    units = cli.json("unit", "list", "MC3")
    assert {u["code"]: u["status"] for u in units}["A-101"] == "available"


def _admitted(cli: Cli, rng: random.Random) -> int:
    cli.at(NOW)
    _, t = admitted_firm(cli, rng)
    cli.at(AFTER_PUBLICITY)
    cli.ok("tick")
    return t


BAD_INPUTS: list[tuple[str, list[str], int, str]] = [
    ("unknown tenancy", ["screen", "999"], 3, "tenancy 999 not found"),
    (
        "illegal trigger",
        ["exit", "handover", "{t}", "--check", "keys"],
        4,
        "（admitted）」，不能执行 `innospace exit handover`",
    ),
    (
        "malformed date",
        ["sign", "{t}", "--unit", "A-101", "--from", "2024-13-01", "--to", "2027-03-31"],
        2,
        "from: 须为日期，格式 YYYY-MM-DD / must be a date written YYYY-MM-DD",
    ),
    (
        "term ends before it starts",
        ["sign", "{t}", "--unit", "A-101", "--from", "2024-05-01", "--to", "2024-04-01"],
        2,
        "term_end: 到期日须晚于起租日 / must be after term_start",
    ),
    (
        "unknown unit",
        ["sign", "{t}", "--unit", "Z-999", "--from", "2024-04-01", "--to", "2027-03-31"],
        2,
        "no unit Z-999",
    ),
    (
        "unit already let",
        ["sign", "{t}", "--unit", "A-102", "--from", "2024-04-01", "--to", "2027-03-31"],
        4,
        "a unit cannot be let twice",
    ),
    ("stale version", ["withdraw", "{t}", "--version", "1"], 5, "changed by someone else"),
    (
        "wrong USCC",
        ["firm", "add", "--name", "某公司", "--uscc", "91510115MA6ABCDEF1", "--industry", "pharma"],
        2,
        "uscc: 统一社会信用代码无效",
    ),
    ("unknown firm", ["apply", "91510115MA6ZZZZZZ0", "MC3"], 3, "not found"),
    (
        "malformed profile file",
        ["apply", "1", "MC3", "--profile", "{bad}"],
        2,
        "profile: 不是有效的 JSON（第 1 行第 2 列）：",
    ),
    (
        "score outside its band",
        [
            "score",
            "{e}",
            "--reviewer",
            "赵",
            "--score",
            "technology_ip=26",
            "--score",
            "team=20",
            "--score",
            "industry_fit=16",
            "--score",
            "market_business_model=12",
            "--score",
            "growth_financing=8",
            "--score",
            "jobs=4",
        ],
        2,
        "technology_ip",
    ),
    ("unknown state filter", ["list", "--state", "sleeping"], 2, "state: 须为以下之一"),
]


@pytest.mark.parametrize(
    ("case", "args", "code", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_is_refused_in_one_line_and_nothing_is_written(
    cli: Cli, space: str, db_url: str, case: str, args: list[str], code: int, message: str
) -> None:
    rng = random.Random(5)
    t = _admitted(cli, rng)
    other = _admitted(cli, rng)
    cli.ok("sign", str(other), "--unit", "A-102", "--from", "2024-04-01", "--to", "2027-03-31")
    evaluating_uscc = make_uscc(rng)
    cli.ok("firm", "add", "--name", "评审中企业", "--uscc", evaluating_uscc, "--industry", "pharma")
    profile = cli.file("ev.json", good_profile(random_date()))
    e = cli.json("apply", evaluating_uscc, "MC3", "--profile", profile)["tenancy_id"]
    cli.ok("screen", str(e))
    bad = cli.tmp / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    before = snapshot(db_url)
    argv = [a.format(t=t, e=e, bad=bad) for a in args]
    got, out, err = cli(*argv)
    assert got == code, f"{case}: exit {got}, stderr {err!r}"
    lines = [line for line in err.splitlines() if "WARNING" not in line]
    assert len(lines) == 1 and lines[0].startswith("错误 ["), err
    assert message in lines[0]
    assert snapshot(db_url) == before


def test_an_overlapping_term_on_a_released_unit_is_refused(
    cli: Cli, space: str, db_url: str
) -> None:
    rng = random.Random(8)
    first = _admitted(cli, rng)
    cli.ok("sign", str(first), "--unit", "L-201", "--from", "2024-03-15", "--to", "2025-03-14")
    cli.ok("exit", "request", str(first), "--leave-on", "2024-06-03")
    cli.ok("exit", "begin", str(first), "--type", "voluntary")
    cli.ok(
        "exit",
        "handover",
        str(first),
        "--check",
        "meters",
        "--check",
        "keys",
        "--check",
        "access_cards",
        "--check",
        "premises_restored",
    )
    second = _admitted(cli, rng)
    before = snapshot(db_url)
    code, _, err = cli(
        "sign", str(second), "--unit", "L-201", "--from", "2024-03-01", "--to", "2026-02-28"
    )
    assert code == 4 and "overlapping term" in err
    assert snapshot(db_url) == before


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "delete_last"])
def test_audit_verify_reports_rows_tampered_with_in_sql(
    cli: Cli, space: str, db_url: str, tamper: str
) -> None:
    rng = random.Random(2)
    t = _admitted(cli, rng)
    assert cli("audit", "verify")[0] == 0
    engine = create_engine(normalize_url(db_url))
    with engine.begin() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM audit_events WHERE tenancy_id = :t ORDER BY id"), {"t": t}
            )
        ]
        if tamper == "edit":
            conn.execute(
                text("UPDATE audit_events SET reason = 'backdated' WHERE id = :i"), {"i": ids[2]}
            )
        elif tamper == "delete":
            conn.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": ids[3]})
        elif tamper == "reorder":
            conn.execute(
                text("UPDATE audit_events SET seq = seq + 100 WHERE id IN (:a, :b)"),
                {"a": ids[1], "b": ids[2]},
            )
            conn.execute(
                text("UPDATE audit_events SET seq = :s WHERE id = :i"), {"s": 3, "i": ids[1]}
            )
            conn.execute(
                text("UPDATE audit_events SET seq = :s WHERE id = :i"), {"s": 2, "i": ids[2]}
            )
        else:
            conn.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": ids[-1]})
    engine.dispose()
    code, out, _ = cli("audit", "verify", "--json")
    assert code == 8
    report = json.loads(out)
    assert not report["ok"] and {p["tenancy_id"] for p in report["problems"]} == {t}


@pytest.mark.parametrize("batch", [False, True], ids=["per-tenancy", "batch"])
def test_the_cohort_is_decided_after_the_deadline_either_way(
    cli: Cli, space: str, batch: bool
) -> None:
    rng = random.Random(21)
    tenancies = [_admitted(cli, rng) for _ in range(2)]
    for unit, t in zip(("A-101", "A-102"), tenancies, strict=True):
        cli.ok("sign", str(t), "--unit", unit, "--from", "2024-04-01", "--to", "2027-03-31")
    cli.at("2025-01-02T09:00+08:00")
    opened = cli.json("cycle", "open", "MC3", "--period", "2024")
    assert opened["opened"] == 2
    data = cli.file("fig.json", figures("steady", year=2024, rng=rng))
    cli.ok("review", "submit", str(tenancies[0]), "--period", "2024", "--figures", data)
    early = cli(
        "review", "decide-cycle", "MC3", "--period", "2024", *(["--batch"] if batch else [])
    )
    assert early[0] == 4 and "still open" in early[2]
    cli.at("2025-01-20T09:00+08:00")  # past the 10th working day of January
    cli.json("review", "decide-cycle", "MC3", "--period", "2024", *(["--batch"] if batch else []))
    states = {t: cli.json("show", str(t))["state"] for t in tenancies}
    assert states == {tenancies[0]: "active", tenancies[1]: "rectifying"}  # no data → D
    assert cli("audit", "verify")[0] == 0
