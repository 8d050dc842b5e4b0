"""The quarter's light reports of a space as a list: who filed on time, who filed late, who
has not filed yet (before the due date) and whose report is missing (after it).

One query per space (``uow.quarterly.filings``: the space's tenancies resident in the quarter,
with their report if any). A report's own due date is the one it was filed against; a tenancy
that has not filed is judged against the due date of the space's active rulebook.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lifecycle import rulebook as rbook
from lifecycle.errors import InvalidInput
from workflows import quarterly_rules, rules
from workflows.core import Work

#: Where a tenancy's report of a quarter stands, in words (zh-CN first).
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "filed": ("已按时报送", "filed on time"),
    "late": ("逾期报送", "filed late"),
    "awaiting": ("未报送（未到截止日）", "not filed yet (not due)"),
    "missing": ("逾期未报送", "missing (overdue)"),
}


def quarter_of(w: Work, year: int | None, quarter: int | None) -> tuple[int, int]:
    """The quarter asked for, or the one just ended; both or neither must be given."""
    if year is None and quarter is None:
        return quarterly_rules.last_ended(w.today)
    if year is None or quarter is None:
        raise InvalidInput(
            "quarter" if quarter is None else "year",
            "年度与季度须同时给出 / give both the year and the quarter, or neither",
        )
    return quarterly_rules.check_quarter(year, quarter, w.today)


def space_filings(w: Work, *, space: str, year: int, quarter: int) -> dict[str, Any]:
    """One space's quarter: each tenancy resident in it and where its report stands."""
    row = w.space_row(space)
    first, last = quarterly_rules.quarter_days(year, quarter)
    rb = rules.for_space(w, row)
    due = rbook.quarterly_report_due(rb, w.calendar, year=year, quarter=quarter)
    out: list[dict[str, Any]] = []
    for f in w.uow.quarterly.filings(row.id, year, quarter, first, last):
        first_on = (
            None if f.first_submitted_at is None else w.calendar.local_date(f.first_submitted_at)
        )
        standing = _standing(w, f.due_on or due.on, first_on)
        out.append(
            {
                "tenancy_id": f.tenancy_id,
                "firm": f.firm_name,
                "uscc": f.uscc,
                "state": f.state,
                **standing,
                "first_submitted_on": first_on,
                "submitted_at": f.submitted_at,
                "submitted_by": f.submitted_by,
                "figures": f.figures or {},
            }
        )
    counts = {s: sum(1 for r in out if r["status"] == s) for s in STATUS_WORDS}
    return {
        "space": row.code,
        "space_id": row.id,
        "space_name": row.name,
        "year": year,
        "quarter": quarter,
        "due_on": due.on,
        **provisional_words(due.on, due.provisional),
        "counts": counts,
        "filings": out,
    }


def filings(
    w: Work, *, space: str | None = None, year: int | None = None, quarter: int | None = None
) -> list[dict[str, Any]]:
    """The quarter's filings of one space, or of every space (in code order)."""
    year, quarter = quarter_of(w, year, quarter)
    codes = [space] if space else sorted(s.code for s in w.uow.cohorts.spaces())
    return [space_filings(w, space=code, year=year, quarter=quarter) for code in codes]


def _standing(w: Work, due_on: date, first_on: date | None) -> dict[str, Any]:
    """Where a report stands against its due date (the one recorded when filed, else the
    quarter's), in words, and whether that date is provisional: filed on time or late, not
    filed yet or missing, judged by :func:`workflows.quarterly_rules.in_time`."""
    day = w.today if first_on is None else first_on
    timely = quarterly_rules.in_time(w.calendar, day, due_on)
    if first_on is None:
        status = "awaiting" if timely else "missing"
    else:
        status = "filed" if timely else "late"
    zh, en = STATUS_WORDS[status]
    provisional = quarterly_rules.rolled(w.calendar, due_on) is None
    return {
        "status": status,
        "status_zh": zh,
        "status_en": en,
        "due_on": due_on,
        **provisional_words(due_on, provisional),
    }


def provisional_words(due_on: date, provisional: bool) -> dict[str, Any]:
    """Whether a due date is provisional (the unrolled calendar date: its year's holidays are
    not published) and, if so, the words that say so (zh-CN, en; empty otherwise)."""
    zh, en = ("", "")
    if provisional:
        zh = f"（{due_on.year} 年放假安排未公布，截止日暂按日历日计）"
        en = f" (provisional: the {due_on.year} holidays are not published)"
    return {"due_provisional": provisional, "provisional_zh": zh, "provisional_en": en}


def report(w: Work, *, tenancy_id: int, year: int, quarter: int) -> dict[str, Any] | None:
    """A tenancy's report of a quarter, as filed (None: not filed)."""
    found = w.uow.quarterly.report(tenancy_id, year, quarter)
    if found is None:
        return None
    shown = ("year", "quarter", "figures", "due_on", "submitted_at", "submitted_by")
    return {
        **{name: getattr(found, name) for name in shown},
        "first_submitted_on": w.calendar.local_date(found.first_submitted_at),
    }


# ---- the portal's form ---------------------------------------------------------------------
def _specs(rb: rbook.Rulebook) -> list[Any]:
    """The quarterly form's fields: label, unit and rule, neither scored nor graded."""
    from workflows import forms

    return forms.quarterly_fields(rb)


def firm_quarters(w: Work, *, firm_id: int, last: int = 4) -> list[dict[str, Any]]:
    """The firm's tenancies still occupying their units and, for each, the ``last`` quarters
    ended in its term (newest first) and where each report stands."""
    from sqlmodel import col, select

    from db.tables import Space, Tenancy
    from lifecycle.table import OCCUPYING_STATES

    stmt = (
        select(Tenancy.id, Space.name)
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(col(Tenancy.firm_id) == firm_id, col(Tenancy.state).in_(OCCUPYING_STATES))
        .order_by(col(Tenancy.id))
    )
    out: list[dict[str, Any]] = []
    for tenancy_id, space_name in w.session.exec(stmt).all():
        assert tenancy_id is not None
        year, quarter = quarterly_rules.last_ended(w.today)
        for _ in range(last):
            try:
                form = quarter_form(w, tenancy_id=tenancy_id, year=year, quarter=quarter)
            except InvalidInput:  # before the term: nothing earlier is in it either
                break
            out.append({**form, "space_name": space_name})
            year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return out


def quarter_form(w: Work, *, tenancy_id: int, year: int, quarter: int) -> dict[str, Any]:
    """One quarter's form: the fields (label, unit, rule), the figures filed if any, the due
    date and where the report stands. InvalidInput when the quarter cannot be reported."""
    from lifecycle.table import OCCUPYING_STATES
    from workflows.forms import shown_value

    tenancy = w.tenancy(tenancy_id, lock=False)
    year, quarter = quarterly_rules.check_quarter(year, quarter, w.today)
    quarterly_rules.check_in_term(year, quarter, tenancy.term_start, tenancy.term_end)
    rb = rules.for_tenancy(w, tenancy)
    found = w.uow.quarterly.report(tenancy_id, year, quarter)
    if found is None:
        due = rbook.quarterly_report_due(rb, w.calendar, year=year, quarter=quarter).on
        first_on = None
    else:
        due = found.due_on
        first_on = w.calendar.local_date(found.first_submitted_at)
    return {
        "tenancy_id": tenancy_id,
        "year": year,
        "quarter": quarter,
        "fields": _specs(rb),
        "values": {k: shown_value(v) for k, v in (found.figures if found else {}).items()},
        **_standing(w, due, first_on),
        "first_submitted_on": first_on,
        "submitted_at": found.submitted_at if found else None,
        "open": tenancy.state in OCCUPYING_STATES,
    }


def check_quarter_form(
    w: Work, *, tenancy_id: int, values: dict[str, str]
) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The figures as ``SubmitQuarterlyReport`` takes them, and each bad field's message
    (zh, en), checked field by field as the annual figures form checks them."""
    from workflows import forms

    rb = rules.for_tenancy(w, w.tenancy(tenancy_id, lock=False))
    figures: dict[str, Any] = {}
    problems: dict[str, tuple[str, str]] = {}
    for spec in _specs(rb):
        value, problem = forms.check_figure(rb, spec, values.get(spec.code, ""))
        if problem is not None:
            problems[spec.code] = (problem.expected_zh, problem.expected_en)
        elif value is not None:
            figures[spec.code] = value
    return dict(rbook.jsonable(figures)), problems
