"""Published years: a year beyond the ``chinesecalendar`` package is computed from
``holidays`` plus the overrides only once its whole schedule is imported or confirmed."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from db.effects import Rows
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import InvalidInput
from workflows.commands import PublishCalendarYear
from workflows.core import Work


def publish(
    rows: Rows,
    years: Iterable[int],
    marked: Collection[int],
    *,
    source: str,
    actor: str,
    now: datetime,
) -> list[int]:
    """Add to ``rows`` the marks of ``years`` as published (a year the package ships, or
    ``marked`` before, is left as it is); the years newly marked."""
    newly: list[int] = []
    for year in years:
        if WorkCalendar().is_published(year) or year in marked or year in newly:
            continue
        if not WorkCalendar(published=[year]).is_published(year):
            raise InvalidInput(
                "year",
                f"{year} 年超出节假日数据范围，无法按此计算 / beyond the holiday data this "
                "version knows",
                year,
            )
        rows.insert("calendar_years", year=year, source=source, actor=actor, published_at=now)
        newly.append(year)
    return newly


def publish_year(w: Work, cmd: PublishCalendarYear) -> dict[str, Any]:
    rows = Rows()
    marked = w.uow.registry.marked_years([cmd.year])
    newly = publish(rows, [cmd.year], marked, source="publish", actor=cmd.actor, now=w.now)
    w.apply_rows(rows)
    return {"year": cmd.year, "published": True, "newly": bool(newly)}
