"""Quarterly light reports (RULEBOOK §3) through the registered handler, on the in-memory unit
of work: a resident firm files a quarter that has ended, within its term, with the rulebook's
quarterly metrics; a correction replaces the figures and keeps the first filing's time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fakes import FakeDatabase, FakeService, chained

from lifecycle.clock import FixedClock
from lifecycle.errors import InvalidInput, TransitionNotAllowed
from lifecycle.table import (
    EXIT_NOTICE,
    EXITED,
    GRADUATION_PUBLICITY,
    RESIDENT_STATES,
    VACATING,
)
from workflows import commands as c
from workflows import quarterly_rules, rules
from workflows.forms import FormProblems

NOW = datetime(2026, 4, 8, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, 8 April 2026
LATE = datetime(2026, 5, 6, 1, 0, tzinfo=UTC)  # after the 2026 Q1 due date
RB = rules.parse(rules.default_rulebook_text())
FIGURES: dict[str, Any] = {
    "revenue_yuan": 1_200_000,
    "tax_paid_yuan": "80,000",
    "headcount": 23,
    "rd_spend_yuan": 150000.5,
}


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


def resident(db: FakeDatabase, **kw: Any) -> int:
    db.add_rulebook(rules.default_rulebook_text(), NOW)
    return db.add_resident(now=NOW, rulebook=RB, **kw)


def submit(service: FakeService, t: int, **kw: Any) -> Any:
    fields: dict[str, Any] = {"year": 2026, "quarter": 1, "figures": FIGURES, **kw}
    return service.handle(c.SubmitQuarterlyReport(tenancy_id=t, actor="firm:7", **fields))


def test_a_resident_firm_files_its_quarter_with_an_audit_event_and_a_receipt(
    db: FakeDatabase,
) -> None:
    t = resident(db)
    step = submit(FakeService(db, FixedClock(NOW)), t)
    assert (step.trigger, step.version) == ("submit_quarterly_report", 2)
    [row] = db.rows("quarterly_reports", tenancy_id=t)
    assert (row["year"], row["quarter"], row["submitted_by"]) == (2026, 1, "firm:7")
    assert row["figures"] == {
        "revenue_yuan": "1200000",
        "tax_paid_yuan": "80000",
        "headcount": "23",
        "rd_spend_yuan": "150000.5",
    }
    assert row["first_submitted_at"] == row["submitted_at"] == NOW
    assert row["rulebook_version"] == RB.version
    assert row["due_on"] > date(2026, 3, 31)
    assert chained(db, t)[-1] == "submit_quarterly_report"
    [receipt] = [n for n in db.rows("outbox", tenancy_id=t)]
    assert receipt["message"] == "quarterly_report_received"
    assert receipt["context"]["in_time"] is True


def test_a_correction_replaces_the_figures_and_lateness_is_judged_on_the_first_filing(
    db: FakeDatabase,
) -> None:
    t = resident(db)
    submit(FakeService(db, FixedClock(NOW)), t)
    submit(FakeService(db, FixedClock(LATE)), t, figures={**FIGURES, "headcount": 25})
    [row] = db.rows("quarterly_reports", tenancy_id=t)
    assert row["figures"]["headcount"] == "25"
    assert (row["first_submitted_at"], row["submitted_at"]) == (NOW, LATE)
    receipts = [n["context"] for n in db.rows("outbox", tenancy_id=t)]
    assert [(r["corrected"], r["in_time"]) for r in receipts] == [(False, True), (True, True)]


def test_a_first_filing_after_the_due_date_is_late(db: FakeDatabase) -> None:
    t = resident(db)
    submit(FakeService(db, FixedClock(LATE)), t)
    [receipt] = db.rows("outbox", tenancy_id=t)
    assert receipt["context"]["in_time"] is False


def test_filing_cancels_the_quarters_pending_deadlines_only(db: FakeDatabase) -> None:
    t = resident(db)
    for subject, kind in ((20261, "quarterly_report_due"), (20262, "quarterly_report_due")):
        db.add(
            "deadlines",
            kind=kind,
            tenancy_id=t,
            subject_id=subject,
            due_on=date(2026, 4, 22),
            due_at=NOW,
            status="pending",
            dedupe_key=f"{kind}:{t}:{subject}",
            payload={},
            created_at=NOW,
            done_at=None,
        )
    submit(FakeService(db, FixedClock(NOW)), t)
    status = {d["subject_id"]: d["status"] for d in db.rows("deadlines", tenancy_id=t)}
    assert status == {20261: "cancelled", 20262: "pending"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quarter": 2}, "quarter"),  # 2026 Q2 has not ended on 8 April
        ({"quarter": 5}, "quarter"),
        ({"year": 1999}, "year"),
        ({"year": 2024, "quarter": 4}, "quarter"),  # before the term began (1 Jan 2025)
    ],
)
def test_a_quarter_not_ended_or_outside_the_term_is_refused(
    db: FakeDatabase, fields: dict[str, Any], field: str
) -> None:
    t = resident(db)
    with pytest.raises(InvalidInput) as err:
        submit(FakeService(db, FixedClock(NOW)), t, **fields)
    assert err.value.field == field
    assert db.rows("quarterly_reports") == []


def test_figures_are_checked_as_the_annual_form_checks_them_every_problem_at_once(
    db: FakeDatabase,
) -> None:
    t = resident(db)
    bad = {"revenue_yuan": -1, "headcount": 2.5, "patents": 3}
    with pytest.raises(FormProblems) as err:
        submit(FakeService(db, FixedClock(NOW)), t, figures=bad)
    fields = sorted(p.field for p in err.value.problems)
    assert fields == [
        "figures.headcount",
        "figures.patents",
        "figures.rd_spend_yuan",
        "figures.revenue_yuan",
        "figures.tax_paid_yuan",
    ]
    assert "未知字段" in err.value.message
    assert db.rows("quarterly_reports") == []


@pytest.mark.parametrize("state", [EXIT_NOTICE, GRADUATION_PUBLICITY, VACATING])
def test_a_firm_on_its_way_out_still_files(db: FakeDatabase, state: str) -> None:
    """It still occupied its unit in the quarter (``OCCUPYING_STATES``), until the handover."""
    t = resident(db, state=state)
    assert submit(FakeService(db, FixedClock(NOW)), t).trigger == "submit_quarterly_report"


def test_only_a_tenancy_that_has_not_left_files(db: FakeDatabase) -> None:
    t = resident(db, state=EXITED)
    with pytest.raises(TransitionNotAllowed):
        submit(FakeService(db, FixedClock(NOW)), t)


def test_the_quarter_just_ended_and_its_days() -> None:
    assert quarterly_rules.last_ended(date(2026, 1, 5)) == (2025, 4)
    assert quarterly_rules.last_ended(date(2026, 4, 1)) == (2026, 1)
    assert quarterly_rules.last_ended(date(2026, 12, 31)) == (2026, 3)
    assert quarterly_rules.quarter_days(2026, 3) == (date(2026, 7, 1), date(2026, 9, 30))
    assert len(RESIDENT_STATES) >= 3


def test_a_quarter_due_in_a_year_not_published_is_filed_against_a_provisional_date(
    db: FakeDatabase,
) -> None:
    """RULEBOOK §8: the 2027 schedule is not published, so 2026 Q4's due date is the unrolled
    calendar date (31 December + 15 days), flagged; a filing after it is not judged late."""
    t = resident(db)
    other = db.add_resident(now=NOW, rulebook=RB, name="晚报企业", uscc="91510100MA6C000002")
    jan15 = datetime(2027, 1, 15, 1, 0, tzinfo=UTC)
    submit(FakeService(db, FixedClock(jan15)), t, year=2026, quarter=4)
    [row] = db.rows("quarterly_reports", tenancy_id=t)
    assert row["due_on"] == date(2027, 1, 15)
    [receipt] = db.rows("outbox", tenancy_id=t)
    assert receipt["context"]["in_time"] is True
    assert receipt["context"]["provisional"] is True
    submit(
        FakeService(db, FixedClock(datetime(2027, 1, 18, 1, 0, tzinfo=UTC))),
        other,
        year=2026,
        quarter=4,
    )
    [after] = db.rows("outbox", tenancy_id=other)
    assert after["context"]["in_time"] is True  # judged again once 2027 is published
