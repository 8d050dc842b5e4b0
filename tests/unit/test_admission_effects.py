"""Admission decided as data, with no database: what ``workflows.applications`` and
``workflows.admittance`` add to an :class:`~db.effects.Effects` when a firm applies, is
screened, scored, approved or rejected, objected to during the 公示, admitted and signs — under
the shipped default rulebook and the official calendar."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from db.effects import Effects, Party, RefKey, TenancyRow
from db.repositories import (
    ApplicationRow,
    FirmRow,
    ForcedExitRow,
    ObjectionEvent,
    ScoreRow,
    UnitRow,
)
from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import AlreadyExists, GuardFailed, InvalidInput, TransitionNotAllowed
from lifecycle.table import (
    ACTIVE,
    ADMITTED,
    APPLIED,
    EVALUATING,
    EXIT_NOTICE,
    INFO_REQUESTED,
    PUBLICITY,
    REJECTED,
    WITHDRAWN,
)
from workflows import admittance, applications, rules
from workflows import commands as c
from workflows.applications import APPLICATION_DEADLINES

RB = rules.parse(rules.default_rulebook_text())
CAL = WorkCalendar()
NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
TODAY = date(2025, 3, 3)
HEAD = "cd" * 32
TID = 11
FIRM = FirmRow(
    3, make_uscc(random.Random(13)), "峰际生物", "pharma", None, None, None, None, None, "zh-CN"
)


def tenancy(state: str, **changes: Any) -> TenancyRow:
    row = TenancyRow(
        id=TID,
        firm_id=FIRM.id,
        space_id=2,
        state=state,
        version=4,
        track="incubation",
        term_start=None,
        term_end=None,
        rulebook_version=RB.version,
        score=None,
        priority=False,
        audit_seq=3,
        audit_head=HEAD,
        created_at=datetime(2025, 2, 3, 1, 0, tzinfo=UTC),
        updated_at=datetime(2025, 2, 20, 1, 0, tzinfo=UTC),
        party=Party(
            firm_id=FIRM.id,
            name=FIRM.name,
            uscc=FIRM.uscc,
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


def effects(state: str, **changes: Any) -> Effects:
    return Effects(tenancy(state, **changes), now=NOW, today=TODAY)


def application(**profile: Any) -> ApplicationRow:
    return ApplicationRow(
        id=21,
        tenancy_id=TID,
        track="incubation",
        requested_area_m2=120.0,
        profile={**good_profile(TODAY), **profile},
        submitted_at=NOW,
        decision={},
    )


def panel(*levels: float, conflicted: Sequence[str] = ()) -> list[ScoreRow]:
    return [
        ScoreRow(i, f"专家{i}", f"专家{i}" in conflicted, scores(level), 0.0)
        for i, level in enumerate(levels, start=1)
    ]


def plain(value: Any) -> Any:
    if isinstance(value, orjson.Fragment):
        return orjson.loads(orjson.dumps(value))
    return value


def keys(rows: list[dict[str, Any]]) -> list[str]:
    return [
        r["dedupe_key"].resolve() if isinstance(r["dedupe_key"], RefKey) else r["dedupe_key"]
        for r in rows
    ]


def messages(e: Effects) -> list[str]:
    return [n["message"] for n in e.notices]


def context(e: Effects, index: int = 0) -> dict[str, Any]:
    return dict(plain(e.notices[index]["context"]))


# ---- applying and screening ---------------------------------------------------------------------
def test_applying_inserts_the_application_and_starts_the_chain_at_the_created_version() -> None:
    e = Effects(tenancy(APPLIED, audit_seq=0, version=1), now=NOW, today=TODAY, new_version=2)
    step, ref = applications.apply(
        e, requested_area_m2=120.0, profile={"staff": 18}, actor="企业", reason=None
    )
    assert (step.trigger, step.from_state, step.to_state, step.version) == (
        "apply",
        None,
        APPLIED,
        1,
    )
    assert step.data == {}  # the command answers with the step alone
    ((inserted, values),) = e.inserts
    assert inserted is ref and ref.table == "applications"
    assert values == {
        "tenancy_id": TID,
        "track": "incubation",
        "requested_area_m2": 120.0,
        "profile": {"staff": 18},
        "submitted_at": NOW,
        "decision": {},
    }
    (event,) = e.events
    assert (event["seq"], event["from_state"], event["to_state"]) == (1, None, APPLIED)
    assert plain(event["data"]) == {"firm": FIRM.uscc, "space": "MC3", "track": "incubation"}
    assert e.tenancy_values()["version"] == 1
    assert keys(e.notices) == [f"application_received:firm:{TID}:1"]


def test_a_profile_that_is_not_one_names_every_problem() -> None:
    with pytest.raises(InvalidInput) as err:
        applications.application_profile(
            RB, FIRM, track="incubation", requested_area_m2=1, profile={"staff": "many"}
        )
    assert "staff" in str(err.value.context)


def test_screening_passes_on_to_evaluation_under_the_rulebook_that_screened_it() -> None:
    e = effects(APPLIED, rulebook_version="older")
    app = application()
    profile = applications.application_profile(
        RB, FIRM, track=app.track, requested_area_m2=120, profile=app.profile
    )
    step = applications.screen(e, app, RB, profile, barred_until=None, actor="王", reason=None)
    assert (step.trigger, step.to_state, e.tenancy.state) == ("screen_in", EVALUATING, EVALUATING)
    ((table, row_id, values),) = e.updates
    assert (table, row_id) == ("applications", 21)
    assert values["decision"]["rulebook_version"] == RB.version
    assert values["decision"]["screening"]["kind"] == "admission.hard_requirements"
    assert e.changed == {"rulebook_version": RB.version}
    (event,) = e.events
    assert event["rulebook_version"] == RB.version and event["reason"] is None
    assert plain(event["data"])["failures"] == []
    assert messages(e) == ["screening_result"]
    assert context(e)["passed"] is True


def test_screening_fails_naming_each_requirement_missed() -> None:
    e = effects(APPLIED)
    app = application(prohibited_business=True)
    profile = applications.application_profile(
        RB, FIRM, track=app.track, requested_area_m2=120, profile=app.profile
    )
    step = applications.screen(e, app, RB, profile, barred_until=None, actor="王", reason=None)
    assert (step.trigger, step.to_state) == ("screen_out", REJECTED)
    failures = plain(e.events[0]["data"])["failures"]
    assert failures and e.events[0]["reason"] == "; ".join(
        f"{f['id']} {f['label_zh']}" for f in failures
    )
    assert context(e)["passed"] is False and context(e)["failures"] == failures


def test_an_operators_rejection_at_screening_needs_a_reason() -> None:
    with pytest.raises(InvalidInput) as err:
        applications.screen_out(effects(APPLIED), actor="王", reason=None)
    assert err.value.field == "reason"
    e = effects(APPLIED)
    applications.screen_out(e, actor="王", reason="材料不实")
    assert e.tenancy.state == REJECTED
    assert context(e)["reason"] == "材料不实" and context(e)["failures"] == []


def test_a_fraud_exit_bars_reapplying_for_the_rulebooks_period() -> None:
    served = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    exits = [ForcedExitRow("fraud", None, served, served)]
    until = applications.reapply_barred_until(RB, CAL, exits)
    assert until is not None and until > TODAY
    assert applications.reapply_barred_until(RB, CAL, []) is None


def test_requesting_information_sets_its_lapse_deadline() -> None:
    e = effects(APPLIED)
    step = applications.request_info(e, RB, CAL, items="营业执照", actor="王", reason=None)
    assert step.to_state == INFO_REQUESTED
    due = date(2025, 3, 17)  # ten working days
    (deadline,) = e.deadlines
    assert (deadline["kind"], deadline["due_on"], deadline["due_at"]) == (
        "info_request_lapse",
        due,
        CAL.due_instant(due),
    )
    assert keys(e.deadlines) == [f"info_request_lapse:{TID}:4"]
    assert context(e)["due_on"] == "2025-03-17"
    with pytest.raises(InvalidInput):
        applications.request_info(effects(APPLIED), RB, CAL, items=" ", actor="王", reason=None)


def test_resubmitting_merges_the_profile_and_cancels_the_lapse() -> None:
    e = effects(INFO_REQUESTED)
    app = application()
    step = applications.resubmit(e, app, {"staff": 20, "assets_yuan": 1}, actor="企业", reason=None)
    assert step.to_state == APPLIED
    assert plain(e.events[0]["data"]) == {"changed": ["assets_yuan", "staff"]}
    ((_, _, values),) = e.updates
    assert values["profile"] == {**app.profile, "staff": 20, "assets_yuan": 1}
    assert e.cancels == [("info_request_lapse",)]
    assert e.notices == []


# ---- the panel ----------------------------------------------------------------------------------
def score(e: Effects, reviewer: str, scored: list[ScoreRow]) -> Any:
    return applications.score(
        e,
        RB,
        reviewer=reviewer,
        scores=scores(0.8),
        conflict_of_interest=False,
        scored=scored,
        actor="王",
        reason=None,
    )


def test_a_score_is_recorded_once_per_reviewer() -> None:
    e = effects(EVALUATING)
    step = score(e, "专家9", panel(0.7))
    assert (step.trigger, step.to_state) == ("score", EVALUATING)
    ((ref, values),) = e.inserts
    assert ref.table == "reviewer_scores" and values["reviewer"] == "专家9"
    assert values["total"] == plain(e.events[0]["data"])["total"] == sum(scores(0.8).values())
    with pytest.raises(AlreadyExists):
        score(effects(EVALUATING), "专家1", panel(0.7))
    with pytest.raises(InvalidInput):
        score(effects(EVALUATING), " ", [])


def test_approving_opens_the_publicity_with_its_deadline_and_two_notices() -> None:
    e = effects(EVALUATING)
    step = applications.approve(e, RB, CAL, panel(0.9, 0.8, 0.85), actor="王", reason=None)
    assert (step.trigger, step.to_state) == ("approve", PUBLICITY)
    data = plain(e.events[0]["data"])
    assert data["score"] == e.changed["score"] and e.changed["priority"] is True
    assert (data["publicity_from"], data["publicity_to"]) == ("2025-03-03", "2025-03-07")
    assert [(d["kind"], d["due_on"]) for d in e.deadlines] == [("publicity_end", date(2025, 3, 7))]
    assert keys(e.deadlines) == [f"publicity_end:{TID}:4"]
    assert messages(e) == ["scoring_result", "publicity_start"]
    assert context(e, 1)["period"] == RB.periods.publicity.describe()


def test_approval_and_rejection_need_a_valid_panel() -> None:
    short = panel(0.9, 0.9, 0.9, conflicted=("专家3",))  # two without a conflict of interest
    e = effects(EVALUATING)
    with pytest.raises(GuardFailed, match="no valid panel"):
        applications.approve(e, RB, CAL, short, actor="王", reason=None)
    with pytest.raises(GuardFailed, match="--without-panel"):
        applications.reject(e, RB, short, actor="王", reason=None)
    assert e.events == [] and e.notices == [] and e.changed == {}


def test_approval_below_the_pass_line_is_refused_by_the_table() -> None:
    e = effects(EVALUATING)
    with pytest.raises(GuardFailed):
        applications.approve(e, RB, CAL, panel(0.3, 0.3, 0.3), actor="王", reason=None)
    assert e.events == [] and e.deadlines == [] and e.notices == []


def test_rejecting_on_the_scores_records_the_mean() -> None:
    e = effects(EVALUATING)
    step = applications.reject(e, RB, panel(0.3, 0.4, 0.3), actor="王", reason="未达标")
    assert (step.trigger, step.to_state) == ("reject", REJECTED)
    mean = plain(e.events[0]["data"])["score"]
    assert e.changed == {"score": mean}
    assert context(e)["score"] == mean
    assert (context(e)["passed"], context(e)["reason"]) == (False, "未达标")


def test_a_rejection_without_a_panel_is_a_named_decision_with_grounds() -> None:
    with pytest.raises(InvalidInput) as err:
        applications.reject_without_panel(
            effects(EVALUATING), RB, [], grounds="逾期", actor="operator", reason=None
        )
    assert err.value.field == "actor"
    with pytest.raises(InvalidInput) as err:
        applications.reject_without_panel(
            effects(EVALUATING), RB, [], grounds=" ", actor="王", reason=None
        )
    assert err.value.field == "grounds"
    with pytest.raises(GuardFailed):
        applications.reject_without_panel(
            effects(EVALUATING), RB, panel(0.8, 0.8, 0.8), grounds="逾期", actor="王", reason=None
        )
    e = effects(EVALUATING)
    step = applications.reject_without_panel(
        e, RB, panel(0.8), grounds=" 专家未到 ", actor="王", reason=None
    )
    assert step.to_state == REJECTED
    data = plain(e.events[0]["data"])
    assert (data["grounds"], data["decided_by"], data["min_reviewers"]) == ("专家未到", "王", 3)
    assert messages(e) == ["rejection_without_panel"]


# ---- leaving before admission -------------------------------------------------------------------
def test_withdrawing_and_lapsing_cancel_every_application_deadline() -> None:
    e = effects(PUBLICITY)
    admittance.withdraw(e, actor="企业", reason="另择他址")
    assert e.tenancy.state == WITHDRAWN and e.cancels == [APPLICATION_DEADLINES]
    assert messages(e) == ["application_withdrawn"]

    due = date(2025, 2, 28)
    trace = admittance.lapse_trace(ADMITTED, RB, due_on=due, today=TODAY)
    assert trace["rulebook_version"] == RB.version
    (step,) = trace["trace"]["steps"]
    assert step["rule"] == "periods.agreement_signing" and step["result"] == "lapse"
    assert admittance.lapse_trace(APPLIED, RB, due_on=None, today=TODAY) == {}
    e = effects(ADMITTED)
    admittance.lapse(e, trace, actor="system", reason="未签约")
    assert e.tenancy.state == WITHDRAWN and e.cancels == [APPLICATION_DEADLINES]
    assert plain(e.events[0]["data"]) == trace and messages(e) == ["application_lapsed"]


# ---- objections and the end of the 公示 ---------------------------------------------------------
LODGED = ObjectionEvent("lodge_objection", PUBLICITY, True)
REFUSED = ObjectionEvent("lodge_objection", PUBLICITY, False)
DISMISSED = ObjectionEvent("dismiss_objection", PUBLICITY, False)
EARLIER = ObjectionEvent("lodge_objection", EXIT_NOTICE, True)


def test_objections_are_counted_since_the_state_was_entered() -> None:
    assert admittance.accepted_objections(PUBLICITY, [LODGED, REFUSED, LODGED]) == 2
    assert admittance.accepted_objections(PUBLICITY, [DISMISSED, LODGED, EARLIER]) == 1
    assert admittance.accepted_objections(EXIT_NOTICE, [LODGED, EARLIER]) == 0
    assert admittance.objections_ruled([DISMISSED, LODGED])
    assert not admittance.objections_ruled([LODGED, DISMISSED]) and not admittance.objections_ruled(
        []
    )


def lodge(e: Effects, **kw: Any) -> Any:
    given: dict[str, Any] = {
        "window_end": date(2025, 3, 7),
        "open_case": None,
        "written": True,
        "by": "李四",
        "grounds": "材料不实",
        "evidence": None,
        "actor": "王",
    }
    return admittance.lodge_objection(e, RB, **(given | kw))


def test_an_objection_is_recorded_with_whether_it_is_admissible() -> None:
    e = effects(PUBLICITY)
    step, decision = lodge(e)
    assert decision.passed and (step.trigger, step.to_state) == ("lodge_objection", PUBLICITY)
    data = plain(e.events[0]["data"])
    assert (data["kind"], data["accepted"]) == ("publicity_objection", True)
    assert e.events[0]["reason"] is None and e.updates == [] and e.notices == []

    e = effects(PUBLICITY)
    _, decision = lodge(e, by=None, window_end=date(2025, 2, 28))
    assert not decision.passed and e.events[0]["reason"] == decision.reason
    assert plain(e.events[0]["data"])["accepted"] is False

    with pytest.raises(TransitionNotAllowed):
        lodge(effects(ACTIVE))


def test_an_admissible_defence_is_written_on_the_open_exit_case() -> None:
    e = effects(EXIT_NOTICE)
    lodge(e, open_case=5)
    assert e.updates == [("exit_cases", 5, {"objection": "材料不实"})]
    assert plain(e.events[0]["data"])["kind"] == "exit_defence"
    with pytest.raises(InvalidInput):
        lodge(effects(EXIT_NOTICE), open_case=None)
    refused = effects(EXIT_NOTICE)
    lodge(refused, open_case=None, written=False)  # refused: no case is touched
    assert refused.updates == []


def test_a_ruling_on_the_publicity_needs_an_accepted_objection() -> None:
    with pytest.raises(GuardFailed):
        admittance.rule_on_publicity_objection(
            effects(PUBLICITY), [REFUSED], upheld=True, actor="王", reason="查实"
        )
    upheld = effects(PUBLICITY)
    step = admittance.rule_on_publicity_objection(
        upheld, [LODGED], upheld=True, actor="王", reason="查实"
    )
    assert (step.trigger, step.to_state) == ("uphold_objection", REJECTED)
    assert upheld.cancels == [APPLICATION_DEADLINES]
    dismissed = effects(PUBLICITY)
    step = admittance.rule_on_publicity_objection(
        dismissed, [LODGED], upheld=False, actor="王", reason="不实"
    )
    assert (step.trigger, step.to_state) == ("dismiss_objection", PUBLICITY)
    assert dismissed.cancels == []
    assert [context(x)["upheld"] for x in (upheld, dismissed)] == [True, False]


def test_the_publicity_ends_in_admission_after_its_last_day_with_objections_ruled() -> None:
    def end(e: Effects, last_day: date | None, events: list[ObjectionEvent]) -> Any:
        return admittance.end_publicity(
            e, RB, CAL, last_day=last_day, objections=events, actor="王", reason=None
        )

    with pytest.raises(GuardFailed, match="2025-03-03"):
        end(effects(PUBLICITY), TODAY, [])
    with pytest.raises(GuardFailed, match="awaits a ruling"):
        end(effects(PUBLICITY), date(2025, 2, 28), [LODGED])
    e = effects(PUBLICITY)
    step = end(e, date(2025, 2, 28), [DISMISSED, LODGED])
    assert (step.trigger, step.to_state) == ("admit", ADMITTED)
    assert e.cancels == [("publicity_end",)]
    due = date(2025, 3, 17)
    assert [(d["kind"], d["due_on"]) for d in e.deadlines] == [("agreement_lapse", due)]
    assert keys(e.deadlines) == [f"agreement_lapse:{TID}:4"]
    assert plain(e.events[0]["data"]) == {"sign_by": "2025-03-17"}
    assert messages(e) == ["admitted"] and context(e)["sign_by"] == "2025-03-17"


# ---- signing ------------------------------------------------------------------------------------
UNITS = {
    "A-101": UnitRow(31, 2, "A-101", "office", 80.0, "available"),
    "A-102": UnitRow(32, 2, "A-102", "office", 40.5, "available"),
    "B-201": UnitRow(33, 2, "B-201", "office", 60.0, "maintenance"),
}


def sign(e: Effects, codes: Sequence[str], let_to: dict[int, int] | None = None) -> Any:
    return admittance.sign(
        e,
        RB,
        CAL,
        application=application(),
        firm=FIRM,
        units=UNITS,
        let_to=let_to or {},
        lease=c.Sign(
            tenancy_id=e.tenancy.id,
            units=tuple(codes),
            term_start=date(2025, 4, 1),
            term_end=date(2027, 3, 31),
            deposit_yuan=5000,
        ),
        actor="王",
        reason=None,
    )


def test_signing_lets_the_units_starts_residency_and_sets_the_term_deadlines() -> None:
    e = effects(ADMITTED)
    step = sign(e, ["A-101", "A-102"])
    assert (step.trigger, step.to_state) == ("sign", ACTIVE)
    assert e.updates == [("units", 31, {"status": "let"}), ("units", 32, {"status": "let"})]
    assert [(ref.table, values["unit_id"], values["area_m2"]) for ref, values in e.inserts] == [
        ("allocations", 31, 80.0),
        ("allocations", 32, 40.5),
    ]
    assert e.changed == {
        "term_start": date(2025, 4, 1),
        "term_end": date(2027, 3, 31),
        "rulebook_version": RB.version,
    }
    assert e.cancels == [("agreement_lapse",)]
    data = plain(e.events[0]["data"])
    assert (data["area_m2"], data["deposit_yuan"], data["requested_area_m2"]) == (120.5, 5000, 120)
    assert keys(e.deadlines) == [
        f"term_expiry_warning:{TID}:2027-03-31:90",
        f"term_expiry_warning:{TID}:2027-03-31:60",
        f"term_expiry_warning:{TID}:2027-03-31:30",
        f"term_end:{TID}:2027-03-31",
    ]
    assert e.deadlines[0]["payload"] == {"days_left": 90, "term_end": "2027-03-31"}
    assert messages(e) == ["agreement_signed"] and context(e)["area_m2"] == 120.5


@pytest.mark.parametrize(
    ("codes", "let_to", "error", "words"),
    [
        (["A-101", "A-101"], {}, InvalidInput, "listed twice"),
        (["Z-999"], {}, InvalidInput, "no unit Z-999"),
        (["B-201"], {}, GuardFailed, "maintenance"),
        (["A-101"], {31: 8}, GuardFailed, "let to tenancy 8"),
    ],
)
def test_a_unit_is_let_once_and_only_if_it_is_available(
    codes: list[str], let_to: dict[int, int], error: type[Exception], words: str
) -> None:
    e = effects(ADMITTED)
    with pytest.raises(error, match=words):
        sign(e, codes, let_to)
    assert e.events == [] and e.updates == [] and e.inserts == []


def test_an_upheld_exit_defence_withdraws_the_case_and_returns_to_residency() -> None:
    e = effects(EXIT_NOTICE)
    step = admittance.uphold_exit_defence(e, 5, actor="王", reason="申辩成立")
    assert (step.trigger, step.to_state) == ("uphold_objection", ACTIVE)
    assert e.updates == [("exit_cases", 5, {"status": "withdrawn", "ruling": "申辩成立"})]
    assert e.cancels == [("objection_window_end",)]
    assert messages(e) == ["exit_ruling"] and context(e)["upheld"] is True
