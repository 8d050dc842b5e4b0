"""Unit of work: one connection, one transaction, rolled back unless committed.

The ORM session is made on first use, on the unit of work's connection and in its
transaction. A command that reads and writes only through the repositories and the effect
writer (the review commands) never pays for one.

Handlers reach the repositories (``uow.tenancies``, ``uow.reviews``, ``uow.allocations``,
``uow.spaces``, ``uow.rulebooks``, ``uow.admissions``, ``uow.cohorts``, ``uow.ids``) and the writer
(``uow.writer``) through the unit of work: here they are :mod:`db.repositories` and
:mod:`db.writer` bound to its connection; an in-memory stand-in (``tests/fakes.py``,
``FakeUnitOfWork``) keeps rows in dicts instead, so handler tests can run without a
database. :class:`AbstractUnitOfWork` is what both provide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from db import repositories as repo
from db import writer
from db.cases import Cases, CoreCases
from db.cohorts import Cohorts, CoreCohorts
from db.effects import Effects, Rows
from db.engine import READ_ONLY
from db.identity import CoreIdentity, Identity
from db.opportunities import CoreOpportunities, Opportunities
from db.pages import CorePages, Pages
from db.quarterly import CoreQuarterlyReports, QuarterlyReports
from db.queues import CoreQueues, Queues
from db.registry import CoreRegistry, Registry
from lifecycle.errors import AlreadyExists, StaleTenancy


class EffectWriter(Protocol):
    """The writer as a handler reaches it: :mod:`db.writer` on the unit of work's connection."""

    def write(self, effects: Sequence[Effects]) -> None: ...
    def write_rows(self, rows: Sequence[Rows]) -> None: ...
    def write_tenancies(self, effects: Sequence[Effects]) -> None: ...
    def add_deadlines(self, rows: Sequence[dict[str, Any]]) -> int: ...
    def cancel_deadlines(
        self, tenancy_ids: Sequence[int], kinds: Sequence[str], now: datetime
    ) -> int: ...
    def add_notices(self, rows: Sequence[dict[str, Any]]) -> None: ...


class CoreWriter:
    """:mod:`db.writer` bound to a unit of work's connection (asked for at each call)."""

    __slots__ = ("connection",)

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self.connection = connection

    def write(self, effects: Sequence[Effects]) -> None:
        writer.write(self.connection(), effects)

    def write_rows(self, rows: Sequence[Rows]) -> None:
        writer.write_rows(self.connection(), rows)

    def write_tenancies(self, effects: Sequence[Effects]) -> None:
        writer.write_tenancies(self.connection(), effects)

    def add_deadlines(self, rows: Sequence[dict[str, Any]]) -> int:
        return writer.add_deadlines(self.connection(), rows)

    def cancel_deadlines(
        self, tenancy_ids: Sequence[int], kinds: Sequence[str], now: datetime
    ) -> int:
        return writer.cancel_deadlines(self.connection(), tenancy_ids, kinds, now)

    def add_notices(self, rows: Sequence[dict[str, Any]]) -> None:
        writer.add_notices(self.connection(), rows)


class AbstractUnitOfWork(Protocol):
    """What handlers (``workflows.core.Work``) and the service use of a unit of work."""

    after_commit: list[Callable[[], None]]

    # The repositories and the writer, bound to the unit of work's connection once.
    tenancies: repo.Tenancies
    reviews: repo.Reviews
    allocations: repo.Allocations
    spaces: repo.Spaces
    rulebooks: repo.Rulebooks
    admissions: repo.Admissions
    ids: repo.Ids
    writer: EffectWriter
    cases: Cases
    cohorts: Cohorts
    registry: Registry
    queues: Queues
    quarterly: QuarterlyReports
    opportunities: Opportunities
    pages: Pages
    identity: Identity

    @property
    def connection(self) -> Connection: ...
    @property
    def session(self) -> Session: ...
    @property
    def has_session(self) -> bool: ...
    def session_connection(self) -> Connection: ...
    def flush(self) -> None: ...
    def commit(self) -> None: ...


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back on exit."""

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        #: Never committed, never writes: on SQLite a deferred ``BEGIN`` (no write lock).
        self.read_only = read_only
        self.after_commit: list[Callable[[], None]] = []
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._open = False
        # The repositories and the writer, on this unit of work's connection.
        self.tenancies: repo.Tenancies = repo.CoreTenancies(self.current_connection)
        self.reviews: repo.Reviews = repo.CoreReviews(self.current_connection)
        self.allocations: repo.Allocations = repo.CoreAllocations(self.current_connection)
        self.spaces: repo.Spaces = repo.CoreSpaces(self.current_connection)
        self.rulebooks: repo.Rulebooks = repo.CoreRulebooks(self.current_connection)
        self.admissions: repo.Admissions = repo.CoreAdmissions(self.current_connection)
        self.ids: repo.Ids = repo.CoreIds(self.current_connection)
        self.writer: EffectWriter = CoreWriter(self.current_connection)
        # The residency and exit reads (open cases, rectifications, violations, events).
        self.cases: Cases = CoreCases(self.current_connection)
        # The many rows a cycle, a ledger or a report loads at once.
        self.cohorts: Cohorts = CoreCohorts(self.current_connection)
        # The registry and correction reads (spaces, units, firms, who holds what).
        self.registry: Registry = CoreRegistry(self.current_connection)
        # The deadline and outbox queues (the sweep's claims, what an operator retries).
        self.queues: Queues = CoreQueues(self.current_connection)
        # The quarterly light reports (one report, a quarter to plan, a space's filings).
        self.quarterly: QuarterlyReports = CoreQuarterlyReports(self.current_connection)
        # The city opportunity lists and the land ledger (entries, lists, chain heads, parcels).
        self.opportunities: Opportunities = CoreOpportunities(self.current_connection)
        # The page commands' rows: the cycle board's jobs, draft figures and applications.
        self.pages: Pages = CorePages(self.current_connection)
        # Accounts, grants, tokens, sessions, failed logins, reviewer assignments.
        self.identity: Identity = CoreIdentity(self.current_connection)

    def __enter__(self) -> UnitOfWork:
        self._open = True
        self.after_commit = []
        self._connection = None
        self._session = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, connection = self._session, self._connection
        self._session = self._connection = None
        self._open = False
        try:
            if session is not None:
                session.close()  # its objects become detached; the transaction is not its own
        finally:
            if connection is not None:
                connection.close()  # rolls back what was not committed

    @property
    def connection(self) -> Connection:
        """The unit of work's connection; its transaction begins on first use."""
        if self._connection is None:
            if not self._open:  # a connection made now would hold its transaction for ever
                raise RuntimeError("the unit of work is not open (use it in a with block)")
            connection = self.engine.connect()
            try:
                if self.read_only:
                    connection.execution_options(**{READ_ONLY: True})
                connection.begin()
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    @property
    def session(self) -> Session:
        """The ORM session, in the unit of work's transaction (made on first use)."""
        if self._session is None:
            # The session joins the transaction and never ends it ("rollback_only": it does
            # not commit it, and a command never rolls the session back): ``commit`` below
            # commits the connection, and closing the connection rolls back the rest.
            session = Session(
                bind=self.connection,
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
            )
            self._session = session
        return self._session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def session_connection(self) -> Connection:
        """The connection, asked of the session when there is one (so that a savepoint the
        session began is emitted before the next statement)."""
        if self._session is not None:
            return self._session.connection()
        return self.connection

    def current_connection(self) -> Connection:
        """The connection for a Core read or write, after writing what the session holds
        unwritten (as the ORM's autoflush would before a query)."""
        if self._session is not None:
            self.flush()
            return self._session.connection()
        return self.connection

    def flush(self) -> None:
        if self._session is None:
            return
        try:
            self.session.flush()
        except StaleDataError as err:
            raise _stale(err) from err
        except SAIntegrityError as err:
            raise translate_integrity_error(err) from err

    def commit(self) -> None:
        if self._session is not None:
            try:
                self.session.commit()  # flushes; the transaction itself is committed below
            except StaleDataError as err:
                raise _stale(err) from err
            except SAIntegrityError as err:
                raise translate_integrity_error(err) from err
        if self._connection is not None:
            try:
                self._connection.commit()
            except SAIntegrityError as err:  # a constraint checked at commit (PostgreSQL)
                raise translate_integrity_error(err) from err
        for hook in self.after_commit:
            hook()


def translate_integrity_error(err: SAIntegrityError) -> StaleTenancy | AlreadyExists:
    """A unique violation as the domain names it.

    Someone else appended to a tenancy's audit chain first when ``(tenancy_id, seq)`` clashes:
    the tenancy was stale. Any other unique key (an outbox dedupe key, a code) already exists.
    """
    if "audit_events" in str(err.orig):
        return _stale(err)
    return AlreadyExists("row", _constraint(err))


def _stale(err: Exception) -> StaleTenancy:
    # SQLAlchemy's message names the table but not our ids; the handler usually pre-checks
    # the version and raises a richer StaleTenancy itself, this is the race-time fallback.
    tenancy_id = getattr(err, "tenancy_id", 0)
    return StaleTenancy(tenancy_id, None, None)


def _constraint(err: SAIntegrityError) -> str:
    return str(err.orig).splitlines()[0] if err.orig is not None else "unique constraint"
