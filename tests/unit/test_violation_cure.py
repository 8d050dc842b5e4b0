"""A violation cured within its period, and the codes the engine raises itself, through the
registered handlers on the in-memory unit of work (``tests/fakes.py``): curing records the
day and how, cancels the period's deadline, tells the firm, and takes the violation out of
what an exit notice may rest on; an escalated or cured violation, a day in the future or
before the report, another tenancy's violation are refused with nothing written."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fakes import FakeDatabase, FakeService
from test_exit_handlers import NOW, on, pending, ran_out, serve
from test_review_handlers import RB, chained, notices, resident

from lifecycle.clock import FixedClock
from lifecycle.errors import GuardFailed, InvalidInput, NotFound, TransitionNotAllowed
from lifecycle.table import EXIT_NOTICE, EXITED
from workflows import commands as c

TODAY = date(2025, 1, 2)  # NOW in Shanghai


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def report(service: FakeService, t: int, code: str = "arrears") -> int:
    done = service.handle(c.ReportViolation(tenancy_id=t, code=code, facts="欠缴第四季度租金"))
    return int(done["violation"])


def cure(service: FakeService, t: int, v: int, **kw: object) -> dict[str, object]:
    kw.setdefault("cured_on", TODAY)
    result: dict[str, object] = service.handle(
        c.CureViolation(tenancy_id=t, violation=v, actor="王芳", **kw)  # type: ignore[arg-type]
    )
    return result


def test_a_cured_violation_is_recorded_its_deadline_cancelled_and_the_firm_told(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    v = report(service, t)
    assert pending(db, t) == [("cure_end", date(2025, 1, 17))]

    done = cure(service, t, v, note="已缴清，收据 2025-0102-01", expected_version=2)
    assert (done["violation"], done["status"], done["cured_on"]) == (v, "cured", "2025-01-02")
    row = db.row("violations", v)
    assert (row["status"], row["cured_on"], row["cure_note"]) == (
        "cured",
        TODAY,
        "已缴清，收据 2025-0102-01",
    )
    assert pending(db, t) == []
    (deadline,) = db.rows("deadlines", tenancy_id=t)
    assert (deadline["status"], deadline["done_at"]) == ("cancelled", NOW)
    assert chained(db, t) == ["report_violation", "cure_violation"]
    events = db.rows("audit_events", tenancy_id=t)
    (event,) = [e for e in events if e["trigger"] == "cure_violation"]
    assert event["actor"] == "王芳" and event["data"]["violation"] == v
    assert event["data"]["cancelled_deadlines"] == [deadline["id"]]
    assert notices(db, t)[-1] == ("violation_cured", f"violation_cured:firm:{t}:cure:{v}")
    assert db.row("tenancies", t)["version"] == 3

    # Cured, it bears out no exit notice on its grounds, even once its period is over.
    later = on(service, date(2025, 2, 3))
    with pytest.raises(InvalidInput) as refused:
        serve(later, t, grounds="arrears")
    assert refused.value.field == "grounds"
    assert db.rows("exit_cases") == []


def test_curing_one_violation_leaves_the_others_period_running(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    first, second = report(service, t), report(service, t, code="change_of_use")
    cure(service, t, first)
    assert [(d["subject_id"], d["status"]) for d in db.rows("deadlines", tenancy_id=t)] == [
        (first, "cancelled"),
        (second, "pending"),
    ]
    assert db.row("violations", second)["status"] == "open"


def test_an_escalated_violation_is_not_cured_and_the_error_names_it_and_its_state(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    v = ran_out(db, t, status="escalated")
    with pytest.raises(GuardFailed) as refused:
        cure(service, t, v)
    message = refused.value.message
    assert f"违规 #{v} arrears（拖欠租金或费用）" in message
    assert "已据此送达退出告知书" in message and "escalated" in message
    assert message.index(f"违规 #{v}") < message.index(f"violation #{v}")  # Chinese first
    assert db.row("violations", v)["status"] == "escalated" and chained(db, t) == []


def test_a_cured_violation_is_not_cured_twice(db: FakeDatabase, service: FakeService) -> None:
    t = resident(db)
    v = report(service, t)
    cure(service, t, v)
    with pytest.raises(GuardFailed) as refused:
        cure(service, t, v)
    assert "已纠正" in refused.value.message and "cured already" in refused.value.message
    assert chained(db, t) == ["report_violation", "cure_violation"]


@pytest.mark.parametrize(
    ("cured_on", "says"),
    [
        (TODAY + timedelta(days=1), "不能晚于今天"),
        (date(2024, 12, 31), "不能早于违规登记日（2025-01-02）"),
    ],
)
def test_the_cure_date_is_neither_in_the_future_nor_before_the_report(
    db: FakeDatabase, service: FakeService, cured_on: date, says: str
) -> None:
    t = resident(db)
    v = report(service, t)
    with pytest.raises(InvalidInput) as refused:
        cure(service, t, v, cured_on=cured_on)
    assert refused.value.field == "cured_on" and says in refused.value.rule
    assert db.row("violations", v)["status"] == "open"
    assert pending(db, t) == [("cure_end", date(2025, 1, 17))]
    assert chained(db, t) == ["report_violation"]


def test_another_tenancys_violation_or_none_is_not_found(
    db: FakeDatabase, service: FakeService
) -> None:
    mine = resident(db)
    theirs = db.add_resident(now=NOW, rulebook=RB, name="蓉芯科技", uscc="91510100MA6C000002")
    v = report(service, theirs)
    for violation in (v, 9999):
        with pytest.raises(NotFound):
            cure(service, mine, violation)
    assert db.row("violations", v)["status"] == "open" and chained(db, mine) == []


def test_a_violation_is_cured_only_while_the_tenancy_is_in_residency_or_exit_notice(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db, state=EXIT_NOTICE)
    v = ran_out(db, t, cure_due_on=date(2025, 1, 20), reported_at=NOW)
    assert cure(service, t, v)["status"] == "cured"
    gone = db.add_resident(
        now=NOW, rulebook=RB, name="蓉芯科技", uscc="91510100MA6C000002", state=EXITED
    )
    other = ran_out(db, gone, reported_at=NOW)
    with pytest.raises(TransitionNotAllowed):
        cure(service, gone, other)


@pytest.mark.parametrize("code", ["consecutive_d", "failed_rectification"])
def test_the_codes_the_engine_raises_are_not_recorded_by_hand(
    db: FakeDatabase, service: FakeService, code: str
) -> None:
    t = resident(db)
    with pytest.raises(InvalidInput) as refused:
        report(service, t, code=code)
    assert refused.value.field == "code"
    assert "系统依据考核/整改结果自动认定" in refused.value.rule
    assert "raised by the engine from reviews and rectifications" in refused.value.rule
    assert db.rows("violations") == [] and chained(db, t) == []


# ---- the rule: only a violation with a cure period, within it, not one an exit notice rests on
DUE = date(2025, 1, 17)  # the payment demand's last day for arrears reported on TODAY


def test_a_cure_after_the_periods_last_day_is_refused_even_before_the_sweep_escalates(
    db: FakeDatabase, service: FakeService
) -> None:
    """The firm paid on the 20th, three days after its 15 days to pay: it did not cure in
    time, and the operator cannot waive the exit by recording it cured (the sweep has not
    handled the deadline yet: the violation is still open)."""
    t = resident(db)
    v = report(service, t)
    later = on(service, date(2025, 1, 21))
    with pytest.raises(InvalidInput) as refused:
        cure(later, t, v, cured_on=date(2025, 1, 20))
    rule = refused.value.rule
    assert refused.value.field == "cured_on"
    assert "纠正日期（2025-01-20）晚于改正期限的最后一日（2025-01-17）" in rule
    assert "期限已届满，企业未在期限内纠正" in rule
    assert "the period has ended and the firm did not cure in time" in rule
    assert rule.index("纠正日期") < rule.index("the cure date")  # Chinese first
    assert db.row("violations", v)["status"] == "open"
    assert pending(db, t) == [("cure_end", DUE)]
    assert chained(db, t) == ["report_violation"]


def test_a_cure_on_the_periods_last_day_is_recorded_even_after_it(
    db: FakeDatabase, service: FakeService
) -> None:
    """Paid on the last day, recorded a few days later: cured in time."""
    t = resident(db)
    v = report(service, t)
    done = cure(on(service, date(2025, 1, 21)), t, v, cured_on=DUE, note="收据 0117")
    assert done["status"] == "cured" and db.row("violations", v)["cured_on"] == DUE
    assert pending(db, t) == []


def test_serving_an_exit_notice_escalates_an_open_violation_whose_period_ended(
    db: FakeDatabase, service: FakeService
) -> None:
    """Served by hand after the period (before the sweep did it), the notice escalates the
    violation it rests on, and a cure of it is refused beside the open exit case."""
    t = resident(db)
    v = report(service, t)
    later = on(service, date(2025, 1, 20))
    serve(later, t, grounds="arrears")
    assert db.row("violations", v)["status"] == "escalated"
    (case,) = db.rows("exit_cases", tenancy_id=t)
    with pytest.raises(GuardFailed) as refused:
        cure(later, t, v, cured_on=date(2025, 1, 10))
    assert "已据此送达退出告知书" in refused.value.message
    assert db.row("violations", v)["status"] == "escalated"
    assert chained(db, t) == ["report_violation", "serve_exit_notice"]
    assert case["grounds"] == "arrears"


def test_serving_an_exit_notice_escalates_open_violations_of_grounds_without_a_period(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    fraud, arrears = report(service, t, code="fraud"), report(service, t)
    serve(service, t, grounds="fraud")
    assert db.row("violations", fraud)["status"] == "escalated"
    assert db.row("violations", arrears)["status"] == "open"  # other grounds: untouched


def test_a_violation_an_open_exit_case_was_served_on_is_not_cured_and_the_case_named(
    db: FakeDatabase, service: FakeService
) -> None:
    """A violation left open beside an exit notice on its grounds (served before serving
    escalated every open one): the cure is refused, naming the exit case."""
    t = resident(db)
    v = report(service, t)
    later = on(service, date(2025, 1, 20))
    serve(later, t, grounds="arrears")
    db.tables["violations"][v]["status"] = "open"  # as served before the fix
    (case,) = db.rows("exit_cases", tenancy_id=t)
    with pytest.raises(GuardFailed) as refused:
        cure(later, t, v, cured_on=date(2025, 1, 10))
    message = refused.value.message
    assert f"退出案件 #{case['id']} 已以 违规 #{v} arrears（拖欠租金或费用） 的事由送达" in message
    assert f"exit case #{case['id']} was served on the grounds of violation #{v}" in message
    assert db.row("violations", v)["status"] == "open"
    assert chained(db, t) == ["report_violation", "serve_exit_notice"]


def test_a_violation_is_cured_beside_an_exit_notice_on_other_grounds(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    arrears = report(service, t)
    serve(service, t, grounds="fraud")
    assert db.row("tenancies", t)["state"] == EXIT_NOTICE
    assert cure(service, t, arrears)["status"] == "cured"


@pytest.mark.parametrize("code", ["fraud", "sublet", "major_accident", "industry_misfit"])
def test_a_violation_of_grounds_without_a_cure_period_is_not_cured(
    db: FakeDatabase, service: FakeService, code: str
) -> None:
    """Immediate grounds and grounds for the lease's end take no cure: recording one cured
    would tell the firm it no longer backs an exit while a notice on it is still served."""
    t = resident(db)
    v = report(service, t, code=code)
    assert db.row("violations", v)["cure_due_on"] is None
    with pytest.raises(GuardFailed) as refused:
        cure(service, t, v)
    message = refused.value.message
    assert f"违规 #{v} {code}" in message and "依退出规则没有改正期限" in message
    assert "take no cure period" in message
    assert message.index("没有改正期限") < message.index("take no cure period")
    assert db.row("violations", v)["status"] == "open"
    assert chained(db, t) == ["report_violation"]
    assert "violation_cured" not in [message for message, _ in notices(db, t)]


def test_a_violation_without_its_periods_last_day_is_not_cured(
    db: FakeDatabase, service: FakeService
) -> None:
    """A violation of timed grounds recorded without its last day (a rulebook that had no
    period for them then) has no period to cure within."""
    t = resident(db)
    v = ran_out(db, t, cure_due_on=None, reported_at=NOW)
    with pytest.raises(GuardFailed) as refused:
        cure(service, t, v)
    assert "没有改正期限" in refused.value.message
    assert db.row("violations", v)["status"] == "open"


def test_the_cures_timeline_entry_names_no_database_ids(
    db: FakeDatabase, service: FakeService
) -> None:
    """The audit keeps the cancelled deadline's id; the timeline shows the period's last day
    in words, never "撤销的期限：397"."""
    from workflows.queries_console import explain

    t = resident(db)
    v = report(service, t)
    cure(service, t, v, note="收据 01")
    (event,) = [
        e for e in db.rows("audit_events", tenancy_id=t) if e["trigger"] == "cure_violation"
    ]
    (deadline,) = db.rows("deadlines", tenancy_id=t)
    assert event["data"]["cancelled_deadlines"] == [deadline["id"]]
    shown = explain(
        {
            "seq": event["seq"],
            "at": event["occurred_at"].isoformat(),
            "actor": event["actor"],
            "trigger": event["trigger"],
            "from": event["from_state"],
            "to": event["to_state"],
            "reason": event["reason"] or "",
            "data": event["data"],
        }
    )
    facts = {f["key"]: (f["label"][0], f["value"]) for f in shown["facts"]}
    assert "cancelled_deadlines" not in facts
    assert facts["cure_due_on"] == ("改正期限", DUE.isoformat())
    assert facts["cured_on"] == ("纠正日期", TODAY.isoformat())
    assert all(f["value"] != [deadline["id"]] for f in shown["facts"])
