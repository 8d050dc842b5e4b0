"""Decisions through the rulebook, on SQLite and PostgreSQL.

A review cycle decided as one cohort (A cap, consequences, graduation offered), the admission
rules (re-application bar, scoring, 公示 objections, agreement lapse, unit allocation), the
working-day calendar refusing an unpublished year, and golden traces stored with decisions.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from conftest import local
from golden_figures import golden_figures as figures
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, col, func, select

from db.tables import Application, AuditEvent, ExitCase, OutboxMessage, Review, Tenancy, Unit
from entrypoints.demo_data import HANDOVER, good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from lifecycle.errors import (
    Conflict,
    GuardFailed,
    InvalidInput,
    NotFound,
    ScheduleNotPublished,
)
from workflows import benefits, decisions, rules
from workflows import commands as c
from workflows.answers import RequestVoluntaryExit
from workflows.corrections import AmendAgreement
from workflows.reviews import trace_digest
from workflows.service import Service
from workflows.sweeps import sweep_deadlines

SPACE = "MC3"
DEFAULT_VERSION = rules.parse(rules.default_rulebook_text(), "default").version


STRONG = figures(
    tax_paid_yuan=600_000,
    rd_spend_yuan=400_000,
    high_tech_enterprise=True,
    specialized_new=True,
    equity_raised_yuan=6_000_000,
    headcount=50,
    rd_staff=15,
    graduates_hired=5,
    activities_attended=4,
)  # 89.00, A (no cooperation)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
            for t in inspect(conn).get_table_names()
        }


class Park:
    """A space with units, and firms brought to the stage a test needs."""

    def __init__(self, service: Service, clock: FixedClock, seed: int = 7) -> None:
        self.service = service
        self.clock = clock
        self.rng = random.Random(seed)
        self.units = 0
        service.handle(c.CreateSpace(code=SPACE, name="成都医学城三医创新中心"))

    def do(self, command: c.Command) -> Any:
        return self.service.handle(command)

    def unit(self, area: float = 120, kind: str = "office") -> str:
        self.units += 1
        code = f"A-{100 + self.units}"
        self.do(c.AddUnit(space=SPACE, code=code, kind=kind, area_m2=area))
        return code

    def firm(self, name: str | None = None) -> str:
        uscc = make_uscc(self.rng)
        self.do(c.RegisterFirm(name=name or f"蓉创科技{uscc[-4:]}", uscc=uscc, industry="pharma"))
        return uscc

    def apply(self, uscc: str | None = None, **profile: Any) -> int:
        uscc = uscc or self.firm()
        today = self.clock.now().astimezone(local(2024, 1, 1).tzinfo).date()
        step = self.do(
            c.Apply(
                firm=uscc,
                space=SPACE,
                requested_area_m2=120,
                profile={**good_profile(today), **profile},
            )
        )
        return int(step.tenancy_id)

    def evaluating(self) -> int:
        t = self.apply()
        self.do(c.Screen(tenancy_id=t))
        return t

    def score(self, t: int, *levels: float, conflicted: int = 0) -> None:
        for i, level in enumerate(levels):
            self.do(
                c.ScoreApplication(
                    tenancy_id=t,
                    reviewer=f"专家{i}",
                    scores=scores(level),
                    conflict_of_interest=i < conflicted,
                )
            )

    def in_publicity(self) -> int:
        t = self.evaluating()
        self.score(t, 0.8, 0.8, 0.8)
        self.do(c.Approve(tenancy_id=t))
        return t

    def residents(self, n: int) -> list[int]:
        """``n`` firms applied 2024-03-04, admitted after 公示 and signed on 2024-03-11."""
        self.clock.set(local(2024, 3, 4, 9, 0))
        ts = [self.in_publicity() for _ in range(n)]
        self.clock.set(local(2024, 3, 11, 9, 0))
        for t in ts:
            self.do(c.EndPublicity(tenancy_id=t))
            self.do(
                c.Sign(
                    tenancy_id=t,
                    units=(self.unit(),),
                    term_start=date(2024, 4, 1),
                    term_end=date(2027, 3, 31),
                    deposit_yuan=20_000,
                )
            )
        return ts

    def review(self, t: int, period: int, figs: dict[str, Any] | None) -> None:
        self.do(c.OpenReview(tenancy_id=t, period=period))
        if figs is not None:
            self.do(c.SubmitReview(tenancy_id=t, period=period, figures=figs))

    def cycle(self, period: int, **kw: Any) -> dict[str, Any]:
        return self.service.run(  # type: ignore[no-any-return]
            lambda w: decisions.decide_cycle(w, SPACE, period, actor="operator", **kw)
        )


@pytest.fixture
def park(service: Service, clock: FixedClock) -> Park:
    return Park(service, clock)


def reviews(engine: Engine, period: int) -> dict[int, Review]:
    with Session(engine) as s:
        return {
            r.tenancy_id: r for r in s.exec(select(Review).where(Review.period == period)).all()
        }


def tenancy(engine: Engine, t: int) -> Tenancy:
    with Session(engine) as s:
        row = s.get(Tenancy, t)
        assert row is not None
        return row


def events(engine: Engine, t: int, trigger: str | None = None) -> list[AuditEvent]:
    with Session(engine) as s:
        rows = s.exec(
            select(AuditEvent).where(AuditEvent.tenancy_id == t).order_by(col(AuditEvent.seq))
        ).all()
    return [e for e in rows if trigger is None or e.trigger == trigger]


# ---- the review cycle ------------------------------------------------------------------------


def test_a_cycle_is_decided_as_one_cohort_with_the_a_cap_and_each_consequence(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    ts = park.residents(5)
    clock.set(local(2025, 1, 2, 9, 0))
    park.review(ts[0], 2024, STRONG)
    park.review(ts[1], 2024, {**STRONG, "headcount": 40})  # 88.20, A before the cap
    park.review(ts[2], 2024, {**STRONG, "headcount": 30})  # 87.40, A before the cap
    park.review(ts[3], 2024, figures())  # 60.90, C (no cooperation in the opportunity lists)
    park.review(ts[4], 2024, None)  # never submitted
    clock.set(local(2025, 1, 20, 9, 0))  # after the due date

    result = park.cycle(2024)

    got = {
        d["tenancy_id"]: (d["score"], d["scored_grade"], d["grade"], d["consequence"], d["to"])
        for d in result["decided"]
    }
    assert got == {
        ts[0]: (89.0, "A", "A", "renewal_priority", "active"),
        ts[1]: (88.2, "A", "B", "none", "active"),
        ts[2]: (87.4, "A", "B", "none", "active"),
        ts[3]: (60.9, "C", "C", "none", "active"),
        ts[4]: (0.0, "D", "D", "rectification", "rectifying"),
    }
    assert result["cohort"] == 5
    assert result["cap"] == {"grade": "A", "max_percent": 20, "demote_to": "B", "allowed": 1}
    stored = reviews(engine, 2024)
    assert {t: stored[t].grade for t in ts} == {
        ts[0]: "A",
        ts[1]: "B",
        ts[2]: "B",
        ts[3]: "C",
        ts[4]: "D",
    }
    cap_step = [s for s in stored[ts[1]].trace["steps"] if s["rule"] == "review.grade_cap"]
    assert cap_step == [
        {
            "rule": "review.grade_cap",
            "label_zh": "优秀等级比例上限",
            "label_en": "Cap on the share of top grades",
            "figures": {
                "score": "88.20",
                "cohort": 5,
                "with_grade": 3,
                "allowed": 1,
                "cutoff": "88.20",
            },
            "threshold": {"max_percent": 20, "rounding": "floor"},
            "result": "B",
            "note": "",
        }
    ]
    assert stored[ts[1]].trace["steps"][-1]["rule"] == "review.consequence"
    assert stored[ts[4]].trace["steps"][-1]["result"] == "rectification"
    for t in ts:
        trigger = "order_rectification" if t == ts[4] else "pass_review"
        (decided,) = events(engine, t, trigger)
        assert decided.rulebook_version == DEFAULT_VERSION
        # The trace is stored once, on the review; the event carries its digest.
        assert decided.data["trace_sha256"] == trace_digest(stored[t].trace)
        assert stored[t].rulebook_version == DEFAULT_VERSION
    with Session(engine) as s:
        notices = s.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.message == "review_result")
        ).one()
    assert notices == 5
    # graduation is offered, never applied: the A firm stays resident
    candidates = {
        g["tenancy_id"]: {m["id"] for m in g["met"]} for g in result["graduation_candidates"]
    }
    assert candidates == {t: {"high_tech_enterprise", "funding"} for t in ts[:3]}
    assert tenancy(engine, ts[0]).state == "active"
    # a second run finds nothing left to decide and changes nothing
    before = counts(engine)
    again = park.cycle(2024)
    assert again["decided"] == [] and len(again["already_decided"]) == 5
    assert counts(engine) == before


def test_the_cycle_waits_while_a_review_is_open_before_its_deadline(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    ts = park.residents(2)
    clock.set(local(2025, 1, 2, 9, 0))
    park.review(ts[0], 2024, figures())
    park.review(ts[1], 2024, None)
    before = counts(engine)
    with pytest.raises(Conflict, match=r"1 review\(s\) of MC3 for 2024 are still open until"):
        park.cycle(2024)
    with pytest.raises(NotFound):
        park.cycle(2023)
    with pytest.raises(InvalidInput, match="vetoes"):
        clock.set(local(2025, 1, 20, 9, 0))
        park.cycle(2024, vetoes={ts[0]: ["no_such_veto"]})
    assert counts(engine) == before


def test_a_recorded_violation_vetoes_a_single_decision_only_under_a_veto_code(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    """A firm's violations of the year veto its review only when their code is a veto's: a
    change of use (handled by its own cure period) leaves the grade to the figures, decided
    one review at a time as from the console."""
    ts = park.residents(1)
    clock.set(local(2024, 9, 2, 9, 0))
    park.do(c.ReportViolation(tenancy_id=ts[0], code="change_of_use", facts="改作宿舍"))
    clock.set(local(2025, 1, 2, 9, 0))
    park.review(ts[0], 2024, STRONG)
    park.do(c.DecideReview(tenancy_id=ts[0], period=2024))
    stored = reviews(engine, 2024)[ts[0]]
    veto = [s for s in stored.trace["steps"] if s["rule"] == "review.veto"]
    assert (stored.score, stored.grade, veto) == (89.0, "A", [])
    assert tenancy(engine, ts[0]).state == "active"


def test_a_veto_in_the_cycle_grades_d_and_a_second_d_forces_the_exit(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    ts = park.residents(2)
    clock.set(local(2025, 1, 2, 9, 0))
    park.review(ts[0], 2024, STRONG)
    park.review(ts[1], 2024, figures())
    first = park.cycle(2024, vetoes={ts[0]: ["fraud"]})
    assert [(d["grade"], d["vetoed"], d["to"]) for d in first["decided"]] == [
        ("D", ["fraud"], "rectifying"),
        ("C", [], "active"),
    ]
    park.do(c.Reinspect(tenancy_id=ts[0], passed=True, reason="整改完成"))
    clock.set(local(2026, 1, 5, 9, 0))
    park.review(ts[0], 2025, None)
    park.review(ts[1], 2025, figures(revenue_yuan=3_600_000, tax_paid_yuan=180_000))
    clock.set(local(2026, 2, 2, 9, 0))
    second = park.cycle(2025)
    assert [(d["grade"], d["consequence"], d["to"]) for d in second["decided"]] == [
        ("D", "forced_exit", "exit_notice"),
        ("C", "none", "active"),
    ]
    with Session(engine) as s:
        case = s.exec(select(ExitCase).where(ExitCase.tenancy_id == ts[0])).one()
    assert (case.exit_type, case.grounds, case.status) == ("forced", "consecutive_d", "open")
    # The reviews raise it; served by hand on a firm graded C and C it is refused.
    with pytest.raises(InvalidInput) as refused:
        park.do(
            c.ServeExitNotice(
                tenancy_id=ts[1],
                grounds="consecutive_d",
                facts="连续两年不合格",
                proof_of_service="EMS",
            )
        )
    assert refused.value.field == "grounds" and tenancy(engine, ts[1]).state == "active"


def test_forced_and_term_exits_wait_for_what_the_records_and_the_term_say(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    """Arrears: no notice without a payment demand recorded, none while it runs, one after it
    ran out unpaid. Industry misfit and term expiry: not long before the term ends (amended to
    31 March 2026), and then the firm is out no earlier than the term's end."""
    arrears, misfit, expiring = park.residents(3)
    clock.set(local(2025, 1, 2, 9, 0))
    for t in (misfit, expiring):
        park.do(AmendAgreement(tenancy_id=t, term_end=date(2026, 3, 31), reason="租期录入错误"))

    def notice(t: int, grounds: str) -> c.ServeExitNotice:
        return c.ServeExitNotice(
            tenancy_id=t, grounds=grounds, facts="巡查记录", proof_of_service="EMS 1"
        )

    for t, grounds in ((arrears, "arrears"), (misfit, "industry_misfit")):
        with pytest.raises(InvalidInput) as refused:
            park.do(notice(t, grounds))
        assert refused.value.field == "grounds"
    with pytest.raises(InvalidInput) as refused:
        park.do(c.BeginExit(tenancy_id=expiring, exit_type="term_expiry"))
    assert refused.value.field == "exit_type" and "2026-03-31" in refused.value.rule
    park.do(c.ReportViolation(tenancy_id=arrears, code="arrears", facts="欠缴租金三个月"))
    with pytest.raises(GuardFailed):  # the payment demand runs until 17 January
        park.do(notice(arrears, "arrears"))
    clock.set(local(2025, 1, 20, 9, 0))
    assert park.do(notice(arrears, "arrears")).to_state == "exit_notice"

    clock.set(local(2026, 2, 2, 9, 0))  # within two months (renewal_request) of the end
    park.do(c.BeginExit(tenancy_id=expiring, exit_type="term_expiry"))
    park.do(notice(misfit, "industry_misfit"))
    park.do(
        c.WaiveWindow(
            tenancy_id=misfit, window="objection", waived_on=date(2026, 2, 2), document="函 3"
        )
    )
    park.do(c.ConfirmExit(tenancy_id=misfit))
    ts = [misfit, expiring]
    with Session(engine) as s:
        cases = s.exec(select(ExitCase).where(col(ExitCase.tenancy_id).in_(ts))).all()
        due = {x.tenancy_id: x.vacate_due_on for x in cases}
    assert due == dict.fromkeys(ts, date(2026, 3, 31))  # not 4 March, 30 days on


# ---- admission -----------------------------------------------------------------------------


def test_a_firm_exited_for_fraud_is_barred_from_re_applying_for_two_years(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    (t,) = park.residents(1)
    uscc = _uscc_of(engine, t)
    clock.set(local(2024, 6, 3, 9, 0))
    park.service.run(
        lambda w: benefits.record_benefit(
            w,
            t,
            kind="rent_free",
            amount_yuan=36_000,
            granted_on=date(2024, 4, 1),
            commitment_months=24,
            actor="operator",
        )
    )
    park.do(
        c.ServeExitNotice(
            tenancy_id=t,
            grounds="fraud",
            facts="申请材料营业收入造假",
            proof_of_service="EMS 1234567890 签收",
        )
    )
    park.do(
        c.WaiveWindow(
            tenancy_id=t, window="objection", waived_on=date(2024, 6, 3), document="放弃申辩声明 01"
        )
    )
    park.do(c.RuleOnObjection(tenancy_id=t, upheld=False, reason="未提出申辩，维持退出决定"))
    park.do(c.HandOver(tenancy_id=t, checklist=HANDOVER))
    assert tenancy(engine, t).state == "exited"
    settled = events(engine, t, "hand_over")[0].data["settlement"]
    assert (
        settled["clawback_mode"],
        settled["clawback_yuan"],
        settled["refund_yuan"],
        settled["due_yuan"],
    ) == ("full", "36000.00", "0.00", "16000.00")

    clock.set(local(2026, 5, 29, 9, 0))
    again = park.apply(uscc)
    park.do(c.Screen(tenancy_id=again))
    assert tenancy(engine, again).state == "rejected"
    (screened,) = events(engine, again, "screen_out")
    assert [f["id"] for f in screened.data["failures"]] == ["R1"]
    assert screened.reason is not None and screened.reason.startswith("R1 ")
    r1 = [s for s in screened.data["trace"]["steps"] if s["rule"] == "R1"]
    assert r1[0]["result"] == "fail" and r1[0]["figures"]["barred_until"] == "2026-06-03"

    clock.set(local(2026, 6, 8, 9, 0))
    later = park.apply(uscc)
    park.do(c.Screen(tenancy_id=later))
    assert tenancy(engine, later).state == "evaluating"


def test_benefits_are_clawed_back_pro_rata_on_a_voluntary_exit_and_must_be_valid(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    (t,) = park.residents(1)
    clock.set(local(2025, 1, 27, 9, 0))  # the firm asks in writing to leave on 1 April
    park.do(RequestVoluntaryExit(tenancy_id=t, leave_on=date(2025, 4, 1), reason="迁往自有厂房"))
    clock.set(local(2025, 4, 1, 9, 0))

    def record(**kw: Any) -> Any:
        args = {
            "kind": "subsidy",
            "amount_yuan": 24_000,
            "granted_on": date(2024, 4, 1),
            "commitment_months": 24,
            "actor": "operator",
            **kw,
        }
        return park.service.run(lambda w: benefits.record_benefit(w, t, **args))

    before = counts(engine)
    for bad, message in (
        ({"kind": "cash"}, "benefit.kind: 须为以下之一：rent_free.* / must be one of rent_free"),
        ({"amount_yuan": -1}, r"benefit.amount_yuan: 不得为负数 / must be >= 0 \(yuan\)"),
        ({"amount_yuan": "lots"}, "benefit.amount_yuan: 须为有限数值（元） / must be a finite"),
        ({"commitment_months": -3}, "benefit.commitment_months"),
        ({"granted_on": date(2025, 5, 1)}, "granted_on: 不得晚于今天 / must not be in the future"),
        ({"granted_on": date(2024, 3, 1)}, "granted_on: 不得早于租期开始日.* / must not be before"),
    ):
        with pytest.raises(InvalidInput, match=message):
            record(**bad)
    assert counts(engine) == before
    record()
    park.do(c.BeginExit(tenancy_id=t, exit_type="voluntary", reason="迁往自有厂房"))
    park.do(c.HandOver(tenancy_id=t, checklist=HANDOVER))
    settled = events(engine, t, "hand_over")[0].data["settlement"]
    # 365 of the 730 committed days remain unserved: half the subsidy comes back
    assert (settled["clawback_mode"], settled["clawback_yuan"], settled["refund_yuan"]) == (
        "pro_rata",
        "12000.00",
        "8000.00",
    )


def _uscc_of(engine: Engine, t: int) -> str:
    from db.tables import Firm

    with Session(engine) as s:
        firm = s.get(Firm, tenancy(engine, t).firm_id)
        assert firm is not None
        return firm.uscc


def test_scoring_excludes_conflicts_trims_from_five_and_sets_the_priority_flag(
    park: Park, engine: Engine
) -> None:
    four = park.evaluating()
    park.score(four, 0.9, 0.6, 0.8, 0.8, 0.7, conflicted=1)  # 4 counted: no trim
    park.do(c.Approve(tenancy_id=four))
    (approved,) = events(engine, four, "approve")
    steps = {s["rule"]: s for s in approved.data["trace"]["steps"]}
    assert steps["admission.scoring.conflicts"]["figures"] == {"excluded": ["专家0"]}
    assert steps["admission.scoring.trim"]["figures"] == {"reviewers": 4, "dropped": []}
    assert (approved.data["score"], approved.data["priority"]) == (72.75, False)

    five = park.evaluating()
    park.score(five, 0.2, 1.0, 0.9, 0.85, 0.8, 0.3, conflicted=1)  # 5 counted: trimmed
    park.do(c.Approve(tenancy_id=five))
    (approved,) = events(engine, five, "approve")
    steps = {s["rule"]: s for s in approved.data["trace"]["steps"]}
    assert steps["admission.scoring.trim"]["figures"] == {
        "reviewers": 5,
        "dropped": ["专家5", "专家1"],
    }
    assert steps["admission.scoring.priority"]["result"] == "pass"
    assert tenancy(engine, five).priority is True

    low = park.evaluating()
    park.score(low, 0.5, 0.55, 0.5)
    before = counts(engine)
    with pytest.raises(GuardFailed):
        park.do(c.Approve(tenancy_id=low))
    assert counts(engine) == before
    park.do(c.Reject(tenancy_id=low))
    (rejected,) = events(engine, low, "reject")
    assert [
        s["result"]
        for s in rejected.data["trace"]["steps"]
        if s["rule"] == "admission.scoring.pass"
    ] == ["fail"]


def test_objections_to_the_publicity_are_accepted_only_written_named_and_on_time(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    t = park.in_publicity()  # 公示 2024-03-04..08

    def lodge(**kw: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"by": "张三", "written": True, "grounds": "该企业并非孵化期"}
        return park.do(c.LodgeObjection(tenancy_id=t, **{**args, **kw}))  # type: ignore[no-any-return]

    anonymous = lodge(by=None)
    assert not anonymous["accepted"] and "匿名异议不予受理" in anonymous["refusal"]
    oral = lodge(written=False)
    assert not oral["accepted"] and "书面" in oral["refusal"]
    bare = lodge(grounds="")
    assert not bare["accepted"] and "理由" in bare["refusal"]
    good = lodge()
    assert good["accepted"] and good["refusal"] is None
    clock.set(local(2024, 3, 11, 9, 0))
    late = lodge()
    assert not late["accepted"] and "逾期不予受理" in late["refusal"]
    lodged = events(engine, t, "lodge_objection")
    assert [e.data["accepted"] for e in lodged] == [False, False, False, True, False]
    assert lodged[0].reason is not None and "匿名" in lodged[0].reason
    assert [s["rule"] for s in lodged[-1].data["trace"]["steps"]] == [
        "written",
        "named",
        "has_reasons",
        "in_window",
    ]
    with pytest.raises(GuardFailed, match="objection awaits a ruling"):
        park.do(c.EndPublicity(tenancy_id=t))
    park.do(c.RuleOnObjection(tenancy_id=t, upheld=False, reason="经核查，异议不成立"))
    park.do(c.EndPublicity(tenancy_id=t))
    assert tenancy(engine, t).state == "admitted"


def test_an_admission_lapses_unless_signed_within_ten_working_days(
    park: Park, service: Service, engine: Engine, clock: FixedClock
) -> None:
    t = park.in_publicity()
    clock.set(local(2024, 3, 11, 9, 0))
    park.do(c.EndPublicity(tenancy_id=t))  # admitted Monday 2024-03-11
    (admitted,) = events(engine, t, "admit")
    assert admitted.data["sign_by"] == "2024-03-25"  # 10 working days, the day not counted
    clock.set(local(2024, 3, 25, 20, 0))
    sweep_deadlines(service, until=local(2024, 3, 25, 23, 59))
    assert tenancy(engine, t).state == "admitted"  # the deadline holds until 24:00
    clock.set(local(2024, 3, 26, 0, 5))
    sweep_deadlines(service, until=local(2024, 3, 26, 0, 5))
    assert tenancy(engine, t).state == "withdrawn"
    lapsed = events(engine, t)[-1]
    assert lapsed.trigger == "lapse"
    assert lapsed.data["trace"]["steps"] == [
        {
            "rule": "periods.agreement_signing",
            "label_zh": "未在规定期限内签订入驻协议",
            "label_en": "Agreement not signed in time",
            "figures": {"due_on": "2024-03-25", "today": "2024-03-26"},
            "threshold": {"agreement_signing": "10个工作日"},
            "result": "lapse",
            "note": "",
        }
    ]


def test_units_are_let_only_when_available_and_within_the_track_area(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    small, big, other = park.unit(), park.unit(area=900, kind="lab"), park.unit()
    repair = park.unit()
    with Session(engine) as s:
        row = s.exec(select(Unit).where(Unit.code == repair)).one()
        row.status = "maintenance"
        s.add(row)
        s.commit()
    ts = [park.in_publicity() for _ in range(2)]
    clock.set(local(2024, 3, 11, 9, 0))
    for t in ts:
        park.do(c.EndPublicity(tenancy_id=t))
    term = {"term_start": date(2024, 4, 1), "term_end": date(2027, 3, 31)}
    park.do(c.Sign(tenancy_id=ts[0], units=(other,), **term))
    before = counts(engine)
    with pytest.raises(InvalidInput, match="track incubation allows at most 1000 m²"):
        park.do(c.Sign(tenancy_id=ts[1], units=(small, big), **term))
    with pytest.raises(GuardFailed, match=f"unit {repair} is maintenance"):
        park.do(c.Sign(tenancy_id=ts[1], units=(repair,), **term))
    with pytest.raises(GuardFailed, match="cannot be let twice"):
        park.do(c.Sign(tenancy_id=ts[1], units=(other,), **term))
    with pytest.raises(InvalidInput, match="Lease at most the maximum length"):
        park.do(
            c.Sign(
                tenancy_id=ts[1],
                units=(small,),
                term_start=date(2024, 4, 1),
                term_end=date(2028, 3, 31),
            )
        )
    assert counts(engine) == before
    park.do(c.Sign(tenancy_id=ts[1], units=(small,), **term))
    assert tenancy(engine, ts[1]).state == "active"


def test_a_deadline_in_an_unpublished_year_is_refused_until_the_operator_enters_it(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    clock.set(local(2026, 12, 28, 9, 0))
    t = park.evaluating()
    park.score(t, 0.8, 0.8, 0.8)
    before = counts(engine)
    with pytest.raises(ScheduleNotPublished, match="2027 is not published"):
        park.do(c.Approve(tenancy_id=t))  # 公示 would end in January 2027
    assert counts(engine) == before
    park.do(c.SetCalendarDay(day=date(2027, 1, 1), workday=False, note="元旦"))
    with pytest.raises(ScheduleNotPublished, match="2027 is not published"):
        park.do(c.Approve(tenancy_id=t))  # one day entered is not the year published
    park.do(c.PublishCalendarYear(year=2027))
    park.do(c.Approve(tenancy_id=t))
    (approved,) = events(engine, t, "approve")
    assert approved.data["publicity_to"] == "2027-01-04"


# ---- golden traces -------------------------------------------------------------------------

GOLDEN_USCC = "91510115MA6UCQWD1X"
GOLDEN_PROFILE = {
    "founded_on": "2023-05-10",
    "staff": 18,
    "revenue_yuan": 1_200_000,
    "assets_yuan": 3_000_000,
    "prev_year_revenue_yuan": 900_000,
    "industry": "pharma",
    "track": "incubation",
    "requested_area_m2": 120,
    "prohibited_business": False,
    "major_incident_recent": False,
    "abnormal_operations_listed": False,
    "serious_dishonest_listed": False,
    "dishonest_executee": False,
    "ip_ownership_clear": True,
    "env_fire_safety_approved": True,
    "water_intensive_or_polluting": False,
    "will_register_in_space": True,
}


def _step(
    rule: str, zh: str, en: str, figures: Any, threshold: Any, result: Any, note: str = ""
) -> dict[str, Any]:
    return {
        "rule": rule,
        "label_zh": zh,
        "label_en": en,
        "figures": figures,
        "threshold": threshold,
        "result": result,
        "note": note,
    }


GOLDEN_SCREENING = {
    "kind": "admission.hard_requirements",
    "rulebook_version": "<version>",
    "steps": [],
}  # filled in below, one literal step per requirement
GOLDEN_SCREENING["steps"] = [
    _step(
        "H1",
        "具有独立法人资格，统一社会信用代码有效",
        "A legal entity with a valid unified social credit code",
        {"uscc": GOLDEN_USCC},
        {"standard": "GB 32100-2015"},
        "pass",
    ),
    _step(
        "H2",
        "符合科技型中小企业条件，无禁止类业务、重大事故及失信记录",
        "A tech SME: within size caps, no prohibited business, major incident or credit listing",
        {
            "prohibited_business": False,
            "major_incident_recent": False,
            "abnormal_operations_listed": False,
            "serious_dishonest_listed": False,
            "dishonest_executee": False,
            "staff": 18,
            "revenue_yuan": "1200000",
            "assets_yuan": "3000000",
        },
        {
            "require_false": [
                "prohibited_business",
                "major_incident_recent",
                "abnormal_operations_listed",
                "serious_dishonest_listed",
                "dishonest_executee",
            ],
            "max_staff": 500,
            "max_revenue_yuan": 200000000,
            "max_assets_yuan": 200000000,
        },
        "pass",
    ),
    _step(
        "H3",
        "注册并实际在空间内经营，新设企业签约后30日内完成注册",
        "Registers and works in the space; a new firm registers within 30 days of signing",
        {"will_register_in_space": True},
        {
            "require_true": ["will_register_in_space"],
            "period": {"registration_after_signing": "30d"},
        },
        "pass",
    ),
    _step(
        "H4",
        "孵化类企业成立时间不超过24个月",
        "Incubation track: firm at most 24 months old at entry",
        {"track": "incubation", "founded_on": "2023-05-10", "on": "2024-03-04", "age_months": 9},
        {"max_age_months": 24, "latest_entry_on": "2025-05-10"},
        "pass",
    ),
    _step(
        "H5",
        "孵化类企业租用面积不超过1000平方米",
        "Incubation track: leases at most 1000 m²",
        {"track": "incubation", "requested_area_m2": "120"},
        {"max_area_m2": "1000"},
        "pass",
    ),
    _step(
        "H6",
        "孵化类企业上年度营业收入不超过200万元",
        "Incubation track: previous-year revenue at most 2,000,000 yuan",
        {"track": "incubation", "prev_year_revenue_yuan": "900000"},
        {"max_prev_year_revenue_yuan": 2000000},
        "pass",
    ),
    _step(
        "H7",
        "知识产权归属清晰，业务符合空间主导产业及招引需求清单",
        "Clear IP ownership; business on the space's recruitment list",
        {"ip_ownership_clear": True, "industry": "pharma"},
        {
            "require_true": ["ip_ownership_clear"],
            "industries": ["pharma", "medical_devices", "health_services", "medical_big_data"],
        },
        "pass",
    ),
    _step(
        "H8",
        "实验及生产用途已取得环评、消防、安全审批，无高耗水、高污染工艺",
        "Environmental, fire and safety approvals; no water-intensive or polluting processes",
        {"env_fire_safety_approved": True, "water_intensive_or_polluting": False},
        {
            "require_true": ["env_fire_safety_approved"],
            "require_false": ["water_intensive_or_polluting"],
        },
        "pass",
    ),
    _step(
        "R1",
        "不在因欺诈退出后的重新申请限制期内",
        "Not barred from re-applying after a fraud exit",
        {"on": "2024-03-04", "barred_until": None},
        {},
        "pass",
    ),
]


def _item(
    item: str, zh: str, en: str, figures: Any, threshold: Any, result: str, note: str = ""
) -> dict[str, Any]:
    return _step(f"review.item.{item}", zh, en, figures, threshold, result, note)


GOLDEN_REVIEW = {
    "kind": "review",
    "rulebook_version": "<version>",
    "steps": [
        _step(
            "review.fact.data_on_time",
            "按时报送考核数据（不晚于截止日）",
            "Figures submitted by the due date",
            {"submitted_on": "2025-01-02", "due_on": "2025-01-15", "days_late": 0},
            None,
            True,
        ),
        _step(
            "review.fact.cooperation",
            "机会清单合作（当年发布条目及成交对接）",
            "Opportunity-list cooperation (entries published and deals made this year)",
            {"published_entries": 0, "deals": 0},
            None,
            "0",
        ),
        _item(
            "revenue_growth",
            "营业收入增长",
            "Revenue growth",
            {"revenue_yuan": "3000000", "previous_revenue_yuan": None},
            {"points": 10, "full_at_percent": "20", "no_previous_percent": 50},
            "5.00",
            "no previous-year figure",
        ),
        _item(
            "tax_paid",
            "实缴税收",
            "Tax paid",
            {"tax_paid_yuan": "150000"},
            {"points": 10, "full_at": "500000"},
            "3.00",
        ),
        _item(
            "tax_per_m2",
            "单位面积税收（按租赁面积）",
            "Tax per m² of leased area",
            {"tax_paid_yuan": "150000", "leased_area_m2": "120.0", "per_m2": "1250.00"},
            {"points": 10, "full_at": "500"},
            "10.00",
        ),
        _step(
            "review.category.economic",
            "经济贡献",
            "Economic contribution",
            {"revenue_growth": "5.00", "tax_paid": "3.00", "tax_per_m2": "10.00"},
            {"weight": 30},
            "18.00",
        ),
        _item(
            "rd_intensity",
            "研发投入强度",
            "R&D intensity",
            {"rd_spend_yuan": "240000", "revenue_yuan": "3000000", "percent": "8.00"},
            {"points": 10, "full_at_percent": "10"},
            "8.00",
        ),
        _item(
            "new_ip",
            "新增专利及软件著作权",
            "New patents and software copyrights",
            {"new_ip_count": "5"},
            {"points": 10, "full_at": "5"},
            "10.00",
        ),
        _item(
            "high_tech_enterprise",
            "高新技术企业资质",
            "High-tech enterprise status",
            {"high_tech_enterprise": False},
            {"points": 5},
            "0.00",
        ),
        _item(
            "tech_sme",
            "科技型中小企业资质",
            "Tech SME status",
            {"tech_sme": True},
            {"points": 2},
            "2.00",
        ),
        _item(
            "specialized_new",
            "专精特新资质",
            "Specialized and innovative status",
            {"specialized_new": False},
            {"points": 3},
            "0.00",
        ),
        _step(
            "review.category.innovation",
            "创新能力",
            "Innovation",
            {
                "rd_intensity": "8.00",
                "new_ip": "10.00",
                "high_tech_enterprise": "0.00",
                "tech_sme": "2.00",
                "specialized_new": "0.00",
            },
            {"weight": 30},
            "20.00",
        ),
        _item(
            "tax_growth",
            "税收同比增长（超过20%得满分）",
            "Tax growth year on year (full marks above 20 %)",
            {"tax_paid_yuan": "150000", "previous_tax_paid_yuan": None},
            {"points": 8, "full_at_percent": "20", "no_previous_percent": 50},
            "4.00",
            "no previous-year figure",
        ),
        _item(
            "equity_raised",
            "股权融资",
            "Equity raised",
            {"equity_raised_yuan": "1000000"},
            {"points": 7, "full_at": "5000000"},
            "1.40",
        ),
        _step(
            "review.category.growth_financing",
            "成长性与融资",
            "Growth & financing",
            {"tax_growth": "4.00", "equity_raised": "1.40"},
            {"weight": 15},
            "5.40",
        ),
        _item(
            "headcount",
            "从业人员",
            "Headcount",
            {"headcount": "25"},
            {"points": 4, "full_at": "50"},
            "2.00",
        ),
        _item(
            "rd_staff",
            "研发人员",
            "R&D staff",
            {"rd_staff": "9"},
            {"points": 3, "full_at": "15"},
            "1.80",
        ),
        _item(
            "graduates_hired",
            "吸纳应届毕业生",
            "Graduates hired",
            {"graduates_hired": "2"},
            {"points": 3, "full_at": "5"},
            "1.20",
        ),
        _step(
            "review.category.talent_jobs",
            "人才与就业",
            "Talent & jobs",
            {"headcount": "2.00", "rd_staff": "1.80", "graduates_hired": "1.20"},
            {"weight": 10},
            "5.00",
        ),
        _item(
            "rent_on_time",
            "按时缴纳租金",
            "Rent on time",
            {"rent_on_time": True},
            {"points": 5},
            "5.00",
        ),
        _item(
            "data_on_time",
            "按时报送数据",
            "Data on time",
            {"data_on_time": True},
            {"points": 3},
            "3.00",
        ),
        _item(
            "safety_inspections",
            "安全检查",
            "Safety inspections",
            {"safety_inspections_passed": True},
            {"points": 3},
            "3.00",
        ),
        _item(
            "space_activities",
            "参与空间活动",
            "Space activities",
            {"activities_attended": "3"},
            {"points": 2, "full_at": "4"},
            "1.50",
        ),
        _item(
            "cooperation",
            "机会清单合作对接",
            "Cooperation through the opportunity lists",
            {"cooperation": "0"},
            {"points": 2, "full_at": "2"},
            "0.00",
        ),
        _step(
            "review.category.compliance",
            "合规与配合",
            "Compliance & cooperation",
            {
                "rent_on_time": "5.00",
                "data_on_time": "3.00",
                "safety_inspections": "3.00",
                "space_activities": "1.50",
                "cooperation": "0.00",
            },
            {"weight": 15},
            "12.50",
        ),
        _step(
            "review.grade",
            "考核等级",
            "Grade",
            {"score": "60.90"},
            {"A": [85, 100], "B": [75, 84], "C": [60, 74], "D": [0, 59]},
            "C",
        ),
        _step(
            "review.missing_data",
            "按期报送考核数据",
            "Data submitted on time",
            {"submitted": True},
            "D",
            "pass",
        ),
        _step("review.veto.fraud", "弄虚作假", "Fraud", {"raised": False}, "D", "pass"),
        _step(
            "review.veto.major_accident",
            "发生重大安全或环境事故",
            "Major safety or environmental accident",
            {"raised": False, "major_accident": False},
            "D",
            "pass",
        ),
        _step(
            "review.veto.credit_listing",
            "被列入失信名单",
            "Listed as dishonest (失信)",
            {"raised": False, "credit_listed": False},
            "D",
            "pass",
        ),
        _step(
            "review.consequence", "无", "None", {"grade": "C", "previous_grade": None}, None, "none"
        ),
    ],
}


def _versioned(golden: dict[str, Any], version: str) -> dict[str, Any]:
    return {**golden, "rulebook_version": version}


def test_golden_trace_of_an_admission_screening(park: Park, engine: Engine) -> None:
    park.do(c.RegisterFirm(name="成都蓉医生物科技有限公司", uscc=GOLDEN_USCC, industry="pharma"))
    step = park.do(
        c.Apply(firm=GOLDEN_USCC, space=SPACE, requested_area_m2=120, profile=GOLDEN_PROFILE)
    )
    park.do(c.Screen(tenancy_id=step.tenancy_id))
    with Session(engine) as s:
        app = s.exec(select(Application).where(Application.tenancy_id == step.tenancy_id)).one()
    assert app.decision["screening"] == _versioned(GOLDEN_SCREENING, DEFAULT_VERSION)
    (screened,) = events(engine, step.tenancy_id, "screen_in")
    assert screened.data["trace"] == app.decision["screening"]


def test_golden_trace_of_a_review_decision(park: Park, engine: Engine, clock: FixedClock) -> None:
    (t,) = park.residents(1)
    clock.set(local(2025, 1, 2, 9, 0))
    park.review(t, 2024, figures())
    park.do(c.DecideReview(tenancy_id=t, period=2024))
    stored = reviews(engine, 2024)[t]
    assert (stored.score, stored.grade, stored.consequence) == (60.9, "C", "none")
    assert stored.trace == _versioned(GOLDEN_REVIEW, DEFAULT_VERSION)
