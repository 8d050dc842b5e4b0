"""The reads of the queues an operator or the sweep works through: deadlines and outbox rows,
and of what notices are rendered with, read in and delivered to: template overrides, inbox
items, integration endpoints.

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

from sqlalchemy import Connection, and_, bindparam, exists, func, select

from db.repositories import core_repository, first
from db.tables import ALL_TABLES

_NAMES = ("deadlines", "outbox", "message_templates", "inbox", "integration_endpoints", "spaces")
_D, _O, _MT, _IN, _EP, _S = (ALL_TABLES.tables[name] for name in _NAMES)


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
_PENDING_OF_KIND = _DEADLINES.where(
    _D.c.tenancy_id == bindparam("tenancy_id"),
    _D.c.kind == bindparam("kind"),
    _D.c.status == "pending",
).order_by(_D.c.due_at, _D.c.id)
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
    return first(conn, _DEADLINE, {"id": deadline_id}, DeadlineRow)


def claim(conn: Connection, deadline_id: int) -> DeadlineRow | None:
    """The deadline if it is still pending: on PostgreSQL locked, and None when another
    sweeper holds it (``SKIP LOCKED``)."""
    stmt = _CLAIM if conn.dialect.name == "postgresql" else _PENDING
    return first(conn, stmt, {"id": deadline_id}, DeadlineRow)


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


def pending_of_kind(conn: Connection, tenancy_id: int, kind: str) -> list[DeadlineRow]:
    """The tenancy's pending deadlines of ``kind``, in due order."""
    params = {"tenancy_id": tenancy_id, "kind": kind}
    return [DeadlineRow(*r) for r in conn.execute(_PENDING_OF_KIND, params)]


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


@dataclass(slots=True)
class TemplateRow:
    """A revision of an operator's override of one part of one message in one locale."""

    name: str
    locale: str
    part: str
    revision: int
    source: str


_PART = (_MT.c.name, _MT.c.locale, _MT.c.part)
_NEWEST = select(*_PART, func.max(_MT.c.revision).label("revision")).group_by(*_PART).subquery()
_TEMPLATES = select(*_PART, _MT.c.revision, _MT.c.source).join(
    _NEWEST,
    and_(*(c == _NEWEST.c[c.name] for c in (*_PART, _MT.c.revision))),
)
_REVISION = select(func.max(_MT.c.revision)).where(*(c == bindparam(c.name) for c in _PART))
_UNREAD = (
    select(_IN.c.id)
    .where(_IN.c.id.in_(bindparam("ids", expanding=True)), _IN.c.read_at.is_(None))
    .order_by(_IN.c.id)
    .with_for_update()
)
_UNREAD_OF_FIRM = _UNREAD.where(_IN.c.firm_id == bindparam("firm_id"))


@dataclass(slots=True)
class EndpointRow:
    """An integration endpoint (a webhook, a group robot) and the code of its space."""

    id: int
    space_id: int
    kind: str
    url: str
    secret: str | None
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None
    space_code: str


ENDPOINT_COLUMNS = tuple(EndpointRow.__dataclass_fields__)[:-1]
_ENDPOINTS = select(*(_EP.c[n] for n in ENDPOINT_COLUMNS), _S.c.code).join(
    _S, _S.c.id == _EP.c.space_id
)
_ENDPOINT = _ENDPOINTS.where(_EP.c.id == bindparam("endpoint_id"))


def endpoint(conn: Connection, endpoint_id: int) -> EndpointRow | None:
    return first(conn, _ENDPOINT, {"endpoint_id": endpoint_id}, EndpointRow)


def endpoints(
    conn: Connection, kinds: Sequence[str], *, space_id: int | None, include_disabled: bool
) -> list[EndpointRow]:
    """The endpoints of these kinds (of one space, when given), oldest first."""
    stmt = _ENDPOINTS.where(_EP.c.kind.in_(list(kinds)))
    if space_id is not None:
        stmt = stmt.where(_EP.c.space_id == space_id)
    if not include_disabled:
        stmt = stmt.where(_EP.c.disabled_at.is_(None))
    return [EndpointRow(*r) for r in conn.execute(stmt.order_by(_EP.c.id))]


def templates(conn: Connection) -> list[TemplateRow]:
    """The newest revision of every overridden (name, locale, part)."""
    return [TemplateRow(*r) for r in conn.execute(_TEMPLATES)]


def template_revision(conn: Connection, name: str, locale: str, part: str) -> int:
    """The newest revision of an override (0: none yet)."""
    params = {"name": name, "locale": locale, "part": part}
    return int(conn.execute(_REVISION, params).scalar() or 0)


def unread_inbox(conn: Connection, ids: Sequence[int], firm_id: int | None) -> list[int]:
    """Which of the inbox items ``ids`` are unread (and, given ``firm_id``, the firm's)."""
    if not ids:
        return []
    if firm_id is None:
        found = conn.execute(_UNREAD, {"ids": list(ids)})
    else:
        found = conn.execute(_UNREAD_OF_FIRM, {"ids": list(ids), "firm_id": firm_id})
    return [int(i) for i in found.scalars()]


class Queues(Protocol):
    """The queue reads as a unit of work hands them out (``uow.queues``)."""

    def deadline(self, deadline_id: int) -> DeadlineRow | None: ...
    def claim(self, deadline_id: int) -> DeadlineRow | None: ...
    def due_ids(self, until: datetime, limit: int, skip: Collection[int] = ()) -> list[int]: ...
    def failed_deadlines(self, ids: Sequence[int] = ()) -> list[DeadlineRow]: ...
    def pending_of_kind(self, tenancy_id: int, kind: str) -> list[DeadlineRow]: ...
    def lapses_without_warning(self) -> list[DeadlineRow]: ...
    def notices(self, ids: Sequence[int] = ()) -> list[NoticeRow]: ...
    def notice_queued(self, key: str) -> bool: ...
    def templates(self) -> list[TemplateRow]: ...
    def template_revision(self, name: str, locale: str, part: str) -> int: ...
    def unread_inbox(self, ids: Sequence[int], firm_id: int | None) -> list[int]: ...
    def endpoint(self, endpoint_id: int) -> EndpointRow | None: ...


CoreQueues = core_repository(Queues, globals())
