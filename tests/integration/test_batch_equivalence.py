"""The batch paths write exactly what the single-command paths write, on SQLite and PostgreSQL.

One park of 30 resident firms with a reviewed 2023 (some rectified, so a second D means a
forced exit) is built through the real handlers, then cloned. The 2024 cycle is opened in one
copy by ``OpenReview`` per tenancy and in the other by :func:`open_cycle_batch`; after the
same submissions it is decided by the cohort path (``decisions.decide_cycle``, i.e.
``apply_decision`` per tenancy with the capped grades) or by ``DecideReview`` per tenancy, and
by :func:`decide_cycle_batch`. After each step every row of every table the paths write must
be equal (surrogate ids of append-only tables aside: they are compared through the natural
keys that name them), the audit chains must verify, and the hashes must be byte-identical.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS, local
from sqlalchemy import Engine, Table, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from db import writer
from db.engine import make_engine
from db.tables import (
    AuditEvent,
    Deadline,
    ExitCase,
    OutboxMessage,
    Rectification,
    Review,
    Tenancy,
)
from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import figures as demo_figures
from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.audit import event_hash
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import FixedClock
from lifecycle.errors import Conflict, InvalidInput, NotFound, StaleTenancy
from workflows import batch, decisions
from workflows import commands as c
from workflows.audit import verify
from workflows.opportunity_commands import (
    AcceptEntry,
    ArrangeList,
    CreateList,
    Introduce,
    PublishList,
    RecordOutcome,
    SubmitEntry,
)
from workflows.service import Service

SPACE = "MC3"
N = 30
LEVELS = ("strong", "steady", "strong", "weak", "steady")  # by tenancy index: A, B/C, D


def _table(model: type[Any]) -> Table:
    return model.__table__  # type: ignore[no-any-return]


# ---- the park --------------------------------------------------------------------------------


def build_park(service: Service, clock: FixedClock) -> list[int]:
    """30 residents signed in 2023; their 2023 review decided as a cohort; the D firms
    rectified and passed re-inspection, so all are active again with a D on record."""
    rng = random.Random(20240101)
    service.handle(c.CreateSpace(code=SPACE, name="成都医学城三医创新中心"))
    clock.set(local(2023, 3, 6, 9, 0))
    ts: list[int] = []
    for i in range(N):
        uscc = make_uscc(rng)
        service.handle(
            c.RegisterFirm(
                name=f"蓉创科技{i:02d}",
                uscc=uscc,
                industry="pharma",
                contact_name=f"联系人{i}",
                contact_email=f"f{i}@firm.example",
                account_manager="王芳" if i % 2 else None,
            )
        )
        service.handle(
            c.AddUnit(space=SPACE, code=f"A-{i:03d}", kind="office", area_m2=80 + 10 * (i % 5))
        )
        step = service.handle(
            c.Apply(
                firm=uscc,
                space=SPACE,
                requested_area_m2=100,
                profile=good_profile(date(2023, 3, 6)),
            )
        )
        t = int(step.tenancy_id)
        service.handle(c.Screen(tenancy_id=t))
        for j in range(3):
            service.handle(
                c.ScoreApplication(tenancy_id=t, reviewer=f"专家{j}", scores=dict(scores(0.8)))
            )
        service.handle(c.Approve(tenancy_id=t))
        ts.append(t)
    clock.set(local(2023, 3, 20, 9, 0))
    for i, t in enumerate(ts):
        service.handle(c.EndPublicity(tenancy_id=t))
        service.handle(
            c.Sign(
                tenancy_id=t,
                units=(f"A-{i:03d}",),
                term_start=date(2023, 4, 1),
                term_end=date(2026, 3, 31),
                deposit_yuan=20_000,
            )
        )
    # 2023: every firm reviewed; the weak ones (and one that never files) get a D.
    clock.set(local(2024, 1, 2, 9, 0))
    for t in ts:
        service.handle(c.OpenReview(tenancy_id=t, period=2023))
    for i, t in enumerate(ts):
        if i % 7 != 6:
            service.handle(
                c.SubmitReview(tenancy_id=t, period=2023, figures=figures(i, 2023, weak_every=3))
            )
    clock.set(local(2024, 1, 22, 9, 0))
    service.run(lambda w: decisions.decide_cycle(w, SPACE, 2023, actor="operator"))
    clock.set(local(2024, 4, 1, 9, 0))
    for t in ts:
        if state(service, t) == "rectifying":
            service.handle(c.Reinspect(tenancy_id=t, passed=True, reason="整改到位"))
    assert {state(service, t) for t in ts} == {"active"}
    cooperate(service, ts)
    return ts


def cooperate(service: Service, ts: list[int]) -> None:
    """In 2024 firm 0's need and firms 1 and 2's supplies go onto a published list, and the
    need's introduction to firm 1's supply ends in a deal: the review's cooperation fact is
    2 (1 entry, 1 deal) for firms 0 and 1, 1 for firm 2, and 0 for everyone else."""
    firms = [service.read(lambda w, t=t: w.tenancy(t, lock=False).firm_id) for t in ts[:3]]
    entries = []
    for i, (firm, kind) in enumerate(zip(firms, ("need", "supply", "supply"), strict=True)):
        entry = SubmitEntry(
            space=SPACE,
            firm=str(firm),
            kind=kind,
            title=f"失眠治疗临床合作{i}",
            description="与医院睡眠科开展失眠干预设备的临床合作（示例数据）。",
            field="medical_devices",
            sought="医院睡眠科临床合作、失眠治疗设备",
            contact_name=f"联系人{i}",
            valid_until=date(2024, 12, 31),
        )
        entries.append(service.handle(entry)["entry_id"])
        service.handle(AcceptEntry(entry_id=entries[-1]))
    service.handle(CreateList(title="第1期城市机会清单", actor="district"))
    service.handle(ArrangeList(number=1, entry_ids=tuple(entries), actor="district"))
    service.handle(PublishList(number=1, actor="district"))
    introduced = service.handle(Introduce(need_id=entries[0], supply_id=entries[1]))
    service.handle(RecordOutcome(introduction_id=introduced["introduction_id"], outcome="deal"))


def figures(i: int, year: int, *, weak_every: int) -> dict[str, Any]:
    level = "weak" if i % weak_every == 0 else LEVELS[i % len(LEVELS)]
    return demo_figures(level, year=year, rng=random.Random(i * 100 + year))


def state(service: Service, t: int) -> str:
    return str(service.read(lambda w: w.tenancy(t, lock=False).state))


# ---- two identical databases -----------------------------------------------------------------


@dataclass
class Twin:
    """The same park in two databases: ``a`` takes the single-command path, ``b`` the batch.

    Both are clones of the module's park (never the park itself, which later tests reuse)."""

    a: Service
    b: Service
    clock: FixedClock
    tenancies: list[int]


def _clone_sqlite(url: str) -> str:
    source = make_url(url).database
    assert source is not None
    target = source.replace(".db", f"-{uuid.uuid4().hex[:6]}.db")
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)  # includes what is still in the WAL, unlike a file copy
    finally:
        src.close()
        dst.close()
    return f"sqlite:///{target}"


def _clone_postgres(url: str, admin: Engine) -> str:
    source = make_url(url).database
    target = f"innospace_twin_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))
    return make_url(url).set(database=target).render_as_string(hide_password=False)


@dataclass
class Park:
    url: str
    tenancies: list[int]
    admin: Engine | None  # PostgreSQL: the connection that creates and drops databases

    def clone(self) -> str:
        return (
            _clone_postgres(self.url, self.admin)
            if self.admin is not None
            else _clone_sqlite(self.url)
        )

    def drop(self, url: str) -> None:
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(
                    text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
                )


@pytest.fixture(scope="module", params=BACKENDS)
def park(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Park]:
    """The park built once per backend (about 600 real commands); each test gets clones."""
    admin: Engine | None = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("park") / "park.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        admin, template = request.getfixturevalue("pg_admin")
        name = f"innospace_park_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = make_url(str(admin.url)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    clock = FixedClock(local(2023, 3, 6, 9, 0))
    try:
        ts = build_park(Service(engine, clock, HANDLERS), clock)
    finally:
        engine.dispose()
    built = Park(url, ts, admin)
    yield built
    built.drop(url)


@pytest.fixture
def twin(park: Park) -> Iterator[Twin]:
    clock = FixedClock(local(2024, 4, 1, 9, 0))
    urls = [park.clone(), park.clone()]
    engines = [make_engine(u) for u in urls]
    try:
        yield Twin(
            Service(engines[0], clock, HANDLERS),
            Service(engines[1], clock, HANDLERS),
            clock,
            list(park.tenancies),
        )
    finally:
        for engine, url in zip(engines, urls, strict=True):
            engine.dispose()
            park.drop(url)


# ---- comparing -------------------------------------------------------------------------------


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row the paths write, keyed by natural keys; surrogate ids of append-only rows
    are replaced by what they name (the review / rectification / exit case of a tenancy)."""
    with Session(engine) as s:
        conn = s.connection()

        def rows(model: type[Any], *order: str) -> list[dict[str, Any]]:
            t = _table(model)
            return [
                dict(r._mapping) for r in conn.execute(select(t).order_by(*(t.c[o] for o in order)))
            ]

        out = {
            "tenancies": rows(Tenancy, "id"),
            "reviews": rows(Review, "tenancy_id", "period"),
            "audit_events": rows(AuditEvent, "tenancy_id", "seq"),
            "outbox": rows(OutboxMessage, "dedupe_key"),
            "deadlines": rows(Deadline, "dedupe_key"),
            "rectifications": rows(Rectification, "tenancy_id", "id"),
            "exit_cases": rows(ExitCase, "tenancy_id", "id"),
        }
    for name in ("reviews", "audit_events", "outbox", "deadlines", "rectifications", "exit_cases"):
        for row in out[name]:
            row.pop("id")
    return out


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two rows differ (for the failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b), key=str)
            for d in _diff(a.get(k), b.get(k), f"{path}.{k}")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def assert_same(twin: Twin) -> dict[str, list[dict[str, Any]]]:
    a, b = snapshot(twin.a.engine), snapshot(twin.b.engine)
    for name in a:
        assert len(a[name]) == len(b[name]), name
        for row_a, row_b in zip(a[name], b[name], strict=True):
            assert row_a == row_b, f"{name} differs: {_diff(row_a, row_b)}"
    for service in (twin.a, twin.b):
        report = service.read(lambda w: verify(w.session))
        assert report.ok, report.problems[:3]
    return a


def calendar() -> WorkCalendar:
    return WorkCalendar()


def open_both(twin: Twin, **batch_kw: Any) -> batch.BatchReport:
    twin.clock.set(local(2025, 1, 2, 9, 0))
    for t in twin.tenancies:
        twin.a.handle(
            c.OpenReview(tenancy_id=t, period=2024, actor=batch.SYSTEM, reason=batch.CYCLE_REASON)
        )
    return batch.open_cycle_batch(
        twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2024, **batch_kw
    )


#: When a firm (by index) files its 2024 figures, if not on 2025-01-08 with most: the review
#: is due on 2025-01-15. Firm 7 files half an hour after that day ends in Chengdu (still the
#: 15th in UTC), firm 16 two days late, firm 25 in the last hour of the due date.
FILED_AT = {
    7: local(2025, 1, 16, 0, 30),
    16: local(2025, 1, 17, 10, 0),
    25: local(2025, 1, 15, 23, 30),
}


def submit_both(twin: Twin, *, weak_every: int, strong: bool = True) -> None:
    by_time: dict[datetime, list[int]] = {}
    for i in range(len(twin.tenancies)):
        if i % 9 != 4:  # else never filed: decided as missing data once overdue
            by_time.setdefault(FILED_AT.get(i, local(2025, 1, 8, 10, 0)), []).append(i)
    for at in sorted(by_time):
        twin.clock.set(at)
        for i in by_time[at]:
            figs = figures(i, 2024, weak_every=weak_every)
            if not strong and figs["high_tech_enterprise"]:
                figs = figures(i + 1, 2024, weak_every=weak_every)
                figs["high_tech_enterprise"] = figs["specialized_new"] = False
            command = c.SubmitReview(tenancy_id=twin.tenancies[i], period=2024, figures=figs)
            for service in (twin.a, twin.b):
                service.handle(command)
    twin.clock.set(local(2025, 1, 20, 9, 30))


# ---- tests -----------------------------------------------------------------------------------


def test_a_cycle_opened_in_a_batch_writes_what_open_review_writes(twin: Twin) -> None:
    progress: list[tuple[int, int]] = []
    report = open_both(twin, chunk=7, progress=lambda n, total: progress.append((n, total)))

    assert report.written == report.selected == N
    assert report.chunks == 5
    assert progress[0] == (0, N) and sum(n for n, _ in progress) == N
    snap = assert_same(twin)
    opened = [
        e
        for e in snap["audit_events"]
        if e["trigger"] == "open_review" and e["data"]["period"] == 2024
    ]
    assert len(opened) == N
    assert {d["kind"] for d in snap["deadlines"] if d["created_at"].year == 2025} == {
        "review_submission_due",
        "review_reminder",
    }
    assert (
        sum(
            1
            for o in snap["outbox"]
            if o["message"] == "review_opened" and o["context"]["period"] == 2024
        )
        == N
    )
    # Byte-identical hashes: recomputing with lifecycle.audit gives the stored value.
    event = opened[0]
    assert event["hash"] == event_hash(
        **{
            k: event[k]
            for k in (
                "prev_hash",
                "tenancy_id",
                "seq",
                "actor",
                "trigger",
                "from_state",
                "to_state",
                "reason",
                "data",
                "rulebook_version",
                "occurred_at",
            )
        }
    )


def test_a_rerun_opens_nothing_and_a_concurrent_change_rolls_its_chunk_back(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin.clock.set(local(2025, 1, 2, 9, 0))
    t0, t3 = twin.tenancies[0], twin.tenancies[3]
    twin.b.handle(c.OpenReview(tenancy_id=t0, period=2024))  # opened by hand before the cycle
    before = snapshot(twin.b.engine)
    real = writer.write

    def meddle(conn: Any, effects: Any) -> None:
        # Another writer bumps a tenancy between the chunk's read and its versioned update
        # (impossible under the batch's own locks, so it is staged in the same transaction).
        conn.execute(text("UPDATE tenancies SET version = version + 1 WHERE id = :t"), {"t": t3})
        real(conn, effects)

    monkeypatch.setattr(writer, "write", meddle)
    with pytest.raises(StaleTenancy) as err:
        batch.open_cycle_batch(
            twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2024, chunk=10
        )
    assert err.value.context["tenancy_id"] == t3
    assert snapshot(twin.b.engine) == before  # the whole chunk rolled back, bump included
    monkeypatch.setattr(writer, "write", real)

    report = batch.open_cycle_batch(
        twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2024, chunk=10
    )
    assert (report.selected, report.written) == (N - 1, N - 1)
    again = batch.open_cycle_batch(
        twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2024
    )
    assert (again.selected, again.written) == (0, 0)
    assert twin.b.read(lambda w: verify(w.session)).ok


def test_a_stopped_batch_ends_between_chunks_and_a_rerun_finishes_it(twin: Twin) -> None:
    twin.clock.set(local(2025, 1, 2, 9, 0))
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2  # two chunks, then a shutdown

    first = batch.open_cycle_batch(
        twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2024, chunk=8, stop=stop
    )
    assert (first.written, first.chunks, first.stopped) == (16, 2, True)
    rest = batch.open_cycle_batch(
        twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2024, chunk=8
    )
    assert (rest.selected, rest.written, rest.stopped) == (N - 16, N - 16, False)
    assert twin.b.read(lambda w: verify(w.session)).ok


def test_bad_requests_are_refused_before_anything_is_written(twin: Twin) -> None:
    twin.clock.set(local(2025, 1, 2, 9, 0))
    before = snapshot(twin.b.engine)
    for period, chunk, field in ((2026, 10, "period"), (1999, 10, "period"), (2024, 0, "chunk")):
        with pytest.raises(InvalidInput) as err:
            batch.open_cycle_batch(
                twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=period, chunk=chunk
            )
        assert err.value.field == field
    with pytest.raises(NotFound):
        batch.open_cycle_batch(
            twin.b.engine, twin.clock, calendar(), space_code="NOPE", period=2024
        )
    with pytest.raises(NotFound):
        batch.decide_cycle_batch(
            twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2022
        )  # no reviews that year
    assert snapshot(twin.b.engine) == before


def test_a_cycle_decided_in_a_batch_writes_what_the_cohort_decision_writes(twin: Twin) -> None:
    """The reference is ``decisions.decide_cycle``: ``apply_decision`` per tenancy with the
    grades capped across the cohort (here more firms earn an A than the cap allows)."""
    open_both(twin)
    submit_both(twin, weak_every=3)
    reference = twin.a.run(lambda w: decisions.decide_cycle(w, SPACE, 2024, actor="operator"))
    progress: list[tuple[int, int]] = []
    report = batch.decide_cycle_batch(
        twin.b.engine,
        twin.clock,
        calendar(),
        space_code=SPACE,
        period=2024,
        actor="operator",
        chunk=4,
        progress=lambda n, total: progress.append((n, total)),
    )

    decided = reference["decided"]
    assert report.written == report.selected == len(decided) == N
    assert sum(n for n, _ in progress) == N
    kinds = {(d["scored_grade"], d["grade"], d["to"]) for d in decided}
    assert ("A", "A", "active") in kinds and ("A", "B", "active") in kinds  # kept and demoted
    assert {d["to"] for d in decided} == {"active", "rectifying", "exit_notice"}
    assert report.outcomes["demoted"] == sum(d["demoted"] for d in decided)
    snap = assert_same(twin)
    assert len(snap["exit_cases"]) == sum(d["to"] == "exit_notice" for d in decided)
    assert_cooperation(snap)
    assert_on_time(twin, snap)


def assert_cooperation(snap: dict[str, list[dict[str, Any]]]) -> None:
    """Both paths fed the cooperation fact (see :func:`cooperate`) into the 2024 decisions."""
    counted, points = [], []
    for r in sorted(
        (r for r in snap["reviews"] if r["period"] == 2024 and r["submitted_at"] is not None),
        key=lambda r: r["tenancy_id"],
    ):
        steps = {s["rule"]: s for s in r["trace"]["steps"]}
        counted.append(steps["review.fact.cooperation"]["figures"])
        points.append(steps["review.item.cooperation"]["result"])
    assert counted[:4] == [
        {"published_entries": 1, "deals": 1},
        {"published_entries": 1, "deals": 1},
        {"published_entries": 1, "deals": 0},
        {"published_entries": 0, "deals": 0},
    ]
    assert points[:4] == ["2.00", "2.00", "1.00", "0.00"]
    assert set(points[3:]) == {"0.00"}


def assert_on_time(twin: Twin, snap: dict[str, list[dict[str, Any]]]) -> None:
    """Both paths established data on time from each 2024 submission (see :data:`FILED_AT`):
    the two firms that filed after the due date earn none of its 3 points, and their traces
    say on which day they filed and how many days late; the one that filed on the due date
    itself earns them, as the firms that filed a week early do."""
    index = {t: i for i, t in enumerate(twin.tenancies)}
    due = {"due_on": "2025-01-15"}
    seen = {}
    for r in snap["reviews"]:
        if r["period"] == 2024 and r["submitted_at"] is not None:
            steps = {s["rule"]: s for s in r["trace"]["steps"]}
            fact = steps["review.fact.data_on_time"]
            seen[index[r["tenancy_id"]]] = (
                fact["figures"],
                fact["result"],
                steps["review.item.data_on_time"]["result"],
            )
    assert seen.pop(7) == ({"submitted_on": "2025-01-16", **due, "days_late": 1}, False, "0.00")
    assert seen.pop(16) == ({"submitted_on": "2025-01-17", **due, "days_late": 2}, False, "0.00")
    assert seen.pop(25) == ({"submitted_on": "2025-01-15", **due, "days_late": 0}, True, "3.00")
    early = ({"submitted_on": "2025-01-08", **due, "days_late": 0}, True, "3.00")
    assert len(seen) == 24 and all(v == early for v in seen.values())  # 3 of 30 never filed


def test_a_cycle_decided_in_a_batch_writes_what_decide_review_writes(twin: Twin) -> None:
    """Without top grades the cap changes nothing, so ``DecideReview`` per tenancy is the
    reference (scored, overdue and consecutive-D tenancies alike)."""
    open_both(twin)
    submit_both(twin, weak_every=4, strong=False)
    for t in twin.tenancies:
        twin.a.handle(c.DecideReview(tenancy_id=t, period=2024))
    report = batch.decide_cycle_batch(
        twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2024
    )
    assert report.written == N and report.outcomes["demoted"] == 0
    assert set(report.outcomes) >= {"pass", "rectify", "fail"}
    snap = assert_same(twin)
    assert not any(r["grade"] == "A" for r in snap["reviews"] if r["period"] == 2024)
    assert_cooperation(snap)
    assert_on_time(twin, snap)


def test_a_batch_decision_is_refused_as_the_cohort_decision_is(twin: Twin) -> None:
    open_both(twin)
    twin.clock.set(local(2025, 1, 8, 10, 0))  # before the deadline, nothing filed
    with pytest.raises(Conflict) as err:
        batch.decide_cycle_batch(
            twin.b.engine, twin.clock, calendar(), space_code=SPACE, period=2024
        )
    assert "30 review(s) of MC3 for 2024 are still open until" in err.value.message
    with pytest.raises(Conflict) as ref:
        twin.a.run(lambda w: decisions.decide_cycle(w, SPACE, 2024, actor="operator"))
    assert ref.value.message == err.value.message
    before = snapshot(twin.b.engine)
    twin.clock.set(local(2025, 1, 20, 9, 0))
    with pytest.raises(Exception, match="vetoes"):
        batch.decide_cycle_batch(
            twin.b.engine,
            twin.clock,
            calendar(),
            space_code=SPACE,
            period=2024,
            vetoes={999_999: ("fraud",)},
        )
    assert snapshot(twin.b.engine) == before
