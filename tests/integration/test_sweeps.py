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


def new_notices(engine: Engine, seen: int, tenancy_id: int) -> list[tuple[str, str, Any]]:
    return [
        (m.message, m.audience, m.context.get("offset"))
        for m in outbox(engine)[seen:]
        if m.tenancy_id == tenancy_id
    ]


def day_after(day: date, hour: int = 9) -> Any:
    """09:00 local on the day after ``day``: the first morning a deadline on ``day`` is past."""
    nxt = day + timedelta(days=1)
    return local(nxt.year, nxt.month, nxt.day, hour)


def test_every_deadline_kind_the_workflows_create_has_an_action() -> None:
    created: set[str] = set()
    for path in WORKFLOWS.glob("*.py"):
        created |= set(re.findall(r"\.deadline\(\s*\"(\w+)\"", path.read_text("utf-8")))
    assert created, "found no deadline kinds: the pattern no longer matches the code"
    assert created <= set(ACTIONS), f"kinds without an action: {sorted(created - set(ACTIONS))}"


def test_review_reminders_overdue_escalation_missing_data_grade_and_rectification_tasks(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    clock.set(START)
    silent = resident(
        service,
        clock,
        "MC3",
        name="蓉医生物",
        uscc=USCC[0],
        unit="A-101",
        term_start=date(2024, 7, 1),
        term_end=date(2027, 6, 30),
    )
    diligent = resident(
        service,
        clock,
        "MC3",
        name="蓉创医疗",
        uscc=USCC[5],
        unit="A-105",
        term_start=date(2024, 7, 1),
        term_end=date(2027, 6, 30),
    )
    clock.set(local(2025, 1, 2, 9))  # the first working day of 2025: the window opens
    for tid in (silent, diligent):
        service.handle(c.OpenReview(tenancy_id=tid, period=2024, actor="system"))
    due = date(2025, 1, 15)  # the 10th working day of January 2025
    assert [
        (d.kind, d.due_on) for d in deadlines(engine, silent) if d.kind.startswith("review")
    ] == [
        ("review_reminder", CAL.subtract_working_days(due, 5)),
        ("review_reminder", CAL.subtract_working_days(due, 1)),
        ("review_submission_due", due),
    ]

    seen = len(outbox(engine))
    sent: dict[date, list[tuple[str, str, Any]]] = {}
    day = date(2025, 1, 3)
    while day <= date(2025, 1, 24):
        clock.set(local(day.year, day.month, day.day, 9))
        sweep_deadlines(service)
        if day == date(2025, 1, 10):  # after its -5 reminder, the diligent firm submits
            service.handle(
                c.SubmitReview(
                    tenancy_id=diligent,
                    period=2024,
                    actor="firm",
                    figures=figures("steady", year=2024, rng=random.Random(1)),
                )
            )
        # the quarter's light report (2024 Q4, due in January) is tests/integration/test_quarterly
        if notices := [n for n in new_notices(engine, seen, silent) if "quarterly" not in n[0]]:
            sent[day] = notices
        seen = len(outbox(engine))
        day += timedelta(days=1)

    plus = [CAL.add_working_days(due, n) for n in (1, 5)]
    # A reminder before the due date goes out on its day (5 and 1 working days before); one
    # after it, the morning after its day has passed (it grades the review at the last).
    assert sent == {
        CAL.subtract_working_days(due, 5): [("review_reminder", "firm", -5)],
        CAL.subtract_working_days(due, 1): [("review_reminder", "firm", -1)],
        due + timedelta(days=1): [("review_overdue", "firm", None)],
        plus[0] + timedelta(days=1): [
            ("review_reminder", "firm", 1),
            ("review_overdue", "manager", 1),
        ],
        plus[1] + timedelta(days=1): [
            ("review_reminder", "firm", 5),
            ("review_overdue", "manager", 5),
            ("review_result", "firm", None),
            ("rectification_notice", "firm", None),
        ],
    }
    # The diligent firm got the -5 reminder only; its submission (and its receipt) silenced
    # the rest.
    assert [
        (m.message, m.context.get("offset"))
        for m in outbox(engine, diligent)
        if m.message.startswith("review")
    ] == [("review_opened", None), ("review_reminder", -5), ("review_received", None)]
    assert {
        d.kind: d.status for d in deadlines(engine, diligent) if d.kind.startswith("review")
    } == {"review_reminder": "cancelled", "review_submission_due": "moot"}
    with Session(engine) as s:
        review = s.exec(select(Review).where(Review.tenancy_id == silent)).one()
    assert (review.status, review.grade, review.consequence) == ("decided", "D", "rectification")
    assert state(engine, silent) == "rectifying"
    assert state(engine, diligent) == "under_review"  # submitted, waiting for the operator

    # Rectification: no plan by its due day -> the account manager is told; end -> re-inspect.
    plan_due = deadlines(engine, silent, "rectification_plan_due")[0].due_on
    rect_end = deadlines(engine, silent, "rectification_end")[0].due_on
    clock.set(day_after(plan_due))
    sweep_deadlines(service)
    clock.set(day_after(rect_end))
    sweep_deadlines(service)
    tasks = [
        (m.message, m.audience, m.context.get("task") or m.context.get("overdue"))
        for m in outbox(engine, silent)
        if not m.message.startswith("quarterly_")
    ][-2:]
    assert tasks == [
        ("rectification_notice", "manager", "plan"),
        ("reinspection_result", "operators", "reinspection_due"),
    ]
    assert state(engine, silent) == "rectifying"  # the operator re-inspects; the sweep does not
    assert chains_verify(engine)


def test_application_deadlines_lapse_warn_and_end_the_publicity(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    from entrypoints.demo_data import good_profile

    clock.set(START)
    # information requested and never given: the application lapses after 24:00 of day 10
    service.handle(c.RegisterFirm(name="丙公司", uscc=USCC[2], industry="pharma"))
    asked = int(
        service.handle(
            c.Apply(
                firm=USCC[2],
                space="MC3",
                requested_area_m2=80,
                profile=good_profile(date(2024, 6, 3)),
            )
        ).tenancy_id
    )
    service.handle(c.RequestInfo(tenancy_id=asked, items="审计报告"))
    info_due = deadlines(engine, asked, "info_request_lapse")[0].due_on
    assert info_due == CAL.add_working_days(date(2024, 6, 3), 10)
    # admitted firms: one never signs, one signs; one 公示 with an objection awaiting a ruling
    lapsing = admit(service, clock, "MC3", name="甲公司", uscc=USCC[1], unit="A-102", wait=False)
    signing = admit(service, clock, "MC3", name="乙公司", uscc=USCC[3], unit="A-103", wait=False)
    disputed = admit(
        service, clock, "MC3", name="丁公司", uscc=USCC[4], unit="A-104", objection=True, wait=False
    )
    clock.advance(timedelta(days=14))
    first = sweep_deadlines(service)
    assert first.by_kind == {"publicity_end": 3}
    assert first.planned == 2  # the two admissions' lapse warnings (rulebook's 3wd), now
    assert [state(engine, t) for t in (asked, lapsing, signing, disputed)] == [
        "info_requested",
        "admitted",
        "admitted",
        "publicity",
    ]
    task = outbox(engine, disputed)[-1]
    assert (task.message, task.audience, task.context["objection_pending"]) == (
        "publicity_end",
        "operators",
        True,
    )
    assert [d.status for d in deadlines(engine, disputed, "publicity_end")] == ["done"]
    service.handle(
        c.Sign(
            tenancy_id=signing,
            units=("A-103",),
            term_start=date(2024, 8, 1),
            term_end=date(2027, 7, 31),
        )
    )
    assert sweep_deadlines(service).planned == 0  # the catch-up left nothing to plan

    clock.set(local(info_due.year, info_due.month, info_due.day, 23, 59))
    assert sweep_deadlines(service).rows == 0  # a deadline holds until 24:00 of its day
    clock.set(day_after(info_due, hour=0))
    assert sweep_deadlines(service).by_kind == {"info_request_lapse": 1}
    assert state(engine, asked) == "withdrawn"
    assert outbox(engine, asked)[-1].message == "application_lapsed"

    lapse = deadlines(engine, lapsing, "agreement_lapse")[0]
    warning = deadlines(engine, lapsing, "agreement_lapse_warning")[0]
    assert warning.due_on == CAL.subtract_working_days(lapse.due_on, 3)
    assert warning.subject_id == lapse.id
    clock.set(day_after(warning.due_on))
    assert sweep_deadlines(service).by_kind == {"agreement_lapse_warning": 1}
    notice = outbox(engine, lapsing)[-1]
    assert (notice.message, notice.context["sign_by"]) == (
        "agreement_lapse_warning",
        lapse.due_on.isoformat(),
    )
    assert notice.context["days_left"] == CAL.working_days_between(
        CAL.local_date(clock.now()), lapse.due_on
    )
    clock.set(day_after(lapse.due_on))
    assert sweep_deadlines(service).by_kind == {"agreement_lapse": 1}
    assert state(engine, lapsing) == "withdrawn" and state(engine, signing) == "active"
    assert outbox(engine, lapsing)[-1].message == "application_lapsed"
    # planned with the admission, moot once signed: the firm that signed is never warned
    assert [d.status for d in deadlines(engine, signing, "agreement_lapse_warning")] == ["moot"]
    assert "agreement_lapse_warning" not in [n.message for n in outbox(engine, signing)]


def test_term_warnings_term_end_and_overdue_vacating(
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
        term_end=date(2025, 6, 30),
    )
    warnings = deadlines(engine, tid, "term_expiry_warning")
    assert [d.due_on for d in warnings] == [
        date(2025, 6, 30) - timedelta(days=n) for n in (90, 60, 30)
    ]
    for d in warnings:  # each goes out on its day, counting the days left from that day
        clock.set(local(d.due_on.year, d.due_on.month, d.due_on.day, 9))
        sweep_deadlines(service)
    warned = [m for m in outbox(engine, tid) if m.message == "term_expiry_warning"]
    sent = [(m.message, m.context["days_left"]) for m in warned]
    assert sent == [
        ("term_expiry_warning", 90),
        ("term_expiry_warning", 60),
        ("term_expiry_warning", 30),
    ]
    clock.set(day_after(date(2025, 6, 30)))
    # the firm vacating still occupies its unit: it is asked for 2025 Q2, its term's last
    assert sweep_deadlines(service).by_kind == {"term_end": 1, "quarterly_report_open": 1}
    assert state(engine, tid) == "vacating"
    assert [m.message for m in outbox(engine, tid)[-2:]] == [
        "exit_confirmed",
        "quarterly_report_opened",
    ]
    vacate = deadlines(engine, tid, "vacate_due")[0]
    assert vacate.due_on == CAL.add_calendar_days(date(2025, 7, 1), 30)
    clock.set(day_after(vacate.due_on))
    # the operators are told 2025 Q2's report is missing (due 15 July) too
    assert sweep_deadlines(service).by_kind == {"quarterly_report_due": 1, "vacate_due": 1}
    assert [(m.message, m.audience) for m in outbox(engine, tid)[-2:]] == [
        ("vacate_overdue", "firm"),
        ("vacate_overdue", "manager"),
    ]
    assert state(engine, tid) == "vacating"  # escalated, stays until handover
    assert chains_verify(engine)


def test_exit_windows_confirm_the_exit_ask_for_a_ruling_or_serve_the_notice(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    clock.set(START)
    served, defended, delisting, cure = (
        resident(
            service,
            clock,
            "MC3",
            name=f"企业{i}",
            uscc=USCC[i],
            unit=f"B-{i}",
            term_start=date(2024, 7, 1),
            term_end=date(2027, 6, 30),
        )
        for i in range(4)
    )
    for tid in (served, defended):
        service.handle(
            c.ServeExitNotice(
                tenancy_id=tid,
                grounds="moved_out",
                facts="注册地已迁出",
                proof_of_service="EMS 1234",
            )
        )
    service.handle(
        c.LodgeObjection(
            tenancy_id=defended,
            by="企业1（盖章）",
            actor="firm",
            grounds="注册地迁出系登记错误",
            evidence="证明",
        )
    )
    reported = CAL.local_date(clock.now())
    service.handle(c.ReportViolation(tenancy_id=delisting, code="credit_listing", facts="失信"))
    service.handle(c.ReportViolation(tenancy_id=cure, code="change_of_use", facts="改作宿舍"))
    assert [deadlines(engine, t, "cure_end")[0].due_on for t in (delisting, cure)] == [
        CAL.add_calendar_days(reported, 30),
        CAL.add_calendar_days(reported, 15),
    ]

    window = deadlines(engine, served, "objection_window_end")[0].due_on
    clock.set(day_after(window))
    assert sweep_deadlines(service).by_kind == {"objection_window_end": 2}
    assert state(engine, served) == "vacating"
    last = outbox(engine, served)[-1]
    assert (last.message, last.audience, last.context["upheld"]) == ("exit_ruling", "firm", False)
    assert deadlines(engine, served, "vacate_due")[0].status == "pending"
    assert state(engine, defended) == "exit_notice"
    task = outbox(engine, defended)[-1]
    assert (task.message, task.audience, task.context["task"]) == (
        "exit_ruling",
        "operators",
        "ruling_due",
    )

    clock.set(day_after(CAL.add_calendar_days(reported, 30)))
    report = sweep_deadlines(service)  # moved_out vacates within 15 days: that one too
    assert report.by_kind == {"cure_end": 2, "vacate_due": 1}
    with Session(engine) as s:
        assert set(s.exec(select(Violation.status)).all()) == {"escalated"}
        grounds = dict(s.exec(select(ExitCase.tenancy_id, ExitCase.grounds)).all())
    assert [grounds[t] for t in (delisting, cure)] == ["credit_listing", "change_of_use"]
    for tid in (delisting, cure):
        assert state(engine, tid) == "exit_notice"
        assert outbox(engine, tid)[-1].message == "exit_notice"
    assert chains_verify(engine)


def test_a_failing_deadline_is_marked_failed_does_not_block_others_and_can_be_retried(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    space_id, version = space
    ids = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=2,
        state="vacating",
        term_start=date(2024, 1, 1),
        term_end=date(2025, 1, 1),
    )
    bulk_vacate_due(engine, ids[1:], version, date(2024, 2, 1))
    with engine.begin() as conn:
        conn.execute(
            insert(table(Deadline)).values(
                kind="mystery",
                tenancy_id=ids[0],
                due_on=date(2024, 1, 31),
                due_at=CAL.due_instant(date(2024, 1, 31)),
                status="pending",
                dedupe_key="mystery:1",
                payload={"note": "kept"},
                created_at=clock.now(),
            )
        )
    report = sweep_deadlines(service)
    assert (report.failed, report.handled) == (1, 1)
    bad = deadlines(engine, ids[0])[0]
    assert bad.status == "failed"
    assert bad.payload["note"] == "kept" and "no sweep action" in bad.payload["error"]
    assert sweep_deadlines(service).rows == 0  # failed rows are not retried silently

    # A real one: the term ends in 2026, the vacate date falls in 2027, whose holiday
    # schedule is not published yet -> failed with the reason, nothing half-written.
    clock.set(START)
    tid = resident(
        service,
        clock,
        "MC3",
        name="蓉医生物",
        uscc=USCC[0],
        unit="A-101",
        term_start=date(2024, 7, 1),
        term_end=date(2026, 12, 31),
    )
    clock.set(local(2027, 1, 4, 9))
    report = sweep_deadlines(service)
    assert report.failed == 1 and not report.by_kind  # the warnings came too late: moot
    assert [d.status for d in deadlines(engine, tid, "term_expiry_warning")] == ["moot"] * 3
    failed = deadlines(engine, tid, "term_end")[0]
    assert failed.status == "failed" and "2027" in failed.payload["error"]
    assert state(engine, tid) == "active"
    service.handle(c.SetCalendarDay(day=date(2027, 1, 1), workday=False, note="元旦"))
    service.handle(c.PublishCalendarYear(year=2027))
    with engine.begin() as conn:  # what `innospace deadlines retry` does
        conn.execute(
            update(table(Deadline))
            .where(table(Deadline).c.id == failed.id)
            .values(status="pending")
        )
    # planned now 2027 is published; the firm vacating is asked for 2026 Q4, in its term
    assert sweep_deadlines(service).by_kind == {"term_end": 1, "quarterly_report_open": 1}
    assert state(engine, tid) == "vacating"


def test_stop_finishes_the_deadline_in_hand_and_leaves_the_rest_pending(
    service: Service, engine: Engine, space: tuple[int, str]
) -> None:
    space_id, version = space
    ids = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=12,
        state="vacating",
        term_start=date(2023, 1, 1),
        term_end=date(2023, 9, 30),  # no day of 2023 Q4, the quarter the sweep plans
    )
    bulk_vacate_due(engine, ids, version, date(2024, 2, 1))
    done: list[Outcome] = []
    report = sweep_deadlines(service, observe=done.append, stop=lambda: len(done) >= 5)
    assert report.stopped and report.handled == 5
    assert counts(engine)["deadlines.pending"] == 7
    assert counts(engine)["audit_events"] == 5 and counts(engine)["outbox"] == 10
    assert sweep_deadlines(service).handled == 7


def firm_in_c1(service: Service, clock: FixedClock) -> int:
    """A firm resident in MC3's unit C-1 from July 2024 (the violation and cure tests)."""
    clock.set(START)
    return resident(
        service,
        clock,
        "MC3",
        name="蓉医生物",
        uscc=USCC[5],
        unit="C-1",
        term_start=date(2024, 7, 1),
        term_end=date(2027, 6, 30),
    )


def test_a_cured_violation_backs_no_exit_notice_and_the_sweep_leaves_it(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    """The firm paid its arrears within the demand's 15 days: recorded as cured, the demand's
    deadline is cancelled, no exit notice may be served on arrears and the sweep, past the
    demand's end, escalates nothing; a violation of the same grounds left uncured still
    backs a notice."""
    from lifecycle.errors import InvalidInput

    tid = firm_in_c1(service, clock)
    reported = CAL.local_date(clock.now())
    v = service.handle(c.ReportViolation(tenancy_id=tid, code="arrears", facts="欠缴二季度租金"))
    [demand] = deadlines(engine, tid, "cure_end")
    assert demand.due_on == CAL.add_calendar_days(reported, 15)

    clock.set(day_after(reported))
    cured = service.handle(
        c.CureViolation(
            tenancy_id=tid, violation=v["violation"], cured_on=reported, note="收据 0603"
        )
    )
    assert cured["status"] == "cured"
    with Session(engine) as s:
        row = s.get(Violation, v["violation"])
        assert row is not None
        assert (row.status, row.cured_on, row.cure_note) == ("cured", reported, "收据 0603")
    assert [d.status for d in deadlines(engine, tid, "cure_end")] == ["cancelled"]
    assert outbox(engine, tid)[-1].message == "violation_cured"

    clock.set(day_after(demand.due_on))
    assert sweep_deadlines(service).by_kind == {}
    assert state(engine, tid) == "active"
    notice = c.ServeExitNotice(
        tenancy_id=tid, grounds="arrears", facts="欠租", proof_of_service="EMS 1234"
    )
    with pytest.raises(InvalidInput) as refused:
        service.handle(notice)
    assert refused.value.field == "grounds"
    assert state(engine, tid) == "active"

    # A later demand left unpaid is grounds again, served by the sweep when it runs out.
    again = CAL.local_date(clock.now())
    service.handle(c.ReportViolation(tenancy_id=tid, code="arrears", facts="欠缴三季度租金"))
    clock.set(day_after(CAL.add_calendar_days(again, 15)))
    assert sweep_deadlines(service).by_kind == {"cure_end": 1}
    assert state(engine, tid) == "exit_notice"
    with Session(engine) as s:
        statuses = s.exec(select(Violation.status).order_by(col(Violation.id))).all()
    assert list(statuses) == ["cured", "escalated"]
    assert chains_verify(engine)


def test_a_violation_past_its_period_is_not_cured_and_the_exit_notice_served_escalates_it(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    """The demand's 15 days ran out unpaid and the sweep has not run yet: a cure dated after
    the last day is refused (the firm did not pay in time; no operator waives the exit by
    recording it). The exit notice served by hand then escalates the violation it rests on,
    a cure of it is refused beside the open exit case, and the sweep leaves it."""
    from lifecycle.errors import GuardFailed, InvalidInput

    tid = firm_in_c1(service, clock)
    v = service.handle(c.ReportViolation(tenancy_id=tid, code="arrears", facts="欠缴二季度租金"))
    [demand] = deadlines(engine, tid, "cure_end")
    late = demand.due_on + timedelta(days=1)  # paid a day after the last day
    clock.set(day_after(late))

    def cure(on: date) -> Any:
        return service.handle(
            c.CureViolation(tenancy_id=tid, violation=v["violation"], cured_on=on, note="收据")
        )

    with pytest.raises(InvalidInput) as refused:
        cure(late)
    assert refused.value.field == "cured_on"
    assert f"晚于改正期限的最后一日（{demand.due_on.isoformat()}）" in refused.value.rule
    with Session(engine) as s:
        row = s.get(Violation, v["violation"])
        assert row is not None and (row.status, row.cured_on) == ("open", None)
    assert [d.status for d in deadlines(engine, tid, "cure_end")] == ["pending"]

    notice = c.ServeExitNotice(
        tenancy_id=tid, grounds="arrears", facts="欠租", proof_of_service="EMS 1234"
    )
    service.handle(notice)
    assert state(engine, tid) == "exit_notice"
    with Session(engine) as s:
        row = s.get(Violation, v["violation"])
        assert row is not None and row.status == "escalated"
    with pytest.raises(GuardFailed) as guarded:
        cure(demand.due_on)
    assert "已据此送达退出告知书" in str(guarded.value)
    assert sweep_deadlines(service).by_kind == {}
    with Session(engine) as s:
        cases = s.exec(select(ExitCase).where(col(ExitCase.tenancy_id) == tid)).all()
    assert [(x.grounds, x.status) for x in cases] == [("arrears", "open")]
    assert chains_verify(engine)


def test_a_violation_of_immediate_grounds_is_not_cured_and_backs_its_exit_notice(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    """Subletting has no cure period: recording it cured is refused (the firm would be told
    it no longer backs an exit), and the notice served on it escalates it."""
    from lifecycle.errors import GuardFailed

    tid = firm_in_c1(service, clock)
    today = CAL.local_date(clock.now())
    v = service.handle(c.ReportViolation(tenancy_id=tid, code="sublet", facts="擅自转租 C-1"))
    assert v["cure_due_on"] is None
    with pytest.raises(GuardFailed) as refused:
        service.handle(c.CureViolation(tenancy_id=tid, violation=v["violation"], cured_on=today))
    assert "没有改正期限" in str(refused.value)
    service.handle(
        c.ServeExitNotice(
            tenancy_id=tid, grounds="sublet", facts="擅自转租", proof_of_service="EMS 1234"
        )
    )
    with Session(engine) as s:
        row = s.get(Violation, v["violation"])
        assert row is not None and (row.status, row.cured_on) == ("escalated", None)
    assert [m.message for m in outbox(engine, tid)].count("violation_cured") == 0
    assert chains_verify(engine)
