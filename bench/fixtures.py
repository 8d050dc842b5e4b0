"""Benchmark data: a city-sized space written straight through Core (set-up is not measured).

Every tenancy gets a legal, hash-chained audit history (apply → screen_in → approve → admit →
sign, and for the decision workload last year's review too), a unit and an allocation, so the
batch paths read what they would read in production and ``audit verify`` passes on the result.
Firms' figures come from ``entrypoints.demo_data.figures`` (strong / steady / weak years).
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Engine, Table, text
from sqlalchemy.engine import make_url

from db.engine import make_engine
from db.migrate import upgrade
from db.tables import (
    Allocation,
    AuditEvent,
    Deadline,
    Firm,
    Review,
    Tenancy,
    Unit,
)
from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import figures
from lifecycle import rulebook as rbook
from lifecycle.audit import GENESIS, canonical_json, event_hash
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import rules
from workflows.reviews import trace_digest
from workflows.service import Service

SPACE = "CITY"
SPACE_NAME = "成都医学城三医创新中心（全市批量）"
PERIOD = 2024
SETUP_AT = datetime(2023, 3, 20, 1, 0, tzinfo=UTC)
OPEN_AT = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)  # 09:00 in Chengdu, 1st working day
SUBMIT_AT = datetime(2025, 1, 8, 2, 0, tzinfo=UTC)
DECIDE_AT = datetime(2025, 1, 20, 1, 30, tzinfo=UTC)  # after the 10th working day
INSERT_CHUNK = 10_000


def table(model: type[Any]) -> Table:
    return model.__table__  # type: ignore[no-any-return]


@dataclass
class Park:
    """A built database: where it is and what it holds."""

    url: str
    n: int
    space_id: int
    rulebook: rbook.Rulebook


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _chunks(
    rows: Sequence[dict[str, Any]], size: int = INSERT_CHUNK
) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class _Chain:
    """Legal audit histories. Each event's hash is ``lifecycle.audit.event_hash`` (what
    ``audit verify`` recomputes), with the parts shared by many events serialized once; the
    first event of each chain-building call is checked against ``event_hash`` itself."""

    def __init__(self, rulebook_version: str) -> None:
        self.version = rulebook_version
        self.rows: list[dict[str, Any]] = []
        self._json: dict[int, bytes] = {}  # id of a step's (constant) data -> its JSON
        self._middles: dict[tuple[str, str | None, str], bytes] = {}
        self._tails: dict[datetime, bytes] = {}
        self._checked: set[datetime] = set()

    def add(
        self,
        tenancy_id: int,
        steps: Sequence[tuple[str, str | None, str, dict[str, Any]]],
        at: datetime,
        head: str = GENESIS,
        seq: int = 0,
    ) -> tuple[int, str]:
        tail = self._tails.get(at)
        if tail is None:
            tail = self._tails[at] = canonical_json(
                [self.version, at.replace(tzinfo=None).isoformat(timespec="microseconds")]
            )[1:]
        for trigger, before, after, data in steps:
            seq += 1
            data_json = self._data_json(data)
            key = (trigger, before, after)
            middle = self._middles.get(key)
            if middle is None:
                middle = self._middles[key] = canonical_json(
                    ["operator", trigger, before, after, None]
                )[1:-1]
            body = b"".join(
                (b'["', head.encode(), b'",%d,%d,' % (tenancy_id, seq), middle, b",")
                + (data_json, b",", tail)
            )
            digest = hashlib.sha256(body).hexdigest()
            if at not in self._checked:
                self._check(digest, head, tenancy_id, seq, trigger, before, after, data, at)
            self.rows.append(
                {
                    "tenancy_id": tenancy_id,
                    "seq": seq,
                    "actor": "operator",
                    "trigger": trigger,
                    "from_state": before,
                    "to_state": after,
                    "reason": None,
                    "data": data,
                    "rulebook_version": self.version,
                    "occurred_at": at,
                    "prev_hash": head,
                    "hash": digest,
                }
            )
            head = digest
        return seq, head

    def _check(
        self,
        digest: str,
        head: str,
        tenancy_id: int,
        seq: int,
        trigger: str,
        before: str | None,
        after: str,
        data: dict[str, Any],
        at: datetime,
    ) -> None:
        expected = event_hash(
            prev_hash=head,
            tenancy_id=tenancy_id,
            seq=seq,
            actor="operator",
            trigger=trigger,
            from_state=before,
            to_state=after,
            reason=None,
            data=data,
            rulebook_version=self.version,
            occurred_at=at,
        )
        if expected != digest:
            raise RuntimeError("bench fixtures hash audit events unlike lifecycle.audit")
        self._checked.add(at)

    def _data_json(self, data: dict[str, Any]) -> bytes:
        hit = self._json.get(id(data))
        if hit is None:
            hit = self._json[id(data)] = canonical_json(data)
        return hit


ADMISSION = [
    ("apply", None, "applied", {}),
    ("screen_in", "applied", "evaluating", {}),
    ("approve", "evaluating", "publicity", {}),
    ("admit", "publicity", "admitted", {}),
    ("sign", "admitted", "active", {"deposit_yuan": 20000}),
]


def build(
    url: str, n: int, *, reviewed: bool = False, opened: bool = False, seed: int = 2025
) -> Park:
    """``n`` active tenancies in one space (``reviewed``: under review for :data:`PERIOD`,
    their figures submitted, last year decided; ``opened``: the same, but this year's review
    only opened, its figures still to submit), on a fresh migrated database."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        service = Service(engine, FixedClock(SETUP_AT), HANDLERS)
        created = service.handle(c.CreateSpace(code=SPACE, name=SPACE_NAME))
        rb = rules.parse(rules.default_rulebook_text(), "default")
        assert rb.version == created["rulebook_version"]
        space_id = int(created["id"])
        _write(engine, space_id, rb, n, reviewed=reviewed, opened=opened, rng=random.Random(seed))
    finally:
        engine.dispose()
    if url.startswith("sqlite"):
        _finish_sqlite(url)
    return Park(url, n, space_id, rb)


def _write(
    engine: Engine,
    space_id: int,
    rb: rbook.Rulebook,
    n: int,
    *,
    reviewed: bool,
    opened: bool = False,
    rng: random.Random,
) -> None:
    at = SETUP_AT
    firms, units, tenancies, allocations = [], [], [], []
    chain = _Chain(rb.version)
    reviews: list[dict[str, Any]] = []
    deadlines: list[dict[str, Any]] = []
    pools = _figure_pools(rb, rng) if reviewed or opened else {}
    for i in range(1, n + 1):
        firms.append(
            {
                "id": i,
                "name": f"城市科创企业{i:06d}",
                "uscc": f"91510115MA{i:08d}",
                "industry": "pharma",
                "contact_name": f"联系人{i % 1000}",
                "contact_email": f"f{i}@firm.example",
                "account_manager": "王芳",
                "locale": "zh-CN",
                "created_at": at,
            }
        )
        area = 60.0 + (i % 7) * 20
        units.append(
            {
                "id": i,
                "space_id": space_id,
                "code": f"U{i:06d}",
                "kind": "office",
                "area_m2": area,
                "status": "let",
            }
        )
        allocations.append(
            {
                "id": i,
                "tenancy_id": i,
                "unit_id": i,
                "area_m2": area,
                "start_on": date(2023, 4, 1),
                "end_on": None,
            }
        )
        seq, head = chain.add(i, ADMISSION, at)
        state = "active"
        if reviewed or opened:
            seq, head = _review_history(
                chain, reviews, deadlines, pools, rb, i, seq, head, rng, submitted=not opened
            )
            state = "under_review"
        tenancies.append(
            {
                "id": i,
                "firm_id": i,
                "space_id": space_id,
                "state": state,
                "version": seq + 1,
                "track": "incubation",
                "term_start": date(2023, 4, 1),
                "term_end": date(2026, 3, 31),
                "rulebook_version": rb.version,
                "score": 80.0,
                "priority": False,
                "audit_seq": seq,
                "audit_head": head,
                "created_at": at,
                "updated_at": at,
            }
        )
    raw = engine.raw_connection()
    try:
        postgres = engine.dialect.name == "postgresql"
        cur = raw.cursor()
        if not postgres:
            cur.execute("BEGIN IMMEDIATE")
        for model, rows in (
            (Firm, firms),
            (Unit, units),
            (Tenancy, tenancies),
            (Allocation, allocations),
            (AuditEvent, chain.rows),
            (Review, reviews),
            (Deadline, deadlines),
        ):
            if rows:
                (_copy if postgres else _executemany)(cur, table(model), rows)
        if postgres:
            raw.commit()
        else:
            cur.execute("COMMIT")
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for model in (Firm, Unit, Tenancy, Allocation, Review):
                name = table(model).name
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def _finish_sqlite(url: str) -> None:
    """Statistics for the planner, and the WAL folded into the file (copies are then whole)."""
    path = make_url(url).database
    assert path is not None
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _converters(tbl: Table) -> dict[str, Any]:
    """Per column, what SQLAlchemy's SQLite types store (UTCDateTime, Date, JSON, Boolean);
    columns stored as given are left out."""
    out: dict[str, Any] = {}
    for column in tbl.c:
        kind = type(column.type).__name__
        if kind == "UTCDateTime":
            out[column.name] = lambda v: (
                None
                if v is None
                else v.astimezone(UTC)
                .replace(tzinfo=None)
                .isoformat(sep=" ", timespec="microseconds")
            )
        elif kind == "Date":
            out[column.name] = lambda v: None if v is None else v.isoformat()
        elif isinstance(column.type, JSON) or kind == "Variant":
            out[column.name] = json.dumps
        elif kind == "Boolean":
            out[column.name] = lambda v: None if v is None else int(v)
    return out


def _executemany(cur: Any, tbl: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Set-up rows with the bare driver (several times faster than Core; not measured)."""
    cols = list(rows[0])
    convert = _converters(tbl)
    plain = [c not in convert for c in cols]
    funcs = [convert.get(c) for c in cols]
    sql = (
        f"INSERT INTO {tbl.name} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)}) "
        f"VALUES ({', '.join('?' for _ in cols)})"
    )
    for part in _chunks(rows):
        cur.executemany(
            sql,
            [
                tuple(
                    r[c] if p else f(r[c])  # type: ignore[misc]
                    for c, p, f in zip(cols, plain, funcs, strict=True)
                )
                for r in part
            ],
        )


def _copy(cur: Any, tbl: Table, rows: Sequence[dict[str, Any]]) -> None:
    cols = list(rows[0])
    names = ", ".join(f'"{c}"' for c in cols)
    with cur.copy(f"COPY {tbl.name} ({names}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(
                [Jsonb(v) if isinstance(v, dict | list) else v for v in (r[c] for c in cols)]
            )


LEVELS = (("strong", 25), ("steady", 65), ("weak", 10))  # share of firms, percent


def _figure_pools(rb: rbook.Rulebook, rng: random.Random) -> dict[tuple[str, int], list[Any]]:
    """Validated figures as ``SubmitReview`` stores them, a few hundred per level and year
    (generating them is set-up, not the measured work; each review is still scored)."""
    return {
        (level, year): [
            rbook.jsonable(rbook.validate_figures(rb, figures(level, year=year, rng=rng)))
            for _ in range(300)
        ]
        for level, _ in LEVELS
        for year in (PERIOD - 1, PERIOD)
    }


def _level(rng: random.Random) -> str:
    roll = rng.randrange(100)
    for level, share in LEVELS:
        if roll < share:
            return level
        roll -= share
    return LEVELS[-1][0]


_Step = tuple[str, str | None, str, dict[str, Any]]
_OPENED: list[_Step] = [
    ("open_review", "active", "under_review", {"period": PERIOD - 1}),
    ("submit_review", "under_review", "under_review", {"period": PERIOD - 1}),
]


def _decided(grade: str) -> dict[str, Any]:
    """What a decision's event records of last year's review (``audit verify`` checks the
    decided review row against it): its grade, score, consequence and trace digest."""
    return {
        "period": PERIOD - 1,
        "grade": grade,
        "score": None,
        "consequence": "none",
        "trace_sha256": trace_digest({}),
    }


LAST_YEAR: dict[str, list[_Step]] = {
    grade: [*_OPENED, ("pass_review", "under_review", "active", _decided(grade))]
    for grade in ("A", "B")
}
LAST_YEAR_D: list[_Step] = [
    *_OPENED,
    ("order_rectification", "under_review", "rectifying", _decided("D")),
    ("pass_reinspection", "rectifying", "active", {}),
]
THIS_YEAR: list[_Step] = [
    ("open_review", "active", "under_review", {"period": PERIOD}),
    ("submit_review", "under_review", "under_review", {"period": PERIOD}),
]


def _review_history(
    chain: _Chain,
    reviews: list[dict[str, Any]],
    deadlines: list[dict[str, Any]],
    pools: dict[tuple[str, int], list[Any]],
    rb: rbook.Rulebook,
    tenancy_id: int,
    seq: int,
    head: str,
    rng: random.Random,
    *,
    submitted: bool = True,
) -> tuple[int, str]:
    """Last year reviewed and decided (a D means rectified and re-inspected), this year's
    review opened and (``submitted``) its figures submitted; the submission deadline still
    pending."""
    last, this = _level(rng), _level(rng)
    prev_grade = {"strong": "A", "steady": "B", "weak": "D"}[last]
    prev_at = datetime(2024, 1, 22, 2, 0, tzinfo=UTC)
    seq, head = chain.add(
        tenancy_id, LAST_YEAR_D if prev_grade == "D" else LAST_YEAR[prev_grade], prev_at, head, seq
    )
    figures_now = rng.choice(pools[(this, PERIOD)])
    if submitted:
        seq, head = chain.add(tenancy_id, THIS_YEAR, SUBMIT_AT, head, seq)
    else:
        seq, head = chain.add(tenancy_id, THIS_YEAR[:1], OPEN_AT, head, seq)
    base = {"tenancy_id": tenancy_id, "rulebook_version": rb.version, "trace": {}}
    reviews.append(
        {
            **base,
            "id": 2 * tenancy_id - 1,
            "period": PERIOD - 1,
            "status": "decided",
            "opened_at": prev_at,
            "due_on": date(2024, 1, 15),
            "submitted_at": prev_at,
            "figures": rng.choice(pools[(last, PERIOD - 1)]),
            "score": None,
            "grade": prev_grade,
            "consequence": "none",
            "decided_at": prev_at,
        }
    )
    review_id = 2 * tenancy_id
    reviews.append(
        {
            **base,
            "id": review_id,
            "period": PERIOD,
            "status": "submitted" if submitted else "open",
            "opened_at": OPEN_AT,
            "due_on": date(2025, 1, 15),
            "submitted_at": SUBMIT_AT if submitted else None,
            "figures": figures_now if submitted else {},
            "score": None,
            "grade": None,
            "consequence": None,
            "decided_at": None,
        }
    )
    deadlines.append(
        {
            "kind": "review_submission_due",
            "tenancy_id": tenancy_id,
            "subject_id": review_id,
            "due_on": date(2025, 1, 15),
            "due_at": datetime(2025, 1, 15, 16, 0, tzinfo=UTC),
            "status": "pending",
            "dedupe_key": f"review_submission_due:{tenancy_id}:{review_id}",
            "payload": {},
            "created_at": OPEN_AT,
            "done_at": None,
        }
    )
    return seq, head


def sample_ids(n: int, k: int = 200) -> list[int]:
    """Tenancies spread over the whole range, for spot checks."""
    step = max(1, n // k)
    return list(range(1, n + 1, step))[:k]
