"""`innospace scheduler`: one long-running process that ticks the sweeps (DESIGN decisions 4, 5).

APScheduler only *ticks*. Its jobs have fixed ids and keep nothing but a function reference in
a :class:`MemoryJobStore` (no pickled domain objects, nothing to lose on restart): every job
finds its work in the database, so catch-up after downtime comes from the data, and each job
runs once at start. ``coalesce`` and ``max_instances=1`` keep one run of a job at a time; the
generous ``misfire_grace_time`` lets a late run happen instead of being dropped.

One active scheduler per database:

* **PostgreSQL** — a session-level ``pg_try_advisory_lock`` held on a dedicated connection
  outside any pool for the life of the process. Standbys poll; when the holder dies its
  connection closes, the server releases the lock and a standby takes over. If the holder's
  own connection drops (a database restart), it has lost the lock: it stops its jobs and
  goes back to polling with the standbys. Sweeps claim rows with ``SKIP LOCKED`` and are
  idempotent, so a brief overlap in a failover does no harm.
* **SQLite** — an OS lock (``flock``) on ``<database>.scheduler.lock``, and a second
  scheduler refuses to start. Chosen over a heartbeat row in ``scheduler_lease`` because the
  kernel releases the lock the instant the holder dies (even by SIGKILL) — no heartbeat
  writes competing with the sweeps for SQLite's single write lock, no clock-skew or
  "heartbeat older than N intervals" guesswork before a restart may proceed. ``flock`` is
  unreliable on network filesystems, but so is SQLite's own locking: a SQLite database lives
  on one host. The ``scheduler_lease`` row still records who leads, for operators.

SIGTERM/SIGINT ask the jobs to stop: a sweep finishes the deadline (a cycle the chunk) in
hand, the transaction commits, the lock is released and the process exits 0. A dropped
database connection inside a job is logged and retried with exponential backoff; the
exactly-once bookkeeping lives in the rows, so the retry resumes without repeating work.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import select

from db import migrate
from db.tables import SchedulerLease, Space
from entrypoints.bootstrap import App
from entrypoints.ticks import (
    SHANGHAI,
    TickSettings,
    digest_trigger,
    tick_cycles,
    tick_deadlines,
    tick_digest,
    tick_relay,
)
from lifecycle import rulebook as rbook
from lifecycle.errors import CalendarError, InnospaceError, ScheduleNotPublished, SchedulerError
from workflows import rules
from workflows.core import Work
from workflows.service import Service

log = logging.getLogger("innospace.scheduler")
LOCK_KEY = 0x696E6E6F73706163  # "innospac": the one advisory lock key of the scheduler
LEASE_NAME = "scheduler"
CONNECTION_ERRORS = (OperationalError, InterfaceError)
MISFIRE_GRACE_SECONDS = 3600


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None)
    return (str(orig) if orig is not None else str(err)).strip().splitlines()[0][:300]


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

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database}.scheduler.lock")
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder_id()} since {datetime.now(UTC).isoformat()}\n".encode())
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


def make_lock(engine: Engine) -> Leadership:
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine.url)
    database = engine.url.database
    if not database or database == ":memory:":
        raise SchedulerError(
            "the scheduler needs a database file or PostgreSQL, not an in-memory SQLite database"
        )
    return FileLock(Path(database).resolve())


# ---- checks before anything runs -----------------------------------------------------------
def check_rulebook_calendars(service: Service) -> list[str]:
    """Apply every space's review calendar to this year; refuse a rule the calendar cannot
    satisfy (e.g. a 25th working day of January), warn about an unpublished year."""

    def check(w: Work) -> list[str]:
        warnings: list[str] = []
        for space in w.session.exec(select(Space).order_by(Space.code)).all():
            year = w.today.year
            try:
                rb = rules.for_space(w, space)
                opens = rbook.review_opens_on(rb, w.calendar, year)
                rbook.review_due_on(rb, w.calendar, opened_on=opens)
            except ScheduleNotPublished as err:
                warnings.append(f"space {space.code}: {err.message}")
            except CalendarError as err:
                raise SchedulerError(
                    f"space {space.code}: the rulebook's review.calendar cannot be applied to "
                    f"{year}: {err.message}; fix the rulebook (innospace rules load … --space "
                    f"{space.code})",
                    space=space.code,
                ) from None
            except InnospaceError as err:
                raise SchedulerError(
                    f"space {space.code}: its rulebook cannot be used: {err.message}",
                    space=space.code,
                ) from None
        return warnings

    return service.read(check)  # type: ignore[no-any-return]


def preflight(app: App, settings: TickSettings) -> CronTrigger:
    """Everything that can be wrong before the first job: configuration, database, rules."""
    trigger = digest_trigger(settings.digest_cron)
    with app.engine.connect() as conn:  # unreachable database: OperationalError, exit 10
        conn.execute(text("SELECT 1"))
    current, head = migrate.current(app.engine), migrate.head()
    if current != head:
        raise SchedulerError(
            f"the database schema is at revision {current}, the code needs "
            f"{head}: run `innospace init` first"
        )
    for warning in check_rulebook_calendars(app.service):
        log.warning("%s (review cycles of that space wait until it is)", warning)
    return trigger


# ---- the process ---------------------------------------------------------------------------
class SchedulerProcess:
    """Acquire leadership, run the jobs while leading, stand by again if the lock is lost."""

    def __init__(self, app: App, settings: TickSettings, *, lock: Leadership | None = None) -> None:
        self.app = app
        self.settings = settings
        self.lock = lock
        self.stop = threading.Event()  # the process is asked to end
        self.halt = threading.Event()  # the jobs of this term of leadership must end
        self.sweep_seconds = app.settings.sweep_interval_seconds
        self.relay_seconds = app.settings.relay_interval_seconds
        self.poll_seconds = min(settings.standby_poll_seconds, float(self.sweep_seconds))

    def request_stop(self, reason: str) -> None:
        log.info("%s: finishing the current batch, then exiting", reason)
        self.stop.set()
        self.halt.set()

    def run(self) -> int:
        trigger = preflight(self.app, self.settings)
        lock = self.lock or make_lock(self.app.engine)
        try:
            while not self.stop.is_set() and self._acquire(lock):
                self._lead(lock, trigger)
        finally:
            lock.release()
        log.info("scheduler %s stopped", holder_id())
        return 0

    def _backoff(self, failures: int) -> float:
        return float(min(2.0 ** (failures - 1), self.settings.retry_max_seconds))

    def _acquire(self, lock: Leadership) -> bool:
        failures, announced = 0, False
        while not self.stop.is_set():
            try:
                if lock.try_acquire():
                    log.info("scheduler %s is active (lock acquired)", holder_id())
                    self._record_holder()
                    return True
                failures = 0
            except CONNECTION_ERRORS as err:
                lock.release()
                failures += 1
                delay = self._backoff(failures)
                log.warning(
                    "database unavailable while taking the scheduler lock: %s; retry %d in %.1fs",
                    first_line(err),
                    failures,
                    delay,
                )
                self.stop.wait(delay)
                continue
            if not lock.waits:
                raise SchedulerError(
                    f"another scheduler is already running on this database ({lock.holder()}); "
                    "only one scheduler may run on a SQLite database — stop that one first "
                    "(on PostgreSQL a second scheduler waits as a standby)"
                )
            if not announced:
                log.info(
                    "standby: the scheduler lock is held by %s; polling every %.1fs",
                    lock.holder(),
                    self.poll_seconds,
                )
                announced = True
            self.stop.wait(self.poll_seconds)
        return False

    def _record_holder(self) -> None:
        def record(w: Work) -> None:
            now = datetime.now(UTC)  # wall time: the app clock may be simulated
            row = w.session.get(SchedulerLease, LEASE_NAME)
            row = row or SchedulerLease(name=LEASE_NAME, holder="", heartbeat_at=now)
            row.holder, row.heartbeat_at = holder_id(), now
            w.session.add(row)

        try:
            self.app.service.run(record)
        except (DBAPIError, InnospaceError) as err:  # informational only
            log.warning("could not record the scheduler holder: %s", first_line(err))

    def _lead(self, lock: Leadership, trigger: CronTrigger) -> None:
        self.halt.clear()
        if self.stop.is_set():
            return
        scheduler = self._build(trigger)
        scheduler.start()
        try:
            while not self.stop.wait(self.poll_seconds):
                if not lock.alive():
                    log.error(
                        "lost the scheduler lock (its database connection dropped); "
                        "stopping the jobs and standing by"
                    )
                    lock.release()
                    break
        finally:
            self.halt.set()
            scheduler.shutdown(wait=True)  # running jobs finish the unit in hand

    def _build(self, trigger: CronTrigger) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
            timezone=SHANGHAI,
        )
        app, service, s = self.app, self.app.service, self.settings
        stop = self.halt.is_set
        now = datetime.now(SHANGHAI)
        jobs: list[tuple[str, Callable[[], object], IntervalTrigger | CronTrigger]] = [
            (
                "open-review-cycles",
                lambda: tick_cycles(service, chunk=s.batch_size, stop=stop),
                IntervalTrigger(seconds=s.cycle_interval_seconds, timezone=SHANGHAI),
            ),
            (
                "sweep-deadlines",
                lambda: tick_deadlines(service, batch=s.batch_size, stop=stop),
                IntervalTrigger(seconds=self.sweep_seconds, timezone=SHANGHAI),
            ),
            (
                "operator-digest",
                lambda: tick_digest(service, trigger, locale=app.settings.locale),
                trigger,
            ),
            (
                "relay-outbox",
                lambda: tick_relay(app),
                IntervalTrigger(seconds=self.relay_seconds, timezone=SHANGHAI),
            ),
        ]
        for job_id, work, when in jobs:
            # Every job also runs once at start: that run is the catch-up.
            scheduler.add_job(
                self._guarded(job_id, work),
                when,
                id=job_id,
                name=job_id,
                next_run_time=now,
                replace_existing=True,
            )
        return scheduler

    def _guarded(self, name: str, work: Callable[[], object]) -> Callable[[], None]:
        """Run a job; on a lost connection retry with exponential backoff until it works or
        the jobs are halted. Domain errors and bugs are logged; the next run tries again."""

        def run() -> None:
            failures = 0
            while not self.halt.is_set():
                try:
                    work()
                    return
                except CONNECTION_ERRORS as err:
                    failures += 1
                    delay = self._backoff(failures)
                    log.warning(
                        "%s: database unavailable (%s); retry %d in %.1fs",
                        name,
                        first_line(err),
                        failures,
                        delay,
                    )
                    if self.halt.wait(delay):
                        return
                except InnospaceError as err:
                    log.error("%s failed: %s", name, err.message)
                    return
                except Exception:
                    log.exception("%s crashed", name)
                    return

        return run
