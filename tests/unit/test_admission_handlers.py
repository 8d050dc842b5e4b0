"""The admission commands through their registered handlers, on the in-memory unit of work:
an application approved or rejected on its panel's scores, its 公示 objected to and ended, and
its agreement signed, with no database (``tests/fakes.py``)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fakes import FakeDatabase, FakeService, chained

from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from lifecycle.errors import AlreadyExists, GuardFailed, InvalidInput, StaleTenancy
from lifecycle.table import ACTIVE, ADMITTED, APPLIED, EVALUATING, PUBLICITY, REJECTED
from workflows import commands as c
from workflows import rules

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
TODAY = date(2025, 3, 3)
RB = rules.parse(rules.default_rulebook_text())


@pytest.fixture
def db() -> FakeDatabase:
    db = FakeDatabase()
    db.add_rulebook(rules.default_rulebook_text(), NOW)
    return db


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def applicant(db: FakeDatabase, state: str, *, levels: tuple[float, ...] = ()) -> int:
    """A firm's application in ``state`` in space MC3, scored by a panel at ``levels``."""
    t = db.add_applicant(
        now=NOW,
        rulebook=RB,
        uscc=make_uscc(random.Random(len(db.rows("firms")))),
        state=state,
        profile=good_profile(TODAY),
        submitted_at=NOW - timedelta(days=30),
    )
    for i, level in enumerate(levels, start=1):
        db.add(
            "reviewer_scores",
            tenancy_id=t,
            reviewer=f"专家{i}",
            conflict_of_interest=False,
            scores=scores(level),
            total=sum(scores(level).values()),
            created_at=NOW - timedelta(days=2),
        )
    return t


def deadline(db: FakeDatabase, t: int, kind: str, due_on: date) -> None:
    db.add(
        "deadlines",
        kind=kind,
        tenancy_id=t,
        due_on=due_on,
        due_at=datetime.combine(due_on, datetime.min.time(), UTC),
        status="pending",
        dedupe_key=f"{kind}:{t}:seeded",
        payload={},
        created_at=NOW - timedelta(days=7),
    )


def deadlines(db: FakeDatabase, t: int) -> list[tuple[str, date, str]]:
    return [(d["kind"], d["due_on"], d["status"]) for d in db.rows("deadlines", tenancy_id=t)]


def notices(db: FakeDatabase, t: int) -> list[str]:
    return [n["message"] for n in db.rows("outbox", tenancy_id=t)]


def test_applying_creates_the_tenancy_with_the_id_its_first_event_hashes(
    db: FakeDatabase, service: FakeService
) -> None:
    applicant(db, EVALUATING)  # the space MC3, and a tenancy before the new one
    uscc = make_uscc(random.Random(99))
    firm = db.add(
        "firms",
        name="蓉芯医疗",
        uscc=uscc,
        industry="medical_devices",
        contact_name="陈立",
        contact_email="chen@example.cn",
        account_manager="李经理",
        locale="zh-CN",
        created_at=NOW,
    )
    apply = c.Apply(firm=uscc, space="MC3", requested_area_m2=80, profile=good_profile(TODAY))
    with pytest.raises(InvalidInput, match="track"):
        service.handle(replace(apply, track="nonesuch"))
    assert len(db.rows("tenancies")) == 1  # refused before anything was written

    step = service.handle(replace(apply, actor="陈立"))
    t = step.tenancy_id
    assert (step.trigger, step.from_state, step.to_state, step.version) == (
        "apply",
        None,
        APPLIED,
        1,
    )
    tenancy = db.row("tenancies", t)
    assert (tenancy["firm_id"], tenancy["state"], tenancy["version"]) == (firm, APPLIED, 1)
    assert tenancy["rulebook_version"] == RB.version
    (application,) = db.rows("applications", tenancy_id=t)
    assert application["requested_area_m2"] == 80
    (event,) = db.events(t)
    assert (event["tenancy_id"], event["from_state"], event["to_state"]) == (t, None, APPLIED)
    assert event["data"] == {"firm": uscc, "space": "MC3", "track": "incubation"}
    assert chained(db, t) == ["apply"]
    (notice,) = db.rows("outbox", tenancy_id=t)
    assert notice["dedupe_key"] == f"application_received:firm:{t}:1"
    assert notice["context"]["firm"]["name"] == "蓉芯医疗"
    assert notice["context"]["space"]["code"] == "MC3"

    with pytest.raises(AlreadyExists, match=f"#{t}"):
        service.handle(apply)  # one open stay of a firm in a space


@pytest.mark.parametrize(
    ("area", "profile_area"),
    [(0, 0), (0, None), (0.004, None), (-5, None), (80, 0), (0, 1_000_001), (float("nan"), 80)],
)
def test_an_application_for_no_area_is_refused_before_anything_is_written(
    db: FakeDatabase, service: FakeService, area: float, profile_area: float | None
) -> None:
    """The area applied for (the command's, else the profile's) is > 0 and at most 1,000,000
    m²: an application for 0 m² used to pass screening and reach its 公示."""
    applicant(db, EVALUATING)  # the space MC3
    uscc = make_uscc(random.Random(5))
    db.add("firms", name="零面积", uscc=uscc, industry="pharma", locale="zh-CN", created_at=NOW)
    profile = good_profile(TODAY)
    del profile["requested_area_m2"]
    if profile_area is not None:
        profile["requested_area_m2"] = profile_area
    before = len(db.rows("tenancies"))
    with pytest.raises(InvalidInput) as refused:
        service.handle(c.Apply(firm=uscc, space="MC3", requested_area_m2=area, profile=profile))
    assert refused.value.field == "requested_area_m2"
    assert len(db.rows("tenancies")) == before


def test_an_application_without_the_commands_area_takes_the_profiles(
    db: FakeDatabase, service: FakeService
) -> None:
    applicant(db, EVALUATING)  # the space MC3
    uscc = make_uscc(random.Random(6))
    db.add("firms", name="面积", uscc=uscc, industry="pharma", locale="zh-CN", created_at=NOW)
    step = service.handle(c.Apply(firm=uscc, space="MC3", profile=good_profile(TODAY, area=90)))
    (application,) = db.rows("applications", tenancy_id=step.tenancy_id)
    assert application["requested_area_m2"] == 90


def test_a_correction_to_no_area_is_refused(service: FakeService, db: FakeDatabase) -> None:
    t = applicant(db, "info_requested")
    with pytest.raises(InvalidInput) as refused:
        service.handle(c.Resubmit(tenancy_id=t, profile={"requested_area_m2": 0}))
    assert refused.value.field == "requested_area_m2"
    assert db.row("tenancies", t)["state"] == "info_requested"


def test_an_application_scored_by_a_valid_panel_is_approved_into_its_publicity(
    db: FakeDatabase, service: FakeService
) -> None:
    t = applicant(db, EVALUATING, levels=(0.9, 0.8, 0.85))
    commits = db.commits
    step = service.handle(c.Approve(tenancy_id=t, expected_version=1, actor="王"))
    assert (step.trigger, step.from_state, step.to_state, step.version) == (
        "approve",
        EVALUATING,
        PUBLICITY,
        2,
    )
    tenancy = db.row("tenancies", t)
    assert (tenancy["state"], tenancy["version"], tenancy["priority"]) == (PUBLICITY, 2, True)
    assert tenancy["score"] == step.data["score"] == 84.33  # the three totals' mean
    assert deadlines(db, t) == [("publicity_end", date(2025, 3, 7), "pending")]
    assert db.rows("deadlines", tenancy_id=t)[0]["dedupe_key"] == f"publicity_end:{t}:1"
    assert notices(db, t) == ["scoring_result", "publicity_start"]
    assert db.rows("outbox", tenancy_id=t)[1]["context"]["to"] == "2025-03-07"
    assert chained(db, t) == ["approve"]
    assert db.commits == commits + 1


def test_approval_and_rejection_without_a_valid_panel_write_nothing(
    db: FakeDatabase, service: FakeService
) -> None:
    t = applicant(db, EVALUATING, levels=(0.9, 0.9))
    with pytest.raises(GuardFailed, match="no valid panel"):
        service.handle(c.Approve(tenancy_id=t))
    with pytest.raises(GuardFailed, match="--without-panel"):
        service.handle(c.Reject(tenancy_id=t, reason="不符合"))
    with pytest.raises(StaleTenancy):
        service.handle(c.Approve(tenancy_id=t, expected_version=3))
    assert db.events(t) == [] and db.rows("outbox") == [] and db.rows("deadlines") == []
    assert db.row("tenancies", t)["version"] == 1


def test_an_application_scored_below_the_line_is_rejected(
    db: FakeDatabase, service: FakeService
) -> None:
    t = applicant(db, EVALUATING, levels=(0.3, 0.4, 0.3))
    step = service.handle(c.Reject(tenancy_id=t, actor="王", reason="评分未达标"))
    assert (step.trigger, step.to_state) == ("reject", REJECTED)
    tenancy = db.row("tenancies", t)
    assert (tenancy["state"], tenancy["score"]) == (REJECTED, step.data["score"])
    (notice,) = db.rows("outbox", tenancy_id=t)
    assert notice["message"] == "scoring_result"
    assert (notice["context"]["passed"], notice["context"]["reason"]) == (False, "评分未达标")
    assert chained(db, t) == ["reject"]


def test_the_publicity_ends_in_admission_once_its_objection_is_ruled_on(
    db: FakeDatabase, service: FakeService
) -> None:
    t = applicant(db, PUBLICITY)
    deadline(db, t, "publicity_end", TODAY + timedelta(days=2))
    lodged = service.handle(
        c.LodgeObjection(tenancy_id=t, by="李四", grounds="申报材料与实际不符", actor="李四")
    )
    assert lodged["accepted"] is True and lodged["to"] == PUBLICITY
    with pytest.raises(GuardFailed, match="inclusive"):
        service.handle(c.EndPublicity(tenancy_id=t))

    later = service.with_clock(FixedClock(NOW + timedelta(days=4)))
    with pytest.raises(GuardFailed, match="awaits a ruling"):
        later.handle(c.EndPublicity(tenancy_id=t))
    with pytest.raises(InvalidInput):
        later.handle(c.RuleOnObjection(tenancy_id=t, upheld=False))
    later.handle(c.RuleOnObjection(tenancy_id=t, upheld=False, reason="经核实不成立"))
    step = later.handle(c.EndPublicity(tenancy_id=t, expected_version=3, actor="王"))
    assert (step.trigger, step.from_state, step.to_state, step.version) == (
        "admit",
        PUBLICITY,
        ADMITTED,
        4,
    )
    sign_by = date(2025, 3, 21)  # ten working days from Friday 7 March
    assert deadlines(db, t) == [
        ("publicity_end", TODAY + timedelta(days=2), "cancelled"),
        ("agreement_lapse", sign_by, "pending"),
    ]
    assert db.rows("deadlines", tenancy_id=t)[1]["dedupe_key"] == f"agreement_lapse:{t}:3"
    assert notices(db, t) == ["objection_ruling", "admitted"]
    assert chained(db, t) == ["lodge_objection", "dismiss_objection", "admit"]


def test_an_upheld_objection_rejects_the_application_and_ends_its_deadlines(
    db: FakeDatabase, service: FakeService
) -> None:
    t = applicant(db, PUBLICITY)
    deadline(db, t, "publicity_end", TODAY + timedelta(days=2))
    with pytest.raises(GuardFailed, match="no accepted objection"):
        service.handle(c.RuleOnObjection(tenancy_id=t, upheld=True, reason="查实"))
    service.handle(c.LodgeObjection(tenancy_id=t, by="李四", grounds="材料不实"))
    step = service.handle(c.RuleOnObjection(tenancy_id=t, upheld=True, reason="查实"))
    assert (step.trigger, step.to_state) == ("uphold_objection", REJECTED)
    assert [s for _, _, s in deadlines(db, t)] == ["cancelled"]
    assert chained(db, t) == ["lodge_objection", "uphold_objection"]


def add_unit(db: FakeDatabase, code: str, area_m2: float, status: str = "available") -> int:
    space_id = db.rows("spaces", code="MC3")[0]["id"]
    unit = db.add("units", space_id=space_id, code=code, kind="office", area_m2=area_m2)
    db.tables["units"][unit]["status"] = status
    return int(unit)


def sign(t: int, *codes: str, **kw: Any) -> c.Sign:
    return c.Sign(
        tenancy_id=t,
        units=codes,
        term_start=date(2025, 4, 1),
        term_end=date(2027, 3, 31),
        deposit_yuan=5000,
        actor="王",
        **kw,
    )


def test_signing_lets_the_units_and_starts_residency(
    db: FakeDatabase, service: FakeService
) -> None:
    t = applicant(db, ADMITTED)
    deadline(db, t, "agreement_lapse", TODAY + timedelta(days=10))
    a, b = add_unit(db, "A-101", 80.0), add_unit(db, "A-102", 40.5)
    step = service.handle(sign(t, "A-101", "A-102", expected_version=1))
    assert (step.trigger, step.from_state, step.to_state, step.version) == (
        "sign",
        ADMITTED,
        ACTIVE,
        2,
    )
    assert step.data["area_m2"] == 120.5
    tenancy = db.row("tenancies", t)
    assert (tenancy["state"], tenancy["term_start"], tenancy["term_end"]) == (
        ACTIVE,
        date(2025, 4, 1),
        date(2027, 3, 31),
    )
    assert [db.row("units", u)["status"] for u in (a, b)] == ["let", "let"]
    assert [
        (x["unit_id"], x["area_m2"], x["start_on"], x["end_on"])
        for x in db.rows("allocations", tenancy_id=t)
    ] == [(a, 80.0, date(2025, 4, 1), None), (b, 40.5, date(2025, 4, 1), None)]
    assert deadlines(db, t) == [
        ("agreement_lapse", TODAY + timedelta(days=10), "cancelled"),
        ("term_expiry_warning", date(2026, 12, 31), "pending"),
        ("term_expiry_warning", date(2027, 1, 30), "pending"),
        ("term_expiry_warning", date(2027, 3, 1), "pending"),
        ("term_end", date(2027, 3, 31), "pending"),
    ]
    assert notices(db, t) == ["agreement_signed"]
    assert chained(db, t) == ["sign"]


def test_a_unit_let_to_another_firm_cannot_be_signed_for(
    db: FakeDatabase, service: FakeService
) -> None:
    first, second = applicant(db, ADMITTED), applicant(db, ADMITTED)
    add_unit(db, "A-101", 80.0)
    with pytest.raises(InvalidInput, match="no unit"):
        service.handle(sign(first, "Z-9"))
    service.handle(sign(first, "A-101"))
    with pytest.raises(GuardFailed, match="not available"):
        service.handle(sign(second, "A-101"))
    assert db.row("tenancies", second)["state"] == ADMITTED and db.events(second) == []
    assert len(db.rows("allocations")) == 1
