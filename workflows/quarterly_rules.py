"""Quarterly light reports decided as data (RULEBOOK §3: revenue, tax, headcount and R&D
spending, due ``periods.review_quarterly_report`` after the quarter ends).

Pure: what a submission may be (a quarter that has ended, within the tenancy's term, the
rulebook's ``quarterly_metrics`` checked as the annual figures form checks them) and what it
writes — the report row (a correction replaces the figures and keeps the first submission's
time, on which lateness is judged), the quarter's pending deadlines cancelled, the audit event
and the firm's receipt. ``workflows.quarterly`` loads and hands over; the sweep plans the
quarter's deadlines (``workflows.quarterly_sweep``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from db.effects import Effects, StepResult
from db.quarterly import QuarterlyRow
from lifecycle import rulebook as rbook
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import CalendarError, InvalidInput
from lifecycle.rulebook import Rulebook
from workflows import inputs

#: The deadlines of a quarter, planned by the sweep for each tenancy asked
#: for it (its term covers a day of it, its firm still occupies its unit): the notice that
#: the quarter is open for reporting, one reminder before it is due, and the due date itself
#: (the operators are told of a report still missing).
QUARTERLY_DEADLINES = ("quarterly_report_open", "quarterly_report_reminder", "quarterly_report_due")
SUBMIT = "submit_quarterly_report"
_LAST = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def quarter_days(year: int, quarter: int) -> tuple[date, date]:
    """The first and the last day of a quarter."""
    month, day = _LAST[quarter]
    return date(year, month - 2, 1), date(year, month, day)


def last_ended(today: date) -> tuple[int, int]:
    """The latest quarter that has ended by ``today`` (its last day before today)."""
    quarter = (today.month - 1) // 3  # the quarters of this year already over
    return (today.year - 1, 4) if quarter == 0 else (today.year, quarter)


def check_quarter(year: object, quarter: object, today: date) -> tuple[int, int]:
    """A quarter of a year from 2000 on that has ended by ``today``."""
    if isinstance(quarter, bool) or not isinstance(quarter, int) or quarter not in _LAST:
        raise InvalidInput("quarter", "季度须为 1、2、3 或 4 / must be 1, 2, 3 or 4", quarter)
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= today.year:
        raise InvalidInput(
            "year",
            f"须为 2000 至 {today.year} 之间的年份 / must be a year between 2000 and {today.year}",
            year,
        )
    last = quarter_days(year, quarter)[1]
    if last >= today:
        latest_year, latest = last_ended(today)
        raise InvalidInput(
            "quarter",
            f"{year} 年第 {quarter} 季度尚未结束（{last} 结束），季度结束后方可报送；目前最晚可报送"
            f" {latest_year} 年第 {latest} 季度 / {year} Q{quarter} has not ended (it ends on "
            f"{last}): a quarter is reported once it is over, the latest now is "
            f"{latest_year} Q{latest}",
            f"{year}Q{quarter}",
        )
    return year, quarter


def check_in_term(year: int, quarter: int, term_start: date | None, term_end: date | None) -> None:
    """A quarter is reported only if the tenancy's term covers some day of it."""
    inputs.check_in_term(
        "quarter",
        f"{year}Q{quarter}",
        quarter_days(year, quarter),
        (term_start, term_end),
        what=(f"{year} 年第 {quarter} 季度", f"{year} Q{quarter} is not a quarter"),
        refused_zh="无需报送",
    )


def check_figures(rb: Rulebook, figures: Mapping[str, object]) -> dict[str, Any]:
    """The quarter's figures, normalised, as the annual figures form checks each field, for
    the rulebook's ``quarterly_metrics`` only; every problem at once (``figures.<metric>``)."""
    from workflows import forms  # imported here: forms imports the residency handlers

    specs = {s.code: s for s in forms.quarterly_fields(rb)}
    problems = [
        forms.Problem(
            field=f"figures.{name}",
            expected_zh=f"未知字段，季度报送字段为 {'、'.join(specs)}",
            expected_en=f"unknown field; the quarterly fields are {', '.join(specs)}",
        )
        for name in figures
        if name not in specs
    ]
    out: dict[str, Any] = {}
    for code, spec in specs.items():
        value, problem = forms.check_figure(rb, spec, figures.get(code))
        if problem is not None:
            problems.append(replace(problem, field=f"figures.{problem.field}"))
        else:
            out[code] = value
    if problems:
        raise forms.FormProblems("figures", problems)
    return dict(rbook.jsonable(out))


def rolled(calendar: WorkCalendar, due_on: date) -> date | None:
    """A recorded due date rolled forward past days off (itself, when it was rolled already);
    None while the calendar cannot say: the date is provisional, the unrolled calendar date
    (a year whose holiday schedule is not published, RULEBOOK §8)."""
    try:
        return calendar.roll_forward(due_on)
    except CalendarError:
        return None


def in_time(calendar: WorkCalendar, day: date, due_on: date) -> bool:
    """A report first filed on ``day`` (or still missing on ``day``) is on time if ``day`` is
    on or before the due date rolled forward past days off. A provisional date never makes a
    filing late that the rolled date would accept: on or before the unrolled date it is on
    time, and after it, it is not judged late until the calendar knows the rolled date — it
    is judged again then, on every read."""
    due = rolled(calendar, due_on)
    return due is None or day <= due


def submit(
    e: Effects,
    rb: Rulebook,
    calendar: WorkCalendar,
    existing: QuarterlyRow | None,
    *,
    year: int,
    quarter: int,
    figures: Mapping[str, Any],
    due: rbook.Due,
    pending: Sequence[int],
    actor: str,
    reason: str | None,
) -> StepResult:
    """File (or correct) the quarter's report: the row, the pending deadlines of the quarter
    cancelled (``pending``: their ids), the audit event and the firm's receipt."""
    t = e.tenancy
    check_quarter(year, quarter, e.today)
    check_in_term(year, quarter, t.term_start, t.term_end)
    checked = check_figures(rb, figures)
    if existing is None:
        first_on, due_on = e.today, due.on
        e.insert(
            "quarterly_reports",
            tenancy_id=t.id,
            year=year,
            quarter=quarter,
            figures=checked,
            due_on=due_on,
            first_submitted_at=e.now,
            submitted_at=e.now,
            submitted_by=actor,
            rulebook_version=rb.version,
        )
    else:
        first_on = calendar.local_date(existing.first_submitted_at)
        due_on = existing.due_on  # as it was when first filed
        e.update(
            "quarterly_reports",
            existing.id,
            figures=checked,
            submitted_at=e.now,
            submitted_by=actor,
            rulebook_version=rb.version,
        )
    for deadline_id in pending:
        e.update("deadlines", deadline_id, status="cancelled", done_at=e.now)
    timely = in_time(calendar, first_on, due_on)
    provisional = rolled(calendar, due_on) is None
    e.notify(
        "quarterly_report_received",
        context={
            "year": year,
            "quarter": quarter,
            "received_on": e.today,
            "first_on": first_on,
            "due_on": due_on,
            "in_time": timely,
            "provisional": provisional,
            "corrected": existing is not None,
        },
        key=f"{year}Q{quarter}:{e.new_version}",
    )
    return e.record(
        SUBMIT,
        actor=actor,
        reason=reason,
        data={
            "year": year,
            "quarter": quarter,
            "figures": checked,
            "due_on": due_on,
            "in_time": timely,
            "due_provisional": provisional,
            "corrected": existing is not None,
        },
    )


def opens_on(year: int, quarter: int) -> date:
    """The day a quarter opens for reporting: the day after it ends."""
    return quarter_days(year, quarter)[1] + timedelta(days=1)
