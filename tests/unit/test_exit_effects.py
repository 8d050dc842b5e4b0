"""The exit decided as data, with no database: what ``workflows.exit_rules`` adds to an
:class:`~db.effects.Effects` when a forced-exit notice is served and ruled on, an exit or a
graduation begins, the premises are handed over and vacating is escalated, under the shipped
default rulebook and the official calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from test_review_effects import CAL, NOW, RB, TID, TODAY, keys, plain, tenancy

from db.cases import AllocationRow, EventRow, ExitCaseRow, ViolationRow
from db.effects import Effects
from lifecycle import rulebook as rbook
from lifecycle.errors import GuardFailed, InvalidInput, TransitionNotAllowed
from lifecycle.table import (
    ACTIVE,
    EXIT_NOTICE,
    EXITED,
    GRADUATION_PUBLICITY,
    VACATING,
)
from workflows import exit_rules
from workflows.quarterly_rules import QUARTERLY_DEADLINES
from workflows.reviews import RESIDENCY_DEADLINES

OBJECTION_DUE = date(2025, 1, 9)  # five working days after Thursday 2 January 2025
VACATE_DUE = date(2025, 2, 5)  # 30 days on is 1 February, in the Spring Festival: next workday
CASE = 12


def effects(state: str = ACTIVE, **changes: Any) -> Effects:
    return Effects(tenancy(state, **changes), now=NOW, today=TODAY)


def case(**changes: Any) -> ExitCaseRow:
    row = ExitCaseRow(
        id=CASE,
        tenancy_id=TID,
        exit_type="forced",
        grounds="arrears",
        facts="欠缴租金三个月",
        proof_of_service="EMS 1234",
        served_at=datetime(2024, 12, 20, 1, 0, tzinfo=UTC),
        objection_due_on=date(2024, 12, 27),
        objection=None,
        ruling=None,
        vacate_due_on=None,
        handed_over_at=None,
        checklist={},
        settlement={},
        status="open",
        rulebook_version=RB.version,
        created_at=datetime(2024, 12, 20, 1, 0, tzinfo=UTC),
    )
    for key, value in changes.items():
        setattr(row, key, value)
    return row


def waiver(window: str, subject: int, seq: int = 3) -> EventRow:
    data = {"window": window, "subject": subject, "waived_on": "2025-01-02", "document": "函 7"}
    return EventRow(seq=seq, trigger="waive_window", from_state=EXIT_NOTICE, data=data)


def serve(e: Effects, **kw: Any) -> Any:
    """Serve a notice on arrears, by default on a payment demand that ran out on 31 December
    unpaid (escalated, as the sweep leaves it)."""
    fields = {"grounds": "arrears", "facts": "欠缴租金三个月", "proof_of_service": "EMS 1234"}
    fields.update(kw.pop("fields", {}))
    ran_out = curing_violation(cure_due_on=date(2024, 12, 31), status="escalated")
    return exit_rules.serve_exit_notice(
        e,
        RB,
        CAL,
        fields=fields,
        violations=kw.pop("violations", [ran_out]),
        waivers=kw.pop("waivers", []),
        actor="王主任",
        reason="送达退出通知",
        **kw,
    )


def nothing_written(e: Effects) -> bool:
    return not (e.moved or e.events or e.inserts or e.updates or e.deadlines or e.notices)


# ---- serving notice ----------------------------------------------------------------------------
def test_serving_notice_opens_a_forced_case_with_its_objection_window() -> None:
    e = effects()
    step = serve(e)
    assert (step.trigger, step.from_state, step.to_state, step.version) == (
        "serve_exit_notice",
        ACTIVE,
        EXIT_NOTICE,
        6,
    )
    (event,) = e.events
    assert (event["seq"], event["actor"], event["rulebook_version"]) == (5, "王主任", RB.version)
    assert plain(event["data"]) == {
        "grounds": "arrears",
        "facts": "欠缴租金三个月",
        "proof_of_service": "EMS 1234",
        "rulebook_version": RB.version,
        "objection_due_on": OBJECTION_DUE.isoformat(),
    }
    ((ref, row),) = e.inserts
    assert ref.table == "exit_cases"
    assert (row["exit_type"], row["grounds"], row["objection_due_on"]) == (
        "forced",
        "arrears",
        OBJECTION_DUE,
    )
    assert (row["proof_of_service"], row["served_at"], row["status"]) == ("EMS 1234", NOW, "open")
    assert e.cancels == [RESIDENCY_DEADLINES]
    ref.id = CASE
    assert keys(e.deadlines) == [f"objection_window_end:{TID}:{CASE}"]
    assert e.deadlines[0]["due_on"] == OBJECTION_DUE
    assert keys(e.notices) == [f"exit_notice:firm:{TID}:{CASE}"]
    context = plain(e.notices[0]["context"])
    assert (context["grounds"], context["objection_due_on"]) == ("arrears", "2025-01-09")
    assert context["proof_of_service"] == "EMS 1234" and context["rule_id"]


def test_a_notice_served_under_another_rulebook_records_that_rulebook_in_its_event() -> None:
    e = effects(rulebook_version="0" * 64)
    serve(e)
    assert e.events[0]["rulebook_version"] == RB.version
    assert e.event_rulebook is None  # the tenancy keeps the rulebook it was admitted under


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"facts": "  "}, InvalidInput, "facts"),
        ({"proof_of_service": ""}, InvalidInput, "proof_of_service"),
        ({"grounds": "no_such_ground"}, InvalidInput, None),
    ],
)
def test_a_notice_without_facts_proof_or_known_grounds_is_refused_and_writes_nothing(
    fields: dict[str, str], error: type[Exception], field: str | None
) -> None:
    e = effects()
    with pytest.raises(error) as err:
        serve(e, fields=fields)
    if field is not None:
        assert getattr(err.value, "field", None) == field
    assert nothing_written(e) and e.tenancy.state == ACTIVE


def curing_violation(**changes: Any) -> ViolationRow:
    row = ViolationRow(
        id=31,
        tenancy_id=TID,
        code="arrears",
        facts="欠缴租金",
        evidence=None,
        cure_due_on=date(2025, 1, 10),
        status="open",
        reported_at=datetime(2024, 12, 26, 1, 0, tzinfo=UTC),
    )
    for key, value in changes.items():
        setattr(row, key, value)
    return row


def test_no_notice_on_a_violation_still_in_its_cure_period_unless_waived_in_writing() -> None:
    e = effects()
    with pytest.raises(GuardFailed) as err:
        serve(e, violations=[curing_violation()])
    assert "2025-01-10" in err.value.message and "innospace waive" in err.value.message
    assert nothing_written(e)

    e = effects()
    serve(e, violations=[curing_violation()], waivers=[waiver("cure", 31)])
    data = plain(e.events[0]["data"])
    assert data["waivers"] == [
        {"window": "cure", "waived_on": "2025-01-02", "document": "函 7", "event_seq": 3}
    ]
    assert e.updates == [("violations", 31, {"status": "escalated"})]


def test_a_violation_whose_cure_period_ended_is_escalated_by_the_notice_without_a_waiver() -> None:
    """The notice rests on it: left open, it could be recorded cured beside the exit case.
    One escalated already (by the sweep, or an earlier notice) is not written again."""
    e = effects()
    ended = curing_violation(cure_due_on=date(2025, 1, 1))
    earlier = curing_violation(id=30, cure_due_on=date(2024, 12, 1), status="escalated")
    serve(e, violations=[earlier, ended])
    assert "waivers" not in plain(e.events[0]["data"])
    assert e.updates == [("violations", 31, {"status": "escalated"})]


def test_an_open_violation_of_immediate_grounds_is_escalated_by_the_notice() -> None:
    e = effects()
    fraud = curing_violation(code="fraud", cure_due_on=None)
    serve(e, fields={"grounds": "fraud"}, violations=[fraud])
    assert e.updates == [("violations", 31, {"status": "escalated"})]


def test_a_notice_the_review_raises_by_itself_is_never_served_by_hand() -> None:
    """Two consecutive D grades and a failed rectification open their forced-exit case when
    the review is decided or the re-inspection failed; served by hand, they would skip both
    (a tenancy graded C and C, one never in rectification)."""
    for grounds in ("consecutive_d", "failed_rectification"):
        e = effects()
        with pytest.raises(InvalidInput) as refused:
            serve(e, fields={"grounds": grounds}, violations=[])
        assert refused.value.field == "grounds"
        assert "review decide" in refused.value.rule and "不能手工送达" in refused.value.rule
        assert nothing_written(e) and e.tenancy.state == ACTIVE


@pytest.mark.parametrize(
    ("grounds", "period"),
    [("arrears", "15日"), ("change_of_use", "15日"), ("credit_listing", "30日")],
)
def test_grounds_with_a_period_need_a_recorded_violation_whose_period_ran_out(
    grounds: str, period: str
) -> None:
    """A payment demand, a cure notice, a delisting period: the notice waits for a recorded
    violation of those grounds whose period ended uncured (or that the firm waived)."""
    e = effects()
    with pytest.raises(InvalidInput) as refused:
        serve(e, fields={"grounds": grounds}, violations=[])
    assert refused.value.field == "grounds"
    assert f"violation --code {grounds}" in refused.value.rule and period in refused.value.rule
    assert refused.value.rule.index("须先登记违规") < refused.value.rule.index(" / ")
    assert nothing_written(e)

    ran_out = curing_violation(code=grounds, cure_due_on=date(2025, 1, 1))
    step = serve(effects(), fields={"grounds": grounds}, violations=[ran_out])
    assert step.to_state == EXIT_NOTICE


def test_industry_misfit_is_served_only_as_the_term_ends_and_never_vacates_before_it() -> None:
    """At lease end only: within the rulebook's renewal_request period (2 months) before the
    term's end, or after it; the vacate date is then never before the term's end."""
    e = effects()  # the term ends on 31 March 2027
    with pytest.raises(InvalidInput) as refused:
        serve(e, fields={"grounds": "industry_misfit"}, violations=[])
    assert refused.value.field == "grounds" and "2027-03-31" in refused.value.rule
    assert "periods.renewal_request" in refused.value.rule and nothing_written(e)
    # 2 months from 2 January is 2 March (a Sunday): the 3rd; a term ending on the 4th is early
    with pytest.raises(InvalidInput):
        serve(effects(term_end=date(2025, 3, 4)), fields={"grounds": "industry_misfit"})

    e = effects(term_end=date(2025, 3, 3))
    assert serve(e, fields={"grounds": "industry_misfit"}).to_state == EXIT_NOTICE
    e = effects(EXIT_NOTICE, term_end=date(2025, 3, 3))
    exit_rules.confirm_exit(e, case(grounds="industry_misfit"), RB, CAL, actor="王", reason=None)
    assert e.updates[0][2]["vacate_due_on"] == date(2025, 3, 3)  # not 5 February
    assert e.deadlines[0]["due_on"] == date(2025, 3, 3)
    e = effects(EXIT_NOTICE, term_end=date(2025, 1, 20))
    exit_rules.confirm_exit(e, case(grounds="industry_misfit"), RB, CAL, actor="王", reason=None)
    assert e.updates[0][2]["vacate_due_on"] == VACATE_DUE  # the term ended first


# ---- the ruling ----------------------------------------------------------------------------------
def test_confirming_the_exit_sets_the_vacate_deadline_and_tells_the_firm() -> None:
    e = effects(EXIT_NOTICE)
    step = exit_rules.confirm_exit(e, case(), RB, CAL, actor="system", reason=None)
    assert (step.trigger, step.to_state) == ("confirm_exit", VACATING)
    assert e.updates == [
        (
            "exit_cases",
            CASE,
            {"ruling": exit_rules.CONFIRMED_RULING, "vacate_due_on": VACATE_DUE},
        )
    ]
    assert e.cancels == [("objection_window_end",)]
    (event,) = e.events
    assert event["reason"] == exit_rules.CONFIRMED_RULING
    assert plain(event["data"]) == {"exit_case": CASE, "vacate_due_on": "2025-02-05"}
    assert keys(e.deadlines) == [f"vacate_due:{TID}:{CASE}"]
    assert e.deadlines[0]["subject_id"] == CASE
    # The notice is keyed by the step's place in the chain: a retried ruling tells no one twice.
    assert keys(e.notices) == [f"exit_ruling:firm:{TID}:5"]
    context = plain(e.notices[0]["context"])
    assert (context["upheld"], context["vacate_due_on"], context["grounds"]) == (
        False,
        "2025-02-05",
        "arrears",
    )
    assert context["grounds_zh"] == rbook.exit_trigger(RB, "arrears").label_zh


def test_an_operator_confirms_only_after_the_window_and_never_over_a_defence() -> None:
    window_open = case(objection_due_on=date(2025, 1, 9))
    with pytest.raises(GuardFailed):
        exit_rules.objection_waiver(TID, window_open, TODAY, [])
    assert exit_rules.objection_waiver(TID, case(), TODAY, []) is None  # the window is over

    found = exit_rules.objection_waiver(TID, window_open, TODAY, [waiver("objection", CASE)])
    assert found is not None and found["document"] == "函 7"
    e = effects(EXIT_NOTICE)
    exit_rules.confirm_exit(e, window_open, RB, CAL, waiver=found, actor="王", reason="已放弃")
    assert plain(e.events[0]["data"])["waiver"]["event_seq"] == 3
    assert e.events[0]["reason"] == "已放弃"

    with pytest.raises(GuardFailed) as err:
        exit_rules.objection_waiver(TID, case(objection="我方已补缴"), TODAY, [])
    assert "rule --upheld/--dismissed" in err.value.message


def test_confirming_outside_the_objection_window_is_refused_by_the_table() -> None:
    e = effects(ACTIVE)
    with pytest.raises(TransitionNotAllowed):
        exit_rules.confirm_exit(e, case(), RB, CAL, actor="王", reason=None)
    assert not e.events and not e.notices


# ---- other exits ---------------------------------------------------------------------------------
def request(leave_on: str, seq: int = 3) -> EventRow:
    """The firm's written request to leave on ``leave_on``."""
    return EventRow(seq, "request_voluntary_exit", ACTIVE, {"leave_on": leave_on})


def test_a_voluntary_exit_moves_to_vacating_with_a_case_and_its_deadline() -> None:
    e = effects()
    step = exit_rules.open_exit(
        e,
        RB,
        CAL,
        trigger="begin_exit",
        exit_type="voluntary",
        approved=False,
        request=request("2025-01-06"),  # asked for in November, before the vacate period
        actor="王",
        reason="企业申请退出",
    )
    assert (step.trigger, step.to_state) == ("begin_exit", VACATING)
    ((ref, row),) = e.inserts
    assert (row["exit_type"], row["facts"], row["vacate_due_on"]) == (
        "voluntary",
        "企业申请退出",
        VACATE_DUE,
    )
    assert row["settlement"] == {"approved": False} and row.get("grounds") is None
    assert e.cancels == [RESIDENCY_DEADLINES]
    assert e.deadlines[0]["subject_id"] is ref  # the case's id, once the writer has it
    ref.id = 40
    assert keys(e.deadlines) == [f"vacate_due:{TID}:40"]
    assert [(n["message"], n["audience"]) for n in e.notices] == [("exit_confirmed", "firm")]
    assert plain(e.events[0]["data"])["request_seq"] == 3


def test_a_voluntary_exit_needs_the_firms_request_and_vacates_no_earlier_than_it_asked() -> None:
    e = effects()
    with pytest.raises(InvalidInput) as refused:
        exit_rules.open_exit(
            e, RB, CAL, trigger="begin_exit", exit_type="voluntary", approved=True, actor="王"
        )
    assert refused.value.field == "exit_type" and "书面退出申请" in refused.value.rule
    assert "exit request --leave-on" in refused.value.rule and nothing_written(e)

    e = effects()
    exit_rules.open_exit(
        e,
        RB,
        CAL,
        trigger="begin_exit",
        exit_type="voluntary",
        approved=True,
        request=request("2025-04-01"),
        actor="王",
    )
    ((_, row),) = e.inserts
    assert row["vacate_due_on"] == date(2025, 4, 1)  # not today + 30 days (5 February)
    assert e.deadlines[0]["due_on"] == date(2025, 4, 1)
    data = plain(e.events[0]["data"])
    assert (data["vacate_due_on"], data["leave_on"]) == ("2025-04-01", "2025-04-01")


def test_a_request_is_pending_until_an_exit_case_follows_it() -> None:
    asked = request("2025-04-01", seq=3)
    later = EventRow(4, "serve_exit_notice", ACTIVE, {})
    again = request("2025-05-06", seq=6)
    assert exit_rules.pending_request([], "request_voluntary_exit") is None
    assert exit_rules.pending_request([asked], "request_voluntary_exit") is asked
    assert exit_rules.pending_request([asked, later], "request_voluntary_exit") is None
    assert exit_rules.pending_request([asked, later, again], "request_voluntary_exit") is again


def test_a_term_expiry_exit_begins_only_as_the_term_ends_and_vacates_no_earlier() -> None:
    """Not long before the term's end: within the rulebook's renewal_request period (2
    months) of it, or after it; the vacate date is never before the term's end."""

    def begin(e: Effects) -> None:
        exit_rules.open_exit(
            e, RB, CAL, trigger="begin_exit", exit_type="term_expiry", approved=True, actor="王"
        )

    e = effects(term_end=date(2025, 3, 21))
    with pytest.raises(InvalidInput) as refused:
        begin(e)
    assert refused.value.field == "exit_type" and "2025-03-21" in refused.value.rule
    assert "periods.renewal_request" in refused.value.rule and nothing_written(e)

    e = effects(term_end=date(2025, 2, 20))
    begin(e)
    assert e.inserts[0][1]["vacate_due_on"] == date(2025, 2, 20)  # not 5 February
    e = effects(term_end=date(2024, 12, 31))  # ended: the vacate period on from today
    begin(e)
    assert e.inserts[0][1]["vacate_due_on"] == VACATE_DUE


def test_a_graduation_goes_on_publicity_first() -> None:
    e = effects()
    step = exit_rules.confirm_graduation(e, RB, CAL, approved=True, actor="王", reason="已毕业")
    assert (step.trigger, step.to_state) == ("confirm_graduation", GRADUATION_PUBLICITY)
    last = date(2025, 1, 8)  # five working days, the first one included
    assert plain(e.events[0]["data"]) == {
        "exit_type": "graduation",
        "approved": True,
        "publicity_from": "2025-01-02",
        "publicity_to": last.isoformat(),
        "rulebook_version": RB.version,
    }
    assert e.cancels == [RESIDENCY_DEADLINES] and not e.inserts
    assert keys(e.deadlines) == [f"{exit_rules.GRADUATION_PUBLICITY_END}:{TID}:5"]
    assert e.deadlines[0]["due_on"] == last
    assert [(n["message"], n["audience"]) for n in e.notices] == [
        ("graduation_publicity_start", "firm"),
        ("graduation_publicity_start", "operators"),
    ]


def test_the_graduation_exit_begins_when_its_publicity_is_over() -> None:
    confirmations = [
        EventRow(4, "confirm_graduation", ACTIVE, {"approved": True}),
        EventRow(5, "confirm_graduation", ACTIVE, {"approved": False}),
    ]
    e = effects(GRADUATION_PUBLICITY)
    with pytest.raises(GuardFailed) as err:
        exit_rules.graduate(
            e,
            RB,
            CAL,
            publicity_ends_on=TODAY,
            confirmations=confirmations,
            actor="system",
            reason=None,
        )
    assert "2025-01-02 inclusive" in err.value.message and nothing_written(e)

    e = effects(GRADUATION_PUBLICITY)
    step = exit_rules.graduate(
        e,
        RB,
        CAL,
        publicity_ends_on=date(2025, 1, 1),
        confirmations=confirmations,
        actor="system",
        reason="毕业公示期满",
    )
    assert (step.trigger, step.to_state) == ("graduate", VACATING)
    assert e.cancels == [(exit_rules.GRADUATION_PUBLICITY_END,), RESIDENCY_DEADLINES]
    ((_, row),) = e.inserts
    # The newest confirmation says whether it was approved; six months to move out.
    assert (row["exit_type"], row["settlement"]) == ("graduation", {"approved": False})
    assert row["vacate_due_on"] == date(2025, 7, 2)
    assert [(n["message"], n["audience"]) for n in e.notices] == [
        ("graduation", "firm"),
        ("graduation_publicity_end", "operators"),
    ]


def test_a_graduation_confirmed_without_saying_is_approved() -> None:
    assert exit_rules.graduation_approved([]) is True
    assert exit_rules.graduation_approved([EventRow(4, "confirm_graduation", None, {})])


# ---- handover ------------------------------------------------------------------------------------
FULL_CHECKLIST = dict.fromkeys(exit_rules.HANDOVER_ITEMS, True)


def test_an_incomplete_checklist_or_a_negative_amount_is_refused() -> None:
    with pytest.raises(GuardFailed) as err:
        exit_rules.check_handover(TID, {**FULL_CHECKLIST, "keys": False}, 0, 0)
    assert "keys" in err.value.message
    with pytest.raises(InvalidInput) as bad:
        exit_rules.check_handover(TID, FULL_CHECKLIST, 0, -1)
    assert bad.value.field == "damage_yuan"
    exit_rules.check_handover(TID, FULL_CHECKLIST, 0, 0)


def test_the_deposit_is_the_newest_amount_recorded() -> None:
    events = [
        EventRow(2, "sign", "admitted", {"deposit_yuan": 30000}),
        EventRow(6, "amend_agreement", ACTIVE, {"deposit_yuan": 45000}),
        EventRow(8, "amend_agreement", ACTIVE, {"units": [3]}),
    ]
    assert exit_rules.deposit_of(events) == 45000
    assert exit_rules.deposit_of([]) == 0


def test_handover_settles_closes_the_case_and_frees_the_units() -> None:
    e = effects(VACATING)
    benefit = rbook.Benefit("rent_free", Decimal("6000"), date(2024, 6, 1), 0)
    step = exit_rules.hand_over(
        e,
        case(exit_type="voluntary", grounds=None, settlement={"approved": True}),
        RB,
        CAL,
        checklist=FULL_CHECKLIST,
        arrears_yuan=1000,
        damage_yuan=0,
        deposit_yuan=30000,
        benefits=[benefit],
        allocations=[AllocationRow(51, 61), AllocationRow(52, 62)],
        actor="王",
        reason=None,
    )
    assert (step.trigger, step.to_state) == ("hand_over", EXITED)
    updates = [(t, i) for t, i, _ in e.updates]
    assert updates == [
        ("allocations", 51),
        ("units", 61),
        ("allocations", 52),
        ("units", 62),
        ("exit_cases", CASE),
    ]
    assert e.updates[0][2] == {"end_on": TODAY} and e.updates[1][2] == {"status": "available"}
    closed = e.updates[-1][2]
    assert (closed["status"], closed["handed_over_at"], closed["checklist"]) == (
        "closed",
        NOW,
        FULL_CHECKLIST,
    )
    assert closed["settlement"]["approved"] is True
    assert closed["settlement"]["refund_yuan"] == "29000.00"  # the deposit less the arrears
    # the firm has left: its pending quarterly reports are no longer asked for
    assert e.cancels == [("vacate_due", *QUARTERLY_DEADLINES)]
    data = plain(e.events[0]["data"])
    assert data["exit_case"] == CASE and data["registration_move_out_by"] == "2025-02-05"
    assert data["settlement"]["deductions_yuan"] == "1000.00"
    (notice,) = e.notices
    context = plain(notice["context"])
    assert "trace" not in context["settlement"] and context["claim_by"] == "2025-04-02"
    assert context["exit_type"] == "voluntary"


def test_escalating_vacating_tells_the_firm_and_its_manager() -> None:
    e = effects(VACATING)
    step = exit_rules.escalate_vacating(
        e, case(vacate_due_on=date(2024, 12, 31)), actor="system", reason="逾期未腾退"
    )
    assert (step.trigger, step.from_state, step.to_state) == (
        "escalate_vacating",
        VACATING,
        VACATING,
    )
    assert plain(e.events[0]["data"]) == {"exit_case": CASE, "vacate_due_on": "2024-12-31"}
    assert [(n["message"], n["audience"]) for n in e.notices] == [
        ("vacate_overdue", "firm"),
        ("vacate_overdue", "manager"),
    ]


def test_an_exit_the_table_refuses_adds_no_case() -> None:
    e = effects(VACATING)
    with pytest.raises(TransitionNotAllowed):
        exit_rules.open_exit(
            e,
            RB,
            CAL,
            trigger="begin_exit",
            exit_type="voluntary",
            approved=True,
            request=request("2025-03-03"),
            actor="王",
            reason=None,
        )
    assert nothing_written(e)
