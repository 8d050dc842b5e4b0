"""Tampering by someone who can write to the database, on SQLite and PostgreSQL (issue 15, 3).

A small space is carried through the handlers (an active tenancy, a decided review, a forced
exit served, a voluntary exit vacating, one handed over); a checkpoint is signed with a key
kept outside the database; then each test tampers with the rows directly, as an attacker
with write access would, and expects `audit verify` (with the checkpoint where the plain
chain cannot tell) to report it.

The 13 cases: the four caught by the chain alone (an edited payload, a deleted event,
swapped events, a state changed without an event), the seven the issue lists as missed (the
last event deleted and the head rewound, a payload edited and the chain recomputed, every
event backdated and recomputed, a forged legal event appended, a whole tenancy deleted,
reviews.grade edited, deadlines marked done), and the two further rules it asks for (an exit
case's type and dates edited, an event dated before its predecessor).
"""

from __future__ import annotations

import json
import random
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import local
from sqlalchemy import Engine, inspect, text

from entrypoints.demo_data import HANDOVER, figures, good_profile, make_uscc, scores
from lifecycle import checkpoint as cp
from lifecycle.audit import GENESIS, canonical_json, event_hash
from lifecycle.clock import FixedClock
from workflows import audit, checkpoints
from workflows import commands as c
from workflows.answers import RequestVoluntaryExit
from workflows.audit import VerifyReport
from workflows.service import Service

START = local(2024, 3, 4, 9, 0)


class Space:
    """Tenancies carried into the states the cases need, by the real handlers."""

    def __init__(self, service: Service, clock: FixedClock) -> None:
        self.service, self.clock = service, clock
        self.rng = random.Random(15)
        self.ids: dict[str, int] = {}

    def do(self, command: c.Command) -> Any:
        return self.service.handle(command)

    def _evaluating(self, n: int) -> int:
        uscc = make_uscc(self.rng)
        self.do(c.RegisterFirm(name=f"企业{n}", uscc=uscc, industry="pharma"))
        step = self.do(
            c.Apply(
                firm=uscc,
                space="MC3",
                requested_area_m2=100,
                profile=good_profile(date(2024, 3, 4)),
            )
        )
        t = int(step.tenancy_id)
        self.do(c.Screen(tenancy_id=t))
        for r in ("甲", "乙", "丙"):
            self.do(c.ScoreApplication(tenancy_id=t, reviewer=r, scores=scores(0.75)))
        return t

    def build(self) -> Space:
        self.do(c.CreateSpace(code="MC3", name="成都医学城三医创新中心"))
        for i in range(6):
            self.do(c.AddUnit(space="MC3", code=f"U{i:02d}", kind="office", area_m2=100))
        names = ("active", "reviewed", "notice", "vacating", "exited", "spare")
        ids = {name: self._evaluating(i) for i, name in enumerate(names)}
        for t in ids.values():
            self.do(c.Approve(tenancy_id=t))
        self.clock.set(local(2024, 3, 18, 9, 0))  # the 公示 is over
        for i, t in enumerate(ids.values()):
            self.do(c.EndPublicity(tenancy_id=t))
            self.do(
                c.Sign(
                    tenancy_id=t,
                    units=(f"U{i:02d}",),
                    term_start=date(2023, 4, 1),
                    term_end=date(2026, 3, 31),
                    deposit_yuan=10000,
                )
            )
        for t in (ids["vacating"], ids["exited"]):  # the firms ask to leave, 2 months ahead
            self.do(RequestVoluntaryExit(tenancy_id=t, leave_on=date(2024, 5, 20), actor="企业"))
        self.clock.set(local(2024, 3, 25, 9, 0))
        t = ids["reviewed"]
        self.do(c.OpenReview(tenancy_id=t, period=2023))
        self.do(
            c.SubmitReview(
                tenancy_id=t, period=2023, figures=figures("steady", year=2023, rng=self.rng)
            )
        )
        self.clock.set(local(2024, 3, 26, 10, 0))
        self.do(c.DecideReview(tenancy_id=t, period=2023, outcome="pass", reason="复核"))
        self.clock.set(local(2024, 3, 27, 10, 0))
        self.do(
            c.ServeExitNotice(
                tenancy_id=ids["notice"],
                grounds="moved_out",
                facts="注册地已迁出空间",
                proof_of_service="EMS 1001",
            )
        )
        for t in (ids["vacating"], ids["exited"]):
            self.do(c.BeginExit(tenancy_id=t, exit_type="voluntary"))
        self.clock.set(local(2024, 3, 28, 10, 0))
        self.do(c.HandOver(tenancy_id=ids["exited"], checklist=HANDOVER))
        self.clock.set(local(2024, 4, 1, 9, 0))
        self.ids = ids
        return self


@pytest.fixture
def space(service: Service, clock: FixedClock) -> Space:
    return Space(service, clock).build()


@pytest.fixture
def key(tmp_path: Path) -> cp.Ed25519PrivateKey:
    made = checkpoints.keygen(tmp_path / "audit.key")
    assert stat.S_IMODE(Path(made["key"]).stat().st_mode) == 0o600
    return checkpoints.load_private_key(made["key"])


@pytest.fixture
def signed(space: Space, key: cp.Ed25519PrivateKey, tmp_path: Path) -> cp.SignedCheckpoint:
    """The checkpoint, written to a file outside the database and read back from it."""
    taken = checkpoints.take(space.service, key)
    path = checkpoints.write(tmp_path / "checkpoint.json", taken)
    back = checkpoints.read(path)
    assert back == taken
    report = checkpoints.verify(space.service, back, key.public_key())
    assert report.ok, report.problems
    return back


# ---- tampering helpers: what an attacker with write access does ----------------------------
def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def events(engine: Engine, tenancy_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM audit_events WHERE tenancy_id = :t ORDER BY id"), {"t": tenancy_id}
        )
        out = [dict(r._mapping) for r in rows]
    for row in out:  # SQLite gives the stored text back
        if isinstance(row["occurred_at"], str):
            row["occurred_at"] = datetime.fromisoformat(row["occurred_at"])
    return out


def stored(engine: Engine, value: datetime) -> Any:
    """An instant as the column stores it (SQLite: naive UTC text)."""
    if engine.dialect.name == "sqlite":
        return naive(value) if value.tzinfo else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _data(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def rechain(engine: Engine, tenancy_id: int, edit: Any = None) -> None:
    """Recompute a tenancy's chain after ``edit(event)`` changed fields of its events, and
    point the tenancy's head at the new last hash: plain SHA-256, anyone can."""
    prev = GENESIS
    rows = events(engine, tenancy_id)
    with engine.begin() as conn:
        for row in rows:
            if edit is not None:
                edit(row)
            data = _data(row["data"])
            row["hash"] = event_hash(
                prev_hash=prev,
                tenancy_id=row["tenancy_id"],
                seq=row["seq"],
                actor=row["actor"],
                trigger=row["trigger"],
                from_state=row["from_state"],
                to_state=row["to_state"],
                reason=row["reason"],
                data=data,
                rulebook_version=row["rulebook_version"],
                occurred_at=row["occurred_at"],
            )
            conn.execute(
                text(
                    "UPDATE audit_events SET prev_hash = :p, hash = :h, reason = :r, actor = :a, "
                    "occurred_at = :o WHERE id = :id"
                ),
                {
                    "p": prev,
                    "h": row["hash"],
                    "r": row["reason"],
                    "a": row["actor"],
                    "o": _text(engine, row["occurred_at"]),
                    "id": row["id"],
                },
            )
            prev = row["hash"]
        conn.execute(
            text("UPDATE tenancies SET audit_head = :h, audit_seq = :s WHERE id = :t"),
            {"h": prev, "s": len(rows), "t": tenancy_id},
        )


def append(engine: Engine, tenancy_id: int, trigger: str, to_state: str, at: datetime) -> None:
    """A forged event that is a legal step, chained and hashed correctly, head moved."""
    last = events(engine, tenancy_id)[-1]
    seq, data = last["seq"] + 1, {"forged": False}
    digest = event_hash(
        prev_hash=last["hash"],
        tenancy_id=tenancy_id,
        seq=seq,
        actor="admin",
        trigger=trigger,
        from_state=last["to_state"],
        to_state=to_state,
        reason=None,
        data=data,
        rulebook_version=None,
        occurred_at=at,
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (tenancy_id, seq, actor, trigger, from_state, to_state, "
                "reason, data, rulebook_version, occurred_at, prev_hash, hash) VALUES (:t, :s, "
                "'admin', :tr, :f, :to, NULL, :d, NULL, :o, :p, :h)"
            ),
            {
                "t": tenancy_id,
                "s": seq,
                "tr": trigger,
                "f": last["to_state"],
                "to": to_state,
                "d": canonical_json(data).decode(),
                "o": _text(engine, at),
                "p": last["hash"],
                "h": digest,
            },
        )
        conn.execute(
            text(
                "UPDATE tenancies SET audit_head = :h, audit_seq = :s, state = :st, "
                "version = version + 1 WHERE id = :t"
            ),
            {"h": digest, "s": seq, "st": to_state, "t": tenancy_id},
        )


def naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _text(engine: Engine, value: datetime) -> Any:
    value = stored(engine, value)
    return (
        value.isoformat(sep=" ", timespec="microseconds")
        if engine.dialect.name == "sqlite"
        else value
    )


# ---- what is checked ----------------------------------------------------------------------
def plain(space: Space) -> VerifyReport:
    return space.service.read(lambda w: audit.verify(w.session))


def against(space: Space, signed: cp.SignedCheckpoint, key: cp.Ed25519PrivateKey) -> VerifyReport:
    return checkpoints.verify(space.service, signed, key.public_key())


def kinds(report: VerifyReport, tenancy_id: int | None = None) -> set[str]:
    return {p.kind for p in report.problems if tenancy_id is None or p.tenancy_id == tenancy_id}


def details(report: VerifyReport) -> str:
    return "\n".join(str(p) for p in report.problems)


# ---- the four the chain alone catches -------------------------------------------------------
def test_01_edited_payload(space: Space, engine: Engine) -> None:
    t = space.ids["active"]
    sql(engine, "UPDATE audit_events SET reason = 'forged' WHERE tenancy_id = :t AND seq = 2", t=t)
    assert "edited" in kinds(plain(space), t)


def test_02_deleted_event(space: Space, engine: Engine) -> None:
    t = space.ids["active"]
    sql(engine, "DELETE FROM audit_events WHERE tenancy_id = :t AND seq = 3", t=t)
    assert {"missing", "broken_chain"} <= kinds(plain(space), t)


def test_03_swapped_events(space: Space, engine: Engine) -> None:
    t = space.ids["active"]
    sql(engine, "UPDATE audit_events SET seq = -1 WHERE tenancy_id = :t AND seq = 2", t=t)
    sql(engine, "UPDATE audit_events SET seq = 2 WHERE tenancy_id = :t AND seq = 3", t=t)
    sql(engine, "UPDATE audit_events SET seq = 3 WHERE tenancy_id = :t AND seq = -1", t=t)
    assert "edited" in kinds(plain(space), t)  # seq is hashed
    # Exchanging the rows' ids instead (storage order) breaks the links.
    t = space.ids["spare"]
    rows = events(engine, t)
    a, b = rows[1]["id"], rows[2]["id"]
    sql(engine, "UPDATE audit_events SET id = -1 WHERE id = :a", a=a)
    sql(engine, "UPDATE audit_events SET id = :a WHERE id = :b", a=a, b=b)
    sql(engine, "UPDATE audit_events SET id = :b WHERE id = -1", b=b)
    assert {"reordered", "broken_chain"} <= kinds(plain(space), t)


def test_04_state_changed_without_event(space: Space, engine: Engine) -> None:
    t = space.ids["notice"]
    sql(engine, "UPDATE tenancies SET state = 'active' WHERE id = :t", t=t)
    assert "fold_mismatch" in kinds(plain(space), t)


# ---- the seven the issue lists as missed ----------------------------------------------------
def test_05_last_event_deleted_and_head_rewound(
    space: Space, engine: Engine, signed: cp.SignedCheckpoint, key: cp.Ed25519PrivateKey
) -> None:
    t = space.ids["active"]
    last = events(engine, t)[-1]
    sql(engine, "DELETE FROM audit_events WHERE id = :i", i=last["id"])
    sql(
        engine,
        "UPDATE tenancies SET audit_seq = audit_seq - 1, audit_head = :h, state = :s WHERE id = :t",
        h=last["prev_hash"],
        s=last["from_state"],
        t=t,
    )
    # A consistent shorter chain: the chain cannot tell (a deadline cancelled by the deleted
    # event may still give it away); the checkpoint can.
    report = against(space, signed, key)
    assert {"checkpoint_rewound", "checkpoint_missing"} <= kinds(report, t), details(report)


def test_06_payload_edited_and_chain_recomputed(
    space: Space, engine: Engine, signed: cp.SignedCheckpoint, key: cp.Ed25519PrivateKey
) -> None:
    t = space.ids["active"]

    def edit(row: dict[str, Any]) -> None:
        if row["seq"] == 1:
            row["actor"] = "someone else"

    rechain(engine, t, edit)
    assert kinds(plain(space), t) == set()
    report = against(space, signed, key)
    assert kinds(report, t) == {"checkpoint_mismatch"}, details(report)


def test_07_every_event_backdated_and_recomputed(
    space: Space, engine: Engine, signed: cp.SignedCheckpoint, key: cp.Ed25519PrivateKey
) -> None:
    t = space.ids["active"]

    def edit(row: dict[str, Any]) -> None:
        row["occurred_at"] = row["occurred_at"] - timedelta(days=40)

    rechain(engine, t, edit)
    assert "time_order" not in kinds(plain(space), t)  # still in order, hashes recomputed
    report = against(space, signed, key)
    assert "checkpoint_mismatch" in kinds(report, t), details(report)


def test_08_forged_legal_event_appended(
    space: Space, engine: Engine, signed: cp.SignedCheckpoint, key: cp.Ed25519PrivateKey
) -> None:
    # Dated into the time the checkpoint covered: it was not there when it was signed.
    t = space.ids["active"]
    created = cp.instant(signed.checkpoint.created_at)
    last_at = events(engine, t)[-1]["occurred_at"]
    at = (last_at if last_at.tzinfo else last_at.replace(tzinfo=UTC)) + timedelta(hours=1)
    assert at < created - cp.GRACE
    append(engine, t, "open_review", "under_review", at)
    assert kinds(plain(space), t) == set()  # a legal step, hashed and chained
    report = against(space, signed, key)
    assert kinds(report, t) == {"checkpoint_backdated"}, details(report)
    # Dated after the checkpoint, a forged decision needs the rows it decides: an exit
    # begun by an event alone is missing its case.
    t = space.ids["spare"]
    append(engine, t, "begin_exit", "vacating", created + timedelta(days=1))
    report = against(space, signed, key)
    assert any(
        p.kind == "row_mismatch" and "exit_cases" in p.detail
        for p in report.problems
        if p.tenancy_id == t
    ), details(report)


def test_09_whole_tenancy_deleted(
    space: Space, engine: Engine, signed: cp.SignedCheckpoint, key: cp.Ed25519PrivateKey
) -> None:
    t = space.ids["exited"]
    with engine.connect() as conn:
        tables = [
            name
            for name in inspect(conn).get_table_names()
            if any(col["name"] == "tenancy_id" for col in inspect(conn).get_columns(name))
        ]
    for table in sorted(tables, key=lambda n: n != "audit_events"):
        sql(engine, f'DELETE FROM "{table}" WHERE tenancy_id = :t', t=t)
    sql(engine, "DELETE FROM tenancies WHERE id = :t", t=t)
    assert plain(space).ok  # nothing left to recompute
    report = against(space, signed, key)
    assert kinds(report, t) == {"checkpoint_removed"}, details(report)


def test_10_review_grade_edited(space: Space, engine: Engine) -> None:
    t = space.ids["reviewed"]
    sql(
        engine,
        "UPDATE reviews SET grade = CASE WHEN grade = 'A' THEN 'B' ELSE 'A' END "
        "WHERE tenancy_id = :t",
        t=t,
    )
    report = plain(space)
    assert any(
        p.kind == "row_mismatch" and p.detail.startswith("reviews #") and " grade:" in p.detail
        for p in report.problems
    ), details(report)


def test_11_deadlines_marked_done(space: Space, engine: Engine) -> None:
    # The vacating deadline and the 陈述申辩 window, marked done as if the sweep had fired
    # them (at their due instant), though nothing happened.
    for name in ("vacating", "notice"):
        sql(
            engine,
            "UPDATE deadlines SET status = 'done', done_at = due_at "
            "WHERE tenancy_id = :t AND status = 'pending' "
            "AND kind IN ('vacate_due', 'objection_window_end')",
            t=space.ids[name],
        )
    report = plain(space)
    for name, kind in (("vacating", "vacate_due"), ("notice", "objection_window_end")):
        assert any(
            p.kind == "row_mismatch" and f"({kind}) status: done" in p.detail
            for p in report.problems
            if p.tenancy_id == space.ids[name]
        ), details(report)
    # Marked done (or moot) before they fell due, or without a time: caught as well.
    t = space.ids["active"]
    sql(
        engine,
        "UPDATE deadlines SET status = 'done', done_at = NULL WHERE tenancy_id = :t "
        "AND status = 'pending' AND kind = 'term_end'",
        t=t,
    )
    sql(
        engine,
        "UPDATE deadlines SET status = 'moot', done_at = created_at WHERE tenancy_id = :t "
        "AND status = 'pending' AND kind = 'term_expiry_warning'",
        t=t,
    )
    report = plain(space)
    mine = [p.detail for p in report.problems if p.tenancy_id == t]
    assert any("(term_end) status: done, but no time" in d for d in mine), mine
    assert any("(term_expiry_warning) status: moot at" in d for d in mine), mine


# ---- the two further rules ------------------------------------------------------------------
def test_12_exit_case_type_and_dates_edited(space: Space, engine: Engine) -> None:
    t = space.ids["vacating"]
    sql(
        engine,
        "UPDATE exit_cases SET exit_type = 'graduation', vacate_due_on = :d WHERE tenancy_id = :t",
        d=date(2030, 1, 1),
        t=t,
    )
    t2 = space.ids["notice"]
    sql(
        engine,
        "UPDATE exit_cases SET objection_due_on = :d, grounds = 'dormant' WHERE tenancy_id = :t",
        d=date(2030, 1, 1),
        t=t2,
    )
    report = plain(space)
    found = {
        (p.tenancy_id, p.detail.split(":")[0].split()[-1])
        for p in report.problems
        if p.kind == "row_mismatch" and p.detail.startswith("exit_cases #")
    }
    assert {
        (t, "exit_type"),
        (t, "vacate_due_on"),
        (t2, "objection_due_on"),
        (t2, "grounds"),
    } <= found, details(report)


def test_13_event_dated_before_its_predecessor(
    space: Space, engine: Engine, signed: cp.SignedCheckpoint, key: cp.Ed25519PrivateKey
) -> None:
    t = space.ids["active"]
    first = events(engine, t)[0]["occurred_at"]

    def edit(row: dict[str, Any]) -> None:
        if row["seq"] == 4:  # moved before the application itself, chain recomputed
            row["occurred_at"] = first - timedelta(days=1)

    rechain(engine, t, edit)
    report = plain(space)
    assert ("time_order", 4) in [(p.kind, p.seq) for p in report.problems], details(report)
    assert "checkpoint_mismatch" in kinds(against(space, signed, key), t)


# ---- the checkpoint file itself -------------------------------------------------------------
def test_a_checkpoint_file_that_was_edited_or_signed_by_another_key_is_refused(
    space: Space, signed: cp.SignedCheckpoint, key: cp.Ed25519PrivateKey, tmp_path: Path
) -> None:
    data = signed.to_dict()
    data["heads"] = data["heads"][1:]  # drop a tenancy to hide its deletion
    edited = cp.from_dict(data)
    assert {"checkpoint_root", "checkpoint_counts"} <= kinds(against(space, edited, key))
    other = checkpoints.load_private_key(checkpoints.keygen(tmp_path / "other.key")["key"])
    resigned = cp.sign(edited.checkpoint, other)
    assert "checkpoint_signature" in kinds(against(space, resigned, key))
    with pytest.raises(checkpoints.AlreadyExists):
        checkpoints.keygen(tmp_path / "other.key")


def test_the_checkpoint_refuses_to_sign_a_broken_chain(
    space: Space, engine: Engine, key: cp.Ed25519PrivateKey
) -> None:
    from lifecycle.errors import IntegrityError

    sql(engine, "UPDATE audit_events SET reason = 'x' WHERE tenancy_id = :t", t=space.ids["active"])
    with pytest.raises(IntegrityError):
        checkpoints.take(space.service, key)


def test_merkle_root_is_rfc6962() -> None:
    import hashlib

    def h(b: bytes) -> bytes:
        return hashlib.sha256(b).digest()

    leaves = [b"a", b"b", b"c"]
    l0, l1, l2 = (h(b"\x00" + x) for x in leaves)
    expected = h(b"\x01" + h(b"\x01" + l0 + l1) + l2)
    assert cp.merkle_root(leaves) == expected.hex()
    assert cp.merkle_root([]) == h(b"").hex()
    assert cp.merkle_root([b"a"]) == l0.hex()


def test_daily_checkpoint_is_written_once_and_queued_to_the_operators(
    space: Space, tmp_path: Path
) -> None:
    keyfile = checkpoints.keygen(tmp_path / "daily.key")["key"]
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    first = checkpoints.daily(space.service, key_path=keyfile, directory=str(folder))
    assert first is not None and Path(first["file"]).is_file()
    assert checkpoints.daily(space.service, key_path=keyfile, directory=str(folder)) is None
    with space.service.engine.connect() as conn:
        row = conn.execute(
            text("SELECT message, audience, context FROM outbox WHERE dedupe_key LIKE 'audit_%'")
        ).one()
    assert row.message == "operator_digest" and row.audience == "operators"
    assert first["root"] in json.dumps(_data(row.context))
