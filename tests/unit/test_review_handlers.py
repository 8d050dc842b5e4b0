"""The review commands through their registered handlers, on the in-memory unit of work: a
firm's annual review opened, submitted and decided with no database (``tests/fakes.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fakes import FakeDatabase, FakeService, FakeUnitOfWork, NoDatabase, chained
from golden_figures import golden_figures as figures

from lifecycle.clock import FixedClock
from lifecycle.errors import (
    AlreadyExists,
    GuardFailed,
    InvalidInput,
    NotFound,
    StaleTenancy,
    TransitionNotAllowed,
)
from lifecycle.table import ACTIVE, EXIT_NOTICE, UNDER_REVIEW
from workflows import commands as c
from workflows import reviews, rules
from workflows.core import Work
from workflows.reviews import RESIDENCY_DEADLINES

NOW = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a working day
#: The day after the 2024 review's deadline (the 10th working day of January 2025).
AFTER_DUE = datetime(2025, 1, 16, 1, 0, tzinfo=UTC)
PAST_DUE = datetime(2025, 1, 16, 1, 0, tzinfo=UTC)  # after the due date of one opened at NOW
DUE = date(2025, 1, 15)  # the 10th working day of January 2025
RB = rules.parse(rules.default_rulebook_text())


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def service(db: FakeDatabase, clock: FixedClock) -> FakeService:
    return FakeService(db, clock)


def resident(db: FakeDatabase, **kw: Any) -> int:
    db.add_rulebook(rules.default_rulebook_text(), NOW)
    return db.add_resident(now=NOW, rulebook=RB, **kw)


def deadlines(db: FakeDatabase, t: int) -> list[tuple[str, date, str, str]]:
    return [
        (d["kind"], d["due_on"], d["status"], d["dedupe_key"])
        for d in db.rows("deadlines", tenancy_id=t)
    ]


def notices(db: FakeDatabase, t: int) -> list[tuple[str, str]]:
    return [(n["message"], n["dedupe_key"]) for n in db.rows("outbox", tenancy_id=t)]


def test_a_firms_annual_review_is_opened_submitted_and_decided(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    commits = db.commits

    opened = service.handle(c.OpenReview(tenancy_id=t, period=2024, expected_version=1))
    assert (opened.from_state, opened.to_state, opened.version) == (ACTIVE, UNDER_REVIEW, 2)
    tenancy = db.row("tenancies", t)
    assert (tenancy["state"], tenancy["version"], tenancy["updated_at"]) == (
        UNDER_REVIEW,
        2,
        NOW,
    )
    (review,) = db.rows("reviews", tenancy_id=t)
    r = review["id"]
    assert (review["period"], review["status"], review["due_on"]) == (2024, "open", DUE)
    assert review["rulebook_version"] == RB.version
    assert deadlines(db, t) == [
        ("review_submission_due", DUE, "pending", f"review_submission_due:{t}:{r}"),
        ("review_reminder", date(2025, 1, 8), "pending", f"review_reminder:{t}:{r}:-5"),
        ("review_reminder", date(2025, 1, 14), "pending", f"review_reminder:{t}:{r}:-1"),
    ]
    assert [d["subject_id"] for d in db.rows("deadlines", tenancy_id=t)] == [r, r, r]
    assert notices(db, t) == [("review_opened", f"review_opened:firm:{t}:2024")]
    (notice,) = db.rows("outbox", tenancy_id=t)
    assert notice["context"]["due_on"] == "2025-01-15"
    assert notice["context"]["firm"]["name"] == "峰际生物"

    submitted = service.handle(
        c.SubmitReview(tenancy_id=t, period=2024, figures=figures(), actor="企业")
    )
    assert (submitted.to_state, submitted.version) == (UNDER_REVIEW, 3)
    review = db.row("reviews", r)
    assert (review["status"], review["submitted_at"]) == ("submitted", NOW)
    assert review["figures"]["headcount"] == "25"  # validated figures are stored exactly
    assert [(k, s) for k, _, s, _ in deadlines(db, t)] == [
        ("review_submission_due", "pending"),
        ("review_reminder", "cancelled"),
        ("review_reminder", "cancelled"),
    ]

    decided = service.handle(c.DecideReview(tenancy_id=t, period=2024))
    assert (decided.trigger, decided.to_state, decided.version) == ("pass_review", ACTIVE, 4)
    tenancy = db.row("tenancies", t)
    assert (tenancy["state"], tenancy["version"]) == (ACTIVE, 4)
    review = db.row("reviews", r)
    assert (review["status"], review["score"], review["grade"]) == ("decided", 60.9, "C")
    assert review["decided_at"] == NOW and review["trace"]["kind"] == "review"
    assert {s for _, _, s, _ in deadlines(db, t)} == {"cancelled"}
    assert notices(db, t) == [
        ("review_opened", f"review_opened:firm:{t}:2024"),
        ("review_received", f"review_received:firm:{t}:2024:2"),
        ("review_result", f"review_result:firm:{t}:2024"),
    ]
    result = db.rows("outbox", tenancy_id=t)[2]["context"]
    assert (result["grade"], result["outcome"]) == ("C", "pass")

    assert chained(db, t) == ["open_review", "submit_review", "pass_review"]
    events = db.events(t)
    assert [(e["from_state"], e["to_state"]) for e in events] == [
        (ACTIVE, UNDER_REVIEW),
        (UNDER_REVIEW, UNDER_REVIEW),
        (UNDER_REVIEW, ACTIVE),
    ]
    assert events[1]["actor"] == "企业" and events[2]["data"]["grade"] == "C"
    assert db.commits == commits + 3  # one commit per command


@pytest.mark.parametrize(
    ("now", "period"),
    [
        (datetime(2024, 12, 31, 8, 0, tzinfo=UTC), 2024),  # the year's last day: not ended
        (NOW, 2025),  # the year just begun
        (NOW, 2026),
    ],
)
def test_a_review_is_opened_only_for_a_year_that_has_ended(
    db: FakeDatabase, service: FakeService, now: datetime, period: int
) -> None:
    """The review covers a calendar year and opens in the January after it (RULEBOOK §3):
    opened on 31 December 2024, the 2024 review used to be due within days, before the year's
    figures existed."""
    t = resident(db)
    with pytest.raises(InvalidInput) as refused:
        service.with_clock(FixedClock(now)).handle(c.OpenReview(tenancy_id=t, period=period))
    assert refused.value.field == "period"
    assert refused.value.rule.startswith(f"{period} 年度尚未结束")
    assert f"the latest that can be opened now is {now.year - 1}" in refused.value.rule
    assert db.rows("reviews", tenancy_id=t) == [] and db.row("tenancies", t)["state"] == ACTIVE


def test_the_year_just_ended_is_opened_in_january() -> None:
    reviews.check_period_ended(2024, date(2025, 1, 2))
    reviews.check_period(2025, date(2025, 1, 2))  # read, remind, decide: up to this year
    with pytest.raises(InvalidInput, match="须为 2000 至 2025 之间的年份"):
        reviews.check_period(1999, date(2025, 1, 2))


def test_a_second_d_in_a_row_opens_a_forced_exit_case(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    db.add(
        "reviews",
        tenancy_id=t,
        period=2023,
        status="decided",
        opened_at=NOW,
        figures=figures(),
        trace={},
        grade="D",
        consequence="rectification",
        rulebook_version=RB.version,
    )
    # Opened in January, not submitted by its deadline (15 January): missing data grades D,
    # and a second D in a row forces the exit.
    service.handle(c.OpenReview(tenancy_id=t, period=2024))
    assert db.rows("reviews", tenancy_id=t, period=2024)[0]["due_on"] == date(2025, 1, 15)
    step = service.with_clock(FixedClock(AFTER_DUE)).handle(
        c.DecideReview(tenancy_id=t, period=2024)
    )
    assert (step.trigger, step.to_state) == ("fail_review", EXIT_NOTICE)
    assert db.row("tenancies", t)["state"] == EXIT_NOTICE
    (case,) = db.rows("exit_cases", tenancy_id=t)
    assert (case["exit_type"], case["grounds"], case["status"]) == (
        "forced",
        "consecutive_d",
        "open",
    )
    objection_due = date(2025, 1, 23)  # five working days after 16 January
    assert case["objection_due_on"] == objection_due
    pending = [d for d in deadlines(db, t) if d[2] == "pending"]
    assert pending == [
        ("objection_window_end", objection_due, "pending", f"objection_window_end:{t}:{case['id']}")
    ]
    cancelled = {k for k, _, s, _ in deadlines(db, t) if s == "cancelled"}
    assert cancelled <= set(RESIDENCY_DEADLINES) and "review_submission_due" in cancelled
    assert [m for m, _ in notices(db, t)] == ["review_opened", "review_result", "exit_notice"]
    exit_notice = db.rows("outbox", tenancy_id=t)[2]
    assert exit_notice["dedupe_key"] == f"exit_notice:firm:{t}:{case['id']}"
    context = exit_notice["context"]
    assert context["objection_due_on"] == "2025-01-23" and context["grounds"] == "consecutive_d"
    assert context["facts"] == "2024 年度考核等级 D" and context["rule_id"]
    assert chained(db, t) == ["open_review", "fail_review"]


def test_a_command_that_fails_after_its_writes_leaves_nothing(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    before = {name: db.rows(name) for name in ("tenancies", "reviews", "deadlines", "outbox")}

    def open_then_fail(w: Work) -> None:
        service.dispatch(w, c.OpenReview(tenancy_id=t, period=2024))
        assert w.uow.reviews.get(t, 2024) is not None  # the unit of work sees its own writes
        raise RuntimeError("the command fails after its writes")

    with pytest.raises(RuntimeError):
        service.run(open_then_fail)
    assert {name: db.rows(name) for name in before} == before
    assert db.events(t) == []


def test_the_handlers_refuse_what_the_rules_refuse_and_write_nothing(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    with pytest.raises(StaleTenancy):
        service.handle(c.OpenReview(tenancy_id=t, period=2024, expected_version=7))
    with pytest.raises(InvalidInput):
        service.handle(c.OpenReview(tenancy_id=t, period=1999))
    with pytest.raises(TransitionNotAllowed):
        service.handle(c.SubmitReview(tenancy_id=t, period=2024, figures=figures()))
    assert db.events(t) == [] and db.row("tenancies", t)["version"] == 1

    service.handle(c.OpenReview(tenancy_id=t, period=2024))
    with pytest.raises(InvalidInput) as err:
        service.handle(c.SubmitReview(tenancy_id=t, period=2024, figures={"headcount": -1}))
    assert any(line.startswith("figures.headcount") for line in err.value.context["problems"])
    # Not while the firm may still submit (as a cycle is decided) ...
    with pytest.raises(GuardFailed) as refused:
        service.handle(c.DecideReview(tenancy_id=t, period=2024))
    assert "2025-01-15" in refused.value.rule
    # ... and after its deadline, a chosen outcome other than the rules' needs a reason.
    late = service.with_clock(FixedClock(PAST_DUE))
    with pytest.raises(InvalidInput) as err:
        late.handle(c.DecideReview(tenancy_id=t, period=2024, outcome="fail"))
    assert err.value.field == "reason"
    assert chained(db, t) == ["open_review"]
    assert db.row("tenancies", t)["version"] == 2


def test_a_tenancy_moved_on_by_someone_else_is_stale_when_written(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)

    def open_a_stale_record(w: Work) -> None:
        tenancy = w.tenancy(t)  # read at version 1 ...
        assert isinstance(w.uow, FakeUnitOfWork)
        w.uow.rows["tenancies"][t]["version"] = 2  # ... moved on by another writer since
        effects = w.effects(tenancy)
        reviews.open_review(effects, RB, w.calendar, period=2024, actor="王", reason=None)
        w.apply(effects)

    with pytest.raises(StaleTenancy) as err:
        service.run(open_a_stale_record)
    assert (err.value.tenancy_id, db.row("tenancies", t)["version"]) == (t, 1)
    assert db.rows("reviews") == [] and db.events(t) == [] and db.rows("deadlines") == []


def test_the_same_review_cannot_be_opened_twice(db: FakeDatabase, service: FakeService) -> None:
    t = resident(db)
    service.handle(c.OpenReview(tenancy_id=t, period=2024))
    late = service.with_clock(FixedClock(PAST_DUE))
    late.handle(c.DecideReview(tenancy_id=t, period=2024, outcome="pass", reason="试运行"))
    with pytest.raises(AlreadyExists) as twice:
        service.handle(c.OpenReview(tenancy_id=t, period=2024))
    assert len(db.rows("reviews", tenancy_id=t)) == 1
    # said whole in Chinese first (it read "考核 2024 of tenancy 1 已存在")
    assert twice.value.message.startswith(f"入驻记录 {t} 的 2024 年度考核已存在 / review 2024")
    other = db.add_resident(now=NOW, rulebook=RB, name="蓉芯医疗", uscc="91510100MA6C000002")
    service.handle(c.OpenReview(tenancy_id=other, period=2024))
    with pytest.raises(NotFound) as missing:
        service.handle(c.SubmitReview(tenancy_id=other, period=2023, figures={}))
    assert missing.value.message.startswith(f"未找到入驻记录 {other} 的 2023 年度考核 / review")


def test_a_handler_that_reaches_for_sql_is_told_at_once(service: FakeService) -> None:
    with pytest.raises(NoDatabase):
        service.query(lambda w: w.session)


def test_a_cycle_is_decided_at_once_with_its_cohort_read_through_the_repositories(
    db: FakeDatabase, service: FakeService
) -> None:
    first = resident(db)
    second = db.add_resident(now=NOW, rulebook=RB, name="蓉芯医疗", uscc="91510100MA6C000002")
    for t in (first, second):
        service.handle(c.OpenReview(tenancy_id=t, period=2024))
        service.handle(c.SubmitReview(tenancy_id=t, period=2024, figures=figures(), actor="企业"))

    result = service.handle(c.DecideCycle(space="MC3", period=2024, actor="王"))
    assert (result["space"], result["period"], result["cohort"]) == ("MC3", 2024, 2)
    assert [(d["tenancy_id"], d["firm"], d["grade"], d["to"]) for d in result["decided"]] == [
        (first, "峰际生物", "C", ACTIVE),
        (second, "蓉芯医疗", "C", ACTIVE),
    ]
    assert result["already_decided"] == [] and result["graduation_candidates"] == []
    for t in (first, second):
        assert chained(db, t) == ["open_review", "submit_review", "pass_review"]
        (review,) = db.rows("reviews", tenancy_id=t)
        assert (review["status"], review["grade"]) == ("decided", "C")

    again = service.handle(c.DecideCycle(space="MC3", period=2024, actor="王"))
    assert again["decided"] == [] and len(again["already_decided"]) == 2


def test_figures_are_kept_as_they_were_checked_not_as_typed(
    db: FakeDatabase, service: FakeService
) -> None:
    """What the form's check read is what is kept, written as a person reads a number: a
    thousands separator, full-width digits, an exponent, a float's ``.0`` or a whole count's
    ``.00`` do not reach the record (or the firm's page)."""
    t = resident(db)
    service.handle(c.OpenReview(tenancy_id=t, period=2024))
    typed = {
        **figures(),
        "revenue_yuan": "1,200,000",
        "tax_paid_yuan": "1e5",
        "headcount": "１２",
        "rd_staff": "3.00",
        "equity_raised_yuan": 250000.0,
        "rd_spend_yuan": "240000.50",
    }
    service.handle(c.SubmitReview(tenancy_id=t, period=2024, figures=typed))
    stored = db.rows("reviews", tenancy_id=t)[0]["figures"]
    changed = (
        "revenue_yuan",
        "tax_paid_yuan",
        "headcount",
        "rd_staff",
        "equity_raised_yuan",
        "rd_spend_yuan",
    )
    assert {name: stored[name] for name in changed} == {
        "revenue_yuan": "1200000",
        "tax_paid_yuan": "100000",
        "headcount": "12",
        "rd_staff": "3",
        "equity_raised_yuan": "250000",
        "rd_spend_yuan": "240000.5",
    }
