"""Review cycles open per space on the rulebook's calendar; each space's operators get one
digest a day.

A cycle must write, per tenancy, exactly what the single ``OpenReview`` command writes; skip
what is not eligible and say so; survive a crash mid-chunk; and open late, from the data,
when the opening day passed while nobody was looking. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import local
from integration.test_sweeps_seed import (
    CAL,
    admit,
    bulk_tenancies,
    bulk_vacate_due,
    counts,
    create_space,
    firms,
    resident,
    table,
)
from sqlalchemy import Engine, insert
from sqlmodel import Session, col, select

from db.effects import outbox_row
from db.tables import AuditEvent, Deadline, OutboxMessage, Review, Tenancy
from entrypoints.demo_data import figures
from lifecycle.clock import FixedClock
from lifecycle.errors import InvalidInput, NotFound
from notifications.render import Renderer
from workflows import commands as c
from workflows import rules
from workflows.cycles import (
    OPEN_REASON,
    SYSTEM,
    due_cycles,
    open_cycle,
    open_due_cycles,
    send_digest,
)
from workflows.service import Service

OPENING = local(2025, 1, 2, 9)  # the first working day of 2025
USCC = firms(3, seed=5)


@pytest.fixture
def space(service: Service) -> tuple[int, str]:
    return create_space(service)


def active_tenancies(engine: Engine, space: tuple[int, str], n: int) -> list[int]:
    """``n`` active tenancies of the space, their terms begun before 2024."""
    space_id, version = space
    return bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=n,
        state="active",
        term_start=date(2024, 1, 1),
        term_end=date(2027, 1, 1),
    )


def written_for(engine: Engine, tenancy_id: int) -> dict[str, Any]:
    """Everything opening a review wrote for one tenancy, with its own ids taken out."""
    with Session(engine) as s:
        t = s.get(Tenancy, tenancy_id)
        assert t is not None
        event = s.exec(
            select(AuditEvent)
            .where(AuditEvent.tenancy_id == tenancy_id)
            .order_by(col(AuditEvent.seq).desc())
        ).first()
        review = s.exec(select(Review).where(Review.tenancy_id == tenancy_id)).one()
        deadlines = s.exec(
            select(Deadline)
            .where(Deadline.tenancy_id == tenancy_id, col(Deadline.kind).startswith("review"))
            .order_by(col(Deadline.due_at))
        ).all()
        notice = s.exec(
            select(OutboxMessage)
            .where(OutboxMessage.tenancy_id == tenancy_id)
            .order_by(col(OutboxMessage.id).desc())
        ).first()
    assert event is not None and notice is not None
    return {
        "tenancy": (t.state, t.version),
        "event": (
            event.trigger,
            event.from_state,
            event.to_state,
            event.actor,
            event.reason,
            event.data,
            event.occurred_at,
            event.rulebook_version,
        ),
        "review": (
            review.period,
            review.status,
            review.due_on,
            review.opened_at,
            review.rulebook_version,
        ),
        # dedupe keys: kind:tenancy:review[:offset] and message:audience:tenancy:period
        "deadlines": [
            (
                d.kind,
                d.due_on,
                d.status,
                d.payload,
                d.dedupe_key.replace(f":{tenancy_id}:{review.id}", ":T:R", 1),
            )
            for d in deadlines
        ],
        "notice": (
            notice.message,
            notice.audience,
            notice.dedupe_key.replace(f":{tenancy_id}:", ":T:", 1),
            {k: v for k, v in notice.context.items() if k not in ("firm", "tenancy")},
        ),
    }


def test_a_cycle_writes_per_tenancy_exactly_what_the_open_review_command_writes(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    clock.set(local(2024, 6, 3, 9))
    by_command, by_cycle = (
        resident(
            service,
            clock,
            "MC3",
            name=f"企业{i}",
            uscc=USCC[i],
            unit=f"A-{i}",
            term_start=date(2024, 7, 1),
            term_end=date(2027, 6, 30),
        )
        for i in range(2)
    )
    clock.set(OPENING)
    service.handle(
        c.OpenReview(tenancy_id=by_command, period=2024, actor=SYSTEM, reason=OPEN_REASON)
    )
    report = open_cycle(service, "MC3", 2024)
    assert (report.opened, report.already_open, report.eligible) == (1, 1, 1)
    assert written_for(engine, by_cycle) == written_for(engine, by_command)
    assert written_for(engine, by_cycle)["tenancy"][0] == "under_review"


def test_a_large_cycle_goes_through_the_batch_path_and_writes_the_same(
    service: Service,
    clock: FixedClock,
    engine: Engine,
    space: tuple[int, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import workflows.batch
    import workflows.cycles

    monkeypatch.setattr(workflows.cycles, "BATCH_THRESHOLD", 1)
    used: list[str] = []
    real = workflows.batch.open_cycle_batch
    monkeypatch.setattr(
        workflows.batch,
        "open_cycle_batch",
        lambda *a, **k: used.append(k["space_code"]) or real(*a, **k),
    )
    clock.set(local(2024, 6, 3, 9))
    by_command, by_cycle = (
        resident(
            service,
            clock,
            "MC3",
            name=f"企业{i}",
            uscc=USCC[i],
            unit=f"A-{i}",
            term_start=date(2024, 7, 1),
            term_end=date(2027, 6, 30),
        )
        for i in range(2)
    )
    clock.set(OPENING)
    service.handle(
        c.OpenReview(tenancy_id=by_command, period=2024, actor=SYSTEM, reason=OPEN_REASON)
    )
    report = open_cycle(service, "MC3", 2024)
    assert used == ["MC3"]
    assert (report.opened, report.already_open, report.eligible) == (1, 1, 1)
    assert written_for(engine, by_cycle) == written_for(engine, by_command)


def test_a_cycle_skips_what_is_not_eligible_counts_it_and_a_rerun_changes_nothing(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    space_id, version = space
    term = {"space_id": space_id, "rulebook_version": version, "term_end": date(2027, 1, 1)}
    bulk_tenancies(engine, n=5, state="active", term_start=date(2024, 1, 1), seed=1, **term)
    bulk_tenancies(engine, n=2, state="active", term_start=date(2025, 1, 1), seed=2, **term)
    bulk_tenancies(engine, n=2, state="rectifying", term_start=date(2023, 1, 1), seed=3, **term)
    for seed, kind in ((4, "vacating"), (5, "exit_notice"), (6, "withdrawn")):
        bulk_tenancies(engine, n=1, state=kind, term_start=date(2023, 1, 1), seed=seed, **term)
    clock.set(OPENING)
    calls: list[tuple[int, int]] = []
    report = open_cycle(
        service, "MC3", 2024, chunk=2, progress=lambda n, total: calls.append((n, total))
    )
    assert report.to_dict() | {"seconds": 0} == {
        "space": "MC3",
        "period": 2024,
        "eligible": 5,
        "opened": 5,
        "already_open": 0,
        "not_started": 2,
        "skipped_by_state": {"exit_notice": 1, "rectifying": 2, "vacating": 1},
        "failed": {},
        "chunks": 3,
        "stopped": False,
        "seconds": 0,
    }
    assert calls == [(0, 5), (2, 5), (2, 5), (1, 5)]
    before = counts(engine)
    again = open_cycle(service, "MC3", 2024)
    assert (again.opened, again.already_open, again.eligible) == (0, 5, 0)
    assert counts(engine) == before


class Crash(BaseException):
    """Stands in for the process dying: nothing catches it on its way out."""


def test_a_crash_mid_chunk_rolls_back_only_that_chunk_and_a_rerun_completes_exactly_once(
    service: Service,
    clock: FixedClock,
    engine: Engine,
    space: tuple[int, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = active_tenancies(engine, space, 7)
    clock.set(OPENING)
    handlers = dict(service.handlers)
    monkeypatch.setattr(service, "handlers", handlers)
    real = handlers[c.OpenReview]
    calls = 0

    def dying(w: Any, cmd: c.OpenReview) -> Any:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise Crash
        return real(w, cmd)

    monkeypatch.setitem(handlers, c.OpenReview, dying)
    with pytest.raises(Crash):
        open_cycle(service, "MC3", 2024, chunk=3)
    with Session(engine) as s:
        opened = set(s.exec(select(Review.tenancy_id)).all())
        states = dict(s.exec(select(Tenancy.id, Tenancy.state)).all())
    assert opened == set(ids[:3])  # the first chunk committed; the 4th was undone with its chunk
    assert [states[t] for t in ids] == ["under_review"] * 3 + ["active"] * 4

    monkeypatch.setitem(handlers, c.OpenReview, real)
    assert open_cycle(service, "MC3", 2024, chunk=3).opened == 4
    with Session(engine) as s:
        for model, where in (
            (Review, Review.period == 2024),
            (AuditEvent, AuditEvent.trigger == "open_review"),
            (OutboxMessage, OutboxMessage.message == "review_opened"),
        ):
            per = s.exec(select(model.tenancy_id).where(where)).all()  # type: ignore[attr-defined]
            assert sorted(per) == ids, model.__name__


def test_due_cycles_follow_each_space_calendar_and_open_late_from_the_data(
    service: Service,
    clock: FixedClock,
    engine: Engine,
    space: tuple[int, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    march = rules.default_rulebook_text().replace("open_month = 1 ", "open_month = 3 ")
    late = service.handle(c.CreateSpace(code="LATE", name="三月考核空间", rulebook_text=march))
    space_id, version = space
    for sid, ver, seed in ((space_id, version, 1), (late["id"], late["rulebook_version"], 2)):
        bulk_tenancies(
            engine,
            space_id=sid,
            rulebook_version=ver,
            n=3,
            state="active",
            term_start=date(2024, 1, 1),
            term_end=date(2027, 1, 1),
            seed=seed,
        )
    clock.set(local(2024, 12, 31, 23, 59))
    assert due_cycles(service) == []
    clock.set(local(2025, 2, 20, 9))  # MC3 should have opened on 2 January: it opens now
    assert due_cycles(service) == [("MC3", 2024)]
    assert [(r.space, r.opened) for r in open_due_cycles(service)] == [("MC3", 3)]
    with Session(engine) as s:
        due = set(s.exec(select(Review.due_on)).all())
    assert due == {CAL.add_working_days(date(2025, 2, 20), 9)}  # late: same window length
    assert open_due_cycles(service) == []
    clock.set(local(2025, 3, 3, 9))  # first working day of March: LATE opens
    assert [(r.space, r.opened) for r in open_due_cycles(service)] == [("LATE", 3)]
    assert due_cycles(service) == []

    clock.set(local(2027, 1, 5, 9))  # 2027 holidays are not published: flagged, not guessed
    with caplog.at_level(logging.WARNING, logger="innospace.cycles"):
        assert due_cycles(service) == []
    assert "2027" in caplog.text and "not published" in caplog.text


def test_bad_period_or_space_is_refused(
    service: Service, clock: FixedClock, space: tuple[int, str]
) -> None:
    clock.set(OPENING)
    with pytest.raises(InvalidInput) as info:
        open_cycle(service, "MC3", 2026)
    assert info.value.field == "period"
    with pytest.raises(NotFound):
        open_cycle(service, "NOPE", 2024)
    with pytest.raises(InvalidInput):
        open_cycle(service, "MC3", 2024, chunk=0)


def test_the_digest_lists_what_waits_for_an_operator_once_a_day(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    import random

    space_id, version = space
    clock.set(local(2024, 6, 3, 9))
    waiting = admit(service, clock, "MC3", name="甲公司", uscc=USCC[0], unit="A-1")
    disputed = admit(service, clock, "MC3", name="乙公司", uscc=USCC[1], unit="A-2", objection=True)
    submitted, silent = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=2,
        state="active",
        term_start=date(2024, 1, 1),
        term_end=date(2027, 1, 1),
    )
    (overstaying,) = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=1,
        state="vacating",
        term_start=date(2023, 1, 1),
        term_end=date(2024, 12, 1),
        seed=3,
    )
    bulk_vacate_due(engine, [overstaying], version, date(2025, 1, 3))
    clock.set(OPENING)
    open_cycle(service, "MC3", 2024)
    service.handle(
        c.SubmitReview(
            tenancy_id=submitted,
            period=2024,
            actor="firm",
            figures=figures("steady", year=2024, rng=random.Random(2)),
        )
    )
    # Another space, HX, with a tenancy whose deadline failed: its own digest's only item.
    hx_id, hx_version = create_space(service, "HX")
    (elsewhere,) = bulk_tenancies(
        engine,
        space_id=hx_id,
        rulebook_version=hx_version,
        n=1,
        state="active",
        term_start=date(2024, 1, 1),
        term_end=date(2027, 1, 1),
        seed=11,
    )
    with engine.begin() as conn:
        for tenancy, key in ((waiting, "mystery:x"), (elsewhere, "mystery:hx")):
            conn.execute(
                insert(table(Deadline)).values(
                    kind="mystery",
                    tenancy_id=tenancy,
                    due_on=date(2025, 1, 2),
                    status="failed",
                    due_at=clock.now(),
                    dedupe_key=key,
                    payload={"error": "no action"},
                    created_at=clock.now(),
                )
            )
    day = date(2025, 1, 20)
    sent = send_digest(service, day)
    assert sent == {
        "sent_on": "2025-01-20",
        "items": 5,
        "digests": [
            {
                "space": "MC3",
                "items": 4,
                "counts": {
                    "due_today": 0,
                    "pending_decisions": 4,
                    "overdue_reviews": 1,
                    "dead_messages": 0,
                },
            },
            {
                "space": "HX",
                "items": 1,
                "counts": {
                    "due_today": 0,
                    "pending_decisions": 1,
                    "overdue_reviews": 0,
                    "dead_messages": 0,
                },
            },
        ],
    }
    assert send_digest(service, day) is None  # once a day
    with Session(engine) as s:
        rows = s.exec(
            select(OutboxMessage)
            .where(OutboxMessage.message == "operator_digest")
            .order_by(col(OutboxMessage.id))
        ).all()
    row, hx = rows
    titles = [i["title"] for i in row.context["items"]]
    assert "2024年度考核数据已报送，待评定" in titles[0] and "逾期未腾退" in titles[1]
    assert "异议待裁决" in titles[2]
    assert "mystery" in titles[3] and "no action" in titles[3]
    assert all(t.startswith("[MC3] ") for t in titles)
    assert [i.get("tenancy_id") for i in row.context["items"]] == [
        submitted,
        overstaying,
        disputed,
        waiting,
    ]
    assert (row.audience, row.tenancy_id, row.space_id, row.dedupe_key) == (
        "operators",
        None,
        space_id,
        "operator_digest:operators:MC3:2025-01-20",
    )
    assert row.context["space"] == {"code": "MC3", "name": "MC3 成都医学城三医创新中心"}
    rendered = Renderer().render("operator_digest", "zh-CN", row.context, audience="operators")
    assert "待评定" in rendered.text and "2025年1月20日" in rendered.subject
    assert "MC3 成都医学城三医创新中心" in rendered.subject
    assert silent not in [i.get("tenancy_id") for i in row.context["items"]]
    # HX's digest holds HX's tenancy only, and MC3's nothing of HX's.
    assert (hx.space_id, hx.dedupe_key) == (hx_id, "operator_digest:operators:HX:2025-01-20")
    assert [i.get("tenancy_id") for i in hx.context["items"]] == [elsewhere]
    assert hx.context["items"][0]["title"].startswith("[HX] ")
    assert elsewhere not in [i.get("tenancy_id") for i in row.context["items"]]
    assert send_digest(service, date(2025, 1, 21)) is not None


def test_a_tenancy_the_rules_refuse_is_reported_and_its_chunk_still_commits(
    service: Service,
    clock: FixedClock,
    engine: Engine,
    space: tuple[int, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = active_tenancies(engine, space, 3)
    clock.set(OPENING)
    handlers = dict(service.handlers)
    monkeypatch.setattr(service, "handlers", handlers)
    real = handlers[c.OpenReview]

    def picky(w: Any, cmd: c.OpenReview) -> Any:
        result = real(w, cmd)  # decides first, then refuses: its decision must be dropped
        if cmd.tenancy_id == ids[1]:
            raise InvalidInput("tenancy_id", "refused for the test", cmd.tenancy_id)
        return result

    monkeypatch.setitem(handlers, c.OpenReview, picky)
    report = open_cycle(service, "MC3", 2024)
    assert (report.opened, report.chunks) == (2, 1)
    assert report.failed == {ids[1]: f"tenancy_id: refused for the test (got {ids[1]})"}
    with Session(engine) as s:
        assert sorted(s.exec(select(Review.tenancy_id)).all()) == [ids[0], ids[2]]
        states = dict(s.exec(select(Tenancy.id, Tenancy.state)).all())
        events = s.exec(select(AuditEvent.tenancy_id)).all()
    assert [states[t] for t in ids] == ["under_review", "active", "under_review"]
    assert sorted(events) == [ids[0], ids[2]]


def test_a_chunk_whose_writing_is_refused_opens_again_a_tenancy_a_transaction(
    service: Service, clock: FixedClock, engine: Engine, space: tuple[int, str]
) -> None:
    ids = active_tenancies(engine, space, 3)
    clock.set(OPENING)
    # A notice already queued under the key the second tenancy's "review_opened" will have:
    # deciding passes, writing the chunk's effects together is refused.
    with Session(engine) as s:
        firm_id = s.get(Tenancy, ids[1]).firm_id  # type: ignore[union-attr]
    taken = f"review_opened:firm:{ids[1]}:2024"
    with engine.begin() as conn:
        conn.execute(
            insert(OutboxMessage.__table__),  # type: ignore[arg-type]
            outbox_row(
                taken,
                "review_opened",
                tenancy_id=ids[1],
                firm_id=firm_id,
                audience="firm",
                locale="zh-CN",
                context={},
                now=OPENING,
            ),
        )
    report = open_cycle(service, "MC3", 2024)
    assert (report.opened, report.already_open, report.failed, report.chunks) == (2, 1, {}, 1)
    with Session(engine) as s:
        assert sorted(s.exec(select(Review.tenancy_id)).all()) == [ids[0], ids[2]]
        states = dict(s.exec(select(Tenancy.id, Tenancy.state)).all())
    assert [states[t] for t in ids] == ["under_review", "active", "under_review"]


def test_each_digest_warns_of_an_unpublished_year_for_its_own_space(
    service: Service, engine: Engine, space: tuple[int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifecycle.calendar import WorkCalendar

    real = WorkCalendar.is_published
    monkeypatch.setattr(
        WorkCalendar, "is_published", lambda self, year: year != 2026 and real(self, year)
    )
    create_space(service, "HX")
    sent = send_digest(service, date(2025, 12, 1))
    assert sent is not None and [d["space"] for d in sent["digests"]] == ["MC3", "HX"]
    with Session(engine) as s:
        rows = s.exec(
            select(OutboxMessage)
            .where(OutboxMessage.message == "operator_digest")
            .order_by(col(OutboxMessage.id))
        ).all()
    warnings = [r.context["items"][0]["title"] for r in rows]
    assert "2026 年放假调休安排尚未录入" in warnings[0] and "（空间 MC3）" in warnings[0]
    assert "HX" not in warnings[0] and "（空间 HX）" in warnings[1] and "MC3" not in warnings[1]


def test_a_space_with_nothing_waiting_gets_no_digest_but_the_audit_checkpoint_still_comes(
    service: Service, engine: Engine, space: tuple[int, str], clock: FixedClock, tmp_path: Path
) -> None:
    """A day nothing waits in any space: no digest (no notice, no e-mail); the scheduler's
    audit checkpoint, a notice about no space in the digest's form, is queued all the same."""
    from workflows import checkpoints

    create_space(service, "HX")
    clock.set(local(2025, 3, 3, 9))
    assert send_digest(service, date(2025, 3, 3)) is None
    made = checkpoints.keygen(tmp_path / "audit.key")
    done = checkpoints.daily(service, key_path=made["key"], directory=str(tmp_path))
    assert done is not None
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.audience == "operators")).all()
    assert [(r.message, r.space_id, r.dedupe_key) for r in rows] == [
        ("operator_digest", None, "audit_checkpoint:operators:2025-03-03")
    ]
    assert "审计检查点" in rows[0].context["items"][0]["title"]
