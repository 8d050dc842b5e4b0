"""Published years: a year beyond the ``chinesecalendar`` package is computed from
``holidays`` plus the overrides only once its whole schedule is imported or confirmed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from db.tables import CalendarYear
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import InvalidInput
from workflows.commands import PublishCalendarYear
from workflows.core import Work


def mark_published(w: Work, years: Iterable[int], *, source: str, actor: str) -> list[int]:
    """Record ``years`` as published (a year the package ships, or marked before, is left as
    it is); the years newly marked."""
    marked = []
    for year in years:
        if WorkCalendar().is_published(year) or w.session.get(CalendarYear, year) is not None:
            continue
        if not WorkCalendar(published=[year]).is_published(year):
            raise InvalidInput(
                "year",
                f"{year} 年超出节假日数据范围，无法按此计算 / beyond the holiday data this "
                "version knows",
                year,
            )
        w.session.add(CalendarYear(year=year, source=source, actor=actor, published_at=w.now))
        marked.append(year)
    w.session.flush()
    return marked


def publish_year(w: Work, cmd: PublishCalendarYear) -> dict[str, Any]:
    newly = mark_published(w, [cmd.year], source="publish", actor=cmd.actor)
    return {"year": cmd.year, "published": True, "newly": bool(newly)}
