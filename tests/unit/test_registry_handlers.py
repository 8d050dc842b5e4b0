"""Reference data and the operators' queue commands on the in-memory unit of work: a space, a
unit and a firm registered, a rulebook loaded and activated, calendar overrides imported and
years published, failed deadlines and dead notices retried (each tenancy concerned records it)
— and the pure functions that decide their rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fakes import FakeDatabase, FakeService
from test_review_handlers import chained, resident

from db.queues import DeadlineRow, NoticeRow
from lifecycle.clock import FixedClock
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound
from workflows import commands as c
from workflows import rules
from workflows.calendar_years import publish
from workflows.cycles import operator_digest
from workflows.operations import requeue_deadlines, requeue_notices
from workflows.registry import calendar_days
from workflows.sweeps import marked, sweep_deadlines

NOW = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, Thursday 2 January 2025
USCC = "91510100MA6C00000M"


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def deadline(**kw: object) -> DeadlineRow:
    fields: dict[str, object] = {
        "id": 5,
        "kind": "term_end",
        "tenancy_id": 7,
        "subject_id": None,
        "due_on": date(2025, 1, 2),
        "due_at": NOW,
        "status": "failed",
        "dedupe_key": "term_end:7:2025-01-02",
        "payload": {"days_left": 30, "error": "boom"},
        "created_at": NOW,
        "done_at": NOW,
    }
    fields.update(kw)
    return DeadlineRow(**fields)  # type: ignore[arg-type]


def test_a_space_a_unit_and_a_firm_are_registered_once(
    db: FakeDatabase, service: FakeService
) -> None:
    made = service.handle(c.CreateSpace(code="MC3", name="三医创新中心"))
    version = rules.parse(rules.default_rulebook_text()).version
    assert made == {"space": "MC3", "id": 1, "rulebook_version": version}
    assert db.row("spaces", 1)["rulebook_version"] == version
    assert db.row("rulebooks", version)["loaded_at"] == NOW
    with pytest.raises(AlreadyExists):
        service.handle(c.CreateSpace(code="MC3", name="又一个"))
    unit = service.handle(c.AddUnit(space="MC3", code="A-1", kind="lab", area_m2=80))
    assert unit == {"unit": "A-1", "id": 1, "space": "MC3"}
    assert db.row("units", 1)["status"] == "available"
    with pytest.raises(NotFound):
        service.handle(c.AddUnit(space="XX", code="A-1", kind="lab", area_m2=80))
    firm = service.handle(c.RegisterFirm(name=" 峰际生物 ", uscc=USCC, industry="pharma"))
    assert firm == {"firm": 1, "uscc": USCC, "name": "峰际生物"}
    assert db.row("firms", 1)["created_at"] == NOW
    with pytest.raises(AlreadyExists):
        service.handle(c.RegisterFirm(name="又一家", uscc=USCC, industry="pharma"))


def test_a_rulebook_is_stored_once_and_activated_for_a_space(
    db: FakeDatabase, service: FakeService
) -> None:
    service.handle(c.CreateSpace(code="MC3", name="三医创新中心"))
    text = rules.default_rulebook_text().replace('name = "', 'name = "修订 ', 1)
    loaded = service.handle(c.LoadRulebook(text=text, source="test", space="MC3"))
    assert loaded["activated_for"] == "MC3"
    assert db.row("spaces", 1)["rulebook_version"] == loaded["rulebook_version"]
    again = service.handle(c.LoadRulebook(text=text, source="test"))
    assert again == {"rulebook_version": loaded["rulebook_version"], "activated_for": None}
    assert len(db.rows("rulebooks")) == 2


def test_calendar_days_are_imported_and_their_year_published(
    db: FakeDatabase, service: FakeService
) -> None:
    service.handle(c.SetCalendarDay(day=date(2027, 2, 6), workday=False))
    days = (
        c.SetCalendarDay(day=date(2027, 2, 6), workday=True, note="调休"),
        c.SetCalendarDay(day=date(2027, 2, 10), workday=False, note="春节"),
    )
    done = service.handle(c.ImportCalendar(days=days, complete=True))
    assert done == {"days": 2, "years": [2027], "workdays": 1, "holidays": 1}
    assert db.row("calendar_overrides", date(2027, 2, 6))["workday"] is True
    assert db.row("calendar_overrides", date(2027, 2, 10))["note"] == "春节"
    assert db.row("calendar_years", 2027)["source"] == "import"
    assert service.handle(c.PublishCalendarYear(year=2027))["newly"] is False


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1899, 12, 31), date(3000, 1, 1)])
def test_a_calendar_day_outside_the_dates_innospace_computes_with_is_refused(
    db: FakeDatabase, service: FakeService, day: date
) -> None:
    """Whichever way it comes (the console's form, its import box, the API, the CLI), a day
    the calendar pages could never show again is refused, and nothing of an import is kept."""
    with pytest.raises(InvalidInput) as refused:
        service.handle(c.SetCalendarDay(day=day, workday=False))
    assert refused.value.field == "day" and "1900-01-01 至 2999-12-31" in refused.value.rule
    days = (
        c.SetCalendarDay(day=date(2027, 2, 6), workday=True),
        c.SetCalendarDay(day=day, workday=True),
    )
    with pytest.raises(InvalidInput):
        service.handle(c.ImportCalendar(days=days))
    assert db.rows("calendar_overrides") == []


def test_the_rows_of_calendar_days_and_published_years() -> None:
    days = [
        c.SetCalendarDay(day=date(2027, 2, 6), workday=False),
        c.SetCalendarDay(day=date(2027, 2, 7), workday=True),
        c.SetCalendarDay(day=date(2027, 2, 6), workday=True),  # the last word counts
    ]
    rows = calendar_days(days, {date(2027, 2, 7)})
    assert [(r.table, v) for r, v in rows.inserts] == [
        ("calendar_overrides", {"day": date(2027, 2, 6), "workday": True, "note": None})
    ]
    assert rows.updates == [
        ("calendar_overrides", date(2027, 2, 7), {"workday": True, "note": None})
    ]
    newly = publish(rows, [2025, 2027, 2028], {2028}, source="publish", actor="王", now=NOW)
    assert newly == [2027]  # 2025 ships with the package, 2028 was marked before
    assert rows.inserts[-1][1]["year"] == 2027


def test_retrying_requeues_the_rows_and_says_what_each_tenancy_had() -> None:
    rows, retried = requeue_deadlines([deadline()])
    assert rows.updates == [
        (
            "deadlines",
            5,
            {
                "status": "pending",
                "done_at": None,
                "payload": {"days_left": 30, "previous_error": "boom"},
            },
        )
    ]
    assert retried == {7: [{"id": 5, "kind": "term_end", "previous_error": "boom"}]}
    found = [NoticeRow(3, 7, "exit_notice", "dead"), NoticeRow(4, None, "operator_digest", "dead")]
    rows, retried = requeue_notices(found, (), NOW)
    assert [(t, i) for t, i, _ in rows.updates] == [("outbox", 3), ("outbox", 4)]
    assert rows.updates[0][2] == {"status": "pending", "attempts": 0, "next_attempt_at": NOW}
    assert retried == {7: [{"id": 3, "message": "exit_notice"}]}
    with pytest.raises(NotFound):
        requeue_notices(found, (3, 99), NOW)
    with pytest.raises(InvalidInput):
        requeue_notices([NoticeRow(3, 7, "exit_notice", "sent")], (3,), NOW)


def test_a_deadline_is_finished_with_its_error_kept_when_it_failed() -> None:
    assert marked(deadline(status="pending"), "done", NOW).updates == [
        ("deadlines", 5, {"status": "done", "done_at": NOW})
    ]
    [(_, _, values)] = marked(deadline(payload={"a": 1}), "failed", NOW, error="x" * 600).updates
    assert values["payload"] == {"a": 1, "error": "x" * 500}
    [(ref, row)] = operator_digest("operator_digest:operators:2025-01-02", "zh-CN", {}, NOW).inserts
    assert (ref.table, row["audience"], row["message"]) == (
        "outbox",
        "operators",
        "operator_digest",
    )


def test_failed_deadlines_are_retried_and_recorded_on_their_tenancy(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    failed = db.add(
        "deadlines",
        kind="term_end",
        tenancy_id=t,
        due_on=date(2025, 1, 1),
        due_at=NOW,
        status="failed",
        dedupe_key=f"term_end:{t}:x",
        payload={"error": "boom"},
        created_at=NOW,
        done_at=NOW,
    )
    with pytest.raises(InvalidInput):
        service.handle(c.RetryDeadlines())
    assert service.handle(c.RetryDeadlines(all_failed=True, reason="日历已发布")) == 1
    row = db.row("deadlines", failed)
    assert (row["status"], row["done_at"], row["payload"]) == (
        "pending",
        None,
        {"previous_error": "boom"},
    )
    assert chained(db, t) == ["deadline_retried"]
    assert db.events(t)[0]["data"] == {
        "deadlines": [{"id": failed, "kind": "term_end", "previous_error": "boom"}]
    }
    assert service.handle(c.RetryDeadlines(all_failed=True)) == 0


def test_the_sweep_claims_acts_and_marks_deadlines_without_a_database(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db, term_start=date(2024, 4, 1), term_end=date(2025, 4, 1))

    def due(kind: str, key: str, payload: dict[str, object]) -> int:
        return int(
            db.add(
                "deadlines",
                kind=kind,
                tenancy_id=t,
                due_on=date(2025, 1, 1),
                due_at=NOW,
                dedupe_key=key,
                payload=payload,
                created_at=NOW,
            )
        )

    warning = due("term_expiry_warning", f"w:{t}", {"days_left": 90, "term_end": "2025-04-01"})
    unknown = due("no_such_kind", f"x:{t}", {})
    report = sweep_deadlines(service, until=NOW)
    # (the sweep also plans and opens the quarter just ended: the quarterly light report)
    assert (report.by_kind["term_expiry_warning"], report.failed) == (1, 1)
    assert db.row("deadlines", warning)["status"] == "done"
    told = [n["message"] for n in db.rows("outbox", tenancy_id=t)]
    assert [m for m in told if not m.startswith("quarterly_")] == ["term_expiry_warning"]
    failed = db.row("deadlines", unknown)
    assert failed["status"] == "failed" and "no sweep action" in failed["payload"]["error"]
    assert sweep_deadlines(service, until=NOW).rows == 0  # each deadline is handled once
