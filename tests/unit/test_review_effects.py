"""The annual review decided as data, with no database: what ``workflows.reviews`` adds to an
:class:`~db.effects.Effects` when a review is opened, submitted and decided under the shipped
default rulebook and the official calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from conftest import local

from db.effects import Effects, Party, Ref, RefKey, TenancyRow
from db.repositories import ReviewRow
from lifecycle import rulebook as rbook
from lifecycle.audit import event_hash
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import InvalidInput, TransitionNotAllowed
from lifecycle.table import ACTIVE, EXIT_NOTICE, RECTIFYING, UNDER_REVIEW
from workflows import reviews, rules

RB = rules.parse(rules.default_rulebook_text())
CAL = WorkCalendar()
NOW = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a working day
TODAY = date(2025, 1, 2)
HEAD = "ab" * 32
TID = 7


def tenancy(state: str = ACTIVE, **changes: Any) -> TenancyRow:
    row = TenancyRow(
        id=TID,
        firm_id=3,
        space_id=2,
        state=state,
        version=5,
        track="incubation",
        term_start=date(2024, 4, 1),
        term_end=date(2027, 3, 31),
        rulebook_version=RB.version,
        score=80.0,
        priority=False,
        audit_seq=4,
        audit_head=HEAD,
        created_at=datetime(2024, 3, 4, 1, 0, tzinfo=UTC),
        updated_at=datetime(2024, 4, 1, 1, 0, tzinfo=UTC),
        party=Party(
            firm_id=3,
            name="峰际生物",
            uscc="91510100MA6C000001",
            contact_name="张敏",
            contact_email="zhang@example.cn",
            account_manager="李经理",
            locale="zh-CN",
            space_code="MC3",
            space_name="成都医学城三医创新中心",
        ),
    )
    for key, value in changes.items():
        setattr(row, key, value)
    return row


def effects(state: str = ACTIVE) -> Effects:
    return Effects(tenancy(state), now=NOW, today=TODAY)


def review_row(period: int = 2024, status: str = "submitted", **changes: Any) -> ReviewRow:
    row = ReviewRow(
        id=41,
        tenancy_id=TID,
        period=period,
        status=status,
        opened_at=datetime(2025, 1, 2, 1, 0, tzinfo=UTC),
        due_on=date(2025, 1, 15),
        submitted_at=None,
        figures={},
        score=None,
        grade=None,
        consequence=None,
        rulebook_version=RB.version,
        trace={},
        decided_at=None,
    )
    for key, value in changes.items():
        setattr(row, key, value)
    return row


def plain(value: Any) -> Any:
    """A JSON column value as it reads back (a pre-serialized fragment decoded)."""
    if isinstance(value, orjson.Fragment):
        return orjson.loads(orjson.dumps(value))
    return value


def expected_hash(event: dict[str, Any], data: dict[str, Any]) -> str:
    return event_hash(
        prev_hash=event["prev_hash"],
        tenancy_id=event["tenancy_id"],
        seq=event["seq"],
        actor=event["actor"],
        trigger=event["trigger"],
        from_state=event["from_state"],
        to_state=event["to_state"],
        reason=event["reason"],
        data=data,
        rulebook_version=event["rulebook_version"],
        occurred_at=event["occurred_at"],
    )


def keys(rows: list[dict[str, Any]]) -> list[str]:
    return [
        r["dedupe_key"].resolve() if isinstance(r["dedupe_key"], RefKey) else r["dedupe_key"]
        for r in rows
    ]


# ---- opening --------------------------------------------------------------------------------
def test_opening_a_review_moves_to_under_review_with_one_event_chained_to_the_head() -> None:
    e = effects()
    step = reviews.open_review(e, RB, CAL, period=2024, actor="王", reason="年度考核")
    due = rbook.review_due_on(RB, CAL, opened_on=TODAY)
    assert due == date(2025, 1, 15)  # the 10th working day of January (1 January a holiday)
    assert (step.trigger, step.from_state, step.to_state) == ("open_review", ACTIVE, UNDER_REVIEW)
    assert step.version == 6 and e.new_version == 6 and e.seen_version == 5
    assert e.moved and e.tenancy.state == UNDER_REVIEW

    (event,) = e.events
    assert (event["seq"], event["prev_hash"]) == (5, HEAD)
    assert (event["trigger"], event["from_state"], event["to_state"]) == (
        "open_review",
        ACTIVE,
        UNDER_REVIEW,
    )
    assert (event["actor"], event["reason"], event["rulebook_version"]) == (
        "王",
        "年度考核",
        RB.version,
    )
    assert event["occurred_at"] == NOW
    data = {"period": 2024, "due_on": due.isoformat()}
    assert plain(event["data"]) == data
    assert event["hash"] == expected_hash(event, data)
    # The tenancy now names the new event as its chain head.
    assert (e.tenancy.audit_seq, e.tenancy.audit_head) == (5, event["hash"])
    values = e.tenancy_values()
    assert values["state"] == UNDER_REVIEW and values["version"] == 6
    assert (values["audit_seq"], values["audit_head"]) == (5, event["hash"])


def test_opening_a_review_inserts_it_with_its_deadline_reminders_and_notice() -> None:
    e = effects()
    reviews.open_review(e, RB, CAL, period=2024, actor="王", reason=None)
    due = date(2025, 1, 15)

    ((ref, values),) = e.inserts
    assert ref.table == "reviews" and ref.id is None
    assert values == {
        "tenancy_id": TID,
        "period": 2024,
        "status": "open",
        "opened_at": NOW,
        "due_on": due,
        "figures": {},
        "trace": {},
        "rulebook_version": RB.version,
    }
    assert [(d["kind"], d["due_on"]) for d in e.deadlines] == [
        ("review_submission_due", due),
        ("review_reminder", CAL.subtract_working_days(due, 5)),
        ("review_reminder", CAL.subtract_working_days(due, 1)),
    ]
    assert [d["due_on"] for d in e.deadlines[1:]] == [date(2025, 1, 8), date(2025, 1, 14)]
    for d in e.deadlines:
        assert d["subject_id"] is ref and d["tenancy_id"] == TID and d["status"] == "pending"
        assert isinstance(d["dedupe_key"], RefKey) and d["dedupe_key"].ref is ref
    # The due date holds until the midnight that ends it; a reminder goes out as its day begins.
    assert [d["due_at"] for d in e.deadlines] == [
        local(2025, 1, 16, 0),
        local(2025, 1, 8, 0),
        local(2025, 1, 14, 0),
    ]
    assert [d["payload"] for d in e.deadlines] == [
        {},
        {"offset": -5, "due_on": "2025-01-15"},
        {"offset": -1, "due_on": "2025-01-15"},
    ]
    ref.id = 77  # as the writer does when it inserts the review
    assert keys(e.deadlines) == [
        f"review_submission_due:{TID}:77",
        f"review_reminder:{TID}:77:-5",
        f"review_reminder:{TID}:77:-1",
    ]

    (notice,) = e.notices
    assert notice["dedupe_key"] == f"review_opened:firm:{TID}:2024"
    assert (notice["message"], notice["audience"], notice["firm_id"]) == (
        "review_opened",
        "firm",
        3,
    )
    assert (notice["status"], notice["next_attempt_at"], notice["locale"]) == (
        "pending",
        NOW,
        "zh-CN",
    )
    context = plain(notice["context"])
    assert context["period"] == 2024 and context["due_on"] == "2025-01-15"
    assert context["tenancy"] == {"id": TID, "state": UNDER_REVIEW}
    assert context["firm"]["name"] == "峰际生物" and context["space"]["code"] == "MC3"
    assert not e.updates and not e.cancels


def test_a_year_before_the_term_began_is_not_reviewed() -> None:
    """A firm whose term began in April 2024 is reviewed for 2024 on, never for 2023 or a
    year before it came: nothing is added."""
    e = Effects(tenancy(), now=NOW, today=TODAY)
    with pytest.raises(InvalidInput) as refused:
        reviews.open_review(e, RB, CAL, period=2023, actor="王", reason=None)
    assert refused.value.field == "period"
    assert "入驻期始于 2024-04-01，2023 年度不在租期内" in str(refused.value)
    assert (e.inserts, e.deadlines, e.notices, e.events) == ([], [], [], [])
    reviews.open_review(e, RB, CAL, period=2024, actor="王", reason=None)
    assert [values["period"] for _, values in e.inserts] == [2024]


def test_a_reminder_already_past_is_not_added() -> None:
    late = Effects(tenancy(), now=NOW, today=date(2025, 1, 10))
    reviews.open_review(late, RB, CAL, period=2024, actor="王", reason=None)
    assert [d["kind"] for d in late.deadlines] == ["review_submission_due", "review_reminder"]
    assert late.deadlines[1]["payload"]["offset"] == -1


def test_opening_is_refused_where_the_table_does_not_allow_it_and_nothing_is_added() -> None:
    e = effects(RECTIFYING)
    with pytest.raises(TransitionNotAllowed, match="open_review"):
        reviews.open_review(e, RB, CAL, period=2024, actor="王", reason=None)
    assert not (e.events or e.inserts or e.deadlines or e.notices or e.moved)


# ---- submitting -----------------------------------------------------------------------------
def test_submitting_records_the_figures_and_cancels_the_reminders() -> None:
    e = effects(UNDER_REVIEW)
    step = reviews.submit_review(
        e, review_row(status="open"), {"headcount": 25}, actor="企业", reason=None
    )
    assert (step.trigger, step.from_state, step.to_state) == (
        "submit_review",
        UNDER_REVIEW,
        UNDER_REVIEW,
    )
    assert e.updates == [
        ("reviews", 41, {"figures": {"headcount": 25}, "status": "submitted", "submitted_at": NOW})
    ]
    assert e.cancels == [("review_reminder", "review_overdue_reminder")]
    (event,) = e.events
    data = {"period": 2024, "figures": {"headcount": 25}}
    assert plain(event["data"]) == data and event["hash"] == expected_hash(event, data)
    assert not e.inserts and not e.deadlines
    (receipt,) = e.notices  # the firm's receipt: what arrived, and until when it may correct
    assert receipt["message"] == "review_received" and receipt["audience"] == "firm"
    assert (
        plain(receipt["context"]).items()
        >= {
            "period": 2024,
            "received_on": "2025-01-02",
            "reported": 1,
            "due_on": "2025-01-15",
            "in_time": True,
        }.items()
    )


def test_a_corrected_submission_gets_its_own_receipt_and_a_late_one_says_so() -> None:
    first = effects(UNDER_REVIEW)
    again = Effects(tenancy(UNDER_REVIEW, version=6), now=NOW, today=TODAY)
    reviews.submit_review(
        first, review_row(status="open"), {"headcount": 25}, actor="企业", reason=None
    )
    late = review_row(status="submitted", due_on=date(2024, 12, 31))
    reviews.submit_review(
        again, late, {"headcount": 26, "rd_staff": None}, actor="企业", reason=None
    )
    (one,), (two,) = first.notices, again.notices
    assert one["dedupe_key"] != two["dedupe_key"]
    assert plain(two["context"])["in_time"] is False and plain(two["context"])["reported"] == 1


# ---- deciding -------------------------------------------------------------------------------
def test_a_second_d_in_a_row_fails_the_review_and_opens_a_forced_exit_case() -> None:
    decision = rbook.score_review(RB, figures={}, submitted=False, previous_grade="D")
    assert (decision.grade, decision.consequence) == ("D", "forced_exit")
    e = effects(UNDER_REVIEW)
    trace = decision.trace.to_dict()
    step = reviews.decide_review(
        e,
        review_row(status="open"),
        RB,
        CAL,
        score=decision.score,
        grade=decision.grade,
        consequence=decision.consequence,
        trace=trace,
        outcome=None,
        actor="operator",
        reason=None,
    )
    assert (step.trigger, step.to_state) == ("fail_review", EXIT_NOTICE)
    assert e.tenancy.state == EXIT_NOTICE
    (event,) = e.events
    assert (event["seq"], event["prev_hash"]) == (5, HEAD)
    data = plain(event["data"])
    assert (data["outcome"], data["grade"], data["period"]) == ("fail", "D", 2024)
    assert event["hash"] == expected_hash(event, data)

    (update,) = e.updates
    assert update[:2] == ("reviews", 41) and plain(update[2]["trace"]) == trace  # on the review
    assert {k: update[2][k] for k in ("status", "grade", "consequence", "decided_at")} == {
        "status": "decided",
        "grade": "D",
        "consequence": "forced_exit",
        "decided_at": NOW,
    }
    ((case, values),) = e.inserts
    assert case.table == "exit_cases"
    due = CAL.due_date(TODAY, RB.periods.objection_window)
    assert due == CAL.add_working_days(TODAY, 5)
    assert (values["exit_type"], values["grounds"], values["objection_due_on"]) == (
        "forced",
        "consecutive_d",
        due,
    )
    assert values["facts"] == "2024 年度考核等级 D"
    # The review's deadlines are cancelled, then every residency deadline (the case is moot).
    assert e.cancels == [reviews.REVIEW_DEADLINES, reviews.RESIDENCY_DEADLINES]
    assert "rectification_end" in reviews.RESIDENCY_DEADLINES
    (deadline,) = e.deadlines
    assert (deadline["kind"], deadline["due_on"], deadline["subject_id"]) == (
        "objection_window_end",
        due,
        case,
    )

    assert [n["message"] for n in e.notices] == ["review_result", "exit_notice"]
    result, notice = e.notices
    assert result["dedupe_key"] == f"review_result:firm:{TID}:2024"
    case.id = 12
    assert keys(e.deadlines) == [f"objection_window_end:{TID}:12"]
    assert notice["dedupe_key"].resolve() == f"exit_notice:firm:{TID}:12"
    trig = rbook.exit_trigger(RB, "consecutive_d")
    context = plain(notice["context"])
    # The four sections of the exit notice: the rule, the facts, the objection window, service.
    assert trig.rule_ref in context["rule"] and trig.label_zh in context["rule"]
    assert trig.label_en in context["rule_en"] and context["rule_id"] == trig.rule_ref
    assert RB.version[:12] in context["rule"]
    assert context["facts"] == "2024 年度考核等级 D"
    assert context["objection_due_on"] == due.isoformat()
    assert context["objection_period"] == RB.periods.objection_window.describe()
    assert context["proof_of_service"] == reviews.SYSTEM_SERVICE
    assert context["grounds"] == "consecutive_d"
    assert context["tenancy"]["state"] == EXIT_NOTICE


def test_a_first_d_orders_a_rectification_with_its_plan_and_end_deadlines() -> None:
    decision = rbook.score_review(RB, figures={}, submitted=False)
    assert (decision.grade, decision.consequence) == ("D", "rectification")
    e = effects(UNDER_REVIEW)
    step = reviews.decide_review(
        e,
        review_row(status="open"),
        RB,
        CAL,
        score=decision.score,
        grade=decision.grade,
        consequence=decision.consequence,
        trace={"defects": ["未按期报送数据", "安全检查未通过"]},
        outcome=None,
        actor="operator",
        reason=None,
    )
    assert (step.trigger, step.to_state) == ("order_rectification", RECTIFYING)
    ((ref, values),) = e.inserts
    plan_due = CAL.due_date(TODAY, RB.periods.rectification_plan)
    due = CAL.due_date(TODAY, RB.periods.rectification)
    assert ref.table == "rectifications"
    assert (values["review_id"], values["plan_due_on"], values["due_on"]) == (41, plan_due, due)
    assert values["defects"] == "未按期报送数据; 安全检查未通过"  # taken from the trace
    assert [(d["kind"], d["due_on"], d["subject_id"]) for d in e.deadlines] == [
        ("rectification_plan_due", plan_due, ref),
        ("rectification_end", due, ref),
    ]
    assert e.cancels == [reviews.REVIEW_DEADLINES]
    assert [n["message"] for n in e.notices] == ["review_result", "rectification_notice"]
    context = plain(e.notices[1]["context"])
    assert (context["plan_due_on"], context["due_on"]) == (plan_due.isoformat(), due.isoformat())
    assert context["defects"] == values["defects"] and context["grade"] == "D"
    ref.id = 5
    assert keys(e.deadlines) == [f"rectification_plan_due:{TID}:5", f"rectification_end:{TID}:5"]


def test_a_pass_moves_back_to_active_with_the_decision_under_the_spaces_rulebook() -> None:
    e = effects(UNDER_REVIEW)
    e.tenancy.rulebook_version = "0" * 64  # admitted under an older rulebook
    reviews.decide_review(
        e,
        review_row(),
        RB,
        CAL,
        score=91.0,
        grade="A",
        consequence="renewal_priority",
        trace={},
        outcome=None,
        actor="operator",
        reason=None,
    )
    (event,) = e.events
    assert (event["trigger"], event["to_state"]) == ("pass_review", ACTIVE)
    assert event["rulebook_version"] == RB.version  # the decision's, not the tenancy's
    assert e.tenancy.rulebook_version == "0" * 64 and e.event_rulebook is None
    assert not e.inserts and not e.deadlines
    assert [n["message"] for n in e.notices] == ["review_result"]


def test_overriding_the_outcome_without_a_reason_is_refused_and_adds_nothing() -> None:
    e = effects(UNDER_REVIEW)
    with pytest.raises(InvalidInput) as err:
        reviews.decide_review(
            e,
            review_row(),
            RB,
            CAL,
            score=91.0,
            grade="A",
            consequence="renewal_priority",
            trace={},
            outcome="fail",
            actor="operator",
            reason=None,
        )
    assert err.value.field == "reason"
    assert not (e.events or e.inserts or e.updates or e.cancels or e.deadlines or e.notices)
    assert not e.moved and e.tenancy.state == UNDER_REVIEW
    assert (e.tenancy.audit_seq, e.tenancy.audit_head) == (4, HEAD)


def test_an_override_with_a_reason_is_carried_out() -> None:
    e = effects(UNDER_REVIEW)
    step = reviews.decide_review(
        e,
        review_row(),
        RB,
        CAL,
        score=91.0,
        grade="A",
        consequence="renewal_priority",
        trace={},
        outcome="rectify",
        actor="operator",
        reason="现场核查发现安全隐患",
    )
    assert step.to_state == RECTIFYING
    assert [ref.table for ref, _ in e.inserts] == ["rectifications"]
    assert e.inserts[0][1]["defects"] == "2024 年度考核等级 A"


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        reviews.chosen_outcome("renewal_priority", "maybe", "因为")
    assert err.value.field == "outcome"


# ---- the period -----------------------------------------------------------------------------
@pytest.mark.parametrize("period", [1999, TODAY.year + 1, True, "2024", 2024.0])
def test_check_period_refuses_what_is_not_a_year_from_2000_to_this_one(period: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        reviews.check_period(period, TODAY)
    assert err.value.field == "period"


@pytest.mark.parametrize("period", [2000, 2024, TODAY.year])
def test_check_period_accepts_a_year_from_2000_to_this_one(period: int) -> None:
    reviews.check_period(period, TODAY)


def test_a_ref_key_resolves_to_the_row_id_the_writer_fills_in() -> None:
    ref = Ref("reviews")
    key = RefKey("review_reminder:7:", ref, ":-5")
    ref.id = 3
    assert key.resolve() == "review_reminder:7:3:-5"
