"""Named queries for the ledgers operators keep (台账): tenancies, reviews and exits of a space,
as typed rows (dates as dates, amounts as Decimals) under Chinese column headers, and the
cohort a figures sheet is pre-filled with. ``workflows.excel`` writes them to a workbook.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from db.tables import Allocation, ExitCase, Firm, Review, Tenancy, Unit
from lifecycle.rulebook import Rulebook
from lifecycle.table import STATE_LABELS
from workflows import rules
from workflows.core import Work

ColumnKind = Literal["text", "int", "date", "money", "number", "bool"]
LedgerName = Literal["tenancies", "reviews", "exits"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")

REVIEW_STATUS = {"open": "待报送", "submitted": "已报送", "decided": "已评定"}
CONSEQUENCES = {
    "none": "无",
    "renewal_priority": "续租优先",
    "rectification": "限期整改",
    "forced_exit": "清退",
}
EXIT_TYPES = {
    "graduation": "毕业",
    "term_expiry": "期满退出",
    "voluntary": "自愿退出",
    "forced": "强制退出",
}
EXIT_STATUS = {"open": "办理中", "withdrawn": "已撤销", "closed": "已办结"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: ColumnKind = "text"


@dataclass(frozen=True)
class Ledger:
    name: str
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]


def local_date(value: datetime | date | None) -> date | None:
    """An instant as its date in Asia/Shanghai (a date stays as it is)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
        return aware.astimezone(SHANGHAI).date()
    return value


def money(value: object) -> Decimal | None:
    """An amount rounded to fen (2 decimals); None when there is none."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(CENT)
    except InvalidOperation:
        return None


def _members(w: Work, space: str) -> tuple[Rulebook, list[tuple[Tenancy, Firm]]]:
    row = w.space_by_code(space)
    rb = rules.for_space(w, row)
    members = w.session.exec(
        select(Tenancy, Firm)
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .where(Tenancy.space_id == row.id)
        .order_by(col(Tenancy.id))
    ).all()
    return rb, list(members)


def tenancy_ledger(w: Work, *, space: str) -> Ledger:
    """入驻台账: every tenancy of the space, its state in Chinese, units, area and term."""
    rb, members = _members(w, space)
    industries = {i.code: i.label_zh for i in rb.industries}
    units: dict[int, list[str]] = defaultdict(list)
    area: dict[int, Decimal] = defaultdict(Decimal)
    ids = [t.id for t, _ in members]
    for alloc, unit in w.session.exec(
        select(Allocation, Unit)
        .join(Unit, col(Unit.id) == col(Allocation.unit_id))
        .where(col(Allocation.tenancy_id).in_(ids), col(Allocation.end_on).is_(None))
        .order_by(col(Unit.code))
    ).all():
        units[alloc.tenancy_id].append(unit.code)
        area[alloc.tenancy_id] += Decimal(str(alloc.area_m2))
    columns = (
        Column("id", "入驻编号", "int"),
        Column("firm", "企业名称"),
        Column("uscc", "统一社会信用代码"),
        Column("industry", "所属行业"),
        Column("track", "入驻类别"),
        Column("state", "状态"),
        Column("units", "房间"),
        Column("area_m2", "租用面积（平方米）", "number"),
        Column("term_start", "租期开始", "date"),
        Column("term_end", "租期结束", "date"),
        Column("score", "入驻评审得分", "number"),
        Column("applied_on", "申请日期", "date"),
    )
    rows = []
    for t, firm in members:
        assert t.id is not None
        track = rb.tracks.get(t.track)
        rows.append(
            {
                "id": t.id,
                "firm": firm.name,
                "uscc": firm.uscc,
                "industry": industries.get(firm.industry, firm.industry),
                "track": track.label_zh if track else t.track,
                "state": STATE_LABELS[t.state][0],
                "units": "、".join(units.get(t.id, [])) or None,
                "area_m2": area[t.id].quantize(CENT) if t.id in area else None,
                "term_start": t.term_start,
                "term_end": t.term_end,
                "score": money(t.score),
                "applied_on": local_date(t.created_at),
            }
        )
    return Ledger("tenancies", "入驻台账", columns, rows)


def review_ledger(w: Work, *, space: str, period: int | None = None) -> Ledger:
    """考核台账: every review of the space (or of one year), grade, result and the figures."""
    rb, members = _members(w, space)
    firms = {t.id: firm for t, firm in members}
    stmt = select(Review).where(col(Review.tenancy_id).in_(list(firms)))
    if period is not None:
        stmt = stmt.where(Review.period == period)
    reviews = w.session.exec(stmt.order_by(col(Review.period), col(Review.tenancy_id))).all()
    metric_columns = tuple(
        Column(
            f"figure.{m.name}",
            f"{m.label_zh}（元）" if m.unit == "yuan" else m.label_zh,
            "money" if m.unit == "yuan" else "bool" if m.unit == "bool" else "number",
        )
        for m in rb.review.metrics
    )
    columns = (
        Column("tenancy_id", "入驻编号", "int"),
        Column("firm", "企业名称"),
        Column("uscc", "统一社会信用代码"),
        Column("period", "考核年度", "int"),
        Column("status", "考核状态"),
        Column("due_on", "报送截止日", "date"),
        Column("submitted_on", "报送日期", "date"),
        Column("score", "得分", "number"),
        Column("grade", "等级"),
        Column("consequence", "考核结果"),
        Column("decided_on", "评定日期", "date"),
        *metric_columns,
    )
    rows = []
    for r in reviews:
        firm = firms[r.tenancy_id]
        row: dict[str, Any] = {
            "tenancy_id": r.tenancy_id,
            "firm": firm.name,
            "uscc": firm.uscc,
            "period": r.period,
            "status": REVIEW_STATUS.get(r.status, r.status),
            "due_on": r.due_on,
            "submitted_on": local_date(r.submitted_at),
            "score": money(r.score),
            "grade": r.grade,
            "consequence": CONSEQUENCES.get(r.consequence or "", r.consequence),
            "decided_on": local_date(r.decided_at),
        }
        figures = r.figures or {}
        for column in metric_columns:
            value = figures.get(column.key.removeprefix("figure."))
            if column.kind in ("money", "number"):
                value = money(value) if column.kind == "money" else _number(value)
            row[column.key] = value
        rows.append(row)
    return Ledger("reviews", "考核台账", columns, rows)


def _number(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def exit_ledger(w: Work, *, space: str) -> Ledger:
    """退出台账: every exit case of the space, its dates and the settlement in 元."""
    rb, members = _members(w, space)
    firms = {t.id: firm for t, firm in members}
    cases = w.session.exec(
        select(ExitCase).where(col(ExitCase.tenancy_id).in_(list(firms))).order_by(col(ExitCase.id))
    ).all()
    triggers = rb.triggers
    columns = (
        Column("id", "退出编号", "int"),
        Column("tenancy_id", "入驻编号", "int"),
        Column("firm", "企业名称"),
        Column("uscc", "统一社会信用代码"),
        Column("exit_type", "退出类型"),
        Column("grounds", "退出情形"),
        Column("status", "办理状态"),
        Column("opened_on", "立案日期", "date"),
        Column("served_on", "告知书送达日期", "date"),
        Column("objection_due_on", "陈述申辩截止日", "date"),
        Column("vacate_due_on", "腾退截止日", "date"),
        Column("handed_over_on", "交接日期", "date"),
        Column("deductions_yuan", "押金扣减（元）", "money"),
        Column("clawback_yuan", "追回优惠（元）", "money"),
        Column("refund_yuan", "应退金额（元）", "money"),
        Column("due_yuan", "应补缴金额（元）", "money"),
    )
    rows = []
    for case in cases:
        firm = firms[case.tenancy_id]
        trigger = triggers.get(case.grounds or "")
        settlement = case.settlement or {}
        rows.append(
            {
                "id": case.id,
                "tenancy_id": case.tenancy_id,
                "firm": firm.name,
                "uscc": firm.uscc,
                "exit_type": EXIT_TYPES.get(case.exit_type, case.exit_type),
                "grounds": trigger.label_zh if trigger else case.grounds,
                "status": EXIT_STATUS.get(case.status, case.status),
                "opened_on": local_date(case.created_at),
                "served_on": local_date(case.served_at),
                "objection_due_on": case.objection_due_on,
                "vacate_due_on": case.vacate_due_on,
                "handed_over_on": local_date(case.handed_over_at),
                **{
                    key: money(settlement.get(key))
                    for key in ("deductions_yuan", "clawback_yuan", "refund_yuan", "due_yuan")
                },
            }
        )
    return Ledger("exits", "退出台账", columns, rows)


LEDGERS = {"tenancies": tenancy_ledger, "reviews": review_ledger, "exits": exit_ledger}


def figures_cohort(w: Work, *, space: str, period: int) -> list[tuple[str, str]]:
    """(统一社会信用代码, name) of each firm whose ``period`` review in ``space`` is open or
    submitted: the rows a figures sheet for that year is pre-filled with."""
    row = w.space_by_code(space)
    found = w.session.exec(
        select(Firm.uscc, Firm.name)
        .join(Tenancy, col(Tenancy.firm_id) == col(Firm.id))
        .join(Review, col(Review.tenancy_id) == col(Tenancy.id))
        .where(
            Tenancy.space_id == row.id,
            Review.period == period,
            col(Review.status).in_(("open", "submitted")),
        )
        .order_by(col(Tenancy.id))
    ).all()
    return [(uscc, name) for uscc, name in found]
