"""The official working-day calendar of mainland China, and period arithmetic on top of it.

A calendar is "library data + the operator override table" (RULEBOOK §8), hence a class. It is
immutable after construction, which makes the per-day cache safe; new overrides, new calendar.

Sources, in order of precedence (see :meth:`WorkCalendar.is_workday`):

1. operator overrides (``True`` = working day, ``False`` = day off) win over everything;
2. ``chinese_calendar`` for the years it ships (2004-2026 in 1.11.0): the State Council
   schedule including make-up working days (调休 Saturdays/Sundays);
3. any other year: ``holidays`` (country ``CN``) + weekends + overrides, only if that package
   covers the year *and* the year is published: the operators imported its whole schedule
   (``calendar import --complete``) or confirmed it (``calendar publish YEAR``). ``holidays``
   computes statutory holidays for any year but cannot know make-up working days before the
   State Council publishes them (each November), so alone it is a guess; one override in the
   year says nothing about the others, only the published mark does.

Otherwise the year is refused with :class:`ScheduleNotPublished`: a deadline in a year whose
schedule is unknown is flagged, never guessed silently (DESIGN decision 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from typing import assert_never
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar  # type: ignore[import-untyped]
import holidays
from chinese_calendar import constants as _cc_constants

from lifecycle.errors import CalendarError, InvalidInput, ScheduleNotPublished
from lifecycle.periods import Counting, Period, PeriodUnit

__all__ = ["WorkCalendar"]

_ONE_DAY = timedelta(days=1)
# chinese_calendar refuses years outside the span of its own holiday table (it raises
# NotImplementedError); read the span the same way once, so is_published() needs no try/except.
_CC_FIRST_YEAR: int = min(d.year for d in _cc_constants.holidays)
_CC_LAST_YEAR: int = max(d.year for d in _cc_constants.holidays)
# The longest real run of days off is about 10 (Spring Festival 2020 with its extension). A much
# longer run means broken overrides; stop instead of scanning towards the end of time.
_MAX_DAYS_OFF = 60


@lru_cache(maxsize=64)
def _cn_holidays(year: int) -> holidays.HolidayBase | None:
    """Public holidays of China for ``year``, or None outside the package's range.

    ``holidays`` returns an *empty* calendar (not an error) for years outside
    ``start_year..end_year``, which would make every weekday a working day; hence the check.
    """
    table = holidays.country_holidays("CN", years=year)
    if not table.start_year <= year <= table.end_year:
        return None
    return table


def _plain_date(value: object, field: str) -> date:
    # datetime is a subclass of date; accepting one would silently use its UTC/naive day.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(field, "must be a date (convert instants with local_date first)", value)
    return value


def _count(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(field, "must be a whole number >= 0", value)
    return value


class WorkCalendar:
    """Working days, period arithmetic and deadline instants for one time zone."""

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        *,
        published: Iterable[int] = (),
        tz: str = "Asia/Shanghai",
    ) -> None:
        self._overrides: dict[date, bool] = {}
        for day, workday in (overrides or {}).items():
            if not isinstance(workday, bool):
                rule = "value must be true (workday) or false (holiday)"
                raise InvalidInput("overrides", rule, workday)
            self._overrides[_plain_date(day, "overrides")] = workday
        # The years the operators marked published (their whole schedule is in the overrides).
        self._published_years = frozenset(published)
        try:
            self._tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput("tz", "must be an IANA time zone name", tz) from exc
        self.tz = tz
        self._cache: dict[date, tuple[bool, str]] = {}
        self._months: dict[tuple[int, int], list[date]] = {}  # a month's working days
        # Counted days and deadline instants: a cohort's tenancies all ask the same few.
        self._nths: dict[tuple[date, int, int], date] = {}
        self._instants: dict[date, datetime] = {}

    def is_workday(self, d: date) -> bool:
        """True if ``d`` is an official working day; make-up Saturdays are, holidays are not.

        Raises :class:`ScheduleNotPublished` for a day in a year without a known schedule (see
        the module docstring for the policy), so callers can refuse or flag the deadline.
        """
        return self._resolve(d)[0]

    def source(self, d: date) -> str:
        """Which source decided ``d``: "override", "chinese_calendar" or "holidays+override"."""
        return self._resolve(d)[1]

    def is_published(self, year: int) -> bool:
        """True if the calendar answers for the days of ``year`` instead of raising."""
        if _CC_FIRST_YEAR <= year <= _CC_LAST_YEAR:
            return True
        return year in self._published_years and _cn_holidays(year) is not None

    def _resolve(self, d: date) -> tuple[bool, str]:
        hit = self._cache.get(d)
        if hit is None:
            hit = self._cache[d] = self._lookup(_plain_date(d, "date"))
        return hit

    def _lookup(self, d: date) -> tuple[bool, str]:
        if d in self._overrides:
            return self._overrides[d], "override"
        if _CC_FIRST_YEAR <= d.year <= _CC_LAST_YEAR:
            try:
                return bool(chinese_calendar.is_workday(d)), "chinese_calendar"
            except NotImplementedError as exc:  # the library's "no data for year" signal
                raise ScheduleNotPublished(d.year) from exc
        table = _cn_holidays(d.year) if d.year in self._published_years else None
        if table is None:
            raise ScheduleNotPublished(d.year)
        return table.is_working_day(d), "holidays+override"

    def _workdays_from(self, start: date, step: int) -> Iterator[date]:
        """Working days strictly after (step=1) or before (step=-1) ``start``, nearest first."""
        day, off = start, 0
        while True:
            day += timedelta(days=step)
            if self.is_workday(day):
                off = 0
                yield day
            else:
                off += 1
                if off > _MAX_DAYS_OFF:
                    raise CalendarError(
                        f"{start} 起 {_MAX_DAYS_OFF} 天内没有工作日，请检查调休设置 / "
                        f"no working day within {_MAX_DAYS_OFF} days of {start}; "
                        "check the overrides",
                        start=start.isoformat(),
                    )

    def _nth(self, start: date, n: int, step: int) -> date:
        key = (start, n, step)
        hit = self._nths.get(key)
        if hit is None:
            hit = self._nths[key] = next(islice(self._workdays_from(start, step), n - 1, None))
        return hit

    def roll_forward(self, d: date) -> date:
        """``d``, or the next working day if it is a day off (Civil Code Art. 203)."""
        return self._roll_forward(_plain_date(d, "d"))

    def _roll_forward(self, d: date) -> date:
        """Civil Code Art. 203: a period ending on a day off ends on the next working day."""
        return d if self.is_workday(d) else self._nth(d, 1, 1)

    def add_working_days(self, start: date, n: int, *, inclusive: bool = False) -> date:
        """The ``n``-th working day counted from ``start``.

        Civil counting (default) does not count ``start``: the result is the n-th working day
        after it. Inclusive counting (publicity notices) counts ``start`` as day 1 when it is a
        working day: 2020-12-30 + 5 inclusive = 2021-01-06. ``n == 0`` gives ``start`` if it is
        a working day, else the next one, under both conventions.
        """
        start, n = _plain_date(start, "start"), _count(n, "n")
        if n == 0:
            return self._roll_forward(start)
        if inclusive and self.is_workday(start):
            return start if n == 1 else self._nth(start, n - 1, 1)
        return self._nth(start, n, 1)

    def subtract_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day before ``d`` (``d`` not counted); reminders before a deadline.

        For a working day ``d`` and ``n >= 1``: ``working_days_between(result, d) == n`` and
        ``add_working_days(result, n) == d``. ``n == 0`` gives ``d`` or the previous working day.
        """
        d, n = _plain_date(d, "d"), _count(n, "n")
        if n == 0:
            return d if self.is_workday(d) else self._nth(d, 1, -1)
        return self._nth(d, n, -1)

    def add_calendar_days(self, start: date, n: int) -> date:
        """Civil Code Art. 201-203: ``start + n`` days, rolled forward if that day is a day off."""
        start, n = _plain_date(start, "start"), _count(n, "n")
        return self._roll_forward(start + timedelta(days=n))

    def add_months(self, start: date, n: int) -> date:
        """Same day of month ``n`` months later (clamped to the month's end), then rolled forward.

        Clamping follows the usual reading of Art. 201 for "months": a period from Jan 31 of one
        month ends on the last day of February, not in March.
        """
        start, n = _plain_date(start, "start"), _count(n, "n")
        return self._roll_forward(_months_later(start, n))

    def due_date(self, start: date, period: Period) -> date:
        """The last day of ``period`` counted from ``start`` under the period's own convention."""
        inclusive = period.counting is Counting.INCLUSIVE
        if period.unit is PeriodUnit.WORKING_DAYS:
            return self.add_working_days(start, period.amount, inclusive=inclusive)
        if period.unit is PeriodUnit.CALENDAR_DAYS:
            # Inclusive: the start day is day 1 (Period guarantees amount >= 1 then).
            return self.add_calendar_days(start, period.amount - 1 if inclusive else period.amount)
        if period.unit is PeriodUnit.MONTHS:
            return self.add_months(start, period.amount)
        assert_never(period.unit)

    def unrolled_due_date(self, start: date, period: Period) -> date:
        """The last day of ``period`` counted from ``start`` on the calendar alone, not rolled
        forward past days off (working days counted as Monday to Friday): the provisional due
        date where the roll cannot be computed, a year whose schedule is not published
        (RULEBOOK §8: such a deadline is flagged, not refused). Never raises for the year."""
        start = _plain_date(start, "start")
        inclusive = period.counting is Counting.INCLUSIVE
        if period.unit is PeriodUnit.WORKING_DAYS:
            day, left = start - _ONE_DAY if inclusive else start, period.amount
            while left:
                day += _ONE_DAY
                left -= day.weekday() < 5
            return day
        if period.unit is PeriodUnit.CALENDAR_DAYS:
            return start + timedelta(days=period.amount - 1 if inclusive else period.amount)
        if period.unit is PeriodUnit.MONTHS:
            return _months_later(start, period.amount)
        assert_never(period.unit)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; when ``b`` is before ``a``, minus those in ``(b, a]``."""
        a, b = _plain_date(a, "a"), _plain_date(b, "b")
        if b < a:
            return -self.working_days_between(b, a)
        return sum(self.is_workday(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))

    def first_workday_of(self, year: int, month: int = 1) -> date:
        """The first working day of a month (January by default)."""
        return self.nth_workday_of(year, month, 1)

    def nth_workday_of(self, year: int, month: int, n: int) -> date:
        """The ``n``-th working day of a month (e.g. the 10th of January for review filings).

        Raises :class:`CalendarError` if the month has fewer than ``n`` working days: rolling
        into the next month would silently move a deadline the rulebook pinned to this month.
        """
        if not 1 <= month <= 12:
            raise InvalidInput("month", "must be 1..12", month)
        if _count(n, "n") == 0:
            raise InvalidInput("n", "must be >= 1", n)
        workdays = self._months.get((year, month))
        if workdays is None:
            first = date(year, month, 1)
            days = (first + timedelta(days=i) for i in range(_month_length(year, month)))
            workdays = self._months[(year, month)] = [d for d in days if self.is_workday(d)]
        if len(workdays) < n:
            raise CalendarError(
                f"{year} 年 {month} 月只有 {len(workdays)} 个工作日，不足 {n} 个 / "
                f"{year}-{month:02d} has only {len(workdays)} working days, not {n}",
                year=year,
                month=month,
                n=n,
            )
        return workdays[n - 1]

    def due_instant(self, day: date) -> datetime:
        """The UTC instant at which a deadline on ``day`` lapses: local midnight ending that day.

        Deadlines are dates in the space's zone and hold until 24:00 there (DESIGN decision 7);
        storage and sweeps use UTC, so Asia/Shanghai gives 16:00 UTC of ``day``.
        """
        day = _plain_date(day, "day")
        hit = self._instants.get(day)
        if hit is None:
            next_day = day + _ONE_DAY
            local_midnight = datetime.combine(next_day, time(), tzinfo=self._tz)
            hit = self._instants[day] = local_midnight.astimezone(UTC)
        return hit

    def reminder_instant(self, day: date) -> datetime:
        """The UTC instant a reminder planned for ``day`` is due: the local midnight that begins
        ``day``, so that it goes out on its day. A deadline on ``day`` holds until the midnight
        that ends it (:meth:`due_instant`); a reminder of it "5 working days before" is sent on
        that day, not the morning after."""
        return self.due_instant(_plain_date(day, "day") - _ONE_DAY)

    def local_date(self, instant: datetime) -> date:
        """The calendar date of an aware instant in this calendar's time zone."""
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            raise InvalidInput("instant", "must be a timezone-aware datetime", instant)
        return instant.astimezone(self._tz).date()


def _months_later(start: date, n: int) -> date:
    """The same day of the month ``n`` months later, clamped to that month's end."""
    year, month0 = divmod(start.month - 1 + n, 12)
    year += start.year
    return date(year, month0 + 1, min(start.day, _month_length(year, month0 + 1)))


def _month_length(year: int, month: int) -> int:
    # Avoids the stdlib `calendar` module, whose name this module shares.
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - _ONE_DAY).day
