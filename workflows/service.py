"""The command bus: one command, one unit of work, one commit (or nothing at all).

Entry points build a :class:`Service` in the composition root and call :meth:`Service.handle`;
errors propagate unchanged (nothing here logs and swallows them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy import select as core_select

from db.prepared import Prepared
from db.tables import CalendarOverride
from db.uow import UnitOfWork
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import Clock
from workflows.commands import Command
from workflows.core import Work

log = logging.getLogger("innospace.workflows")

C = TypeVar("C", bound=Command)
Handler = Callable[[Work, Any], Any]
HANDLERS: dict[type[Command], Handler] = {}
_OVERRIDES = Prepared(core_select(CalendarOverride.day, CalendarOverride.workday))


def handles(
    command_type: type[C],
) -> Callable[[Callable[[Work, C], Any]], Callable[[Work, C], Any]]:
    """Register a handler for a command type (one handler per type)."""

    def register(fn: Callable[[Work, C], Any]) -> Callable[[Work, C], Any]:
        if command_type in HANDLERS:
            raise RuntimeError(f"two handlers for {command_type.__name__}")
        HANDLERS[command_type] = fn
        return fn

    return register


class Service:
    """Runs commands. ``engine`` comes from :func:`db.engine.make_engine`: its SQLite settings,
    ``BEGIN IMMEDIATE`` and JSON serializer (which takes pre-serialized ``orjson.Fragment``
    values) are what the handlers rely on."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._calendar: tuple[frozenset[tuple[date, bool]], WorkCalendar] | None = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def calendar(self, uow: UnitOfWork) -> WorkCalendar:
        """The working-day calendar with the operator's current overrides.

        The overrides are read on every command (another process may have changed them), but
        the calendar is rebuilt only when they differ, so its per-day cache survives.
        """
        # Through the connection, not the ORM: reading the calendar must not autoflush what
        # a handler has changed so far (that would write its tenancy twice).
        rows = _OVERRIDES.all(uow.connection)
        overrides = frozenset((day, bool(workday)) for day, workday in rows)
        if self._calendar is None or self._calendar[0] != overrides:
            self._calendar = (overrides, WorkCalendar(dict(overrides)))
        return self._calendar[1]

    def handle(self, command: Command) -> Any:
        _load_handlers()
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for {type(command).__name__}")
        with self.uow() as uow:
            work = Work(uow, self.clock, lambda: self.calendar(uow))
            result = handler(work, command)
            uow.commit()
        log.debug("handled %s", type(command).__name__)
        return result

    def run(self, fn: Callable[[Work], Any]) -> Any:
        """Run ``fn`` in one unit of work and commit (sweeps and batch jobs use this)."""
        with self.uow() as uow:
            result = fn(Work(uow, self.clock, lambda: self.calendar(uow)))
            uow.commit()
        return result

    def read(self, fn: Callable[[Work], Any]) -> Any:
        """Run a read-only ``fn``; nothing is committed."""
        with self.uow() as uow:
            return fn(Work(uow, self.clock, lambda: self.calendar(uow)))


def _load_handlers() -> None:
    # Importing the modules registers their handlers; done on first use, not at import time.
    if _LOADED:
        return
    import importlib

    for name in HANDLER_MODULES:
        importlib.import_module(name)
    _LOADED.append(True)


_LOADED: list[bool] = []


HANDLER_MODULES = (
    "workflows.registry",
    "workflows.admission",
    "workflows.publicity",
    "workflows.agreement",
    "workflows.residency",
    "workflows.exits",
)
