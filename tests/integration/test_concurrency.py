"""Two operators decide the same tenancy at the same moment: exactly one wins. And what one
command writes to its tenancy: one versioned UPDATE carrying every change."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from db.tables import AuditEvent, Deadline, Tenancy
from db.uow import UnitOfWork
from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from lifecycle.errors import StaleTenancy
from workflows import commands as c
from workflows.audit import verify
from workflows.core import Work
from workflows.service import Service


def evaluating_tenancy(service: Service) -> int:
    rng = random.Random(3)
    service.handle(c.CreateSpace(code="MC3", name="成都医学城三医创新中心"))
    uscc = make_uscc(rng)
    service.handle(c.RegisterFirm(name="峰际生物", uscc=uscc, industry="pharma"))
    today = service.clock.now().date()
    t = int(service.handle(c.Apply(firm=uscc, space="MC3", profile=good_profile(today))).tenancy_id)
    service.handle(c.Screen(tenancy_id=t))
    for reviewer in ("甲", "乙", "丙"):
        service.handle(c.ScoreApplication(tenancy_id=t, reviewer=reviewer, scores=scores(0.7)))
    return t


def events_of(service: Service, tenancy_id: int) -> int:
    return int(
        service.read(
            lambda w: w.session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.tenancy_id == tenancy_id)
            ).one()
        )
    )


def test_two_operators_deciding_at_once_one_wins_the_other_is_told_it_is_stale(
    service: Service,
) -> None:
    t = evaluating_tenancy(service)
    version = service.read(lambda w: w.tenancy(t, lock=False).version)
    before = events_of(service, t)
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def decide(name: str, command: c.Command) -> None:
        barrier.wait()
        try:
            outcomes[name] = service.handle(command)
        except Exception as err:  # collected and asserted below
            outcomes[name] = err

    threads = [
        threading.Thread(
            target=decide,
            args=("approve", c.Approve(tenancy_id=t, expected_version=version, actor="王")),
        ),
        threading.Thread(
            target=decide,
            args=(
                "reject",
                c.Reject(tenancy_id=t, expected_version=version, actor="李", reason="不符合"),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    errors = [o for o in outcomes.values() if isinstance(o, Exception)]
    wins = [o for o in outcomes.values() if not isinstance(o, Exception)]
    assert len(wins) == 1 and len(errors) == 1
    assert isinstance(errors[0], StaleTenancy)
    assert f"tenancy {t}" in str(errors[0])
    state = service.read(lambda w: w.tenancy(t, lock=False).state)
    assert state == wins[0].to_state
    assert events_of(service, t) == before + 1
    assert service.read(lambda w: verify(w.session)).ok


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_interleaved_transactions_are_caught_by_the_version_column(
    db_url: str, service: Service, clock: FixedClock
) -> None:
    """Two open transactions read version N; the second write hits a stale row."""
    # PostgreSQL only: SQLite serialises writers with BEGIN IMMEDIATE, nothing interleaves.
    t = evaluating_tenancy(service)
    with UnitOfWork(service.engine) as first, UnitOfWork(service.engine) as second:
        w1 = Work(first, clock, service.calendar(first))
        w2 = Work(second, clock, service.calendar(second))
        row1 = w1.tenancy(t, lock=False)
        row2 = w2.tenancy(t, lock=False)
        assert row1.version == row2.version
        w1.transition(row1, "reject", actor="李", reason="不符合")
        first.commit()
        with pytest.raises(StaleTenancy) as err:
            w2.transition(row2, "withdraw", actor="企业", reason="撤回")
        assert err.value.tenancy_id == t
    state = service.read(lambda w: w.session.get(Tenancy, t).state)
    assert state == "rejected"
    assert service.read(lambda w: verify(w.session)).ok


# ---- what a command writes to its tenancy ----------------------------------------------------
def tenancy_updates(engine: Any) -> list[str]:
    """Collects the UPDATE statements sent for the tenancies table."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE TENANCIES"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def stored(service: Service, tenancy_id: int) -> dict[str, Any]:
    return service.read(lambda w: w.session.get(Tenancy, tenancy_id).model_dump())  # type: ignore[no-any-return]


def test_a_command_writes_its_tenancy_once_version_and_chain_moving_together(
    service: Service,
) -> None:
    t = evaluating_tenancy(service)
    before = stored(service, t)
    updates = tenancy_updates(service.engine)
    step = service.handle(c.Approve(tenancy_id=t, expected_version=before["version"], actor="王"))
    after = stored(service, t)
    assert len(updates) == 1, updates
    assert (after["state"], after["version"], after["audit_seq"]) == (
        step.to_state,
        before["version"] + 1,
        before["audit_seq"] + 1,
    )
    assert step.version == after["version"]
    assert service.read(lambda w: verify(w.session)).ok


def test_changes_made_to_the_tenancy_before_its_event_go_out_in_the_same_update(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    before = stored(service, t)
    updates = tenancy_updates(service.engine)
    with UnitOfWork(service.engine) as uow:
        w = Work(uow, clock, lambda: service.calendar(uow))
        tenancy = w.tenancy(t)
        tenancy.track = "acceleration"
        w.record(tenancy, "note", actor="王", reason="转入加速器")
        assert not uow.session.dirty  # written; nothing left for the commit to flush
        uow.commit()
    after = stored(service, t)
    assert len(updates) == 1, updates
    assert (after["track"], after["version"], after["audit_seq"]) == (
        "acceleration",
        before["version"] + 1,
        before["audit_seq"] + 1,
    )
    assert service.read(lambda w: verify(w.session)).ok


def test_the_same_deadline_added_twice_is_one_row(service: Service, clock: FixedClock) -> None:
    t = evaluating_tenancy(service)
    with UnitOfWork(service.engine) as uow:
        w = Work(uow, clock, lambda: service.calendar(uow))
        tenancy = w.tenancy(t)
        due = w.calendar.add_working_days(w.today, 5)
        assert w.deadline(tenancy, "info_request_lapse", due, key="once") is True
        assert w.deadline(tenancy, "info_request_lapse", due, key="once") is False
        uow.commit()
    rows = service.read(
        lambda w: w.session.exec(
            select(Deadline.due_on, Deadline.status).where(
                Deadline.tenancy_id == t, Deadline.kind == "info_request_lapse"
            )
        ).all()
    )
    assert [tuple(r) for r in rows] == [(due, "pending")]
