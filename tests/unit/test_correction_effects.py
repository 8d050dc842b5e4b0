"""Corrections decided as data, with no database: what ``workflows.correction_rules`` returns
for a firm's or a unit's row, and adds to a tenancy's :class:`~db.effects.Effects` when its
agreement is amended (the term and its deadlines, the units let and released, the area)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from test_review_effects import CAL, NOW, RB, TID, TODAY, keys, tenancy

from db.effects import Effects
from db.registry import FirmRow, HeldUnit, UnitRow
from lifecycle.errors import Conflict, GuardFailed, InvalidInput
from lifecycle.table import EXITED
from workflows import correction_rules as cr


def firm(**changes: Any) -> FirmRow:
    row = FirmRow(
        id=3,
        uscc="91510100MA6C000001",
        name="峰际生物",
        industry="pharma",
        founded_on=date(2020, 5, 1),
        contact_name="张敏",
        contact_email="zhang@example.cn",
        contact_phone=None,
        account_manager="李经理",
        locale="zh-CN",
    )
    for key, value in changes.items():
        setattr(row, key, value)
    return row


def unit(
    code: str = "A-101", status: str = "let", unit_id: int = 21, area: float = 120.0
) -> UnitRow:
    return UnitRow(id=unit_id, space_id=2, code=code, kind="office", area_m2=area, status=status)


def held(*units: UnitRow) -> list[HeldUnit]:
    return [HeldUnit(allocation_id=40 + i, area_m2=u.area_m2, unit=u) for i, u in enumerate(units)]


def agreement(**kw: Any) -> cr.Agreement:
    fields: dict[str, Any] = {
        "rulebook": RB,
        "industry": "pharma",
        "deposit_yuan": 30000,
        "held": held(unit()),
    }
    fields.update(kw)
    return cr.Agreement(**fields)


def amend(e: Effects, ask: cr.Amendment, agreed: cr.Agreement | None = None) -> Any:
    return cr.amend_agreement(e, ask, agreed or agreement(), CAL, actor="王", reason="笔误")


def test_a_firm_correction_updates_its_row_with_what_changed() -> None:
    rows, changes = cr.edit_firm(
        firm(), {"name": "峰际生物科技", "locale": "zh-CN", "founded_on": date(2020, 6, 1)}, TODAY
    )
    assert changes == {
        "name": ["峰际生物", "峰际生物科技"],
        "founded_on": ["2020-05-01", "2020-06-01"],
    }
    assert rows.updates == [("firms", 3, {"name": "峰际生物科技", "founded_on": date(2020, 6, 1)})]
    assert rows.inserts == []


@pytest.mark.parametrize(
    "given",
    [{}, {"name": "峰际生物"}, {"uscc": "x"}, {"founded_on": date(2099, 1, 1)}, {"locale": "fr"}],
)
def test_a_firm_correction_that_changes_nothing_or_is_invalid_is_refused(
    given: dict[str, Any],
) -> None:
    with pytest.raises(InvalidInput):
        cr.edit_firm(firm(), given, TODAY)


def test_a_free_units_area_and_kind_are_corrected_a_let_units_area_is_not() -> None:
    rows, changes = cr.edit_unit(unit(status="available"), None, kind="lab", area_m2=80)
    assert changes == {"kind": ["office", "lab"], "area_m2": [120.0, 80.0]}
    assert rows.updates == [("units", 21, {"kind": "lab", "area_m2": 80.0})]
    with pytest.raises(GuardFailed):
        cr.edit_unit(unit(), TID, kind=None, area_m2=80)
    with pytest.raises(Conflict):
        cr.edit_unit(unit(status="retired"), None, kind="lab", area_m2=None)
    with pytest.raises(InvalidInput):
        cr.edit_unit(unit(), TID, kind="office", area_m2=120.0)


def test_only_a_unit_no_one_holds_is_retired() -> None:
    assert cr.retire_unit(unit(status="available"), None).updates == [
        ("units", 21, {"status": "retired"})
    ]
    with pytest.raises(GuardFailed):
        cr.retire_unit(unit(status="available"), TID)
    with pytest.raises(Conflict):
        cr.retire_unit(unit(status="retired"), None)


def test_a_correction_is_recorded_on_the_open_tenancies_or_on_all_when_all_are_closed() -> None:
    active, closed = tenancy(), tenancy(EXITED, id=8)
    assert cr.recorded_on([active, closed]) == [active]
    assert cr.recorded_on([closed]) == [closed]
    assert cr.recorded_on([]) == []


def test_moving_the_term_records_it_and_moves_the_terms_deadlines() -> None:
    e = Effects(tenancy(), now=NOW, today=TODAY)
    step = amend(e, cr.Amendment(term_end=date(2026, 12, 31), deposit_yuan=40000))
    assert step.trigger == "amend_agreement" and step.to_state == step.from_state
    assert step.data == {
        "changes": {
            "term": ["2024-04-01..2027-03-31", "2024-04-01..2026-12-31"],
            "deposit_yuan": [30000, 40000],
        },
        "deposit_yuan": 40000,
    }
    assert e.changed == {"term_start": date(2024, 4, 1), "term_end": date(2026, 12, 31)}
    assert e.cancels == [cr.TERM_DEADLINES]
    assert keys(e.deadlines) == [
        f"term_expiry_warning:{TID}:2026-12-31:90",
        f"term_expiry_warning:{TID}:2026-12-31:60",
        f"term_expiry_warning:{TID}:2026-12-31:30",
        f"term_end:{TID}:2026-12-31",
    ]
    assert e.inserts == [] and e.updates == []
    assert [ev["trigger"] for ev in e.events] == ["amend_agreement"]


def test_moving_units_releases_the_old_and_lets_the_new_at_their_area() -> None:
    e = Effects(tenancy(), now=NOW, today=TODAY)
    new = unit("B-201", status="available", unit_id=22, area=90.0)
    step = amend(e, cr.Amendment(units=("B-201",)), agreement(asked={"B-201": new}))
    assert step.data["changes"] == {"units": [["A-101"], ["B-201"]]}
    assert e.updates == [
        ("allocations", 40, {"end_on": TODAY}),
        ("units", 21, {"status": "available"}),
        ("units", 22, {"status": "let"}),
    ]
    [(ref, values)] = e.inserts
    assert ref.table == "allocations"
    assert values == {"tenancy_id": TID, "unit_id": 22, "start_on": TODAY, "area_m2": 90.0}
    assert e.cancels == [] and e.deadlines == []


def test_a_units_area_is_amended_on_its_allocation_within_the_tracks_cap() -> None:
    e = Effects(tenancy(), now=NOW, today=TODAY)
    step = amend(e, cr.Amendment(area_m2=150))
    assert step.data["changes"] == {"area_m2": [120.0, 150.0]}
    assert e.updates == [("allocations", 40, {"area_m2": 150.0})]
    with pytest.raises(InvalidInput):  # above the incubation track's cap
        amend(Effects(tenancy(), now=NOW, today=TODAY), cr.Amendment(area_m2=5000))


@pytest.mark.parametrize(
    ("ask", "agreed", "error"),
    [
        (cr.Amendment(), None, InvalidInput),  # nothing to amend
        (cr.Amendment(units=("A-101", "A-101")), None, InvalidInput),
        (cr.Amendment(units=("Z-9",)), agreement(asked={"Z-9": None}), InvalidInput),
        (cr.Amendment(units=("B-201",)), agreement(asked={"B-201": unit("B-201")}), GuardFailed),
        (
            cr.Amendment(area_m2=100),
            agreement(held=held(unit(), unit("B-201", unit_id=22))),
            InvalidInput,
        ),
    ],
)
def test_an_amendment_that_cannot_be_made_is_refused(
    ask: cr.Amendment, agreed: cr.Agreement | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        amend(Effects(tenancy(), now=NOW, today=TODAY), ask, agreed)
