"""The command bus: one command, one unit of work, one commit (or nothing at all).

The composition root (``entrypoints.bootstrap``) builds a :class:`Service` with the one table of
handlers (command type -> handler function); entry points call :meth:`Service.handle` to change
anything and :meth:`Service.query` (:meth:`Service.query_core` for a Core query) to read.
Errors propagate unchanged (nothing here logs and swallows them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine

from workflows.inputs import checked_command

if TYPE_CHECKING:
    # Imported where used: building a Service (every CLI command) loads neither the ORM nor
    # the rulebook, the calendar or the workflows until a command or a query runs.
    from db.repositories import CalendarState
    from db.uow import UnitOfWork
    from lifecycle.calendar import WorkCalendar
    from lifecycle.clock import Clock
    from lifecycle.rulebook import Rulebook
    from workflows.commands import Command
    from workflows.core import Work

log = logging.getLogger("innospace.workflows")

P = ParamSpec("P")
R = TypeVar("R")
Handler = Callable[["Work", Any], Any]
Handlers = Mapping["type[Command]", Handler]
#: Called with a unit of work's connection just before it commits; raises to roll it back
#: (the scheduler's lease: ``workflows.leadership.Lease.fence``).
Fence = Callable[[Connection], None]


class Service:
    """Runs commands and named queries. ``engine`` comes from :func:`db.engine.make_engine`:
    its SQLite settings, ``BEGIN IMMEDIATE`` and JSON serializer (which takes pre-serialized
    ``orjson.Fragment`` values) are what the handlers rely on. ``handlers`` is the table built
    in ``entrypoints.bootstrap`` (``HANDLERS``). ``fence``, when set, is asked in every unit
    of work :meth:`handle` and :meth:`run` commit, in its transaction, right before the
    commit (see :meth:`fenced`)."""

    def __init__(
        self, engine: Engine, clock: Clock, handlers: Handlers, *, fence: Fence | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.handlers: Handlers = handlers
        self.fence = fence
        self._calendar: tuple[CalendarState, WorkCalendar] | None = None
        # Parsed rulebooks by version (the hash of the text: a parsed one never goes stale).
        self.rulebooks: dict[str, Rulebook] = {}

    def with_clock(self, clock: Clock) -> Service:
        """The same engine and handlers, another clock (``tick --until``: a simulated instant)."""
        return Service(self.engine, clock, self.handlers, fence=self.fence)

    def fenced(self, fence: Fence) -> Service:
        """The same engine, clock and handlers; every commit first passes ``fence`` (the
        scheduler's jobs: a leader that has lost its lease commits nothing)."""
        return Service(self.engine, self.clock, self.handlers, fence=fence)

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work on the engine; ``read_only``: for a query, never committed (on
        SQLite it takes no write lock, ``db.engine.READ_ONLY``)."""
        from db.uow import UnitOfWork

        return UnitOfWork(self.engine, read_only=read_only)

    def work(self, uow: UnitOfWork) -> Work:
        """A command's (or a query's) view of ``uow``."""
        from workflows.core import Work

        return Work(uow, self.clock, lambda: self.calendar(uow), rulebooks=self.rulebooks)

    def calendar(self, uow: UnitOfWork) -> WorkCalendar:
        """The working-day calendar with the operator's current overrides and published years.

        The overrides are read on every command (another process may have changed them), but
        the calendar is rebuilt only when they differ, so its per-day cache survives.
        """
        # Through the connection, not the ORM: reading the calendar must not autoflush what
        # a handler has changed so far (that would write its tenancy twice).
        from db import repositories as repo
        from lifecycle.calendar import WorkCalendar

        state = repo.calendar_state(uow.connection)
        if self._calendar is None or self._calendar[0] != state:
            overrides, published = state
            self._calendar = (state, WorkCalendar(dict(overrides), published=published))
        return self._calendar[1]

    def handler(self, command_type: type[Command]) -> Handler:
        handler = self.handlers.get(command_type)
        if handler is None:
            raise LookupError(f"no handler for {command_type.__name__}")
        return handler

    def dispatch(self, work: Work, command: Command) -> Any:
        """Run ``command``'s handler inside ``work`` (a sweep's or a batch's transaction);
        nothing is committed here."""
        return self.handler(type(command))(work, command)

    def handle(self, command: Command) -> Any:
        handler = self.handler(type(command))
        command = checked_command(command)
        with self.uow() as uow:
            work = self.work(uow)
            result = handler(work, command)
            work.flush_changed()
            self._check_fence(uow)
            uow.commit()
        log.debug("handled %s", type(command).__name__)
        return result

    def query(
        self, fn: Callable[Concatenate[Work, P], R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run the named query ``fn(work, **kwargs)`` in a unit of work that is never committed
        (whatever it might change is rolled back). On SQLite it begins deferred: a snapshot,
        no write lock (``db.engine.READ_ONLY``)."""
        with self.uow(read_only=True) as uow:
            return fn(self.work(uow), *args, **kwargs)

    def query_core(
        self, fn: Callable[Concatenate[Connection, P], R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run the named Core query ``fn(connection, **kwargs)`` in a transaction that is never
        committed. No unit of work, no ORM session, no table models: the light reads that
        must start fast (``innospace list``, ``workflows.queries_core``) run this way."""
        from db.engine import READ_ONLY

        with self.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            connection.begin()
            return fn(connection, *args, **kwargs)

    def run(self, fn: Callable[[Work], Any]) -> Any:
        """Run ``fn`` in one unit of work and commit (sweeps and batch jobs use this; entry
        points send commands instead)."""
        with self.uow() as uow:
            work = self.work(uow)
            result = fn(work)
            work.flush_changed()
            self._check_fence(uow)
            uow.commit()
        return result

    def _check_fence(self, uow: UnitOfWork) -> None:
        if self.fence is not None:
            self.fence(uow.current_connection())  # flushes the session first

    def queries(self) -> Reads:
        """Named queries on one read-only unit of work, opened by the first and kept until
        :meth:`Reads.close` (an HTTP request's checks and its read share one)."""
        return Reads(self)

    def read(self, fn: Callable[[Work], Any]) -> Any:
        """Run a read-only ``fn``; nothing is committed (entry points use :meth:`query`)."""
        with self.uow() as uow:
            return fn(self.work(uow))


class Reads:
    """Named queries run as :meth:`Service.query` runs them, but all in one read-only unit of
    work (one connection checkout, one transaction, one ORM session) from the first query
    until :meth:`close`. Whatever the queries might change is rolled back at the close."""

    __slots__ = ("_uow", "service")

    def __init__(self, service: Service) -> None:
        self.service = service
        self._uow: UnitOfWork | None = None

    @property
    def open(self) -> bool:
        return self._uow is not None

    def query(
        self, fn: Callable[Concatenate[Work, P], R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        if self._uow is None:
            uow = self.service.uow(read_only=True)
            uow.__enter__()
            self._uow = uow
        return fn(self.service.work(self._uow), *args, **kwargs)

    def close(self) -> None:
        uow, self._uow = self._uow, None
        if uow is not None:
            uow.__exit__(None, None, None)
