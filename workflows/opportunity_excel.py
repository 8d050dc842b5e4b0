"""Workbooks of a published opportunity list and of the district view (openpyxl, through
:func:`workflows.excel.ledger_book`): Chinese headers, numbers as numbers, 是/否 for flags,
nothing for a missing value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from workflows.excel import ledger_book
from workflows.ledgers import Column, Ledger

LIST_COLUMNS = (
    Column("n", "序号", "int"),
    Column("kind_zh", "类别"),
    Column("space", "空间"),
    Column("firm", "发布单位"),
    Column("title", "名称"),
    Column("field_zh", "领域"),
    Column("description", "内容简介"),
    Column("sought", "需求 / 可提供"),
    Column("contact", "联系人"),
    Column("phone", "联系电话"),
    Column("valid_until", "有效期至", "date"),
)

DISTRICT_COLUMNS = (
    Column("year", "年度", "int"),
    Column("space", "空间代码"),
    Column("name", "空间名称"),
    Column("parcels", "地块数", "int"),
    Column("land_uses", "用地性质"),
    Column("land_area_m2", "用地面积（㎡）", "number"),
    Column("land_area_mu", "用地面积（亩）", "number"),
    Column("floor_area_m2", "建筑面积（㎡）", "number"),
    Column("plot_ratio", "容积率", "number"),
    Column("lettable_area_m2", "可租面积（㎡）", "number"),
    Column("leased_area_m2", "已租面积（㎡）", "number"),
    Column("occupancy", "出租率", "number"),
    Column("tax_yuan", "税收（元）", "money"),
    Column("revenue_yuan", "营业收入（元）", "money"),
    Column("tax_per_m2", "单位租赁面积税收（元/㎡）", "money"),
    Column("revenue_per_m2", "单位租赁面积营收（元/㎡）", "money"),
    Column("tax_per_mu", "亩均税收（元/亩）", "money"),
    Column("revenue_per_mu", "亩均营收（元/亩）", "money"),
    Column("admitted", "新入驻", "int"),
    Column("graduated", "毕业", "int"),
    Column("exit_term_expiry", "期满退出", "int"),
    Column("exit_voluntary", "自愿退出", "int"),
    Column("exit_forced", "强制退出", "int"),
    Column("released_units", "腾退单元", "int"),
    Column("relet_units", "已再出租单元", "int"),
    Column("avg_days_to_relet", "平均再出租天数", "number"),
    Column("grade_A", "考核A", "int"),
    Column("grade_B", "考核B", "int"),
    Column("grade_C", "考核C", "int"),
    Column("grade_D", "考核D", "int"),
)


def _decimal(value: Any, places: str = "0.01") -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(places))


def list_book(content: dict[str, Any]) -> Workbook:
    """A published list as one sheet, its items numbered as published."""
    rows = []
    for item in content["items"]:
        contact = item["contact"] or {}
        rows.append(
            {
                **item,
                "space": item["space"]["name"],
                "firm": item["firm"] or item["space"]["name"],
                "contact": contact.get("name"),
                "phone": contact.get("phone"),
                "valid_until": _day(item["valid_until"]),
            }
        )
    title = f"第{content['number']}期城市机会清单"
    return ledger_book(Ledger("opportunity_list", title, LIST_COLUMNS, rows))


def _day(text: str) -> date:
    return date.fromisoformat(text)


def district_row(s: dict[str, Any]) -> dict[str, Any]:
    """One space (or the total) of the district view as a sheet row."""
    row = dict(s)
    row["land_uses"] = "、".join(s["land_uses"])
    for key in ("land_area_m2", "land_area_mu", "floor_area_m2", "plot_ratio"):
        row[key] = _decimal(s[key])
    for key in ("lettable_area_m2", "leased_area_m2", "avg_days_to_relet"):
        row[key] = _decimal(s[key], "0.1" if key == "avg_days_to_relet" else "0.01")
    row["occupancy"] = _decimal(s["occupancy"], "0.0001")
    for key in ("tax_yuan", "revenue_yuan", "tax_per_m2", "revenue_per_m2", "tax_per_mu"):
        row[key] = _decimal(s[key])
    row["revenue_per_mu"] = _decimal(s["revenue_per_mu"])
    for kind in ("term_expiry", "voluntary", "forced"):
        row[f"exit_{kind}"] = s["exits"][kind]
    for grade, n in s["grades"].items():
        row[f"grade_{grade}"] = n
    return row


def district_book(views: list[dict[str, Any]]) -> Workbook:
    """The district view of one or more years as one sheet: for each year (oldest first) a
    row per space, then the total."""
    rows = [
        {**district_row(s), "year": view["year"]}
        for view in sorted(views, key=lambda v: v["year"])
        for s in [*view["spaces"], view["total"]]
    ]
    years = sorted({v["year"] for v in views})
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
    return ledger_book(Ledger("district", f"{span}年度区县视图", DISTRICT_COLUMNS, rows))
