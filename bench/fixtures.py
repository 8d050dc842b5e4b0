"""Benchmark data: a city-sized space written straight through Core (set-up is not measured).

Every tenancy gets a legal, hash-chained audit history (apply → screen_in → approve → admit →
sign, and for the decision workload last year's review too), a unit and an allocation, so the
batch paths read what they would read in production and ``audit verify`` passes on the result.
Firms' figures come from ``entrypoints.demo_data.figures`` (strong / steady / weak years).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, insert, text

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
from entrypoints.demo_data import figures
from lifecycle import rulebook as rbook
from lifecycle.audit import GENESIS, event_hash
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import rules
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


def _chunks(rows: Sequence[dict[str, Any]], size: int = INSERT_CHUNK
            ) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class _Chain:
    """Legal audit histories, hashed as ``Work.audit`` hashes them."""

    def __init__(self, rulebook_version: str) -> None:
        self.version = rulebook_version
        self.rows: list[dict[str, Any]] = []

    def add(self, tenancy_id: int, steps: Sequence[tuple[str, str | None, str, dict[str, Any]]],
            at: datetime, head: str = GENESIS, seq: int = 0) -> tuple[int, str]:
        for trigger, before, after, data in steps:
            seq += 1
            digest = event_hash(prev_hash=head, tenancy_id=tenancy_id, seq=seq,
                                actor="operator", trigger=trigger, from_state=before,
                                to_state=after, reason=None, data=data,
                                rulebook_version=self.version, occurred_at=at)
            self.rows.append({"tenancy_id": tenancy_id, "seq": seq, "actor": "operator",
                              "trigger": trigger, "from_state": before, "to_state": after,
                              "reason": None, "data": data, "rulebook_version": self.version,
                              "occurred_at": at, "prev_hash": head, "hash": digest})
            head = digest
        return seq, head


ADMISSION = [("apply", None, "applied", {}), ("screen_in", "applied", "evaluating", {}),
             ("approve", "evaluating", "publicity", {}), ("admit", "publicity", "admitted", {}),
             ("sign", "admitted", "active", {"deposit_yuan": 20000})]


def build(url: str, n: int, *, reviewed: bool = False, seed: int = 2025) -> Park:
    """``n`` active tenancies in one space (``reviewed``: under review for :data:`PERIOD`,
    their figures submitted, last year decided), on a fresh migrated database."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        service = Service(engine, FixedClock(SETUP_AT))
        created = service.handle(c.CreateSpace(code=SPACE, name=SPACE_NAME))
        rb = rules.parse(rules.default_rulebook_text(), "default")
        assert rb.version == created["rulebook_version"]
        space_id = int(created["id"])
        _write(engine, space_id, rb, n, reviewed=reviewed, rng=random.Random(seed))
    finally:
        engine.dispose()
    return Park(url, n, space_id, rb)


def _write(engine: Engine, space_id: int, rb: rbook.Rulebook, n: int, *, reviewed: bool,
           rng: random.Random) -> None:
    at = SETUP_AT
    firms, units, tenancies, allocations = [], [], [], []
    chain = _Chain(rb.version)
    reviews: list[dict[str, Any]] = []
    deadlines: list[dict[str, Any]] = []
    pools = _figure_pools(rb, rng) if reviewed else {}
    for i in range(1, n + 1):
        firms.append({"id": i, "name": f"城市科创企业{i:06d}", "uscc": f"91510115MA{i:08d}",
                      "industry": "pharma", "contact_name": f"联系人{i % 1000}",
                      "contact_email": f"f{i}@firm.example", "account_manager": "王芳",
                      "locale": "zh-CN", "created_at": at})
        area = 60.0 + (i % 7) * 20
        units.append({"id": i, "space_id": space_id, "code": f"U{i:06d}", "kind": "office",
                      "area_m2": area, "status": "let"})
        allocations.append({"id": i, "tenancy_id": i, "unit_id": i, "area_m2": area,
                            "start_on": date(2023, 4, 1), "end_on": None})
        seq, head = chain.add(i, ADMISSION, at)
        state = "active"
        if reviewed:
            seq, head = _review_history(chain, reviews, deadlines, pools, rb, i, seq, head, rng)
            state = "under_review"
        tenancies.append({"id": i, "firm_id": i, "space_id": space_id, "state": state,
                          "version": seq + 1, "track": "incubation",
                          "term_start": date(2023, 4, 1), "term_end": date(2026, 3, 31),
                          "rulebook_version": rb.version, "score": 80.0, "priority": False,
                          "audit_seq": seq, "audit_head": head, "created_at": at,
                          "updated_at": at})
    with engine.begin() as conn:
        for model, rows in ((Firm, firms), (Unit, units), (Tenancy, tenancies),
                            (Allocation, allocations), (AuditEvent, chain.rows),
                            (Review, reviews), (Deadline, deadlines)):
            for part in _chunks(rows):
                conn.execute(insert(table(model)), list(part))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            for model in (Firm, Unit, Tenancy, Allocation, Review):
                name = table(model).name
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT max(id) FROM {name}))"))
            conn.execute(text("ANALYZE"))
            conn.commit()
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


LEVELS = (("strong", 20), ("steady", 68), ("weak", 12))  # share of firms, percent


def _figure_pools(rb: rbook.Rulebook, rng: random.Random) -> dict[tuple[str, int], list[Any]]:
    """Validated figures as ``SubmitReview`` stores them, a few hundred per level and year
    (generating them is set-up, not the measured work; each review is still scored)."""
    return {(level, year): [rbook.jsonable(rbook.validate_figures(
        rb, figures(level, year=year, rng=rng))) for _ in range(300)]
        for level, _ in LEVELS for year in (PERIOD - 1, PERIOD)}


def _level(rng: random.Random) -> str:
    roll = rng.randrange(100)
    for level, share in LEVELS:
        if roll < share:
            return level
        roll -= share
    return LEVELS[-1][0]


def _review_history(chain: _Chain, reviews: list[dict[str, Any]],
                    deadlines: list[dict[str, Any]], pools: dict[tuple[str, int], list[Any]],
                    rb: rbook.Rulebook, tenancy_id: int, seq: int, head: str,
                    rng: random.Random) -> tuple[int, str]:
    """Last year reviewed and decided (a D means rectified and re-inspected), this year's
    review opened and submitted; the submission deadline still pending."""
    last, this = _level(rng), _level(rng)
    prev_grade = {"strong": "A", "steady": "B", "weak": "D"}[last]
    prev_at = datetime(2024, 1, 22, 2, 0, tzinfo=UTC)
    steps: list[tuple[str, str | None, str, dict[str, Any]]] = [
        ("open_review", "active", "under_review", {"period": PERIOD - 1}),
        ("submit_review", "under_review", "under_review", {"period": PERIOD - 1})]
    if prev_grade == "D":
        steps += [("order_rectification", "under_review", "rectifying", {}),
                  ("pass_reinspection", "rectifying", "active", {})]
    else:
        steps += [("pass_review", "under_review", "active", {})]
    seq, head = chain.add(tenancy_id, steps, prev_at, head, seq)
    figures_now = rng.choice(pools[(this, PERIOD)])
    seq, head = chain.add(tenancy_id, [
        ("open_review", "active", "under_review", {"period": PERIOD}),
        ("submit_review", "under_review", "under_review", {"period": PERIOD})], SUBMIT_AT, head,
        seq)
    base = {"tenancy_id": tenancy_id, "rulebook_version": rb.version, "trace": {}}
    reviews.append({**base, "id": 2 * tenancy_id - 1, "period": PERIOD - 1, "status": "decided",
                    "opened_at": prev_at, "due_on": date(2024, 1, 15), "submitted_at": prev_at,
                    "figures": rng.choice(pools[(last, PERIOD - 1)]), "score": None,
                    "grade": prev_grade, "consequence": "none", "decided_at": prev_at})
    review_id = 2 * tenancy_id
    reviews.append({**base, "id": review_id, "period": PERIOD, "status": "submitted",
                    "opened_at": OPEN_AT, "due_on": date(2025, 1, 15), "submitted_at": SUBMIT_AT,
                    "figures": figures_now, "score": None, "grade": None, "consequence": None,
                    "decided_at": None})
    deadlines.append({"kind": "review_submission_due", "tenancy_id": tenancy_id,
                      "subject_id": review_id, "due_on": date(2025, 1, 15),
                      "due_at": datetime(2025, 1, 15, 16, 0, tzinfo=UTC),
                      "status": "pending",
                      "dedupe_key": f"review_submission_due:{tenancy_id}:{review_id}",
                      "payload": {}, "created_at": OPEN_AT, "done_at": None})
    return seq, head


def sample_ids(n: int, k: int = 200) -> list[int]:
    """Tenancies spread over the whole range, for spot checks."""
    step = max(1, n // k)
    return list(range(1, n + 1, step))[:k]


def one_day() -> timedelta:
    return timedelta(days=1)
