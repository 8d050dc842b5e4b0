"""Review dates from the rulebook's calendar data and a working-day calendar (passed in).

The calendar is any object with the :class:`lifecycle.calendar.WorkCalendar` methods used
below; it may raise :class:`lifecycle.errors.ScheduleNotPublished` for unpublished years.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from lifecycle.errors import InvalidInput
from lifecycle.periods import Period
from lifecycle.rulebook.model import Rulebook


class WorkdayCalendar(Protocol):
    def nth_workday_of(self, year: int, month: int, n: int) -> date: ...

    def add_working_days(self, start: date, n: int, *, inclusive: bool = False) -> date: ...

    def due_date(self, start: date, period: Period) -> date: ...


def review_opens_on(rb: Rulebook, calendar: WorkdayCalendar, year: int) -> date:
    """The day the review window opens in ``year`` (reviewing ``year - 1``): the
    ``open_workday``-th working day of ``open_month``."""
    cal = rb.review.calendar
    return calendar.nth_workday_of(year, cal.open_month, cal.open_workday)


def review_due_on(rb: Rulebook, calendar: WorkdayCalendar, *, opened_on: date) -> date:
    """The submission deadline of a review opened on ``opened_on``: the ``due_workday``-th
    working day of ``open_month`` of that year; a review opened after that day gets the same
    window length (``due_workday - open_workday`` working days after ``opened_on``)."""
    cal = rb.review.calendar
    scheduled = calendar.nth_workday_of(opened_on.year, cal.open_month, cal.due_workday)
    if opened_on <= scheduled:
        return scheduled
    return calendar.add_working_days(opened_on, cal.due_workday - cal.open_workday)


def quarterly_report_due_on(
    rb: Rulebook, calendar: WorkdayCalendar, *, year: int, quarter: int
) -> date:
    """A quarter's light report is due ``periods.review_quarterly_report`` after its last day."""
    if quarter not in (1, 2, 3, 4):
        raise InvalidInput("quarter", "must be 1, 2, 3 or 4", quarter)
    last_day = {
        1: date(year, 3, 31),
        2: date(year, 6, 30),
        3: date(year, 9, 30),
        4: date(year, 12, 31),
    }[quarter]
    return calendar.due_date(last_day, rb.periods.review_quarterly_report)
