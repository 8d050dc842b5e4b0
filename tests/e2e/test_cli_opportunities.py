"""``innospace opportunity …``, ``innospace land …`` and ``innospace report district`` end to
end, on SQLite and PostgreSQL: a space's own need and supply through review to a published
list (shown grouped by kind, exported to Excel, verified), land parcels, the district view as
a table, JSON and a workbook; refusals exit with their code and write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e.cli_support import Cli
from openpyxl import load_workbook
from sqlalchemy import create_engine, select

from db.engine import normalize_url
from db.tables import ALL_TABLES
from lifecycle.opportunities import content_hash


def submit(cli: Cli, kind: str, title: str, *extra: str) -> int:
    done = cli.json(
        "opportunity",
        "submit",
        "MC3",
        "--kind",
        kind,
        "--title",
        title,
        "--description",
        f"{title}：成都医学城三医创新中心公共平台的示例数据，用于演示。",
        "--field",
        "biomedicine",
        "--sought",
        "医院临床合作、检测服务",
        "--contact-name",
        "王老师",
        "--valid-until",
        "2024-12-31",
        *extra,
    )
    return int(done["entry_id"])


def test_entries_go_through_review_to_a_published_list(cli: Cli, tmp_path: Path) -> None:
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    need = submit(cli, "need", "寻求医院共建临床研究中心")
    supply = submit(
        cli, "新产品", "微流控 POCT 检测平台", "--contact-phone", "028-1", "--contact-public"
    )
    out = cli.ok("opportunity", "entries")
    assert "新场景 寻求医院共建临床研究中心" in out and "待审核" in out and "None" not in out
    cli.refused(2, "opportunity", "return", str(need), "--reason", "")
    cli.ok("opportunity", "return", str(need), "--reason", "请补充合作方式")
    cli.ok("opportunity", "edit", str(need), "--sought", "三甲医院临床合作、检测服务")
    brochure, fake = tmp_path / "平台手册.pdf", tmp_path / "手册.pdf"
    brochure.write_bytes(b"%PDF-1.7 brochure (sample data)")
    fake.write_bytes(b"MZ\x90\x00 not a pdf")
    said = cli.refused(2, "opportunity", "attach", str(need), str(fake))
    assert "attachments" in said and "不是 PDF、PNG 或 JPEG" in said
    assert "1 个附件" in cli.ok("opportunity", "attach", str(need), str(brochure))
    assert "附件 / file: 平台手册.pdf" in cli.ok("opportunity", "show", str(need))
    for e in (need, supply):
        assert "已采纳" in cli.ok("opportunity", "accept", str(e))
    shown = cli.ok("opportunity", "show", str(need))
    assert "resubmit" in shown and "不公开" in shown and "None" not in shown

    suggested = cli.ok("opportunity", "suggest", str(need))
    assert f"#{supply}" in suggested and "共同词" in suggested

    cli.ok("opportunity", "list", "create", "--title", "温江区第5期城市机会清单", "--number", "5")
    cli.refused(2, "opportunity", "list", "publish", "5")  # empty: refused
    cli.ok("opportunity", "list", "arrange", "5", str(need), str(supply))
    cli.refused(3, "opportunity", "list", "export", "5", "--out", str(tmp_path / "draft.xlsx"))
    published = cli.ok("opportunity", "list", "publish", "5")
    assert "SHA-256" in published
    cli.refused(4, "opportunity", "list", "arrange", "5", str(need))
    listing = cli.ok("opportunity", "list", "show", "5")
    assert "新场景 / needs（1）" in listing and "新产品 / supplies（1）" in listing
    assert listing.splitlines()[0].endswith("· 已发布 / published"), listing  # not "· published"
    assert "完整" in cli.ok("opportunity", "list", "verify", "5")

    path = tmp_path / "list5.xlsx"
    cli.ok("opportunity", "list", "export", "5", "--out", str(path))
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("序号", "类别", "空间", "发布单位", "名称")
    assert [r[4] for r in rows[1:]] == ["寻求医院共建临床研究中心", "微流控 POCT 检测平台"]
    assert rows[1][8] is None and rows[2][8] == "王老师"  # only the public contact

    intro = cli.json("opportunity", "introduce", str(need), str(supply))["introduction_id"]
    cli.ok("opportunity", "outcome", str(intro), "deal")
    cli.refused(4, "opportunity", "outcome", str(intro), "closed")
    assert "完整" in cli.ok("opportunity", "verify")
    report = cli.json("opportunity", "verify")
    assert report["ok"] and report["chains"] == 4 and report["events"] == 16  # 1 attach
    audited = cli.json("audit", "verify")
    assert audited["ok"] and audited["opportunities"]["chains"] == 4
    assert "机会清单审计链完整" in cli.ok("audit", "verify")


@pytest.mark.parametrize("edit", ["content", "content_hash", "both"])
def test_a_tampered_published_list_fails_audit_verify(cli: Cli, edit: str) -> None:
    """Someone with write access edits the frozen list (its content, its stored hash, or
    both consistently): ``audit verify`` exits 8 naming the list, the tenancies' chains
    reported intact."""
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    entry = submit(cli, "need", "寻求医院共建临床研究中心")
    cli.ok("opportunity", "accept", str(entry))
    cli.ok("opportunity", "list", "create", "--title", "温江区第5期城市机会清单", "--number", "5")
    cli.ok("opportunity", "list", "arrange", "5", str(entry))
    cli.ok("opportunity", "list", "publish", "5")
    assert cli.json("audit", "verify")["ok"]

    lists = ALL_TABLES.tables["opportunity_lists"]
    engine = create_engine(normalize_url(cli.db))
    with engine.begin() as conn:
        content = conn.execute(select(lists.c.content)).scalar_one()
        content["items"][0]["title"] = "被篡改的标题"
        forged = {
            "content": {"content": content},
            "content_hash": {"content_hash": "0" * 64},
            "both": {"content": content, "content_hash": content_hash(content)},
        }[edit]
        conn.execute(lists.update().values(**forged))
    engine.dispose()

    code, out, err = cli("audit", "verify")
    assert code == 8, err
    assert "第5期城市机会清单的内容与发布时记录的哈希不符" in out
    assert "list 5: content does not match its published hash" in out
    report = json.loads(cli("audit", "verify", "--json")[1])
    assert not report["ok"] and len(report["opportunities"]["problems"]) == 1
    assert report["problems"] == []  # the tenancies' chains are intact


def test_land_and_the_district_report(cli: Cli, tmp_path: Path) -> None:
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    cli.ok("unit", "add", "MC3", "A101", "--kind", "office", "--area", "300")
    cli.ok(
        "land",
        "add",
        "MC3",
        "WJ-2020-01",
        "--use",
        "M0",
        "--land-area",
        "13333.4",
        "--floor-area",
        "40000",
    )
    cli.refused(
        2,
        "land",
        "add",
        "MC3",
        "WJ-2020-02",
        "--use",
        "Q7",
        "--land-area",
        "1",
        "--floor-area",
        "1",
    )
    cli.refused(
        2,
        "land",
        "add",
        "MC3",
        "WJ-2020-02",
        "--use",
        "M1",
        "--land-area",
        "-5",
        "--floor-area",
        "1",
    )
    assert "20.00 亩" in cli.ok("land", "list")
    assert "plot_ratio" in cli.ok("land", "edit", "WJ-2020-01", "--floor-area", "50000")

    table = cli.ok("report", "district", "--year", "2024")
    assert "[MC3] 成都医学城三医创新中心" in table and "20.00 亩" in table
    assert "None" not in table and "True" not in table
    view = json.loads(cli.ok("report", "district", "--year", "2024", "--format", "json"))
    assert view["total"]["lettable_area_m2"] == 300.0 and view["spaces"][0]["plot_ratio"] == 3.75
    cli.refused(2, "report", "district", "--year", "2024", "--format", "xlsx")
    path = tmp_path / "district.xlsx"
    cli.ok("report", "district", "--year", "2024", "--format", "xlsx", "--out", str(path))
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("年度", "空间代码", "空间名称")
    assert [r[:2] for r in rows[1:]] == [(2024, "MC3"), (2024, "*")]
    trend = json.loads(
        cli.ok("report", "district", "--year", "2023", "--to-year", "2024", "--format", "json")
    )
    assert [v["year"] for v in trend["years"]] == [2023, 2024]
    cli.refused(2, "report", "district", "--year", "2024", "--to-year", "2023")
