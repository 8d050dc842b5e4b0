"""A reminder handled late is not sent as if it were current.

After a downtime (or a ``tick --until`` on a training database) one sweep takes every deadline
due meanwhile, oldest first. A reminder or warning among them whose moment has passed — what
it warns of already happened, or a later reminder of the same matter is due as well — is moot,
its reason recorded in its payload, and nothing is queued for it; the event that did happen
still gets its own notice. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import local
from integration.test_sweeps import chains_verify, day_after, deadlines, outbox, state
from integration.test_sweeps_seed import CAL, admit, create_space, firms, resident
from sqlalchemy import Engine

from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.service import Service
from workflows.sweeps import sweep_deadlines

USCC = firms(3, seed=33)
START = local(2024, 6, 3, 9)
TERM_END = date(2025, 6, 30)


@pytest.fixture
def space(service: Service) -> tuple[int, str]:
    return create_space(service)


def sent(engine: Engine, tenancy_id: int, since: int = 0) -> list[tuple[str, str]]:
    """What the tenancy was told since ``since``, but of its quarterly light reports (those
    are tests/integration/test_quarterly's)."""
    told = outbox(engine, tenancy_id)[since:]
    return [(m.message, m.audience) for m in told if not m.message.startswith("quarterly_")]


def test_term_warnings_past_the_term_end_are_moot_and_only_the_exit_is_told(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    clock.set(START)
    tid = resident(
        service,
        clock,
        "MC3",
        name="蓉医生物",
        uscc=USCC[0],
        unit="A-101",
        term_start=date(2024, 7, 1),
        term_end=TERM_END,
    )
    before = len(outbox(engine, tid))
    clock.set(day_after(TERM_END) + timedelta(days=10))  # no sweep since the signing
    report = sweep_deadlines(service)

    # The quarter the firm last occupied (Q2 2025) opens for its light report as well.
    assert report.by_kind == {"term_end": 1, "quarterly_report_open": 1}
    assert state(engine, tid) == "vacating"
    assert ("term_expiry_warning", "firm") not in sent(engine, tid, before)
    assert ("exit_confirmed", "firm") in sent(engine, tid, before)
    warnings = deadlines(engine, tid, "term_expiry_warning")
    assert [d.status for d in warnings] == ["moot"] * 3
    reasons = [str(d.payload["moot_reason"]) for d in warnings]
    assert "同一事项更晚的提醒" in reasons[0] and "同一事项更晚的提醒" in reasons[1]
    assert reasons[2] == (
        "提醒已过时：入驻期限已于2025-06-30届满 / stale: the term ended on 2025-06-30"
    )
    assert chains_verify(engine)
    assert sweep_deadlines(service).rows == 0  # nothing left, nothing told twice


def test_of_overlapping_term_warnings_only_the_latest_is_sent(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    clock.set(START)
    tid = resident(
        service,
        clock,
        "MC3",
        name="蓉医生物",
        uscc=USCC[0],
        unit="A-101",
        term_start=date(2024, 7, 1),
        term_end=TERM_END,
    )
    warned = TERM_END - timedelta(days=30)
    clock.set(local(warned.year, warned.month, warned.day, 9))  # the 90, 60 and 30-day ones
    report = sweep_deadlines(service)

    assert {k: n for k, n in report.by_kind.items() if "quarterly" not in k} == {
        "term_expiry_warning": 1
    }
    told = [m.context["days_left"] for m in outbox(engine, tid) if m.message.startswith("term")]
    assert told == [30]
    assert [d.status for d in deadlines(engine, tid, "term_expiry_warning")] == [
        "moot",
        "moot",
        "done",
    ]


def test_review_reminders_and_the_rectification_chase_past_their_moment_are_moot(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    clock.set(START)
    silent = resident(
        service,
        clock,
        "MC3",
        name="蓉医生物",
        uscc=USCC[1],
        unit="A-102",
        term_start=date(2024, 7, 1),
        term_end=date(2027, 6, 30),
    )
    clock.set(local(2025, 1, 2, 9))
    service.handle(c.OpenReview(tenancy_id=silent, period=2024, actor="system"))
    before = len(outbox(engine, silent))
    due = date(2025, 1, 15)
    clock.set(day_after(CAL.add_working_days(due, 5)))  # the last (+5) reminder is due too
    sweep_deadlines(service)

    # before due: "还有 5 个工作日" after the due day is stale; +1 is superseded by +5, which
    # grades the review (missing data -> D) as on time
    assert [
        (m.message, m.audience, m.context.get("offset"))
        for m in outbox(engine, silent)[before:]
        if m.message.startswith("review")
    ] == [
        ("review_overdue", "firm", None),
        ("review_reminder", "firm", 5),
        ("review_overdue", "manager", 5),
        ("review_result", "firm", None),
    ]
    reminders = {
        d.payload["offset"]: (d.status, "moot_reason" in d.payload)
        for d in deadlines(engine, silent)
        if d.kind.startswith("review_") and d.kind.endswith("reminder")
    }
    assert reminders == {
        -5: ("moot", True),
        -1: ("moot", True),
        1: ("moot", True),
        5: ("done", False),
    }
    assert state(engine, silent) == "rectifying"

    # the manager's chase of the missing plan, handled after the whole period ended, is moot:
    # the operators' re-inspection task is what is current
    before = len(outbox(engine, silent))
    rect_end = deadlines(engine, silent, "rectification_end")[0].due_on
    clock.set(day_after(rect_end))
    sweep_deadlines(service)
    assert sent(engine, silent, before) == [("reinspection_result", "operators")]
    chase = deadlines(engine, silent, "rectification_plan_due")[0]
    assert chase.status == "moot"
    assert str(chase.payload["moot_reason"]).startswith(f"提醒已过时：整改期限{rect_end}已届满")
    assert chains_verify(engine)  # a stale reminder's moot is no audit mismatch


def test_an_agreement_warning_after_the_lapse_is_moot_and_the_lapse_is_told(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    clock.set(START)
    tid = admit(service, clock, "MC3", name="甲公司", uscc=USCC[2], unit="A-103", wait=False)
    clock.advance(timedelta(days=14))
    sweep_deadlines(service)  # the 公示 ends: admitted, the lapse and its warning planned
    assert state(engine, tid) == "admitted"
    lapse = deadlines(engine, tid, "agreement_lapse")[0]
    clock.set(day_after(lapse.due_on))  # the warning's day and the lapse both past
    sweep_deadlines(service)

    assert state(engine, tid) == "withdrawn"
    messages = [m for m, _ in sent(engine, tid)]
    assert "application_lapsed" in messages and "agreement_lapse_warning" not in messages
    warning = deadlines(engine, tid, "agreement_lapse_warning")[0]
    assert warning.status == "moot" and "入驻协议签订期限" in str(warning.payload["moot_reason"])
