"""Small repositories: the reads commands make, one function each, over a Core connection.

Each takes the unit of work's connection (its transaction) and returns plain records
(:class:`~db.effects.TenancyRow`, :class:`ReviewRow`) rather than ORM objects: a command
changes them through :class:`~db.effects.Effects`, and the writer writes what changed.
The statements are immutable Core constructs built once; SQLAlchemy's compiled cache makes
running them again cheap.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Executable,
    Float,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)

from db.effects import PARTY_COLUMNS, TENANCY_COLUMNS, Party, TenancyRow
from db.tables import ALL_TABLES
from lifecycle.opportunities import LIST_PUBLISHED

Record = TypeVar("Record")
Params = ParamSpec("Params")
Result = TypeVar("Result")
Proto = TypeVar("Proto")


def first(
    conn: Connection, stmt: Executable, params: dict[str, Any], record: Callable[..., Record]
) -> Record | None:
    """The first row ``stmt`` selects, as ``record(*row)``; None when it selects none."""
    row = conn.execute(stmt, params).first()
    return None if row is None else record(*row)


_T = ALL_TABLES.tables["tenancies"]
_F = ALL_TABLES.tables["firms"]
_S = ALL_TABLES.tables["spaces"]
_R = ALL_TABLES.tables["reviews"]
_A = ALL_TABLES.tables["allocations"]
_CAL = ALL_TABLES.tables["calendar_overrides"]
_CY = ALL_TABLES.tables["calendar_years"]
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
_TENANCY_WIDTH = _WIDTH + len(PARTY_COLUMNS)


def tenancy_row(row: Sequence[Any]) -> TenancyRow:
    """A result row of :data:`TENANCY_WITH_PARTY` as a record."""
    t = TenancyRow(*row[:_WIDTH])
    t.party = Party(*row[_WIDTH:_TENANCY_WIDTH])
    return t


def tenancy(conn: Connection, tenancy_id: int, *, lock: bool = True) -> TenancyRow | None:
    """A tenancy with its parties; locked ``FOR UPDATE`` on PostgreSQL when ``lock``."""
    locked = lock and conn.dialect.name == "postgresql"
    row = conn.execute(_BY_ID_LOCKED if locked else _BY_ID, {"tenancy_id": tenancy_id}).first()
    return None if row is None else tenancy_row(row)


_IN_STATES = (
    TENANCY_WITH_PARTY.where(
        _T.c.space_id == bindparam("space_id"), _T.c.state.in_(bindparam("states", expanding=True))
    )
).order_by(_T.c.id)


def tenancies_in(conn: Connection, space_id: int, states: Collection[str]) -> list[TenancyRow]:
    """The space's tenancies in one of ``states`` (with parties, not locked), by id."""
    rows = conn.execute(_IN_STATES, {"space_id": space_id, "states": list(states)})
    return [tenancy_row(r) for r in rows]


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
# A review command's tenancy (with its parties) and the reviews it reads, in one round trip:
# the period's, and the one before when ``previous`` names it (else ``previous`` = ``period``).
_WITH_REVIEWS = (
    select(*TENANCY_WITH_PARTY.selected_columns, *(_R.c[n] for n in REVIEW_COLUMNS))
    .select_from(
        _T.join(_F, _F.c.id == _T.c.firm_id)
        .join(_S, _S.c.id == _T.c.space_id)
        .outerjoin(
            _R,
            (_R.c.tenancy_id == _T.c.id)
            & _R.c.period.in_((bindparam("period"), bindparam("previous"))),
        )
    )
    .where(_T.c.id == bindparam("tenancy_id"))
)
_WITH_REVIEWS_LOCKED = _WITH_REVIEWS.with_for_update(of=_T)
_REVIEWS_OF = select(*(_R.c[n] for n in REVIEW_COLUMNS)).where(
    _R.c.tenancy_id.in_(bindparam("ids", expanding=True)), _R.c.period == bindparam("period")
)
_LEASED = select(_A.c.tenancy_id, _A.c.area_m2).where(_A.c.end_on.is_(None))
_LEASED_ONE = _LEASED.where(_A.c.tenancy_id == bindparam("tenancy_id"))
_LEASED_MANY = _LEASED.where(_A.c.tenancy_id.in_(bindparam("ids", expanding=True)))
# The operator's day overrides and the published years, in one round trip (read at every
# command that reckons in working days): a row is (day, workday, None) or (None, None, year).
_CALENDAR = union_all(
    select(_CAL.c.day, _CAL.c.workday, cast(null(), Integer).label("year")),
    select(cast(null(), Date), cast(null(), Boolean), _CY.c.year),
)
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


_RECORDED = (
    select(*(_R.c[n] for n in REVIEW_COLUMNS))
    .where(
        _R.c.tenancy_id.in_(bindparam("ids", expanding=True)),
        _R.c.status.in_(("submitted", "decided")),
    )
    .order_by(_R.c.tenancy_id, _R.c.period)
)
_IN_SPACE = (
    select(*(_R.c[n] for n in REVIEW_COLUMNS))
    .join(_T, _T.c.id == _R.c.tenancy_id)
    .where(_T.c.space_id == bindparam("space_id"), _R.c.period == bindparam("period"))
    .order_by(_R.c.tenancy_id)
)


def reviews_in_space(conn: Connection, space_id: int, period: int) -> list[ReviewRow]:
    """The ``period`` reviews of a space's tenancies, in tenancy order."""
    rows = conn.execute(_IN_SPACE, {"space_id": space_id, "period": period})
    return [ReviewRow(*r) for r in rows]


def recorded_reviews(conn: Connection, ids: Sequence[int]) -> list[ReviewRow]:
    """The submitted and decided reviews of these tenancies, by tenancy and period."""
    if not ids:
        return []
    return [ReviewRow(*r) for r in conn.execute(_RECORDED, {"ids": list(ids)})]


def tenancy_with_reviews(
    conn: Connection, tenancy_id: int, period: int, *, previous: bool = False, lock: bool = True
) -> tuple[TenancyRow | None, dict[int, ReviewRow]]:
    """A tenancy with its parties (locked as :func:`tenancy` locks it) and its ``period``
    review, with the one before when ``previous``, by period (those it has)."""
    locked = lock and conn.dialect.name == "postgresql"
    params = {
        "tenancy_id": tenancy_id,
        "period": period,
        "previous": period - 1 if previous else period,
    }
    found: dict[int, ReviewRow] = {}
    tenancy_found: TenancyRow | None = None
    for row in conn.execute(_WITH_REVIEWS_LOCKED if locked else _WITH_REVIEWS, params):
        if tenancy_found is None:
            tenancy_found = tenancy_row(row)
        if row[_TENANCY_WIDTH] is not None:
            review_found = ReviewRow(*row[_TENANCY_WIDTH:])
            found[review_found.period] = review_found
    return tenancy_found, found


def review(conn: Connection, tenancy_id: int, period: int) -> ReviewRow | None:
    return first(conn, _REVIEW, {"tenancy_id": tenancy_id, "period": period}, ReviewRow)


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
# One tenancy's (a single decision): its few violations of the year, the codes kept in Python.
# An expanding ``IN`` is rendered anew at every execution, which costs more than the query.
_VETO_FACTS_ONE = (
    select(_V.c.id, _V.c.tenancy_id, _V.c.code)
    .where(
        _V.c.tenancy_id == bindparam("tenancy_id"),
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
    if not (ids and codes):
        return out
    if len(ids) == 1:
        rows = conn.execute(_VETO_FACTS_ONE, {"tenancy_id": ids[0], "start": start, "end": end})
    else:
        params = {"ids": list(ids), "codes": list(codes), "start": start, "end": end}
        rows = conn.execute(_VETO_FACTS, params)
    for row_id, tenancy_id, code in rows:
        if code in codes:
            out.setdefault(tenancy_id, {}).setdefault(code, []).append(row_id)
    return out


def leased_areas(conn: Connection, ids: Sequence[int]) -> dict[int, float]:
    """The area each tenancy holds now, by tenancy id (0 for none)."""
    out = dict.fromkeys(ids, 0.0)
    if ids:
        for tenancy_id, area in conn.execute(_LEASED_MANY, {"ids": list(ids)}):
            out[tenancy_id] += area
    return {k: round(v, 2) for k, v in out.items()}


# ---- a firm's cooperation through the city opportunity lists (a counted review metric) ------
_OE, _OL, _OI = (
    ALL_TABLES.tables[name]
    for name in ("opportunity_entries", "opportunity_lists", "introductions")
)
_PUBLISHED = (
    select(_OE.c.firm_id, func.count())
    .join(_OL, _OL.c.id == _OE.c.list_id)
    .where(
        _OL.c.status == LIST_PUBLISHED,
        _OL.c.published_at >= bindparam("start"),
        _OL.c.published_at < bindparam("end"),
    )
    .group_by(_OE.c.firm_id)
)
_NEED, _SUPPLY = _OE.alias("need"), _OE.alias("supply")
_DEALT = (
    select(_OI.c.id, _NEED.c.firm_id, _SUPPLY.c.firm_id)
    .join(_NEED, _NEED.c.id == _OI.c.need_id)
    .join(_SUPPLY, _SUPPLY.c.id == _OI.c.supply_id)
    .where(
        _OI.c.outcome == "deal",  # final: updated_at is when the deal was recorded
        _OI.c.updated_at >= bindparam("start"),
        _OI.c.updated_at < bindparam("end"),
    )
)
_PUBLISHED_ENTRIES = _PUBLISHED.where(_OE.c.firm_id.in_(bindparam("ids", expanding=True)))
_DEALS = _DEALT.where(
    _NEED.c.firm_id.in_(bindparam("ids", expanding=True))
    | _SUPPLY.c.firm_id.in_(bindparam("ids", expanding=True))
)
# One firm's (a single decision): an expanding ``IN`` is rendered anew at every execution,
# which costs more than the query.
_PUBLISHED_ENTRIES_ONE = _PUBLISHED.where(_OE.c.firm_id == bindparam("firm_id"))
_DEALS_ONE = _DEALT.where(
    (_NEED.c.firm_id == bindparam("firm_id")) | (_SUPPLY.c.firm_id == bindparam("firm_id"))
)
#: firm id -> {"published_entries": n, "deals": n}
Cooperation = dict[int, dict[str, int]]


def cooperation(
    conn: Connection, firm_ids: Sequence[int], start: datetime, end: datetime
) -> Cooperation:
    """Each firm's part in the opportunity lists in ``[start, end)``: its entries on lists
    published then, and the introductions of its entries (either side) that ended in a deal
    then. Every firm asked about gets both counts (0 for none)."""
    out = {f: {"published_entries": 0, "deals": 0} for f in firm_ids}
    if firm_ids:
        one = len(firm_ids) == 1
        params: dict[str, Any] = {"start": start, "end": end}
        params.update({"firm_id": firm_ids[0]} if one else {"ids": list(firm_ids)})
        published, deals = (
            (_PUBLISHED_ENTRIES_ONE, _DEALS_ONE) if one else (_PUBLISHED_ENTRIES, _DEALS)
        )
        for firm_id, count in conn.execute(published, params):
            out[firm_id]["published_entries"] = int(count)
        for _, need_firm, supply_firm in conn.execute(deals, params):
            for firm_id in {need_firm, supply_firm} & set(out):
                out[firm_id]["deals"] += 1
    return out


# ---- what one decision reads besides its reviews, in one round trip -----------------------
# The tenancy's violations of the period (veto facts), its firm's published entries and deals
# (cooperation) and the area it holds: the single-tenancy statements above, each as a branch
# of one UNION ALL whose rows say which they are. The batch decision reads the same filters
# for many tenancies at once (veto_facts, cooperation, leased_areas).
def _branch(stmt: Select[Any], kind: str, a: Any, b: Any, code: Any, area: Any) -> Select[Any]:
    return stmt.with_only_columns(
        literal_column(f"'{kind}'", String).label("kind"),
        a.label("a"),
        b.label("b"),
        code.label("code"),
        area.label("area"),
        maintain_column_froms=False,
    ).order_by(None)


_NO_INT, _NO_TEXT, _NO_AREA = cast(null(), Integer), cast(null(), String), cast(null(), Float)
_DECISION_FACTS = union_all(
    _branch(_VETO_FACTS_ONE, "veto", _V.c.id, _NO_INT, _V.c.code, _NO_AREA),
    _branch(_PUBLISHED_ENTRIES_ONE, "published", func.count(), _NO_INT, _NO_TEXT, _NO_AREA),
    _branch(_DEALS_ONE, "deal", _NEED.c.firm_id, _SUPPLY.c.firm_id, _NO_TEXT, _NO_AREA),
    _branch(_LEASED_ONE, "area", _NO_INT, _NO_INT, _NO_TEXT, cast(_A.c.area_m2, Float)),
)


@dataclass(slots=True)
class DecisionFacts:
    """One tenancy's facts for deciding its review of a period (see :func:`decision_facts`)."""

    #: veto code -> the ids of the violations recorded with it in the period, oldest first
    vetoes: dict[str, list[int]]
    #: the firm's ``published_entries`` and ``deals`` in the period (:func:`cooperation`)
    cooperation: dict[str, int]
    #: the area the tenancy holds now, m² (:func:`leased_areas`)
    leased_area: float


def decision_facts(
    conn: Connection,
    tenancy_id: int,
    firm_id: int,
    codes: Sequence[str],
    start: datetime,
    end: datetime,
) -> DecisionFacts:
    """What :func:`veto_facts`, :func:`cooperation` and :func:`leased_areas` read for one
    tenancy and its firm over ``[start, end)``, read at once."""
    params = {"tenancy_id": tenancy_id, "firm_id": firm_id, "start": start, "end": end}
    vetoes: list[tuple[int, str]] = []
    together = {"published_entries": 0, "deals": 0}
    area = 0.0
    for kind, a, b, code, m2 in conn.execute(_DECISION_FACTS, params):
        if kind == "veto":
            vetoes.append((a, code))
        elif kind == "published":
            together["published_entries"] = int(a)
        elif kind == "deal":
            together["deals"] += firm_id in (a, b)
        else:
            area += float(m2)
    found: dict[str, list[int]] = {}
    for row_id, code in sorted(vetoes):
        if code in codes:
            found.setdefault(code, []).append(row_id)
    return DecisionFacts(found, together, round(area, 2))


def pending_due_on(conn: Connection, tenancy_id: int, kind: str) -> date | None:
    """The day the newest pending deadline of ``kind`` falls due, if there is one."""
    due = conn.execute(_PENDING_DUE_ON, {"tenancy_id": tenancy_id, "kind": kind}).scalar()
    return due if isinstance(due, date) else None


#: (the overrides as (day, workday), the years whose holidays are published)
CalendarState = tuple[frozenset[tuple[date, bool]], frozenset[int]]


def calendar_state(conn: Connection) -> CalendarState:
    """What a :class:`~lifecycle.calendar.WorkCalendar` is built from, read at once."""
    overrides: set[tuple[date, bool]] = set()
    years: set[int] = set()
    for day, workday, year in conn.execute(_CALENDAR):
        if year is None:
            overrides.add((day, bool(workday)))
        else:
            years.add(int(year))
    return frozenset(overrides), frozenset(years)


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
    def with_reviews(
        self, tenancy_id: int, period: int, *, previous: bool = False, lock: bool = True
    ) -> tuple[TenancyRow | None, dict[int, ReviewRow]]: ...
    def in_space(self, space_id: int, states: Collection[str]) -> list[TenancyRow]: ...


class Reviews(Protocol):
    def get(self, tenancy_id: int, period: int) -> ReviewRow | None: ...
    def of(self, ids: Sequence[int], period: int) -> dict[int, ReviewRow]: ...
    def in_space(self, space_id: int, period: int) -> list[ReviewRow]: ...
    def recorded(self, ids: Sequence[int]) -> list[ReviewRow]: ...
    def decision_facts(
        self,
        tenancy_id: int,
        firm_id: int,
        codes: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> DecisionFacts: ...


class Allocations(Protocol):
    def leased_areas(self, ids: Sequence[int]) -> dict[int, float]: ...


class Spaces(Protocol):
    def rulebook_version(self, space_id: int) -> tuple[bool, str | None]: ...


class Rulebooks(Protocol):
    def text(self, version: str) -> str | None: ...


class Ids(Protocol):
    """New rows' ids, handed out before the rows are written: a command that hashes a row's
    id into its audit event (a new tenancy, a violation) decides with the id it will have."""

    def next(self, table: str) -> int: ...


class _OnConnection:
    """A repository over Core: ``connection()`` is the unit of work's, asked at each call (so
    that the session's pending changes are flushed first, as the ORM's autoflush would)."""

    __slots__ = ("connection",)

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self.connection = connection


def on_connection(
    read: Callable[Concatenate[Connection, Params], Result],
) -> Callable[Concatenate[_OnConnection, Params], Result]:
    """``read``, a function of a connection, as a method of a repository: it runs on the
    unit of work's connection, asked for at each call (typed as ``read`` is)."""

    def method(self: _OnConnection, /, *args: Params.args, **kwargs: Params.kwargs) -> Result:
        return read(self.connection(), *args, **kwargs)

    method.__name__, method.__qualname__ = read.__name__, read.__qualname__
    method.__doc__ = read.__doc__
    return method


def core_repository(
    protocol: Callable[..., Proto],
    functions: Mapping[str, object],
    /,
    **methods: Callable[..., object],
) -> Callable[[Callable[[], Connection]], Proto]:
    """The Core repository ``protocol`` describes, when all it does is hand its reads the
    unit of work's connection: a class of :func:`on_connection` methods, one for each method
    the protocol declares, running the function of that name in ``functions`` (the defining
    module's ``globals()``) or the one ``methods`` gives for it (where the function is named
    otherwise, or is another module's).

    ``protocol`` is the Protocol handlers use (typed as a callable making one, which mypy
    accepts for a Protocol class), so callers are type-checked against it. That each function
    fits it is checked here, when the class is made, since mypy cannot see through the
    binding: its parameters after the connection (names, kinds, defaults, annotations) and its
    return must be the protocol method's, as written."""
    name = f"Core{protocol.__name__}"
    wanted = [m for m in vars(protocol) if not m.startswith("_")]
    if unknown := sorted(set(methods) - set(wanted)):
        raise TypeError(f"{name}: {protocol.__name__} has no {unknown}")
    namespace: dict[str, object] = {}
    for method in wanted:
        read = methods.get(method, functions.get(method))
        if not inspect.isfunction(read):
            raise TypeError(f"{name}.{method}: no function {method}() to run")
        want = _after_first(inspect.signature(getattr(protocol, method)))
        have = _after_first(inspect.signature(read))
        if have != want:
            raise TypeError(f"{name}.{method}: {read.__name__}{have} is not {method}{want}")
        namespace[method] = on_connection(read)
    namespace["__slots__"] = ()
    namespace["__module__"] = protocol.__module__
    namespace["__doc__"] = (
        f":class:`{protocol.__name__}` over the unit of work's connection (asked for at each call)."
    )
    return type(name, (_OnConnection,), namespace)


def _after_first(signature: inspect.Signature) -> inspect.Signature:
    """``signature`` without its first parameter (a method's self, a read's connection)."""
    return signature.replace(parameters=tuple(signature.parameters.values())[1:])


# PostgreSQL: the column's own sequence. SQLite (no AUTOINCREMENT): a new row gets the largest
# id plus one, and every transaction there is BEGIN IMMEDIATE, so none can take it meanwhile.
_NEXTVAL = select(
    func.nextval(func.pg_get_serial_sequence(bindparam("table", type_=String), literal("id")))
)
_MAX_ID = {
    t.name: select(func.coalesce(func.max(t.c.id), 0))
    for t in ALL_TABLES.sorted_tables
    if "id" in t.c
}


class CoreIds(_OnConnection):
    """:class:`Ids` from the database: the id the next row of a table gets (never one a row
    has, nor one handed out before in this unit of work)."""

    __slots__ = ("_given",)

    def __init__(self, connection: Callable[[], Connection]) -> None:
        super().__init__(connection)
        self._given: dict[str, int] = {}

    def next(self, table: str) -> int:
        conn = self.connection()
        if conn.dialect.name == "postgresql":
            return int(conn.execute(_NEXTVAL, {"table": table}).scalar_one())
        largest = int(conn.execute(_MAX_ID[table]).scalar_one())
        given = max(largest, self._given.get(table, 0)) + 1
        self._given[table] = given
        return given


CoreTenancies = core_repository(
    Tenancies, globals(), get=tenancy, with_reviews=tenancy_with_reviews, in_space=tenancies_in
)
CoreReviews = core_repository(
    Reviews,
    globals(),
    get=review,
    of=reviews_of,
    in_space=reviews_in_space,
    recorded=recorded_reviews,
)
CoreAllocations = core_repository(Allocations, globals())
CoreSpaces = core_repository(Spaces, globals(), rulebook_version=space_rulebook_version)
CoreRulebooks = core_repository(Rulebooks, globals(), text=rulebook_text)


# ---- what the admission commands read ------------------------------------------------------
@dataclass(slots=True)
class ApplicationRow:
    id: int
    tenancy_id: int
    track: str
    requested_area_m2: float
    profile: dict[str, Any]
    submitted_at: datetime
    decision: dict[str, Any]


@dataclass(slots=True)
class FirmRow:
    """A firm's particulars (what a correction may change, and its code)."""

    id: int
    uscc: str
    name: str
    industry: str
    founded_on: date | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    account_manager: str | None
    locale: str


@dataclass(slots=True)
class UnitRow:
    id: int
    space_id: int
    code: str
    kind: str
    area_m2: float
    status: str


@dataclass(slots=True)
class ScoreRow:
    id: int
    reviewer: str
    conflict_of_interest: bool
    scores: dict[str, Any]
    total: float


@dataclass(slots=True)
class ForcedExitRow:
    """An earlier forced exit of a firm, with its grounds (a re-application bar counts from
    its handover, or its service, or its opening)."""

    grounds: str
    handed_over_at: datetime | None
    served_at: datetime | None
    created_at: datetime


@dataclass(slots=True)
class ObjectionEvent:
    """An objection lodged (``accepted`` or not) or dismissed, as its audit event records it."""

    trigger: str
    from_state: str | None
    accepted: bool


_AP = ALL_TABLES.tables["applications"]
_SC = ALL_TABLES.tables["reviewer_scores"]
_U = ALL_TABLES.tables["units"]
_X = ALL_TABLES.tables["exit_cases"]
_EV = ALL_TABLES.tables["audit_events"]
APPLICATION_COLUMNS = tuple(ApplicationRow.__dataclass_fields__)
FIRM_COLUMNS = tuple(FirmRow.__dataclass_fields__)
SCORE_COLUMNS = tuple(ScoreRow.__dataclass_fields__)
UNIT_COLUMNS = tuple(UnitRow.__dataclass_fields__)
_APPLICATION = select(*(_AP.c[n] for n in APPLICATION_COLUMNS)).where(
    _AP.c.tenancy_id == bindparam("tenancy_id")
)
_SCORES = (
    select(*(_SC.c[n] for n in SCORE_COLUMNS))
    .where(_SC.c.tenancy_id == bindparam("tenancy_id"))
    .order_by(_SC.c.id)
)
_UNITS = select(*(_U.c[n] for n in UNIT_COLUMNS)).where(
    _U.c.space_id == bindparam("space_id"), _U.c.code.in_(bindparam("codes", expanding=True))
)
_OVERLAPS = select(_A.c.unit_id, _A.c.tenancy_id).where(
    _A.c.unit_id.in_(bindparam("unit_ids", expanding=True)),
    _A.c.start_on < bindparam("end"),
    _A.c.end_on.is_(None) | (_A.c.end_on > bindparam("start")),
)
_FORCED_EXITS = (
    select(_X.c.grounds, _X.c.handed_over_at, _X.c.served_at, _X.c.created_at)
    .select_from(_X.join(_T, _T.c.id == _X.c.tenancy_id))
    .where(
        _T.c.firm_id == bindparam("firm_id"),
        _X.c.exit_type == "forced",
        _X.c.grounds.is_not(None),
    )
)
_OPEN_TENANCY = (
    select(_T.c.id, _T.c.state)
    .where(
        _T.c.firm_id == bindparam("firm_id"),
        _T.c.space_id == bindparam("space_id"),
        _T.c.state.not_in(bindparam("closed", expanding=True)),
    )
    .limit(1)
)
_OBJECTIONS = (
    select(_EV.c.trigger, _EV.c.from_state, _EV.c.data)
    .where(
        _EV.c.tenancy_id == bindparam("tenancy_id"),
        _EV.c.trigger.in_(("lodge_objection", "dismiss_objection")),
    )
    .order_by(_EV.c.seq.desc())
)


def application(conn: Connection, tenancy_id: int) -> ApplicationRow | None:
    return first(conn, _APPLICATION, {"tenancy_id": tenancy_id}, ApplicationRow)


def reviewer_scores(conn: Connection, tenancy_id: int) -> list[ScoreRow]:
    """The panel's scores of an application, in the order they were given."""
    return [ScoreRow(*r) for r in conn.execute(_SCORES, {"tenancy_id": tenancy_id})]


def units(conn: Connection, space_id: int, codes: Sequence[str]) -> dict[str, UnitRow]:
    """The units of a space with these codes, by code (a code not found is left out)."""
    if not codes:
        return {}
    rows = conn.execute(_UNITS, {"space_id": space_id, "codes": list(codes)})
    return {r.code: UnitRow(*r) for r in rows}


def overlapping_lets(
    conn: Connection, unit_ids: Sequence[int], start: date, end: date
) -> dict[int, int]:
    """Units let for a term overlapping ``[start, end)``: unit id -> the tenancy it is let to."""
    if not unit_ids:
        return {}
    params = {"unit_ids": list(unit_ids), "start": start, "end": end}
    out: dict[int, int] = {}
    for unit_id, tenancy_id in conn.execute(_OVERLAPS, params):
        out.setdefault(unit_id, tenancy_id)
    return out


def forced_exits(conn: Connection, firm_id: int) -> list[ForcedExitRow]:
    """A firm's forced exits that name their grounds (a re-application bar may follow one)."""
    return [ForcedExitRow(*r) for r in conn.execute(_FORCED_EXITS, {"firm_id": firm_id})]


def open_tenancy(
    conn: Connection, firm_id: int, space_id: int, closed: Collection[str]
) -> tuple[int, str] | None:
    """A stay of the firm in the space not yet in one of the ``closed`` states: (id, state)."""
    params = {"firm_id": firm_id, "space_id": space_id, "closed": list(closed)}
    row = conn.execute(_OPEN_TENANCY, params).first()
    return None if row is None else (int(row[0]), str(row[1]))


def objections(conn: Connection, tenancy_id: int) -> list[ObjectionEvent]:
    """The objections lodged and dismissed on a tenancy, newest first."""
    return [
        ObjectionEvent(trigger, from_state, bool((data or {}).get("accepted")))
        for trigger, from_state, data in conn.execute(_OBJECTIONS, {"tenancy_id": tenancy_id})
    ]


class Admissions(Protocol):
    """What the admission commands read (applications, the panel, units, objections)."""

    def application(self, tenancy_id: int) -> ApplicationRow | None: ...
    def reviewer_scores(self, tenancy_id: int) -> list[ScoreRow]: ...
    def units(self, space_id: int, codes: Sequence[str]) -> dict[str, UnitRow]: ...
    def overlapping_lets(
        self, unit_ids: Sequence[int], start: date, end: date
    ) -> dict[int, int]: ...
    def forced_exits(self, firm_id: int) -> list[ForcedExitRow]: ...
    def open_tenancy(
        self, firm_id: int, space_id: int, closed: Collection[str]
    ) -> tuple[int, str] | None: ...
    def objections(self, tenancy_id: int) -> list[ObjectionEvent]: ...
    def pending_due_on(self, tenancy_id: int, kind: str) -> date | None: ...


CoreAdmissions = core_repository(Admissions, globals())
