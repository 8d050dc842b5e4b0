"""Prepared statements (the single-command hot path) read and write exactly what SQLAlchemy's
own execution would, on both databases: column defaults, types in and out, errors, savepoints.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, event, insert, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session
from sqlmodel import select as orm_select

from db.prepared import Prepared, attach
from db.tables import Deadline, Firm, Review, Space, Tenancy
from db.uow import UnitOfWork
from lifecycle.clock import FixedClock
from lifecycle.errors import AlreadyExists
from workflows.core import Work
from workflows.service import Service

FIRMS = Firm.__table__  # type: ignore[attr-defined]
REVIEWS = Review.__table__  # type: ignore[attr-defined]
DEADLINES = Deadline.__table__  # type: ignore[attr-defined]
AT = datetime(2025, 1, 6, 1, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def tenancy_id(engine: Engine) -> int:
    with Session(engine) as s:
        space = Space(code="MC3", name="三医创新中心", created_at=AT)
        firm = Firm(name="峰际生物", uscc="91510100MA6CGUJ35A", industry="pharma", created_at=AT)
        s.add_all([space, firm])
        s.flush()
        tenancy = Tenancy(
            firm_id=firm.id,
            space_id=space.id,
            state="active",
            term_start=date(2024, 1, 1),
            created_at=AT,
            updated_at=AT,
        )
        s.add(tenancy)
        s.commit()
        assert tenancy.id is not None
        return tenancy.id


def test_an_insert_applies_the_column_defaults_core_would(engine: Engine, tenancy_id: int) -> None:
    given = {"tenancy_id": tenancy_id, "opened_at": AT, "due_on": date(2025, 3, 31)}
    with engine.begin() as conn:
        core_id = conn.execute(insert(REVIEWS), {**given, "period": 2023}).inserted_primary_key[0]
        fast = Prepared(insert(REVIEWS).returning(REVIEWS.c.id))
        fast_id = fast.execute(conn, {**given, "period": 2024}).fetchone()[0]
        rows = {r.id: r._asdict() for r in conn.execute(select(REVIEWS)).all()}
    by_core, by_fast = rows[core_id], rows[fast_id]
    for row in (by_core, by_fast):
        row.pop("id"), row.pop("period")
    assert by_fast == by_core
    assert by_fast["status"] == "open" and by_fast["figures"] == {}  # the columns' defaults


def test_values_come_back_as_their_column_types_give_them(engine: Engine, tenancy_id: int) -> None:
    payload = {"offset": -3, "说明": "提交截止前三个工作日", "nested": [1.5, None, True]}
    row = {
        "kind": "review_reminder",
        "tenancy_id": tenancy_id,
        "subject_id": None,
        "due_on": date(2025, 3, 26),
        "due_at": AT,
        "status": "pending",
        "dedupe_key": "k1",
        "payload": payload,
        "created_at": AT,
        "done_at": None,
    }
    by_key = Prepared(select(DEADLINES).where(DEADLINES.c.dedupe_key == bindparam("key")))
    with engine.begin() as conn:
        Prepared(insert(DEADLINES)).execute(conn, row)
        fast = by_key.first(conn, {"key": "k1"})
        core = conn.execute(select(DEADLINES).where(DEADLINES.c.dedupe_key == "k1")).one()
        missing = by_key.first(conn, {"key": "none such"})
    assert fast == tuple(core)
    assert fast is not None
    got = dict(zip(DEADLINES.c.keys(), fast, strict=True))
    assert got["due_at"] == AT and got["due_at"].tzinfo is not None
    assert got["due_on"] == date(2025, 3, 26) and got["payload"] == payload
    assert missing is None


def test_a_unique_clash_is_sqlalchemys_integrity_error_and_the_domains_already_exists(
    service: Service, clock: FixedClock, tenancy_id: int
) -> None:
    row = {"tenancy_id": tenancy_id, "period": 2024, "opened_at": AT, "due_on": date(2025, 3, 31)}
    with UnitOfWork(service.engine) as uow:
        w = Work(uow, clock, lambda: service.calendar(uow))
        w.insert(Review, **row)
        with pytest.raises(IntegrityError):
            Prepared(insert(REVIEWS)).execute(w.connection, row)
    with UnitOfWork(service.engine) as uow:
        w = Work(uow, clock, lambda: service.calendar(uow))
        w.insert(Review, **row)
        with pytest.raises(AlreadyExists):
            w.insert(Review, **row)


def test_a_savepoint_undoes_prepared_writes_made_inside_it(
    service: Service, clock: FixedClock, tenancy_id: int
) -> None:
    with UnitOfWork(service.engine) as uow:
        w = Work(uow, clock, lambda: service.calendar(uow))
        w.insert(Review, tenancy_id=tenancy_id, period=2023, opened_at=AT, due_on=date(2024, 3, 1))
        savepoint = uow.session.begin_nested()
        w.insert(Review, tenancy_id=tenancy_id, period=2024, opened_at=AT, due_on=date(2025, 3, 1))
        savepoint.rollback()
        uow.commit()
    with Session(service.engine) as s:
        assert s.exec(orm_select(Review.period)).all() == [2023]


def test_an_attached_row_is_the_sessions_object_clean_and_persistent(
    engine: Engine, tenancy_id: int
) -> None:
    with Session(engine) as s:
        values = (
            s.connection()
            .execute(
                select(Tenancy.__table__).where(Tenancy.__table__.c.id == tenancy_id)  # type: ignore[attr-defined]
            )
            .one()
            ._asdict()
        )
        first = attach(s, Tenancy, values)
        assert inspect(first).persistent and not s.dirty
        assert attach(s, Tenancy, {**values, "state": "exited"}) is first  # identity map wins
        assert s.get(Tenancy, tenancy_id) is first
        first.state = "under_review"
        assert s.dirty
        s.commit()
    with Session(engine) as s:
        assert s.get(Tenancy, tenancy_id).state == "under_review"  # type: ignore[union-attr]


def test_whatever_watches_statements_still_sees_every_prepared_one(
    engine: Engine, tenancy_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    by_id = Prepared(select(FIRMS.c.name).where(FIRMS.c.id == bindparam("firm_id")))
    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with engine.begin() as conn:
        assert by_id.first(conn, {"firm_id": 1}) == ("峰际生物",)
    assert seen == []
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with engine.begin() as conn:
            assert by_id.first(conn, {"firm_id": 1}) == ("峰际生物",)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert any(s.startswith("SELECT firms.name") for s in seen)
    engine.echo = True
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"), engine.begin() as conn:
            by_id.first(conn, {"firm_id": 1})
    finally:
        engine.echo = False
    assert any("SELECT firms.name" in r.getMessage() for r in caplog.records)


def test_a_locked_database_is_sqlalchemys_operational_error(engine: Engine, tmp_path: Any) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        with engine.connect() as conn:
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
            with pytest.raises(OperationalError, match="database is locked"):
                conn.begin()  # the engine begins with BEGIN IMMEDIATE, run on the driver
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_every_sqlite_connection_gets_the_engines_settings(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's pragmas")
    with engine.connect() as conn:
        got = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in (
                "journal_mode",
                "foreign_keys",
                "synchronous",
                "busy_timeout",
                "wal_autocheckpoint",
                "journal_size_limit",
            )
        }
    # synchronous 1 is NORMAL: in WAL mode, durable across a crash of the program.
    assert got == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": 30000,
        "wal_autocheckpoint": 4000,
        "journal_size_limit": 64 * 1024 * 1024,
    }


def test_instants_alternating_between_statements_each_store_their_own_value(
    engine: Engine, tenancy_id: int
) -> None:
    insert_deadline = Prepared(insert(DEADLINES))
    later = datetime(2025, 3, 1, 16, 0, tzinfo=UTC)
    stamps = [AT, later, AT, datetime(2025, 3, 1, 16, 0, tzinfo=UTC), later]
    with engine.begin() as conn:
        for i, stamp in enumerate(stamps):
            insert_deadline.execute(
                conn,
                {
                    "kind": "review_reminder",
                    "tenancy_id": tenancy_id,
                    "due_on": date(2025, 3, 1),
                    "due_at": stamp,
                    "created_at": AT,
                    "dedupe_key": f"k{i}",
                    "payload": {},
                },
            )
        got = conn.execute(
            select(DEADLINES.c.dedupe_key, DEADLINES.c.due_at).order_by(DEADLINES.c.id)
        ).all()
    assert [at for _, at in got] == stamps
    with engine.begin() as conn, pytest.raises(Exception, match="naive datetime"):
        insert_deadline.execute(
            conn,
            {
                "kind": "review_reminder",
                "tenancy_id": tenancy_id,
                "due_on": date(2025, 3, 1),
                "due_at": AT.replace(tzinfo=None),
                "created_at": AT,
                "dedupe_key": "naive",
                "payload": {},
            },
        )


def test_an_update_writes_the_given_values_and_changes_made_on_the_object_before_it(
    service: Service, clock: FixedClock, tenancy_id: int
) -> None:
    with UnitOfWork(service.engine) as uow:
        w = Work(uow, clock, lambda: service.calendar(uow))
        review_id = w.insert(
            Review, tenancy_id=tenancy_id, period=2024, opened_at=AT, due_on=date(2025, 3, 31)
        )
        uow.commit()
    with UnitOfWork(service.engine) as uow:
        w = Work(uow, clock, lambda: service.calendar(uow))
        review = w.get(Review, review_id)
        w.update(review, status="submitted", figures={"revenue": 12.5})  # written at once
        assert not uow.session.dirty and review.status == "submitted"
        review.due_on = date(2025, 4, 30)  # a change on the object itself ...
        w.update(review, status="decided")  # ... goes out with the next update
        assert not uow.session.dirty
        uow.commit()
    with Session(service.engine) as s:
        stored = s.get(Review, review_id)
        assert stored is not None
        assert (stored.status, stored.figures, stored.due_on) == (
            "decided",
            {"revenue": 12.5},
            date(2025, 4, 30),
        )


def test_a_statement_interrupted_midway_leaves_no_connection_to_reuse(
    engine: Engine, tenancy_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_id = Prepared(select(FIRMS.c.name).where(FIRMS.c.id == bindparam("firm_id")))

    def interrupted(*args: Any) -> None:
        raise KeyboardInterrupt

    with engine.connect() as conn:
        conn.begin()
        monkeypatch.setattr(conn.dialect, "do_execute", interrupted)
        with pytest.raises(KeyboardInterrupt):
            by_id.first(conn, {"firm_id": 1})
        monkeypatch.undo()
        assert conn.invalidated  # its next use reconnects instead of reusing the driver's
