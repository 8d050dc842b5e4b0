"""The reads of the residency and exit commands: open cases, rectifications, violations in
their cure period, a tenancy's audited facts (waivers, benefits, the deposit) and its units.

Like :mod:`db.repositories`, each read is a Core statement built once that returns plain
records: a command changes them through :class:`~db.effects.Effects`, never by assignment.
Handlers reach them as ``uow.cases``; ``tests/fakes.py`` keeps the same rows in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, select

from db.repositories import REVIEW_COLUMNS, ReviewRow, core_repository, first, pending_due_on
from db.tables import ALL_TABLES

_X = ALL_TABLES.tables["exit_cases"]
_RC = ALL_TABLES.tables["rectifications"]
_V = ALL_TABLES.tables["violations"]
_E = ALL_TABLES.tables["audit_events"]
_A = ALL_TABLES.tables["allocations"]


@dataclass(slots=True)
class ExitCaseRow:
    id: int
    tenancy_id: int
    exit_type: str
    grounds: str | None
    facts: str | None
    proof_of_service: str | None
    served_at: datetime | None
    objection_due_on: date | None
    objection: str | None
    ruling: str | None
    vacate_due_on: date | None
    handed_over_at: datetime | None
    checklist: dict[str, Any]
    settlement: dict[str, Any]
    status: str
    rulebook_version: str | None
    created_at: datetime


@dataclass(slots=True)
class RectificationRow:
    id: int
    tenancy_id: int
    review_id: int | None
    defects: str
    plan_due_on: date
    plan: str | None
    due_on: date
    extended: bool
    status: str
    created_at: datetime


@dataclass(slots=True)
class ViolationRow:
    id: int
    tenancy_id: int
    code: str
    facts: str
    evidence: str | None
    cure_due_on: date | None
    status: str
    reported_at: datetime


@dataclass(slots=True)
class EventRow:
    """What a command reads of an audit event: its place in the chain and its data."""

    seq: int
    trigger: str
    from_state: str | None
    data: dict[str, Any]
    occurred_at: datetime | None = None


@dataclass(slots=True)
class AllocationRow:
    id: int
    unit_id: int


EXIT_CASE_COLUMNS = tuple(ExitCaseRow.__dataclass_fields__)
RECTIFICATION_COLUMNS = tuple(RectificationRow.__dataclass_fields__)
VIOLATION_COLUMNS = tuple(ViolationRow.__dataclass_fields__)
EVENT_COLUMNS = tuple(EventRow.__dataclass_fields__)

_OPEN_CASE = (
    select(*(_X.c[n] for n in EXIT_CASE_COLUMNS))
    .where(_X.c.tenancy_id == bindparam("tenancy_id"), _X.c.status == "open")
    .order_by(_X.c.id.desc())
    .limit(1)
)
_OPEN_RECTIFICATION = (
    select(*(_RC.c[n] for n in RECTIFICATION_COLUMNS))
    .where(_RC.c.tenancy_id == bindparam("tenancy_id"), _RC.c.status == "open")
    .order_by(_RC.c.id.desc())
    .limit(1)
)
_CURING = select(*(_V.c[n] for n in VIOLATION_COLUMNS)).where(
    _V.c.tenancy_id == bindparam("tenancy_id"),
    _V.c.status == "open",
    _V.c.cure_due_on.is_not(None),
)
_CURING_ALL = _CURING.order_by(_V.c.id)
_CURING_OF_CODE = _CURING.where(_V.c.code == bindparam("code")).order_by(_V.c.id)
_UNCURED_OF_CODE = (
    select(*(_V.c[n] for n in VIOLATION_COLUMNS))
    .where(
        _V.c.tenancy_id == bindparam("tenancy_id"),
        _V.c.code == bindparam("code"),
        _V.c.status != "cured",
    )
    .order_by(_V.c.id)
)
_EVENTS = (
    select(*(_E.c[n] for n in EVENT_COLUMNS))
    .where(
        _E.c.tenancy_id == bindparam("tenancy_id"),
        _E.c.trigger.in_(bindparam("triggers", expanding=True)),
    )
    .order_by(_E.c.seq)
)
_R = ALL_TABLES.tables["reviews"]
_REVIEW_BY_ID = select(*(_R.c[n] for n in REVIEW_COLUMNS)).where(_R.c.id == bindparam("id"))
_VIOLATION_BY_ID = select(*(_V.c[n] for n in VIOLATION_COLUMNS)).where(_V.c.id == bindparam("id"))
_D = ALL_TABLES.tables["deadlines"]
_PENDING_OF_SUBJECT = (
    select(_D.c.id)
    .where(
        _D.c.status == "pending",
        _D.c.tenancy_id == bindparam("tenancy_id"),
        _D.c.kind == bindparam("kind"),
        _D.c.subject_id == bindparam("subject_id"),
    )
    .order_by(_D.c.id)
)
_OPEN_ALLOCATIONS = (
    select(_A.c.id, _A.c.unit_id)
    .where(_A.c.tenancy_id == bindparam("tenancy_id"), _A.c.end_on.is_(None))
    .order_by(_A.c.id)
)


def open_exit_case(conn: Connection, tenancy_id: int) -> ExitCaseRow | None:
    """The tenancy's newest exit case still open."""
    return first(conn, _OPEN_CASE, {"tenancy_id": tenancy_id}, ExitCaseRow)


def open_rectification(conn: Connection, tenancy_id: int) -> RectificationRow | None:
    """The tenancy's newest rectification still open."""
    return first(conn, _OPEN_RECTIFICATION, {"tenancy_id": tenancy_id}, RectificationRow)


def open_cure(conn: Connection, tenancy_id: int, code: str | None = None) -> list[ViolationRow]:
    """Open violations with a cure period (of ``code``, when given), oldest first; whether
    the period is still running is the caller's question (it knows today)."""
    if code is None:
        rows = conn.execute(_CURING_ALL, {"tenancy_id": tenancy_id})
    else:
        rows = conn.execute(_CURING_OF_CODE, {"tenancy_id": tenancy_id, "code": code})
    return [ViolationRow(*r) for r in rows]


def uncured(conn: Connection, tenancy_id: int, code: str) -> list[ViolationRow]:
    """Violations of ``code`` that were not cured (open, or escalated by an exit notice),
    oldest first, with a cure period or without one: the record an exit notice on ``code``
    rests on (those with a period), and what serving it escalates (those still open)."""
    rows = conn.execute(_UNCURED_OF_CODE, {"tenancy_id": tenancy_id, "code": code})
    return [ViolationRow(*r) for r in rows]


def pending_of_subject(conn: Connection, tenancy_id: int, kind: str, subject_id: int) -> list[int]:
    """The ids of the tenancy's pending deadlines of ``kind`` about ``subject_id`` (a cure
    period's deadline names its violation)."""
    params = {"tenancy_id": tenancy_id, "kind": kind, "subject_id": subject_id}
    return [int(r[0]) for r in conn.execute(_PENDING_OF_SUBJECT, params)]


def events(conn: Connection, tenancy_id: int, triggers: Sequence[str]) -> list[EventRow]:
    """The tenancy's audit events with one of ``triggers``, in chain order."""
    params = {"tenancy_id": tenancy_id, "triggers": list(triggers)}
    return [EventRow(*r) for r in conn.execute(_EVENTS, params)]


def open_allocations(conn: Connection, tenancy_id: int) -> list[AllocationRow]:
    """The units the tenancy holds now (allocations not ended)."""
    rows = conn.execute(_OPEN_ALLOCATIONS, {"tenancy_id": tenancy_id})
    return [AllocationRow(*r) for r in rows]


def review(conn: Connection, review_id: int) -> ReviewRow | None:
    """A review by id (a deadline names it as its subject)."""
    return first(conn, _REVIEW_BY_ID, {"id": review_id}, ReviewRow)


def violation(conn: Connection, violation_id: int) -> ViolationRow | None:
    """A violation by id (a cure period's deadline names it as its subject)."""
    return first(conn, _VIOLATION_BY_ID, {"id": violation_id}, ViolationRow)


class Cases(Protocol):
    """The residency and exit reads as a unit of work hands them out (``uow.cases``)."""

    def open_exit_case(self, tenancy_id: int) -> ExitCaseRow | None: ...
    def open_rectification(self, tenancy_id: int) -> RectificationRow | None: ...
    def open_cure(self, tenancy_id: int, code: str | None = None) -> list[ViolationRow]: ...
    def uncured(self, tenancy_id: int, code: str) -> list[ViolationRow]: ...
    def pending_of_subject(self, tenancy_id: int, kind: str, subject_id: int) -> list[int]: ...
    def events(self, tenancy_id: int, triggers: Sequence[str]) -> list[EventRow]: ...
    def open_allocations(self, tenancy_id: int) -> list[AllocationRow]: ...
    def pending_due_on(self, tenancy_id: int, kind: str) -> date | None: ...
    def review(self, review_id: int) -> ReviewRow | None: ...
    def violation(self, violation_id: int) -> ViolationRow | None: ...


CoreCases = core_repository(Cases, globals(), pending_due_on=pending_due_on)
