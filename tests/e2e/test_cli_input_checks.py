"""Input checked at the step that takes it (issue 14, items 9-11): amounts, areas, terms,
figures and names at the command that receives them; files in UTF-8 (with or without a BOM)
or GB18030/GBK; long texts from a file or stdin; every problem of a file at once."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
from e2e.cli_support import Cli
from e2e.test_cli_lifecycle import _admitted

from entrypoints.demo_data import figures, make_uscc


@pytest.fixture
def space(cli: Cli) -> str:
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    for code, kind, area in (("A-101", "office", "120"), ("A-102", "office", "120")):
        cli.ok("unit", "add", "MC3", code, "--kind", kind, "--area", area)
    return "MC3"


SIGN = ["--unit", "A-101", "--from", "2024-04-01", "--to", "2027-03-31"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deposit", "-20000"], "deposit_yuan: 不得为负数 / must be >= 0"),
        (["--deposit", "999999999999999"], "deposit_yuan: 不得超过"),
    ],
)
def test_a_deposit_below_zero_or_absurd_is_refused_at_sign(
    cli: Cli, space: str, args: list[str], message: str
) -> None:
    t = _admitted(cli, random.Random(3))
    line = cli.refused(2, "sign", str(t), *SIGN, *args)
    assert message in line


def test_a_term_wholly_in_the_past_or_beyond_the_maximum_is_refused(cli: Cli, space: str) -> None:
    t = _admitted(cli, random.Random(4))
    past = ["--unit", "A-101", "--from", "2023-01-01", "--to", "2024-01-31"]
    assert "租期已全部过去" in cli.refused(2, "sign", str(t), *past)
    long = ["--unit", "A-101", "--from", "2024-04-01", "--to", "2034-03-31"]
    assert "term_end" in cli.refused(2, "sign", str(t), *long)
    cli.ok("sign", str(t), *SIGN, "--deposit", "0")


@pytest.mark.parametrize(
    ("area", "message"),
    [
        ("inf", "须为有限数值"),
        ("nan", "须为有限数值"),
        ("0", "须大于 0"),
        ("-5", "须大于 0"),
        ("1e12", "不得超过"),
    ],
)
def test_a_unit_area_must_be_finite_and_positive(
    cli: Cli, space: str, area: str, message: str
) -> None:
    line = cli.refused(2, "unit", "add", "MC3", "X-1", "--kind", "office", "--area", area)
    assert f"area_m2: {message}" in line


@pytest.mark.parametrize(
    ("area", "in_file", "message"),
    [
        ("0", 0, "须大于 0"),
        ("0", None, "须大于 0"),
        ("0.001", None, "须大于 0"),
        ("1e7", None, "不得超过"),
    ],
)
def test_an_application_area_must_be_finite_and_positive(
    cli: Cli, space: str, area: str, in_file: int | None, message: str
) -> None:
    """``apply --area 0`` (or a profile stating 0 m²) used to pass screening and reach 公示."""
    from entrypoints.demo_data import good_profile

    uscc = make_uscc(random.Random(31))
    cli.ok("firm", "add", "--name", "零面积科技", "--uscc", uscc, "--industry", "pharma")
    profile = good_profile(date(2024, 1, 2))
    del profile["requested_area_m2"]
    if in_file is not None:
        profile["requested_area_m2"] = in_file
    path = cli.file("p.json", profile)
    line = cli.refused(2, "apply", uscc, "MC3", "--area", area, "--profile", path)
    assert f"requested_area_m2: {message}" in line  # and nothing written (``refused``)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("坏\x07公司", "不得含控制字符"),
        ("火箭🚀科技", "不得含表情符号"),
        ("长" * 201, "不得超过 200 个字符"),
        ("   ", "不得为空"),
    ],
)
def test_a_firm_name_is_checked(cli: Cli, space: str, name: str, message: str) -> None:
    uscc = make_uscc(random.Random(8))
    line = cli.refused(2, "firm", "add", "--name", name, "--uscc", uscc, "--industry", "pharma")
    assert f"name: {message}" in line


def test_a_firm_name_is_trimmed(cli: Cli, space: str) -> None:
    uscc = make_uscc(random.Random(9))
    cli.ok("firm", "add", "--name", "  峰际生物  ", "--uscc", uscc, "--industry", "pharma")
    assert [f["name"] for f in cli.json("firm", "list")] == ["峰际生物"]


@pytest.mark.parametrize("value", [9e99, "1e999999999", "-1e20"])
def test_figures_beyond_sane_bounds_are_refused_at_submit(
    cli: Cli, space: str, value: object
) -> None:
    rng = random.Random(12)
    t = _admitted(cli, rng)
    cli.ok("sign", str(t), *SIGN)
    cli.at("2025-01-02T09:00+08:00")
    cli.ok("review", "open", str(t), "--period", "2024")
    data = figures("steady", year=2024, rng=rng)
    data["revenue_yuan"] = value
    path = cli.file("fig.json", data)
    code, _out, err = cli("review", "submit", str(t), "--period", "2024", "--figures", path)
    assert code == 2, err
    assert "revenue_yuan" in err and "10^15" in err
    assert "Traceback" not in err and "InvalidOperation" not in err


# ---- item 10: files in UTF-8 (BOM or not) or GB18030/GBK; long texts from a file or stdin --
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_profile_and_figures_files_in_gbk_or_with_a_bom_are_read(
    cli: Cli, space: str, encoding: str
) -> None:
    from e2e.test_cli_lifecycle import random_date

    from entrypoints.demo_data import good_profile

    rng = random.Random(21)
    uscc = make_uscc(rng)
    cli.ok("firm", "add", "--name", "峰际生物", "--uscc", uscc, "--industry", "pharma")
    profile = good_profile(random_date())
    profile["name"] = "峰际生物"
    path = cli.tmp / "profile.json"
    path.write_bytes(json.dumps(profile, ensure_ascii=False, default=str).encode(encoding))
    t = cli.json("apply", uscc, "MC3", "--area", "120", "--profile", str(path))["tenancy_id"]
    assert cli.json("show", str(t))["state"] == "applied"
    bad = cli.tmp / "bad.json"
    bad.write_bytes(b"\xff\xfe\xfd\x00\x81")
    line = cli.refused(2, "apply", uscc, "MC3", "--profile", str(bad))
    assert "GB18030/GBK" in line


def _in_publicity(cli: Cli) -> int:
    from e2e.test_cli_lifecycle import admitted_firm

    _, t = admitted_firm(cli, random.Random(22))
    return t


def test_long_texts_come_from_a_file_or_stdin(
    cli: Cli, space: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    t = _in_publicity(cli)
    grounds = "该企业申报的研发人员数量与社保缴纳记录不符。" * 40
    path = cli.tmp / "grounds.txt"
    path.write_bytes(grounds.encode("gbk"))
    cli.ok("object", str(t), "--by", "张三", "--grounds", f"@{path}")
    stdin = io.TextIOWrapper(io.BytesIO("股东名册与工商登记不一致".encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    cli.ok("object", str(t), "--by", "李四", "--grounds", "-")
    cli.ok("object", str(t), "--by", "王五", "--grounds", "@@官方账号举报")
    timeline = json.dumps(cli.json("timeline", str(t)), ensure_ascii=False)
    assert grounds in timeline
    assert "股东名册与工商登记不一致" in timeline and "@官方账号举报" in timeline


def test_a_long_text_over_its_limit_is_refused(cli: Cli, space: str) -> None:
    t = _in_publicity(cli)
    path = cli.tmp / "huge.txt"
    path.write_text("字" * 20_001, encoding="utf-8")
    line = cli.refused(2, "object", str(t), "--by", "张三", "--grounds", f"@{path}")
    assert "grounds: 不得超过 20,000 个字符" in line
    missing = cli.refused(2, "object", str(t), "--by", "张三", "--grounds", "@/nonexistent.txt")
    assert "grounds: 无法读取文件：" in missing and " / cannot read file: " in missing


# ---- item 11: every problem of a profile or figures file at once -----------------------------
def test_a_profile_with_several_problems_lists_all_of_them(cli: Cli, space: str) -> None:
    from e2e.test_cli_lifecycle import random_date

    from entrypoints.demo_data import good_profile

    uscc = make_uscc(random.Random(31))
    cli.ok("firm", "add", "--name", "峰际生物", "--uscc", uscc, "--industry", "pharma")
    profile = good_profile(random_date())
    profile.update(staff="许多", revenue_yuan=-5, assets_yuan="很多", colour="蓝")
    del profile["ip_ownership_clear"]
    path = cli.file("p.json", json.dumps(profile, ensure_ascii=False, default=str))
    error = cli.refused(2, "apply", uscc, "MC3", "--profile", path)
    lines = error.splitlines()
    assert "5 处错误" in lines[0] and "5 problem(s)" in lines[0]
    for field in ("staff", "revenue_yuan", "assets_yuan", "colour", "ip_ownership_clear"):
        assert sum(line.strip().startswith(field) for line in lines[1:]) == 1, (field, error)
    assert any("元" in line for line in lines if line.strip().startswith("revenue_yuan"))


def test_figures_with_several_problems_list_all_of_them(cli: Cli, space: str) -> None:
    rng = random.Random(32)
    t = _admitted(cli, rng)
    cli.ok("sign", str(t), *SIGN)
    cli.at("2025-01-02T09:00+08:00")
    cli.ok("review", "open", str(t), "--period", "2024")
    data = figures("steady", year=2024, rng=rng)
    data.update(revenue_yuan=-1, headcount="十个", turnover=3)
    path = cli.file("fig.json", data)
    error = cli.refused(2, "review", "submit", str(t), "--period", "2024", "--figures", path)
    lines = error.splitlines()
    assert "3 处错误" in lines[0]
    for field in ("revenue_yuan", "headcount", "turnover"):
        assert sum(line.strip().startswith(f"figures.{field}") for line in lines) == 1, error
    assert "单位" in error


def test_a_review_of_a_year_not_yet_ended_is_refused(cli: Cli, space: str) -> None:
    """On 31 December 2024 the 2024 review used to open (due within days, before the year's
    figures existed): a year is reviewed in the January after it, by one firm or the cycle."""
    rng = random.Random(33)
    t = _admitted(cli, rng)
    cli.ok("sign", str(t), *SIGN)
    cli.at("2024-12-31T16:00+08:00")
    for args in (["review", "open", str(t)], ["cycle", "open", "MC3"]):
        line = cli.refused(2, *args, "--period", "2024")
        assert "period: 2024 年度尚未结束" in line and "2024 has not ended" in line, line
    cli.at("2025-01-02T09:00+08:00")
    cli.ok("review", "open", str(t), "--period", "2024")


# ---- item 9: every command's names and texts, whichever command carries them -----------------
def _screened(cli: Cli) -> int:
    from entrypoints.demo_data import good_profile

    uscc = make_uscc(random.Random(31))
    cli.ok("firm", "add", "--name", "峰际生物", "--uscc", uscc, "--industry", "pharma")
    profile = cli.file("p.json", good_profile(date(2024, 3, 4)))
    tenancy = int(
        cli.json("apply", uscc, "MC3", "--area", "120", "--profile", profile)["tenancy_id"]
    )
    cli.ok("screen", str(tenancy))
    return tenancy


@pytest.mark.parametrize(
    ("reviewer", "message"),
    [
        ("王\x07", "reviewer: 不得含控制字符或换行"),
        ("专家😀", "reviewer: 不得含表情符号"),
        ("   ", "reviewer: 不得为空"),
        ("专" * 101, "reviewer: 不得超过 100 个字符"),
    ],
)
def test_a_reviewer_name_is_checked(cli: Cli, space: str, reviewer: str, message: str) -> None:
    t = _screened(cli)
    line = cli.refused(2, "score", str(t), "--reviewer", reviewer, "--score", "team=20")
    assert message in line
    assert cli.json("show", str(t))["state"] == "evaluating"  # nothing written


def test_a_reviewer_name_is_stored_trimmed(cli: Cli, space: str) -> None:
    t = _screened(cli)
    scores = (
        "technology_ip=20",
        "team=20",
        "industry_fit=16",
        "market_business_model=12",
        "growth_financing=8",
        "jobs=4",
    )
    cli.ok("score", str(t), "--reviewer", "  王专家 ", *(a for s in scores for a in ("--score", s)))
    timeline = json.dumps(cli.json("timeline", str(t)), ensure_ascii=False)
    assert '"王专家"' in timeline and "  王专家 " not in timeline


def test_a_reason_items_or_actor_over_its_limit_is_refused(cli: Cli, space: str) -> None:
    t = _screened(cli)
    items = cli.refused(2, "request-info", str(t), "--items", "缺" * 20_001)
    assert "items: 不得超过 20,000 个字符" in items
    actor = cli.refused(2, "request-info", str(t), "--items", "营业执照", "--actor", "张" * 101)
    assert "actor: 不得超过" in actor and "个字符" in actor  # refused, never cut short
    assert cli.json("show", str(t))["state"] == "evaluating"


def test_a_refused_value_is_said_in_chinese_first_with_the_english_after(
    cli: Cli, space: str
) -> None:
    """The operator typed a year outside the review periods: the line said only "period: must
    be a year between 2000 and 2024"; now the rule comes in Chinese, then in English, once."""
    t = _admitted(cli, random.Random(13))
    cli.ok("sign", str(t), *SIGN)
    line = cli.refused(2, "review", "open", str(t), "--period", "1999")
    assert line == (
        "错误 [输入无效 / invalid input] (exit 2): period: 须为 2000 至 2024 之间的年份 / "
        "must be a year between 2000 and 2024 (got 1999)"
    )
