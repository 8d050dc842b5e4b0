"""The reads of quarterly light reports (RULEBOOK §3): one report, the tenancies a quarter's
deadlines are still to be planned for, and a space's quarter as a list.

Like :mod:`db.queues`, each read is a Core statement built once that returns plain records;
a command writes reports through :class:`~db.effects.Effects` (an insert, an update by id).
Handlers reach them as ``uow.quarterly``; ``tests/fakes.py`` keeps the same rows in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, and_, bindparam, exists, func, select

from db.repositories import core_repository, first
from db.tables import ALL_TABLES
from lifecycle.table import OCCUPYING_STATES

_Q, _T, _S, _D, _F = (
    ALL_TABLES.tables[name]
    for name in ("quarterly_reports", "tenancies", "spaces", "deadlines", "firms")
)
#: The deadline that plans a quarter for a tenancy: its subject is :func:`quarter_key`.
PLANNED_KIND = "quarterly_report_due"


def quarter_key(year: int, quarter: int) -> int:
    """A quarter as one number (2026 Q1 -> 20261): the subject of its deadlines."""
    return year * 10 + quarter


@dataclass(slots=True)
class QuarterlyRow:
    id: int
    tenancy_id: int
    year: int
    quarter: int
    figures: dict[str, Any]
    due_on: date
    first_submitted_at: datetime
    submitted_at: datetime
    submitted_by: str
    rulebook_version: str | None


@dataclass(slots=True)
class PlanRow:
    """A tenancy still occupying its unit whose quarter is not planned yet, and the rulebook
    it reports under (its own, or its space's active one)."""

    tenancy_id: int
    rulebook_version: str | None


@dataclass(slots=True)
class FilingRow:
    """One tenancy of a space in a quarter, filed or not (``report_id`` None: not)."""

    tenancy_id: int
    firm_name: str
    uscc: str
    state: str
    report_id: int | None
    due_on: date | None
    first_submitted_at: datetime | None
    submitted_at: datetime | None
    submitted_by: str | None
    figures: dict[str, Any] | None


QUARTERLY_COLUMNS = tuple(QuarterlyRow.__dataclass_fields__)
_REPORT = select(*(_Q.c[n] for n in QUARTERLY_COLUMNS)).where(
    _Q.c.tenancy_id == bindparam("tenancy_id"),
    _Q.c.year == bindparam("year"),
    _Q.c.quarter == bindparam("quarter"),
)
# Its term covers some day of the quarter and the firm still occupies its unit (resident, or on
# its way out until the handover), its quarter neither planned nor filed: a chunk in id order
# (the sweep's batch, keyed on the last id taken).
_TO_PLAN = (
    select(_T.c.id, func.coalesce(_T.c.rulebook_version, _S.c.rulebook_version))
    .join(_S, _S.c.id == _T.c.space_id)
    .where(
        _T.c.state.in_(sorted(OCCUPYING_STATES)),
        _T.c.id > bindparam("after"),
        _T.c.term_start.is_not(None),
        _T.c.term_start <= bindparam("last_day"),
        (_T.c.term_end.is_(None)) | (_T.c.term_end >= bindparam("first_day")),
        ~exists().where(
            _D.c.tenancy_id == _T.c.id,
            _D.c.kind == PLANNED_KIND,
            _D.c.subject_id == bindparam("key"),
        ),
        ~exists().where(
            _Q.c.tenancy_id == _T.c.id,
            _Q.c.year == bindparam("year"),
            _Q.c.quarter == bindparam("quarter"),
        ),
    )
    .order_by(_T.c.id)
    .limit(bindparam("limit"))
)
_FILINGS = (
    select(
        _T.c.id,
        _F.c.name,
        _F.c.uscc,
        _T.c.state,
        _Q.c.id,
        _Q.c.due_on,
        _Q.c.first_submitted_at,
        _Q.c.submitted_at,
        _Q.c.submitted_by,
        _Q.c.figures,
    )
    .join(_F, _F.c.id == _T.c.firm_id)
    .outerjoin(
        _Q,
        and_(
            _Q.c.tenancy_id == _T.c.id,
            _Q.c.year == bindparam("year"),
            _Q.c.quarter == bindparam("quarter"),
        ),
    )
    .where(
        _T.c.space_id == bindparam("space_id"),
        _T.c.term_start.is_not(None),
        _T.c.term_start <= bindparam("last_day"),
        (_T.c.term_end.is_(None)) | (_T.c.term_end >= bindparam("first_day")),
        _T.c.state.in_(sorted(OCCUPYING_STATES)) | _Q.c.id.is_not(None),
    )
    .order_by(_T.c.id)
)


def report(conn: Connection, tenancy_id: int, year: int, quarter: int) -> QuarterlyRow | None:
    params = {"tenancy_id": tenancy_id, "year": year, "quarter": quarter}
    return first(conn, _REPORT, params, QuarterlyRow)


def to_plan(
    conn: Connection,
    year: int,
    quarter: int,
    first_day: date,
    last_day: date,
    after: int,
    limit: int,
) -> list[PlanRow]:
    params = {
        "year": year,
        "quarter": quarter,
        "key": quarter_key(year, quarter),
        "first_day": first_day,
        "last_day": last_day,
        "after": after,
        "limit": limit,
    }
    return [PlanRow(*row) for row in conn.execute(_TO_PLAN, params)]


def filings(
    conn: Connection, space_id: int, year: int, quarter: int, first_day: date, last_day: date
) -> list[FilingRow]:
    """The space's tenancies whose term covers some day of the quarter and whose firm still
    occupies its unit (``OCCUPYING_STATES``), and any other that filed for it, in id order."""
    params = {
        "space_id": space_id,
        "year": year,
        "quarter": quarter,
        "first_day": first_day,
        "last_day": last_day,
    }
    return [FilingRow(*row) for row in conn.execute(_FILINGS, params)]


class QuarterlyReports(Protocol):
    """``uow.quarterly``: the reads of :mod:`db.quarterly`."""

    def report(self, tenancy_id: int, year: int, quarter: int) -> QuarterlyRow | None: ...
    def to_plan(
        self, year: int, quarter: int, first_day: date, last_day: date, after: int, limit: int
    ) -> list[PlanRow]: ...
    def filings(
        self, space_id: int, year: int, quarter: int, first_day: date, last_day: date
    ) -> list[FilingRow]: ...


CoreQuarterlyReports = core_repository(QuarterlyReports, globals())
