"""The page commands through their registered handlers, on the in-memory unit of work
(``tests/fakes.py``): the cycle board's jobs (started, claimed, reported, finished, a decision
run), reminders, a firm's draft figures and its draft application form — read through
``uow.pages``, decided by ``workflows.page_rules`` and written by the one writer — and a firm's
answers from the portal (``workflows.answers``), with no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fakes import FakeDatabase, FakeService
from golden_figures import golden_figures as figures
from test_review_handlers import RB, chained, resident

from entrypoints.demo_data import good_profile
from lifecycle.clock import FixedClock
from lifecycle.errors import Conflict, GuardFailed, InvalidInput, NotFound
from lifecycle.table import ACTIVE, APPLIED, EXIT_NOTICE, RECTIFYING, UNDER_REVIEW
from workflows import commands as c
from workflows.answers import (
    REQUEST_EXIT,
    FileDefence,
    FilePlan,
    RequestVoluntaryExit,
    earliest_leave_on,
)
from workflows.application_drafts import SaveApplicationDraft, SubmitApplication
from workflows.attachments import Attachment
from workflows.cycle_pages import (
    LEASE,
    ClaimCycleJob,
    FinishCycleJob,
    RemindCycle,
    ReportCycleJob,
    RunCycleDecision,
    SaveFigureDraft,
    StartCycleJob,
)

NOW = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a working day
TODAY = date(2025, 1, 2)


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def job(db: FakeDatabase, job_id: int) -> tuple[object, ...]:
    row = db.row("cycle_jobs", job_id)
    return (row["status"], row["attempts"], row["done"], row["total"], row["lease_until"])


# ---- reminders --------------------------------------------------------------------------------
def test_firms_that_have_not_reported_are_reminded_once_a_day(
    db: FakeDatabase, service: FakeService
) -> None:
    first = resident(db)
    second = db.add_resident(now=NOW, rulebook=RB, name="蓉芯医疗", uscc="91510100MA6C000002")
    for t in (first, second):
        service.handle(c.OpenReview(tenancy_id=t, period=2024))
    service.handle(c.SubmitReview(tenancy_id=second, period=2024, figures=figures(), actor="企业"))
    versions = [db.row("tenancies", t)["version"] for t in (first, second)]

    done = service.handle(RemindCycle(space="MC3", period=2024, actor="王"))
    assert done == {"queued": 1, "already": 0}
    (notice,) = db.rows("outbox", message="review_reminder")
    assert notice["tenancy_id"] == first
    assert notice["dedupe_key"] == f"review_reminder:firm:{first}:2024:manual:2025-01-02"
    context = notice["context"]
    assert (context["period"], context["due_on"], context["offset"]) == (2024, "2025-01-15", -9)
    assert context["tenancy"] == {"id": first, "state": UNDER_REVIEW}
    # A notice only: no tenancy moved, no event recorded.
    assert [db.row("tenancies", t)["version"] for t in (first, second)] == versions
    assert "review_reminder" not in chained(db, first)

    again = service.handle(RemindCycle(space="MC3", period=2024, actor="王"))
    assert again == {"queued": 0, "already": 1}
    assert len(db.rows("outbox", message="review_reminder")) == 1
    tomorrow = service.with_clock(FixedClock(NOW + timedelta(days=1)))
    assert tomorrow.handle(RemindCycle(space="MC3", period=2024, actor="王"))["queued"] == 1


# ---- the cycle board's jobs -------------------------------------------------------------------
def test_a_job_is_started_once_per_kind_while_it_is_live(
    db: FakeDatabase, service: FakeService
) -> None:
    resident(db)
    with pytest.raises(InvalidInput):
        service.handle(StartCycleJob(space="MC3", period=2024, kind="close", actor="王"))
    with pytest.raises(NotFound):
        service.handle(StartCycleJob(space="XX", period=2024, kind="open", actor="王"))
    assert db.rows("cycle_jobs") == []  # refused before anything was written

    first = service.handle(StartCycleJob(space="MC3", period=2024, kind="open", actor="王"))
    row = db.row("cycle_jobs", first["job_id"])
    assert (row["kind"], row["period"], row["requested_by"], row["created_at"]) == (
        "open",
        2024,
        "王",
        NOW,
    )
    assert job(db, first["job_id"]) == ("queued", 0, 0, 0, None)
    assert row["result"] == {} and row["error"] is None
    again = service.handle(StartCycleJob(space="MC3", period=2024, kind="open", actor="李"))
    assert again == first  # still queued: the same job
    other = service.handle(StartCycleJob(space="MC3", period=2024, kind="decide", actor="王"))
    assert other["job_id"] != first["job_id"]

    service.handle(FinishCycleJob(job_id=first["job_id"], actor="system"))
    renewed = service.handle(StartCycleJob(space="MC3", period=2024, kind="open", actor="王"))
    assert renewed["job_id"] not in (first["job_id"], other["job_id"])  # the first one ended
    assert not db.rows("audit_events")  # a job touches no tenancy


def test_a_job_is_claimed_by_one_runner_reported_on_and_finished(
    db: FakeDatabase, service: FakeService
) -> None:
    resident(db)
    j = service.handle(StartCycleJob(space="MC3", period=2024, kind="open", actor="王"))["job_id"]
    with pytest.raises(NotFound):
        service.handle(ClaimCycleJob(job_id=j + 100, actor="system"))

    assert service.handle(ClaimCycleJob(job_id=j, actor="system")) is True
    assert job(db, j) == ("running", 1, 0, 0, NOW + LEASE)
    assert db.row("cycle_jobs", j)["started_at"] == NOW
    assert service.handle(ClaimCycleJob(job_id=j, actor="system")) is False  # its lease holds

    later = service.with_clock(FixedClock(NOW + timedelta(minutes=3)))
    later.handle(ReportCycleJob(job_id=j, done=2, total=5, actor="system"))
    assert job(db, j) == ("running", 1, 2, 5, NOW + timedelta(minutes=3) + LEASE)

    lapsed = service.with_clock(FixedClock(NOW + timedelta(minutes=14)))
    assert lapsed.handle(ClaimCycleJob(job_id=j, actor="system")) is True  # its runner died
    assert job(db, j) == ("running", 2, 2, 5, NOW + timedelta(minutes=14) + LEASE)

    lapsed.handle(FinishCycleJob(job_id=j, result={"opened": 5}, actor="system"))
    assert job(db, j) == ("done", 2, 5, 5, None)  # done: all of it
    row = db.row("cycle_jobs", j)
    assert (row["result"], row["error"], row["finished_at"]) == (
        {"opened": 5},
        None,
        NOW + timedelta(minutes=14),
    )
    # An ended job is not claimed, reported on or finished again.
    assert lapsed.handle(ClaimCycleJob(job_id=j, actor="system")) is False
    lapsed.handle(ReportCycleJob(job_id=j, done=1, total=9, actor="system"))
    lapsed.handle(FinishCycleJob(job_id=j, error="late", actor="system"))
    assert db.row("cycle_jobs", j) == row


def test_a_failed_job_keeps_its_error_and_progress(db: FakeDatabase, service: FakeService) -> None:
    resident(db)
    j = service.handle(StartCycleJob(space="MC3", period=2024, kind="open", actor="王"))["job_id"]
    service.handle(ClaimCycleJob(job_id=j, actor="system"))
    service.handle(ReportCycleJob(job_id=j, done=1, total=3, actor="system"))
    service.handle(FinishCycleJob(job_id=j, error="内部错误 / internal error", actor="system"))
    assert job(db, j) == ("failed", 1, 1, 3, None)
    assert db.row("cycle_jobs", j)["error"] == "内部错误 / internal error"


def test_a_decision_job_decides_the_cycle_and_is_done_in_one_transaction(
    db: FakeDatabase, service: FakeService
) -> None:
    first = resident(db)
    second = db.add_resident(now=NOW, rulebook=RB, name="蓉芯医疗", uscc="91510100MA6C000002")
    for t in (first, second):
        service.handle(c.OpenReview(tenancy_id=t, period=2024))
        service.handle(c.SubmitReview(tenancy_id=t, period=2024, figures=figures(), actor="企业"))
    j = service.handle(StartCycleJob(space="MC3", period=2024, kind="decide", actor="王"))["job_id"]
    service.handle(ClaimCycleJob(job_id=j, actor="system"))
    commits = db.commits

    summary = service.handle(RunCycleDecision(job_id=j, actor="system"))
    assert db.commits == commits + 1
    assert (summary["decided"], summary["already_decided"], summary["grades"]) == (2, 0, {"C": 2})
    assert job(db, j) == ("done", 1, 2, 2, None)
    assert db.row("cycle_jobs", j)["result"] == summary
    for t in (first, second):
        assert chained(db, t) == ["open_review", "submit_review", "pass_review"]
        assert db.row("tenancies", t)["state"] == ACTIVE
        (event,) = [e for e in db.events(t) if e["trigger"] == "pass_review"]
        assert event["actor"] == "王"  # decided in the name of who asked for it

    assert service.handle(RunCycleDecision(job_id=j, actor="system")) == summary  # not again
    assert [e["trigger"] for e in db.events(first)][-1] == "pass_review"


# ---- a firm's draft figures -------------------------------------------------------------------
def test_draft_figures_are_kept_as_typed_until_the_review_is_decided(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    with pytest.raises(NotFound):  # no review of that period
        service.handle(SaveFigureDraft(tenancy_id=t, period=2024, values={"a": "1"}))
    service.handle(c.OpenReview(tenancy_id=t, period=2024))
    with pytest.raises(InvalidInput):
        service.handle(SaveFigureDraft(tenancy_id=t, period=2024, values={"a": "1" * 101}))
    with pytest.raises(InvalidInput):
        values = {f"f{i}": "1" for i in range(201)}
        service.handle(SaveFigureDraft(tenancy_id=t, period=2024, values=values))
    assert db.rows("figure_drafts") == []

    service.handle(
        SaveFigureDraft(tenancy_id=t, period=2024, values={"headcount": "2x"}, actor="企业")
    )
    later = service.with_clock(FixedClock(NOW + timedelta(hours=1)))
    later.handle(
        SaveFigureDraft(tenancy_id=t, period=2024, values={"headcount": "25"}, actor="张敏")
    )
    (draft,) = db.rows("figure_drafts", tenancy_id=t)
    assert (draft["period"], draft["values"], draft["saved_by"], draft["saved_at"]) == (
        2024,
        {"headcount": "25"},
        "张敏",
        NOW + timedelta(hours=1),
    )
    events = len(db.events(t))

    service.handle(c.SubmitReview(tenancy_id=t, period=2024, figures=figures(), actor="企业"))
    service.handle(c.DecideReview(tenancy_id=t, period=2024))
    with pytest.raises(Conflict):
        service.handle(SaveFigureDraft(tenancy_id=t, period=2024, values={"headcount": "1"}))
    assert db.rows("figure_drafts", tenancy_id=t)[0]["values"] == {"headcount": "25"}
    assert len(db.events(t)) == events + 2  # the drafts wrote no event


# ---- a firm's draft application ---------------------------------------------------------------
def firm(db: FakeDatabase) -> int:
    resident(db)  # the space MC3 and its rulebook
    return int(
        db.add(
            "firms",
            name="蓉芯医疗",
            uscc="91510100MA6C000002",
            industry="medical_devices",
            contact_name="陈立",
            contact_email="chen@example.cn",
            account_manager="李经理",
            locale="zh-CN",
            created_at=NOW,
        )
    )


def test_an_application_draft_is_saved_replaced_and_discarded_when_it_is_sent(
    db: FakeDatabase, service: FakeService
) -> None:
    f = firm(db)
    with pytest.raises(NotFound):
        service.handle(SaveApplicationDraft(firm_id=f + 100, values={"name": "x"}))
    with pytest.raises(InvalidInput):
        values = {f"f{i}": "x" for i in range(61)}
        service.handle(SaveApplicationDraft(firm_id=f, values=values))
    assert db.rows("application_drafts") == []

    saved = service.handle(SaveApplicationDraft(firm_id=f, values={"area": "8"}, actor="陈立"))
    assert saved == {"firm_id": f, "saved_at": NOW.isoformat(), "fields": 1}
    later = service.with_clock(FixedClock(NOW + timedelta(minutes=5)))
    later.handle(SaveApplicationDraft(firm_id=f, values={"area": "80", "x": "y"}, actor="陈"))
    (draft,) = db.rows("application_drafts", firm_id=f)
    assert (draft["fields"], draft["saved_by"], draft["saved_at"]) == (
        {"area": "80", "x": "y"},
        "陈",
        NOW + timedelta(minutes=5),
    )

    apply = c.Apply(
        firm="91510100MA6C000002", space="MC3", requested_area_m2=80, profile=good_profile(TODAY)
    )
    with pytest.raises(NotFound):  # the portal's firm and the application's must be one
        service.handle(SubmitApplication(firm_id=f + 100, application=apply))
    assert db.rows("application_drafts", firm_id=f)  # kept: nothing was sent

    step = service.handle(SubmitApplication(firm_id=f, application=apply, actor="陈立"))
    assert (step.trigger, step.to_state) == ("apply", APPLIED)
    assert db.rows("application_drafts", firm_id=f) == []  # gone with the application stored
    assert db.row("tenancies", step.tenancy_id)["firm_id"] == f

    # A firm that kept no draft sends its application all the same.
    db.add(
        "firms",
        name="锦程生物",
        uscc="91510100MA6C000003",
        industry="pharma",
        locale="zh-CN",
        created_at=NOW,
    )
    other = db.rows("firms", uscc="91510100MA6C000003")[0]["id"]
    sent = service.handle(
        SubmitApplication(
            firm_id=other,
            application=c.Apply(
                firm="91510100MA6C000003",
                space="MC3",
                requested_area_m2=80,
                profile=good_profile(TODAY),
            ),
        )
    )
    assert sent.to_state == APPLIED


# ---- a firm's answers from the portal (workflows.answers: already decide, then write) ---------
PDF = Attachment(name="说明.pdf", type="application/pdf", size=1024, sha256="ab" * 32)


def test_a_firms_defence_plan_and_request_to_leave_need_no_database(
    db: FakeDatabase, service: FakeService
) -> None:
    t = resident(db)
    service.handle(
        c.ServeExitNotice(
            tenancy_id=t, grounds="sublet", facts="未经同意转租场地", proof_of_service="EMS 1234"
        )
    )
    with pytest.raises(InvalidInput):
        service.handle(FileDefence(tenancy_id=t, grounds=" "))
    done = service.handle(
        FileDefence(tenancy_id=t, grounds="已收回转租场地", attachments=(PDF,), actor="企业")
    )
    assert done["trigger"] == "lodge_objection" and done["to"] == EXIT_NOTICE
    (event,) = [e for e in db.events(t) if e["trigger"] == "lodge_objection"]
    assert event["actor"] == "企业" and event["data"]["attachments"] == [PDF.to_dict()]
    late = service.with_clock(FixedClock(NOW + timedelta(days=30)))
    with pytest.raises(GuardFailed):  # the 陈述申辩 window has ended
        late.handle(FileDefence(tenancy_id=t, grounds="补充材料"))

    other = db.add_resident(
        now=NOW, rulebook=RB, name="二号", uscc="91510100MA6C000002", state=RECTIFYING
    )
    rect = db.add(
        "rectifications",
        tenancy_id=other,
        defects="研发投入不足",
        plan_due_on=date(2025, 1, 16),
        due_on=date(2025, 4, 2),
        extended=False,
        status="open",
        created_at=NOW,
    )
    step = service.handle(
        FilePlan(tenancy_id=other, plan="招聘研发人员", attachments=(PDF,), actor="企业")
    )
    assert (step.trigger, step.to_state) == ("file_plan", RECTIFYING)
    assert db.row("rectifications", rect)["plan"] == "招聘研发人员"
    assert chained(db, other) == ["file_plan"]

    term_end = NOW.date() + timedelta(days=365)
    third = db.add_resident(
        now=NOW, rulebook=RB, name="三号", uscc="91510100MA6C000003", term_end=term_end
    )
    earliest = service.query(earliest_leave_on, space_id=db.row("tenancies", third)["space_id"])
    with pytest.raises(InvalidInput):
        service.handle(
            RequestVoluntaryExit(tenancy_id=third, leave_on=earliest - timedelta(days=1))
        )
    # a day after the agreement ends is no voluntary exit: the stay ends by expiry first
    with pytest.raises(InvalidInput) as after_end:
        service.handle(
            RequestVoluntaryExit(tenancy_id=third, leave_on=term_end + timedelta(days=1))
        )
    assert after_end.value.field == "leave_on" and "协议到期日" in after_end.value.rule
    # reasons longer than the portal's form takes are refused whoever sends them
    with pytest.raises(InvalidInput) as too_long:
        service.handle(
            RequestVoluntaryExit(tenancy_id=third, leave_on=earliest, reason="迁" * 2710)
        )
    assert too_long.value.field == "reason" and "不得超过 2,000 个字符" in too_long.value.rule
    assert chained(db, third) == []
    asked = service.handle(RequestVoluntaryExit(tenancy_id=third, leave_on=earliest, actor="企业"))
    assert (asked.trigger, asked.to_state) == (REQUEST_EXIT, ACTIVE)
    assert chained(db, third) == [REQUEST_EXIT]
    assert db.events(third)[0]["data"]["leave_on"] == earliest.isoformat()
