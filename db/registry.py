"""The reads of the registry and correction commands: spaces, units, firms and who holds what.

Like :mod:`db.repositories`, each read is a Core statement built once that returns plain
records: a command changes them through :class:`~db.effects.Rows` (or a tenancy's
:class:`~db.effects.Effects`), never by assignment. Handlers reach them as ``uow.registry``;
``tests/fakes.py`` keeps the same rows in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import Connection, bindparam, select

from db.repositories import FIRM_COLUMNS, UNIT_COLUMNS, FirmRow, UnitRow, core_repository, first
from db.tables import ALL_TABLES

_NAMES = ("spaces", "units", "firms", "allocations", "tenancies", "rulebooks")
_S, _U, _F, _A, _T, _RB = (ALL_TABLES.tables[name] for name in _NAMES)
_CO, _CY = ALL_TABLES.tables["calendar_overrides"], ALL_TABLES.tables["calendar_years"]


@dataclass(slots=True)
class SpaceRow:
    """A space as a command reads it: its code, its name and the rulebook it runs on."""

    id: int
    code: str
    name: str
    rulebook_version: str | None


@dataclass(slots=True)
class HeldUnit:
    """A unit a tenancy holds now: the allocation and its unit."""

    allocation_id: int
    area_m2: float
    unit: UnitRow


SPACE_COLUMNS = tuple(SpaceRow.__dataclass_fields__)

_SPACE = select(*(_S.c[n] for n in SPACE_COLUMNS)).where(_S.c.code == bindparam("code"))
_UNIT = select(*(_U.c[n] for n in UNIT_COLUMNS)).where(
    _U.c.space_id == bindparam("space_id"), _U.c.code == bindparam("code")
)
_FIRM = select(*(_F.c[n] for n in FIRM_COLUMNS))
_FIRM_BY_ID = _FIRM.where(_F.c.id == bindparam("key"))
_FIRM_BY_USCC = _FIRM.where(_F.c.uscc == bindparam("key"))
_TENANCIES_OF_FIRM = select(_T.c.id).where(_T.c.firm_id == bindparam("firm_id")).order_by(_T.c.id)
_HOLDER = (
    select(_A.c.tenancy_id)
    .where(_A.c.unit_id == bindparam("unit_id"), _A.c.end_on.is_(None))
    .limit(1)
)
_HELD = (
    select(_A.c.id, _A.c.area_m2, *(_U.c[n] for n in UNIT_COLUMNS))
    .join(_U, _U.c.id == _A.c.unit_id)
    .where(_A.c.tenancy_id == bindparam("tenancy_id"), _A.c.end_on.is_(None))
    .order_by(_A.c.id)
)
_RULEBOOK_STORED = select(_RB.c.version).where(_RB.c.version == bindparam("version"))
_OVERRIDDEN = select(_CO.c.day).where(_CO.c.day.in_(bindparam("days", expanding=True)))
_MARKED = select(_CY.c.year).where(_CY.c.year.in_(bindparam("years", expanding=True)))


def space(conn: Connection, code: str) -> SpaceRow | None:
    return first(conn, _SPACE, {"code": code}, SpaceRow)


def unit(conn: Connection, space_id: int, code: str) -> UnitRow | None:
    return first(conn, _UNIT, {"space_id": space_id, "code": code}, UnitRow)


def firm(conn: Connection, firm_id: int | None = None, uscc: str | None = None) -> FirmRow | None:
    """A firm by id or by 统一社会信用代码."""
    stmt, key = (_FIRM_BY_ID, firm_id) if uscc is None else (_FIRM_BY_USCC, uscc)
    return first(conn, stmt, {"key": key}, FirmRow)


def tenancies_of_firm(conn: Connection, firm_id: int) -> list[int]:
    return [int(i) for i in conn.execute(_TENANCIES_OF_FIRM, {"firm_id": firm_id}).scalars()]


def holder(conn: Connection, unit_id: int) -> int | None:
    """The tenancy holding the unit now, if one does."""
    found = conn.execute(_HOLDER, {"unit_id": unit_id}).scalar()
    return None if found is None else int(found)


def held_units(conn: Connection, tenancy_id: int) -> list[HeldUnit]:
    """The units the tenancy holds now, in the order they were let."""
    rows = conn.execute(_HELD, {"tenancy_id": tenancy_id})
    return [HeldUnit(r[0], float(r[1]), UnitRow(*r[2:])) for r in rows]


def rulebook_stored(conn: Connection, version: str) -> bool:
    return conn.execute(_RULEBOOK_STORED, {"version": version}).first() is not None


def overridden_days(conn: Connection, days: Sequence[date]) -> set[date]:
    """Which of ``days`` have an override already."""
    return set(conn.execute(_OVERRIDDEN, {"days": list(days)}).scalars()) if days else set()


def marked_years(conn: Connection, years: Sequence[int]) -> set[int]:
    """Which of ``years`` were marked published already."""
    return {int(y) for y in conn.execute(_MARKED, {"years": list(years)}).scalars()}


class Registry(Protocol):
    """The registry reads as a unit of work hands them out (``uow.registry``)."""

    def space(self, code: str) -> SpaceRow | None: ...
    def unit(self, space_id: int, code: str) -> UnitRow | None: ...
    def firm(self, firm_id: int | None = None, uscc: str | None = None) -> FirmRow | None: ...
    def tenancies_of_firm(self, firm_id: int) -> list[int]: ...
    def holder(self, unit_id: int) -> int | None: ...
    def held_units(self, tenancy_id: int) -> list[HeldUnit]: ...
    def rulebook_stored(self, version: str) -> bool: ...
    def overridden_days(self, days: Sequence[date]) -> set[date]: ...
    def marked_years(self, years: Sequence[int]) -> set[int]: ...


CoreRegistry = core_repository(Registry, globals())
