"""The quarter's light reports of a space as a list: who filed on time, who filed late, who
has not filed yet (before the due date) and whose report is missing (after it).

One query per space (``uow.quarterly.filings``: the space's tenancies resident in the quarter,
with their report if any). A report's own due date is the one it was filed against; a tenancy
that has not filed is judged against the due date of the space's active rulebook.
"""

from __future__ import annotations

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
    due = rbook.quarterly_report_due_on(rb, w.calendar, year=year, quarter=quarter)
    out: list[dict[str, Any]] = []
    for f in w.uow.quarterly.filings(row.id, year, quarter, first, last):
        if f.first_submitted_at is None:
            status = "missing" if w.today > due else "awaiting"
            due_on, first_on = due, None
        else:
            due_on = f.due_on or due
            first_on = w.calendar.local_date(f.first_submitted_at)
            status = "filed" if quarterly_rules.in_time(first_on, due_on) else "late"
        out.append(
            {
                "tenancy_id": f.tenancy_id,
                "firm": f.firm_name,
                "uscc": f.uscc,
                "state": f.state,
                "status": status,
                "status_zh": STATUS_WORDS[status][0],
                "status_en": STATUS_WORDS[status][1],
                "due_on": due_on,
                "first_submitted_on": first_on,
                "submitted_at": f.submitted_at,
                "submitted_by": f.submitted_by,
                "figures": f.figures or {},
            }
        )
    counts = {s: sum(1 for r in out if r["status"] == s) for s in STATUS_WORDS}
    return {
        "space": row.code,
        "space_name": row.name,
        "year": year,
        "quarter": quarter,
        "due_on": due,
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


def report(w: Work, *, tenancy_id: int, year: int, quarter: int) -> dict[str, Any] | None:
    """A tenancy's report of a quarter, as filed (None: not filed)."""
    found = w.uow.quarterly.report(tenancy_id, year, quarter)
    if found is None:
        return None
    return {
        "year": found.year,
        "quarter": found.quarter,
        "figures": found.figures,
        "due_on": found.due_on,
        "first_submitted_on": w.calendar.local_date(found.first_submitted_at),
        "submitted_at": found.submitted_at,
        "submitted_by": found.submitted_by,
    }
