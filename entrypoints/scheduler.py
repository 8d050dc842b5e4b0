"""`innospace scheduler`: one long-running process that ticks the sweeps (DESIGN decisions 4, 5).

APScheduler only *ticks*. Its jobs have fixed ids and keep nothing but a function reference in
a :class:`MemoryJobStore` (no pickled domain objects, nothing to lose on restart): every job
finds its work in the database, so catch-up after downtime comes from the data, and each job
runs once at start. ``coalesce`` and ``max_instances=1`` keep one run of a job at a time; the
generous ``misfire_grace_time`` lets a late run happen instead of being dropped.

One active scheduler per database, under a lease (``workflows.leadership``): the
``scheduler_lease`` row names the holder and a fencing token, and the holder renews it every
third of ``INNOSPACE_LEASE_SECONDS``. A renewal that finds another token, or a database
connection that drops under it, means the lease is lost: the jobs stop at once and the process
stands by. Every sweep's transaction checks the token before it commits (the jobs run on a
fenced :class:`Service`), so a leader that wakes up after a freeze commits nothing.

* **PostgreSQL** — standbys poll and take the lease once it has expired, or at once when the
  holder's session is gone (it died: a crash fails over within a poll). Sweeps also claim
  rows with ``SKIP LOCKED`` and are idempotent.
* **SQLite** — an OS lock (``flock``) on ``<database>.scheduler.lock`` keeps a second
  scheduler from starting at all (the kernel releases it the instant the holder dies); the
  holder takes the lease row and fences its sweeps the same way.

The relay job is not fenced by the scheduler's lease: several relays may run at once by
design (``innospace outbox relay`` beside the scheduler), and each outbox row carries a lease
of its own that fences the relay's writes to it.

SIGTERM/SIGINT ask the jobs to stop: a sweep finishes the deadline (a cycle the chunk) in
hand, the transaction commits, the lock is released and the process exits 0. A dropped
database connection inside a job is logged and retried with exponential backoff; the
exactly-once bookkeeping lives in the rows, so the retry resumes without repeating work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

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
from workflows.leadership import Leadership, LeaseLost, holder_id, make_lease
from workflows.service import Service

log = logging.getLogger("innospace.scheduler")
CONNECTION_ERRORS = (OperationalError, InterfaceError)
MISFIRE_GRACE_SECONDS = 3600


# The jobs the start-up catch-up runs once, in this order, the relay last.
CATCH_UP_JOBS = ("open-review-cycles", "sweep-deadlines", "operator-digest", "relay-outbox")


def purge_idempotency_keys(service: Service) -> int:
    """Delete the expired idempotency keys (one command, fenced like every job's)."""
    from workflows.idempotency import PurgeIdempotencyKeys

    purged: int = service.handle(PurgeIdempotencyKeys(actor="scheduler"))
    log.info("idempotency keys: purged=%d", purged)
    return purged


def wall_clock() -> datetime:
    """Wall time, for the lease on SQLite (the application's clock may be simulated)."""
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
            f"数据库结构为版本 {current}，程序需要版本 {head}：请先运行 `innospace init` / "
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
    """Take the lease, run the jobs while renewing it, stand by again if it is lost."""

    def __init__(self, app: App, settings: TickSettings, *, lock: Leadership | None = None) -> None:
        self.app = app
        self.settings = settings
        self.lock = lock
        self.stop = threading.Event()  # the process is asked to end
        self.halt = threading.Event()  # the jobs of this term of leadership must end
        self.sweep_seconds = app.settings.sweep_interval_seconds
        self.relay_seconds = app.settings.relay_interval_seconds
        self.renew_seconds = settings.lease_seconds / 3
        self.poll_seconds = min(
            settings.standby_poll_seconds, float(self.sweep_seconds), self.renew_seconds
        )

    def request_stop(self, reason: str) -> None:
        log.info("%s: finishing the current batch, then exiting", reason)
        self.stop.set()
        self.halt.set()

    def run(self) -> int:
        trigger = preflight(self.app, self.settings)
        lock = self.lock or make_lease(
            self.app.engine, seconds=self.settings.lease_seconds, wall_clock=wall_clock
        )
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
                    log.info(
                        "scheduler %s is active (lock acquired): lease token %s for %.1fs, "
                        "renewed every %.1fs",
                        holder_id(),
                        lock.token,
                        self.settings.lease_seconds,
                        self.renew_seconds,
                    )
                    return True
                failures = 0
            except CONNECTION_ERRORS as err:
                lock.release()
                failures += 1
                delay = self._backoff(failures)
                log.warning(
                    "database unavailable while taking the scheduler lease: %s; retry %d in %.1fs",
                    first_line(err),
                    failures,
                    delay,
                )
                self.stop.wait(delay)
                continue
            if not lock.waits:
                raise SchedulerError(
                    f"此数据库上已有调度器在运行（{lock.holder()}）；SQLite 数据库只能运行一个"
                    "调度器，请先停止那一个（PostgreSQL 上的第二个调度器会作为备用等待） / "
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

    def _lead(self, lock: Leadership, trigger: CronTrigger) -> None:
        self.halt.clear()
        if self.stop.is_set():
            return
        scheduler = self._build(trigger, self.app.service.fenced(lock.fence))
        scheduler.start()
        renew_at = time.monotonic() + self.renew_seconds
        try:
            while not self.stop.wait(self.poll_seconds):
                if self.halt.is_set():  # a job's commit found the lease lost
                    log.error(
                        "lost the scheduler lease (a job's transaction was fenced off); "
                        "stopping the jobs and standing by"
                    )
                    break
                if time.monotonic() < renew_at:
                    continue
                if not self._renew(lock):
                    break
                renew_at = time.monotonic() + self.renew_seconds
        finally:
            self.halt.set()  # the jobs stop at once: sweeps between units, commits fenced
            lock.release()
            scheduler.shutdown(wait=True)  # running jobs end the unit in hand

    def _renew(self, lock: Leadership) -> bool:
        token = lock.token
        try:
            if lock.renew():
                return True
        except SQLAlchemyError as err:
            log.error(
                "lost the scheduler lock (its database connection dropped: %s); "
                "stopping the jobs and standing by",
                first_line(err),
            )
            return False
        log.error(
            "lost the scheduler lease (token %s): now held by %s; stopping the jobs and "
            "standing by",
            token,
            lock.holder(),
        )
        return False

    def _build(self, trigger: CronTrigger, service: Service | None = None) -> BackgroundScheduler:
        """The jobs, on ``service`` (the fenced one while leading; the app's by default)."""
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
        app, s = self.app, self.settings
        service = service or app.service
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
            (
                # Idempotency keys older than a day (workflows.idempotency.KEY_TTL).
                "purge-idempotency-keys",
                lambda: purge_idempotency_keys(service),
                IntervalTrigger(hours=1, timezone=SHANGHAI),
            ),
        ]
        # The catch-up at start: cycles, deadlines and digest once, in that order, then the
        # relay in the same pass, so what the catch-up queued is delivered now, not one relay
        # interval later. Those jobs then keep their own intervals; the others (the daily
        # checkpoint) also run once at start.
        catch_up = [(job_id, work) for job_id, work, _ in jobs if job_id in CATCH_UP_JOBS]
        for job_id, work, when in jobs:
            scheduler.add_job(
                self._guarded(job_id, work),
                when,
                id=job_id,
                name=job_id,
                replace_existing=True,
                **({} if job_id in CATCH_UP_JOBS else {"next_run_time": now}),
            )
        scheduler.add_job(
            lambda: [self._guarded(job_id, work)() for job_id, work in catch_up],
            id="catch-up",
            name="catch-up",
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
                except LeaseLost as err:
                    log.error("%s: %s", name, err.message)
                    self.halt.set()  # the main loop steps down
                    return
                except InnospaceError as err:
                    log.error("%s failed: %s", name, err.message)
                    return
                except Exception:
                    log.exception("%s crashed", name)
                    return

        return run
