"""`innospace scheduler`: one long-running process that ticks the sweeps (DESIGN decisions 4, 5).

APScheduler only *ticks*. Its jobs have fixed ids and keep nothing but a function reference in
a :class:`MemoryJobStore` (no pickled domain objects, nothing to lose on restart): every job
finds its work in the database, so catch-up after downtime comes from the data, and each job
runs once at start. ``coalesce`` and ``max_instances=1`` keep one run of a job at a time; the
generous ``misfire_grace_time`` lets a late run happen instead of being dropped.

One active scheduler per database:

* **PostgreSQL** — an advisory lock (``pg_try_advisory_lock``) held on a dedicated connection
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

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from db import migrate
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
from lifecycle.errors import InnospaceError, SchedulerError
from workflows import checkpoints, queries_ops
from workflows import commands as c
from workflows.leadership import Leadership, holder_id, make_lock

log = logging.getLogger("innospace.scheduler")
CONNECTION_ERRORS = (OperationalError, InterfaceError)
MISFIRE_GRACE_SECONDS = 3600


def wall_clock() -> datetime:
    """Wall time, for who-leads bookkeeping (the application's clock may be simulated)."""
    return datetime.now(UTC)


def first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None)
    return (str(orig) if orig is not None else str(err)).strip().splitlines()[0][:300]


# ---- checks before anything runs -----------------------------------------------------------
def preflight(app: App, settings: TickSettings) -> CronTrigger:
    """Everything that can be wrong before the first job: configuration, database, rules."""
    trigger = digest_trigger(settings.digest_cron)
    app.service.query(queries_ops.database_reachable)  # if not: OperationalError, exit 10
    current, head = migrate.current(app.engine), migrate.head()
    if current != head:
        raise SchedulerError(
            f"the database schema is at revision {current}, the code needs "
            f"{head}: run `innospace init` first"
        )
    # Every space's review calendar applied to this year: a rule the calendar cannot satisfy is
    # refused (SchedulerError), an unpublished year is a warning.
    for warning in app.service.query(queries_ops.review_calendar_warnings):
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
        lock = self.lock or make_lock(self.app.engine, wall_clock=wall_clock)
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
        try:
            self.app.service.handle(
                c.RecordSchedulerHolder(holder=holder_id(), at=wall_clock(), actor="scheduler")
            )
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
            (
                # A signed checkpoint of every audit chain, once a day, when a key is set.
                "audit-checkpoint",
                lambda: checkpoints.daily(
                    service,
                    key_path=app.settings.audit_key,
                    directory=app.settings.audit_checkpoint_dir,
                    locale=app.settings.locale,
                ),
                trigger,
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
