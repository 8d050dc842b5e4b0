"""What every command handler shares: loading, firing a trigger, auditing, deadlines, notices.

A handler runs inside one :class:`~db.uow.UnitOfWork`; the state change, the version bump,
the audit event, the outbox rows and the deadline rows it adds are committed together or not
at all (DESIGN.md decision 2).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, Executable, bindparam, insert, inspect, text, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, select

from db.prepared import Prepared
from db.tables import (
    AuditEvent,
    Deadline,
    Firm,
    OutboxMessage,
    Space,
    Tenancy,
)
from db.uow import UnitOfWork, translate_integrity_error
from lifecycle.audit import event_hash, plain_canonical_json
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import Clock
from lifecycle.errors import NotFound, StaleTenancy, TransitionNotAllowed
from lifecycle.machine import Facts, fire
from lifecycle.periods import Period
from lifecycle.table import allowed_triggers

T = TypeVar("T", bound=SQLModel)

# The statements every command runs (load the tenancy, append the audit event, queue the notice,
# add deadlines, write the tenancy) are built once and run as prepared statements on the unit
# of work's connection (db/prepared.py): the same transaction as any ORM changes a handler
# makes, without SQLAlchemy's per-execution overhead, an ORM object flushed per row, or (for
# a handler that needs none) an ORM session at all.
_TENANCIES = Tenancy.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_DEADLINES = Deadline.__table__  # type: ignore[attr-defined]
_FIRMS = Firm.__table__  # type: ignore[attr-defined]
_SPACES = Space.__table__  # type: ignore[attr-defined]

_INSERT_AUDIT = Prepared(insert(_AUDIT))
_INSERT_OUTBOX = Prepared(insert(_OUTBOX))
# A deadline's dedupe key makes adding it twice a no-op. ``ON CONFLICT (...) DO NOTHING`` reads
# the same on SQLite and PostgreSQL, written once as text (typed per column).
_DEADLINE_COLUMNS = [c for c in _DEADLINES.c if c.name != "id"]
_INSERT_DEADLINE = Prepared(
    text(
        f"INSERT INTO {_DEADLINES.name} ({', '.join(c.name for c in _DEADLINE_COLUMNS)}) "
        f"VALUES ({', '.join(':' + c.name for c in _DEADLINE_COLUMNS)}) "
        "ON CONFLICT (dedupe_key) DO NOTHING"
    ).bindparams(*(bindparam(c.name, type_=c.type) for c in _DEADLINE_COLUMNS))
)
# No SET clause here: Core takes it from the keys of the parameters (the changed columns).
_UPDATE_TENANCY = Prepared(
    update(_TENANCIES).where(
        _TENANCIES.c.id == bindparam("key_id"), _TENANCIES.c.version == bindparam("key_version")
    )
)
_CANCEL_DEADLINES: dict[int, Prepared] = {}  # by the number of kinds cancelled


def _cancel_deadlines(kinds: int) -> Prepared:
    # One bound parameter per kind (not an "expanding" IN, which is rendered per execution).
    stmt = _CANCEL_DEADLINES.get(kinds)
    if stmt is None:
        stmt = _CANCEL_DEADLINES[kinds] = Prepared(
            update(_DEADLINES)
            .where(
                _DEADLINES.c.tenancy_id == bindparam("key_tenancy"),
                _DEADLINES.c.status == "pending",
                _DEADLINES.c.kind.in_([bindparam(f"kind_{i}") for i in range(kinds)]),
            )
            .values(status="cancelled", done_at=bindparam("done_at"))
        )
    return stmt


# What a notice quotes of the firm and the space (loaded with the tenancy, see below).
_PARTY_COLUMNS = (
    _FIRMS.c.id.label("party_firm_id"),
    _FIRMS.c.name,
    _FIRMS.c.uscc,
    _FIRMS.c.contact_name,
    _FIRMS.c.contact_email,
    _FIRMS.c.account_manager,
    _FIRMS.c.locale,
    _SPACES.c.code.label("space_code"),
    _SPACES.c.name.label("space_name"),
)
_PARTY_KEYS = tuple(c.key for c in _PARTY_COLUMNS)
_NOTICE_PARTIES = Prepared(
    core_select(*_PARTY_COLUMNS)
    .select_from(_FIRMS.join(_SPACES, _SPACES.c.id == bindparam("space_id")))
    .where(_FIRMS.c.id == bindparam("firm_id"))
)

# The reads every command makes, built once (building a statement costs as much as running it).
# A tenancy comes with its firm's and space's notice fields: most commands tell the firm,
# and one statement is cheaper than two. Only the tenancy row is locked on PostgreSQL.
_TENANCY_KEYS = tuple(c.key for c in _TENANCIES.c)
_TENANCY_BY_ID_SELECT = (
    core_select(*_TENANCIES.c, *_PARTY_COLUMNS)
    .select_from(
        _TENANCIES.join(_FIRMS, _FIRMS.c.id == _TENANCIES.c.firm_id).join(
            _SPACES, _SPACES.c.id == _TENANCIES.c.space_id
        )
    )
    .where(_TENANCIES.c.id == bindparam("tenancy_id"))
)
_TENANCY_BY_ID = Prepared(_TENANCY_BY_ID_SELECT)
_TENANCY_BY_ID_LOCKED = Prepared(_TENANCY_BY_ID_SELECT.with_for_update(of=_TENANCIES))
_PENDING_DUE_ON = Prepared(
    core_select(_DEADLINES.c.due_on)
    .where(
        _DEADLINES.c.tenancy_id == bindparam("tenancy_id"),
        _DEADLINES.c.kind == bindparam("kind"),
        _DEADLINES.c.status == "pending",
    )
    .order_by(_DEADLINES.c.id.desc())
    .limit(1)
)

_UPDATE_BY_ID: dict[str, Prepared] = {}


def _update_by_id(table: Any) -> Prepared:
    # No SET clause: Core takes it from the keys of the parameters (the columns written).
    stmt = _UPDATE_BY_ID.get(table.name)
    if stmt is None:
        stmt = _UPDATE_BY_ID[table.name] = Prepared(
            update(table).where(table.c.id == bindparam("key_id"))
        )
    return stmt


_INSERT_INTO: dict[str, Prepared] = {}
_SPACE_RULEBOOK = Prepared(
    core_select(_SPACES.c.rulebook_version).where(_SPACES.c.id == bindparam("space_id"))
)

DEFAULT_TZ = "Asia/Shanghai"


@dataclass
class Step:
    """What one command did to one tenancy (returned to entry points)."""

    tenancy_id: int
    trigger: str
    from_state: str | None
    to_state: str
    version: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenancy_id": self.tenancy_id,
            "trigger": self.trigger,
            "from": self.from_state,
            "to": self.to_state,
            "version": self.version,
            **self.data,
        }


class Work:
    """One command's view of the world: the unit of work, the clock, the calendar."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        calendar: WorkCalendar | Callable[[], WorkCalendar],
        *,
        tz: str = DEFAULT_TZ,
    ) -> None:
        self.uow = uow
        self.clock = clock
        # The calendar (with the operator's overrides) is read from the database only when a
        # command first does working-day arithmetic; most commands never do.
        self._calendar = calendar
        self.now: datetime = clock.now()
        self.today: date = self.now.astimezone(ZoneInfo(tz)).date()
        self._parties: dict[tuple[int, int], Any] = {}
        self._connection: Connection | None = None
        self._nested: Any = None  # the savepoint the connection was asked for in
        self._loaded_versions: dict[int, int] = {}  # tenancy id -> version when first loaded
        self.added_deadlines: list[dict[str, Any]] = []  # the deadline rows this work added

    @property
    def calendar(self) -> WorkCalendar:
        if not isinstance(self._calendar, WorkCalendar):
            self._calendar = self._calendar()
        return self._calendar

    # ---- Core writes on the unit of work's connection -----------------------------------
    @property
    def session(self) -> Session:
        """The unit of work's ORM session (made on first use: most commands never need one)."""
        return self.uow.session

    @property
    def connection(self) -> Connection:
        """The unit of work's connection (its transaction begins on first use).

        Asked of the session again whenever a savepoint began or ended since: the session
        emits a savepoint's ``SAVEPOINT`` when its connection is next asked for.
        """
        if not self.uow.has_session:
            return self.uow.connection
        nested = self.uow.session.get_nested_transaction()
        if self._connection is None or nested is not self._nested:
            self._connection = self.uow.session.connection()
            self._nested = nested
        return self._connection

    def execute(self, stmt: Executable | Prepared, params: Any = None) -> Any:
        """Execute a Core statement, or a prepared one (whose result is the driver's rows,
        unprocessed), in this unit of work, translating integrity errors."""
        try:
            if isinstance(stmt, Prepared):
                return stmt.execute(self.connection, params)
            return self.connection.execute(stmt, params)
        except SAIntegrityError as err:
            raise translate_integrity_error(err) from err

    def read(self, stmt: Prepared, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a prepared query, after writing what the session holds unwritten
        (as the ORM's autoflush would before a query)."""
        self.uow.flush()
        return stmt.first(self.connection, params)

    def read_all(self, stmt: Prepared, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self.uow.flush()
        return stmt.all(self.connection, params)

    # ---- loading -------------------------------------------------------------------------
    def get(self, model: type[T], key: object, kind: str | None = None) -> T:
        row = self.session.get(model, key)
        if row is None:
            raise NotFound(kind or model.__name__.lower(), key)
        return row

    def tenancy(
        self, tenancy_id: int, expected_version: int | None = None, *, lock: bool = True
    ) -> Tenancy:
        locked = lock and self.connection.dialect.name == "postgresql"
        stmt = _TENANCY_BY_ID_LOCKED if locked else _TENANCY_BY_ID
        found = self.read(stmt, {"tenancy_id": tenancy_id})
        if found is None:
            raise NotFound("tenancy", tenancy_id)
        width = len(_TENANCY_KEYS)
        row: Tenancy = self.uow.attach(
            Tenancy, dict(zip(_TENANCY_KEYS, found[:width], strict=True))
        )
        self._parties[(row.firm_id, row.space_id)] = dict(
            zip(_PARTY_KEYS, found[width:], strict=True)
        )
        self._loaded_versions.setdefault(tenancy_id, row.version)
        if expected_version is not None and row.version != expected_version:
            raise StaleTenancy(tenancy_id, expected_version, row.version)
        return row

    def insert(self, model: type[SQLModel], **values: Any) -> int:
        """Insert one row of ``model`` now and return its id; for rows the command does not go
        on to change as objects (column defaults apply, as they would for the object)."""
        table = model.__table__  # type: ignore[attr-defined]
        stmt = _INSERT_INTO.get(table.name)
        if stmt is None:
            stmt = _INSERT_INTO[table.name] = Prepared(insert(table).returning(table.c.id))
        return int(self.execute(stmt, values).fetchone()[0])

    def write(self, row: SQLModel) -> None:
        """Write the columns of ``row`` changed since it was loaded, now, as one UPDATE by
        primary key (a new row is inserted by the session instead). Afterwards the row reads
        as unchanged, so the session does not write it again at commit.
        """
        state = inspect(row)
        if state.transient or state.pending:
            self.session.add(row)
            self.uow.flush()
            return
        table = state.mapper.local_table
        assert state.mapper.version_id_col is None, "versioned rows are written by _save"
        values = {key: getattr(row, key) for key in state.committed_state if key in table.c}
        if not values:
            return
        self.execute(_update_by_id(table), {"key_id": state.identity[0], **values})
        _written(row)

    def update(self, row: SQLModel, **values: Any) -> None:
        """Set ``values`` on ``row`` and write them now, as one UPDATE by primary key.

        ``row.x = v`` then :meth:`write` does the same; this skips the per-attribute change
        tracking (the values are written at once and become the row's loaded state).
        """
        state = inspect(row)
        if state.transient or state.pending or state.modified:
            for key, value in values.items():  # other changes wait: write them all together
                setattr(row, key, value)
            self.write(row)
            return
        table = state.mapper.local_table
        assert state.mapper.version_id_col is None, "versioned rows are written by _save"
        self.execute(_update_by_id(table), {"key_id": state.identity[0], **values})
        for key, value in values.items():
            set_committed_value(row, key, value)

    def space_rulebook_version(self, space_id: int) -> str | None:
        """The version of the rulebook active in a space now (as this command left it)."""
        if self.uow.has_session:
            loaded = self.session.identity_map.get(self.session.identity_key(Space, space_id))
            if loaded is not None:
                return loaded.rulebook_version  # type: ignore[no-any-return]
        row = _SPACE_RULEBOOK.first(self.connection, {"space_id": space_id})
        if row is None:
            raise NotFound("space", space_id)
        return row[0]  # type: ignore[no-any-return]

    def space_by_code(self, code: str) -> Space:
        row = self.session.exec(select(Space).where(Space.code == code)).first()
        if row is None:
            raise NotFound("space", code)
        return row

    def firm(self, ref: str | int) -> Firm:
        """A firm by id or by 统一社会信用代码."""
        if isinstance(ref, int) or str(ref).isdigit() and len(str(ref)) < 18:
            return self.get(Firm, int(ref), "firm")
        row = self.session.exec(select(Firm).where(Firm.uscc == str(ref).upper())).first()
        if row is None:
            raise NotFound("firm", ref)
        return row

    # ---- the one way a tenancy changes state --------------------------------------------
    def require(self, tenancy: Tenancy, *triggers: str) -> None:
        """Refuse early, before any lookup, when none of ``triggers`` is allowed here."""
        allowed = allowed_triggers(tenancy.state)
        if not any(t in allowed for t in triggers):
            raise TransitionNotAllowed(tenancy.id, triggers[0], tenancy.state, allowed)

    def require_state(self, tenancy: Tenancy, action: str, states: Collection[str]) -> None:
        """For record-only actions (a score, a submission): which states accept them."""
        if tenancy.state not in states:
            raise TransitionNotAllowed(
                tenancy.id, action, tenancy.state, allowed_triggers(tenancy.state)
            )

    def transition(
        self,
        tenancy: Tenancy,
        trigger: str,
        *,
        actor: str,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
        facts: Facts | None = None,
    ) -> Step:
        facts = facts or Facts(state=tenancy.state)
        facts.state = tenancy.state
        before = tenancy.state
        assert tenancy.id is not None
        after = fire(facts, trigger, tenancy_id=tenancy.id)
        seq, digest = self._event(
            tenancy, trigger, before, after, actor=actor, reason=reason, data=data
        )
        self._save(tenancy, state=after, audit_seq=seq, audit_head=digest)
        return Step(tenancy.id, trigger, before, after, tenancy.version, dict(data or {}))

    def record(
        self,
        tenancy: Tenancy,
        what: str,
        *,
        actor: str,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Step:
        """An audited fact that does not change the state (a score, a submission, ...).

        It still bumps the version: whoever decides next must have seen it.
        """
        assert tenancy.id is not None
        seq, digest = self._event(
            tenancy, what, tenancy.state, tenancy.state, actor=actor, reason=reason, data=data
        )
        self._save(tenancy, audit_seq=seq, audit_head=digest)
        return Step(
            tenancy.id, what, tenancy.state, tenancy.state, tenancy.version, dict(data or {})
        )

    def _save(self, tenancy: Tenancy, **written: Any) -> None:
        """Write the tenancy now, as one versioned UPDATE: every attribute the command changed
        on the object, and ``written`` (the new state, the audit chain's head), which the
        object then holds as loaded. A concurrent change (version moved on) surfaces as
        StaleTenancy naming it.

        The ORM's own optimistic lock would do the same, at the price of a flush; afterwards
        the object reads as unchanged, so the session does not write it a second time.
        """
        tenancy_id, seen = tenancy.id, tenancy.version
        assert tenancy_id is not None
        written["updated_at"] = self.now
        state = inspect(tenancy)
        if state.pending:  # not in the database yet: the ORM inserts it, at version 1
            for key, value in written.items():
                setattr(tenancy, key, value)
            self.uow.flush()
            return
        # committed_state holds the previous value of each attribute changed since loading.
        changed = state.modified
        values = {key: getattr(tenancy, key) for key in state.committed_state}
        values.update(written)
        # One command moves the version by one, however often it writes the row: a version
        # names what a user saw between commands.
        values["version"] = max(seen, self._loaded_versions.get(tenancy_id, seen) + 1)
        done = self.execute(_UPDATE_TENANCY, {"key_id": tenancy_id, "key_version": seen, **values})
        if done.rowcount != 1:
            raise StaleTenancy(tenancy_id, seen, None)
        for key, value in written.items():
            set_committed_value(tenancy, key, value)
        set_committed_value(tenancy, "version", values["version"])
        if changed:
            _written(tenancy)

    def audit(
        self,
        tenancy: Tenancy,
        trigger: str,
        before: str | None,
        after: str,
        *,
        actor: str,
        reason: str | None,
        data: Mapping[str, Any] | None,
    ) -> None:
        """Append the next event to the tenancy's hash chain; the tenancy's chain head moves
        (written with the tenancy at the next save or flush)."""
        seq, digest = self._event(
            tenancy, trigger, before, after, actor=actor, reason=reason, data=data
        )
        tenancy.audit_seq = seq
        tenancy.audit_head = digest

    def _event(
        self,
        tenancy: Tenancy,
        trigger: str,
        before: str | None,
        after: str,
        *,
        actor: str,
        reason: str | None,
        data: Mapping[str, Any] | None,
    ) -> tuple[int, str]:
        """Insert the tenancy's next audit event; its sequence number and hash come back."""
        assert tenancy.id is not None
        seq = tenancy.audit_seq + 1
        # Plain data (a decision's trace, mostly) is serialized once: the same bytes are hashed
        # and stored. Anything else is made JSON-safe first (dates as ISO text, ...).
        given = dict(data or {})
        data_json = plain_canonical_json(given)
        payload = orjson.Fragment(data_json) if data_json is not None else _json_safe(given)
        digest = event_hash(
            prev_hash=tenancy.audit_head,
            tenancy_id=tenancy.id,
            seq=seq,
            actor=actor,
            trigger=trigger,
            from_state=before,
            to_state=after,
            reason=reason,
            data=None if data_json is not None else payload,
            rulebook_version=tenancy.rulebook_version,
            occurred_at=self.now,
            data_json=data_json,
        )
        event = {
            "tenancy_id": tenancy.id,
            "seq": seq,
            "actor": actor,
            "trigger": trigger,
            "from_state": before,
            "to_state": after,
            "reason": reason,
            "data": payload,
            "rulebook_version": tenancy.rulebook_version,
            "occurred_at": self.now,
            "prev_hash": tenancy.audit_head,
            "hash": digest,
        }
        try:
            _INSERT_AUDIT.execute(self.connection, event)
        except SAIntegrityError as err:
            # Someone else appended to this tenancy's chain first: (tenancy_id, seq) is unique.
            raise StaleTenancy(tenancy.id, tenancy.version, None) from err
        return seq, digest

    # ---- deadlines ----------------------------------------------------------------------
    def due(self, start: date, period: Period) -> date:
        return self.calendar.due_date(start, period)

    def deadline(
        self,
        tenancy: Tenancy,
        kind: str,
        due_on: date,
        *,
        subject_id: int | None = None,
        key: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> bool:
        """Add a deadline row; the dedupe key makes re-adding the same deadline a no-op.

        True when the row was added, False when a deadline with that key already existed.
        """
        assert tenancy.id is not None
        dedupe = f"{kind}:{tenancy.id}:{key or subject_id or due_on.isoformat()}"
        row = {
            "kind": kind,
            "tenancy_id": tenancy.id,
            "subject_id": subject_id,
            "due_on": due_on,
            "due_at": self.calendar.due_instant(due_on),
            "status": "pending",
            "dedupe_key": dedupe,
            "payload": _json_safe(dict(payload or {})),
            "created_at": self.now,
            "done_at": None,
        }
        if not self.execute(_INSERT_DEADLINE, row).rowcount:
            return False
        self.added_deadlines.append(row)
        return True

    def pending_due_on(self, tenancy_id: int, kind: str) -> date | None:
        """The day the newest pending deadline of ``kind`` falls due, if there is one."""
        row = _PENDING_DUE_ON.first(self.connection, {"tenancy_id": tenancy_id, "kind": kind})
        return row[0] if row is not None else None

    def cancel_deadlines(self, tenancy_id: int, *kinds: str) -> int:
        """Cancel pending deadlines of these kinds (the step they guarded is moot)."""
        params = {"key_tenancy": tenancy_id, "done_at": self.now}
        params.update((f"kind_{i}", kind) for i, kind in enumerate(kinds))
        done = self.execute(_cancel_deadlines(len(kinds)), params)
        # Deadlines this session already holds (a sweep firing one) read as cancelled too.
        held = self.session.identity_map.values() if self.uow.has_session else ()
        for obj in list(held):
            if (
                isinstance(obj, Deadline)
                and obj.tenancy_id == tenancy_id
                and obj.status == "pending"
                and obj.kind in kinds
            ):
                set_committed_value(obj, "status", "cancelled")
                set_committed_value(obj, "done_at", self.now)
        return int(done.rowcount)

    # ---- notices ------------------------------------------------------------------------
    def notify(
        self,
        tenancy: Tenancy,
        message: str,
        *,
        context: Mapping[str, Any] | None = None,
        audience: str = "firm",
        key: str | None = None,
    ) -> None:
        """Queue a notice in the outbox (sent by the relay after commit, never from here).

        A second notice with the same dedupe key is refused (AlreadyExists): a retried command
        must not tell a firm twice.
        """
        parties = self._notice_parties(tenancy.firm_id, tenancy.space_id)
        dedupe = f"{message}:{audience}:{tenancy.id}:{key or tenancy.audit_seq}"
        ctx = {
            "firm": {
                "id": parties["party_firm_id"],
                "name": parties["name"],
                "uscc": parties["uscc"],
                "contact_name": parties["contact_name"],
                "email": parties["contact_email"],
                "account_manager": parties["account_manager"],
            },
            "space": {"code": parties["space_code"], "name": parties["space_name"]},
            "tenancy": {"id": tenancy.id, "state": tenancy.state},
            "sent_on": self.today.isoformat(),
            **(context or {}),
        }
        # Plain data (a decision's trace, mostly) goes into the column as serialized once;
        # anything else is made JSON-safe first (dates as ISO text, ...).
        ctx_json = plain_canonical_json(ctx)
        stored = orjson.Fragment(ctx_json) if ctx_json is not None else _json_safe(ctx)
        row = {
            "dedupe_key": dedupe,
            "message": message,
            "tenancy_id": tenancy.id,
            "firm_id": parties["party_firm_id"],
            "audience": audience,
            "locale": parties["locale"],
            "context": stored,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": self.now,
            "last_error": None,
            "created_at": self.now,
            "sent_at": None,
        }
        self.execute(_INSERT_OUTBOX, row)

    def _notice_parties(self, firm_id: int, space_id: int) -> dict[str, Any]:
        """The firm's and space's fields a notice quotes, as loaded with the tenancy (or in one
        query, then kept for the command)."""
        key = (firm_id, space_id)
        if key not in self._parties:
            row = _NOTICE_PARTIES.first(self.connection, {"firm_id": firm_id, "space_id": space_id})
            if row is None:
                if self.session.get(Firm, firm_id) is None:
                    raise NotFound("firm", firm_id)
                raise NotFound("space", space_id)
            self._parties[key] = dict(zip(_PARTY_KEYS, row, strict=True))
        return self._parties[key]


def _written(row: SQLModel) -> None:
    """Tell the session that ``row``, as it is now, is what the database holds.

    The same bookkeeping the session does after flushing an object (``InstanceState.
    _commit_all``): no changed attributes, not modified, so no flush visits it again.
    """
    state = inspect(row)
    state._commit_all(state.dict, state.session.identity_map if state.session else None)


def _json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: dates as ISO text, sets and tuples as lists, objects with
    ``to_dict()`` as that dict, anything else as ``str()``; keys become text."""
    try:
        return orjson.loads(orjson.dumps(value, default=_json_default, option=_JSON_SAFE))
    except TypeError:  # a key orjson cannot take (a tuple), a huge int: the general way
        return _json_walk(value)


# Dates, dataclasses and str/int subclasses go through _json_default, as the walk does.
_JSON_SAFE = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _json_walk(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_walk(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_walk(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return _json_walk(_json_default(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return list(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


json_safe = _json_safe
