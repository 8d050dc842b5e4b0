"""`innospace scheduler` as real processes: one leader, standby takeover, crash safety.

Each test starts ``.venv/bin/innospace --db URL scheduler`` with one-second intervals (env
vars), watches its log on stderr and the database, and signals it like an operator or the
kernel would (SIGTERM, SIGKILL). The clock is frozen with INNOSPACE_NOW so the seeded
deadlines are due; everything else (polling, takeover) runs on real time, with bounded waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from integration.test_sweeps_seed import bulk_tenancies, bulk_vacate_due, counts, create_space
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from db.engine import READ_ONLY
from workflows.service import Service

INNOSPACE = str(Path(sys.executable).with_name("innospace"))
NOW = "2026-03-02T09:00+08:00"  # the seeded deadlines fall due on 2026-02-02
SQLITE = [pytest.param("sqlite", id="sqlite")]
POSTGRES = [pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
ACTIVE = "is active (lock acquired)"
pytestmark = pytest.mark.slow


class Scheduler:
    """One scheduler process; its stderr goes to a file the test reads."""

    def __init__(self, db_url: str, log: Path, **env: str) -> None:
        self.log = log
        environ = {k: v for k, v in os.environ.items() if not k.startswith("INNOSPACE_")}
        environ.update(
            {
                "INNOSPACE_SWEEP_INTERVAL_SECONDS": "1",
                "INNOSPACE_RELAY_INTERVAL_SECONDS": "1",
                "INNOSPACE_STANDBY_POLL_SECONDS": "0.2",
                "INNOSPACE_RETRY_MAX_SECONDS": "0.5",
                "INNOSPACE_NOW": NOW,
                **env,
            }
        )
        with log.open("w") as err:
            self.proc = subprocess.Popen(
                [INNOSPACE, "--db", db_url, "scheduler"],
                env=environ,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    @property
    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, needle: str, timeout: float = 20, times: int = 1) -> float:
        """Seconds until ``needle`` shows ``times`` times in the log (else the test fails)."""
        started = time.monotonic()
        while self.text.count(needle) < times:
            if self.proc.poll() is not None and self.text.count(needle) < times:
                pytest.fail(
                    f"scheduler exited {self.proc.returncode} before {needle!r}:\n{self.text}"
                )
            if time.monotonic() - started > timeout:
                pytest.fail(f"no {needle!r} within {timeout}s:\n{self.text}")
            time.sleep(0.05)
        return time.monotonic() - started

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def schedulers(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Scheduler]]:
    started: list[Scheduler] = []

    def start(name: str = "a", **env: str) -> Scheduler:
        process = Scheduler(db_url, tmp_path / f"{name}.log", **env)
        started.append(process)
        return process

    yield start
    for process in started:  # only the processes this test started
        process.kill()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout}s")
        time.sleep(0.1)


def scalar(engine: Engine, sql: str) -> int:
    """A read of a snapshot (deferred BEGIN on SQLite): a poll never waits on the scheduler's
    write lock (under BEGIN IMMEDIATE it lost the lock to the sweep's batches until the sweep
    was over, and the kill meant for the middle of a sweep came after its end)."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return int(conn.execute(text(sql)).scalar_one())


def seed_vacating(service: Service, engine: Engine, n: int, seed: int = 7) -> list[int]:
    """``n`` tenancies overstaying their vacating period: one due deadline each."""
    space_id, version = service.read(
        lambda w: (w.space_by_code("MC3").id, w.space_by_code("MC3").rulebook_version)
    )
    ids = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=n,
        state="vacating",
        term_start=date(2023, 1, 1),
        term_end=date(2026, 1, 1),
        seed=seed,
    )
    bulk_vacate_due(engine, ids, version, date(2026, 2, 2))
    return ids


def done(engine: Engine) -> int:
    """The vacate deadlines handled (the sweep also plans and sends the quarter's light
    report notices to the active firms: those are not what these tests count)."""
    return scalar(
        engine, "SELECT count(*) FROM deadlines WHERE status = 'done' AND kind = 'vacate_due'"
    )


def assert_each_handled_once(engine: Engine, ids: list[int]) -> None:
    """One escalation event, one firm and one manager notice per tenancy: no gap, no twin."""
    with engine.connect() as conn:
        events = dict(
            conn.execute(
                text(
                    "SELECT tenancy_id, count(*) FROM audit_events "
                    "WHERE trigger = 'escalate_vacating' GROUP BY tenancy_id"
                )
            ).all()
        )
        notices = dict(
            conn.execute(
                text(
                    "SELECT tenancy_id, count(*) FROM outbox WHERE message = 'vacate_overdue' "
                    "GROUP BY tenancy_id"
                )
            ).all()
        )
        statuses = dict(
            conn.execute(
                text(
                    "SELECT status, count(*) FROM deadlines WHERE kind = 'vacate_due' "
                    "GROUP BY status"
                )
            ).all()
        )
        seqs = {s for (s,) in conn.execute(text("SELECT DISTINCT seq FROM audit_events"))}
    assert events == dict.fromkeys(ids, 1)
    assert notices == dict.fromkeys(ids, 2)
    assert statuses == {"done": len(ids)}
    assert seqs == {1}


@pytest.mark.parametrize("db_url", SQLITE, indirect=True)
def test_sqlite_a_second_scheduler_refuses_and_the_first_stops_cleanly_on_sigterm(
    schedulers: Callable[..., Scheduler], service: Service, engine: Engine
) -> None:
    create_space(service)
    first = schedulers("first")
    first.wait_for(ACTIVE)
    second = schedulers("second")
    assert second.wait() == 9
    assert "another scheduler is already running on this database" in second.text
    assert f":{first.proc.pid} since" in second.text  # names the holder
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    assert "SIGTERM: finishing the current batch" in first.text and "stopped" in first.text
    third = schedulers("third")  # the lock went with the first process
    third.wait_for(ACTIVE)
    third.signal(signal.SIGINT)
    assert third.wait() == 0


@pytest.mark.parametrize("db_url", POSTGRES, indirect=True)
def test_postgres_a_standby_waits_and_takes_over_within_two_sweep_intervals_of_a_kill_9(
    schedulers: Callable[..., Scheduler], service: Service, engine: Engine
) -> None:
    create_space(service)
    leader = schedulers("leader")
    leader.wait_for(ACTIVE)
    standby = schedulers("standby")
    standby.wait_for("standby: the scheduler lock is held by")
    time.sleep(0.5)
    assert ACTIVE not in standby.text and standby.proc.poll() is None

    leader.signal(signal.SIGKILL)
    assert standby.wait_for(ACTIVE, timeout=10) <= 2.0  # two sweep intervals
    ids = seed_vacating(service, engine, 5)
    wait_until(lambda: done(engine) == 5, 10, "the new leader handles due deadlines")
    standby.signal(signal.SIGTERM)
    assert standby.wait() == 0
    assert_each_handled_once(engine, ids)


def assert_each_opened_once(engine: Engine, ids: list[int]) -> None:
    """One review, one open_review event and one review_opened notice per active tenancy."""
    with engine.connect() as conn:
        for sql in (
            "SELECT tenancy_id, count(*) FROM reviews WHERE period = 2025",
            "SELECT tenancy_id, count(*) FROM audit_events WHERE trigger = 'open_review'",
            "SELECT tenancy_id, count(*) FROM outbox WHERE message = 'review_opened'",
        ):
            assert dict(conn.execute(text(sql + " GROUP BY tenancy_id")).all()) == dict.fromkeys(
                ids, 1
            ), sql


@pytest.mark.parametrize(
    ("db_url", "n"),
    [
        pytest.param("sqlite", 2000, id="sqlite"),
        pytest.param("postgres", 300, id="postgres", marks=pytest.mark.postgres),  # ~12 ms a row
    ],
    indirect=["db_url"],
)
def test_sigkill_in_the_middle_of_a_large_sweep_then_restart_handles_each_deadline_once(
    schedulers: Callable[..., Scheduler], service: Service, engine: Engine, n: int
) -> None:
    space_id, version = create_space(service)
    ids = seed_vacating(service, engine, n)
    # ... and a review cycle to open meanwhile (period 2025 opened on 5 January 2026)
    active = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=n // 4,
        state="active",
        term_start=date(2025, 1, 1),
        term_end=date(2027, 1, 1),
        seed=8,
    )
    env = {"INNOSPACE_BATCH_SIZE": str(n // 20)}  # cycle chunks and sweep batches
    first = schedulers("first", **env)
    wait_until(lambda: done(engine) >= n // 5, 40, "the sweep gets going")
    first.signal(signal.SIGKILL)
    first.wait()
    handled = done(engine)
    assert 0 < handled < n, "the kill must land in the middle of the sweep"

    second = schedulers("second", **env)
    digest = "SELECT count(*) FROM outbox WHERE message = 'operator_digest'"
    wait_until(  # the catch-up: cycles, deadlines, then the digest (and the relay)
        lambda: (
            done(engine) == n
            and scalar(engine, "SELECT count(*) FROM reviews") == len(active)
            and scalar(engine, digest) == 1
        ),
        60,
        "the restarted scheduler finishes",
    )
    second.signal(signal.SIGTERM)
    assert second.wait() == 0
    assert_each_handled_once(engine, ids)
    assert_each_opened_once(engine, active)
    assert counts(engine)["audit_events"] == n + len(active)
    assert counts(engine)["exit_cases"] == n
    assert scalar(engine, "SELECT count(*) FROM outbox WHERE message = 'operator_digest'") == 1


@pytest.mark.parametrize("db_url", POSTGRES, indirect=True)
def test_postgres_dropped_connections_are_retried_and_the_work_resumes_without_repeats(
    schedulers: Callable[..., Scheduler], service: Service, engine: Engine, db_url: str
) -> None:
    create_space(service)
    first_batch = seed_vacating(service, engine, 40)
    scheduler = schedulers()
    scheduler.wait_for(ACTIVE)
    wait_until(lambda: done(engine) >= 10, 20, "work starts")
    database = make_url(db_url).database
    admin = create_engine(make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # the server drops every session of the database
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            ).scalar()
    finally:
        admin.dispose()
    assert killed and killed >= 1
    scheduler.wait_for("lost the scheduler lock")
    scheduler.wait_for(ACTIVE, timeout=10, times=2)
    second_batch = seed_vacating(service, engine, 10, seed=8)
    wait_until(lambda: done(engine) == 50, 30, "the work resumes")
    scheduler.signal(signal.SIGTERM)
    assert scheduler.wait() == 0
    assert scheduler.text.count(ACTIVE) == 2
    assert_each_handled_once(engine, first_batch + second_batch)


@pytest.mark.parametrize("db_url", SQLITE, indirect=True)
def test_after_a_restart_the_relay_delivers_what_the_catch_up_queued_in_the_same_pass(
    schedulers: Callable[..., Scheduler], service: Service, engine: Engine
) -> None:
    create_space(service)
    ids = seed_vacating(service, engine, 40)
    # Intervals far longer than the test: only the start-up catch-up can do the work.
    first = schedulers(
        "first", INNOSPACE_SWEEP_INTERVAL_SECONDS="600", INNOSPACE_RELAY_INTERVAL_SECONDS="600"
    )
    pending = "SELECT count(*) FROM outbox WHERE status = 'pending'"
    wait_until(
        lambda: done(engine) == len(ids) and scalar(engine, pending) == 0,
        30,
        "the catch-up sweeps and the relay delivers in the same pass",
    )
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    assert_each_handled_once(engine, ids)
    assert scalar(engine, "SELECT count(*) FROM outbox WHERE status = 'sent'") >= 2 * len(ids)
