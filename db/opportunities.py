"""The reads of the opportunity-list and land commands: entries, lists, introductions, the head
of each audit chain, land parcels.

Like :mod:`db.registry`, each read is a Core statement built once; rows come back as plain
dicts of the table's columns (a command changes them through :class:`~db.effects.Rows`, never
by assignment). Handlers reach them as ``uow.opportunities``; ``tests/fakes.py`` keeps the
same rows in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, func, select

from db.repositories import _OnConnection as OnConnection
from db.tables import ALL_TABLES

Row = dict[str, Any]
#: The tables of the opportunity lists (entries, lists, introductions, events), the land
#: parcels and the spaces, in that order (the named queries read the same ones).
OPPORTUNITY_TABLES = tuple(
    ALL_TABLES.tables[name]
    for name in (
        "opportunity_entries",
        "opportunity_lists",
        "introductions",
        "opportunity_events",
        "land_parcels",
        "spaces",
    )
)
_E, _L, _I, _EV, _P, _S = OPPORTUNITY_TABLES

_ENTRY = select(_E).where(_E.c.id == bindparam("key"))
_ENTRIES = select(_E).where(_E.c.id.in_(bindparam("ids", expanding=True))).order_by(_E.c.id)
_ON_LIST = select(_E).where(_E.c.list_id == bindparam("list_id")).order_by(_E.c.position)
_LIST = select(_L).where(_L.c.number == bindparam("number"))
_LAST_NUMBER = select(func.max(_L.c.number))
_INTRODUCTION = select(_I).where(_I.c.id == bindparam("key"))
_INTRODUCED = select(_I).where(
    _I.c.need_id == bindparam("need_id"), _I.c.supply_id == bindparam("supply_id")
)
_HEAD = (
    select(_EV.c.seq, _EV.c.hash)
    .where(_EV.c.subject == bindparam("subject"), _EV.c.subject_id == bindparam("subject_id"))
    .order_by(_EV.c.seq.desc())
    .limit(1)
)
_ENTRY_DATA = (
    select(_EV.c.data)
    .where(_EV.c.subject == "entry", _EV.c.subject_id == bindparam("key"))
    .order_by(_EV.c.seq)
)
_PARCEL = select(_P).where(_P.c.parcel_code == bindparam("code"))
_SPACE = select(_S.c.id, _S.c.code, _S.c.name, _S.c.rulebook_version).where(
    _S.c.id == bindparam("key")
)


def carried_files(datas: Sequence[Any]) -> list[Row]:
    """The files an entry's events recorded (``data["attachments"]``), oldest first, each
    once (by its SHA-256)."""
    out: dict[str, Row] = {}
    for data in datas:
        for item in (data or {}).get("attachments") or []:
            if isinstance(item, dict) and item.get("sha256"):
                out.setdefault(str(item["sha256"]), dict(item))
    return list(out.values())


def _one(conn: Connection, stmt: Any, params: dict[str, Any]) -> Row | None:
    row = conn.execute(stmt, params).first()
    return None if row is None else dict(row._mapping)


class Opportunities(Protocol):
    """The opportunity and land reads as a unit of work hands them out."""

    def entry(self, entry_id: int) -> Row | None: ...
    def entries(self, ids: Sequence[int]) -> list[Row]: ...
    def on_list(self, list_id: int) -> list[Row]: ...
    def list_numbered(self, number: int) -> Row | None: ...
    def last_number(self) -> int: ...
    def introduction(self, introduction_id: int) -> Row | None: ...
    def introduced(self, need_id: int, supply_id: int) -> Row | None: ...
    def head(self, subject: str, subject_id: int) -> tuple[int, str] | None: ...
    def parcel(self, code: str) -> Row | None: ...
    def space_of(self, space_id: int) -> Row | None: ...
    def attachments(self, entry_id: int) -> list[Row]: ...


class CoreOpportunities(OnConnection):
    """:class:`Opportunities` over the unit of work's connection (asked for at each call)."""

    __slots__ = ()

    def entry(self, entry_id: int) -> Row | None:
        return _one(self.connection(), _ENTRY, {"key": entry_id})

    def entries(self, ids: Sequence[int]) -> list[Row]:
        if not ids:
            return []
        return [dict(r._mapping) for r in self.connection().execute(_ENTRIES, {"ids": list(ids)})]

    def on_list(self, list_id: int) -> list[Row]:
        return [dict(r._mapping) for r in self.connection().execute(_ON_LIST, {"list_id": list_id})]

    def list_numbered(self, number: int) -> Row | None:
        return _one(self.connection(), _LIST, {"number": number})

    def last_number(self) -> int:
        return int(self.connection().execute(_LAST_NUMBER).scalar() or 0)

    def introduction(self, introduction_id: int) -> Row | None:
        return _one(self.connection(), _INTRODUCTION, {"key": introduction_id})

    def introduced(self, need_id: int, supply_id: int) -> Row | None:
        return _one(self.connection(), _INTRODUCED, {"need_id": need_id, "supply_id": supply_id})

    def head(self, subject: str, subject_id: int) -> tuple[int, str] | None:
        row = (
            self.connection().execute(_HEAD, {"subject": subject, "subject_id": subject_id}).first()
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def parcel(self, code: str) -> Row | None:
        return _one(self.connection(), _PARCEL, {"code": code})

    def space_of(self, space_id: int) -> Row | None:
        return _one(self.connection(), _SPACE, {"key": space_id})

    def attachments(self, entry_id: int) -> list[Row]:
        rows = self.connection().execute(_ENTRY_DATA, {"key": entry_id})
        return carried_files([data for (data,) in rows])
