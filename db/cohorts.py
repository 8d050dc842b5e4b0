"""Cohort reads: the many rows a cycle, a ledger or a report loads at once.

The batch path is "load many, decide each, write many"; these are its "load many" for the
review cycle (who a cycle opens, what it leaves alone), for the operators' ledgers (a space's
tenancies with their firms, their units, reviews and exit cases), for the figures sheet and
for the operators' daily digest (what waits for them, and how much).
Like :mod:`db.pages`, each read is a Core statement built once that returns plain records.
Workflows reach them as ``uow.cohorts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, Table, bindparam, exists, func, select

from db.cases import EXIT_CASE_COLUMNS, ExitCaseRow
from db.effects import TENANCY_COLUMNS, TenancyRow
from db.registry import SPACE_COLUMNS, SpaceRow
from db.repositories import FIRM_COLUMNS, REVIEW_COLUMNS, FirmRow, ReviewRow
from db.repositories import _OnConnection as OnConnection
from db.tables import ALL_TABLES
from lifecycle.table import ACTIVE, EXIT_NOTICE, PUBLICITY, RECTIFYING, VACATING

_NAMES = ("tenancies", "reviews", "firms", "spaces", "allocations", "units", "exit_cases")
_T, _R, _F, _S, _A, _U, _X = (ALL_TABLES.tables[name] for name in _NAMES)
_RC, _D = ALL_TABLES.tables["rectifications"], ALL_TABLES.tables["deadlines"]
_O = ALL_TABLES.tables["outbox"]


def cycle_candidates(space_id: int, period: int) -> tuple[ColumnElement[bool], ...]:
    """Who a cycle opens: active tenancies of the space whose term began by the period's end,
    without the period's review (``workflows.batch.candidates`` opens the same ones)."""
    return (
        _T.c.space_id == space_id,
        _T.c.state == ACTIVE,
        _T.c.term_start <= date(period, 12, 31),
        ~_reviewed(period),
    )


def _reviewed(period: int) -> Any:
    return exists().where(_R.c.tenancy_id == _T.c.id, _R.c.period == period)


@dataclass(slots=True)
class CycleSurvey:
    """What a cycle will and will not touch in a space: tenancies that have the period's
    review; those without it by state; active ones whose term began after the period; the
    candidates."""

    already_open: int
    by_state: dict[str, int]
    not_started: int
    eligible: int


_SPACES = select(*(_S.c[n] for n in SPACE_COLUMNS)).order_by(_S.c.id)
_MEMBERS = (
    select(*(_T.c[n] for n in TENANCY_COLUMNS), *(_F.c[n] for n in FIRM_COLUMNS))
    .join(_F, _F.c.id == _T.c.firm_id)
    .where(_T.c.space_id == bindparam("space_id"))
    .order_by(_T.c.id)
)
_HELD = (
    select(_A.c.tenancy_id, _U.c.code, _A.c.area_m2)
    .join(_U, _U.c.id == _A.c.unit_id)
    .where(_A.c.tenancy_id.in_(bindparam("ids", expanding=True)), _A.c.end_on.is_(None))
    .order_by(_U.c.code)
)
_REVIEWS = select(*(_R.c[n] for n in REVIEW_COLUMNS)).where(
    _R.c.tenancy_id.in_(bindparam("ids", expanding=True))
)
_EXIT_CASES = (
    select(*(_X.c[n] for n in EXIT_CASE_COLUMNS))
    .where(_X.c.tenancy_id.in_(bindparam("ids", expanding=True)))
    .order_by(_X.c.id)
)
_FIGURES_COHORT = (
    select(_F.c.uscc, _F.c.name)
    .join(_T, _T.c.firm_id == _F.c.id)
    .join(_R, _R.c.tenancy_id == _T.c.id)
    .where(
        _T.c.space_id == bindparam("space_id"),
        _R.c.period == bindparam("period"),
        _R.c.status.in_(("open", "submitted")),
    )
    .order_by(_T.c.id)
)


@dataclass(slots=True)
class Waiting:
    """Something waiting for an operator: the tenancy, its firm's name, its space's code, the
    day it fell due, and for a review its period, for a deadline its kind and payload."""

    tenancy_id: int
    firm: str
    space: str
    due_on: date | None
    period: int | None = None
    kind: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DigestCounts:
    """Of a space: reviews still open past their deadline; deadlines pending today; dead
    messages (about its tenancies, or about the space itself)."""

    overdue_reviews: int = 0
    due_today: int = 0
    dead_messages: int = 0


def _waiting(table: Table, *columns: Any, where: tuple[Any, ...], order: Any) -> Select[Any]:
    """(tenancy id, firm name, space code, ``columns``) of the rows of ``table`` (a table of
    rows that belong to a tenancy) matching ``where``, by ``order``."""
    tenancy = _T.join(_F, _F.c.id == _T.c.firm_id).join(_S, _S.c.id == _T.c.space_id)
    return (
        select(_T.c.id, _F.c.name, _S.c.code, *columns)
        .select_from(tenancy.join(table, table.c.tenancy_id == _T.c.id))
        .where(*where)
        .order_by(order)
    )


_SUBMITTED = _waiting(
    _R, _R.c.due_on, _R.c.period, where=(_R.c.status == "submitted",), order=_R.c.submitted_at
)
#: Open cases whose window ended before ``day`` while the tenancy still waits in their state.
_OVERDUE = {
    kind: _waiting(
        table,
        ended,
        where=(table.c.status == "open", _T.c.state == state, ended < bindparam("day")),
        order=ended,
    )
    for kind, table, state, ended in (
        ("rectification", _RC, RECTIFYING, _RC.c.due_on),
        ("objection", _X, EXIT_NOTICE, _X.c.objection_due_on),
        ("vacating", _X, VACATING, _X.c.vacate_due_on),
    )
}
_PUBLICITY_ENDED = _waiting(
    _D,
    _D.c.due_on,
    where=(_D.c.kind == "publicity_end", _D.c.status == "done", _T.c.state == PUBLICITY),
    order=_D.c.due_at,
)
_FAILED = _waiting(
    _D, _D.c.due_on, _D.c.kind, _D.c.payload, where=(_D.c.status == "failed",), order=_D.c.due_at
)


def _by_space(table: Table, *where: Any) -> Select[Any]:
    """(space id, count) of the rows of ``table`` (rows of a tenancy) matching ``where``."""
    return (
        select(_T.c.space_id, func.count())
        .select_from(table.join(_T, _T.c.id == table.c.tenancy_id))
        .where(*where)
        .group_by(_T.c.space_id)
    )


_OVERDUE_REVIEWS = _by_space(_R, _R.c.status == "open", _R.c.due_on < bindparam("day"))
_DUE_TODAY = _by_space(_D, _D.c.status == "pending", _D.c.due_on == bindparam("day"))
_PENDING_FROM = _by_space(_D, _D.c.status == "pending", _D.c.due_on >= bindparam("day"))
#: A notice's space: its tenancy's, else its own (a space's digest); NULL: about no space.
_NOTICE_SPACE = func.coalesce(_T.c.space_id, _O.c.space_id)
_DEAD = (
    select(_NOTICE_SPACE, func.count())
    .select_from(_O.outerjoin(_T, _T.c.id == _O.c.tenancy_id))
    .where(_O.c.status == "dead")
    .group_by(_NOTICE_SPACE)
)


class Cohorts(Protocol):
    """The cohort reads as a unit of work hands them out (``uow.cohorts``)."""

    def cycle_survey(self, space_id: int, period: int) -> CycleSurvey: ...
    def cycle_candidates(
        self, space_id: int, period: int, *, after: int = 0, limit: int | None = None
    ) -> list[int]: ...
    def spaces(self) -> list[SpaceRow]: ...
    def members(self, space_id: int) -> list[tuple[TenancyRow, FirmRow]]: ...
    def held_units(self, tenancy_ids: Sequence[int]) -> list[tuple[int, str, float]]: ...
    def reviews(self, tenancy_ids: Sequence[int], period: int | None = None) -> list[ReviewRow]: ...
    def exit_cases(self, tenancy_ids: Sequence[int]) -> list[ExitCaseRow]: ...
    def figures_cohort(self, space_id: int, period: int) -> list[tuple[str, str]]: ...
    def reviews_submitted(self) -> list[Waiting]: ...
    def cases_overdue(self, kind: str, day: date) -> list[Waiting]: ...
    def publicity_ended(self) -> list[Waiting]: ...
    def deadlines_failed(self) -> list[Waiting]: ...
    def digest_counts(self, day: date) -> dict[int, DigestCounts]: ...
    def deadlines_pending_from(self, day: date) -> dict[int, int]: ...


class CoreCohorts(OnConnection):
    """:class:`Cohorts` over the unit of work's connection (asked for at each call)."""

    __slots__ = ()

    def cycle_survey(self, space_id: int, period: int) -> CycleSurvey:
        conn = self.connection()
        reviewed = _reviewed(period)
        in_space = select(func.count()).select_from(_T).where(_T.c.space_id == space_id)
        by_state = conn.execute(
            select(_T.c.state, func.count())
            .where(_T.c.space_id == space_id, ~reviewed)
            .group_by(_T.c.state)
        )
        not_started = in_space.where(
            _T.c.state == ACTIVE,
            ~reviewed,
            (_T.c.term_start > date(period, 12, 31)) | _T.c.term_start.is_(None),
        )
        eligible = select(func.count()).select_from(
            select(_T.c.id).where(*cycle_candidates(space_id, period)).subquery()
        )
        return CycleSurvey(
            already_open=conn.execute(in_space.where(reviewed)).scalar_one(),
            by_state={state: n for state, n in by_state},
            not_started=conn.execute(not_started).scalar_one(),
            eligible=conn.execute(eligible).scalar_one(),
        )

    def cycle_candidates(
        self, space_id: int, period: int, *, after: int = 0, limit: int | None = None
    ) -> list[int]:
        """The ids of the cycle's candidates (:func:`cycle_candidates`) above ``after``, in
        id order, ``limit`` at the most."""
        stmt = (
            select(_T.c.id)
            .where(*cycle_candidates(space_id, period), _T.c.id > after)
            .order_by(_T.c.id)
            .limit(limit)
        )
        return list(self.connection().execute(stmt).scalars())

    def spaces(self) -> list[SpaceRow]:
        """Every space, by id."""
        return [SpaceRow(*row) for row in self.connection().execute(_SPACES)]

    def members(self, space_id: int) -> list[tuple[TenancyRow, FirmRow]]:
        """Every tenancy of the space with its firm, by id."""
        width = len(TENANCY_COLUMNS)
        rows = self.connection().execute(_MEMBERS, {"space_id": space_id})
        return [(TenancyRow(*row[:width]), FirmRow(*row[width:])) for row in rows]

    def held_units(self, tenancy_ids: Sequence[int]) -> list[tuple[int, str, float]]:
        """(tenancy id, unit code, allocated m²) of the units the tenancies hold now, by code."""
        rows = self.connection().execute(_HELD, {"ids": list(tenancy_ids)})
        return [(tenancy_id, code, area) for tenancy_id, code, area in rows]

    def reviews(self, tenancy_ids: Sequence[int], period: int | None = None) -> list[ReviewRow]:
        """The tenancies' reviews (of ``period``, when given), by period then tenancy."""
        stmt = _REVIEWS if period is None else _REVIEWS.where(_R.c.period == period)
        params = {"ids": list(tenancy_ids)}
        rows = self.connection().execute(stmt.order_by(_R.c.period, _R.c.tenancy_id), params)
        return [ReviewRow(*row) for row in rows]

    def exit_cases(self, tenancy_ids: Sequence[int]) -> list[ExitCaseRow]:
        """The tenancies' exit cases, by id."""
        rows = self.connection().execute(_EXIT_CASES, {"ids": list(tenancy_ids)})
        return [ExitCaseRow(*row) for row in rows]

    def figures_cohort(self, space_id: int, period: int) -> list[tuple[str, str]]:
        """(uscc, name) of each firm whose ``period`` review in the space is open or
        submitted, by tenancy."""
        params = {"space_id": space_id, "period": period}
        return [(uscc, name) for uscc, name in self.connection().execute(_FIGURES_COHORT, params)]

    # ---- the operators' daily digest ---------------------------------------------------------
    def reviews_submitted(self) -> list[Waiting]:
        """Reviews submitted and waiting for a decision, by submission."""
        rows = self.connection().execute(_SUBMITTED)
        return [Waiting(t, firm, space, due_on, period=n) for t, firm, space, due_on, n in rows]

    def cases_overdue(self, kind: str, day: date) -> list[Waiting]:
        """Open cases whose window ended before ``day`` while the tenancy still waits in their
        state, by that day: ``rectification`` (its due day, the tenancy rectifying),
        ``objection`` (an exit case's objection window, in exit notice) or ``vacating`` (its
        vacate-by day, vacating)."""
        rows = self.connection().execute(_OVERDUE[kind], {"day": day})
        return [Waiting(*row) for row in rows]

    def publicity_ended(self) -> list[Waiting]:
        """Tenancies still in publicity whose publicity deadline is done, by its due time."""
        return [Waiting(*row) for row in self.connection().execute(_PUBLICITY_ENDED)]

    def deadlines_failed(self) -> list[Waiting]:
        """Deadlines whose automatic handling failed, by due time."""
        rows = self.connection().execute(_FAILED)
        return [
            Waiting(t, firm, space, due_on, kind=kind, payload=payload)
            for t, firm, space, due_on, kind, payload in rows
        ]

    def digest_counts(self, day: date) -> dict[int, DigestCounts]:
        """Each space's counts (by space id; a space with none is left out)."""
        conn, params = self.connection(), {"day": day}
        out: dict[int, DigestCounts] = {}
        for name, stmt in (
            ("overdue_reviews", _OVERDUE_REVIEWS),
            ("due_today", _DUE_TODAY),
            ("dead_messages", _DEAD),
        ):
            for space_id, n in conn.execute(stmt, params):
                if space_id is not None:  # a dead notice about no space is in no space's
                    setattr(out.setdefault(space_id, DigestCounts()), name, int(n))
        return out

    def deadlines_pending_from(self, day: date) -> dict[int, int]:
        """How many deadlines of each space (by id) are pending with a due day on or after
        ``day``; a space with none is left out."""
        rows = self.connection().execute(_PENDING_FROM, {"day": day})
        return {space_id: int(n) for space_id, n in rows}
