"""Forms and Excel through the command line: templates, the shipped examples, a cohort's
figures imported from a sheet (all or nothing, or --partial) and the ledgers exported."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from e2e.cli_support import Cli, snapshot
from e2e.test_cli_lifecycle import AFTER_PUBLICITY, admitted_firm
from openpyxl import Workbook, load_workbook
from sqlalchemy import create_engine, text

from db.engine import normalize_url
from entrypoints.demo_data import figures
from lifecycle.rulebook import ApplicationProfile, validate_figures
from workflows import forms, queries
from workflows.identity import cli_actor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REVIEW_DAY = "2025-01-02T09:00+08:00"


@pytest.fixture
def space(cli: Cli) -> str:
    """The park of the lifecycle tests: space MC3 with units A-101, A-102 and L-201."""
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    for code, kind, area in (("A-101", "office", "120"), ("A-102", "office", "120"),
                             ("L-201", "wet_lab", "260")):  # fmt: skip
        cli.ok("unit", "add", "MC3", code, "--kind", kind, "--area", area)
    return "MC3"


def test_forms_write_every_field_with_label_unit_and_rule(cli: Cli, tmp_path: Path) -> None:
    rb = queries.shipped_rulebook()
    example = json.loads(cli.ok("forms", "figures"))
    assert set(example) == set(rb.metrics) - set(rb.facts)  # facts are counted, not filled
    assert forms.check_figures(rb, example) == []
    described = json.loads(cli.ok("forms", "figures", "--describe", "--period", "2024"))
    assert described["period"] == 2024
    revenue = next(f for f in described["fields"] if f["field"] == "revenue_yuan")
    assert revenue["label_zh"] == "营业收入" and revenue["unit_zh"] == "元"
    assert "必填" in revenue["rule_zh"] and revenue["required"] is True

    out = tmp_path / "profile.json"
    cli.ok("forms", "profile", "--out", str(out))
    profile = json.loads(out.read_text("utf-8"))
    fields = json.loads((tmp_path / "profile.fields.json").read_text("utf-8"))["fields"]
    assert {f["field"] for f in fields} == set(ApplicationProfile.model_fields)
    assert all(f["label_zh"] and f["rule_zh"] and f["unit_zh"] for f in fields)
    assert forms.check_profile(rb, profile) == []

    for form in ("profile", "figures"):
        path = tmp_path / f"{form}.xlsx"
        cli.ok("forms", form, "--format", "xlsx", "--out", str(path))
        sheet = load_workbook(path).worksheets[0]
        codes = [c.value for c in sheet[1]]
        labels = [str(c.value) for c in sheet[2]]
        specs = forms.fields(rb, form)  # type: ignore[arg-type]
        assert [c for c in codes if c not in ("uscc", "name")] == [
            s.code for s in specs if s.code not in ("uscc", "name")
        ]
        assert all(sheet.cell(row=1, column=i + 1).comment is not None for i in range(len(codes)))
        assert sheet.data_validations.dataValidation  # 是/否 lists, numbers ≥ 0, dates
        if form == "figures":
            assert labels[codes.index("revenue_yuan")] == "营业收入（元） *"
    assert cli("forms", "figures", "--format", "xlsx")[0] == 2  # xlsx needs --out
    assert cli("forms", "figures", "--format", "csv")[0] == 2


def test_the_shipped_examples_validate_and_match_the_code() -> None:
    rb = queries.shipped_rulebook()
    for form in ("profile", "figures"):
        shipped = json.loads((EXAMPLES / f"{form}.json").read_text("utf-8"))
        assert shipped == forms.example(rb, form)  # type: ignore[arg-type]
        described = json.loads((EXAMPLES / f"{form}.fields.json").read_text("utf-8"))
        generated = forms.description(rb, form)  # type: ignore[arg-type]
        assert described["fields"] == generated["fields"]
    profile = json.loads((EXAMPLES / "profile.json").read_text("utf-8"))
    assert forms.check_profile(rb, profile) == []
    ApplicationProfile.model_validate({**forms.EXAMPLE_FIRM, **profile})
    figures_ = json.loads((EXAMPLES / "figures.json").read_text("utf-8"))
    assert forms.check_figures(rb, figures_) == []
    validate_figures(rb, figures_)


def _cohort(cli: Cli, n: int = 3) -> list[tuple[str, int]]:
    """``n`` resident firms with their 2024 review open (as of REVIEW_DAY)."""
    rng = random.Random(7)
    firms = [admitted_firm(cli, rng) for _ in range(n)]
    cli.at(AFTER_PUBLICITY)
    cli.ok("tick")
    for unit, (_, t) in zip(("A-101", "A-102", "L-201"), firms, strict=False):
        cli.ok("sign", str(t), "--unit", unit, "--from", "2024-04-01", "--to", "2027-03-31")
    cli.at(REVIEW_DAY)
    assert cli.json("cycle", "open", "MC3", "--period", "2024")["opened"] == n
    return firms


def _filled_sheet(cli: Cli, tmp_path: Path, bad: dict[tuple[int, str], Any]) -> Path:
    """The template of the cohort (one row per firm), filled with good figures, then the
    ``bad`` cells (row, field) overwritten."""
    path = tmp_path / "figures.xlsx"
    cli.ok(
        "forms", "figures", "--space", "MC3", "--period", "2024", "--format", "xlsx",
        "--out", str(path),
    )  # fmt: skip
    book = load_workbook(path)
    sheet = book["考核数据"]
    codes = {c.value: c.column for c in sheet[1]}
    rng = random.Random(3)
    row = 3
    while sheet.cell(row=row, column=codes["uscc"]).value:
        for name, value in figures("steady", year=2024, rng=rng).items():
            if isinstance(value, bool):
                value = "是" if value else "否"
            sheet.cell(row=row, column=codes[name], value=value)
        row += 1
    for (r, name), value in bad.items():
        sheet.cell(row=r, column=codes[name], value=value)
    book.save(path)
    return path


def _statuses(cli: Cli, firms: list[tuple[str, int]]) -> dict[int, str]:
    return {t: cli.json("show", str(t))["reviews"][0]["status"] for _, t in firms}


def test_a_good_sheet_submits_every_firms_figures(cli: Cli, space: str, tmp_path: Path) -> None:
    firms = _cohort(cli)
    path = _filled_sheet(cli, tmp_path, {})
    result = cli.json("review", "import", "MC3", str(path), "--period", "2024", "--actor", "李会计")
    assert [s["tenancy_id"] for s in result["stored"]] == [t for _, t in firms]
    assert result["problems"] == []
    assert set(_statuses(cli, firms).values()) == {"submitted"}
    for _, t in firms:
        events = [e for e in cli.json("timeline", str(t)) if e["trigger"] == "submit_review"]
        assert len(events) == 1 and events[0]["actor"] == cli_actor("李会计")
    shown = cli.json("show", str(firms[0][1]))["reviews"][0]
    assert shown["status"] == "submitted"
    assert cli("audit", "verify")[0] == 0


def test_a_firm_that_has_not_reported_is_skipped_not_an_error(
    cli: Cli, space: str, tmp_path: Path
) -> None:
    """The template lists the whole cohort: a row left blank (the firm has not reported yet)
    is skipped and can be imported later; a row half filled is still an error."""
    firms = _cohort(cli)
    half = _filled_sheet(cli, tmp_path, {(4, "revenue_yuan"): " "})
    refused = cli.refused(2, "review", "import", "MC3", str(half), "--period", "2024")
    assert "revenue_yuan" in refused  # a row half filled is an error, not a skip
    path = _filled_sheet(cli, tmp_path, {})
    book = load_workbook(path)
    sheet = book["考核数据"]
    for cell in sheet[4]:  # the second firm's row: every figure blank, its code and name kept
        if sheet.cell(row=1, column=cell.column).value not in ("uscc", "name"):
            cell.value = None
    book.save(path)
    code, out, err = cli("review", "import", "MC3", str(path), "--period", "2024")
    assert code == 0, err
    assert "跳过 1 家（第 4 行）" in out and "1 blank row(s) skipped" in out
    assert _statuses(cli, firms) == {
        firms[0][1]: "submitted",
        firms[1][1]: "open",
        firms[2][1]: "submitted",
    }


def test_an_import_never_replaces_figures_a_firm_has_submitted(
    cli: Cli, space: str, tmp_path: Path
) -> None:
    """The firm of the first row submitted its own figures; the operator's sheet (filled for
    everyone) fills in the others and leaves the firm's figures, and its filing time, as
    they were."""
    firms = _cohort(cli)
    own = figures("strong", year=2024, rng=random.Random(11))
    first = firms[0][1]
    filed = tmp_path / "own.json"
    filed.write_text(json.dumps(own), encoding="utf-8")
    cli.ok("review", "submit", str(first), "--period", "2024", "--figures", str(filed))
    before = cli.json("show", str(first))["reviews"][0]
    result = cli.json(
        "review", "import", "MC3", str(_filled_sheet(cli, tmp_path, {})), "--period", "2024"
    )
    assert [k["tenancy_id"] for k in result["kept"]] == [first]
    assert [s["tenancy_id"] for s in result["stored"]] == [t for _, t in firms[1:]]
    after = cli.json("show", str(first))["reviews"][0]
    assert after == before
    events = [e for e in cli.json("timeline", str(first)) if e["trigger"] == "submit_review"]
    assert len(events) == 1
    code, out, _ = cli("review", "import", "MC3", str(_filled_sheet(cli, tmp_path, {})),
                       "--period", "2024")  # fmt: skip
    assert code == 0 and "导入 0 家" in out and "保留其已报送的数据 3 家" in out


def test_a_sheet_with_three_bad_cells_reports_all_three_and_stores_nothing(
    cli: Cli, space: str, tmp_path: Path
) -> None:
    firms = _cohort(cli)
    bad = {(3, "revenue_yuan"): "一百万", (4, "headcount"): -3, (4, "rent_on_time"): "也许"}
    path = _filled_sheet(cli, tmp_path, bad)
    before = snapshot(cli.db)
    code, out, err = cli("review", "import", "MC3", str(path), "--period", "2024")
    assert code == 2, err
    assert snapshot(cli.db) == before
    assert "3 处错误" in err and "nothing stored" in err
    problems = [line for line in err.splitlines() if line.startswith("  第 ")]
    assert len(problems) == 3, err
    assert any("第 3 行" in p and "revenue_yuan" in p and "元" in p for p in problems)
    assert any("第 4 行" in p and "headcount" in p and "不得为负数" in p for p in problems)
    assert any("第 4 行" in p and "rent_on_time" in p and "是" in p for p in problems)
    assert "None" not in err and "True" not in err
    assert set(_statuses(cli, firms).values()) == {"open"}

    # --partial: exactly the good row (row 5) is stored.
    result = cli.json("review", "import", "MC3", str(path), "--period", "2024", "--partial")
    assert [s["row"] for s in result["stored"]] == [5]
    assert len(result["problems"]) == 3
    assert _statuses(cli, firms) == {
        firms[0][1]: "open",
        firms[1][1]: "open",
        firms[2][1]: "submitted",
    }
    text = cli.ok("review", "import", "MC3", str(path), "--period", "2024", "--partial")
    assert "第 3 行" in text and "None" not in text


def test_a_fraction_of_a_person_is_refused_in_a_sheet_and_in_a_figures_file(
    cli: Cli, space: str, tmp_path: Path
) -> None:
    """Counts of people and patents are whole numbers: the template says so (its validation is
    "whole"), and 2.5 people in a sheet or 1.5 R&D staff in a JSON file are refused, named."""
    firms = _cohort(cli)
    path = _filled_sheet(cli, tmp_path, {(3, "headcount"): 2.5})
    sheet = load_workbook(path)["考核数据"]
    codes = {c.value: c.column_letter for c in sheet[1]}
    kinds = {
        str(rule.sqref).split(":")[0].rstrip("0123456789"): rule.type
        for rule in sheet.data_validations.dataValidation
    }
    assert kinds[codes["headcount"]] == kinds[codes["new_ip_count"]] == "whole"
    assert kinds[codes["revenue_yuan"]] == "decimal"
    before = snapshot(cli.db)
    code, _, err = cli("review", "import", "MC3", str(path), "--period", "2024")
    assert code == 2, err
    assert snapshot(cli.db) == before
    (problem,) = [line for line in err.splitlines() if line.startswith("  第 ")]
    assert "第 3 行" in problem and "headcount" in problem and "须为整数" in problem, problem
    data = figures("steady", year=2024, rng=random.Random(3)) | {"rd_staff": 1.5}
    refused = cli.refused(
        2, "review", "submit", str(firms[0][1]), "--period", "2024",
        "--figures", cli.file("f.json", data),
    )  # fmt: skip
    assert "rd_staff" in refused and "须为整数" in refused, refused
    assert set(_statuses(cli, firms).values()) == {"open"}


def test_a_sheet_naming_unknown_firms_and_columns_is_refused(
    cli: Cli, space: str, tmp_path: Path
) -> None:
    _cohort(cli, 1)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["uscc", "revenue_yuan", "turnover"])
    sheet.append(["统一社会信用代码", "营业收入（元）", "?"])
    sheet.append(["91510115MA6CB1XK15", 100, 1])
    path = tmp_path / "odd.xlsx"
    book.save(path)
    code, _out, err = cli("review", "import", "MC3", str(path), "--period", "2024")
    assert code == 2
    assert "turnover" in err and "无在驻记录" in err and "tax_paid_yuan" in err
    not_xlsx = tmp_path / "no.xlsx"
    not_xlsx.write_text("plain text", encoding="utf-8")
    assert "xlsx" in cli.refused(2, "review", "import", "MC3", str(not_xlsx), "--period", "2024")


def _stored_figures(db: str) -> dict[int, dict[str, Any]]:
    engine = create_engine(normalize_url(db))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT tenancy_id, figures FROM reviews")).all()
    engine.dispose()
    return {t: f if isinstance(f, dict) else json.loads(f) for t, f in rows}


def _sheet_rows(path: Path) -> tuple[list[str], list[list[Any]]]:
    sheet = load_workbook(path).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [str(h) for h in rows[0]], rows[1:]


def test_export_gives_ledgers_that_match_the_database(cli: Cli, space: str, tmp_path: Path) -> None:
    firms = _cohort(cli)
    cli.ok("review", "import", "MC3", str(_filled_sheet(cli, tmp_path, {})), "--period", "2024")
    cli.ok("review", "decide", str(firms[0][1]), "--period", "2024")
    t = firms[0][1]
    cli.ok("exit", "request", str(t), "--leave-on", "2025-04-01", "--reason", "迁往自有厂房")
    cli.ok("exit", "begin", str(t), "--type", "voluntary", "--reason", "迁往自有厂房")
    cli.ok(
        "exit", "handover", str(t), "--check", "meters", "--check", "keys",
        "--check", "access_cards", "--check", "premises_restored",
    )  # fmt: skip

    out = tmp_path / "tenancies.xlsx"
    cli.ok("export", "tenancies", "MC3", "--format", "xlsx", "--out", str(out))
    headers, rows = _sheet_rows(out)
    assert headers[:6] == [
        "入驻编号",
        "企业名称",
        "统一社会信用代码",
        "所属行业",
        "入驻类别",
        "状态",
    ]
    listed = cli.json("list", "--space", "MC3")
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [
        (x["id"], x["firm"], x["uscc"], x["state_zh"]) for x in listed
    ]
    by_id = {r[0]: dict(zip(headers, r, strict=True)) for r in rows}
    shown = cli.json("show", str(firms[1][1]))
    assert by_id[firms[1][1]]["租期开始"].date() == date.fromisoformat(shown["term_start"])
    assert by_id[firms[1][1]]["租用面积（平方米）"] == 120
    sheet = load_workbook(out).worksheets[0]
    assert sheet.cell(row=2, column=headers.index("租期开始") + 1).number_format == "yyyy-mm-dd"

    out = tmp_path / "reviews.xlsx"
    cli.ok("export", "reviews", "MC3", "--out", str(out))
    headers, rows = _sheet_rows(out)
    assert len(rows) == 3 and "营业收入（元）" in headers
    stored = _stored_figures(cli.db)
    for row in rows:
        record = dict(zip(headers, row, strict=True))
        review = cli.json("show", str(record["入驻编号"]))["reviews"][0]
        assert record["考核年度"] == review["period"] == 2024
        figures_ = stored[record["入驻编号"]]
        assert record["营业收入（元）"] == float(figures_["revenue_yuan"])
        assert record["从业人员"] == float(figures_["headcount"])
        assert record["按时缴纳租金及费用"] == ("是" if figures_["rent_on_time"] else "否")
        assert record["考核状态"] == {"submitted": "已报送", "decided": "已评定"}[review["status"]]
        assert record["等级"] == review["grade"]
        assert all(v not in ("None", "True", "False") for v in row)
    sheet = load_workbook(out).worksheets[0]
    money = sheet.cell(row=2, column=headers.index("营业收入（元）") + 1)
    assert isinstance(money.value, (int, float)) and money.number_format == "#,##0.00"

    out = tmp_path / "exits.xlsx"
    cli.ok("export", "exits", "MC3", "--out", str(out))
    headers, rows = _sheet_rows(out)
    assert len(rows) == 1
    record = dict(zip(headers, rows[0], strict=True))
    case = cli.json("show", str(t))["exit_cases"][0]
    assert record["入驻编号"] == t and record["退出类型"] == "自愿退出"
    assert record["应退金额（元）"] == float(case["settlement"]["refund_yuan"])
    assert record["办理状态"] == "已办结"
    assert cli("export", "exits", "NOPE", "--out", str(out))[0] == 3


@pytest.mark.parametrize("form", ["profile", "figures"])
def test_the_examples_are_accepted_by_the_commands_they_are_for(
    cli: Cli, space: str, form: str
) -> None:
    if form == "profile":
        cli.ok(
            "firm", "add", "--name", forms.EXAMPLE_FIRM["name"], "--uscc",
            forms.EXAMPLE_FIRM["uscc"], "--industry", "pharma",
        )  # fmt: skip
        applied = cli.json(
            "apply", forms.EXAMPLE_FIRM["uscc"], "MC3", "--area", "120",
            "--profile", str(EXAMPLES / "profile.json"),
        )  # fmt: skip
        assert applied["to"] == "applied"
    else:
        (_, t), *_ = _cohort(cli, 1)
        cli.ok(
            "review",
            "submit",
            str(t),
            "--period",
            "2024",
            "--figures",
            str(EXAMPLES / "figures.json"),
        )
        assert cli.json("show", str(t))["reviews"][0]["status"] == "submitted"
