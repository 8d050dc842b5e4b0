"""The exit and rectification commands through their registered handlers, on the in-memory
unit of work (``tests/fakes.py``): a forced exit served, ruled and handed over, a graduation
through its 公示, a rectification plan filed and re-inspected, a violation's cure period
waived — with no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fakes import FakeDatabase, FakeService
from test_review_handlers import RB, chained, deadlines, notices, resident

from db.effects import deadline_row
from lifecycle.clock import FixedClock
from lifecycle.errors import GuardFailed, InvalidInput, NotFound, TransitionNotAllowed
from lifecycle.table import (
    ACTIVE,
    EXIT_NOTICE,
    EXITED,
    GRADUATION_PUBLICITY,
    RECTIFYING,
    UNDER_REVIEW,
    VACATING,
)
from workflows import commands as c
from workflows.exit_rules import HANDOVER_ITEMS
from workflows.quarterly_rules import QUARTERLY_DEADLINES

NOW = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, Thursday 2 January 2025
FULL_CHECKLIST = dict.fromkeys(HANDOVER_ITEMS, True)


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def on(service: FakeService, day: date) -> FakeService:
    """The service with its clock at 09:00 in Shanghai on ``day``."""
    return service.with_clock(FixedClock(datetime(day.year, day.month, day.day, 1, tzinfo=UTC)))


def pending(db: FakeDatabase, t: int) -> list[tuple[str, date]]:
    return [(k, due) for k, due, status, _ in deadlines(db, t) if status == "pending"]


def serve(service: FakeService, t: int, **kw: Any) -> Any:
    return service.handle(
        c.ServeExitNotice(
            tenancy_id=t,
            grounds=kw.pop("grounds", "arrears"),
            facts="欠缴租金三个月",
            proof_of_service="EMS 1234",
            **kw,
        )
    )


def ran_out(db: FakeDatabase, t: int, code: str = "arrears", **changes: Any) -> int:
    """A violation of ``code`` whose cure period (or payment demand) ended on 31 December
    uncured: the record an exit notice on those grounds rests on."""
    values = {
        "tenancy_id": t,
        "code": code,
        "facts": "欠缴租金",
        "cure_due_on": date(2024, 12, 31),
        "status": "open",
        "reported_at": NOW - timedelta(days=20),
        **changes,
    }
    return int(db.add("violations", **values))


def test_a_forced_exit_is_served_ruled_and_handed_over(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    ran_out(db, t)
    db.add(
        "audit_events",
        tenancy_id=t,
        seq=0,
        actor="seed",
        trigger="sign",
        to_state=ACTIVE,
        data={"deposit_yuan": 30000},
        occurred_at=NOW,
        prev_hash="-",
        hash="-",
    )
    served = serve(service, t, expected_version=1)
    assert (served.to_state, served.version) == (EXIT_NOTICE, 2)
    (case,) = db.rows("exit_cases", tenancy_id=t)
    assert (case["exit_type"], case["grounds"], case["objection_due_on"]) == (
        "forced",
        "arrears",
        date(2025, 1, 9),
    )
    assert pending(db, t) == [("objection_window_end", date(2025, 1, 9))]
    assert notices(db, t) == [("exit_notice", f"exit_notice:firm:{t}:{case['id']}")]

    # Not while the 陈述申辩 window runs; the refused command writes nothing.
    with pytest.raises(GuardFailed):
        service.handle(c.ConfirmExit(tenancy_id=t))
    assert db.row("tenancies", t)["version"] == 2

    ruled = on(service, date(2025, 1, 10)).handle(c.ConfirmExit(tenancy_id=t, expected_version=2))
    assert (ruled.to_state, ruled.version) == (VACATING, 3)
    case = db.row("exit_cases", case["id"])
    assert case["vacate_due_on"] == date(2025, 2, 10)  # 30 days on, a Sunday: the next workday
    assert case["ruling"] == "陈述申辩期满，维持退出决定"
    assert pending(db, t) == [("vacate_due", date(2025, 2, 10))]
    assert [m for m, _ in notices(db, t)] == ["exit_notice", "exit_ruling"]

    with pytest.raises(GuardFailed):
        service.handle(c.HandOver(tenancy_id=t, checklist={"keys": True}))
    # An item the checklist does not have (a typo, a word in Chinese) is named, not ignored.
    with pytest.raises(InvalidInput) as typo:
        service.handle(c.HandOver(tenancy_id=t, checklist={**FULL_CHECKLIST, "恢复原状": True}))
    assert (typo.value.field, "恢复原状" in typo.value.message) == ("checklist", True)
    assert "premises_restored（场地恢复原状）" in typo.value.message
    later = on(service, date(2025, 2, 7))
    done = later.handle(c.HandOver(tenancy_id=t, checklist=FULL_CHECKLIST, arrears_yuan=500))
    assert (done.to_state, done.version) == (EXITED, 4)
    case = db.row("exit_cases", case["id"])
    assert (case["status"], case["checklist"]) == ("closed", FULL_CHECKLIST)
    assert case["settlement"]["deductions_yuan"] == "500.00"
    # The deposit recorded at signing comes back, less the arrears.
    assert case["settlement"]["refund_yuan"] == "29500.00"
    (alloc,) = db.rows("allocations", tenancy_id=t)
    assert alloc["end_on"] == date(2025, 2, 7)
    assert db.row("units", alloc["unit_id"])["status"] == "available"
    assert pending(db, t) == []
    assert [m for m, _ in notices(db, t)] == ["exit_notice", "exit_ruling", "handover_settlement"]
    assert [e["trigger"] for e in db.events(t)][1:] == [
        "serve_exit_notice",
        "confirm_exit",
        "hand_over",
    ]


def test_a_graduation_waits_for_its_publicity_then_begins_the_exit(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    step = service.handle(c.BeginExit(tenancy_id=t, exit_type="graduation", approved=False))
    assert (step.trigger, step.to_state) == ("confirm_graduation", GRADUATION_PUBLICITY)
    assert pending(db, t) == [("graduation_publicity_end", date(2025, 1, 8))]
    assert db.rows("exit_cases", tenancy_id=t) == []

    with pytest.raises(GuardFailed):
        on(service, date(2025, 1, 8)).handle(c.EndGraduationPublicity(tenancy_id=t))
    step = on(service, date(2025, 1, 9)).handle(
        c.EndGraduationPublicity(tenancy_id=t, actor="system", reason="毕业公示期满")
    )
    assert (step.trigger, step.to_state, step.version) == ("graduate", VACATING, 3)
    (case,) = db.rows("exit_cases", tenancy_id=t)
    assert (case["exit_type"], case["settlement"], case["facts"]) == (
        "graduation",
        {"approved": False},
        "毕业公示期满",
    )
    assert case["vacate_due_on"] == date(2025, 7, 9)
    assert pending(db, t) == [("vacate_due", date(2025, 7, 9))]
    assert [(m, a) for m, a in ((n["message"], n["audience"]) for n in db.rows("outbox"))] == [
        ("graduation_publicity_start", "firm"),
        ("graduation_publicity_start", "operators"),
        ("graduation", "firm"),
        ("graduation_publicity_end", "operators"),
    ]
    assert chained(db, t) == ["confirm_graduation", "graduate"]


def test_a_term_end_exit_is_escalated_when_vacating_is_overdue(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db, term_end=date(2025, 1, 1))
    with pytest.raises(InvalidInput):
        service.handle(c.BeginExit(tenancy_id=t, exit_type="forced"))
    service.handle(c.BeginExit(tenancy_id=t, exit_type="term_expiry", reason="入驻期限届满"))
    step = on(service, date(2025, 2, 20)).handle(c.EscalateVacating(tenancy_id=t))
    assert (step.trigger, step.to_state) == ("escalate_vacating", VACATING)
    assert [(n["message"], n["audience"]) for n in db.rows("outbox", tenancy_id=t)][1:] == [
        ("vacate_overdue", "firm"),
        ("vacate_overdue", "manager"),
    ]
    assert chained(db, t) == ["begin_exit", "escalate_vacating"]


def rectifying(db: FakeDatabase, **changes: Any) -> tuple[int, int]:
    """A tenancy rectifying since 2 January (its plan due 16 January, its period 2 April)."""
    t = resident(db, state=RECTIFYING)
    rect = db.add(
        "rectifications",
        tenancy_id=t,
        defects="研发投入不足",
        plan_due_on=date(2025, 1, 16),
        due_on=date(2025, 4, 2),
        extended=False,
        status="open",
        created_at=NOW,
        **changes,
    )
    for kind, due in (("rectification_plan_due", 16), ("rectification_end", 0)):
        day = date(2025, 1, due) if due else date(2025, 4, 2)
        db.add(
            "deadlines",
            kind=kind,
            tenancy_id=t,
            subject_id=rect,
            due_on=day,
            due_at=NOW + timedelta(days=1),
            status="pending",
            dedupe_key=f"{kind}:{t}:{rect}",
            payload={},
            created_at=NOW,
        )
    return t, int(rect)


def test_a_plan_is_filed_and_the_reinspection_passes(
    db: FakeDatabase, service: FakeService
) -> None:
    t, rect = rectifying(db)
    with pytest.raises(InvalidInput):
        service.handle(c.FileRectificationPlan(tenancy_id=t, plan=" "))
    step = service.handle(c.FileRectificationPlan(tenancy_id=t, plan="招聘研发人员", actor="企业"))
    assert (step.trigger, step.to_state, step.version) == ("file_plan", RECTIFYING, 2)
    assert db.row("rectifications", rect)["plan"] == "招聘研发人员"
    assert pending(db, t) == [("rectification_end", date(2025, 4, 2))]

    step = service.handle(c.Reinspect(tenancy_id=t, passed=True, reason="已整改"))
    assert (step.trigger, step.to_state) == ("pass_reinspection", ACTIVE)
    assert db.row("rectifications", rect)["status"] == "passed"
    assert pending(db, t) == [] and db.rows("exit_cases") == []
    assert notices(db, t) == [("reinspection_result", f"reinspection_result:firm:{t}:2")]
    assert chained(db, t) == ["file_plan", "pass_reinspection"]


def test_a_failed_reinspection_waits_for_the_windows_the_firm_did_not_waive(
    db: FakeDatabase, service: FakeService
) -> None:
    t, rect = rectifying(db, plan="方案")
    with pytest.raises(GuardFailed):
        service.handle(c.Reinspect(tenancy_id=t, passed=False))
    with pytest.raises(GuardFailed):  # a filed plan's deadline cannot be waived any more
        service.handle(
            c.WaiveWindow(tenancy_id=t, window="plan", waived_on=NOW.date(), document="函 9")
        )
    service.handle(
        c.WaiveWindow(tenancy_id=t, window="rectification", waived_on=NOW.date(), document="函 9")
    )
    step = service.handle(c.Reinspect(tenancy_id=t, passed=False, reason="复查不合格"))
    assert (step.trigger, step.to_state, step.version) == ("fail_reinspection", EXIT_NOTICE, 3)
    assert step.data["waivers"][0]["event_seq"] == 1
    assert db.row("rectifications", rect)["status"] == "failed"
    (case,) = db.rows("exit_cases", tenancy_id=t)
    assert (case["grounds"], case["facts"]) == ("failed_rectification", "复查不合格")
    assert pending(db, t) == [("objection_window_end", date(2025, 1, 9))]
    assert [m for m, _ in notices(db, t)] == ["reinspection_result", "exit_notice"]
    assert chained(db, t) == ["waive_window", "fail_reinspection"]


def test_a_violation_in_its_cure_period_holds_the_notice_until_waived(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    reported = service.handle(c.ReportViolation(tenancy_id=t, code="arrears", facts="欠缴租金"))
    (violation,) = db.rows("violations", tenancy_id=t)
    assert reported["violation"] == violation["id"] and reported["cure_due_on"] == "2025-01-17"
    assert pending(db, t) == [("cure_end", date(2025, 1, 17))]
    assert notices(db, t) == [("cure_notice", f"cure_notice:firm:{t}:{violation['id']}")]

    with pytest.raises(GuardFailed):
        serve(service, t)
    service.handle(c.WaiveWindow(tenancy_id=t, window="cure", waived_on=NOW.date(), document="函"))
    served = serve(service, t)
    assert served.data["waivers"][0]["window"] == "cure"
    assert db.row("violations", violation["id"])["status"] == "escalated"
    assert chained(db, t) == ["report_violation", "waive_window", "serve_exit_notice"]


def test_a_notice_rests_on_the_records_and_the_review_raises_its_own(
    db: FakeDatabase, service: FakeService
) -> None:
    """Refused, writing nothing: arrears with no payment demand recorded, two consecutive D
    grades and a failed rectification (the review's and the re-inspection's to raise). An
    escalated violation whose demand ran out is grounds, as the sweep serves it."""
    t = resident(db)
    for grounds in ("arrears", "consecutive_d", "failed_rectification"):
        with pytest.raises(InvalidInput) as refused:
            serve(service, t, grounds=grounds)
        assert refused.value.field == "grounds"
    ran_out(db, t, code="change_of_use", status="cured")
    with pytest.raises(InvalidInput):
        serve(service, t, grounds="change_of_use")
    assert chained(db, t) == [] and db.rows("exit_cases") == []
    ran_out(db, t, status="escalated")
    assert serve(service, t).to_state == EXIT_NOTICE


def test_a_voluntary_exit_begins_on_the_firms_request_and_not_before_its_day(
    db: FakeDatabase, service: FakeService
) -> None:
    from workflows.answers import RequestVoluntaryExit

    t = resident(db, term_end=date(2027, 3, 31))
    with pytest.raises(InvalidInput) as refused:
        service.handle(c.BeginExit(tenancy_id=t, exit_type="voluntary"))
    assert refused.value.field == "exit_type" and chained(db, t) == []
    service.handle(RequestVoluntaryExit(tenancy_id=t, leave_on=date(2025, 4, 1), actor="企业"))
    step = service.handle(c.BeginExit(tenancy_id=t, exit_type="voluntary"))
    assert step.data["vacate_due_on"] == date(2025, 4, 1)
    (case,) = db.rows("exit_cases", tenancy_id=t)
    assert case["vacate_due_on"] == date(2025, 4, 1)
    assert pending(db, t) == [("vacate_due", date(2025, 4, 1))]


@pytest.mark.parametrize("state", [UNDER_REVIEW, RECTIFYING])
def test_a_firm_under_review_or_in_rectification_may_still_ask_to_leave(
    db: FakeDatabase, service: FakeService, state: str
) -> None:
    """Its request was refused outside 在孵 (active), and a voluntary exit then needed that
    request: for the weeks of each year's review, no firm could leave of its own accord."""
    from workflows.answers import RequestVoluntaryExit

    t = resident(db, term_end=date(2027, 3, 31), state=state)
    service.handle(RequestVoluntaryExit(tenancy_id=t, leave_on=date(2025, 4, 1), actor="企业"))
    step = service.handle(c.BeginExit(tenancy_id=t, exit_type="voluntary"))
    assert (step.from_state, step.data["vacate_due_on"]) == (state, date(2025, 4, 1))


def test_a_term_expiry_exit_is_not_begun_long_before_the_term_ends(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db, term_end=date(2025, 3, 21))
    with pytest.raises(InvalidInput) as refused:
        on(service, date(2024, 12, 31)).handle(c.BeginExit(tenancy_id=t, exit_type="term_expiry"))
    assert refused.value.field == "exit_type" and chained(db, t) == []
    step = on(service, date(2025, 1, 21)).handle(c.BeginExit(tenancy_id=t, exit_type="term_expiry"))
    assert step.data["vacate_due_on"] == date(2025, 3, 21)


def test_a_violation_of_an_unknown_code_names_the_code_and_the_codes_in_words(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    with pytest.raises(InvalidInput) as refused:
        service.handle(c.ReportViolation(tenancy_id=t, code="nonsense", facts="x"))
    assert refused.value.field == "code"  # what the report gave, not an exit's grounds
    assert "arrears（" in refused.value.rule and "arrears (" in refused.value.rule
    assert db.rows("violations") == [] and chained(db, t) == []


def test_the_exit_handlers_refuse_what_they_cannot_find(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    with pytest.raises(TransitionNotAllowed):
        service.handle(c.ConfirmExit(tenancy_id=t))
    with pytest.raises(TransitionNotAllowed):
        service.handle(c.Reinspect(tenancy_id=t, passed=True))
    t2 = db.add_resident(
        now=NOW, rulebook=RB, state=RECTIFYING, uscc="91510100MA6C000002", name="二号"
    )
    with pytest.raises(NotFound):
        service.handle(c.FileRectificationPlan(tenancy_id=t2, plan="方案"))
    assert db.events(t) == [] and db.events(t2) == []


def test_a_rectification_is_extended_once_and_a_benefit_recorded(
    db: FakeDatabase, service: FakeService
) -> None:
    t, rect = rectifying(db)
    step = service.handle(c.ExtendRectification(tenancy_id=t, days=30))
    assert (step.trigger, step.to_state) == ("extend_rectification", RECTIFYING)
    assert db.row("rectifications", rect)["due_on"] == date(2025, 5, 6)
    assert [(k, due, s) for k, due, s, _ in deadlines(db, t)][1:] == [
        ("rectification_end", date(2025, 4, 2), "cancelled"),
        ("rectification_end", date(2025, 5, 6), "pending"),
    ]
    with pytest.raises(GuardFailed):
        service.handle(c.ExtendRectification(tenancy_id=t, days=5))

    recorded = service.handle(
        c.RecordBenefit(
            tenancy_id=t, kind="subsidy", amount_yuan="20000", granted_on=date(2025, 1, 2)
        )
    )
    assert (recorded["trigger"], recorded["version"]) == ("record_benefit", 3)
    assert recorded["amount_yuan"] == "20000.00"  # kept to the fen
    assert chained(db, t) == ["extend_rectification", "record_benefit"]
    written = service.handle(
        c.RecordBenefit(
            tenancy_id=t, kind="subsidy", amount_yuan="1e3", granted_on=date(2025, 1, 2)
        )
    )
    assert written["amount_yuan"] == "1000.00"  # never 1E+3


@pytest.mark.parametrize(
    ("amount", "months", "field", "rule"),
    [
        ("1e30", 0, "benefit.amount_yuan", "不得超过 100,000,000,000 元"),
        ("1E+5000", 0, "benefit.amount_yuan", "不得超过"),
        ("100.123", 0, "benefit.amount_yuan", "最多两位小数"),
        ("NaN", 0, "benefit.amount_yuan", "须为有限数值"),
        ("5000", 9_999_999_999, "benefit.commitment_months", "不得超过 600 个月"),
    ],
)
def test_a_benefit_beyond_any_real_amount_or_commitment_is_refused_and_nothing_recorded(
    db: FakeDatabase, service: FakeService, amount: str, months: int, field: str, rule: str
) -> None:
    """A benefit the settlement could not later compute (an amount Decimal cannot round to
    the fen, a commitment ending past year 9999) is refused when recorded, naming the field,
    so the firm's exit can always be settled."""
    t, _ = rectifying(db)
    with pytest.raises(InvalidInput) as refused:
        service.handle(
            c.RecordBenefit(
                tenancy_id=t,
                kind="subsidy",
                amount_yuan=amount,
                granted_on=date(2025, 1, 2),
                commitment_months=months,
            )
        )
    assert refused.value.field == field and rule in refused.value.rule
    assert chained(db, t) == []


def test_a_firm_on_its_way_out_files_its_quarter_and_the_handover_cancels_what_it_owes(
    db: FakeDatabase, service: FakeService
) -> None:
    """A firm vacating still occupied its unit in the quarter: it files it (RULEBOOK §3); once
    the handover is signed off, the quarterly deadlines it still had pending are cancelled."""
    t = resident(db)
    ran_out(db, t)
    serve(service, t)
    ruling = on(service, date(2025, 1, 10))
    assert ruling.handle(c.ConfirmExit(tenancy_id=t)).to_state == VACATING
    figures = {"revenue_yuan": 1, "tax_paid_yuan": 0, "headcount": 3, "rd_spend_yuan": 0}
    filed = ruling.handle(
        c.SubmitQuarterlyReport(tenancy_id=t, year=2024, quarter=4, figures=figures, actor="firm")
    )
    assert filed.data["in_time"] is True and len(db.rows("quarterly_reports", tenancy_id=t)) == 1
    due = datetime(2025, 4, 15, 16, tzinfo=UTC)
    for kind in QUARTERLY_DEADLINES:  # 2025 Q1, as the sweep plans it
        db.add("deadlines", **deadline_row(t, kind, date(2025, 4, 15), due, now=NOW, key="2025Q1"))
    on(service, date(2025, 2, 7)).handle(c.HandOver(tenancy_id=t, checklist=FULL_CHECKLIST))
    assert pending(db, t) == []
    assert {s for k, _, s, _ in deadlines(db, t) if k in QUARTERLY_DEADLINES} == {"cancelled"}
    with pytest.raises(TransitionNotAllowed):  # it has left: nothing more is asked of it
        on(service, date(2025, 4, 2)).handle(
            c.SubmitQuarterlyReport(
                tenancy_id=t, year=2025, quarter=1, figures=figures, actor="firm"
            )
        )
