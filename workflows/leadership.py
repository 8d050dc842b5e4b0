"""Who leads: the one active scheduler per database (DESIGN decision 5).

* **PostgreSQL** — a session-level ``pg_try_advisory_lock`` held on a dedicated connection
  outside any pool for the life of the process. Standbys poll; when the holder dies its
  connection closes and the server releases the lock. If the holder's own connection drops
  (a database restart), it has lost the lock (:meth:`Leadership.alive` says so).
* **SQLite** — an OS lock (``flock``) on ``<database>.scheduler.lock``, which the kernel
  releases the instant the holder dies; a second scheduler refuses to start.

The ``scheduler_lease`` row records who leads, for operators (the ``RecordSchedulerHolder``
command writes it). ``entrypoints.scheduler`` runs the process around these locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from lifecycle.errors import SchedulerError

LOCK_KEY = 0x696E6E6F73706163  # "innospac": the one advisory lock key of the scheduler
LEASE_NAME = "scheduler"


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---- who leads -----------------------------------------------------------------------------
class Leadership(Protocol):
    waits: bool  # True: a standby waits for the holder; False: refuse to start

    def try_acquire(self) -> bool: ...

    def alive(self) -> bool: ...

    def holder(self) -> str: ...

    def release(self) -> None: ...


class PostgresLock:
    """``pg_try_advisory_lock`` on a connection of its own (NullPool: no pool may recycle it)."""

    waits = True

    def __init__(self, url: URL) -> None:
        self._engine: Engine = create_engine(url, poolclass=NullPool)
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None:
            # Autocommit: the session holds the lock, not a transaction left idle for hours.
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def try_acquire(self) -> bool:
        got = (
            self._connection()
            .execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
            .scalar()
        )
        return bool(got)

    def alive(self) -> bool:
        """The lock lives as long as its session: a working connection still holds it."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def holder(self) -> str:
        try:
            row = (
                self._connection()
                .execute(
                    text("SELECT holder, heartbeat_at FROM scheduler_lease WHERE name = :n"),
                    {"n": LEASE_NAME},
                )
                .first()
            )
        except SQLAlchemyError:
            return "unknown holder"
        return f"{row[0]} since {row[1]}" if row else "unknown holder"

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        except SQLAlchemyError:
            pass  # the connection is gone, and the lock with it
        finally:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()


class FileLock:
    """``flock`` on ``<database>.scheduler.lock``; the kernel drops it when the process dies."""

    waits = False

    def __init__(self, database: Path, *, wall_clock: Callable[[], datetime]) -> None:
        self.path = Path(f"{database}.scheduler.lock")
        self._wall_clock = wall_clock
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder_id()} since {self._wall_clock().isoformat()}\n".encode())
        self._fd = fd
        return True

    def alive(self) -> bool:
        return self._fd is not None

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown holder"
        except OSError:
            return "unknown holder"

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def make_lock(engine: Engine, *, wall_clock: Callable[[], datetime]) -> Leadership:
    """The scheduler's lock for this database (``wall_clock``: the time a holder notes)."""
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine.url)
    database = engine.url.database
    if not database or database == ":memory:":
        raise SchedulerError(
            "the scheduler needs a database file or PostgreSQL, not an in-memory SQLite database"
        )
    return FileLock(Path(database).resolve(), wall_clock=wall_clock)
