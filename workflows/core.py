"""What every command handler shares: the unit of work, the clock, the calendar, the tenancy.

A handler runs inside one :class:`~db.uow.UnitOfWork`. It loads a tenancy as a
:class:`~db.effects.TenancyRow`, decides, and writes through :mod:`db.writer` — either a
whole :class:`~db.effects.Effects` built by a pure decide function (:meth:`Work.apply`), or
step by step with the helpers below, each of which builds the same effects and hands them to
the same writer at once. The state change, the version bump, the audit event, the outbox
rows and the deadline rows are committed together or not at all (DESIGN.md decision 2).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypedDict, TypeVar, Unpack
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Executable
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlmodel import Session, SQLModel, select

from db import repositories as repo
from db.effects import (
    TENANCY_COLUMNS,
    Effects,
    Rows,
    StepResult,
    TenancyRow,
    deadline_row,
    json_safe,
    notice_row,
)
from db.registry import SpaceRow
from db.repositories import FirmRow, ReviewRow
from db.tables import Deadline, Space, Tenancy
from db.uow import AbstractUnitOfWork, translate_integrity_error
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import Clock
from lifecycle.errors import NotFound, StaleTenancy, TransitionNotAllowed
from lifecycle.machine import Facts
from lifecycle.periods import Period
from lifecycle.rulebook import Rulebook
from lifecycle.table import allowed_triggers
from workflows.commands import TenancyCommand

T = TypeVar("T", bound=SQLModel)
P = ParamSpec("P")
R = TypeVar("R")
Step = StepResult
Data = Mapping[str, Any] | None  # what an audit event records beside its trigger
DEFAULT_TZ = "Asia/Shanghai"
# Columns the writer sets itself when it saves a tenancy; any other column a handler changed
# on the record since it was loaded is written with them.
_SAVED = frozenset({"state", "audit_seq", "audit_head", "version", "updated_at"})

__all__ = ["DEFAULT_TZ", "Acting", "Step", "Who", "Work", "json_safe"]


class Acting(Protocol):
    """Who acts and why: a command, or anything else with its ``actor`` and ``reason``."""

    @property
    def actor(self) -> str: ...

    @property
    def reason(self) -> str | None: ...


class Who(TypedDict, total=False):
    """Who an audited step names: ``by`` a command (its actor and reason), or an ``actor``
    with a ``reason`` where there is no command (or its reason is not the one recorded)."""

    by: Acting
    actor: str
    reason: str | None


def _acting(who: Who) -> tuple[str, str | None]:
    """The actor and the reason ``who`` names (one of the two forms, not both)."""
    if "by" in who:
        if "actor" in who or "reason" in who:
            raise TypeError("name who acts with by= or with actor= and reason=, not both")
        return who["by"].actor, who["by"].reason
    if "actor" not in who:
        raise TypeError("an audited step needs by= or actor=")
    return who["actor"], who.get("reason")


def acting(who: Who) -> tuple[str, str | None]:
    """The actor and the reason ``who`` names (for decide functions that take ``**who``)."""
    return _acting(who)


class Work:
    """One command's view of the world: the unit of work, the clock, the calendar, and the
    tenancies it loaded (with the version each had then, and what has changed since)."""

    def __init__(
        self,
        uow: AbstractUnitOfWork,
        clock: Clock,
        calendar: WorkCalendar | Callable[[], WorkCalendar],
        *,
        rulebooks: dict[str, Rulebook] | None = None,
        tz: str = DEFAULT_TZ,
    ) -> None:
        self.uow = uow
        self.clock = clock
        # The calendar (with the operator's overrides) is read from the database only when a
        # command first does working-day arithmetic; most commands never do.
        self._calendar = calendar
        self.now: datetime = clock.now()
        self.today: date = self.now.astimezone(ZoneInfo(tz)).date()
        # Parsed rulebooks by version, kept by the service across commands: a version is the
        # hash of the text, so a parsed rulebook never goes stale.
        self.rulebooks: dict[str, Rulebook] = rulebooks if rulebooks is not None else {}
        # The rulebook version audit events record for a tenancy, where a decision is taken
        # under another rulebook than the one the tenancy was admitted under.
        self.event_rulebook: dict[int, str] = {}
        # id -> (version when first loaded, columns as last written, the record)
        self._loaded: dict[int, tuple[int, dict[str, Any], TenancyRow]] = {}
        self.added_deadlines: list[dict[str, Any]] = []  # the deadline rows this work added
        # The rulebook active in each space, as read with a tenancy of it.
        self._space_rulebooks: dict[int, str | None] = {}
        # Effects decided inside ``deferred`` and not written yet (None: write at once).
        self._pending: list[Effects] | None = None

    @property
    def calendar(self) -> WorkCalendar:
        if not isinstance(self._calendar, WorkCalendar):
            self._calendar = self._calendar()
        return self._calendar

    # ---- the unit of work ----------------------------------------------------------------
    @property
    def session(self) -> Session:
        """The unit of work's ORM session (made on first use: most commands never need one)."""
        return self.uow.session

    @property
    def connection(self) -> Connection:
        """The unit of work's connection, after writing what the session holds unwritten
        (as the ORM's autoflush would before a query)."""
        self.uow.flush()
        return self.uow.session_connection()

    def execute(self, stmt: Executable, params: Any = None) -> Any:
        """Execute a Core statement in this unit of work, translating integrity errors."""
        try:
            return self.connection.execute(stmt, params)
        except SAIntegrityError as err:
            raise translate_integrity_error(err) from err

    def apply(self, effects: Effects) -> None:
        """Write a decided command's effects now, in this unit of work's transaction (inside
        :meth:`deferred`: when its block ends, with the others decided there)."""
        if self._pending is not None:
            self._pending.append(effects)
            return
        self._write([effects])

    @contextmanager
    def deferred(self) -> Iterator[list[Effects]]:
        """Load many, decide each, write many: the effects decided in this block are kept (the
        list yielded) and written together when it ends without an error, one
        ``executemany`` per statement. Deciding must not read what an earlier decision in the
        block wrote; a caller that lets one decision fail drops what it had added to the
        list (:meth:`discard`)."""
        if self._pending is not None:
            raise RuntimeError("deferred blocks do not nest")
        pending: list[Effects] = []
        self._pending = pending
        try:
            yield pending
        finally:
            self._pending = None
        if pending:
            self._write(pending)

    def discard(self, pending: list[Effects], mark: int) -> None:
        """Drop the effects decided in a :meth:`deferred` block since ``pending`` was ``mark``
        long, and forget the tenancies they changed (as loaded: nothing of them is written)."""
        for e in pending[mark:]:
            self._loaded.pop(e.tenancy.id, None)
        del pending[mark:]

    def _write(self, effects: Sequence[Effects]) -> None:
        self.uow.writer.write(effects)
        for e in effects:
            self._written(e)
            self.added_deadlines.extend(e.deadlines)
            for kinds in e.cancels:
                self._expire_deadlines(e.tenancy.id, kinds)

    def decide(
        self,
        tenancy: TenancyRow,
        decision: Callable[Concatenate[Effects, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Decide, then write: ``decision`` (a pure function) fills the tenancy's effects from
        what the command loaded, and they are written at once; its result comes back."""
        effects = self.effects(tenancy)
        result = decision(effects, *args, **kwargs)
        self.apply(effects)
        return result

    def apply_rows(self, rows: Rows, *effects: Effects) -> None:
        """Write a decided command's rows outside any tenancy (a firm, a unit, ...) and the
        effects on the tenancies it records them on, now, in this unit of work's transaction."""
        self.uow.writer.write_rows([rows])
        if effects:
            self.uow.writer.write(effects)
        for e in effects:
            self._written(e)
            self.added_deadlines.extend(e.deadlines)
        if rows.updates and self.uow.has_session:
            updated = {(name, row_id) for name, row_id, _ in rows.updates}
            for obj in list(self.session.identity_map.values()):
                if (getattr(obj, "__tablename__", None), getattr(obj, "id", None)) in updated:
                    self.session.expire(obj)
        if any(name == "spaces" for name, _, _ in rows.updates):
            self._space_rulebooks.clear()  # a space's active rulebook may have changed

    # ---- loading -------------------------------------------------------------------------
    def get(self, model: type[T], key: object, kind: str | None = None) -> T:
        row = self.session.get(model, key)
        if row is None:
            raise NotFound(kind or model.__name__.lower(), key)
        return row

    def tenancy(
        self, tenancy_id: int, expected_version: int | None = None, *, lock: bool = True
    ) -> TenancyRow:
        """The tenancy, locked on PostgreSQL; StaleTenancy if it moved past ``expected``."""
        return self._register(
            tenancy_id, self.uow.tenancies.get(tenancy_id, lock=lock), expected_version
        )

    def tenancy_with_reviews(
        self, cmd: TenancyCommand, period: int, *, previous: bool = False
    ) -> tuple[TenancyRow, dict[int, ReviewRow]]:
        """The command's tenancy as :meth:`tenancy` loads it, with its ``period`` review (and
        the one before, when ``previous``) by period, those it has: one read, not two."""
        row, found = self.uow.tenancies.with_reviews(cmd.tenancy_id, period, previous=previous)
        return self._register(cmd.tenancy_id, row, cmd.expected_version), found

    def _register(
        self, tenancy_id: int, row: TenancyRow | None, expected_version: int | None
    ) -> TenancyRow:
        """A tenancy just read, kept as this command loaded it (the version it first had)."""
        if row is None:
            raise NotFound("tenancy", tenancy_id)
        known = self._loaded.get(tenancy_id)
        self._loaded[tenancy_id] = (known[0] if known else row.version, _columns(row), row)
        if row.party is not None:
            self._space_rulebooks[row.space_id] = row.party.space_rulebook_version
        if expected_version is not None and row.version != expected_version:
            raise StaleTenancy(tenancy_id, expected_version, row.version)
        return row

    def effects(self, tenancy: TenancyRow) -> Effects:
        """An empty :class:`Effects` for a tenancy this command loaded: the tenancy ends at one
        version past the one it had when the command first loaded it."""
        first = self._loaded.get(tenancy.id)
        new_version = (first[0] if first else tenancy.version) + 1
        effects = Effects(
            tenancy,
            now=self.now,
            today=self.today,
            new_version=max(new_version, tenancy.version),
            event_rulebook=self.event_rulebook.get(tenancy.id),
        )
        if first is not None:  # columns a handler set on the record since it was loaded
            for key, value in _columns(tenancy).items():
                if key not in _SAVED and first[1].get(key) != value:
                    effects.changed[key] = value
        return effects

    def _written(self, effects: Effects) -> None:
        t = effects.tenancy
        if effects.moved:
            t.version, t.updated_at = effects.new_version, effects.now
        first = self._loaded.get(t.id)
        self._loaded[t.id] = (first[0] if first else effects.seen_version, _columns(t), t)
        if effects.moved and self.uow.has_session:
            # An ORM copy of the tenancy this session holds is read again on next use.
            held = self.session.identity_map.get(self.session.identity_key(Tenancy, t.id))
            if held is not None:
                self.session.expire(held)
        if (effects.updates or effects.cancels) and self.uow.has_session:
            self._expire_held(effects)

    def _expire_held(self, effects: Effects) -> None:
        """ORM copies this session holds of rows the effects updated (an exit case, a
        violation) or of deadlines they cancelled are read again on next use."""
        updated = {(table, row_id) for table, row_id, _ in effects.updates}
        kinds = {kind for group in effects.cancels for kind in group}
        for obj in list(self.session.identity_map.values()):
            name = getattr(obj, "__tablename__", None)
            if (name, getattr(obj, "id", None)) in updated:
                self.session.expire(obj)
            elif (
                isinstance(obj, Deadline)
                and obj.tenancy_id == effects.tenancy.id
                and obj.kind in kinds
            ):
                self.session.expire(obj, ["status", "done_at"])

    def flush_changed(self) -> None:
        """Write tenancy columns a handler set after the command's last write (the service
        calls this before committing): with a version bump, as any change has."""
        for _, snapshot, row in list(self._loaded.values()):
            if any(snapshot.get(k) != v for k, v in _columns(row).items() if k not in _SAVED):
                effects = self.effects(row)
                effects.moved = True
                self.uow.writer.write_tenancies([effects])
                self._written(effects)

    def space_rulebook_version(self, space_id: int) -> str | None:
        """The version of the rulebook active in a space now (as this command left it).

        Read with the command's tenancy when it has loaded one of the space and has not
        written through the ORM since (activating a rulebook does that)."""
        if not self.uow.has_session and space_id in self._space_rulebooks:
            return self._space_rulebooks[space_id]
        found, version = self.uow.spaces.rulebook_version(space_id)
        if not found:
            raise NotFound("space", space_id)
        return version

    def space_by_code(self, code: str) -> Space:
        row = self.session.exec(select(Space).where(Space.code == code)).first()
        if row is None:
            raise NotFound("space", code)
        return row

    def space_row(self, code: str) -> SpaceRow:
        """A space by its code, read through the registry."""
        found = self.uow.registry.space(code)
        if found is None:
            raise NotFound("space", code)
        return found

    def firm(self, ref: str | int) -> FirmRow:
        """A firm by id or by 统一社会信用代码."""
        if isinstance(ref, int) or str(ref).isdigit() and len(str(ref)) < 18:
            found = self.uow.registry.firm(int(ref))
        else:
            found = self.uow.registry.firm(uscc=str(ref).upper())
        if found is None:
            raise NotFound("firm", ref)
        return found

    # ---- the one way a tenancy changes state --------------------------------------------
    def require(self, tenancy: TenancyRow, *triggers: str) -> None:
        """Refuse early, before any lookup, when none of ``triggers`` is allowed here."""
        allowed = allowed_triggers(tenancy.state)
        if not any(t in allowed for t in triggers):
            raise TransitionNotAllowed(tenancy.id, triggers[0], tenancy.state, allowed)

    def require_state(self, tenancy: TenancyRow, action: str, states: Collection[str]) -> None:
        """For record-only actions (a score, a submission): which states accept them."""
        if tenancy.state not in states:
            raise TransitionNotAllowed(
                tenancy.id, action, tenancy.state, allowed_triggers(tenancy.state)
            )

    def load(self, cmd: TenancyCommand, *triggers: str) -> TenancyRow:
        """The command's tenancy at the version it expects, refused early unless one of
        ``triggers`` is allowed in its state."""
        tenancy = self.tenancy(cmd.tenancy_id, cmd.expected_version)
        self.require(tenancy, *triggers)
        return tenancy

    def load_for(self, cmd: TenancyCommand, action: str, states: Collection[str]) -> TenancyRow:
        """The command's tenancy at the version it expects, for a record-only ``action`` that
        only ``states`` accept (see :meth:`require_state`)."""
        tenancy = self.tenancy(cmd.tenancy_id, cmd.expected_version)
        self.require_state(tenancy, action, states)
        return tenancy

    def transition(
        self,
        tenancy: TenancyRow,
        trigger: str,
        *,
        data: Data = None,
        facts: Facts | None = None,
        **who: Unpack[Who],
    ) -> Step:
        """Fire ``trigger`` on the tenancy, ``by`` a command (its actor and reason) or by an
        ``actor`` with a ``reason``."""
        return self._step(tenancy, trigger, data, facts, who)

    def record(
        self, tenancy: TenancyRow, what: str, *, data: Data = None, **who: Unpack[Who]
    ) -> Step:
        """An audited fact that does not change the state (a score, a submission, ...).

        It still bumps the version: whoever decides next must have seen it.
        """
        return self._step(tenancy, what, data, None, who, change=False)

    def _step(
        self,
        tenancy: TenancyRow,
        trigger: str,
        data: Data,
        facts: Facts | None,
        who: Who,
        *,
        change: bool = True,
    ) -> Step:
        actor, reason = _acting(who)
        effects = self.effects(tenancy)
        if change:
            step = effects.transition(trigger, actor=actor, reason=reason, data=data, facts=facts)
        else:
            step = effects.record(trigger, actor=actor, reason=reason, data=data)
        self.apply(effects)
        return step

    # ---- deadlines ----------------------------------------------------------------------
    def due(self, start: date, period: Period) -> date:
        return self.calendar.due_date(start, period)

    def deadline(
        self,
        tenancy: TenancyRow,
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
        row = deadline_row(
            tenancy.id,
            kind,
            due_on,
            self.calendar.due_instant(due_on),
            now=self.now,
            subject=subject_id,
            key=key,
            payload=payload,
        )
        if not self.uow.writer.add_deadlines([row]):
            return False
        self.added_deadlines.append(row)
        return True

    def pending_due_on(self, tenancy_id: int, kind: str) -> date | None:
        """The day the newest pending deadline of ``kind`` falls due, if there is one."""
        return repo.pending_due_on(self.connection, tenancy_id, kind)

    def cancel_deadlines(self, tenancy_id: int, *kinds: str) -> int:
        """Cancel pending deadlines of these kinds (the step they guarded is moot)."""
        done = self.uow.writer.cancel_deadlines([tenancy_id], kinds, self.now)
        self._expire_deadlines(tenancy_id, kinds)
        return done

    def _expire_deadlines(self, tenancy_id: int, kinds: Collection[str]) -> None:
        if self.uow.has_session:
            # Deadlines this session already holds (a sweep firing one) are read again.
            for obj in list(self.session.identity_map.values()):
                if isinstance(obj, Deadline) and obj.tenancy_id == tenancy_id and obj.kind in kinds:
                    self.session.expire(obj, ["status", "done_at"])

    # ---- notices ------------------------------------------------------------------------
    def notify(
        self,
        tenancy: TenancyRow,
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
        if tenancy.party is None:  # pragma: no cover - every load brings the parties
            raise NotFound("firm", tenancy.firm_id)
        row = notice_row(
            tenancy,
            message,
            today=self.today,
            now=self.now,
            context=context,
            audience=audience,
            key=key,
        )
        self.uow.writer.add_notices([row])


def _columns(tenancy: TenancyRow) -> dict[str, Any]:
    return {name: getattr(tenancy, name) for name in TENANCY_COLUMNS}
