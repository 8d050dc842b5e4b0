"""Who leads: one active scheduler per database, under a lease with a fencing token
(DESIGN decision 5).

The ``scheduler_lease`` row is the lease. Its holder renews it every third of its length
(``INNOSPACE_LEASE_SECONDS``, 30 by default); a renewal is ``UPDATE … WHERE token = mine``,
and when it changes no row the holder has lost the lease: it stops its jobs at once and
stands by. Another scheduler takes the lease in one atomic ``UPDATE … SET token = token + 1
… WHERE expires_at <= now`` (a first scheduler inserts the row): a frozen holder — SIGSTOP,
a VM paused, a swap storm — is replaced once its lease has run out.

**Fencing.** Every write of a sweep is fenced by the token: the scheduler's :class:`Service`
calls :meth:`Lease.fence` in each unit of work just before it commits, and the fence reads
the lease row *in that transaction* — ``SELECT … FOR UPDATE`` on PostgreSQL, under the
``BEGIN IMMEDIATE`` write lock on SQLite — and raises :class:`LeaseLost` (the transaction
rolls back) unless the row still carries this process's token and has not expired. A
take-over has to update that row, so it waits for a fenced commit in flight or comes before
it; either way a holder that wakes up late commits nothing. On PostgreSQL the fence also sets
``idle_in_transaction_session_timeout`` for the rest of its transaction, so a holder frozen
between its fence and its commit cannot keep the row locked (and the take-over waiting): the
server ends that transaction after one renewal interval.

* **PostgreSQL** — the holder renews through a connection of its own (outside any pool) and
  records that session's ``backend_pid``. When the holder dies, the server ends its session,
  and a standby may take the lease at once instead of waiting for it to expire: a crash
  fails over within a standby poll, as the advisory lock this replaces did, but a *frozen*
  holder (whose session lives on) no longer blocks the standbys for ever. The advisory lock
  went because it could neither expire nor fence: a leader stopped by SIGSTOP held it, and
  a leader that lost it could still commit.
* **SQLite** — a database lives on one host and its single write lock serialises every
  transaction, so there are no standbys: an OS lock (``flock``) on
  ``<database>.scheduler.lock``, which the kernel releases the instant the holder dies, keeps
  a second scheduler from starting at all. The lock's holder then takes the lease row at once
  (no one else can hold it) and fences its sweeps with the token like on PostgreSQL.

Time is the database server's (``clock_timestamp()``) on PostgreSQL, so schedulers on hosts
with skewed clocks agree on expiry; on SQLite it is the one host's wall clock.
``entrypoints.scheduler`` runs the process around the lease.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from db.tables import SchedulerLease
from lifecycle.errors import SchedulerError

LEASE_NAME = "scheduler"
LEASE: Table = SchedulerLease.__table__  # type: ignore[attr-defined]
NEVER = datetime(2000, 1, 1, tzinfo=UTC)  # the expiry of a lease no one has taken yet
log = logging.getLogger("innospace.scheduler")


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaseLost(SchedulerError):
    """This process no longer holds the scheduler lease: the transaction is rolled back."""

    code = "lease_lost"


# ---- who leads -----------------------------------------------------------------------------
class Leadership(Protocol):
    waits: bool  # True: a standby waits for the holder; False: refuse to start
    token: int | None  # the fencing token while leading

    def try_acquire(self) -> bool: ...

    def renew(self) -> bool: ...

    def fence(self, conn: Connection) -> None: ...

    def holder(self) -> str: ...

    def release(self) -> None: ...


class Lease:
    """The ``scheduler_lease`` row as one scheduler process holds (or awaits) it.

    ``try_acquire``, ``renew`` and ``release`` run in the scheduler's main thread; ``fence``
    runs in the jobs' threads, on their own transactions. ``guard``: the SQLite file lock.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        seconds: float,
        wall_clock: Callable[[], datetime],
        guard: FileLock | None = None,
    ) -> None:
        self.postgres = engine.dialect.name == "postgresql"
        # PostgreSQL: a connection of its own, outside any pool (its session is the holder's
        # sign of life); SQLite: the application's engine (BEGIN IMMEDIATE, pragmas).
        self._engine = create_engine(engine.url, poolclass=NullPool) if self.postgres else engine
        self.duration = timedelta(seconds=seconds)
        self.interval = seconds / 3  # the holder renews three times per lease
        self.waits = guard is None
        self.token: int | None = None
        self._guard = guard
        self._wall_clock = wall_clock
        self._conn: Connection | None = None
        self._pid: int | None = None

    # ---- transactions --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        """PostgreSQL: the own autocommit connection (each statement is its own transaction;
        dropped on an error, reopened next time). SQLite: one ``BEGIN IMMEDIATE`` transaction."""
        if not self.postgres:
            with self._engine.begin() as conn:
                yield conn
            return
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            self._conn = conn
        try:
            yield self._conn
        except SQLAlchemyError:
            self._close()
            raise

    def _close(self) -> None:
        conn, self._conn, self._pid = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

    def _now(self, conn: Connection) -> datetime:
        if self.postgres:
            return conn.execute(select(func.clock_timestamp())).scalar_one()  # type: ignore[no-any-return]
        return self._wall_clock()

    def _ensure_row(self, conn: Connection, now: datetime) -> None:
        if conn.execute(select(LEASE.c.name).where(LEASE.c.name == LEASE_NAME)).first():
            return
        insert = postgresql.insert if self.postgres else sqlite.insert
        conn.execute(
            insert(LEASE)
            .values(
                name=LEASE_NAME,
                holder="",
                token=0,
                heartbeat_at=now,
                taken_at=now,
                expires_at=NEVER,
            )
            .on_conflict_do_nothing()
        )

    # ---- the holder's side -----------------------------------------------------------------
    def try_acquire(self) -> bool:
        """Take the lease if it has expired (or its holder's session is gone, or — SQLite —
        the file lock is ours); True with :attr:`token` set, the next token, if taken."""
        if self._guard is not None and not self._guard.try_acquire():
            return False
        try:
            with self._tx() as conn:
                now = self._now(conn)
                self._ensure_row(conn, now)
                free: Any = LEASE.c.expires_at <= now
                if self._guard is not None:
                    free = true()  # no other scheduler can run on this database
                elif self.postgres:  # or the holder's session has ended: it died
                    free = or_(
                        free,
                        text(
                            "scheduler_lease.backend_pid IS NOT NULL AND NOT EXISTS (SELECT 1 "
                            "FROM pg_stat_activity a WHERE a.pid = scheduler_lease.backend_pid)"
                        ),
                    )
                token = conn.execute(
                    update(LEASE)
                    .where(LEASE.c.name == LEASE_NAME, free)
                    .values(
                        holder=holder_id(),
                        token=LEASE.c.token + 1,
                        taken_at=now,
                        heartbeat_at=now,
                        expires_at=now + self.duration,
                        backend_pid=self._pid,
                    )
                    .returning(LEASE.c.token)
                ).scalar_one_or_none()
        except BaseException:
            if self._guard is not None:
                self._guard.release()
            raise
        if token is None:
            return False
        self.token = int(token)
        return True

    def renew(self) -> bool:
        """Extend the lease by its length from now; False (and no token) if another scheduler
        has taken it. A database error propagates: the caller steps down."""
        token = self.token
        if token is None:
            return False
        with self._tx() as conn:
            now = self._now(conn)
            renewed = conn.execute(
                update(LEASE)
                .where(
                    LEASE.c.name == LEASE_NAME,
                    LEASE.c.token == token,
                    LEASE.c.holder == holder_id(),
                )
                .values(heartbeat_at=now, expires_at=now + self.duration)
                .returning(LEASE.c.token)
            ).first()
        if renewed is None:
            self.token = None  # in-flight fences fail from now on, without asking
            return False
        return True

    def fence(self, conn: Connection) -> None:
        """Raise :class:`LeaseLost` unless the lease row, read and locked in ``conn``'s
        transaction, still carries this process's token and has not expired."""
        token = self.token
        if token is None:
            raise LeaseLost(
                "本调度器已不再持有租约，未写入任何数据 / "
                "this scheduler no longer holds the lease: nothing written"
            )
        columns: list[Any] = [LEASE.c.token, LEASE.c.holder, LEASE.c.expires_at]
        if self.postgres:  # in the same statement: from the moment the row is locked
            ms = str(max(1000, int(self.interval * 1000)))
            columns.append(func.set_config("idle_in_transaction_session_timeout", ms, True))
        row = conn.execute(
            select(*columns).where(LEASE.c.name == LEASE_NAME).with_for_update()
        ).first()
        if row is None or row.token != token:
            holder = row.holder if row else "无"
            raise LeaseLost(
                f"调度租约已转给 {holder}（令牌 {row.token if row else '—'}），"
                f"本进程的令牌 {token} 已失效，未写入任何数据 / "
                f"the scheduler lease has passed to {row.holder if row else 'no one'} "
                f"(token {row.token if row else '—'}); this process's token {token} is stale: "
                "nothing written",
                token=token,
            )
        now = self._now(conn)
        if row.expires_at <= now:
            raise LeaseLost(
                f"调度租约（令牌 {token}）已于 {row.expires_at.isoformat()} 到期且未续期，"
                "未写入任何数据 / "
                f"the scheduler lease (token {token}) expired at {row.expires_at.isoformat()} "
                "without renewal: nothing written",
                token=token,
            )

    def holder(self) -> str:
        if self._guard is not None:
            return self._guard.holder()
        try:
            with self._tx() as conn:
                row = conn.execute(
                    select(
                        LEASE.c.holder, LEASE.c.token, LEASE.c.taken_at, LEASE.c.expires_at
                    ).where(LEASE.c.name == LEASE_NAME)
                ).first()
        except SQLAlchemyError:
            return "unknown holder"
        if row is None or not row.holder:
            return "unknown holder"
        return (
            f"{row.holder} since {row.taken_at.isoformat(timespec='seconds')} "
            f"(lease token {row.token} until {row.expires_at.isoformat(timespec='seconds')})"
        )

    def release(self) -> None:
        """End the lease now if it is still ours (a standby takes over at once), then let go
        of the connection and the file lock."""
        token, self.token = self.token, None
        try:
            if token is not None:
                with self._tx() as conn:
                    conn.execute(
                        update(LEASE)
                        .where(LEASE.c.name == LEASE_NAME, LEASE.c.token == token)
                        .values(expires_at=self._now(conn), backend_pid=None)
                    )
        except SQLAlchemyError as err:
            log.warning("could not end the scheduler lease early (it expires on its own): %s", err)
        finally:
            self._close()
            if self._guard is not None:
                self._guard.release()


class FileLock:
    """``flock`` on ``<database>.scheduler.lock``; the kernel drops it when the process dies."""

    def __init__(self, database: Path, *, wall_clock: Callable[[], datetime]) -> None:
        self.path = Path(f"{database}.scheduler.lock")
        self._wall_clock = wall_clock
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # beside the database: owner only
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder_id()} since {self._wall_clock().isoformat()}\n".encode())
        self._fd = fd
        return True

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


def make_lease(engine: Engine, *, seconds: float, wall_clock: Callable[[], datetime]) -> Lease:
    """The scheduler's lease on this database (``wall_clock``: SQLite's time source)."""
    if engine.dialect.name == "postgresql":
        return Lease(engine, seconds=seconds, wall_clock=wall_clock)
    database = engine.url.database
    if not database or database == ":memory:":
        raise SchedulerError(
            "调度器须使用数据库文件或 PostgreSQL，不能使用内存中的 SQLite 数据库 / "
            "the scheduler needs a database file or PostgreSQL, not an in-memory SQLite database"
        )
    guard = FileLock(Path(database).resolve(), wall_clock=wall_clock)
    return Lease(engine, seconds=seconds, wall_clock=wall_clock, guard=guard)
