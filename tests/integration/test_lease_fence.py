"""The scheduler's lease and its fence (workflows.leadership), in-process, on SQLite and
PostgreSQL: a standby takes only an expired lease, a take-over bumps the token, and a unit of
work fenced by a stale or expired token commits nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from db.tables import CalendarOverride, SchedulerLease
from workflows.core import Work
from workflows.leadership import Lease, LeaseLost
from workflows.service import Service

SECONDS = 1.0


class WallClock:
    """The wall clock SQLite's lease reads, moved on by the test (PostgreSQL uses its own)."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def leases(engine: Engine, wall: WallClock) -> Iterator[tuple[Lease, Lease]]:
    a = Lease(engine, seconds=SECONDS, wall_clock=wall)
    b = Lease(engine, seconds=SECONDS, wall_clock=wall)
    yield a, b
    a.release()
    b.release()


def let_expire(engine: Engine, wall: WallClock) -> None:
    if engine.dialect.name == "postgresql":
        time.sleep(SECONDS + 0.2)  # the server's clock
    else:
        wall.at += timedelta(seconds=SECONDS + 0.2)


def mark(day: int) -> Callable[[Work], None]:
    def write(w: Work) -> None:
        w.session.add(CalendarOverride(day=date(2030, 1, day), workday=True))

    return write


def marked(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(d.day for d in conn.execute(select(CalendarOverride.day)).scalars())


def lease_row(engine: Engine) -> tuple[str, int]:
    with engine.connect() as conn:
        row = conn.execute(select(SchedulerLease.holder, SchedulerLease.token)).one()
    return row[0], int(row[1])


def test_a_standby_takes_only_an_expired_lease_and_the_old_holder_commits_nothing(
    engine: Engine, service: Service, wall: WallClock, leases: tuple[Lease, Lease]
) -> None:
    a, b = leases
    assert a.try_acquire() and a.token == 1  # first use: the row is made, then taken
    assert not b.try_acquire() and b.token is None  # held and not expired
    as_a, as_b = service.fenced(a.fence), service.fenced(b.fence)
    as_a.run(mark(1))
    assert marked(engine) == [1]

    let_expire(engine, wall)
    with pytest.raises(LeaseLost, match="expired"):  # not renewed in time: no commit
        as_a.run(mark(2))
    assert b.try_acquire() and b.token == 2
    assert lease_row(engine)[1] == 2
    with pytest.raises(LeaseLost, match=r"passed to .* \(token 2\); this process's token 1"):
        as_a.run(mark(3))  # the old holder, awake again: its token is stale
    assert not a.renew() and a.token is None  # ... and its renewal tells it so
    with pytest.raises(LeaseLost):
        as_a.run(mark(4))
    as_b.run(mark(5))
    assert marked(engine) == [1, 5]
    assert b.renew() and not a.try_acquire()


def test_a_holder_renews_a_lease_no_one_took_and_goes_on(
    engine: Engine, service: Service, wall: WallClock, leases: tuple[Lease, Lease]
) -> None:
    a, _ = leases
    assert a.try_acquire()
    let_expire(engine, wall)
    with pytest.raises(LeaseLost):
        service.fenced(a.fence).run(mark(1))
    assert a.renew() and a.token == 1  # no take-over happened: the same token goes on
    service.fenced(a.fence).run(mark(2))
    assert marked(engine) == [2]


def test_a_released_lease_is_taken_at_once(
    engine: Engine, wall: WallClock, leases: tuple[Lease, Lease]
) -> None:
    a, b = leases
    assert a.try_acquire() and not b.try_acquire()
    a.release()
    assert b.try_acquire() and b.token == 2


POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("db_url", POSTGRES, indirect=True)
def test_postgres_a_holder_whose_session_ended_is_replaced_before_expiry(
    engine: Engine, wall: WallClock, leases: tuple[Lease, Lease]
) -> None:
    a, b = leases
    a.duration = timedelta(minutes=10)
    assert a.try_acquire() and not b.try_acquire()
    a._close()  # what the server sees when the holder's process dies
    deadline = time.monotonic() + 10
    while not b.try_acquire():
        assert time.monotonic() < deadline, "the ended session's lease was never taken"
        time.sleep(0.05)
    assert b.token == 2 and lease_row(engine)[1] == 2
