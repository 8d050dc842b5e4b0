"""Quarterly light reports on SQLite and PostgreSQL: a resident firm files a quarter through the
real handler (the row, the audit chain, the receipt), and the daily sweep plans each resident
tenancy's quarter once, reminds, tells the operators of a report still missing at the due
date, and a filing cancels what is pending."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from conftest import local
from integration.test_sweeps_seed import create_space, firms, resident
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.tables import Deadline, OutboxMessage, QuarterlyReport
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.service import Service

USCC = firms(3, seed=23)
START = local(2025, 6, 3, 9)  # a Tuesday; the firms sign for terms from 2025-07-01
FIGURES: dict[str, Any] = {
    "revenue_yuan": 1_200_000,
    "tax_paid_yuan": 80_000,
    "headcount": 23,
    "rd_spend_yuan": 150_000,
}


@pytest.fixture
def tenancies(service: Service, clock: FixedClock) -> list[int]:
    clock.set(START)
    create_space(service)
    return [
        resident(
            service,
            clock,
            "MC3",
            name=f"季报企业{i}",
            uscc=USCC[i],
            unit=f"A-30{i}",
            term_start=date(2025, 7, 1),
            term_end=date(2028, 6, 30),
        )
        for i in range(2)
    ]


def reports(engine: Engine) -> list[QuarterlyReport]:
    with Session(engine) as s:
        return list(s.exec(select(QuarterlyReport).order_by(col(QuarterlyReport.id))).all())


def outbox(engine: Engine, message: str) -> list[OutboxMessage]:
    with Session(engine) as s:
        stmt = select(OutboxMessage).where(OutboxMessage.message == message)
        return list(s.exec(stmt.order_by(col(OutboxMessage.id))).all())


def quarter_deadlines(engine: Engine, tenancy_id: int) -> dict[str, str]:
    with Session(engine) as s:
        stmt = select(Deadline).where(
            Deadline.tenancy_id == tenancy_id, col(Deadline.kind).startswith("quarterly_")
        )
        return {d.kind: d.status for d in s.exec(stmt).all()}


def test_a_firm_files_its_quarter_and_a_correction_keeps_the_first_filing_time(
    engine: Engine, service: Service, clock: FixedClock, tenancies: list[int]
) -> None:
    t = tenancies[0]
    clock.set(local(2025, 10, 9, 10))
    service.handle(
        c.SubmitQuarterlyReport(tenancy_id=t, year=2025, quarter=3, figures=FIGURES, actor="f")
    )
    clock.set(local(2025, 10, 30, 10))  # after the due date: the correction is not late
    service.handle(
        c.SubmitQuarterlyReport(
            tenancy_id=t, year=2025, quarter=3, figures={**FIGURES, "headcount": 24}, actor="g"
        )
    )
    [row] = reports(engine)
    assert (row.year, row.quarter, row.figures["headcount"], row.submitted_by) == (
        2025,
        3,
        "24",
        "g",
    )
    assert row.first_submitted_at < row.submitted_at
    receipts = [m.context for m in outbox(engine, "quarterly_report_received")]
    assert [(r["corrected"], r["in_time"]) for r in receipts] == [(False, True), (True, True)]
    from workflows.audit import verify

    with Session(engine) as s:
        assert verify(s).ok


def test_the_sweep_plans_the_quarter_once_reminds_tells_the_operators_and_a_filing_cancels(
    engine: Engine, service: Service, clock: FixedClock, tenancies: list[int]
) -> None:
    from workflows.sweeps import sweep_deadlines

    diligent, silent = tenancies
    clock.set(local(2025, 10, 1, 9))  # Q3 2025 has ended: both resident through it
    first = sweep_deadlines(service)
    assert first.planned == 2 and first.by_kind["quarterly_report_open"] == 2
    sweep_deadlines(service)  # again: nothing more planned, nobody told twice
    assert len(outbox(engine, "quarterly_report_opened")) == 2
    with Session(engine) as s:
        planned = s.exec(select(Deadline).where(Deadline.tenancy_id == silent)).all()
    due = next(d for d in planned if d.kind == "quarterly_report_due")
    reminder = next(d for d in planned if d.kind == "quarterly_report_reminder")
    assert (due.dedupe_key, due.payload["year"], due.payload["quarter"]) == (
        f"quarterly_report_due:{silent}:2025Q3",
        2025,
        3,
    )
    assert reminder.due_on < due.due_on

    clock.set(local(2025, 10, 9, 10))  # the diligent firm files: its pending ones are cancelled
    service.handle(
        c.SubmitQuarterlyReport(
            tenancy_id=diligent, year=2025, quarter=3, figures=FIGURES, actor="firm"
        )
    )
    assert quarter_deadlines(engine, diligent) == {
        "quarterly_report_open": "done",
        "quarterly_report_reminder": "cancelled",
        "quarterly_report_due": "cancelled",
    }
    r = reminder.due_on
    clock.set(local(r.year, r.month, r.day, 9))
    sweep_deadlines(service)
    reminded = outbox(engine, "quarterly_report_reminder")
    assert [(m.tenancy_id, m.context["offset"]) for m in reminded] == [(silent, -1)]

    d = due.due_on
    clock.set(local(d.year, d.month, d.day, 9) + timedelta(days=1))
    sweep_deadlines(service)
    sweep_deadlines(service)
    [overdue] = outbox(engine, "quarterly_report_overdue")
    assert (overdue.tenancy_id, overdue.audience, overdue.context["quarter"]) == (
        silent,
        "operators",
        3,
    )
    assert quarter_deadlines(engine, silent) == {
        "quarterly_report_open": "done",
        "quarterly_report_reminder": "done",
        "quarterly_report_due": "done",
    }
    from workflows.audit import verify

    with Session(engine) as s:
        assert verify(s).ok


def test_the_planning_works_in_chunks_without_a_query_per_tenancy(
    engine: Engine, service: Service, clock: FixedClock
) -> None:
    from integration.test_sweeps_seed import bulk_tenancies
    from sqlalchemy import event

    from workflows.quarterly_sweep import plan_quarter

    clock.set(local(2025, 6, 3, 9))
    space_id, version = create_space(service)
    ids = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=120,
        state="active",
        term_start=date(2025, 1, 1),
        term_end=date(2027, 12, 31),
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        clock.set(local(2025, 7, 2, 9))
        assert plan_quarter(service, batch=50) == 120
    finally:
        event.remove(engine, "before_cursor_execute", count)
    selects = [s for s in statements if "quarterly_reports" in s and "tenancies" in s]
    assert len(selects) == 3  # 50 + 50 + 20: one query a chunk, not one a tenancy
    assert plan_quarter(service, batch=50) == 0
    with Session(engine) as s:
        rows = s.exec(select(Deadline).where(Deadline.kind == "quarterly_report_due")).all()
    assert sorted(d.tenancy_id for d in rows) == sorted(ids)


def test_firms_on_their_way_out_are_planned_and_listed_those_that_left_only_if_they_filed(
    engine: Engine, service: Service, clock: FixedClock
) -> None:
    """A tenancy is asked for a quarter its term covers until its firm has left: exit notice,
    graduation publicity and vacating are planned and listed like residents; an exited one is
    neither planned nor listed (unless it filed)."""
    from integration.test_sweeps_seed import bulk_tenancies

    from workflows import queries_quarterly
    from workflows.quarterly_sweep import plan_quarter

    clock.set(local(2025, 6, 3, 9))
    space_id, version = create_space(service)
    states = ["active", "exit_notice", "graduation_publicity", "vacating", "exited"]
    ids = {
        state: bulk_tenancies(
            engine,
            space_id=space_id,
            rulebook_version=version,
            n=1,
            state=state,
            term_start=date(2025, 1, 1),
            term_end=date(2027, 12, 31),
            seed=seed,
        )[0]
        for seed, state in enumerate(states)
    }
    clock.set(local(2025, 7, 2, 9))
    assert plan_quarter(service) == 4
    assert quarter_deadlines(engine, ids["exited"]) == {}
    assert quarter_deadlines(engine, ids["vacating"])["quarterly_report_due"] == "pending"
    [listed] = service.query(queries_quarterly.filings, space="MC3", year=2025, quarter=2)
    assert {f["tenancy_id"] for f in listed["filings"]} == {ids[s] for s in states[:-1]}
