"""Small repositories: the reads commands make, one function each, over a Core connection.

Each takes the unit of work's connection (its transaction) and returns plain records
(:class:`~db.effects.TenancyRow`, :class:`ReviewRow`) rather than ORM objects: a command
changes them through :class:`~db.effects.Effects`, and the writer writes what changed.
The statements are immutable Core constructs built once; SQLAlchemy's compiled cache makes
running them again cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Select, bindparam, select

from db.effects import PARTY_COLUMNS, TENANCY_COLUMNS, Party, TenancyRow
from db.tables import ALL_TABLES

_T = ALL_TABLES.tables["tenancies"]
_F = ALL_TABLES.tables["firms"]
_S = ALL_TABLES.tables["spaces"]
_R = ALL_TABLES.tables["reviews"]
_A = ALL_TABLES.tables["allocations"]
_CAL = ALL_TABLES.tables["calendar_overrides"]
_RB = ALL_TABLES.tables["rulebooks"]

_PARTY = (
    _F.c.id.label("p_firm_id"),
    _F.c.name.label("p_name"),
    _F.c.uscc.label("p_uscc"),
    _F.c.contact_name.label("p_contact_name"),
    _F.c.contact_email.label("p_contact_email"),
    _F.c.account_manager.label("p_account_manager"),
    _F.c.locale.label("p_locale"),
    _S.c.code.label("p_space_code"),
    _S.c.name.label("p_space_name"),
    _S.c.rulebook_version.label("p_space_rulebook_version"),
)
TENANCY_WITH_PARTY: Select[Any] = select(*(_T.c[n] for n in TENANCY_COLUMNS), *_PARTY).select_from(
    _T.join(_F, _F.c.id == _T.c.firm_id).join(_S, _S.c.id == _T.c.space_id)
)
_BY_ID = TENANCY_WITH_PARTY.where(_T.c.id == bindparam("tenancy_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update(of=_T)
_WIDTH = len(TENANCY_COLUMNS)


def tenancy_row(row: Sequence[Any]) -> TenancyRow:
    """A result row of :data:`TENANCY_WITH_PARTY` as a record."""
    t = TenancyRow(*row[:_WIDTH])
    t.party = Party(*row[_WIDTH : _WIDTH + len(PARTY_COLUMNS)])
    return t


def tenancy(conn: Connection, tenancy_id: int, *, lock: bool = True) -> TenancyRow | None:
    """A tenancy with its parties; locked ``FOR UPDATE`` on PostgreSQL when ``lock``."""
    locked = lock and conn.dialect.name == "postgresql"
    row = conn.execute(_BY_ID_LOCKED if locked else _BY_ID, {"tenancy_id": tenancy_id}).first()
    return None if row is None else tenancy_row(row)


def tenancies(conn: Connection, stmt: Select[Any]) -> list[TenancyRow]:
    """Tenancies (with parties) selected by ``stmt``, a refinement of TENANCY_WITH_PARTY."""
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=_T)
    return [tenancy_row(r) for r in conn.execute(stmt)]


@dataclass(slots=True)
class ReviewRow:
    id: int
    tenancy_id: int
    period: int
    status: str
    opened_at: datetime
    due_on: date | None
    submitted_at: datetime | None
    figures: dict[str, Any]
    score: float | None
    grade: str | None
    consequence: str | None
    rulebook_version: str | None
    trace: dict[str, Any]
    decided_at: datetime | None


REVIEW_COLUMNS = tuple(ReviewRow.__dataclass_fields__)
_REVIEW = select(*(_R.c[n] for n in REVIEW_COLUMNS)).where(
    _R.c.tenancy_id == bindparam("tenancy_id"), _R.c.period == bindparam("period")
)
_REVIEWS_OF = select(*(_R.c[n] for n in REVIEW_COLUMNS)).where(
    _R.c.tenancy_id.in_(bindparam("ids", expanding=True)), _R.c.period == bindparam("period")
)
_LEASED = select(_A.c.tenancy_id, _A.c.area_m2).where(_A.c.end_on.is_(None))
_LEASED_ONE = _LEASED.where(_A.c.tenancy_id == bindparam("tenancy_id"))
_LEASED_MANY = _LEASED.where(_A.c.tenancy_id.in_(bindparam("ids", expanding=True)))
_OVERRIDES = select(_CAL.c.day, _CAL.c.workday)
_D = ALL_TABLES.tables["deadlines"]
_PENDING_DUE_ON = (
    select(_D.c.due_on)
    .where(
        _D.c.tenancy_id == bindparam("tenancy_id"),
        _D.c.kind == bindparam("kind"),
        _D.c.status == "pending",
    )
    .order_by(_D.c.id.desc())
    .limit(1)
)
_SPACE_RULEBOOK = select(_S.c.rulebook_version).where(_S.c.id == bindparam("space_id"))
_RULEBOOK_TEXT = select(_RB.c.content).where(_RB.c.version == bindparam("version"))


def review(conn: Connection, tenancy_id: int, period: int) -> ReviewRow | None:
    row = conn.execute(_REVIEW, {"tenancy_id": tenancy_id, "period": period}).first()
    return None if row is None else ReviewRow(*row)


_REVIEW_AND_PREVIOUS = select(*(_R.c[n] for n in REVIEW_COLUMNS)).where(
    _R.c.tenancy_id == bindparam("tenancy_id"),
    _R.c.period.in_((bindparam("period"), bindparam("previous"))),
)


def review_with_previous(
    conn: Connection, tenancy_id: int, period: int
) -> tuple[ReviewRow | None, ReviewRow | None]:
    """A tenancy's ``period`` review and the one before it (a decision reads both)."""
    rows = conn.execute(
        _REVIEW_AND_PREVIOUS,
        {"tenancy_id": tenancy_id, "period": period, "previous": period - 1},
    )
    found = {r.period: ReviewRow(*r) for r in rows}
    return found.get(period), found.get(period - 1)


def reviews_of(conn: Connection, ids: Sequence[int], period: int) -> dict[int, ReviewRow]:
    """The ``period`` review of each of these tenancies that has one, by tenancy id."""
    if not ids:
        return {}
    rows = conn.execute(_REVIEWS_OF, {"ids": list(ids), "period": period})
    return {r.tenancy_id: ReviewRow(*r) for r in rows}


_V = ALL_TABLES.tables["violations"]
_VETO_FACTS = (
    select(_V.c.id, _V.c.tenancy_id, _V.c.code)
    .where(
        _V.c.tenancy_id.in_(bindparam("ids", expanding=True)),
        _V.c.code.in_(bindparam("codes", expanding=True)),
        _V.c.reported_at >= bindparam("start"),
        _V.c.reported_at < bindparam("end"),
    )
    .order_by(_V.c.id)
)
#: tenancy id -> veto code -> ids of the violations recorded with it
VetoFacts = dict[int, dict[str, list[int]]]


def veto_facts(
    conn: Connection,
    ids: Sequence[int],
    codes: Sequence[str],
    start: datetime,
    end: datetime,
) -> VetoFacts:
    """Violations with one of ``codes`` recorded in ``[start, end)``, by tenancy and code."""
    out: VetoFacts = {}
    if ids and codes:
        params = {"ids": list(ids), "codes": list(codes), "start": start, "end": end}
        for row_id, tenancy_id, code in conn.execute(_VETO_FACTS, params):
            out.setdefault(tenancy_id, {}).setdefault(code, []).append(row_id)
    return out


def leased_area(conn: Connection, tenancy_id: int) -> float:
    rows = conn.execute(_LEASED_ONE, {"tenancy_id": tenancy_id})
    return round(sum(float(area) for _, area in rows), 2)


def leased_areas(conn: Connection, ids: Sequence[int]) -> dict[int, float]:
    """The area each tenancy holds now, by tenancy id (0 for none)."""
    out = dict.fromkeys(ids, 0.0)
    if ids:
        for tenancy_id, area in conn.execute(_LEASED_MANY, {"ids": list(ids)}):
            out[tenancy_id] += area
    return {k: round(v, 2) for k, v in out.items()}


def pending_due_on(conn: Connection, tenancy_id: int, kind: str) -> date | None:
    """The day the newest pending deadline of ``kind`` falls due, if there is one."""
    due = conn.execute(_PENDING_DUE_ON, {"tenancy_id": tenancy_id, "kind": kind}).scalar()
    return due if isinstance(due, date) else None


def calendar_overrides(conn: Connection) -> frozenset[tuple[date, bool]]:
    return frozenset((day, bool(workday)) for day, workday in conn.execute(_OVERRIDES))


def space_rulebook_version(conn: Connection, space_id: int) -> tuple[bool, str | None]:
    """(whether the space exists, the version of the rulebook active in it)."""
    row = conn.execute(_SPACE_RULEBOOK, {"space_id": space_id}).first()
    return (False, None) if row is None else (True, row[0])


def rulebook_text(conn: Connection, version: str) -> str | None:
    row = conn.execute(_RULEBOOK_TEXT, {"version": version}).first()
    return None if row is None else str(row[0])


# ---- the repositories a unit of work hands out ---------------------------------------------
# Handlers reach these through their unit of work (``uow.tenancies``, ``uow.reviews``, ...):
# the real one binds the functions above to its connection, a fake one keeps rows in memory.
class Tenancies(Protocol):
    def get(self, tenancy_id: int, *, lock: bool = True) -> TenancyRow | None: ...


class Reviews(Protocol):
    def get(self, tenancy_id: int, period: int) -> ReviewRow | None: ...
    def with_previous(
        self, tenancy_id: int, period: int
    ) -> tuple[ReviewRow | None, ReviewRow | None]: ...
    def of(self, ids: Sequence[int], period: int) -> dict[int, ReviewRow]: ...
    def veto_facts(
        self, ids: Sequence[int], codes: Sequence[str], start: datetime, end: datetime
    ) -> VetoFacts: ...


class Allocations(Protocol):
    def leased_area(self, tenancy_id: int) -> float: ...
    def leased_areas(self, ids: Sequence[int]) -> dict[int, float]: ...


class Spaces(Protocol):
    def rulebook_version(self, space_id: int) -> tuple[bool, str | None]: ...


class Rulebooks(Protocol):
    def text(self, version: str) -> str | None: ...


class _OnConnection:
    """A repository over Core: ``connection()`` is the unit of work's, asked at each call (so
    that the session's pending changes are flushed first, as the ORM's autoflush would)."""

    __slots__ = ("connection",)

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self.connection = connection


class CoreTenancies(_OnConnection):
    __slots__ = ()

    def get(self, tenancy_id: int, *, lock: bool = True) -> TenancyRow | None:
        return tenancy(self.connection(), tenancy_id, lock=lock)


class CoreReviews(_OnConnection):
    __slots__ = ()

    def get(self, tenancy_id: int, period: int) -> ReviewRow | None:
        return review(self.connection(), tenancy_id, period)

    def with_previous(
        self, tenancy_id: int, period: int
    ) -> tuple[ReviewRow | None, ReviewRow | None]:
        return review_with_previous(self.connection(), tenancy_id, period)

    def of(self, ids: Sequence[int], period: int) -> dict[int, ReviewRow]:
        return reviews_of(self.connection(), ids, period)

    def veto_facts(
        self, ids: Sequence[int], codes: Sequence[str], start: datetime, end: datetime
    ) -> VetoFacts:
        return veto_facts(self.connection(), ids, codes, start, end)


class CoreAllocations(_OnConnection):
    __slots__ = ()

    def leased_area(self, tenancy_id: int) -> float:
        return leased_area(self.connection(), tenancy_id)

    def leased_areas(self, ids: Sequence[int]) -> dict[int, float]:
        return leased_areas(self.connection(), ids)


class CoreSpaces(_OnConnection):
    __slots__ = ()

    def rulebook_version(self, space_id: int) -> tuple[bool, str | None]:
        return space_rulebook_version(self.connection(), space_id)


class CoreRulebooks(_OnConnection):
    __slots__ = ()

    def text(self, version: str) -> str | None:
        return rulebook_text(self.connection(), version)
