"""Unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from lifecycle.errors import AlreadyExists, StaleTenancy


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back on exit."""

    session: Session

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._committed = False
        self.after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self.engine, expire_on_commit=False)
        self._committed = False
        self.after_commit = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                self.session.rollback()
        finally:
            self.session.close()

    def flush(self) -> None:
        try:
            self.session.flush()
        except StaleDataError as err:
            raise _stale(err) from err
        except SAIntegrityError as err:
            raise translate_integrity_error(err) from err

    def commit(self) -> None:
        try:
            self.session.commit()
        except StaleDataError as err:
            self.session.rollback()
            raise _stale(err) from err
        except SAIntegrityError as err:
            self.session.rollback()
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
