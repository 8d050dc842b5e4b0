"""A frozen leader steps down (issue 15, item 5), with real processes on real PostgreSQL.

Two ``innospace scheduler`` processes share a database with a 3-second lease (renewed every
second). The leader is stopped with SIGSTOP *inside* a sweep's transaction — one that has
already locked or written rows — and kept frozen for longer than its lease:

* the standby takes the lease within the lease and one renewal interval (the lease row names
  it, with the next token) and handles every due deadline the frozen leader does not hold;
* the old leader, woken with SIGCONT, commits nothing: its transaction in hand fails its
  fence and rolls back (no row carries that transaction's id; the deadline it held is handled
  by the new leader), and it stops its jobs and stands by, alive.

Each process connects with its own ``application_name``, so the test can find the frozen
leader's open transaction in ``pg_stat_activity``. The relay and cycle jobs run once at start
only (hour-long intervals): the sweep is the one writer in the window.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from e2e.test_scheduler import (
    ACTIVE,
    Scheduler,
    assert_each_handled_once,
    done,
    seed_vacating,
    wait_until,
)
from integration.test_sweeps_seed import create_space
from sqlalchemy import Engine, text

from workflows.service import Service

LEASE = 3.0
INTERVAL = LEASE / 3  # the leader renews every third of the lease
STANDBY = "standby: the scheduler lock is held by"
N = 300  # due deadlines: a few seconds of sweeping on PostgreSQL (~12 ms each)
pytestmark = [pytest.mark.slow, pytest.mark.postgres]
POSTGRES = [pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def start(db_url: str, tmp_path: Path) -> Iterator[Callable[[str], Scheduler]]:
    started: list[Scheduler] = []

    def run(name: str) -> Scheduler:
        process = Scheduler(
            f"{db_url}?application_name=lease-{name}",
            tmp_path / f"{name}.log",
            INNOSPACE_LEASE_SECONDS=str(LEASE),
            INNOSPACE_RELAY_INTERVAL_SECONDS="3600",
            INNOSPACE_CYCLE_INTERVAL_SECONDS="3600",
            INNOSPACE_BATCH_SIZE="50",
        )
        started.append(process)
        return process

    yield run
    for process in started:  # only the processes this test started
        if process.proc.poll() is None:
            process.signal(signal.SIGCONT)
        process.kill()


def lease(engine: Engine) -> tuple[str, int, datetime, datetime]:
    with engine.connect() as conn:
        holder, token, taken_at, expires_at = conn.execute(
            text("SELECT holder, token, taken_at, expires_at FROM scheduler_lease")
        ).one()
    return str(holder), int(token), taken_at, expires_at


FROZEN_TRANSACTION = """
SELECT a.pid, a.backend_xid::text
FROM pg_stat_activity a
WHERE a.application_name = :app AND a.datname = current_database()
  AND a.state = 'idle in transaction' AND a.backend_xid IS NOT NULL
  AND a.pid IS DISTINCT FROM (SELECT backend_pid FROM scheduler_lease)
  AND a.query NOT ILIKE '%scheduler_lease%' AND a.query NOT ILIKE '%clock_timestamp%'
  AND NOT EXISTS (SELECT 1 FROM pg_locks l
                  WHERE l.pid = a.pid AND l.relation = 'scheduler_lease'::regclass)
"""


def freeze_inside_a_transaction(process: Scheduler, engine: Engine, app: str) -> tuple[int, str]:
    """SIGSTOP ``process`` until it is caught inside a sweep's unit of work that has taken a
    transaction id (it has locked or written rows) and is past no fence yet; returns that
    session's pid and transaction id. The process stays stopped."""
    for _ in range(300):
        process.signal(signal.SIGSTOP)
        time.sleep(0.1)  # a statement the server was running finishes
        with engine.connect() as conn:
            row = conn.execute(text(FROZEN_TRANSACTION), {"app": app}).first()
        if row is not None:
            return int(row[0]), str(row[1])
        process.signal(signal.SIGCONT)
        time.sleep(random.uniform(0.005, 0.04))
    pytest.fail("never caught the leader inside a sweep's transaction")


def rows_written_by(engine: Engine, xid: str) -> dict[str, int]:
    tables = ("deadlines", "audit_events", "outbox", "exit_cases", "tenancies", "scheduler_lease")
    with engine.connect() as conn:
        return {
            t: int(
                conn.execute(
                    text(f"SELECT count(*) FROM {t} WHERE xmin::text = :xid"), {"xid": xid}
                ).scalar_one()
            )
            for t in tables
        }


@pytest.mark.parametrize("db_url", POSTGRES, indirect=True)
def test_a_frozen_leader_is_replaced_within_its_lease_and_commits_nothing_when_it_wakes(
    start: Callable[[str], Scheduler], service: Service, engine: Engine
) -> None:
    create_space(service)
    old = start("a")
    old.wait_for(ACTIVE)
    new = start("b")
    new.wait_for(STANDBY)
    _, first_token, _, _ = lease(engine)
    assert f":{old.proc.pid}" in lease(engine)[0] and first_token >= 1

    ids = seed_vacating(service, engine, N)
    wait_until(lambda: done(engine) >= 3, 30, "the leader starts sweeping")
    session, xid = freeze_inside_a_transaction(old, engine, "lease-a")
    frozen_at = time.monotonic()
    _, token, _, expired_at = lease(engine)  # the frozen leader's last renewal
    assert token == first_token
    assert done(engine) < N, "the leader was frozen before the end of its sweep"

    # The standby takes over within the lease and one interval, with the next token.
    new.wait_for(ACTIVE, timeout=LEASE + 20)
    took = time.monotonic() - frozen_at
    holder, token, taken_at, _ = lease(engine)
    assert holder.endswith(f":{new.proc.pid}") and token == first_token + 1
    assert expired_at <= taken_at <= expired_at + timedelta(seconds=INTERVAL), (
        expired_at,
        taken_at,
    )
    assert took <= LEASE + INTERVAL + 1.0, took  # + 1 s: process scheduling on a loaded host

    # It handles everything but the deadline the frozen leader's transaction holds locked.
    wait_until(lambda: done(engine) == N - 1, 40, "the new leader sweeps the rest")
    with engine.connect() as conn:
        (held,) = conn.execute(text("SELECT id FROM deadlines WHERE status = 'pending'")).one()
        still = conn.execute(
            text("SELECT backend_xid::text FROM pg_stat_activity WHERE pid = :pid"),
            {"pid": session},
        ).scalar()
    assert still == xid, "the frozen transaction is still open"

    # Woken up, the old leader's transaction fails its fence: nothing of it is committed.
    old.signal(signal.SIGCONT)
    old.wait_for("lost the scheduler lease", timeout=20)
    old.wait_for(STANDBY, timeout=20)  # it stepped down and stands by
    old.wait_for("nothing written", timeout=20)
    wait_until(lambda: done(engine) == N, 20, "the new leader handles the released deadline")
    assert not any(rows_written_by(engine, xid).values()), rows_written_by(engine, xid)
    with engine.connect() as conn:
        writer = conn.execute(
            text("SELECT xmin::text FROM deadlines WHERE id = :id"), {"id": held}
        ).scalar_one()
    assert writer != xid
    assert old.proc.poll() is None and ACTIVE not in old.text.split(STANDBY, 1)[1]
    assert lease(engine)[:2] == (holder, token)  # still the new leader's, same token

    new.signal(signal.SIGTERM)
    assert new.wait() == 0
    old.signal(signal.SIGTERM)
    assert old.wait() == 0
    assert_each_handled_once(engine, ids)
