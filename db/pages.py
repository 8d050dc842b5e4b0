"""The reads of the page commands: the cycle board's jobs, a firm's draft figures and its
draft application form.

Like :mod:`db.registry`, each read is a Core statement built once that returns a plain
record: a command changes the rows through :class:`~db.effects.Rows`, never by assignment.
Handlers reach them as ``uow.pages``; ``tests/fakes.py`` keeps the same rows in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, select

from db import tables_cycles  # noqa: F401 - registers cycle_jobs and figure_drafts
from db.repositories import _OnConnection as OnConnection
from db.tables import ALL_TABLES

_J, _FD, _AD, _S = (
    ALL_TABLES.tables[name]
    for name in ("cycle_jobs", "figure_drafts", "application_drafts", "spaces")
)

#: A job still to finish: queued, or running (its runner may have died: see its lease).
LIVE = ("queued", "running")


@dataclass(slots=True)
class CycleJobRow:
    """A ``cycle_jobs`` row (see :class:`db.tables_cycles.CycleJob`)."""

    id: int
    space_id: int
    period: int
    kind: str
    status: str
    total: int
    done: int
    attempts: int
    result: dict[str, Any]
    error: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    lease_until: datetime | None
    finished_at: datetime | None


CYCLE_JOB_COLUMNS = tuple(CycleJobRow.__dataclass_fields__)

_JOB = select(*(_J.c[c] for c in CYCLE_JOB_COLUMNS)).where(_J.c.id == bindparam("job_id"))
_JOB_LOCKED = _JOB.with_for_update()
_LIVE_JOB = (
    select(_J.c.id)
    .where(
        _J.c.space_id == bindparam("space_id"),
        _J.c.period == bindparam("period"),
        _J.c.kind == bindparam("kind"),
        _J.c.status.in_(LIVE),
    )
    .order_by(_J.c.id)
    .limit(1)
)
_SPACE_CODE = select(_S.c.code).where(_S.c.id == bindparam("space_id"))
_FIGURE_DRAFT = select(_FD.c.id).where(
    _FD.c.tenancy_id == bindparam("tenancy_id"), _FD.c.period == bindparam("period")
)
_APPLICATION_DRAFT = select(_AD.c.id).where(_AD.c.firm_id == bindparam("firm_id"))


class Pages(Protocol):
    """The page commands' reads as a unit of work hands them out."""

    def cycle_job(self, job_id: int, *, lock: bool = False) -> CycleJobRow | None: ...
    def live_cycle_job(self, space_id: int, period: int, kind: str) -> int | None: ...
    def space_code(self, space_id: int) -> str | None: ...
    def figure_draft(self, tenancy_id: int, period: int) -> int | None: ...
    def application_draft(self, firm_id: int) -> int | None: ...


class CorePages(OnConnection):
    """:class:`Pages` over the unit of work's connection (asked for at each call)."""

    __slots__ = ()

    def cycle_job(self, job_id: int, *, lock: bool = False) -> CycleJobRow | None:
        """The job; locked ``FOR UPDATE`` (on PostgreSQL) when ``lock``."""
        stmt = _JOB_LOCKED if lock else _JOB
        row = self.connection().execute(stmt, {"job_id": job_id}).first()
        return None if row is None else CycleJobRow(*row)

    def live_cycle_job(self, space_id: int, period: int, kind: str) -> int | None:
        """The id of a job of ``kind`` for the space and period still queued or running."""
        params = {"space_id": space_id, "period": period, "kind": kind}
        return _scalar(self.connection(), _LIVE_JOB, params)

    def space_code(self, space_id: int) -> str | None:
        found = self.connection().execute(_SPACE_CODE, {"space_id": space_id}).scalar()
        return None if found is None else str(found)

    def figure_draft(self, tenancy_id: int, period: int) -> int | None:
        """The id of the tenancy's draft figures for ``period``, if any."""
        params = {"tenancy_id": tenancy_id, "period": period}
        return _scalar(self.connection(), _FIGURE_DRAFT, params)

    def application_draft(self, firm_id: int) -> int | None:
        """The id of the firm's draft application form, if any."""
        return _scalar(self.connection(), _APPLICATION_DRAFT, {"firm_id": firm_id})


def _scalar(conn: Connection, stmt: Any, params: dict[str, Any]) -> int | None:
    found = conn.execute(stmt, params).scalar()
    return None if found is None else int(found)
