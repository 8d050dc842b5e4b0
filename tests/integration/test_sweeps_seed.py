"""Seed data for the sweep, cycle and scheduler tests (helpers only; no tests here).

Two ways in: :func:`resident` walks a firm through the real handlers (apply → screen → score →
approve → 公示 → sign), so its audit chain verifies; :func:`bulk_tenancies` writes thousands
of rows with Core inserts, for volume tests that only count what the sweeps add.
Imported as ``integration.test_sweeps_seed`` (``tests`` is on the path).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select
from sqlmodel import Session

from db.tables import AuditEvent, Deadline, ExitCase, Firm, OutboxMessage, Review, Tenancy
from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.service import Service
from workflows.sweeps import sweep_deadlines

COUNTED: tuple[type[Any], ...] = (AuditEvent, OutboxMessage, Review, Deadline, ExitCase)
CAL = WorkCalendar()


def table(model: type[Any]) -> Table:
    return model.__table__  # type: ignore[no-any-return]


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table the sweeps write, and deadlines per status: equal means nothing changed."""
    with Session(engine) as s:
        out = {
            table(m).name: int(s.exec(select(func.count()).select_from(table(m))).one()[0])
            for m in COUNTED
        }
        for status, n in s.exec(
            select(Deadline.status, func.count()).group_by(Deadline.status)  # type: ignore[call-overload]
        ).all():
            out[f"deadlines.{status}"] = n
    return out


def create_space(service: Service, code: str = "MC3") -> tuple[int, str]:
    result = service.handle(c.CreateSpace(code=code, name=f"{code} 成都医学城三医创新中心"))
    return int(result["id"]), str(result["rulebook_version"])


def admit(
    service: Service,
    clock: FixedClock,
    space: str,
    *,
    name: str,
    uscc: str,
    unit: str,
    manager: str = "王芳",
    objection: bool = False,
    wait: bool = True,
) -> int:
    """A firm through apply, screening, three scores and approval to the end of its 公示.

    With ``wait``, moves ``clock`` two weeks on (past the 公示) and runs one sweep there: the
    tenancy is ``admitted`` — or still in ``publicity`` when ``objection`` lodged one that
    awaits a ruling. Without, it is left in ``publicity``.
    """
    service.handle(c.AddUnit(space=space, code=unit, kind="office", area_m2=120))
    service.handle(
        c.RegisterFirm(
            name=name,
            uscc=uscc,
            industry="pharma",
            contact_email=f"{unit.lower()}@firm.example",
            account_manager=manager,
        )
    )
    today = CAL.local_date(clock.now())
    step = service.handle(
        c.Apply(firm=uscc, space=space, requested_area_m2=120, profile=good_profile(today))
    )
    tid = int(step.tenancy_id)
    service.handle(c.Screen(tenancy_id=tid))
    for reviewer in ("张", "李", "王"):
        service.handle(c.ScoreApplication(tenancy_id=tid, reviewer=reviewer, scores=scores(0.8)))
    service.handle(c.Approve(tenancy_id=tid))
    if objection:
        service.handle(
            c.LodgeObjection(
                tenancy_id=tid,
                by="成都某公司（盖章）",
                grounds="专利权属存在争议",
                evidence="起诉状",
            )
        )
    if not wait:
        return tid
    clock.advance(timedelta(days=14))
    sweep_deadlines(service)  # 公示 ends -> admitted
    return tid


def resident(
    service: Service,
    clock: FixedClock,
    space: str,
    *,
    name: str,
    uscc: str,
    unit: str,
    term_start: date,
    term_end: date,
    manager: str = "王芳",
) -> int:
    """A firm admitted through every real step and signed; returns its tenancy id."""
    tid = admit(service, clock, space, name=name, uscc=uscc, unit=unit, manager=manager)
    service.handle(
        c.Sign(
            tenancy_id=tid,
            units=(unit,),
            term_start=term_start,
            term_end=term_end,
            deposit_yuan=20000,
        )
    )
    return tid


def firms(n: int, seed: int = 11) -> list[str]:
    """``n`` distinct valid 统一社会信用代码."""
    rng, out = random.Random(seed), []
    while len(out) < n:
        if (code := make_uscc(rng)) not in out:
            out.append(code)
    return out


def bulk_tenancies(
    engine: Engine,
    *,
    space_id: int,
    rulebook_version: str,
    n: int,
    state: str,
    term_start: date,
    term_end: date,
    seed: int = 7,
) -> list[int]:
    """``n`` firms and tenancies in ``state`` written directly (no audit history)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    codes: set[str] = set()
    while len(codes) < n:
        codes.add(make_uscc(rng))
    with engine.begin() as conn:
        start = conn.execute(select(func.coalesce(func.max(table(Firm).c.id), 0))).scalar_one()
        conn.execute(
            insert(table(Firm)),
            [
                {
                    "name": f"批量企业{i:05d}",
                    "uscc": code,
                    "industry": "pharma",
                    "contact_email": f"f{i}@bulk.example",
                    "account_manager": "王芳",
                    "locale": "zh-CN",
                    "created_at": now,
                }
                for i, code in enumerate(sorted(codes))
            ],
        )
        firm_ids = list(
            conn.execute(
                select(table(Firm).c.id).where(table(Firm).c.id > start).order_by(table(Firm).c.id)
            ).scalars()
        )
        first = conn.execute(select(func.coalesce(func.max(table(Tenancy).c.id), 0))).scalar_one()
        conn.execute(
            insert(table(Tenancy)),
            [
                {
                    "firm_id": f,
                    "space_id": space_id,
                    "state": state,
                    "version": 1,
                    "track": "incubation",
                    "term_start": term_start,
                    "term_end": term_end,
                    "rulebook_version": rulebook_version,
                    "priority": False,
                    "audit_seq": 0,
                    "audit_head": "0" * 64,
                    "created_at": now,
                    "updated_at": now,
                }
                for f in firm_ids
            ],
        )
        return list(
            conn.execute(
                select(table(Tenancy).c.id)
                .where(table(Tenancy).c.id > first)
                .order_by(table(Tenancy).c.id)
            ).scalars()
        )


def bulk_vacate_due(
    engine: Engine, tenancy_ids: Iterable[int], rulebook_version: str, due_on: date
) -> None:
    """An open term-expiry exit case and a ``vacate_due`` deadline on ``due_on`` for each."""
    now = datetime.now(UTC)
    ids = list(tenancy_ids)
    with engine.begin() as conn:
        conn.execute(
            insert(table(ExitCase)),
            [
                {
                    "tenancy_id": t,
                    "exit_type": "term_expiry",
                    "vacate_due_on": due_on,
                    "status": "open",
                    "rulebook_version": rulebook_version,
                    "checklist": {},
                    "settlement": {"approved": True},
                    "created_at": now,
                }
                for t in ids
            ],
        )
        cases = dict(
            conn.execute(
                select(table(ExitCase).c.tenancy_id, table(ExitCase).c.id).where(
                    table(ExitCase).c.tenancy_id.in_(ids)
                )
            ).all()
        )
        conn.execute(
            insert(table(Deadline)),
            [
                {
                    "kind": "vacate_due",
                    "tenancy_id": t,
                    "subject_id": cases[t],
                    "due_on": due_on,
                    "due_at": CAL.due_instant(due_on),
                    "status": "pending",
                    "dedupe_key": f"vacate_due:{t}:{cases[t]}",
                    "payload": {},
                    "created_at": now,
                }
                for t in ids
            ],
        )
