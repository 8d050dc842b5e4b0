"""Rectification, violations, waivers and benefits decided as data, with no database: what
``workflows.residency_rules``, ``workflows.windows`` and ``workflows.benefits`` add to an
:class:`~db.effects.Effects` under the shipped default rulebook and the official calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from test_review_effects import CAL, NOW, RB, TID, TODAY, keys, plain, tenancy

from db.cases import EventRow, RectificationRow
from db.effects import Effects
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import GuardFailed, InvalidInput
from lifecycle.table import ACTIVE, EXIT_NOTICE, RECTIFYING
from workflows import benefits, residency_rules, windows
from workflows.reviews import RESIDENCY_DEADLINES

RECT = 21
PLAN_DUE = date(2025, 1, 16)
RECT_DUE = date(2025, 4, 2)


def effects(state: str = RECTIFYING) -> Effects:
    return Effects(tenancy(state), now=NOW, today=TODAY)


def rectification(**changes: Any) -> RectificationRow:
    row = RectificationRow(
        id=RECT,
        tenancy_id=TID,
        review_id=41,
        defects="研发投入不足",
        plan_due_on=PLAN_DUE,
        plan=None,
        due_on=RECT_DUE,
        extended=False,
        status="open",
        created_at=datetime(2025, 1, 2, 1, 0, tzinfo=UTC),
    )
    for key, value in changes.items():
        setattr(row, key, value)
    return row


def waived(window: str, subject: int = RECT, seq: int = 4) -> EventRow:
    data = {"window": window, "subject": subject, "waived_on": "2025-01-02", "document": "函 9"}
    return EventRow(seq=seq, trigger=windows.WAIVE, from_state=RECTIFYING, data=data)


def no_calendar() -> WorkCalendar:
    raise AssertionError("the calendar was read where no day is counted")


# ---- rectification -----------------------------------------------------------------------------
def test_filing_a_plan_records_it_and_ends_its_deadline() -> None:
    e = effects()
    step = residency_rules.file_plan(
        e, rectification(), plan="招聘研发人员", actor="企业", reason=None
    )
    assert (step.trigger, step.to_state, step.version) == ("file_plan", RECTIFYING, 6)
    assert e.updates == [("rectifications", RECT, {"plan": "招聘研发人员"})]
    assert e.cancels == [("rectification_plan_due",)]
    assert plain(e.events[0]["data"]) == {"rectification": RECT, "late": False}

    late = effects()
    residency_rules.file_plan(
        late, rectification(plan_due_on=date(2025, 1, 1)), plan="x", actor="企业", reason=None
    )
    assert plain(late.events[0]["data"])["late"] is True
    with pytest.raises(InvalidInput):
        residency_rules.check_plan("   ")


def test_the_rectification_period_is_extended_once_within_the_rulebooks_limit() -> None:
    e = effects()
    step = residency_rules.extend_rectification(
        e, rectification(), RB, CAL, days=30, actor="王", reason="疫情影响"
    )
    new_due = date(2025, 5, 6)  # 2 May falls in the May Day holiday
    assert step.trigger == "extend_rectification"
    assert e.updates == [("rectifications", RECT, {"extended": True, "due_on": new_due})]
    assert e.cancels == [("rectification_end",)]
    assert keys(e.deadlines) == [f"rectification_end:{TID}:{RECT}:ext"]
    assert e.deadlines[0]["subject_id"] == RECT
    # The notice was always queued before the step: it is keyed by the chain as it was.
    assert keys(e.notices) == [f"rectification_extended:firm:{TID}:4"]
    assert plain(e.notices[0]["context"])["due_on"] == "2025-05-06"
    assert plain(e.events[0]["data"]) == {"rectification": RECT, "days": 30, "due_on": "2025-05-06"}

    for days in (0, 31):
        refused = effects()
        with pytest.raises(InvalidInput):
            residency_rules.extend_rectification(
                refused, rectification(), RB, CAL, days=days, actor="王", reason=None
            )
        assert not refused.events
    again = effects()
    with pytest.raises(GuardFailed):
        residency_rules.extend_rectification(
            again, rectification(extended=True), RB, CAL, days=5, actor="王", reason=None
        )
    assert not again.events and not again.updates


def test_passing_the_reinspection_returns_the_firm_to_residency() -> None:
    e = effects()
    step = residency_rules.reinspect(
        e, rectification(), RB, no_calendar, passed=True, waivers=[], actor="王", reason="已整改"
    )
    assert (step.trigger, step.to_state) == ("pass_reinspection", ACTIVE)
    assert e.updates == [("rectifications", RECT, {"status": "passed"})]
    assert e.cancels == [residency_rules.RECTIFICATION_DEADLINES]
    assert [n["message"] for n in e.notices] == ["reinspection_result"]
    assert not e.inserts


def test_failing_the_reinspection_waits_for_the_firms_windows_unless_waived() -> None:
    e = effects()
    with pytest.raises(GuardFailed) as err:
        residency_rules.reinspect(
            e, rectification(), RB, CAL, passed=False, waivers=[], actor="王", reason=None
        )
    assert "2025-01-16" in err.value.message and not e.events  # the plan deadline comes first
    assert residency_rules.windows_open(rectification(), TODAY)

    e = effects()
    step = residency_rules.reinspect(
        e,
        rectification(plan="方案"),
        RB,
        CAL,
        passed=False,
        waivers=[waived("rectification")],
        actor="王",
        reason="复查不合格",
    )
    assert (step.trigger, step.to_state) == ("fail_reinspection", EXIT_NOTICE)
    data = plain(e.events[0]["data"])
    assert [w["window"] for w in data["waivers"]] == ["rectification"]
    assert e.updates == [("rectifications", RECT, {"status": "failed"})]
    assert e.cancels == [residency_rules.RECTIFICATION_DEADLINES, RESIDENCY_DEADLINES]
    ((ref, case),) = e.inserts
    assert (ref.table, case["grounds"], case["facts"]) == (
        "exit_cases",
        "failed_rectification",
        "复查不合格",
    )
    assert [n["message"] for n in e.notices] == ["reinspection_result", "exit_notice"]


def test_failing_after_every_window_has_ended_needs_no_waiver() -> None:
    ended = rectification(plan_due_on=date(2024, 10, 1), due_on=date(2024, 12, 31))
    assert not residency_rules.windows_open(ended, TODAY)
    e = effects()
    residency_rules.reinspect(e, ended, RB, CAL, passed=False, waivers=[], actor="王", reason=None)
    assert "waivers" not in plain(e.events[0]["data"])
    assert e.inserts[0][1]["facts"] == "整改复查不合格"


# ---- violations --------------------------------------------------------------------------------
def test_a_violation_with_a_cure_period_gets_its_deadline_and_notice() -> None:
    decision = residency_rules.judge_violation(
        RB, CAL, TODAY, code="arrears", facts="欠缴三个月租金", evidence="台账"
    )
    assert (decision.trigger.handling, decision.cure_due_on) == ("demand", date(2025, 1, 17))
    row = decision.row(TID, NOW)
    assert (row["code"], row["status"], row["cure_due_on"]) == (
        "arrears",
        "open",
        date(2025, 1, 17),
    )
    e = effects(ACTIVE)
    result = residency_rules.report_violation(
        e, decision, RB, CAL, violation_id=77, actor="王", reason=None
    )
    assert (result["violation"], result["cure_due_on"], result["immediate"]) == (
        77,
        "2025-01-17",
        False,
    )
    assert result["trigger"] == "report_violation" and result["to"] == ACTIVE
    assert plain(e.events[0]["data"])["violation"] == 77
    assert keys(e.deadlines) == [f"cure_end:{TID}:77"]
    assert keys(e.notices) == [f"cure_notice:firm:{TID}:77"]
    assert plain(e.notices[0]["context"])["period"] == "15日"


def test_an_immediate_violation_has_no_cure_period_and_counts_no_day() -> None:
    decision = residency_rules.judge_violation(
        RB, no_calendar, TODAY, code="fraud", facts="虚报材料", evidence=None
    )
    e = effects(ACTIVE)
    result = residency_rules.report_violation(
        e, decision, RB, no_calendar, violation_id=78, actor="王", reason=None
    )
    assert result["immediate"] is True and result["cure_due_on"] is None
    assert not e.deadlines and not e.notices and len(e.events) == 1
    with pytest.raises(InvalidInput):
        residency_rules.judge_violation(RB, CAL, TODAY, code="fraud", facts=" ", evidence=None)


# ---- windows and waivers -----------------------------------------------------------------------
def test_a_window_is_waived_once_while_it_runs() -> None:
    e = effects()
    step = windows.waive(
        e,
        window="plan",
        subject=RECT,
        ends_on=PLAN_DUE,
        waived_on=TODAY,
        document="函 9",
        waivers=[],
        actor="企业",
        reason=None,
    )
    assert (step.trigger, step.to_state) == (windows.WAIVE, RECTIFYING)
    assert plain(e.events[0]["data"]) == {
        "window": "plan",
        "subject": RECT,
        "window_ends_on": "2025-01-16",
        "waived_on": "2025-01-02",
        "document": "函 9",
    }
    for ends_on, earlier in ((PLAN_DUE, [waived("plan")]), (date(2025, 1, 1), [])):
        refused = effects()
        with pytest.raises(GuardFailed):
            windows.waive(
                refused,
                window="plan",
                subject=RECT,
                ends_on=ends_on,
                waived_on=TODAY,
                document="函 9",
                waivers=earlier,
                actor="企业",
                reason=None,
            )
        assert not refused.events


def test_a_window_over_needs_no_waiver_and_one_open_needs_its_own() -> None:
    assert windows.check_ended(TID, "t", "plan", RECT, date(2025, 1, 1), TODAY, []) is None
    assert windows.check_ended(TID, "t", "plan", None, PLAN_DUE, TODAY, []) is None
    other = [waived("plan", subject=RECT + 1), waived("rectification")]
    with pytest.raises(GuardFailed):
        windows.check_ended(TID, "t", "plan", RECT, PLAN_DUE, TODAY, other)
    found = windows.check_ended(TID, "t", "plan", RECT, PLAN_DUE, TODAY, [waived("plan")])
    assert found == {
        "window": "plan",
        "waived_on": "2025-01-02",
        "document": "函 9",
        "event_seq": 4,
    }


# ---- benefits ----------------------------------------------------------------------------------
def test_a_benefit_is_recorded_as_the_rulebook_allows() -> None:
    e = effects(ACTIVE)
    step = benefits.decide(
        e,
        RB,
        kind="rent_free",
        amount_yuan="6000",
        granted_on=date(2024, 6, 1),
        commitment_months=24,
        actor="王",
        reason=None,
    )
    assert (step.trigger, step.to_state) == (benefits.TRIGGER, ACTIVE)
    data = plain(e.events[0]["data"])
    assert data == {
        "kind": "rent_free",
        "amount_yuan": "6000.00",
        "granted_on": "2024-06-01",
        "commitment_months": 24,
    }
    (read,) = benefits.benefits_of([EventRow(5, benefits.TRIGGER, ACTIVE, data)])
    assert (read.kind, str(read.amount_yuan), read.commitment_months) == (
        "rent_free",
        "6000.00",
        24,
    )

    for kw in (
        {"granted_on": date(2025, 1, 3)},  # in the future
        {"granted_on": date(2024, 3, 1)},  # before the term starts
        {"kind": "free_lunch"},
        {"amount_yuan": "lots"},
    ):
        refused = effects(ACTIVE)
        args: dict[str, Any] = {
            "kind": "rent_free",
            "amount_yuan": "6000",
            "granted_on": date(2024, 6, 1),
            **kw,
        }
        with pytest.raises(InvalidInput):
            benefits.decide(refused, RB, commitment_months=0, actor="王", reason=None, **args)
        assert not refused.events


@pytest.mark.parametrize(
    ("given", "kept"),
    [("1e3", "1000.00"), ("1E+3", "1000.00"), ("6000", "6000.00"), ("-0", "0.00"), (12.5, "12.50")],
)
def test_an_amount_is_kept_plainly_to_the_fen(given: object, kept: str) -> None:
    from workflows.inputs import check_amount

    assert str(check_amount("amount_yuan", given)) == kept
