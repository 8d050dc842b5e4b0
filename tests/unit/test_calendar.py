"""Working-day calendar and periods, checked against the real State Council schedules.

Every expected date below was read off the official schedule of its year (as shipped by
chinese_calendar 1.11.0), not computed by the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.calendar import WorkCalendar
from lifecycle.errors import CalendarError, InvalidInput, ScheduleNotPublished
from lifecycle.periods import Counting, Period, PeriodUnit

CAL = WorkCalendar()


# -- RULEBOOK §7 examples ----------------------------------------------------------------------


def test_publicity_notice_counts_its_first_day() -> None:
    # 2020-12-30 (Wed), 12-31, [01-01 holiday, 01-02/03 weekend], 01-04, 01-05, 01-06.
    assert CAL.add_working_days(date(2020, 12, 30), 5, inclusive=True) == date(2021, 1, 6)
    assert CAL.due_date(date(2020, 12, 30), Period.parse("5wd inclusive")) == date(2021, 1, 6)


def test_civil_counting_does_not_count_the_event_day() -> None:
    monday = date(2025, 1, 6)
    assert CAL.add_working_days(monday, 1) == date(2025, 1, 7)
    assert CAL.add_working_days(monday, 1, inclusive=True) == monday
    assert CAL.due_date(monday, Period.parse("5wd")) == date(2025, 1, 13)
    # An event on a day off: both conventions start on the next working day.
    saturday = date(2025, 1, 4)
    assert CAL.add_working_days(saturday, 1) == CAL.add_working_days(saturday, 1, inclusive=True)


def test_zero_working_days_is_the_day_itself_or_the_next_working_day() -> None:
    assert CAL.add_working_days(date(2025, 1, 6), 0) == date(2025, 1, 6)
    assert CAL.add_working_days(date(2025, 1, 4), 0) == date(2025, 1, 6)


def test_make_up_days_count_as_working_days() -> None:
    # 2024-10-12 is a Saturday worked in exchange for the National Day holiday;
    # 2021-02-07 and 2024-02-04 are make-up Sundays for the Spring Festival.
    for day in (date(2024, 10, 12), date(2021, 2, 7), date(2024, 2, 4)):
        assert day.weekday() >= 5
        assert CAL.is_workday(day)
        assert CAL.source(day) == "chinese_calendar"
    assert not CAL.is_workday(date(2024, 10, 19))  # an ordinary Saturday
    assert CAL.add_working_days(date(2024, 10, 11), 1) == date(2024, 10, 12)


def test_national_day_week_is_skipped() -> None:
    assert all(not CAL.is_workday(date(2024, 10, d)) for d in range(1, 8))
    assert CAL.add_working_days(date(2024, 9, 30), 1) == date(2024, 10, 8)
    assert CAL.working_days_between(date(2024, 9, 30), date(2024, 10, 8)) == 1


def test_calendar_day_period_ending_on_a_day_off_rolls_forward() -> None:
    assert CAL.add_calendar_days(date(2024, 9, 21), 10) == date(2024, 10, 8)  # 10-01 holiday
    assert CAL.add_calendar_days(date(2025, 1, 1), 3) == date(2025, 1, 6)  # Saturday
    assert CAL.add_calendar_days(date(2024, 10, 2), 10) == date(2024, 10, 12)  # make-up Sat
    assert CAL.due_date(date(2024, 9, 21), Period.parse("10d")) == date(2024, 10, 8)
    assert CAL.due_date(date(2025, 1, 6), Period.parse("7d inclusive")) == date(2025, 1, 13)


def test_months_clamp_to_month_end_then_roll_forward() -> None:
    assert CAL.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert CAL.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert CAL.add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    # 2023-09-30 is inside the Mid-Autumn/National Day break; 10-07 is a make-up Saturday.
    assert CAL.add_months(date(2023, 8, 31), 1) == date(2023, 10, 7)
    assert CAL.due_date(date(2024, 1, 31), Period.parse("6m")) == date(2024, 7, 31)


# -- overrides and unpublished years -----------------------------------------------------------


def test_overrides_win_over_the_library() -> None:
    cal = WorkCalendar({date(2024, 10, 1): True, date(2024, 10, 14): False})
    assert cal.is_workday(date(2024, 10, 1)) and cal.source(date(2024, 10, 1)) == "override"
    assert not cal.is_workday(date(2024, 10, 14))
    assert cal.add_working_days(date(2024, 10, 11), 2) == date(2024, 10, 15)


def test_unpublished_year_is_refused_then_accepted_with_overrides() -> None:
    assert not CAL.is_published(2035)
    with pytest.raises(ScheduleNotPublished, match="2035") as info:
        CAL.is_workday(date(2035, 3, 5))
    assert info.value.year == 2035
    with pytest.raises(ScheduleNotPublished, match="2027"):
        CAL.add_working_days(date(2026, 12, 30), 5)

    one_day = WorkCalendar({date(2035, 2, 3): True})  # one override does not publish a year
    assert not one_day.is_published(2035) and one_day.is_workday(date(2035, 2, 3))
    with pytest.raises(ScheduleNotPublished, match="2035"):
        one_day.is_workday(date(2035, 3, 5))
    # The operator entered the 2035 schedule and marked the year published.
    cal = WorkCalendar({date(2035, 2, 3): True}, published=[2035])
    assert cal.is_published(2035)
    assert cal.is_workday(date(2035, 3, 5)) and cal.source(date(2035, 3, 5)) == "holidays+override"
    assert not cal.is_workday(date(2035, 10, 1))  # National Day, from the holidays package
    assert cal.is_workday(date(2035, 2, 3)) and cal.source(date(2035, 2, 3)) == "override"


def test_years_outside_every_source_are_refused() -> None:
    assert CAL.is_published(2004) and CAL.is_published(2026)
    with pytest.raises(ScheduleNotPublished, match="2003"):
        CAL.is_workday(date(2003, 6, 2))
    cal = WorkCalendar({date(2101, 1, 3): True}, published=[2101])  # holidays stops at 2100
    assert not cal.is_published(2101)
    assert cal.is_workday(date(2101, 1, 3))
    with pytest.raises(ScheduleNotPublished):
        cal.is_workday(date(2101, 1, 4))


# -- months, instants, reminders ---------------------------------------------------------------


def test_nth_and_first_workday_of_a_month() -> None:
    # January 2025: 01-01 holiday; 2, 3, 6-10, 13, 14, 15 are the first ten working days.
    assert CAL.nth_workday_of(2025, 1, 10) == date(2025, 1, 15)
    assert CAL.first_workday_of(2025) == date(2025, 1, 2)
    assert CAL.first_workday_of(2025, 10) == date(2025, 10, 9)  # National Day 10-01..10-08
    with pytest.raises(CalendarError):
        CAL.nth_workday_of(2025, 2, 25)


def test_due_instant_is_local_midnight_ending_the_day() -> None:
    instant = CAL.due_instant(date(2025, 1, 3))
    assert instant == datetime(2025, 1, 3, 16, 0, tzinfo=UTC)
    assert instant.utcoffset() == timedelta(0)
    assert CAL.local_date(instant) == date(2025, 1, 4)
    assert CAL.local_date(instant - timedelta(seconds=1)) == date(2025, 1, 3)
    with pytest.raises(InvalidInput):
        CAL.local_date(datetime(2025, 1, 3, 12, 0))  # naive


def test_reminders_before_a_deadline() -> None:
    deadline = date(2024, 10, 8)
    assert CAL.subtract_working_days(deadline, 1) == date(2024, 9, 30)
    # 09-30, 09-29 (make-up Sunday), 09-27, 09-26, 09-25
    assert CAL.subtract_working_days(deadline, 5) == date(2024, 9, 25)
    assert CAL.subtract_working_days(date(2024, 10, 5), 0) == date(2024, 9, 30)
    assert CAL.working_days_between(deadline, date(2024, 9, 25)) == -5


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput):
        CAL.is_workday(datetime(2025, 1, 6, 9, 0, tzinfo=UTC))
    with pytest.raises(InvalidInput):
        CAL.add_working_days(date(2025, 1, 6), -1)
    with pytest.raises(InvalidInput):
        WorkCalendar(tz="Mars/Olympus")
    with pytest.raises(InvalidInput):
        WorkCalendar({date(2025, 1, 6): "yes"})  # type: ignore[dict-item]


# -- properties --------------------------------------------------------------------------------

# Starts late enough that 30 working days back stay in 2004, early enough that 30 forward
# stay in 2026: both ends of chinese_calendar's data.
published_days = st.dates(min_value=date(2004, 3, 1), max_value=date(2026, 10, 31))


@settings(max_examples=150, deadline=None, database=None)
@given(start=published_days, n=st.integers(min_value=0, max_value=30))
def test_adding_working_days_lands_on_a_working_day(start: date, n: int) -> None:
    result = CAL.add_working_days(start, n)
    assert CAL.is_workday(result)
    assert result >= start
    if n >= 1:
        assert CAL.working_days_between(start, result) == n
        assert CAL.subtract_working_days(result, n) <= start
        if CAL.is_workday(start):
            assert CAL.subtract_working_days(result, n) == start
        inclusive = CAL.add_working_days(start, n, inclusive=True)
        assert CAL.working_days_between(start - timedelta(days=1), inclusive) == n


@settings(max_examples=100, deadline=None, database=None)
@given(end=published_days, n=st.integers(min_value=1, max_value=30))
def test_subtracting_is_the_inverse_of_adding(end: date, n: int) -> None:
    earlier = CAL.subtract_working_days(end, n)
    assert CAL.is_workday(earlier)
    if CAL.is_workday(end):
        assert CAL.add_working_days(earlier, n) == end
        assert CAL.working_days_between(earlier, end) == n


# -- Period ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit", "counting"),
    [
        ("5wd", 5, PeriodUnit.WORKING_DAYS, Counting.CIVIL),
        ("90d", 90, PeriodUnit.CALENDAR_DAYS, Counting.CIVIL),
        ("6m", 6, PeriodUnit.MONTHS, Counting.CIVIL),
        (" 5WD  inclusive ", 5, PeriodUnit.WORKING_DAYS, Counting.INCLUSIVE),
    ],
)
def test_period_shorthand(text: str, amount: int, unit: PeriodUnit, counting: Counting) -> None:
    period = Period.parse(text)
    assert (period.amount, period.unit, period.counting) == (amount, unit, counting)
    assert Period.parse(str(period)) == period


def test_period_describe() -> None:
    assert Period.parse("5wd").describe() == "5个工作日"
    assert Period.parse("90d").describe() == "90日"
    assert Period.parse("6m").describe("zh-CN") == "6个月"
    assert Period.parse("5wd").describe("en") == "5 working days"
    assert Period.parse("1d").describe("en-US") == "1 calendar day"
    assert Period.parse("6m").describe("en") == "6 months"
    assert Period.parse("5wd inclusive").describe() == "5个工作日（含首日）"
    labelled = Period(amount=5, unit=PeriodUnit.WORKING_DAYS, label_zh="公示期五个工作日")
    assert labelled.describe() == "公示期五个工作日"
    assert labelled.describe("en") == "5 working days"


def test_period_in_a_rulebook_model() -> None:
    class Rules(pydantic.BaseModel):
        publicity: Period
        exit_notice: Period

    rules = Rules.model_validate(
        {"publicity": "5wd inclusive", "exit_notice": {"amount": 30, "unit": "calendar_days"}}
    )
    assert rules.publicity.counting is Counting.INCLUSIVE
    assert rules.exit_notice == Period.parse("30d")
    assert hash(rules.exit_notice) == hash(Period.parse("30d"))
    with pytest.raises(pydantic.ValidationError, match="publicity"):
        Rules.model_validate({"publicity": "5 weeks", "exit_notice": "30d"})


@pytest.mark.parametrize(
    "bad", ["", "5", "5w", "-5wd", "5wd maybe", "6m inclusive", "0wd inclusive", "5 wd extra"]
)
def test_period_rejects_malformed_shorthand(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Period.parse(bad)
    assert info.value.field == "period"


def test_period_rejects_unknown_fields_and_negative_amounts() -> None:
    with pytest.raises(pydantic.ValidationError):
        Period.model_validate({"amount": 5, "unit": "working_days", "colour": "red"})
    with pytest.raises(pydantic.ValidationError):
        Period(amount=-1, unit=PeriodUnit.CALENDAR_DAYS)
