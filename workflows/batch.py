"""City-scale batch paths: a space's review cycle opened and decided near the raw-SQL floor.

Why a second path at all: the single-command handlers (``OpenReview``, ``DecideReview``) go
through the ORM, a few milliseconds and a dozen statements per tenancy; a district reviewing
100,000 firms in the same January week would wait minutes. These functions write *the same
rows* — state and version bump, review, hash-chained audit event, outbox notice, deadlines,
rectification / forced-exit case — with SQLAlchemy Core ``update()``/``insert()`` over lists
of dicts (DESIGN.md "Known traps"), a chunk of tenancies per statement.

What must not change is what gets written, so the batch path reuses the engine's rules rather
than restating them:

* every transition is checked by the shared machine (:func:`lifecycle.machine.fire` on
  :class:`~lifecycle.machine.Facts`). ``fire`` is a pure function of the facts (the machine
  has no callbacks with effects), so it runs once per distinct ``Facts`` in a chunk and its
  answer is applied to every tenancy with those facts;
* due dates come from the rulebook and the working-day calendar (once per rulebook version
  and batch: every tenancy opened the same day under the same rulebook shares them);
* reviews are scored by :func:`lifecycle.rulebook.score_review` and the A cap is
  :func:`lifecycle.rulebook.apply_grade_cap` over the whole cohort;
* audit events carry the same fields and the same ``event_hash`` as ``Work.audit`` would give
  (chained from ``tenancy.audit_head``); the hash of the first event of every chunk is
  recomputed with :func:`lifecycle.audit.event_hash` itself, so a drift fails loudly;
* outbox rows and deadlines get the dedupe keys, contexts and payloads the handlers give
  (``workflows.residency.open_review`` / ``apply_decision``, ``workflows.exits.open_forced_case``).

``tests/integration/test_batch_equivalence.py`` opens and decides the same cycle both ways on
SQLite and PostgreSQL and compares every row; change a handler and that test says what to
change here.

Speed comes from doing per chunk what the handlers do per tenancy, and from not doing twice
what can be done once: values shared by a whole chunk (the timestamp, the due date, the
status) are rendered into the statement as SQL literals instead of being bound and converted
row by row; JSON is serialized once per row by :data:`dumps` (the very serialization
``event_hash`` hashes) and the trace of a decision, its largest part, once for its three
copies (review, audit event, notice); surrogate ids are allocated up front so deadline keys
can name their review without a ``RETURNING`` round trip.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    Text,
    bindparam,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    update,
)
from sqlalchemy import insert as core_insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.types import TypeEngine

from db.tables import (
    Allocation,
    AuditEvent,
    CalendarOverride,
    Deadline,
    ExitCase,
    Firm,
    OutboxMessage,
    Rectification,
    Review,
    Space,
    Tenancy,
)
from db.tables import Rulebook as RulebookRow
from lifecycle import rulebook as rbook
from lifecycle.audit import event_hash
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import Clock
from lifecycle.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    StaleTenancy,
)
from lifecycle.machine import Facts, fire
from lifecycle.rulebook.trace import Trace, TraceStep
from workflows import rules
from workflows.core import json_safe
from workflows.exits import SYSTEM_SERVICE

SYSTEM = "system"
CYCLE_REASON = "按规则日历自动启动年度考核"  # what workflows.cycles writes for a scheduled opening
# progress(advance, total): once with (0, total) before the first chunk, then per chunk.
Progress = Callable[[int, int], None]

# Mirrors of workflows.residency / workflows.exits constants (imported lazily there: those
# modules register command handlers on import).
OUTCOME_TRIGGER = {"pass": "pass_review", "rectify": "order_rectification", "fail": "fail_review"}
REVIEW_DEADLINES = ("review_submission_due", "review_reminder", "review_overdue_reminder")
RESIDENCY_DEADLINES = (
    "review_submission_due",
    "review_reminder",
    "review_overdue_reminder",
    "rectification_plan_due",
    "rectification_end",
    "cure_end",
    "term_expiry_warning",
    "term_end",
)


def _table(model: type[Any]) -> Table:
    return model.__table__  # type: ignore[no-any-return]


TENANCIES = _table(Tenancy)
FIRMS = _table(Firm)
SPACES = _table(Space)
REVIEWS = _table(Review)
AUDIT = _table(AuditEvent)
OUTBOX = _table(OutboxMessage)
DEADLINES = _table(Deadline)
RECTIFICATIONS = _table(Rectification)
EXIT_CASES = _table(ExitCase)
ALLOCATIONS = _table(Allocation)


@dataclass
class BatchReport:
    """What a batch did: ``selected`` at the start, ``written`` tenancies changed."""

    space: str
    period: int
    kind: str  # open | decide
    selected: int = 0
    written: int = 0
    chunks: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    stopped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "period": self.period,
            "kind": self.kind,
            "selected": self.selected,
            "written": self.written,
            "chunks": self.chunks,
            "outcomes": dict(sorted(self.outcomes.items())),
            "stopped": self.stopped,
            "seconds": round(self.seconds, 3),
        }


# ---- serialization: once per row, exactly what the single path stores and hashes ------------

#: The serialization :func:`lifecycle.audit.event_hash` hashes. Every JSON column the batch
#: writes uses it too: the same text serves the column and the hash, and reading it back
#: gives the values ``Work.audit`` / ``Work.notify`` store (key order aside).
#: (One encoder object, as ``json.dumps`` with these options would build per call.)
dumps: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
).encode
# Stands in for a pre-serialized fragment while its container is serialized; json escapes
# the NULs, so no text a user typed serializes to the same characters.
_FRAGMENT = "\x00innospace-fragment\x00"
_FRAGMENT_JSON = json.dumps(_FRAGMENT)


def dumps_with(value: Mapping[str, Any], fragment: str) -> str:
    """``dumps(value)`` where ``value`` holds :data:`_FRAGMENT` in place of a value whose
    serialization is ``fragment`` (JSON serialization is compositional, so the result is
    byte-identical to serializing the whole)."""
    out = dumps(value)
    if out.count(_FRAGMENT_JSON) != 1:  # pragma: no cover - needs the sentinel in user text
        raise ValueError("fragment placeholder is not unique in the serialized value")
    return out.replace(_FRAGMENT_JSON, fragment, 1)


def _plain(value: Any) -> Any:
    """:func:`lifecycle.rulebook.jsonable` for the types a trace holds, without its isinstance
    chain (about 3x faster); anything unusual is handed to ``jsonable`` itself. The result
    serializes (with :data:`dumps`) to the same text as ``jsonable(value)``."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is Decimal:
        return str(value)
    if kind is dict:
        for key in value:
            if type(key) is not str:
                return rbook.jsonable(value)
        return {k: _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    if kind is float and math.isfinite(value):
        return value
    return rbook.jsonable(value)


def trace_json(trace: Trace) -> str:
    """``dumps(trace.to_dict())``, computed without building ``to_dict``'s copy."""
    return dumps(
        {
            "kind": trace.kind,
            "rulebook_version": trace.rulebook_version,
            "steps": [_step(s) for s in trace.steps],
        }
    )


def _step(s: TraceStep) -> dict[str, Any]:
    return {
        "rule": s.rule,
        "label_zh": s.label_zh,
        "label_en": s.label_en,
        "figures": _plain(s.figures),
        "threshold": _plain(s.threshold),
        "result": _plain(s.result),
        "note": s.note,
    }


def _instant(value: datetime) -> str:
    # lifecycle.audit._instant: stored instants are UTC, hashed without zone.
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


class _Hasher:
    """:func:`lifecycle.audit.event_hash`, with the parts shared by many events serialized
    once. The hashed body is the same JSON array; only the work of building it is shared."""

    def __init__(self, *, actor: str, reason: str | None, occurred_at: datetime) -> None:
        self.actor, self.reason, self.occurred_at = actor, reason, occurred_at
        self._middles: dict[tuple[str, str | None, str], str] = {}
        self._tails: dict[str | None, str] = {}
        self.checked = False

    def __call__(
        self,
        *,
        prev_hash: str,
        tenancy_id: int,
        seq: int,
        trigger: str,
        from_state: str | None,
        to_state: str,
        data_json: str,
        rulebook_version: str | None,
    ) -> str:
        key = (trigger, from_state, to_state)
        middle = self._middles.get(key)
        if middle is None:
            middle = self._middles[key] = ",".join(
                dumps(v) for v in (self.actor, trigger, from_state, to_state, self.reason)
            )
        tail = self._tails.get(rulebook_version)
        if tail is None:
            tail = self._tails[rulebook_version] = (
                f"{dumps(rulebook_version)},{dumps(_instant(self.occurred_at))}]"
            )
        prev = (
            f'"{prev_hash}"' if prev_hash.isascii() and prev_hash.isalnum() else dumps(prev_hash)
        )  # a hex digest serializes as itself in quotes
        body = f"[{prev},{tenancy_id:d},{seq:d},{middle},{data_json},{tail}"
        digest = hashlib.sha256(body.encode()).hexdigest()
        if not self.checked:
            # Once per chunk: the real function on the real values must agree, or we stop
            # before writing a chain that `audit verify` would reject.
            expected = event_hash(
                prev_hash=prev_hash,
                tenancy_id=tenancy_id,
                seq=seq,
                actor=self.actor,
                trigger=trigger,
                from_state=from_state,
                to_state=to_state,
                reason=self.reason,
                data=json.loads(data_json),
                rulebook_version=rulebook_version,
                occurred_at=self.occurred_at,
            )
            if expected != digest:
                raise RuntimeError(
                    "batch audit hash differs from lifecycle.audit.event_hash; "
                    "workflows/batch.py must follow the change"
                )
            self.checked = True
        return digest


# ---- statements ------------------------------------------------------------------------------


class _Sql:
    """Dialect-aware pieces of statements for one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.postgres = conn.dialect.name == "postgresql"
        self._sequences: dict[str, str] = {}

    def const(self, value: Any, type_: TypeEngine[Any] | None = None) -> ColumnElement[Any]:
        """A value shared by every row of a statement, rendered once as an SQL literal (its
        type's literal processor quotes it), so executemany binds nothing for it. Only for
        values the engine produced (timestamps, dates, fixed codes), never user text."""
        if value is None:
            return null()
        rendered = literal(value, type_).compile(
            dialect=self.dialect, compile_kwargs={"literal_binds": True}
        )
        return literal_column(str(rendered))

    def json_const(self, json_text: str) -> ColumnElement[Any]:
        return self.const(json_text, Text())

    def json_param(self, name: str) -> ColumnElement[Any]:
        """A bound JSON value already serialized by :data:`dumps` (bound as text; PostgreSQL
        casts it to JSONB, SQLite stores the text, as the JSON type would)."""
        param = bindparam(name, type_=Text())
        return cast(param, JSONB) if self.postgres else param

    def allocate_ids(self, table: Table, n: int) -> list[int]:
        """``n`` fresh primary keys for ``table``, in increasing order.

        SQLite: the engine begins every write transaction with ``BEGIN IMMEDIATE``, so the
        write lock is held and ``max(id)`` cannot move under us (the tables have no
        AUTOINCREMENT, so SQLite itself would pick ``max(id) + 1``). PostgreSQL: taken from
        the column's own sequence, as the ORM's INSERT would.
        """
        if n == 0:
            return []
        if self.postgres:
            seq = self._sequences.get(table.name)
            if seq is None:
                seq = self._sequences[table.name] = self.conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
                ).scalar_one()
            return sorted(
                self.conn.execute(
                    text("SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)"),
                    {"s": seq, "n": n},
                ).scalars()
            )
        start = int(self.conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
        return list(range(start + 1, start + n + 1))


def _tenancy_update(sql: _Sql, now: datetime) -> Any:
    """The versioned state change, as the ORM's ``version_id_col`` writes it."""
    t = TENANCIES.c
    return (
        update(TENANCIES)
        .where(t.id == bindparam("b_id"), t.version == bindparam("b_version"))
        .values(
            state=bindparam("b_state"),
            version=t.version + 1,
            audit_seq=bindparam("b_seq"),
            audit_head=bindparam("b_head"),
            updated_at=sql.const(now, t.updated_at.type),
        )
    )


def _update_tenancies(sql: _Sql, now: datetime, rows: list[dict[str, Any]]) -> None:
    """Apply the versioned updates; any row not matched means a concurrent change."""
    if not rows:
        return
    result = sql.conn.execute(_tenancy_update(sql, now), rows)
    if result.rowcount == len(rows):
        return
    # Our rows now carry the head we wrote; the first one that does not was changed.
    current = {
        r.id: r
        for r in sql.conn.execute(
            select(TENANCIES.c.id, TENANCIES.c.version, TENANCIES.c.audit_head).where(
                TENANCIES.c.id.in_([r["b_id"] for r in rows])
            )
        )
    }
    for r in rows:
        now_row = current.get(r["b_id"])
        if now_row is None or now_row.audit_head != r["b_head"]:
            raise StaleTenancy(
                r["b_id"], r["b_version"], None if now_row is None else now_row.version
            )
    raise StaleTenancy(rows[0]["b_id"], None, None)  # pragma: no cover - rowcount lied


def _firm_context(row: Any, state: str, today: str) -> dict[str, Any]:
    """``Work.notify``'s context head for a firm-audience notice."""
    return {
        "firm": {
            "id": row.firm_id,
            "name": row.firm_name,
            "uscc": row.uscc,
            "contact_name": row.contact_name,
            "email": row.contact_email,
            "account_manager": row.account_manager,
        },
        "space": {"code": row.space_code, "name": row.space_name},
        "tenancy": {"id": row.id, "state": state},
        "sent_on": today,
    }


def _outbox_row(row: Any, message: str, key: str, context_json: str) -> dict[str, Any]:
    return {
        "dedupe_key": f"{message}:firm:{row.id}:{key}",
        "message": message,
        "tenancy_id": row.id,
        "firm_id": row.firm_id,
        "locale": row.locale,
        "context": context_json,
    }


def _write_outbox(sql: _Sql, now: datetime, rows: list[dict[str, Any]]) -> None:
    """Outbox rows (``Work.notify``) for firm-audience notices; ``context`` is JSON text."""
    c = OUTBOX.c
    _insert(
        sql,
        OUTBOX,
        rows,
        "context",
        audience=sql.const("firm"),
        status=sql.const("pending"),
        attempts=sql.const(0),
        next_attempt_at=sql.const(now, c.next_attempt_at.type),
        created_at=sql.const(now, c.created_at.type),
        last_error=null(),
        sent_at=null(),
    )


def _insert(
    sql: _Sql,
    table: Table,
    rows: list[dict[str, Any]],
    *json_columns: str,
    shared: Sequence[str] = (),
    **values: Any,
) -> None:
    """INSERT ``rows`` (executemany); ``json_columns`` hold already-serialized JSON text,
    ``values`` are columns rendered once for every row (see :meth:`_Sql.const`).

    ``shared`` names columns whose values the engine produced and many rows have in common
    (a kind, a due date, a state): rows are grouped by them and each group is one statement
    with those values rendered once, instead of bound and converted row by row.
    """
    if not rows:
        return
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row.pop(k) for k in shared), []).append(row)
    for key, group in groups.items():
        columns: dict[str, Any] = {
            name: (
                sql.json_param(name)
                if name in json_columns
                else bindparam(name, type_=table.c[name].type)
            )
            for name in group[0]
        }
        for name, value in zip(shared, key, strict=True):
            columns[name] = (
                sql.json_const(value)
                if name in json_columns
                else sql.const(value, table.c[name].type)
            )
        stmt = core_insert(table).values(**columns, **values)
        try:
            sql.conn.execute(stmt, group)
        except SAIntegrityError as err:
            raise AlreadyExists("row", str(err.orig).splitlines()[0]) from err


def _write_deadlines(
    sql: _Sql, calendar: WorkCalendar, now: datetime, rows: list[dict[str, Any]]
) -> None:
    """Deadline rows (``Work.deadline``); ``due_at`` is the lapse instant of ``due_on``."""
    c = DEADLINES.c
    instants: dict[date, datetime] = {}
    for row in rows:
        due = row["due_on"]
        at = instants.get(due)
        if at is None:
            at = instants[due] = calendar.due_instant(due)
        row["due_at"] = at
    _insert(
        sql,
        DEADLINES,
        rows,
        "payload",
        shared=("kind", "due_on", "due_at", "payload"),
        status=sql.const("pending"),
        created_at=sql.const(now, c.created_at.type),
        done_at=null(),
    )


def _cancel_deadlines(
    sql: _Sql, now: datetime, tenancy_ids: list[int], kinds: Sequence[str]
) -> None:
    """``Work.cancel_deadlines`` for many tenancies in one statement."""
    if not tenancy_ids:
        return
    c = DEADLINES.c
    sql.conn.execute(
        update(DEADLINES)
        .where(c.tenancy_id.in_(tenancy_ids), c.status == "pending", c.kind.in_(list(kinds)))
        .values(status="cancelled", done_at=now)
    )


class _Machine:
    """``fire`` once per distinct (facts, trigger): the answer is the same for every tenancy
    with those facts (the machine is pure), so the table's rules hold for each of them.

    The triggers fired here (``open_review`` and the review outcomes) have no guards, so, as
    in ``Work.transition``, the facts are the state alone.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], str] = {}

    def fire(self, state: str, trigger: str, tenancy_id: int) -> str:
        key = (state, trigger)
        after = self._seen.get(key)
        if after is None:
            # Raises TransitionNotAllowed naming this tenancy if the table refuses.
            after = self._seen[key] = fire(Facts(state=state), trigger, tenancy_id=tenancy_id)
        return after


def _load_calendar(engine: Engine) -> WorkCalendar:
    with engine.connect() as conn:
        rows = conn.execute(
            select(_table(CalendarOverride).c.day, _table(CalendarOverride).c.workday)
        ).all()
    return WorkCalendar({r.day: r.workday for r in rows})


class _Rulebooks:
    """Rulebooks by version, parsed once (``workflows.rules.by_version`` over Core)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._cache: dict[str, rbook.Rulebook] = {}

    def get(self, version: str | None) -> rbook.Rulebook:
        if version is None:
            raise NotFound("rulebook", "(none active)")
        hit = self._cache.get(version)
        if hit is None:
            content = self.conn.execute(
                select(_table(RulebookRow).c.content).where(
                    _table(RulebookRow).c.version == version
                )
            ).scalar_one_or_none()
            if content is None:
                raise NotFound("rulebook", version)
            hit = self._cache[version] = rules.parse(content, f"rulebook {version[:12]}")
        return hit


def _space(conn: Connection, code: str) -> Any:
    row = conn.execute(
        select(SPACES.c.id, SPACES.c.code, SPACES.c.name, SPACES.c.rulebook_version).where(
            SPACES.c.code == code
        )
    ).first()
    if row is None:
        raise NotFound("space", code)
    return row


def _check_period(period: int, today: date) -> None:
    if isinstance(period, bool) or not 2000 <= period <= today.year:
        raise InvalidInput("period", f"must be a year between 2000 and {today.year}", period)


def _rows_columns(space: Any) -> list[Any]:
    """The tenancy and firm columns every writer needs (and the space's, as constants)."""
    t, f = TENANCIES.c, FIRMS.c
    return [
        t.id,
        t.firm_id,
        t.state,
        t.version,
        t.audit_seq,
        t.audit_head,
        t.rulebook_version,
        f.name.label("firm_name"),
        f.uscc,
        f.contact_name,
        f.contact_email,
        f.account_manager,
        f.locale,
        literal(space.code).label("space_code"),
        literal(space.name).label("space_name"),
    ]


# ---- W1: a cycle opened ---------------------------------------------------------------------


@dataclass(frozen=True)
class _OpenPlan:
    """What every tenancy under one rulebook gets when its review opens on ``today``."""

    rulebook_version: str
    due: date
    reminders: tuple[tuple[int, date, str], ...]  # (workdays before, day, payload) ahead
    audit_json: str  # the event's data
    context_tail: dict[str, Any]  # the notice's own context

    @classmethod
    def build(
        cls, rb: rbook.Rulebook, calendar: WorkCalendar, today: date, period: int
    ) -> _OpenPlan:
        due = rbook.review_due_on(rb, calendar, opened_on=today)
        reminders = []
        for offset in rb.review.reminders.before_workdays:
            on = calendar.subtract_working_days(due, offset)
            if on > today:
                reminders.append(
                    (offset, on, dumps({"offset": -offset, "due_on": due.isoformat()}))
                )
        data = json_safe({"period": period, "due_on": due})
        return cls(rb.version, due, tuple(reminders), dumps(data), data)


def _candidates(space_id: int, period: int) -> Any:
    """``workflows.cycles._candidates``: active, started by the period's end, no review yet."""
    t, r = TENANCIES.c, REVIEWS.c
    return (
        t.space_id == space_id,
        t.state == "active",
        t.term_start <= date(period, 12, 31),
        ~exists().where(r.tenancy_id == t.id, r.period == period),
    )


def open_cycle_batch(
    engine: Engine,
    clock: Clock,
    calendar: WorkCalendar | None = None,
    *,
    space_code: str,
    period: int,
    chunk: int = 5000,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
    actor: str = SYSTEM,
    reason: str | None = CYCLE_REASON,
) -> BatchReport:
    """Open the ``period`` review of every eligible tenancy of a space, ``chunk`` per
    transaction, writing per tenancy exactly what ``OpenReview`` writes.

    Eligible is what ``workflows.cycles.open_cycle`` selects: active, term begun by the end
    of the period, no review for it yet. A chunk commits whole or not at all; a rerun finds
    what is still unopened. A tenancy changed concurrently (its version moved between the
    read and the write) rolls its chunk back and raises :class:`StaleTenancy`; chunks
    committed before stay committed. ``stop`` is asked before each chunk (a scheduler
    shutting down): the batch ends between chunks, ``report.stopped`` set.

    Call it outside any open unit of work: on SQLite each chunk takes the write lock.
    """
    started = time.perf_counter()
    if chunk < 1:
        raise InvalidInput("chunk", "must be at least 1", chunk)
    calendar = calendar or _load_calendar(engine)
    now = clock.now()
    today = calendar.local_date(now)
    _check_period(period, today)
    with engine.connect() as conn:
        space = _space(conn, space_code)
        books = _Rulebooks(conn)
        # Fail fast on the calendar (an unpublished year) rather than inside a chunk.
        plans = {
            space.rulebook_version: _OpenPlan.build(
                books.get(space.rulebook_version), calendar, today, period
            )
        }
        report = BatchReport(space.code, period, "open")
        report.selected = int(
            conn.execute(
                select(func.count()).select_from(TENANCIES).where(*_candidates(space.id, period))
            ).scalar_one()
        )
    if progress:
        progress(0, report.selected)
    machine = _Machine()
    last = 0
    while True:
        if stop is not None and stop():
            report.stopped = True
            break
        with engine.begin() as conn:
            stmt = (
                select(*_rows_columns(space))
                .join(FIRMS, FIRMS.c.id == TENANCIES.c.firm_id)
                .where(*_candidates(space.id, period), TENANCIES.c.id > last)
                .order_by(TENANCIES.c.id)
                .limit(chunk)
            )
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(of=TENANCIES)
            rows = conn.execute(stmt).all()
            if not rows:
                break
            books.conn = conn
            _open_chunk(
                _Sql(conn),
                rows,
                books,
                plans,
                machine,
                calendar,
                now,
                today,
                space.rulebook_version,
                period,
                actor,
                reason,
            )
        last = rows[-1].id
        report.written += len(rows)
        report.outcomes["under_review"] += len(rows)
        report.chunks += 1
        if progress:
            progress(len(rows), report.selected)
    report.seconds = time.perf_counter() - started
    return report


def _open_chunk(
    sql: _Sql,
    rows: Sequence[Any],
    books: _Rulebooks,
    plans: dict[str | None, _OpenPlan],
    machine: _Machine,
    calendar: WorkCalendar,
    now: datetime,
    today: date,
    space_rulebook: str | None,
    period: int,
    actor: str,
    reason: str | None,
) -> None:
    hasher = _Hasher(actor=actor, reason=reason, occurred_at=now)
    today_iso = today.isoformat()
    review_ids = sql.allocate_ids(REVIEWS, len(rows))
    tenancy_rows: list[dict[str, Any]] = []
    reviews: dict[str, tuple[_OpenPlan, list[dict[str, Any]]]] = {}
    events: list[dict[str, Any]] = []
    deadlines: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    for row, review_id in zip(rows, review_ids, strict=True):
        # rules.for_tenancy: the rulebook the tenancy was admitted under, else the space's.
        version = row.rulebook_version or space_rulebook
        plan = plans.get(version)
        if plan is None:
            plan = plans[version] = _OpenPlan.build(books.get(version), calendar, today, period)
        after = machine.fire(row.state, "open_review", row.id)
        seq = row.audit_seq + 1
        digest = hasher(
            prev_hash=row.audit_head,
            tenancy_id=row.id,
            seq=seq,
            trigger="open_review",
            from_state=row.state,
            to_state=after,
            data_json=plan.audit_json,
            rulebook_version=row.rulebook_version,
        )
        tenancy_rows.append(
            {
                "b_id": row.id,
                "b_version": row.version,
                "b_state": after,
                "b_seq": seq,
                "b_head": digest,
            }
        )
        reviews.setdefault(plan.rulebook_version, (plan, []))[1].append(
            {"id": review_id, "tenancy_id": row.id}
        )
        events.append(
            {
                "tenancy_id": row.id,
                "seq": seq,
                "from_state": row.state,
                "to_state": after,
                "data": plan.audit_json,
                "rulebook_version": row.rulebook_version,
                "prev_hash": row.audit_head,
                "hash": digest,
            }
        )
        deadlines.append(
            {
                "kind": "review_submission_due",
                "tenancy_id": row.id,
                "subject_id": review_id,
                "due_on": plan.due,
                "dedupe_key": f"review_submission_due:{row.id}:{review_id}",
                "payload": "{}",
            }
        )
        for offset, on, payload in plan.reminders:
            deadlines.append(
                {
                    "kind": "review_reminder",
                    "tenancy_id": row.id,
                    "subject_id": review_id,
                    "due_on": on,
                    "dedupe_key": f"review_reminder:{row.id}:{review_id}:-{offset}",
                    "payload": payload,
                }
            )
        context = {**_firm_context(row, after, today_iso), **plan.context_tail}
        notices.append(_outbox_row(row, "review_opened", str(period), dumps(context)))
    _update_tenancies(sql, now, tenancy_rows)
    r = REVIEWS.c
    for version, (plan, group) in reviews.items():
        _insert(
            sql,
            REVIEWS,
            group,
            period=sql.const(period),
            status=sql.const("open"),
            opened_at=sql.const(now, r.opened_at.type),
            due_on=sql.const(plan.due, r.due_on.type),
            submitted_at=null(),
            figures=sql.json_const("{}"),
            score=null(),
            grade=null(),
            consequence=null(),
            rulebook_version=sql.const(version),
            trace=sql.json_const("{}"),
            decided_at=null(),
        )
    _insert(
        sql,
        AUDIT,
        events,
        "data",
        shared=("from_state", "to_state", "data", "rulebook_version"),
        actor=bindparam("c_actor", actor),
        trigger=sql.const("open_review"),
        reason=bindparam("c_reason", reason),
        occurred_at=sql.const(now, AUDIT.c.occurred_at.type),
    )
    _write_deadlines(sql, calendar, now, deadlines)
    _write_outbox(sql, now, notices)


# ---- W2: a cycle decided --------------------------------------------------------------------


@dataclass(frozen=True)
class _DecidePlan:
    """Everything a decision writes that depends only on the rulebook and the day."""

    rb: rbook.Rulebook
    actor: str
    reason: str | None
    plan_due: date
    rectify_due: date
    objection_due: date
    result_rule: tuple[str, str]
    rectify_context: dict[str, Any]
    exit_context: dict[str, Any]

    @classmethod
    def build(
        cls,
        rb: rbook.Rulebook,
        calendar: WorkCalendar,
        today: date,
        *,
        actor: str,
        reason: str | None,
    ) -> _DecidePlan:
        # workflows.residency.apply_decision / _start_rectification, workflows.exits
        # .open_forced_case: the same periods, counted from the same day, the same wording.
        version = rb.version[:12]
        periods = rb.periods
        plan_due = calendar.due_date(today, periods.rectification_plan)
        rectify_due = calendar.due_date(today, periods.rectification)
        objection_due = calendar.due_date(today, periods.objection_window)
        trig = rbook.exit_trigger(rb, "consecutive_d")
        return cls(
            rb,
            actor,
            reason,
            plan_due,
            rectify_due,
            objection_due,
            (
                f"《{rb.meta.name_zh}》年度考核：等级（review.grades）与考核结果"
                f"（review.consequences），规则版本 {version}",
                f"{rb.meta.name}: annual review grades (review.grades) and consequences "
                f"(review.consequences), rulebook {version}",
            ),
            json_safe(
                {
                    "plan_due_on": plan_due,
                    "due_on": rectify_due,
                    "plan_period": periods.rectification_plan.describe(),
                    "period": periods.rectification.describe(),
                    "rule": f"《{rb.meta.name_zh}》年度考核结果（review.consequences）与整改规定"
                    f"（rectification），规则版本 {version}",
                    "rule_en": f"{rb.meta.name}: review consequences (review.consequences) and "
                    f"rectification (rectification), rulebook {version}",
                }
            ),
            json_safe(
                {
                    "grounds": "consecutive_d",
                    "grounds_zh": trig.label_zh,
                    "grounds_en": trig.label_en,
                    "rule": f"《{rb.meta.name_zh}》强制退出情形“{trig.label_zh}”"
                    f"（{trig.rule_ref}，规则版本 {version}）",
                    "rule_en": f"{rb.meta.name}: forced-exit ground “{trig.label_en}” "
                    f"({trig.rule_ref}, rulebook {version})",
                    "rule_id": trig.rule_ref,
                    "objection_due_on": objection_due,
                    "objection_period": periods.objection_window.describe(),
                    "proof_of_service": PROOF_OF_SERVICE,
                }
            ),
        )


PROOF_OF_SERVICE = SYSTEM_SERVICE  # as residency.apply_decision serves it


def outcome_for(consequence: str) -> str:
    """``workflows.residency.outcome_for``: the rulebook's consequence as a review outcome."""
    return {"forced_exit": "fail", "rectification": "rectify"}.get(consequence, "pass")


@dataclass
class _Cohort:
    """The period's reviews of a space, classified as ``decisions.cohort`` does."""

    members: int = 0
    decidable: set[int] = field(default_factory=set)
    still_open: list[tuple[int, date | None]] = field(default_factory=list)
    decided: list[tuple[int, float, str]] = field(default_factory=list)  # for the cap

    @classmethod
    def survey(cls, conn: Connection, space_id: int, period: int, today: date) -> _Cohort:
        r, t = REVIEWS.c, TENANCIES.c
        out = cls()
        stmt = (
            select(t.id, t.state, r.status, r.due_on, r.score, r.grade)
            .select_from(REVIEWS)
            .join(TENANCIES, t.id == r.tenancy_id)
            .where(t.space_id == space_id, r.period == period)
            .order_by(t.id)
        )
        if conn.dialect.name == "postgresql":  # decide_cycle locks the cohort's tenancies
            stmt = stmt.with_for_update(of=TENANCIES)
        for row in conn.execute(stmt):
            out.members += 1
            if row.status == "decided":
                out.decided.append((row.id, float(row.score or 0), row.grade or ""))
            elif row.state != "under_review":
                continue  # not reviewable: left alone, as by decide_cycle
            elif row.status == "submitted" or (row.due_on is not None and row.due_on < today):
                out.decidable.add(row.id)
            else:
                out.still_open.append((row.id, row.due_on))
        return out


def _decidable(space_id: int, period: int, today: date) -> tuple[Any, ...]:
    r, t = REVIEWS.c, TENANCIES.c
    return (
        t.space_id == space_id,
        r.period == period,
        t.state == "under_review",
        r.status != "decided",
        (r.status == "submitted") | ((r.status == "open") & (r.due_on < today)),
    )


def _stub(decision: rbook.ReviewDecision, rb: rbook.Rulebook) -> rbook.ReviewDecision:
    """The decision without its trace: all :func:`apply_grade_cap` reads is the score, the
    grade and the previous grade, and all it does to a trace is append steps, so capping
    stubs yields exactly the steps to append to the real traces."""
    return replace(decision, category_scores={}, trace=Trace("review", rb.version))


def decide_cycle_batch(
    engine: Engine,
    clock: Clock,
    calendar: WorkCalendar | None = None,
    *,
    space_code: str,
    period: int,
    actor: str = "operator",
    reason: str | None = None,
    vetoes: Mapping[int, Collection[str]] | None = None,
    chunk: int = 2000,
    progress: Progress | None = None,
) -> BatchReport:
    """Decide the ``period`` review of every firm of a space, as ``decisions.decide_cycle``
    does (same refusals, same cohort, A cap across it), writing per tenancy exactly what
    ``workflows.residency.apply_decision`` writes.

    One transaction for the whole cohort, like ``decide_cycle``: the cap is a property of the
    cohort, and a cohort half decided before a crash could be capped differently on a rerun
    (a demoted firm no longer holds an A, so it no longer counts against the allowance).
    Reviews are scored chunk by chunk and written at once, except those graded at the
    capped grade: they are held (score, grade and the trace's JSON, compressed: about
    1.5 KB each) until the whole cohort is scored and the cap is known, then written with
    the cap's trace steps appended. Call it outside any open unit of work.
    """
    started = time.perf_counter()
    if chunk < 1:
        raise InvalidInput("chunk", "must be at least 1", chunk)
    calendar = calendar or _load_calendar(engine)
    now = clock.now()
    today = calendar.local_date(now)
    _check_period(period, today)
    veto_map = {int(k): tuple(v) for k, v in (vetoes or {}).items()}
    with engine.begin() as conn:
        space = _space(conn, space_code)
        rb = _Rulebooks(conn).get(space.rulebook_version)
        cohort = _Cohort.survey(conn, space.id, period, today)
        if not cohort.members:
            raise NotFound("review", f"{period} in space {space.code}")
        if cohort.still_open:
            dues = [d for _, d in cohort.still_open if d is not None]
            until = f" until {max(dues).isoformat()}" if dues else ""
            raise Conflict(
                f"{len(cohort.still_open)} review(s) of {space.code} for {period} are still "
                f"open{until}; the cohort is decided after the deadline (tenancies "
                f"{', '.join(str(t) for t, _ in cohort.still_open)})",
                space=space.code,
                period=period,
            )
        if unknown := sorted(set(veto_map) - cohort.decidable):
            raise InvalidInput(
                "vetoes",
                "names a tenancy without a review to decide in this cycle",
                ", ".join(str(t) for t in unknown),
            )
        report = BatchReport(space.code, period, "decide", selected=len(cohort.decidable))
        if progress:
            progress(0, report.selected)
        decider = _Decider(
            _Sql(conn),
            rb,
            space,
            period,
            today,
            now,
            calendar,
            veto_map,
            _DecidePlan.build(rb, calendar, today, actor=actor, reason=reason),
        )
        cap = rb.review.grade_cap
        held: dict[int, tuple[rbook.ReviewDecision, bytes]] = {}  # capped grade, until the cap
        last = 0
        while True:
            rows = decider.select(TENANCIES.c.id > last, limit=chunk)
            if not rows:
                break
            last = rows[-1].id
            final = []
            for row, decision in decider.score(rows):
                trace = trace_json(decision.trace)
                if cap is not None and decision.grade == cap.grade:
                    held[row.id] = (_stub(decision, rb), zlib.compress(trace.encode(), 1))
                else:
                    final.append(
                        _Outcome(row, decision.score, decision.grade, decision.consequence, trace)
                    )
            decider.write(final, report)
            report.chunks += 1
            if progress:
                progress(len(final), report.selected)
        if held:
            _decide_held(decider, held, cohort, report, chunk, progress)
    report.seconds = time.perf_counter() - started
    return report


def _decide_held(
    decider: _Decider,
    held: dict[int, tuple[rbook.ReviewDecision, bytes]],
    cohort: _Cohort,
    report: BatchReport,
    chunk: int,
    progress: Progress | None,
) -> None:
    """Apply the cap across the cohort, then write the held reviews."""
    rb = decider.rb
    assert rb.review.grade_cap is not None
    other = rbook.ReviewDecision(0.0, "", "none", None, (), False, {}, Trace("review", rb.version))
    entries: list[tuple[int | None, rbook.ReviewDecision]] = []
    for _, score, grade in cohort.decided:  # decisions.recorded_decision
        entries.append(
            (
                None,
                replace(other, score=score, grade=grade)
                if grade == rb.review.grade_cap.grade
                else other,
            )
        )
    entries += [(tid, held[tid][0] if tid in held else other) for tid in sorted(cohort.decidable)]
    capped = {
        tid: d for tid, d in rbook.apply_grade_cap(rb, entries) if tid is not None and tid in held
    }
    ids = sorted(held)
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        final = []
        for row in decider.select(TENANCIES.c.id.in_(part)):
            stub, packed = held.pop(row.id)
            after_cap = capped[row.id]
            report.outcomes["demoted"] += after_cap.grade != stub.grade
            trace = append_steps(zlib.decompress(packed).decode(), after_cap.trace.steps)
            final.append(_Outcome(row, stub.score, after_cap.grade, after_cap.consequence, trace))
        if len(final) != len(part):  # a held tenancy left review under our feet
            missing = sorted(set(part) - {o.row.id for o in final})[0]
            raise StaleTenancy(missing, None, None)
        decider.write(final, report)
        report.chunks += 1
        if progress:
            progress(len(final), report.selected)


def append_steps(trace: str, steps: Sequence[TraceStep]) -> str:
    """``trace_json`` of the trace with ``steps`` added, from its JSON text: "steps" is the
    last key in sorted order and list items serialize independently, so appending their
    serialization before the closing ``]}`` gives the text of the longer trace."""
    if not steps:
        return trace
    if not trace.endswith("]}"):
        raise ValueError("not a trace serialized by trace_json")
    extra = ",".join(dumps(_step(s)) for s in steps)
    return f"{trace[:-2]}{'' if trace.endswith('[]}') else ','}{extra}]}}"


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A review's final decision, ready to write."""

    row: Any
    score: float
    grade: str
    consequence: str
    trace: str  # trace_json of the final trace


class _Decider:
    """Reads, scores and writes chunks of one cohort inside its one transaction."""

    def __init__(
        self,
        sql: _Sql,
        rb: rbook.Rulebook,
        space: Any,
        period: int,
        today: date,
        now: datetime,
        calendar: WorkCalendar,
        vetoes: Mapping[int, tuple[str, ...]],
        plan: _DecidePlan,
    ) -> None:
        self.sql, self.rb, self.space, self.period = sql, rb, space, period
        self.today, self.now, self.calendar, self.vetoes, self.plan = (
            today,
            now,
            calendar,
            vetoes,
            plan,
        )
        self.machine = _Machine()
        self.hasher = _Hasher(actor=plan.actor, reason=plan.reason, occurred_at=now)

    def select(self, *where: Any, limit: int | None = None) -> Sequence[Any]:
        r = REVIEWS.c
        stmt = (
            select(
                *_rows_columns(self.space),
                r.id.label("review_id"),
                r.period,
                r.status.label("review_status"),
                r.figures,
            )
            .join(FIRMS, FIRMS.c.id == TENANCIES.c.firm_id)
            .join(REVIEWS, r.tenancy_id == TENANCIES.c.id)
            .where(*_decidable(self.space.id, self.period, self.today), *where)
            .order_by(TENANCIES.c.id)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        if self.sql.postgres:
            stmt = stmt.with_for_update(of=TENANCIES)
        return self.sql.conn.execute(stmt).all()

    def score(self, rows: Sequence[Any]) -> Iterator[tuple[Any, rbook.ReviewDecision]]:
        """``workflows.residency.evaluate`` for a chunk: previous year and leased area are
        read once for the chunk, not once per tenancy."""
        ids = [row.id for row in rows]
        r, a = REVIEWS.c, ALLOCATIONS.c
        previous = {
            p.tenancy_id: p
            for p in self.sql.conn.execute(
                select(r.tenancy_id, r.figures, r.grade).where(
                    r.tenancy_id.in_(ids), r.period == self.period - 1
                )
            )
        }
        areas: dict[int, list[float]] = {}
        for tenancy_id, area in self.sql.conn.execute(
            select(a.tenancy_id, a.area_m2)
            .where(a.tenancy_id.in_(ids), a.end_on.is_(None))
            .order_by(a.id)
        ):
            areas.setdefault(tenancy_id, []).append(area)
        for row in rows:
            prev = previous.get(row.id)
            try:
                decision = rbook.score_review(
                    self.rb,
                    figures=row.figures,
                    previous_figures=prev.figures if prev else None,
                    leased_area_m2=round(sum(areas.get(row.id, [])), 2),
                    vetoes=self.vetoes.get(row.id, ()),
                    submitted=row.review_status == "submitted",
                    previous_grade=prev.grade if prev else None,
                )
            except InvalidInput as err:  # as decisions.plan_cycle names it
                raise InvalidInput(f"tenancy {row.id}: {err.field}", err.rule) from err
            yield row, decision

    def write(self, items: Sequence[_Outcome], report: BatchReport) -> None:
        """What ``apply_decision`` writes, for each (row, final decision)."""
        if not items:
            return
        sql, plan, rb, now = self.sql, self.plan, self.rb, self.now
        today_iso = self.today.isoformat()
        tenancy_rows: list[dict[str, Any]] = []
        review_rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        notices: list[dict[str, Any]] = []
        rectify: list[tuple[Any, _Outcome, int, str]] = []
        fail: list[tuple[Any, _Outcome, str]] = []
        self.hasher.checked = False
        for d in items:
            row, trace = d.row, d.trace
            outcome = outcome_for(d.consequence)
            trigger = OUTCOME_TRIGGER[outcome]
            after = self.machine.fire(row.state, trigger, row.id)
            seq = row.audit_seq + 1
            data = dumps_with(
                {
                    "period": row.period,
                    "score": d.score,
                    "grade": d.grade,
                    "consequence": d.consequence,
                    "outcome": outcome,
                    "rulebook_version": rb.version,
                    "trace": _FRAGMENT,
                },
                trace,
            )
            # rules.decided_under: the event records the version the decision used.
            digest = self.hasher(
                prev_hash=row.audit_head,
                tenancy_id=row.id,
                seq=seq,
                trigger=trigger,
                from_state=row.state,
                to_state=after,
                data_json=data,
                rulebook_version=rb.version,
            )
            tenancy_rows.append(
                {
                    "b_id": row.id,
                    "b_version": row.version,
                    "b_state": after,
                    "b_seq": seq,
                    "b_head": digest,
                }
            )
            review_rows.append(
                {
                    "b_id": row.review_id,
                    "b_score": d.score,
                    "b_grade": d.grade,
                    "b_consequence": d.consequence,
                    "b_trace": trace,
                }
            )
            events.append(
                {
                    "tenancy_id": row.id,
                    "seq": seq,
                    "trigger": trigger,
                    "from_state": row.state,
                    "to_state": after,
                    "data": data,
                    "prev_hash": row.audit_head,
                    "hash": digest,
                }
            )
            context = {
                **_firm_context(row, after, today_iso),
                "period": row.period,
                "score": d.score,
                "grade": d.grade,
                "consequence": d.consequence,
                "outcome": outcome,
                "trace": _FRAGMENT,
                "rule": plan.result_rule[0],
                "rule_en": plan.result_rule[1],
            }
            notices.append(
                _outbox_row(row, "review_result", str(row.period), dumps_with(context, trace))
            )
            if outcome == "rectify":
                rectify.append((row, d, seq, after))
            elif outcome == "fail":
                fail.append((row, d, after))
            report.outcomes[outcome] += 1
        _update_tenancies(sql, now, tenancy_rows)
        r = REVIEWS.c
        sql.conn.execute(
            update(REVIEWS)
            .where(r.id == bindparam("b_id"))
            .values(
                score=bindparam("b_score"),
                grade=bindparam("b_grade"),
                consequence=bindparam("b_consequence"),
                trace=sql.json_param("b_trace"),
                status=sql.const("decided"),
                decided_at=sql.const(now, r.decided_at.type),
                rulebook_version=sql.const(rb.version),
            ),
            review_rows,
        )
        _cancel_deadlines(sql, now, [d.row.id for d in items], REVIEW_DEADLINES)
        _insert(
            sql,
            AUDIT,
            events,
            "data",
            shared=("trigger", "from_state", "to_state"),
            actor=bindparam("c_actor", plan.actor),
            reason=bindparam("c_reason", plan.reason),
            rulebook_version=sql.const(rb.version),
            occurred_at=sql.const(now, AUDIT.c.occurred_at.type),
        )
        deadlines: list[dict[str, Any]] = []
        deadlines += self._rectifications(rectify, notices)
        deadlines += self._forced_exits(fail, notices)
        _write_deadlines(sql, self.calendar, now, deadlines)
        _write_outbox(sql, now, notices)
        report.written += len(items)

    def _rectifications(
        self, items: list[tuple[Any, _Outcome, int, str]], notices: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """``workflows.residency._start_rectification`` for each item."""
        if not items:
            return []
        sql, plan, now = self.sql, self.plan, self.now
        ids = sql.allocate_ids(RECTIFICATIONS, len(items))
        rows, deadlines = [], []
        for (row, d, seq, state), rect_id in zip(items, ids, strict=True):
            # The review's trace (Trace.to_dict) names no "defects": the grade says it.
            defects = f"{row.period} 年度考核等级 {d.grade}"
            rows.append(
                {
                    "id": rect_id,
                    "tenancy_id": row.id,
                    "review_id": row.review_id,
                    "defects": defects,
                }
            )
            for kind, due in (
                ("rectification_plan_due", plan.plan_due),
                ("rectification_end", plan.rectify_due),
            ):
                deadlines.append(
                    {
                        "kind": kind,
                        "tenancy_id": row.id,
                        "subject_id": rect_id,
                        "due_on": due,
                        "dedupe_key": f"{kind}:{row.id}:{rect_id}",
                        "payload": "{}",
                    }
                )
            context = {
                **_firm_context(row, state, self.today.isoformat()),
                "defects": defects,
                **plan.rectify_context,
                "review_period": row.period,
                "grade": d.grade,
            }
            notices.append(_outbox_row(row, "rectification_notice", str(seq), dumps(context)))
        c = RECTIFICATIONS.c
        _insert(
            sql,
            RECTIFICATIONS,
            rows,
            plan_due_on=sql.const(plan.plan_due, c.plan_due_on.type),
            plan=null(),
            due_on=sql.const(plan.rectify_due, c.due_on.type),
            extended=sql.const(False, c.extended.type),
            status=sql.const("open"),
            created_at=sql.const(now, c.created_at.type),
        )
        return deadlines

    def _forced_exits(
        self, items: list[tuple[Any, _Outcome, str]], notices: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """``workflows.exits.open_forced_case`` (grounds ``consecutive_d``) for each item."""
        if not items:
            return []
        sql, plan, now, rb = self.sql, self.plan, self.now, self.rb
        ids = sql.allocate_ids(EXIT_CASES, len(items))
        rows, deadlines = [], []
        for (row, d, state), case_id in zip(items, ids, strict=True):
            facts = f"{row.period} 年度考核等级 {d.grade}；{plan.reason or ''}".strip("；")
            rows.append({"id": case_id, "tenancy_id": row.id, "facts": facts})
            deadlines.append(
                {
                    "kind": "objection_window_end",
                    "tenancy_id": row.id,
                    "subject_id": case_id,
                    "due_on": plan.objection_due,
                    "dedupe_key": f"objection_window_end:{row.id}:{case_id}",
                    "payload": "{}",
                }
            )
            context = {
                **_firm_context(row, state, self.today.isoformat()),
                **plan.exit_context,
                "facts": facts,
            }
            notices.append(_outbox_row(row, "exit_notice", str(case_id), dumps(context)))
        c = EXIT_CASES.c
        _insert(
            sql,
            EXIT_CASES,
            rows,
            exit_type=sql.const("forced"),
            grounds=sql.const("consecutive_d"),
            proof_of_service=sql.const(PROOF_OF_SERVICE),
            served_at=sql.const(now, c.served_at.type),
            objection_due_on=sql.const(plan.objection_due, c.objection_due_on.type),
            objection=null(),
            ruling=null(),
            vacate_due_on=null(),
            handed_over_at=null(),
            checklist=sql.json_const("{}"),
            settlement=sql.json_const("{}"),
            status=sql.const("open"),
            rulebook_version=sql.const(rb.version),
            created_at=sql.const(now, c.created_at.type),
        )
        _cancel_deadlines(sql, now, [row.id for row, _, _ in items], RESIDENCY_DEADLINES)
        return deadlines
