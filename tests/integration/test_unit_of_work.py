"""The unit of work on SQLite and PostgreSQL: one connection, one transaction, rolled back
unless committed. The writer's Core writes and an ORM session made mid-command share that
transaction; the annual review needs no session at all; a tenancy column a handler sets on
its record is written with one version bump, and a record someone moved on since it was read
is stale and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import local
from sqlalchemy import text
from sqlmodel import func, select
from test_concurrency import evaluating_tenancy, events_of, stored, tenancy_updates
from test_rulebook_decisions import Park, figures

from db.tables import ALL_TABLES, AuditEvent, Firm, OutboxMessage, Review
from db.uow import UnitOfWork
from lifecycle.clock import FixedClock
from lifecycle.errors import StaleTenancy
from workflows import commands as c
from workflows.audit import verify
from workflows.core import Work
from workflows.service import Service

FIRMS = ALL_TABLES.tables["firms"]


@contextmanager
def opened(service: Service, clock: FixedClock) -> Iterator[tuple[UnitOfWork, Work]]:
    """A unit of work and the handlers' view of it, as ``Service.handle`` makes them."""
    with UnitOfWork(service.engine) as uow:
        yield uow, Work(uow, clock, lambda: service.calendar(uow))


def firm_email(service: Service, firm_id: int) -> str | None:
    firm = service.read(lambda w: w.session.get(Firm, firm_id))
    assert isinstance(firm, Firm)
    return firm.contact_email


def test_a_failure_after_writes_leaves_nothing_behind(service: Service, clock: FixedClock) -> None:
    t = evaluating_tenancy(service)
    before, events = stored(service, t), events_of(service, t)
    with pytest.raises(RuntimeError), opened(service, clock) as (uow, w):
        tenancy = w.tenancy(t)
        w.record(tenancy, "note", actor="王", reason="备注")
        w.deadline(tenancy, "info_request_lapse", w.calendar.add_working_days(w.today, 5))
        w.notify(tenancy, "info_requested", context={"items": ["营业执照"]})
        assert not uow.has_session
        raise RuntimeError("the command fails after its writes")
    assert stored(service, t) == before
    assert events_of(service, t) == events
    with service.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT COUNT(*) FROM deadlines WHERE kind = 'info_request_lapse'")
        ).scalar_one()
        notices = conn.execute(
            text("SELECT COUNT(*) FROM outbox WHERE message = 'info_requested'")
        ).scalar_one()
    assert (rows, notices) == (0, 0)
    assert service.read(lambda w: verify(w.session)).ok


def test_a_session_made_mid_command_writes_in_the_writers_transaction(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    firm_id = service.read(lambda w: w.tenancy(t, lock=False).firm_id)
    email, events = firm_email(service, firm_id), events_of(service, t)

    def both(uow: UnitOfWork, w: Work) -> None:
        w.record(w.tenancy(t), "note", actor="王", reason="备注")  # the writer, through Core
        assert not uow.has_session
        firm = w.get(Firm, firm_id)  # the session is made now, on the same connection ...
        assert uow.has_session
        # ... and sees what the writer wrote before it existed
        seen = w.session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.tenancy_id == t)
        ).one()
        assert seen == events + 1
        firm.contact_email = "new@example.cn"
        uow.flush()
        # the writer's connection sees the session's write
        found = w.execute(select(FIRMS.c.contact_email).where(FIRMS.c.id == firm_id))
        assert found.scalar_one() == "new@example.cn"

    with pytest.raises(RuntimeError), opened(service, clock) as (uow, w):
        both(uow, w)
        raise RuntimeError("the command fails after both")
    assert (firm_email(service, firm_id), events_of(service, t)) == (email, events)

    with opened(service, clock) as (uow, w):
        both(uow, w)
        uow.commit()
    assert (firm_email(service, firm_id), events_of(service, t)) == (
        "new@example.cn",
        events + 1,
    )
    assert service.read(lambda w: verify(w.session)).ok


def test_a_firms_annual_review_runs_without_an_orm_session(
    service: Service, clock: FixedClock
) -> None:
    park = Park(service, clock)
    (t,) = park.residents(1)

    def run(command: c.Command) -> bool:
        def handle(w: Work) -> Any:
            service.dispatch(w, command)
            return w.uow.has_session

        return bool(service.run(handle))

    clock.set(local(2025, 1, 2, 9, 0))  # 2024, the term's first year, is reviewed
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
                OutboxMessage.tenancy_id == t,
                OutboxMessage.message.like("review_%"),  # type: ignore[attr-defined]
            )
        ).all()
    )
    assert review["status"] == "decided" and review["grade"] is not None
    assert sorted(notices) == ["review_opened", "review_received", "review_result"]
    assert service.read(lambda w: verify(w.session)).ok


def test_a_review_command_reads_its_tenancy_with_this_and_last_years_reviews(
    service: Service, clock: FixedClock
) -> None:
    park = Park(service, clock)
    t, other = park.residents(2)
    clock.set(local(2025, 1, 2, 9, 0))
    park.do(c.OpenReview(tenancy_id=t, period=2024))
    park.do(c.SubmitReview(tenancy_id=t, period=2024, figures=figures()))
    park.do(c.DecideReview(tenancy_id=t, period=2024))
    clock.set(local(2026, 1, 5, 9, 0))
    park.do(c.OpenReview(tenancy_id=t, period=2025))
    with opened(service, clock) as (uow, _):
        tenancy, both = uow.tenancies.with_reviews(t, 2025, previous=True)
        _, this_year = uow.tenancies.with_reviews(t, 2025)
        _, none_yet = uow.tenancies.with_reviews(t, 2026, previous=True)
        bare, nothing = uow.tenancies.with_reviews(other, 2025, previous=True)
        missing = uow.tenancies.with_reviews(10_000, 2025)
        alone = uow.tenancies.get(t)
    assert tenancy is not None and alone is not None and bare is not None
    # The tenancy as the plain read gives it, parties included, once however many reviews.
    assert (tenancy.id, tenancy.version, tenancy.party) == (t, alone.version, alone.party)
    assert bare.id == other and nothing == {}
    assert {p: (r.tenancy_id, r.status) for p, r in both.items()} == {
        2024: (t, "decided"),
        2025: (t, "open"),
    }
    assert both[2024].grade is not None and set(both[2024].figures) == set(figures())
    assert list(this_year) == [2025]
    assert list(none_yet) == [2025]  # 2026's is not opened; 2025 is the year before it
    assert missing == (None, {})


def test_a_unit_of_work_is_used_only_while_open(service: Service, clock: FixedClock) -> None:
    t = evaluating_tenancy(service)
    with opened(service, clock) as (uow, w):
        tenancy = w.tenancy(t)
        uow.commit()
    # A connection made after the block would hold its transaction (on SQLite, the database's
    # write lock) until it was collected.
    with pytest.raises(RuntimeError, match="not open"):
        w.tenancy(t)
    with pytest.raises(RuntimeError, match="not open"):
        w.record(tenancy, "note", actor="王", reason="备注")
    with pytest.raises(RuntimeError, match="not open"):
        uow.reviews.get(t, 2023)
    with pytest.raises(RuntimeError, match="not open"):
        uow.session.get(Firm, tenancy.firm_id)
    assert stored(service, t)["version"] == tenancy.version  # nothing was written
    with opened(service, clock) as (uow, w):  # nor left holding the database
        w.record(w.tenancy(t), "note", actor="王", reason="备注")
        uow.commit()
    assert stored(service, t)["version"] == tenancy.version + 1


def test_a_column_set_on_the_tenancy_record_is_written_at_commit_with_one_version_bump(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    before, events = stored(service, t), events_of(service, t)
    updates = tenancy_updates(service.engine)

    def change(w: Work) -> bool:
        w.tenancy(t).track = "acceleration"  # on the record only, nothing written yet
        return w.uow.has_session

    assert service.run(change) is False  # Service.run writes it (Work.flush_changed)
    after = stored(service, t)
    assert len(updates) == 1, updates
    assert (after["track"], after["version"]) == ("acceleration", before["version"] + 1)
    assert (after["audit_seq"], after["audit_head"]) == (before["audit_seq"], before["audit_head"])
    assert events_of(service, t) == events

    with opened(service, clock) as (uow, w):  # nothing set: nothing written
        w.tenancy(t)
        w.flush_changed()
        uow.commit()
    assert stored(service, t) == after and len(updates) == 1


def test_a_tenancy_someone_moved_on_since_it_was_read_is_stale_and_nothing_is_written(
    service: Service, clock: FixedClock
) -> None:
    t = evaluating_tenancy(service)
    before, events = stored(service, t), events_of(service, t)
    for write in ("flush_changed", "record"):
        with pytest.raises(StaleTenancy) as err, opened(service, clock) as (uow, w):
            tenancy = w.tenancy(t)
            # The row moves on after it was read (as another writer's command would have).
            w.execute(text("UPDATE tenancies SET version = version + 1 WHERE id = :id"), {"id": t})
            if write == "flush_changed":
                tenancy.track = "acceleration"
                w.flush_changed()
            else:
                w.record(tenancy, "note", actor="王", reason="备注")
            uow.commit()
        assert err.value.tenancy_id == t
        assert stored(service, t) == before
        assert events_of(service, t) == events
