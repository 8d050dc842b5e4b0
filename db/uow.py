"""Unit of work: one connection, one transaction, rolled back unless committed.

The ORM session is made on first use, on the unit of work's connection and in its
transaction. A command that reads and writes only through prepared statements (the common
review commands) never pays for one: the rows it reads are kept as detached objects, which
join the session, as persistent objects with any changes made on them, if one is made later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from db.prepared import attach, detached
from lifecycle.errors import AlreadyExists, StaleTenancy


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back on exit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._committed = False
        self.after_commit: list[Callable[[], None]] = []
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._loaded: dict[Any, Any] = {}  # identity key -> object read before a session
        self._open = False

    def __enter__(self) -> UnitOfWork:
        self._open = True
        self._committed = False
        self.after_commit = []
        self._connection = None
        self._session = None
        self._loaded = {}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, connection = self._session, self._connection
        self._session = self._connection = None
        self._loaded = {}
        self._open = False
        try:
            if session is not None:
                try:
                    if not self._committed:
                        session.rollback()
                finally:
                    session.close()
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
            # "rollback_only": the session never commits the transaction (``commit`` does,
            # after flushing it), but a session rollback rolls the whole transaction back.
            session = Session(
                bind=self.connection,
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
            )
            for obj in self._loaded.values():
                session.add(obj)
            self._loaded = {}
            self._session = session
        return self._session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def attach(self, model: type[Any], values: Mapping[str, Any]) -> Any:
        """The object for a row read with a prepared statement (see ``db.prepared.attach``);
        without a session yet, the same object for the same row within this unit of work."""
        if self._session is not None:
            return attach(self._session, model, values)
        return detached(self._loaded, model, values)

    def flush(self) -> None:
        if self._session is None:
            return
        try:
            self._session.flush()
        except StaleDataError as err:
            raise _stale(err) from err
        except SAIntegrityError as err:
            raise translate_integrity_error(err) from err

    def commit(self) -> None:
        if self._session is not None:
            try:
                self._session.commit()  # flushes; the transaction itself is committed below
            except StaleDataError as err:
                self._session.rollback()
                raise _stale(err) from err
            except SAIntegrityError as err:
                self._session.rollback()
                raise translate_integrity_error(err) from err
        if self._connection is not None:
            try:
                self._connection.commit()
            except SAIntegrityError as err:  # a constraint checked at commit (PostgreSQL)
                raise translate_integrity_error(err) from err
        self._committed = True
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
