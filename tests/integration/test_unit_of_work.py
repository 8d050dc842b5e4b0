"""The unit of work makes its ORM session only when a command needs one: rows read before it
are the same objects the session holds afterwards, with their changes, and everything a
command wrote still commits or rolls back as one transaction (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import func, select
from test_concurrency import evaluating_tenancy, stored
from test_rulebook_decisions import Park, figures

from db.tables import AuditEvent, OutboxMessage, Review, Tenancy
from db.uow import UnitOfWork
from lifecycle.clock import FixedClock
from lifecycle.errors import StaleTenancy
from workflows import commands as c
from workflows.audit import verify
from workflows.core import _TENANCY_BY_ID, _TENANCY_KEYS, Work
from workflows.service import HANDLERS, Service


@contextmanager
def opened(service: Service, clock: FixedClock) -> Iterator[tuple[UnitOfWork, Work]]:
    """A unit of work and the handlers' view of it, as ``Service.handle`` makes them."""
    with UnitOfWork(service.engine) as uow:
        yield uow, Work(uow, clock, lambda: service.calendar(uow))


def test_a_row_read_before_the_session_joins_it_as_the_same_object_with_its_changes(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    before = stored(service, t)
    with opened(service, clock) as (uow, w):
        tenancy = w.tenancy(t)
        assert not uow.has_session
        assert w.tenancy(t) is tenancy  # one object per row, session or not
        tenancy.track = "acceleration"
        assert w.get(Tenancy, t) is tenancy  # the session, made now, holds that object ...
        assert tenancy in uow.session.dirty  # ... with the change still to be written
        uow.commit()
    after = stored(service, t)
    assert (after["track"], after["version"]) == ("acceleration", before["version"] + 1)


def test_a_failure_after_writes_made_without_a_session_leaves_nothing_behind(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    before = stored(service, t)
    with pytest.raises(RuntimeError), opened(service, clock) as (uow, w):
        w.record(w.tenancy(t), "note", actor="王", reason="备注")
        assert not uow.has_session
        raise RuntimeError("the command fails after its writes")
    assert stored(service, t) == before
    assert service.read(lambda w: verify(w.session)).ok


def test_a_session_made_mid_command_writes_in_the_same_transaction(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    events = service.read(
        lambda w: w.session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.tenancy_id == t)
        ).one()
    )
    with pytest.raises(RuntimeError), opened(service, clock) as (uow, w):
        tenancy = w.tenancy(t)
        w.record(tenancy, "note", actor="王", reason="备注")  # prepared statements
        tenancy.track = "acceleration"
        assert not uow.has_session
        uow.flush()  # the change makes the session: the ORM writes it in the same transaction
        assert uow.has_session and not uow.session.dirty
        raise RuntimeError("the command fails after both")
    assert stored(service, t)["track"] != "acceleration"
    assert (
        service.read(
            lambda w: w.session.exec(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.tenancy_id == t)
            ).one()
        )
        == events
    )


def test_a_firms_annual_review_runs_without_an_orm_session(
    service: Service, clock: FixedClock
) -> None:
    park = Park(service, clock)
    (t,) = park.residents(1)

    def run(command: c.Command) -> bool:
        def handle(w: Work) -> Any:
            HANDLERS[type(command)](w, command)
            return w.uow.has_session

        return bool(service.run(handle))

    used = [
        run(c.OpenReview(tenancy_id=t, period=2024)),
        run(c.SubmitReview(tenancy_id=t, period=2024, figures=figures())),
        run(c.DecideReview(tenancy_id=t, period=2024)),
    ]
    assert used == [False, False, False]
    review = service.read(
        lambda w: w.session.exec(select(Review).where(Review.tenancy_id == t)).one().model_dump()
    )
    notices = service.read(
        lambda w: w.session.exec(
            select(OutboxMessage.message).where(
                OutboxMessage.tenancy_id == t, OutboxMessage.message.like("review_%")
            )
        ).all()
    )
    assert review["status"] == "decided" and review["grade"] is not None
    assert sorted(notices) == ["review_opened", "review_result"]
    assert service.read(lambda w: verify(w.session)).ok


def test_a_unit_of_work_is_used_only_while_open(service: Service, clock: FixedClock) -> None:
    t = evaluating_tenancy(service)
    with opened(service, clock) as (uow, w):
        w.tenancy(t)
        uow.commit()
    # A connection made after the block would hold its transaction (on SQLite, the database's
    # write lock) until it was collected.
    with pytest.raises(RuntimeError, match="not open"):
        w.tenancy(t)
    with pytest.raises(RuntimeError, match="not open"):
        uow.session.get(Tenancy, t)
    assert stored(service, t)["id"] == t  # nothing was left holding the database


def test_a_change_on_a_row_read_without_a_session_is_written_at_commit(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    before = stored(service, t)
    with opened(service, clock) as (uow, w):
        w.tenancy(t).track = "acceleration"
        assert not uow.has_session
        uow.commit()
    after = stored(service, t)
    assert (after["track"], after["version"]) == ("acceleration", before["version"] + 1)


def test_a_read_after_a_change_on_a_row_read_without_a_session_sees_the_change(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    with opened(service, clock) as (uow, w):
        w.tenancy(t).track = "acceleration"
        row = w.read(_TENANCY_BY_ID, {"tenancy_id": t})  # written first, as autoflush would
        assert row is not None and row[_TENANCY_KEYS.index("track")] == "acceleration"


def test_a_change_on_a_row_someone_moved_on_since_it_was_read_is_stale(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    before = stored(service, t)
    with pytest.raises(StaleTenancy), opened(service, clock) as (uow, w):
        tenancy = w.tenancy(t)
        # The row moves on after it was read (as another writer's command would have).
        w.execute(text("UPDATE tenancies SET version = version + 1 WHERE id = :id"), {"id": t})
        tenancy.track = "acceleration"
        uow.commit()
    assert stored(service, t) == before
