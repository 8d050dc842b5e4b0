"""An in-memory unit of work: handler tests without a database.

:class:`FakeUnitOfWork` provides what ``workflows.core.Work`` uses of a unit of work
(:class:`db.uow.AbstractUnitOfWork`): the repositories (``tenancies``, ``reviews``,
``allocations``, ``spaces``, ``rulebooks``, ``admissions``, ``cases``, ``registry``,
``queues``, ``opportunities``, ``pages``, ``identity``, ``ids``) and the writer, over rows
kept in dicts by a :class:`FakeDatabase`. The writer follows
:mod:`db.writer`: the versioned tenancy update (:class:`~lifecycle.errors.StaleTenancy` when
the row moved on) or a created tenancy's insert, new rows given ids (their
:class:`~db.effects.Ref` filled in), updates, deadlines cancelled then added (a
dedupe key seen before is a no-op), audit events (a clash on ``(tenancy_id, seq)`` is stale),
notices (a dedupe key seen before is :class:`~lifecycle.errors.AlreadyExists`). The table
shapes and unique keys are read from ``db.tables``; JSON columns hold what reading them back
would give.

A unit of work works on a copy of the committed rows: ``commit`` publishes it, leaving the
block without committing drops it. Anything that needs SQL (``connection``, ``session``)
raises :class:`NoDatabase`, so a handler that still reads or writes around the repositories
is found at once.

:class:`FakeService` is :class:`workflows.service.Service` with its units of work made here
and a fixed calendar: ``service.handle(command)`` runs the registered handler as in production.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from types import SimpleNamespace, TracebackType
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import JSON, Connection, Engine, UniqueConstraint
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlmodel import Session

from db.cases import (
    EVENT_COLUMNS,
    EXIT_CASE_COLUMNS,
    RECTIFICATION_COLUMNS,
    VIOLATION_COLUMNS,
    AllocationRow,
    EventRow,
    ExitCaseRow,
    RectificationRow,
    ViolationRow,
)
from db.effects import TENANCY_COLUMNS, Effects, Party, Ref, RefKey, TenancyRow, json_safe
from db.effects import Rows as RowEffects
from db.identity import (
    SESSION_COLUMNS,
    TOKEN_COLUMNS,
    USER_COLUMNS,
    KeyRow,
    LockoutRow,
    SessionRow,
    TokenRow,
    UserRow,
)
from db.opportunities import carried_files
from db.pages import CYCLE_JOB_COLUMNS, LIVE, CycleJobRow
from db.quarterly import (
    PLANNED_KIND,
    QUARTERLY_COLUMNS,
    FilingRow,
    PlanRow,
    QuarterlyRow,
    quarter_key,
)
from db.queues import (
    DEADLINE_COLUMNS,
    ENDPOINT_COLUMNS,
    NOTICE_COLUMNS,
    DeadlineRow,
    EndpointRow,
    NoticeRow,
    TemplateRow,
)
from db.registry import SPACE_COLUMNS, HeldUnit, SpaceRow
from db.repositories import (
    APPLICATION_COLUMNS,
    FIRM_COLUMNS,
    REVIEW_COLUMNS,
    SCORE_COLUMNS,
    UNIT_COLUMNS,
    ApplicationRow,
    DecisionFacts,
    FirmRow,
    ForcedExitRow,
    ObjectionEvent,
    ReviewRow,
    ScoreRow,
    UnitRow,
)
from db.tables import ALL_TABLES
from entrypoints.bootstrap import HANDLERS
from lifecycle.audit import GENESIS, recompute
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import Clock
from lifecycle.errors import AlreadyExists, StaleTenancy
from lifecycle.rulebook import Rulebook
from lifecycle.table import ACTIVE, OCCUPYING_STATES
from workflows import rules
from workflows.service import Handlers, Service

Row = dict[str, Any]
Rows = dict[str, dict[Any, Row]]


class NoDatabase(RuntimeError):
    """Raised by a fake unit of work for anything that needs SQL."""


class _Table:
    """What the fake needs to know of a table: columns, key, unique keys, JSON columns."""

    def __init__(self, name: str) -> None:
        t = ALL_TABLES.tables[name]
        self.name = name
        self.columns = tuple(c.name for c in t.c)
        # The key column (a composite key, as the grant and assignment tables have, is
        # stored under the tuple of its columns' values).
        self.keys = tuple(c.name for c in t.primary_key)
        self.key = self.keys[0]
        self.defaults = {
            c.name: c.default.arg for c in t.c if isinstance(c.default, ScalarElementColumnDefault)
        }
        self.unique = [
            tuple(c.name for c in k.columns)
            for k in t.constraints
            if isinstance(k, UniqueConstraint)
        ]
        self.json = frozenset(c.name for c in t.c if isinstance(c.type, JSON))

    def row(self, values: Mapping[str, Any]) -> Row:
        unknown = set(values) - set(self.columns)
        if unknown:
            raise KeyError(f"{self.name} has no column {', '.join(sorted(unknown))}")
        row = {c: self.defaults.get(c) for c in self.columns}
        row.update(values)
        for c in self.json & set(values):
            row[c] = stored_json(row[c])
        return row


TABLES = {name: _Table(name) for name in ALL_TABLES.tables}
_WITH_ID = frozenset(name for name, t in TABLES.items() if t.key == "id")


def stored_json(value: Any) -> Any:
    """A JSON column's value as reading it back gives it (dates as text, fragments decoded)."""
    if isinstance(value, orjson.Fragment):
        return orjson.loads(orjson.dumps(value))
    return None if value is None else json_safe(value)


def resolved(values: Mapping[str, Any]) -> dict[str, Any]:
    """Refs replaced by the ids the writer gave them, RefKeys by their text."""
    out = dict(values)
    for key, value in values.items():
        if isinstance(value, Ref):
            out[key] = value.id
        elif isinstance(value, RefKey):
            out[key] = value.resolve()
    return out


class FakeDatabase:
    """The committed rows of every table (by primary key) and the ids handed out so far
    (like a sequence, an id is not given again when its transaction rolls back)."""

    def __init__(self) -> None:
        self.tables: Rows = {name: {} for name in TABLES}
        self.last_id: dict[str, int] = {}
        self.commits = 0

    def next_id(self, table: str) -> int:
        self.last_id[table] = self.last_id.get(table, 0) + 1
        return self.last_id[table]

    # ---- reading what was committed -----------------------------------------------------
    def rows(self, table: str, **where: Any) -> list[Row]:
        """Committed rows of ``table`` matching ``where``, in key order (copies)."""
        return [copy.deepcopy(r) for r in select(self.tables, table, **where)]

    def row(self, table: str, key: Any) -> Row:
        return copy.deepcopy(self.tables[table][key])

    def events(self, tenancy_id: int) -> list[Row]:
        return sorted(self.rows("audit_events", tenancy_id=tenancy_id), key=lambda e: e["seq"])

    # ---- seeding (committed at once) ----------------------------------------------------
    def add(self, table: str, **values: Any) -> Any:
        return add_row(self, self.tables, table, values)

    def add_rulebook(self, text: str, now: datetime) -> Rulebook:
        rulebook = rules.parse(text)
        self.add(
            "rulebooks",
            version=rulebook.version,
            name=rulebook.meta.name,
            content=text,
            loaded_at=now,
        )
        return rulebook

    def add_resident(
        self,
        *,
        now: datetime,
        rulebook: Rulebook,
        name: str = "峰际生物",
        uscc: str = "91510100MA6C000001",
        space: str = "MC3",
        area_m2: float = 120.0,
        state: str = ACTIVE,
        term_start: date | None = None,
        term_end: date | None = None,
    ) -> int:
        """A firm resident in a space (created here if new) under ``rulebook``, holding one
        unit of ``area_m2``; its tenancy's id. The chain starts at GENESIS. Its term began on
        the first day of last year unless ``term_start`` says otherwise."""
        if term_start is None:
            term_start = date(now.year - 1, 1, 1)
        space_id, tenancy_id = self._tenancy_in(
            space,
            now=now,
            rulebook=rulebook,
            name=name,
            uscc=uscc,
            state=state,
            term_start=term_start,
            term_end=term_end,
        )
        unit_id = self.add(
            "units",
            space_id=space_id,
            code=f"A-{100 + tenancy_id}",
            kind="office",
            area_m2=area_m2,
            status="let",
        )
        self.add(
            "allocations",
            tenancy_id=tenancy_id,
            unit_id=unit_id,
            area_m2=area_m2,
            start_on=term_start,
            end_on=None,
        )
        return int(tenancy_id)

    def add_applicant(
        self,
        *,
        now: datetime,
        rulebook: Rulebook,
        uscc: str,
        state: str,
        profile: Mapping[str, Any],
        name: str = "峰际生物",
        space: str = "MC3",
        submitted_at: datetime | None = None,
    ) -> int:
        """A firm's application to a space (created here if new) under ``rulebook``, its
        tenancy in ``state`` (an admission state); the tenancy's id. The chain starts at
        GENESIS."""
        submitted_at = submitted_at or now
        _, tenancy_id = self._tenancy_in(
            space, now=submitted_at, rulebook=rulebook, name=name, uscc=uscc, state=state
        )
        self.add(
            "applications",
            tenancy_id=tenancy_id,
            track="incubation",
            requested_area_m2=120.0,
            profile=dict(profile),
            submitted_at=submitted_at,
            decision={},
        )
        return int(tenancy_id)

    def _tenancy_in(
        self,
        space: str,
        *,
        now: datetime,
        rulebook: Rulebook,
        name: str,
        uscc: str,
        state: str,
        **columns: Any,
    ) -> tuple[int, int]:
        """A new firm's tenancy in ``state`` under ``rulebook``, its chain at GENESIS, in a
        space (created if new): (space id, tenancy id)."""
        found = select(self.tables, "spaces", code=space)
        space_id = (
            found[0]["id"]
            if found
            else self.add(
                "spaces",
                code=space,
                name="成都医学城三医创新中心",
                timezone="Asia/Shanghai",
                rulebook_version=rulebook.version,
                created_at=now,
            )
        )
        firm_id = self.add(
            "firms",
            name=name,
            uscc=uscc,
            industry="pharma",
            contact_name="张敏",
            contact_email="zhang@example.cn",
            account_manager="李经理",
            locale="zh-CN",
            created_at=now,
        )
        tenancy_id = self.add(
            "tenancies",
            firm_id=firm_id,
            space_id=space_id,
            state=state,
            rulebook_version=rulebook.version,
            audit_head=GENESIS,
            created_at=now,
            updated_at=now,
            **columns,
        )
        return int(space_id), int(tenancy_id)


def chained(db: FakeDatabase, t: int) -> list[str]:
    """The tenancy's triggers, after checking every event's hash and link (from GENESIS, as
    the fake's tenancies start) and that the tenancy's head is the last hash."""
    events = db.events(t)
    prev = GENESIS
    for seq, event in enumerate(events, start=1):
        assert event["seq"] == seq and event["prev_hash"] == prev
        assert recompute(SimpleNamespace(**event)) == event["hash"]
        prev = event["hash"]
    tenancy = db.row("tenancies", t)
    assert (tenancy["audit_seq"], tenancy["audit_head"]) == (len(events), prev)
    return [e["trigger"] for e in events]


def select(tables: Rows, table: str, **where: Any) -> list[Row]:
    rows = tables[table]
    return [rows[k] for k in sorted(rows) if all(rows[k].get(c) == v for c, v in where.items())]


def add_row(db: FakeDatabase, tables: Rows, table: str, values: Mapping[str, Any]) -> Any:
    """Insert a row (its id made when the table's key is ``id`` and none was given), refusing
    a duplicate of a unique key as the database would: AlreadyExists."""
    spec = TABLES[table]
    row = spec.row(values)
    if row[spec.key] is None and spec.key == "id":
        row["id"] = db.next_id(table)
    rows = tables[table]
    key = row[spec.key] if len(spec.keys) == 1 else tuple(row[c] for c in spec.keys)
    if key in rows:
        raise AlreadyExists(table, f"{', '.join(spec.keys)} {key}")
    for columns in spec.unique:
        values_ = tuple(row[c] for c in columns)
        if None not in values_ and any(
            tuple(r[c] for c in columns) == values_ for r in rows.values()
        ):
            raise AlreadyExists(table, f"({', '.join(columns)}) = {values_}")
    rows[key] = row
    return key


# ---- the unit of work ---------------------------------------------------------------------------
class FakeUnitOfWork:
    """``with uow: ...; uow.commit()`` over a :class:`FakeDatabase`."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.after_commit: list[Callable[[], None]] = []
        self._rows: Rows | None = None
        self.tenancies = FakeTenancies(self)
        self.reviews = FakeReviews(self)
        self.allocations = FakeAllocations(self)
        self.spaces = FakeSpaces(self)
        self.rulebooks = FakeRulebooks(self)
        self.admissions = FakeAdmissions(self)
        self.ids = FakeIds(self)
        self.writer = FakeWriter(self)
        self.cases = FakeCases(self)
        self.registry = FakeRegistry(self)
        self.queues = FakeQueues(self)
        self.quarterly = FakeQuarterlyReports(self)
        self.opportunities = FakeOpportunities(self)
        self.pages = FakePages(self)
        self.identity = FakeIdentity(self)

    def __enter__(self) -> FakeUnitOfWork:
        self._rows = copy.deepcopy(self.db.tables)
        self.after_commit = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._rows = None  # what was not committed is gone

    @property
    def rows(self) -> Rows:
        """This unit of work's rows (the committed ones and what it wrote since)."""
        if self._rows is None:
            raise RuntimeError("the unit of work is not open (use it in a with block)")
        return self._rows

    def commit(self) -> None:
        self.db.tables = copy.deepcopy(self.rows)
        self.db.commits += 1
        for hook in self.after_commit:
            hook()

    def flush(self) -> None:
        """Nothing is held unwritten: every write goes into the rows at once."""

    @property
    def has_session(self) -> bool:
        return False

    @property
    def connection(self) -> Connection:
        raise NoDatabase("a fake unit of work has no connection: read through a repository")

    @property
    def session(self) -> Session:
        raise NoDatabase("a fake unit of work has no ORM session: read through a repository")

    def session_connection(self) -> Connection:
        return self.connection


class _Repository:
    __slots__ = ("uow",)

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow


class FakeIds(_Repository):
    """Ids handed out as the database's sequences would (never twice, rolled back or not)."""

    __slots__ = ()

    def next(self, table: str) -> int:
        return self.uow.db.next_id(table)


class FakeTenancies(_Repository):
    __slots__ = ()

    def get(self, tenancy_id: int, *, lock: bool = True) -> TenancyRow | None:
        rows = self.uow.rows
        row = rows["tenancies"].get(tenancy_id)
        if row is None:
            return None
        firm, space = rows["firms"][row["firm_id"]], rows["spaces"][row["space_id"]]
        tenancy = TenancyRow(*(row[c] for c in TENANCY_COLUMNS))
        tenancy.party = Party(
            firm_id=firm["id"],
            name=firm["name"],
            uscc=firm["uscc"],
            contact_name=firm["contact_name"],
            contact_email=firm["contact_email"],
            account_manager=firm["account_manager"],
            locale=firm["locale"],
            space_code=space["code"],
            space_name=space["name"],
            space_rulebook_version=space["rulebook_version"],
        )
        return tenancy

    def with_reviews(
        self, tenancy_id: int, period: int, *, previous: bool = False, lock: bool = True
    ) -> tuple[TenancyRow | None, dict[int, ReviewRow]]:
        tenancy = self.get(tenancy_id, lock=lock)
        if tenancy is None:
            return None, {}
        periods = (period, period - 1) if previous else (period,)
        found = ((p, self.uow.reviews.get(tenancy_id, p)) for p in periods)
        return tenancy, {p: review for p, review in found if review is not None}

    def in_space(self, space_id: int, states: Collection[str]) -> list[TenancyRow]:
        found = select(self.uow.rows, "tenancies", space_id=space_id)
        return [t for t in (self.get(r["id"]) for r in found if r["state"] in states) if t]


class FakeReviews(_Repository):
    __slots__ = ()

    def get(self, tenancy_id: int, period: int) -> ReviewRow | None:
        found = select(self.uow.rows, "reviews", tenancy_id=tenancy_id, period=period)
        return _review(found[0]) if found else None

    def of(self, ids: Sequence[int], period: int) -> dict[int, ReviewRow]:
        wanted = set(ids)
        return {
            r["tenancy_id"]: _review(r)
            for r in select(self.uow.rows, "reviews", period=period)
            if r["tenancy_id"] in wanted
        }

    def recorded(self, ids: Sequence[int]) -> list[ReviewRow]:
        found = [
            r
            for r in select(self.uow.rows, "reviews")
            if r["tenancy_id"] in ids and r["status"] in ("submitted", "decided")
        ]
        return [_review(r) for r in sorted(found, key=lambda r: (r["tenancy_id"], r["period"]))]

    def in_space(self, space_id: int, period: int) -> list[ReviewRow]:
        tenancies = self.uow.rows["tenancies"]
        found = [
            r
            for r in select(self.uow.rows, "reviews", period=period)
            if tenancies[r["tenancy_id"]]["space_id"] == space_id
        ]
        return [_review(r) for r in sorted(found, key=lambda r: r["tenancy_id"])]

    def veto_facts(
        self, ids: Sequence[int], codes: Sequence[str], start: datetime, end: datetime
    ) -> dict[int, dict[str, list[int]]]:
        out: dict[int, dict[str, list[int]]] = {}
        for v in select(self.uow.rows, "violations"):
            if v["tenancy_id"] in ids and v["code"] in codes and start <= v["reported_at"] < end:
                out.setdefault(v["tenancy_id"], {}).setdefault(v["code"], []).append(v["id"])
        return out

    def decision_facts(
        self,
        tenancy_id: int,
        firm_id: int,
        codes: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> DecisionFacts:
        vetoes = self.veto_facts([tenancy_id], codes, start, end).get(tenancy_id, {})
        cooperation = self.uow.opportunities.cooperation([firm_id], start, end)[firm_id]
        area = self.uow.allocations.leased_area(tenancy_id)
        return DecisionFacts(vetoes, cooperation, area)


def _review(row: Row) -> ReviewRow:
    return ReviewRow(*(copy.deepcopy(row[c]) for c in REVIEW_COLUMNS))


class FakeAllocations(_Repository):
    __slots__ = ()

    def leased_area(self, tenancy_id: int) -> float:
        return self.leased_areas([tenancy_id])[tenancy_id]

    def leased_areas(self, ids: Sequence[int]) -> dict[int, float]:
        out = dict.fromkeys(ids, 0.0)
        for a in select(self.uow.rows, "allocations", end_on=None):
            if a["tenancy_id"] in out:
                out[a["tenancy_id"]] += a["area_m2"]
        return {k: round(v, 2) for k, v in out.items()}


class FakeSpaces(_Repository):
    __slots__ = ()

    def rulebook_version(self, space_id: int) -> tuple[bool, str | None]:
        space = self.uow.rows["spaces"].get(space_id)
        return (False, None) if space is None else (True, space["rulebook_version"])


class FakeRulebooks(_Repository):
    __slots__ = ()

    def text(self, version: str) -> str | None:
        row = self.uow.rows["rulebooks"].get(version)
        return None if row is None else str(row["content"])


class FakeCases(_Repository):
    """:mod:`db.cases` over the unit of work's rows."""

    __slots__ = ()

    def _newest_open(self, table: str, tenancy_id: int) -> Row | None:
        found = select(self.uow.rows, table, tenancy_id=tenancy_id, status="open")
        return copy.deepcopy(found[-1]) if found else None

    def open_exit_case(self, tenancy_id: int) -> ExitCaseRow | None:
        row = self._newest_open("exit_cases", tenancy_id)
        return None if row is None else ExitCaseRow(*(row[c] for c in EXIT_CASE_COLUMNS))

    def open_rectification(self, tenancy_id: int) -> RectificationRow | None:
        row = self._newest_open("rectifications", tenancy_id)
        return None if row is None else RectificationRow(*(row[c] for c in RECTIFICATION_COLUMNS))

    def open_cure(self, tenancy_id: int, code: str | None = None) -> list[ViolationRow]:
        return [
            ViolationRow(*(copy.deepcopy(v[c]) for c in VIOLATION_COLUMNS))
            for v in select(self.uow.rows, "violations", tenancy_id=tenancy_id, status="open")
            if v["cure_due_on"] is not None and (code is None or v["code"] == code)
        ]

    def uncured(self, tenancy_id: int, code: str) -> list[ViolationRow]:
        return [
            ViolationRow(*(copy.deepcopy(v[c]) for c in VIOLATION_COLUMNS))
            for v in sorted(
                select(self.uow.rows, "violations", tenancy_id=tenancy_id, code=code),
                key=lambda v: v["id"],
            )
            if v["status"] != "cured"
        ]

    def pending_of_subject(self, tenancy_id: int, kind: str, subject_id: int) -> list[int]:
        found = select(
            self.uow.rows,
            "deadlines",
            tenancy_id=tenancy_id,
            kind=kind,
            subject_id=subject_id,
            status="pending",
        )
        return sorted(int(d["id"]) for d in found)

    def events(self, tenancy_id: int, triggers: Sequence[str]) -> list[EventRow]:
        found = [
            e
            for e in select(self.uow.rows, "audit_events", tenancy_id=tenancy_id)
            if e["trigger"] in triggers
        ]
        return [
            EventRow(*(copy.deepcopy(e[c]) for c in EVENT_COLUMNS))
            for e in sorted(found, key=lambda e: e["seq"])
        ]

    def open_allocations(self, tenancy_id: int) -> list[AllocationRow]:
        return [
            AllocationRow(a["id"], a["unit_id"])
            for a in select(self.uow.rows, "allocations", tenancy_id=tenancy_id, end_on=None)
        ]

    def pending_due_on(self, tenancy_id: int, kind: str) -> date | None:
        found = select(
            self.uow.rows, "deadlines", tenancy_id=tenancy_id, kind=kind, status="pending"
        )
        return found[-1]["due_on"] if found else None

    def review(self, review_id: int) -> ReviewRow | None:
        row = self.uow.rows["reviews"].get(review_id)
        return None if row is None else _review(row)

    def violation(self, violation_id: int) -> ViolationRow | None:
        row = self.uow.rows["violations"].get(violation_id)
        return None if row is None else ViolationRow(*(row[c] for c in VIOLATION_COLUMNS))


class FakeRegistry(_Repository):
    """:mod:`db.registry` over the unit of work's rows."""

    __slots__ = ()

    def space(self, code: str) -> SpaceRow | None:
        found = select(self.uow.rows, "spaces", code=code)
        return SpaceRow(*(found[0][c] for c in SPACE_COLUMNS)) if found else None

    def unit(self, space_id: int, code: str) -> UnitRow | None:
        found = select(self.uow.rows, "units", space_id=space_id, code=code)
        return _unit(found[0]) if found else None

    def firm(self, firm_id: int | None = None, uscc: str | None = None) -> FirmRow | None:
        found = select(
            self.uow.rows, "firms", **({"id": firm_id} if uscc is None else {"uscc": uscc})
        )
        return FirmRow(*(found[0][c] for c in FIRM_COLUMNS)) if found else None

    def tenancies_of_firm(self, firm_id: int) -> list[int]:
        return [t["id"] for t in select(self.uow.rows, "tenancies", firm_id=firm_id)]

    def holder(self, unit_id: int) -> int | None:
        found = select(self.uow.rows, "allocations", unit_id=unit_id, end_on=None)
        return int(found[0]["tenancy_id"]) if found else None

    def held_units(self, tenancy_id: int) -> list[HeldUnit]:
        units = self.uow.rows["units"]
        return [
            HeldUnit(a["id"], float(a["area_m2"]), _unit(units[a["unit_id"]]))
            for a in select(self.uow.rows, "allocations", tenancy_id=tenancy_id, end_on=None)
        ]

    def rulebook_stored(self, version: str) -> bool:
        return version in self.uow.rows["rulebooks"]

    def overridden_days(self, days: Sequence[date]) -> set[date]:
        return set(days) & set(self.uow.rows["calendar_overrides"])

    def marked_years(self, years: Sequence[int]) -> set[int]:
        return set(years) & set(self.uow.rows["calendar_years"])


class FakeQueues(_Repository):
    """:mod:`db.queues` over the unit of work's rows."""

    __slots__ = ()

    def deadline(self, deadline_id: int) -> DeadlineRow | None:
        row = self.uow.rows["deadlines"].get(deadline_id)
        return None if row is None else _deadline(row)

    def claim(self, deadline_id: int) -> DeadlineRow | None:
        found = self.deadline(deadline_id)
        return found if found is not None and found.status == "pending" else None

    def due_ids(self, until: datetime, limit: int, skip: Collection[int] = ()) -> list[int]:
        due = [
            d
            for d in select(self.uow.rows, "deadlines", status="pending")
            if d["due_at"] <= until and d["id"] not in skip
        ]
        return [d["id"] for d in sorted(due, key=lambda d: (d["due_at"], d["id"]))][:limit]

    def failed_deadlines(self, ids: Sequence[int] = ()) -> list[DeadlineRow]:
        failed = select(self.uow.rows, "deadlines", status="failed")
        return [_deadline(d) for d in failed if not ids or d["id"] in ids]

    def pending_of_kind(self, tenancy_id: int, kind: str) -> list[DeadlineRow]:
        found = select(self.uow.rows, "deadlines", tenancy_id=tenancy_id, kind=kind)
        pending = [d for d in found if d["status"] == "pending"]
        return [_deadline(d) for d in sorted(pending, key=lambda d: (d["due_at"], d["id"]))]

    def lapses_without_warning(self) -> list[DeadlineRow]:
        rows = self.uow.rows
        return [
            _deadline(d)
            for d in select(rows, "deadlines", kind="agreement_lapse", status="pending")
            if not select(rows, "deadlines", kind="agreement_lapse_warning", subject_id=d["id"])
        ]

    def notices(self, ids: Sequence[int] = ()) -> list[NoticeRow]:
        found = (
            [n for n in select(self.uow.rows, "outbox") if n["id"] in ids]
            if ids
            else (select(self.uow.rows, "outbox", status="dead"))
        )
        return [NoticeRow(*(n[c] for c in NOTICE_COLUMNS)) for n in found]

    def notice_queued(self, key: str) -> bool:
        return bool(select(self.uow.rows, "outbox", dedupe_key=key))

    def templates(self) -> list[TemplateRow]:
        newest: dict[tuple[str, str, str], Row] = {}
        for t in select(self.uow.rows, "message_templates"):
            key = (t["name"], t["locale"], t["part"])
            if key not in newest or t["revision"] > newest[key]["revision"]:
                newest[key] = t
        return [_record(TemplateRow, TEMPLATE_COLUMNS, t) for t in newest.values()]

    def template_revision(self, name: str, locale: str, part: str) -> int:
        found = select(self.uow.rows, "message_templates", name=name, locale=locale, part=part)
        return max((t["revision"] for t in found), default=0)

    def endpoint(self, endpoint_id: int) -> EndpointRow | None:
        row = self.uow.rows["integration_endpoints"].get(endpoint_id)
        if row is None:
            return None
        code = self.uow.rows["spaces"][row["space_id"]]["code"]
        return EndpointRow(*(copy.deepcopy(row[c]) for c in ENDPOINT_COLUMNS), code)

    def unread_inbox(self, ids: Sequence[int], firm_id: int | None) -> list[int]:
        where = {} if firm_id is None else {"firm_id": firm_id}
        found = select(self.uow.rows, "inbox", read_at=None, **where)
        return [i["id"] for i in found if i["id"] in ids]


class FakeIdentity(_Repository):
    """:mod:`db.identity` over the unit of work's rows."""

    __slots__ = ()

    def user(self, username: str, *, lock: bool = False) -> UserRow | None:
        found = select(self.uow.rows, "users", username=username)
        return _record(UserRow, USER_COLUMNS, found[0]) if found else None

    def _user_by_id(self, user_id: int) -> UserRow:
        return _record(UserRow, USER_COLUMNS, self.uow.rows["users"][user_id])

    def user_spaces(self, user_id: int) -> frozenset[int]:
        return frozenset(
            g["space_id"] for g in select(self.uow.rows, "user_spaces", user_id=user_id)
        )

    def token(self, token_id: int) -> TokenRow | None:
        row = self.uow.rows["api_tokens"].get(token_id)
        return None if row is None else _record(TokenRow, TOKEN_COLUMNS, row)

    def token_user(self, digest: str) -> tuple[TokenRow, UserRow] | None:
        found = select(self.uow.rows, "api_tokens", token_sha256=digest)
        if not found:
            return None
        return _record(TokenRow, TOKEN_COLUMNS, found[0]), self._user_by_id(found[0]["user_id"])

    def token_spaces(self, token_id: int) -> frozenset[int]:
        grants = select(self.uow.rows, "api_token_spaces", token_id=token_id)
        return frozenset(g["space_id"] for g in grants)

    def session_user(self, digest: str) -> tuple[SessionRow, UserRow] | None:
        found = select(self.uow.rows, "sessions", token_sha256=digest)
        if not found:
            return None
        session = _record(SessionRow, SESSION_COLUMNS, found[0])
        return session, self._user_by_id(session.user_id)

    def open_sessions(self, user_id: int) -> list[int]:
        return [
            s["id"] for s in select(self.uow.rows, "sessions", user_id=user_id, revoked_at=None)
        ]

    def login_addresses(self, user_id: int, since: datetime) -> list[str]:
        found = select(self.uow.rows, "sessions", user_id=user_id)
        return list(dict.fromkeys(s["address"] for s in found if s["created_at"] > since))

    def failures_since(self, address: str, since: datetime) -> list[datetime]:
        found = select(self.uow.rows, "login_failures", address=address)
        return [f["at"] for f in found if f["at"] > since]

    def failures_until(self, until: datetime, account_until: datetime) -> list[int]:
        return [
            f["id"]
            for f in select(self.uow.rows, "login_failures")
            if f["at"] <= account_until or (f.get("user_id") is None and f["at"] <= until)
        ]

    def account_failures(self, user_id: int, since: datetime) -> list[tuple[int, str, datetime]]:
        found = select(self.uow.rows, "login_failures", user_id=user_id)
        return [(f["id"], f["address"], f["at"]) for f in found if f["at"] > since]

    def lockouts(self, user_id: int, since: datetime) -> list[LockoutRow]:
        found = select(self.uow.rows, "login_lockouts", user_id=user_id)
        fields = tuple(LockoutRow.__dataclass_fields__)
        return [_record(LockoutRow, fields, f) for f in found if f["locked_until"] > since]

    def assigned(self, tenancy_id: int, user_id: int) -> bool:
        return (tenancy_id, user_id) in self.uow.rows["reviewer_assignments"]

    def idempotency_key(self, owner: str, key: str) -> KeyRow | None:
        found = select(self.uow.rows, "idempotency_keys", owner=owner, key=key)
        return _record(KeyRow, KEY_COLUMNS, found[0]) if found else None

    def keys_until(self, until: datetime) -> list[int]:
        return [
            k["id"] for k in select(self.uow.rows, "idempotency_keys") if k["created_at"] <= until
        ]


TEMPLATE_COLUMNS = tuple(TemplateRow.__dataclass_fields__)
KEY_COLUMNS = tuple(KeyRow.__dataclass_fields__)


class FakeOpportunities(_Repository):
    """:mod:`db.opportunities` over the unit of work's rows."""

    __slots__ = ()

    def _get(self, table: str, key: int) -> Row | None:
        row = self.uow.rows[table].get(key)
        return None if row is None else copy.deepcopy(row)

    def entry(self, entry_id: int) -> Row | None:
        return self._get("opportunity_entries", entry_id)

    def entries(self, ids: Sequence[int]) -> list[Row]:
        rows = self.uow.rows["opportunity_entries"]
        return [copy.deepcopy(rows[i]) for i in sorted(set(ids)) if i in rows]

    def on_list(self, list_id: int) -> list[Row]:
        found = select(self.uow.rows, "opportunity_entries", list_id=list_id)
        return [copy.deepcopy(r) for r in sorted(found, key=lambda r: r["position"])]

    def list_numbered(self, number: int) -> Row | None:
        found = select(self.uow.rows, "opportunity_lists", number=number)
        return copy.deepcopy(found[0]) if found else None

    def last_number(self) -> int:
        return max((r["number"] for r in self.uow.rows["opportunity_lists"].values()), default=0)

    def introduction(self, introduction_id: int) -> Row | None:
        return self._get("introductions", introduction_id)

    def introduced(self, need_id: int, supply_id: int) -> Row | None:
        found = select(self.uow.rows, "introductions", need_id=need_id, supply_id=supply_id)
        return copy.deepcopy(found[0]) if found else None

    def head(self, subject: str, subject_id: int) -> tuple[int, str] | None:
        found = select(self.uow.rows, "opportunity_events", subject=subject, subject_id=subject_id)
        if not found:
            return None
        last = max(found, key=lambda e: e["seq"])
        return int(last["seq"]), str(last["hash"])

    def parcel(self, code: str) -> Row | None:
        found = select(self.uow.rows, "land_parcels", parcel_code=code)
        return copy.deepcopy(found[0]) if found else None

    def cooperation(
        self, firm_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, dict[str, int]]:
        out = {f: {"published_entries": 0, "deals": 0} for f in firm_ids}
        lists = self.uow.rows["opportunity_lists"]
        entries = self.uow.rows["opportunity_entries"]
        for e in entries.values():
            shown = lists.get(e["list_id"]) if e["list_id"] is not None else None
            if e["firm_id"] in out and shown and shown["status"] == "published":
                out[e["firm_id"]]["published_entries"] += start <= shown["published_at"] < end
        for i in select(self.uow.rows, "introductions", outcome="deal"):
            if start <= i["updated_at"] < end:
                sides = {entries[i["need_id"]]["firm_id"], entries[i["supply_id"]]["firm_id"]}
                for firm_id in sides & set(out):
                    out[firm_id]["deals"] += 1
        return out

    def attachments(self, entry_id: int) -> list[Row]:
        found = select(self.uow.rows, "opportunity_events", subject="entry", subject_id=entry_id)
        return carried_files([e["data"] for e in sorted(found, key=lambda e: e["seq"])])

    def space_of(self, space_id: int) -> Row | None:
        row = self.uow.rows["spaces"].get(space_id)
        if row is None:
            return None
        return {k: row[k] for k in ("id", "code", "name", "rulebook_version")}


class FakePages(_Repository):
    """:mod:`db.pages` over the unit of work's rows."""

    __slots__ = ()

    def cycle_job(self, job_id: int, *, lock: bool = False) -> CycleJobRow | None:
        row = self.uow.rows["cycle_jobs"].get(job_id)
        return None if row is None else _record(CycleJobRow, CYCLE_JOB_COLUMNS, row)

    def live_cycle_job(self, space_id: int, period: int, kind: str) -> int | None:
        found = select(self.uow.rows, "cycle_jobs", space_id=space_id, period=period, kind=kind)
        return next((int(j["id"]) for j in found if j["status"] in LIVE), None)

    def space_code(self, space_id: int) -> str | None:
        row = self.uow.rows["spaces"].get(space_id)
        return None if row is None else str(row["code"])

    def figure_draft(self, tenancy_id: int, period: int) -> int | None:
        found = select(self.uow.rows, "figure_drafts", tenancy_id=tenancy_id, period=period)
        return int(found[0]["id"]) if found else None

    def application_draft(self, firm_id: int) -> int | None:
        found = select(self.uow.rows, "application_drafts", firm_id=firm_id)
        return int(found[0]["id"]) if found else None


class FakeQuarterlyReports(_Repository):
    """:mod:`db.quarterly` over the unit of work's rows."""

    __slots__ = ()

    def report(self, tenancy_id: int, year: int, quarter: int) -> QuarterlyRow | None:
        found = select(
            self.uow.rows, "quarterly_reports", tenancy_id=tenancy_id, year=year, quarter=quarter
        )
        return _record(QuarterlyRow, QUARTERLY_COLUMNS, found[0]) if found else None

    def _resident(self, t: Row, first_day: date, last_day: date) -> bool:
        start, end = t["term_start"], t["term_end"]
        return start is not None and start <= last_day and (end is None or end >= first_day)

    def to_plan(
        self, year: int, quarter: int, first_day: date, last_day: date, after: int, limit: int
    ) -> list[PlanRow]:
        key = quarter_key(year, quarter)
        planned = {
            d["tenancy_id"]
            for d in select(self.uow.rows, "deadlines", kind=PLANNED_KIND, subject_id=key)
        }
        filed = {
            r["tenancy_id"]
            for r in select(self.uow.rows, "quarterly_reports", year=year, quarter=quarter)
        }
        spaces = self.uow.rows["spaces"]
        out = [
            PlanRow(t["id"], t["rulebook_version"] or spaces[t["space_id"]]["rulebook_version"])
            for t in select(self.uow.rows, "tenancies")
            if t["state"] in OCCUPYING_STATES
            and t["id"] > after
            and self._resident(t, first_day, last_day)
            and t["id"] not in planned | filed
        ]
        return out[:limit]

    def filings(
        self, space_id: int, year: int, quarter: int, first_day: date, last_day: date
    ) -> list[FilingRow]:
        firms = self.uow.rows["firms"]
        out = []
        for t in select(self.uow.rows, "tenancies", space_id=space_id):
            found = select(
                self.uow.rows, "quarterly_reports", tenancy_id=t["id"], year=year, quarter=quarter
            )
            r = found[0] if found else None
            if not self._resident(t, first_day, last_day):
                continue
            if t["state"] not in OCCUPYING_STATES and r is None:
                continue
            firm = firms[t["firm_id"]]
            out.append(
                FilingRow(
                    t["id"],
                    firm["name"],
                    firm["uscc"],
                    t["state"],
                    r["id"] if r else None,
                    r["due_on"] if r else None,
                    r["first_submitted_at"] if r else None,
                    r["submitted_at"] if r else None,
                    r["submitted_by"] if r else None,
                    copy.deepcopy(r["figures"]) if r else None,
                )
            )
        return out


def _deadline(row: Row) -> DeadlineRow:
    return DeadlineRow(*(copy.deepcopy(row[c]) for c in DEADLINE_COLUMNS))


def _unit(row: Row) -> UnitRow:
    return UnitRow(*(row[c] for c in UNIT_COLUMNS))


class FakeAdmissions(_Repository):
    """What the admission commands read, from the unit of work's rows."""

    __slots__ = ()

    def application(self, tenancy_id: int) -> ApplicationRow | None:
        found = select(self.uow.rows, "applications", tenancy_id=tenancy_id)
        return _record(ApplicationRow, APPLICATION_COLUMNS, found[0]) if found else None

    def reviewer_scores(self, tenancy_id: int) -> list[ScoreRow]:
        rows = select(self.uow.rows, "reviewer_scores", tenancy_id=tenancy_id)
        return [_record(ScoreRow, SCORE_COLUMNS, r) for r in rows]

    def units(self, space_id: int, codes: Sequence[str]) -> dict[str, UnitRow]:
        rows = select(self.uow.rows, "units", space_id=space_id)
        return {r["code"]: _record(UnitRow, UNIT_COLUMNS, r) for r in rows if r["code"] in codes}

    def overlapping_lets(self, unit_ids: Sequence[int], start: date, end: date) -> dict[int, int]:
        out: dict[int, int] = {}
        for a in select(self.uow.rows, "allocations"):
            ends = a["end_on"]
            if a["unit_id"] in unit_ids and a["start_on"] < end and (ends is None or ends > start):
                out.setdefault(a["unit_id"], a["tenancy_id"])
        return out

    def forced_exits(self, firm_id: int) -> list[ForcedExitRow]:
        rows = self.uow.rows
        return [
            ForcedExitRow(c["grounds"], c["handed_over_at"], c["served_at"], c["created_at"])
            for c in select(rows, "exit_cases", exit_type="forced")
            if c["grounds"] is not None and rows["tenancies"][c["tenancy_id"]]["firm_id"] == firm_id
        ]

    def open_tenancy(
        self, firm_id: int, space_id: int, closed: Collection[str]
    ) -> tuple[int, str] | None:
        for t in select(self.uow.rows, "tenancies", firm_id=firm_id, space_id=space_id):
            if t["state"] not in closed:
                return t["id"], t["state"]
        return None

    def objections(self, tenancy_id: int) -> list[ObjectionEvent]:
        events = select(self.uow.rows, "audit_events", tenancy_id=tenancy_id)
        return [
            ObjectionEvent(e["trigger"], e["from_state"], bool((e["data"] or {}).get("accepted")))
            for e in sorted(events, key=lambda e: e["seq"], reverse=True)
            if e["trigger"] in ("lodge_objection", "dismiss_objection")
        ]

    def pending_due_on(self, tenancy_id: int, kind: str) -> date | None:
        rows = select(
            self.uow.rows, "deadlines", tenancy_id=tenancy_id, kind=kind, status="pending"
        )
        return rows[-1]["due_on"] if rows else None


R = TypeVar("R")


def _record(make: Callable[..., R], columns: Sequence[str], row: Row) -> R:
    return make(*(copy.deepcopy(row[c]) for c in columns))


class FakeWriter(_Repository):
    """:mod:`db.writer`'s effects, written into the unit of work's rows (same order)."""

    __slots__ = ()

    def write(self, effects: Sequence[Effects]) -> None:
        self.write_tenancies([e for e in effects if e.moved])
        self.write_rows(effects)
        for e in effects:
            for kinds in e.cancels:
                self.cancel_deadlines([e.tenancy.id], kinds, e.now)
        self.add_deadlines([d for e in effects for d in e.deadlines])
        self.add_events([ev for e in effects for ev in e.events])
        self.add_notices([n for e in effects for n in e.notices])

    def write_rows(self, rows: Sequence[RowEffects]) -> None:
        for e in rows:
            for ref, values in e.inserts:
                new_id = add_row(self.uow.db, self.uow.rows, ref.table, resolved(values))
                ref.id = new_id if ref.table in _WITH_ID else None
        for e in rows:
            for table, row_id, values in e.updates:
                self.update_row(table, row_id, values)
        for e in rows:
            for table, key in e.deletes:
                spec = TABLES[table]
                stored = key[spec.key] if len(spec.keys) == 1 else tuple(key[c] for c in spec.keys)
                self.uow.rows[table].pop(stored, None)

    def write_tenancies(self, effects: Sequence[Effects]) -> None:
        rows = self.uow.rows["tenancies"]
        for e in effects:
            if e.created:
                add_row(self.uow.db, self.uow.rows, "tenancies", e.tenancy_row())
        effects = [e for e in effects if not e.created]
        for e in effects:  # all checked before any is written, as one UPDATE would
            row = rows.get(e.tenancy.id)
            if row is None or row["version"] != e.seen_version:
                raise StaleTenancy(e.tenancy.id, e.seen_version, row["version"] if row else None)
        for e in effects:
            rows[e.tenancy.id].update(e.tenancy_values())

    def update_row(self, table: str, row_id: int, values: Mapping[str, Any]) -> None:
        row = self.uow.rows[table].get(row_id)
        if row is not None:  # an UPDATE that matches nothing changes nothing
            row.update(TABLES[table].row({**row, **resolved(values)}))

    def cancel_deadlines(
        self, tenancy_ids: Sequence[int], kinds: Sequence[str], now: datetime
    ) -> int:
        done = 0
        for d in self.uow.rows["deadlines"].values():
            if d["tenancy_id"] in tenancy_ids and d["kind"] in kinds and d["status"] == "pending":
                d["status"], d["done_at"] = "cancelled", now
                done += 1
        return done

    def add_deadlines(self, rows: Sequence[dict[str, Any]]) -> int:
        done = 0
        for d in rows:
            values = resolved(d)
            if select(self.uow.rows, "deadlines", dedupe_key=values["dedupe_key"]):
                continue  # ON CONFLICT (dedupe_key) DO NOTHING
            add_row(self.uow.db, self.uow.rows, "deadlines", values)
            done += 1
        return done

    def add_events(self, rows: Iterable[dict[str, Any]]) -> None:
        for ev in rows:
            if select(self.uow.rows, "audit_events", tenancy_id=ev["tenancy_id"], seq=ev["seq"]):
                # Someone else appended to this tenancy's chain first.
                raise StaleTenancy(ev["tenancy_id"], None, None)
            add_row(self.uow.db, self.uow.rows, "audit_events", ev)

    def add_notices(self, rows: Sequence[dict[str, Any]]) -> None:
        for n in rows:
            try:
                add_row(self.uow.db, self.uow.rows, "outbox", resolved(n))
            except AlreadyExists as err:
                raise AlreadyExists("notice", err.context.get("key", "")) from err


# ---- the service --------------------------------------------------------------------------------
class FakeService(Service):
    """The command bus over a :class:`FakeDatabase`, with a fixed working-day calendar; the
    handlers are the bootstrap table's unless others are given."""

    def __init__(
        self,
        db: FakeDatabase,
        clock: Clock,
        handlers: Handlers | None = None,
        calendar: WorkCalendar | None = None,
    ) -> None:
        super().__init__(cast(Engine, None), clock, HANDLERS if handlers is None else handlers)
        self.db = db
        self.fixed_calendar = calendar or WorkCalendar()

    def with_clock(self, clock: Clock) -> FakeService:
        return FakeService(self.db, clock, self.handlers, self.fixed_calendar)

    def uow(self, *, read_only: bool = False) -> FakeUnitOfWork:  # type: ignore[override]
        return FakeUnitOfWork(self.db)

    def calendar(self, uow: Any) -> WorkCalendar:
        return self.fixed_calendar
