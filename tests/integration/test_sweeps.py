"""The due-deadline sweep enforces every deadline kind the rulebook creates, each exactly once.

Firms go through the real handlers; a fixed clock is moved to the instants that matter (a
deadline on day D holds until 24:00 of D in Asia/Shanghai) and the sweep runs there. Each test
checks what the sweep changed: states, notices (message, audience, context) and the rows left.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import local
from integration.test_sweeps_seed import (
    CAL,
    admit,
    bulk_tenancies,
    bulk_vacate_due,
    counts,
    create_space,
    firms,
    resident,
    table,
)
from sqlalchemy import Engine, insert, update
from sqlmodel import Session, col, select

from db.tables import Deadline, ExitCase, OutboxMessage, Review, Tenancy, Violation
from entrypoints.demo_data import figures
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.service import Service
from workflows.sweeps import ACTIONS, Outcome, sweep_deadlines

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
USCC = firms(6)
START = local(2024, 6, 3, 9)  # a Monday; residents sign for terms from 2024-07-01


@pytest.fixture
def space(service: Service) -> tuple[int, str]:
    return create_space(service)


def outbox(engine: Engine, tenancy_id: int | None = None) -> list[OutboxMessage]:
    with Session(engine) as s:
        stmt = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if tenancy_id is not None:
            stmt = stmt.where(OutboxMessage.tenancy_id == tenancy_id)
        return list(s.exec(stmt).all())


def deadlines(engine: Engine, tenancy_id: int, kind: str | None = None) -> list[Deadline]:
    with Session(engine) as s:
        stmt = select(Deadline).where(Deadline.tenancy_id == tenancy_id)
        if kind:
            stmt = stmt.where(Deadline.kind == kind)
        return list(s.exec(stmt.order_by(col(Deadline.due_at), col(Deadline.id))).all())


def state(engine: Engine, tenancy_id: int) -> str:
    with Session(engine) as s:
        row = s.get(Tenancy, tenancy_id)
        assert row is not None
        return row.state


def chains_verify(engine: Engine) -> bool:
    from workflows.audit import verify

    with Session(engine) as s:
        return verify(s).ok


def new_notices(engine: Engine, seen: int) -> list[tuple[str, str, Any]]:
    return [(m.message, m.audience, m.context.get("offset")) for m in outbox(engine)[seen:]]


def day_after(day: date, hour: int = 9) -> Any:
    """09:00 local on the day after ``day``: the first morning a deadline on ``day`` is past."""
    nxt = day + timedelta(days=1)
    return local(nxt.year, nxt.month, nxt.day, hour)


def test_every_deadline_kind_the_workflows_create_has_an_action() -> None:
    created: set[str] = set()
    for path in WORKFLOWS.glob("*.py"):
        created |= set(re.findall(r"\.deadline\(\s*\w+,\s*\"(\w+)\"", path.read_text("utf-8")))
    assert created, "found no deadline kinds: the pattern no longer matches the code"
    assert created <= set(ACTIONS), f"kinds without an action: {sorted(created - set(ACTIONS))}"


def test_review_reminders_overdue_escalation_missing_data_grade_and_rectification_tasks(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]) -> None:
    clock.set(START)
    tid = resident(service, clock, "MC3", name="蓉医生物", uscc=USCC[0], unit="A-101",
                   term_start=date(2024, 7, 1), term_end=date(2027, 6, 30))
    clock.set(local(2025, 1, 2, 9))  # the first working day of 2025: the window opens
    service.handle(c.OpenReview(tenancy_id=tid, period=2024, actor="system"))
    due = date(2025, 1, 15)  # the 10th working day of January 2025
    assert [(d.kind, d.due_on) for d in deadlines(engine, tid) if d.kind.startswith("review")] == [
        ("review_reminder", CAL.subtract_working_days(due, 5)),
        ("review_reminder", CAL.subtract_working_days(due, 1)),
        ("review_submission_due", due)]

    seen = len(outbox(engine))
    sent: dict[date, list[tuple[str, str, Any]]] = {}
    day = date(2025, 1, 3)
    while day <= date(2025, 1, 24):
        clock.set(local(day.year, day.month, day.day, 9))
        sweep_deadlines(service)
        if notices := new_notices(engine, seen):
            sent[day] = notices
            seen += len(notices)
        day += timedelta(days=1)

    plus = [CAL.add_working_days(due, n) for n in (1, 5)]
    assert sent == {
        CAL.subtract_working_days(due, 5) + timedelta(days=1): [("review_reminder", "firm", -5)],
        due: [("review_reminder", "firm", -1)],
        due + timedelta(days=1): [("review_overdue", "firm", None)],
        plus[0] + timedelta(days=1): [("review_reminder", "firm", 1),
                                      ("review_overdue", "manager", 1)],
        plus[1] + timedelta(days=1): [("review_reminder", "firm", 5),
                                      ("review_overdue", "manager", 5),
                                      ("review_result", "firm", None),
                                      ("rectification_notice", "firm", None)],
    }
    with Session(engine) as s:
        review = s.exec(select(Review).where(Review.tenancy_id == tid)).one()
    assert (review.status, review.grade, review.consequence) == ("decided", "D", "rectification")
    assert state(engine, tid) == "rectifying"

    # Rectification: no plan by its due day -> the account manager is told; end -> re-inspect.
    plan_due = deadlines(engine, tid, "rectification_plan_due")[0].due_on
    rect_end = deadlines(engine, tid, "rectification_end")[0].due_on
    clock.set(day_after(plan_due))
    sweep_deadlines(service)
    clock.set(day_after(rect_end))
    sweep_deadlines(service)
    tasks = [(m.message, m.audience, m.context.get("task") or m.context.get("overdue"))
             for m in outbox(engine, tid)[-2:]]
    assert tasks == [("rectification_notice", "manager", "plan"),
                     ("reinspection_result", "operators", "reinspection_due")]
    assert state(engine, tid) == "rectifying"  # the operator re-inspects; the sweep does not
    assert chains_verify(engine)


def test_a_submission_silences_every_later_reminder(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]) -> None:
    clock.set(START)
    tid = resident(service, clock, "MC3", name="蓉医生物", uscc=USCC[0], unit="A-101",
                   term_start=date(2024, 7, 1), term_end=date(2027, 6, 30))
    clock.set(local(2025, 1, 2, 9))
    service.handle(c.OpenReview(tenancy_id=tid, period=2024))
    clock.set(local(2025, 1, 10, 9))
    sweep_deadlines(service)
    service.handle(c.SubmitReview(tenancy_id=tid, period=2024, actor="firm",
                                  figures=figures("steady", year=2024, rng=random.Random(1))))
    seen = len(outbox(engine))
    clock.set(local(2025, 2, 28, 9))
    report = sweep_deadlines(service)
    assert new_notices(engine, seen) == []
    assert report.handled == 0 and report.moot == 1  # the submission deadline, now moot
    assert {d.status for d in deadlines(engine, tid)
            if d.kind.startswith("review")} == {"done", "cancelled", "moot"}


def test_agreement_lapse_is_warned_then_withdraws_the_admission(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]) -> None:
    clock.set(START)
    tid = admit(service, clock, "MC3", name="蓉医生物", uscc=USCC[1], unit="A-102")
    assert state(engine, tid) == "admitted"
    lapse = deadlines(engine, tid, "agreement_lapse")[0]
    report = sweep_deadlines(service)  # plans the warning from the rulebook's period (3wd)
    assert report.planned == 1
    warning = deadlines(engine, tid, "agreement_lapse_warning")[0]
    assert warning.due_on == CAL.subtract_working_days(lapse.due_on, 3)
    assert warning.subject_id == lapse.id

    clock.set(day_after(warning.due_on))
    assert sweep_deadlines(service).by_kind == {"agreement_lapse_warning": 1}
    notice = outbox(engine, tid)[-1]
    assert (notice.message, notice.context["sign_by"]) == ("agreement_lapse_warning",
                                                           lapse.due_on.isoformat())
    assert notice.context["days_left"] == CAL.working_days_between(
        CAL.local_date(clock.now()), lapse.due_on)
    clock.set(day_after(lapse.due_on))
    assert sweep_deadlines(service).by_kind == {"agreement_lapse": 1}
    assert state(engine, tid) == "withdrawn"
    assert outbox(engine, tid)[-1].message == "application_lapsed"


def test_signing_in_time_makes_the_warning_moot(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]) -> None:
    clock.set(START)
    tid = admit(service, clock, "MC3", name="蓉医生物", uscc=USCC[1], unit="A-102")
    sweep_deadlines(service)
    service.handle(c.Sign(tenancy_id=tid, units=("A-102",), term_start=date(2024, 7, 1),
                          term_end=date(2027, 6, 30)))
    clock.set(local(2024, 8, 1, 9))
    report = sweep_deadlines(service)
    assert (report.handled, report.moot) == (0, 1)
    assert state(engine, tid) == "active"


def test_information_request_lapses(service: Service, clock: FixedClock, engine: Engine,
                                    space: tuple[int, str]) -> None:
    from entrypoints.demo_data import good_profile

    clock.set(START)
    service.handle(c.RegisterFirm(name="蓉医生物", uscc=USCC[2], industry="pharma"))
    tid = int(service.handle(c.Apply(firm=USCC[2], space="MC3", requested_area_m2=80,
                                     profile=good_profile(date(2024, 6, 3)))).tenancy_id)
    service.handle(c.RequestInfo(tenancy_id=tid, items="审计报告"))
    due = deadlines(engine, tid, "info_request_lapse")[0].due_on
    assert due == CAL.add_working_days(date(2024, 6, 3), 10)
    clock.set(local(due.year, due.month, due.day, 23, 59))
    assert sweep_deadlines(service).handled == 0  # holds until 24:00 of its last day
    clock.set(day_after(due, hour=0))
    assert sweep_deadlines(service).by_kind == {"info_request_lapse": 1}
    assert state(engine, tid) == "withdrawn"


def test_publicity_end_admits_or_hands_an_objection_to_the_operators(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]) -> None:
    clock.set(START)
    plain = admit(service, clock, "MC3", name="甲公司", uscc=USCC[3], unit="A-103")
    disputed = admit(service, clock, "MC3", name="乙公司", uscc=USCC[4], unit="A-104",
                     objection=True)
    assert state(engine, plain) == "admitted"
    assert state(engine, disputed) == "publicity"
    task = outbox(engine, disputed)[-1]
    assert (task.message, task.audience, task.context["objection_pending"]) == (
        "publicity_end", "operators", True)
    assert [d.status for d in deadlines(engine, disputed, "publicity_end")] == ["done"]


def test_term_warnings_term_end_and_overdue_vacating(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]) -> None:
    clock.set(START)
    tid = resident(service, clock, "MC3", name="蓉医生物", uscc=USCC[0], unit="A-101",
                   term_start=date(2024, 7, 1), term_end=date(2025, 6, 30))
    warnings = deadlines(engine, tid, "term_expiry_warning")
    assert [d.due_on for d in warnings] == [date(2025, 6, 30) - timedelta(days=n)
                                           for n in (90, 60, 30)]
    for d in warnings:
        clock.set(day_after(d.due_on))
        sweep_deadlines(service)
    sent = [(m.message, m.context["days_left"]) for m in outbox(engine, tid)[-3:]]
    assert sent == [("term_expiry_warning", 90), ("term_expiry_warning", 60),
                    ("term_expiry_warning", 30)]
    clock.set(day_after(date(2025, 6, 30)))
    assert sweep_deadlines(service).by_kind == {"term_end": 1}
    assert state(engine, tid) == "vacating"
    assert outbox(engine, tid)[-1].message == "exit_confirmed"
    vacate = deadlines(engine, tid, "vacate_due")[0]
    assert vacate.due_on == CAL.add_calendar_days(date(2025, 7, 1), 30)
    clock.set(day_after(vacate.due_on))
    assert sweep_deadlines(service).by_kind == {"vacate_due": 1}
    assert [(m.message, m.audience) for m in outbox(engine, tid)[-2:]] == [
        ("vacate_overdue", "firm"), ("vacate_overdue", "manager")]
    assert state(engine, tid) == "vacating"  # escalated, stays until handover
    assert chains_verify(engine)


@pytest.mark.parametrize("defence", [False, True])
def test_objection_window_end_confirms_the_exit_or_asks_for_a_ruling(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str],
        defence: bool) -> None:
    clock.set(START)
    tid = resident(service, clock, "MC3", name="蓉医生物", uscc=USCC[0], unit="A-101",
                   term_start=date(2024, 7, 1), term_end=date(2027, 6, 30))
    service.handle(c.ServeExitNotice(tenancy_id=tid, grounds="moved_out", facts="注册地已迁出",
                                     proof_of_service="EMS 1234"))
    if defence:
        service.handle(c.LodgeObjection(tenancy_id=tid, by="蓉医生物（盖章）", actor="firm",
                                        grounds="注册地迁出系工商系统错误", evidence="证明"))
    window = deadlines(engine, tid, "objection_window_end")[0].due_on
    clock.set(day_after(window))
    assert sweep_deadlines(service).by_kind == {"objection_window_end": 1}
    last = outbox(engine, tid)[-1]
    if defence:
        assert state(engine, tid) == "exit_notice"
        assert (last.message, last.audience, last.context["task"]) == (
            "exit_ruling", "operators", "ruling_due")
    else:
        assert state(engine, tid) == "vacating"
        assert (last.message, last.audience, last.context["upheld"]) == (
            "exit_ruling", "firm", False)
        assert deadlines(engine, tid, "vacate_due")[0].status == "pending"


@pytest.mark.parametrize(("code", "period"), [("credit_listing", 30), ("change_of_use", 15)])
def test_delisting_and_cure_windows_run_out_into_an_exit_notice(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str],
        code: str, period: int) -> None:
    clock.set(START)
    tid = resident(service, clock, "MC3", name="蓉医生物", uscc=USCC[0], unit="A-101",
                   term_start=date(2024, 7, 1), term_end=date(2027, 6, 30))
    reported = CAL.local_date(clock.now())
    service.handle(c.ReportViolation(tenancy_id=tid, code=code, facts="巡查发现"))
    cure = deadlines(engine, tid, "cure_end")[0]
    assert cure.due_on == CAL.add_calendar_days(reported, period)
    clock.set(day_after(cure.due_on))
    assert sweep_deadlines(service).by_kind == {"cure_end": 1}
    assert state(engine, tid) == "exit_notice"
    with Session(engine) as s:
        assert s.exec(select(Violation.status)).one() == "escalated"
        assert s.exec(select(ExitCase.grounds)).one() == code
    assert outbox(engine, tid)[-1].message == "exit_notice"


def test_a_failing_deadline_is_marked_failed_and_does_not_block_the_others(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]) -> None:
    space_id, version = space
    ids = bulk_tenancies(engine, space_id=space_id, rulebook_version=version, n=2,
                         state="vacating", term_start=date(2024, 1, 1), term_end=date(2025, 1, 1))
    bulk_vacate_due(engine, ids[1:], version, date(2024, 2, 1))
    with engine.begin() as conn:
        conn.execute(insert(table(Deadline)).values(
            kind="mystery", tenancy_id=ids[0], due_on=date(2024, 1, 31),
            due_at=CAL.due_instant(date(2024, 1, 31)), status="pending", dedupe_key="mystery:1",
            payload={"note": "kept"}, created_at=clock.now()))
    report = sweep_deadlines(service)
    assert (report.failed, report.handled) == (1, 1)
    bad = deadlines(engine, ids[0])[0]
    assert bad.status == "failed"
    assert bad.payload["note"] == "kept" and "no sweep action" in bad.payload["error"]
    assert sweep_deadlines(service).rows == 0  # failed rows are not retried silently


def test_an_unpublished_calendar_year_fails_the_deadline_with_the_reason_then_it_can_retry(
        service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]) -> None:
    clock.set(START)
    tid = resident(service, clock, "MC3", name="蓉医生物", uscc=USCC[0], unit="A-101",
                   term_start=date(2024, 7, 1), term_end=date(2026, 12, 31))
    clock.set(local(2027, 1, 4, 9))  # vacate by = +30 days, in 2027: schedule not published
    report = sweep_deadlines(service)
    assert report.failed == 1 and report.by_kind == {"term_expiry_warning": 3}
    failed = deadlines(engine, tid, "term_end")[0]
    assert failed.status == "failed" and "2027" in failed.payload["error"]
    assert state(engine, tid) == "active"  # nothing half-written

    service.handle(c.SetCalendarDay(day=date(2027, 1, 1), workday=False, note="元旦"))
    with engine.begin() as conn:  # what `innospace deadlines retry` does
        conn.execute(update(table(Deadline)).where(table(Deadline).c.id == failed.id)
                     .values(status="pending"))
    assert sweep_deadlines(service).by_kind == {"term_end": 1}
    assert state(engine, tid) == "vacating"


def test_stop_finishes_the_deadline_in_hand_and_leaves_the_rest_pending(
        service: Service, engine: Engine, space: tuple[int, str]) -> None:
    space_id, version = space
    ids = bulk_tenancies(engine, space_id=space_id, rulebook_version=version, n=12,
                         state="vacating", term_start=date(2023, 1, 1), term_end=date(2024, 1, 1))
    bulk_vacate_due(engine, ids, version, date(2024, 2, 1))
    done: list[Outcome] = []
    report = sweep_deadlines(service, observe=done.append, stop=lambda: len(done) >= 5)
    assert report.stopped and report.handled == 5
    assert counts(engine)["deadlines.pending"] == 7
    assert counts(engine)["audit_events"] == 5 and counts(engine)["outbox"] == 10
    assert sweep_deadlines(service).handled == 7

