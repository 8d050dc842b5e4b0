"""The rulebook from the operator's command line, on a real SQLite file and on PostgreSQL.

Review cycles decided as a cohort, graduation candidates, what-if simulation, versions,
traces in ``show``/``timeline``, the fraud re-application bar, working days, and bad input:
each refusal is one line with exit 2 (7 for an unpublished calendar year) and writes nothing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from e2e.cli_support import Cli, snapshot
from golden_figures import golden_figures as review_figures

from db.engine import make_engine
from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import rules
from workflows.service import Service

SPACE = "MC3"
DECIDE_AT = "2025-01-20T09:00+08:00"


STRONG = review_figures(
    tax_paid_yuan=600_000,
    rd_spend_yuan=400_000,
    high_tech_enterprise=True,
    specialized_new=True,
    equity_raised_yuan=6_000_000,
    headcount=50,
    rd_staff=15,
    graduates_hired=5,
    activities_attended=4,
)  # 89.00, A (no cooperation)
STRICT = (
    rules.default_rulebook_text()
    .replace('label_en = "Pass"\nmin = 60', 'label_en = "Pass"\nmin = 70')
    .replace('label_en = "Fail"\nmin = 0\nmax = 59', 'label_en = "Fail"\nmin = 0\nmax = 69')
)


class Seed:
    """Firms brought to residency through the service (the CLI takes over from there)."""

    def __init__(self, db_url: str) -> None:
        from conftest import local

        self.local = local
        self.engine = make_engine(db_url)
        self.clock = FixedClock(local(2024, 3, 4, 9, 0))
        self.service = Service(self.engine, self.clock, HANDLERS)
        self.rng = random.Random(3)
        self.do(c.CreateSpace(code=SPACE, name="成都医学城三医创新中心"))
        self.units = 0

    def do(self, command: c.Command) -> Any:
        return self.service.handle(command)

    def residents(self, n: int) -> list[tuple[int, str]]:
        self.clock.set(self.local(2024, 3, 4, 9, 0))
        out = []
        for _ in range(n):
            uscc = make_uscc(self.rng)
            self.do(c.RegisterFirm(name=f"蓉创{uscc[-4:]}", uscc=uscc, industry="pharma"))
            t = self.do(
                c.Apply(
                    firm=uscc,
                    space=SPACE,
                    requested_area_m2=120,
                    profile=good_profile(date(2024, 3, 4)),
                )
            ).tenancy_id
            self.do(c.Screen(tenancy_id=t))
            for reviewer in ("王", "李", "张"):
                self.do(c.ScoreApplication(tenancy_id=t, reviewer=reviewer, scores=scores(0.8)))
            self.do(c.Approve(tenancy_id=t))
            out.append((t, uscc))
        self.clock.set(self.local(2024, 3, 11, 9, 0))
        for t, _ in out:
            self.units += 1
            self.do(c.AddUnit(space=SPACE, code=f"A-{self.units}", kind="office", area_m2=120))
            self.do(c.EndPublicity(tenancy_id=t))
            self.do(
                c.Sign(
                    tenancy_id=t,
                    units=(f"A-{self.units}",),
                    term_start=date(2024, 4, 1),
                    term_end=date(2027, 3, 31),
                    deposit_yuan=20_000,
                )
            )
        return out

    def reviews(self, period: int, by_tenancy: dict[int, dict[str, Any] | None]) -> None:
        self.clock.set(self.local(period + 1, 1, 2, 9, 0))
        for t, figs in by_tenancy.items():
            self.do(c.OpenReview(tenancy_id=t, period=period))
            if figs is not None:
                self.do(c.SubmitReview(tenancy_id=t, period=period, figures=figs))


@pytest.fixture
def seed(db_url: str) -> Any:
    s = Seed(db_url)
    yield s
    s.engine.dispose()


def test_an_operator_decides_a_cycle_and_reads_why(cli: Cli, seed: Seed) -> None:
    (a, _), (b, _), (c_, _), (d, _) = seed.residents(4)
    seed.reviews(2024, {a: STRONG, b: {**STRONG, "headcount": 40}, c_: review_figures(), d: None})
    cli.at(DECIDE_AT)

    text_out = cli.ok("review", "decide-cycle", SPACE, "--period", "2024", "--veto", f"{c_}=fraud")
    assert "decided 4 of a cohort of 4" in text_out and "A capped at 20% → at most 0" in text_out
    assert "over the cap: A→B" in text_out and "逾期未报送 / not submitted" in text_out
    assert "graduation candidates" in text_out
    shown = cli.json("show", str(b))
    (review,) = shown["reviews"]
    assert (review["grade"], review["consequence"]) == ("B", "none")
    assert "review.grade_cap 优秀等级比例上限: B" in cli.ok("show", str(b))
    capped = [s["result"] for s in review["trace"]["steps"] if s["rule"] == "review.grade_cap"]
    assert capped == ["B"]
    vetoed = cli.json("timeline", str(c_))[-1]
    assert (vetoed["trigger"], vetoed["data"]["grade"]) == ("order_rectification", "D")
    assert "review.veto.fraud 弄虚作假: 未通过（fail）" in cli.ok("timeline", str(c_))
    assert cli.json("show", str(d))["state"] == "rectifying"
    again = cli.json("review", "decide-cycle", SPACE, "--period", "2024")
    assert again["decided"] == [] and len(again["already_decided"]) == 4

    candidates = cli.json("graduation", "candidates", SPACE)
    assert [x["tenancy_id"] for x in candidates] == [a, b]
    assert "累计获得天使或风险投资超过500万元" in cli.ok("graduation", "candidates", SPACE)
    assert {
        x["tenancy_id"]: x["eligible"] for x in cli.json("graduation", "candidates", SPACE, "--all")
    } == {a: True, b: True, c_: False, d: False}


def test_a_what_if_writes_nothing_and_a_loaded_rulebook_decides_from_then_on(
    cli: Cli, seed: Seed, db_url: str
) -> None:
    (a, _), (b, _) = seed.residents(2)
    seed.reviews(
        2024,
        {
            a: review_figures(),
            b: review_figures(tax_paid_yuan=450_000, specialized_new=True, activities_attended=4),
        },
    )
    cli.at(DECIDE_AT)
    cli.ok("review", "decide-cycle", SPACE, "--period", "2024")
    strict = cli.file("strict.toml", STRICT)
    before = snapshot(db_url)
    result = cli.json("rules", "simulate", strict, "--space", SPACE, "--period", "2024")
    assert snapshot(db_url) == before
    assert [
        (x["tenancy_id"], x["before"]["grade"], x["after"]["grade"], x["after"]["consequence"])
        for x in result["changes"]
    ] == [(a, "C", "D", "rectification")]
    assert "1 would change, 1 unchanged" in cli.ok(
        "rules", "simulate", strict, "--space", SPACE, "--period", "2024"
    )
    assert snapshot(db_url) == before

    default = cli.json("show", str(a))["rulebook_version"]
    loaded = cli.json("rules", "load", strict, "--space", SPACE)
    versions = {v["version"]: v for v in cli.json("rules", "versions")}
    assert versions[loaded["rulebook_version"]]["active_for"] == [SPACE]
    assert (
        versions[default] | {"active_for": [], "tenancies": 2, "reviews_decided": 2}
        == versions[default]
    )
    shown = cli.json("show", str(a))
    assert shown["rulebook_version"] == default
    assert shown["reviews"][0]["rulebook_version"] == default


def test_a_firm_exited_for_fraud_is_refused_when_it_applies_again(cli: Cli, seed: Seed) -> None:
    ((t, uscc),) = seed.residents(1)
    cli.at("2024-06-03T09:00+08:00")
    assert "benefit.kind: 须为以下之一 / must be one of: rent_free、rent_reduction" in cli.refused(
        2,
        "benefit",
        "record",
        str(t),
        "--kind",
        "cash",
        "--amount",
        "100",
        "--granted",
        "2024-04-01",
    )
    cli.ok(
        "benefit",
        "record",
        str(t),
        "--kind",
        "rent_free",
        "--amount",
        "36000",
        "--granted",
        "2024-04-01",
        "--commitment-months",
        "24",
    )
    assert "免租  36,000.00 元  承诺入驻 24 个月 / rent free" in cli.ok("benefit", "list", str(t))
    cli.ok(
        "exit",
        "notice",
        str(t),
        "--grounds",
        "fraud",
        "--facts",
        "申请材料营业收入造假",
        "--proof",
        "EMS 1234567890 签收",
    )
    waiver = ("--window", "objection", "--on", "2024-06-03", "--document", "放弃申辩声明 01")
    cli.ok("waive", str(t), *waiver)
    cli.ok("rule", str(t), "--dismissed", "--reason", "申辩理由不成立，维持退出决定")
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
    settlement = cli.json("show", str(t))["exit_cases"][0]["settlement"]
    assert (settlement["clawback_mode"], settlement["clawback_yuan"], settlement["due_yuan"]) == (
        "full",
        "36000.00",
        "16000.00",
    )
    cli.at("2025-09-01T09:00+08:00")
    profile = cli.file("p.json", json.dumps(good_profile(date(2025, 9, 1))))
    again = cli.json("apply", uscc, SPACE, "--area", "120", "--profile", profile)["tenancy_id"]
    screened = cli.json("screen", str(again))
    assert screened["to"] == "rejected"
    assert [f["id"] for f in screened["failures"]] == ["R1"]
    timeline = cli.ok("timeline", str(again))
    assert "R1 不在因欺诈退出后的重新申请限制期内" in timeline
    assert "R1 不在因欺诈退出后的重新申请限制期内: 未通过（fail）" in timeline


def test_working_days_from_the_command_line(cli: Cli) -> None:
    cli.ok("init")
    assert (
        cli.ok("calendar", "add-workdays", "2020-12-30", "5", "--inclusive").strip() == "2021-01-06"
    )
    line = cli.refused(7, "calendar", "add-workdays", "2027-03-01", "5")
    assert "2027" in line and "not published" in line and "calendar publish 2027" in line
    cli.ok("calendar", "set", "2027-01-01", "holiday")
    cli.refused(7, "calendar", "add-workdays", "2027-03-01", "5")  # one day is not the year
    cli.ok("calendar", "publish", "2027")
    assert cli.ok("calendar", "add-workdays", "2027-03-01", "5").strip() == "2027-03-08"


BAD_RULEBOOKS: dict[str, tuple[Callable[[str], str], str]] = {
    "malformed TOML": (
        lambda t: t.replace("[review.grade_cap]", "[review.grade_cap"),
        "TOML syntax error",
    ),
    "weights not summing to 100": (
        lambda t: t.replace(
            'id = "economic"\nlabel_zh = "经济贡献"\nlabel_en = "Economic '
            'contribution"\nweight = 30',
            'id = "economic"\nlabel_zh = "经济贡献"'
            '\nlabel_en = "Economic contribution"\nweight = 35',
        ),
        "review.categories: category weights must sum to 100",
    ),
    "overlapping grade bands": (
        lambda t: t.replace("min = 75\nmax = 84", "min = 70\nmax = 84"),
        "review.grades[1].min: band overlaps",
    ),
    "unknown metric name": (
        lambda t: t.replace(
            'metric = "headcount", full_at = 50', 'metric = "head_count", full_at = 50'
        ),
        "review.categories[3].items[0].metric: unknown metric 'head_count'",
    ),
}


def test_bad_rulebooks_are_refused_by_every_command_and_nothing_is_stored(cli: Cli) -> None:
    cli.ok("init")
    cli.ok("space", "create", SPACE, "成都医学城三医创新中心")
    default = rules.default_rulebook_text()
    for case, (mutate, message) in BAD_RULEBOOKS.items():
        bad = mutate(default)
        assert bad != default, case
        path = cli.file(f"{case.replace(' ', '_')}.toml", bad)
        for args in (
            ["rules", "check", path],
            ["rules", "load", path, "--space", SPACE],
            ["space", "create", "NEW", "新空间", "--rulebook", path],
            ["rules", "simulate", path, "--space", SPACE, "--period", "2024"],
        ):
            line = cli.refused(2, *args)
            assert "规则文件无效 / invalid rulebook" in line and path in line, (case, line)
            assert message in line, (case, line)
    missing = cli.refused(2, "rules", "load", str(cli.tmp / "nowhere.toml"))
    assert "cannot read file" in missing


def test_bad_figures_scores_and_cycle_options_are_refused_and_nothing_is_stored(
    cli: Cli, seed: Seed
) -> None:
    ((t, _),) = seed.residents(1)
    seed.clock.set(seed.local(2025, 1, 2, 9, 0))
    seed.do(c.OpenReview(tenancy_id=t, period=2024))
    uscc = make_uscc(seed.rng)
    seed.do(c.RegisterFirm(name="评审中", uscc=uscc, industry="pharma"))
    e = seed.do(c.Apply(firm=uscc, space=SPACE, profile=good_profile(date(2025, 1, 2)))).tenancy_id
    seed.do(c.Screen(tenancy_id=e))
    cli.at("2025-01-03T09:00+08:00")
    figs = cli.file("neg.json", json.dumps(review_figures(revenue_yuan=-5)))
    assert "figures.revenue_yuan（营业收入）: 不得为负数" in cli.refused(
        2, "review", "submit", str(t), "--period", "2024", "--figures", figs
    )
    assert "figures.turnover: 未知字段 / unknown field" in cli.refused(
        2,
        "review",
        "submit",
        str(t),
        "--period",
        "2024",
        "--figures",
        cli.file("ok.json", json.dumps(review_figures())),
        "--set",
        "turnover=5",
    )
    # a yes/no the firm once answered itself: the engine now tells from the day it files
    said_on_time = cli.file("said.json", json.dumps({**review_figures(), "data_on_time": True}))
    assert (
        "figures.data_on_time（按时报送考核数据（不晚于截止日））: 由系统统计，无需填报 / "
        "counted by the engine, not submitted"
    ) in cli.refused(2, "review", "submit", str(t), "--period", "2024", "--figures", said_on_time)
    good = [
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
    ]
    assert "technology_ip: 须在 0 到 25 分之间 / must be between 0 and 25" in cli.refused(
        2, "score", str(e), "--reviewer", "赵", "--score", "technology_ip=26", *good
    )
    assert "jobs: 须在 0 到 5 分之间 / must be between 0 and 5" in cli.refused(
        2,
        "score",
        str(e),
        "--reviewer",
        "赵",
        "--score",
        "technology_ip=20",
        *good[:-2],
        "--score",
        "jobs=-1",
    )
    assert (
        "veto: 每项否决须写作 租户编号=代码，例如 12=fraud / each veto is TENANCY=CODE"
        in cli.refused(2, "review", "decide-cycle", SPACE, "--period", "2024", "--veto", "fraud")
    )
    assert (
        "period: 须为 2000 至 2025 之间的年份 / must be a year between 2000 and 2025"
        in cli.refused(2, "review", "decide-cycle", SPACE, "--period", "2031")
    )
    assert "period: 须为 2000 至 2025 之间的年份 / must be a year" in cli.refused(
        2, "rules", "simulate", cli.file("s.toml", STRICT), "--space", SPACE, "--period", "1999"
    )
    assert "still open until" in cli.refused(4, "review", "decide-cycle", SPACE, "--period", "2024")


def test_an_amount_with_an_exponent_is_kept_to_the_fen_and_said_in_words(
    cli: Cli, seed: Seed
) -> None:
    """``--amount 1e3``: stored as 1000.00 and shown as 1,000.00 元 beside 免租, never as
    ``1E+3`` or the code ``rent_free`` alone."""
    ((t, _uscc),) = seed.residents(1)
    cli.at("2024-06-03T09:00+08:00")
    recorded = cli.ok(
        "benefit",
        "record",
        str(t),
        "--kind",
        "rent_free",
        "--amount",
        "1e3",
        "--granted",
        "2024-04-01",
        "--commitment-months",
        "3",
    )
    assert recorded.startswith(f"入驻记录 {t}：已登记优惠 免租 1,000.00 元（版本 ")
    assert "rent free of 1,000.00 yuan recorded" in recorded
    listed = cli.ok("benefit", "list", str(t))
    assert "免租  1,000.00 元  承诺入驻 3 个月 / rent free, 1,000.00 yuan" in listed
    assert "E+" not in recorded + listed and "rent_free" not in recorded + listed
    [benefit] = cli.json("benefit", "list", str(t))
    assert benefit["amount_yuan"] == "1000.00"
