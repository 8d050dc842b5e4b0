"""Review dates from the rulebook's calendar data and a working-day calendar (passed in).

The calendar is any object with the :class:`lifecycle.calendar.WorkCalendar` methods used
below; it may raise :class:`lifecycle.errors.ScheduleNotPublished` for unpublished years.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple, Protocol

from lifecycle.errors import CalendarError, InvalidInput
from lifecycle.periods import Period
from lifecycle.rulebook.model import Rulebook


class WorkdayCalendar(Protocol):
    def nth_workday_of(self, year: int, month: int, n: int) -> date: ...

    def add_working_days(self, start: date, n: int, *, inclusive: bool = False) -> date: ...

    def due_date(self, start: date, period: Period) -> date: ...

    def unrolled_due_date(self, start: date, period: Period) -> date: ...


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


class Due(NamedTuple):
    """A due date, and whether it is provisional: the calendar could not roll it forward past
    days off (a year whose schedule is not published), so it is the unrolled calendar date."""

    on: date
    provisional: bool


def _quarter_end(year: int, quarter: int) -> date:
    if quarter not in (1, 2, 3, 4):
        raise InvalidInput("quarter", "must be 1, 2, 3 or 4", quarter)
    month, day = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}[quarter]
    return date(year, month, day)


def quarterly_report_due_on(
    rb: Rulebook, calendar: WorkdayCalendar, *, year: int, quarter: int
) -> date:
    """A quarter's light report is due ``periods.review_quarterly_report`` after its last day,
    rolled forward past days off; raises where the calendar cannot say (an unpublished year)."""
    return calendar.due_date(_quarter_end(year, quarter), rb.periods.review_quarterly_report)


def quarterly_report_due(
    rb: Rulebook, calendar: WorkdayCalendar, *, year: int, quarter: int
) -> Due:
    """:func:`quarterly_report_due_on`, or where the calendar cannot roll it (RULEBOOK §8: a
    deadline in an unpublished year is flagged, not refused) the unrolled calendar date,
    flagged provisional."""
    try:
        return Due(quarterly_report_due_on(rb, calendar, year=year, quarter=quarter), False)
    except CalendarError:
        end = _quarter_end(year, quarter)
        return Due(calendar.unrolled_due_date(end, rb.periods.review_quarterly_report), True)
