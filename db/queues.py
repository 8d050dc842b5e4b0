"""The reads of the queues an operator or the sweep works through: deadlines and outbox rows.

Like :mod:`db.repositories`, each read is a Core statement built once that returns plain
records; a command changes them through :class:`~db.effects.Rows` (an update by id), never by
assignment. Handlers reach them as ``uow.queues``; ``tests/fakes.py`` keeps the same rows in
memory.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, exists, select

from db.repositories import _OnConnection as OnConnection
from db.tables import ALL_TABLES

_D, _O = ALL_TABLES.tables["deadlines"], ALL_TABLES.tables["outbox"]


@dataclass(slots=True)
class DeadlineRow:
    id: int
    kind: str
    tenancy_id: int
    subject_id: int | None
    due_on: date
    due_at: datetime
    status: str
    dedupe_key: str
    payload: dict[str, Any]
    created_at: datetime
    done_at: datetime | None


@dataclass(slots=True)
class NoticeRow:
    """What retrying an outbox row reads of it."""

    id: int
    tenancy_id: int | None
    message: str
    status: str


DEADLINE_COLUMNS = tuple(DeadlineRow.__dataclass_fields__)
NOTICE_COLUMNS = tuple(NoticeRow.__dataclass_fields__)

_DEADLINES = select(*(_D.c[n] for n in DEADLINE_COLUMNS))
_DEADLINE = _DEADLINES.where(_D.c.id == bindparam("id"))
_PENDING = _DEADLINE.where(_D.c.status == "pending")
_CLAIM = _PENDING.with_for_update(skip_locked=True)
_FAILED = _DEADLINES.where(_D.c.status == "failed").order_by(_D.c.id)
_FAILED_OF = _FAILED.where(_D.c.id.in_(bindparam("ids", expanding=True)))
_DUE = (
    select(_D.c.id)
    .where(_D.c.status == "pending", _D.c.due_at <= bindparam("until"))
    .order_by(_D.c.due_at, _D.c.id)
    .limit(bindparam("limit"))
)
_DUE_SKIPPING = (
    select(_D.c.id)
    .where(
        _D.c.status == "pending",
        _D.c.due_at <= bindparam("until"),
        _D.c.id.not_in(bindparam("skip", expanding=True)),
    )
    .order_by(_D.c.due_at, _D.c.id)
    .limit(bindparam("limit"))
)
_W = _D.alias("warning")
_LAPSES_UNWARNED = _DEADLINES.where(
    _D.c.kind == "agreement_lapse",
    _D.c.status == "pending",
    ~exists().where(
        _W.c.tenancy_id == _D.c.tenancy_id,
        _W.c.kind == "agreement_lapse_warning",
        _W.c.subject_id == _D.c.id,
    ),
)
_KEYED = select(_O.c.id).where(_O.c.dedupe_key == bindparam("key"))
_NOTICES = select(*(_O.c[n] for n in NOTICE_COLUMNS)).order_by(_O.c.id)
_DEAD = _NOTICES.where(_O.c.status == "dead")
_NOTICES_OF = _NOTICES.where(_O.c.id.in_(bindparam("ids", expanding=True)))


def deadline(conn: Connection, deadline_id: int) -> DeadlineRow | None:
    row = conn.execute(_DEADLINE, {"id": deadline_id}).first()
    return None if row is None else DeadlineRow(*row)


def claim(conn: Connection, deadline_id: int) -> DeadlineRow | None:
    """The deadline if it is still pending: on PostgreSQL locked, and None when another
    sweeper holds it (``SKIP LOCKED``)."""
    stmt = _CLAIM if conn.dialect.name == "postgresql" else _PENDING
    row = conn.execute(stmt, {"id": deadline_id}).first()
    return None if row is None else DeadlineRow(*row)


def due_ids(conn: Connection, until: datetime, limit: int, skip: Collection[int] = ()) -> list[int]:
    """Pending deadlines due by ``until``, oldest first, but those in ``skip``."""
    params: dict[str, Any] = {"until": until, "limit": limit}
    if skip:
        params["skip"] = list(skip)
    return [int(i) for i in conn.execute(_DUE_SKIPPING if skip else _DUE, params).scalars()]


def failed_deadlines(conn: Connection, ids: Sequence[int] = ()) -> list[DeadlineRow]:
    """Failed deadlines (of ``ids``, when given), by id."""
    rows = conn.execute(_FAILED_OF, {"ids": list(ids)}) if ids else conn.execute(_FAILED)
    return [DeadlineRow(*r) for r in rows]


def lapses_without_warning(conn: Connection) -> list[DeadlineRow]:
    """Pending agreement lapses with no warning deadline planned for them."""
    return [DeadlineRow(*r) for r in conn.execute(_LAPSES_UNWARNED)]


def notices(conn: Connection, ids: Sequence[int] = ()) -> list[NoticeRow]:
    """Outbox rows of ``ids``, or the dead ones when none are given, by id."""
    rows = conn.execute(_NOTICES_OF, {"ids": list(ids)}) if ids else conn.execute(_DEAD)
    return [NoticeRow(*r) for r in rows]


def notice_queued(conn: Connection, key: str) -> bool:
    """Whether a notice was queued under dedupe key ``key``."""
    return conn.execute(_KEYED, {"key": key}).first() is not None


class Queues(Protocol):
    """The queue reads as a unit of work hands them out (``uow.queues``)."""

    def deadline(self, deadline_id: int) -> DeadlineRow | None: ...
    def claim(self, deadline_id: int) -> DeadlineRow | None: ...
    def due_ids(self, until: datetime, limit: int, skip: Collection[int] = ()) -> list[int]: ...
    def failed_deadlines(self, ids: Sequence[int] = ()) -> list[DeadlineRow]: ...
    def lapses_without_warning(self) -> list[DeadlineRow]: ...
    def notices(self, ids: Sequence[int] = ()) -> list[NoticeRow]: ...
    def notice_queued(self, key: str) -> bool: ...


class CoreQueues(OnConnection):
    """:class:`Queues` over the unit of work's connection (asked for at each call)."""

    __slots__ = ()

    def deadline(self, deadline_id: int) -> DeadlineRow | None:
        return deadline(self.connection(), deadline_id)

    def claim(self, deadline_id: int) -> DeadlineRow | None:
        return claim(self.connection(), deadline_id)

    def due_ids(self, until: datetime, limit: int, skip: Collection[int] = ()) -> list[int]:
        return due_ids(self.connection(), until, limit, skip)

    def failed_deadlines(self, ids: Sequence[int] = ()) -> list[DeadlineRow]:
        return failed_deadlines(self.connection(), ids)

    def lapses_without_warning(self) -> list[DeadlineRow]:
        return lapses_without_warning(self.connection())

    def notices(self, ids: Sequence[int] = ()) -> list[NoticeRow]:
        return notices(self.connection(), ids)

    def notice_queued(self, key: str) -> bool:
        return notice_queued(self.connection(), key)
