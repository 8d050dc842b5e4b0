"""The correction commands through their registered handlers, on the in-memory unit of work
(``tests/fakes.py``): a firm's particulars corrected on its open tenancy's timeline, an
agreement amended (its term and deadlines, its units), a unit retired — with no database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fakes import FakeDatabase, FakeService
from test_review_handlers import chained, deadlines, resident

from lifecycle.clock import FixedClock
from lifecycle.errors import GuardFailed, InvalidInput, NotFound, StaleTenancy
from lifecycle.table import ACTIVE, EXITED
from workflows.corrections import AmendAgreement, EditFirm, EditUnit, RetireUnit

NOW = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, Thursday 2 January 2025
TODAY = date(2025, 1, 2)


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def test_a_firm_is_corrected_and_its_open_tenancy_records_what_changed(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    firm_id = db.row("tenancies", t)["firm_id"]
    closed = db.add(
        "tenancies",
        firm_id=firm_id,
        space_id=db.row("tenancies", t)["space_id"],
        state=EXITED,
        audit_head="-",
        created_at=NOW,
        updated_at=NOW,
    )
    with pytest.raises(InvalidInput):  # a correction needs a reason
        service.handle(EditFirm(firm="91510100MA6C000001", changes={"name": "峰际"}))
    done = service.handle(
        EditFirm(
            firm="91510100ma6c000001",
            changes={"name": "峰际生物科技", "contact_phone": "028-1234"},
            reason="营业执照更名",
        )
    )
    assert done == {
        "firm": firm_id,
        "changes": {"name": ["峰际生物", "峰际生物科技"], "contact_phone": [None, "028-1234"]},
        "recorded_on": [t],
    }
    row = db.row("firms", firm_id)
    assert (row["name"], row["contact_phone"]) == ("峰际生物科技", "028-1234")
    assert chained(db, t) == ["correct_firm"]
    [event] = db.events(t)
    assert (event["actor"], event["reason"]) == ("operator", "营业执照更名")
    assert event["data"]["changes"]["name"] == ["峰际生物", "峰际生物科技"]
    assert db.events(closed) == []
    assert db.row("tenancies", t)["version"] == 2
    with pytest.raises(NotFound):
        service.handle(EditFirm(firm="999", changes={"name": "x"}, reason="r"))


def test_an_amended_term_moves_its_deadlines_and_new_units_are_let(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db, term_start=date(2024, 4, 1), term_end=date(2027, 3, 31))
    space_id = db.row("tenancies", t)["space_id"]
    old_unit = db.rows("allocations", tenancy_id=t)[0]["unit_id"]
    db.add(
        "deadlines",
        kind="term_end",
        tenancy_id=t,
        due_on=date(2027, 3, 31),
        due_at=NOW,
        dedupe_key=f"term_end:{t}:2027-03-31",
        created_at=NOW,
    )
    new_unit = db.add("units", space_id=space_id, code="B-201", kind="lab", area_m2=90.0)
    step = service.handle(
        AmendAgreement(
            tenancy_id=t,
            expected_version=1,
            term_end=date(2026, 12, 31),
            units=("B-201",),
            reason="补充协议",
        )
    )
    assert (step.to_state, step.version) == (ACTIVE, 2)
    assert step.data["changes"] == {
        "term": ["2024-04-01..2027-03-31", "2024-04-01..2026-12-31"],
        "units": [[f"A-{100 + t}"], ["B-201"]],
    }
    assert chained(db, t) == ["amend_agreement"]
    assert db.row("tenancies", t)["term_end"] == date(2026, 12, 31)
    assert [(k, due, status) for k, due, status, _ in deadlines(db, t)] == [
        ("term_end", date(2027, 3, 31), "cancelled"),
        ("term_expiry_warning", date(2026, 10, 2), "pending"),
        ("term_expiry_warning", date(2026, 11, 1), "pending"),
        ("term_expiry_warning", date(2026, 12, 1), "pending"),
        ("term_end", date(2026, 12, 31), "pending"),
    ]
    assert db.row("units", old_unit)["status"] == "available"
    assert db.row("units", new_unit)["status"] == "let"
    ended, let = db.rows("allocations", tenancy_id=t)
    assert (ended["unit_id"], ended["end_on"]) == (old_unit, TODAY)
    assert (let["unit_id"], let["area_m2"], let["start_on"], let["end_on"]) == (
        new_unit,
        90.0,
        TODAY,
        None,
    )
    with pytest.raises(StaleTenancy):  # the version it was amended at has moved on
        service.handle(AmendAgreement(tenancy_id=t, expected_version=1, area_m2=80, reason="r"))


def test_a_let_unit_is_not_retired_and_a_failed_amendment_writes_nothing(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db, term_start=date(2024, 4, 1), term_end=date(2027, 3, 31))
    with pytest.raises(GuardFailed):
        service.handle(RetireUnit(space="MC3", code=f"A-{100 + t}", reason="拆除"))
    with pytest.raises(GuardFailed):  # its area is corrected through its agreement
        service.handle(EditUnit(space="MC3", code=f"A-{100 + t}", area_m2=80, reason="测量"))
    with pytest.raises(InvalidInput):
        service.handle(AmendAgreement(tenancy_id=t, units=("Z-9",), reason="r"))
    assert db.events(t) == [] and db.commits == 0
    space_id = db.row("tenancies", t)["space_id"]
    free = db.add("units", space_id=space_id, code="C-1", kind="desk", area_m2=6.0)
    assert service.handle(RetireUnit(space="MC3", code="C-1", reason="拆除"))["to"] == "retired"
    assert db.row("units", free)["status"] == "retired"
