"""What the Operations page tests share: a dead letter in the outbox, residents of MC3 with a
decided 2024 review cycle, and a stricter variant of the shipped rulebook.

Everything is made through commands and the relay, as in production, except the broken notice
itself: a row whose context lacks what its template needs, queued as ``Work.notify`` would
queue it (no command makes a broken notice on purpose).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from api_support import World
from golden_figures import golden_figures as figures
from sqlmodel import Session, col, func, select

from db.tables import Deadline, Firm, MessageTemplate, OutboxMessage
from db.tables import Rulebook as RulebookRow
from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import rules

# The shipped rulebook with a higher pass line for C: C is 70–74, D below 70.
STRICT = (
    rules.default_rulebook_text()
    .replace(
        'grade = "C"\nlabel_zh = "合格"\nlabel_en = "Pass"\nmin = 60',
        'grade = "C"\nlabel_zh = "合格"\nlabel_en = "Pass"\nmin = 70',
    )
    .replace('label_en = "Fail"\nmin = 0\nmax = 59', 'label_en = "Fail"\nmin = 0\nmax = 69')
)
assert rules.default_rulebook_text() != STRICT

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
)  # 89.00: A (no cooperation: 2 of the 15 compliance points missed)
#: Figures of the three residents: 60.90 (C, D if strict), 70.40 (C either way), 89 (A).
COHORT: tuple[dict[str, Any], ...] = (
    figures(),
    figures(tax_paid_yuan=450_000, specialized_new=True, activities_attended=4),
    STRONG,
)


def dead_letter(world: World) -> int:
    """A notice to the own firm whose template cannot render (its context lacks ``sign_by``):
    the relay marks it dead at its first attempt. Every other due notice is delivered."""
    app = world.app
    now = app.clock.now()
    with Session(app.engine) as s:
        firm = s.exec(select(Firm).where(Firm.uscc == world.own_firm)).one()
        row = OutboxMessage(
            dedupe_key=f"admitted:firm:{world.own_tenancy}:broken",
            message="admitted",
            tenancy_id=world.own_tenancy,
            firm_id=firm.id,
            audience="firm",
            locale="zh-CN",
            context={"period": "10个工作日"},
            next_attempt_at=now,
            created_at=now,
        )
        s.add(row)
        s.commit()
        assert row.id is not None
        outbox_id = row.id
    app.relay().run_once()
    assert outbox_status(world, outbox_id) == "dead"
    return outbox_id


def outbox_status(world: World, outbox_id: int) -> str:
    with Session(world.app.engine) as s:
        row = s.get(OutboxMessage, outbox_id)
        assert row is not None
        return row.status


def rulebook_count(world: World) -> int:
    with Session(world.app.engine) as s:
        return int(s.exec(select(func.count()).select_from(RulebookRow)).one())


def template_revisions(world: World, name: str) -> list[int]:
    with Session(world.app.engine) as s:
        return list(
            s.exec(
                select(MessageTemplate.revision)
                .where(MessageTemplate.name == name)
                .order_by(col(MessageTemplate.revision))
            ).all()
        )


def decided_cycle(world: World) -> list[int]:
    """Three residents of MC3 (admitted in March 2024, signed on the space's three units)
    whose 2024 reviews are decided as one cycle in January 2025; their tenancy ids. The
    clock is left on 2025-01-02."""
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    start = clock.now()
    rng = random.Random(5)
    ts = []
    for n in range(len(COHORT)):
        uscc = make_uscc(rng)
        world.do(c.RegisterFirm(name=f"蓉创科技{n + 1}号", uscc=uscc, industry="pharma"))
        t = world.do(
            c.Apply(
                firm=uscc,
                space="MC3",
                requested_area_m2=100,
                profile=good_profile(start.date()),
            )
        ).tenancy_id
        world.do(c.Screen(tenancy_id=t))
        for i in range(3):
            world.do(c.ScoreApplication(tenancy_id=t, reviewer=f"专家{i}", scores=scores(0.8)))
        world.do(c.Approve(tenancy_id=t))
        ts.append(t)
    clock.set(start + timedelta(days=7))
    for n, t in enumerate(ts):
        world.do(c.EndPublicity(tenancy_id=t))
        world.do(
            c.Sign(
                tenancy_id=t,
                units=(f"U{n}",),
                term_start=date(2024, 4, 1),
                term_end=date(2027, 3, 31),
                deposit_yuan=20_000,
            )
        )
    clock.set(start.replace(year=2025, month=1, day=2))
    for t, figs in zip(ts, COHORT, strict=True):
        world.do(c.OpenReview(tenancy_id=t, period=2024))
        world.do(c.SubmitReview(tenancy_id=t, period=2024, figures=figs))
    world.do(c.DecideCycle(space="MC3", period=2024))
    return ts


def failed_deadline(world: World, tenancy_id: int, error: str = "sweep failed: boom") -> int:
    """A deadline of ``tenancy_id`` its sweep failed on (written directly: a sweep fails
    only on a bug or an outage, which no command makes)."""
    now = world.app.clock.now()
    with Session(world.app.engine) as s:
        row = Deadline(
            kind="info_request_lapse",
            tenancy_id=tenancy_id,
            due_on=now.date(),
            due_at=now,
            status="failed",
            dedupe_key=f"test:failed:{tenancy_id}",
            payload={"error": error},
            created_at=now,
            done_at=now,
        )
        s.add(row)
        s.commit()
        assert row.id is not None
        return row.id


def deadline_status(world: World, deadline_id: int) -> str:
    with Session(world.app.engine) as s:
        row = s.get(Deadline, deadline_id)
        assert row is not None
        return row.status
