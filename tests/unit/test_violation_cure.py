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
