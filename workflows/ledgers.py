"""Named queries for the ledgers operators keep (台账): tenancies, reviews and exits of a space,
as typed rows (dates as dates, amounts as Decimals) under Chinese column headers, and the
cohort a figures sheet is pre-filled with. ``workflows.excel`` writes them to a workbook.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, Literal, cast, get_args
from zoneinfo import ZoneInfo

from db.effects import TenancyRow
from db.repositories import FirmRow
from lifecycle.rulebook import Rulebook
from lifecycle.table import STATE_LABELS
from workflows import rules, vocabulary
from workflows.core import Work

ColumnKind = Literal["text", "int", "date", "money", "number", "bool"]
LedgerName = Literal["tenancies", "reviews", "exits"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")

# The ledgers are in Chinese: the vocabulary's first half.
REVIEW_STATUS = {k: zh for k, (zh, _) in vocabulary.REVIEW_STATUS.items()}
CONSEQUENCES = {k: zh for k, (zh, _) in vocabulary.CONSEQUENCES.items()}
EXIT_TYPES = {k: zh for k, (zh, _) in vocabulary.EXIT_TYPES.items()}
EXIT_STATUS = {k: zh for k, (zh, _) in vocabulary.EXIT_STATUS.items()}


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


@cache
def layouts() -> dict[str, tuple[str, tuple[Column, ...]]]:
    """Each ledger's title and fixed columns, read once from the packaged ``ledgers.toml``."""
    text = resources.files("workflows").joinpath("ledgers.toml").read_text("utf-8")
    found: dict[str, tuple[str, tuple[Column, ...]]] = {}
    for name, table in tomllib.loads(text).items():
        columns = []
        for entry in table["columns"]:
            kind = entry.get("kind", "text")
            if kind not in get_args(ColumnKind):
                raise ValueError(f"ledgers.toml: {name}.{entry['key']}: unknown kind {kind!r}")
            columns.append(Column(entry["key"], entry["header"], cast(ColumnKind, kind)))
        found[name] = (table["title"], tuple(columns))
    return found


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


def _members(w: Work, space: str) -> tuple[Rulebook, list[tuple[TenancyRow, FirmRow]]]:
    row = w.space_row(space)
    return rules.for_space(w, row), w.uow.cohorts.members(row.id)


def tenancy_ledger(w: Work, *, space: str) -> Ledger:
    """入驻台账: every tenancy of the space, its state in Chinese, units, area and term."""
    rb, members = _members(w, space)
    industries = {i.code: i.label_zh for i in rb.industries}
    units: dict[int, list[str]] = defaultdict(list)
    area: dict[int, Decimal] = defaultdict(Decimal)
    ids = [t.id for t, _ in members]
    for tenancy_id, code, area_m2 in w.uow.cohorts.held_units(ids):
        units[tenancy_id].append(code)
        area[tenancy_id] += Decimal(str(area_m2))
    title, columns = layouts()["tenancies"]
    rows = []
    for t, firm in members:
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
    return Ledger("tenancies", title, columns, rows)


def review_ledger(w: Work, *, space: str, period: int | None = None) -> Ledger:
    """考核台账: every review of the space (or of one year), grade, result and the figures."""
    rb, members = _members(w, space)
    firms = {t.id: firm for t, firm in members}
    reviews = w.uow.cohorts.reviews(list(firms), period)
    metric_columns = tuple(
        Column(
            f"figure.{m.name}",
            f"{m.label_zh}（元）" if m.unit == "yuan" else m.label_zh,
            "money" if m.unit == "yuan" else "bool" if m.unit == "bool" else "number",
        )
        for m in rb.review.metrics
        if m.fact is None  # counted: it is in the decision's trace, not in the figures
    )
    title, fixed = layouts()["reviews"]
    columns = (*fixed, *metric_columns)
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
    return Ledger("reviews", title, columns, rows)


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
    cases = w.uow.cohorts.exit_cases(list(firms))
    triggers = rb.triggers
    title, columns = layouts()["exits"]
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
    return Ledger("exits", title, columns, rows)


LEDGERS = {"tenancies": tenancy_ledger, "reviews": review_ledger, "exits": exit_ledger}


def figures_cohort(w: Work, *, space: str, period: int) -> list[tuple[str, str]]:
    """(统一社会信用代码, name) of each firm whose ``period`` review in ``space`` is open or
    submitted: the rows a figures sheet for that year is pre-filled with."""
    return w.uow.cohorts.figures_cohort(w.space_row(space).id, period)
