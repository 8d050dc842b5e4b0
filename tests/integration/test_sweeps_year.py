"""A whole year of one space, driven only by ``run_ticks`` under an injected clock.

December 2024 to August 2025: the review window opens on the first working day of January,
reminders go out before and after the due day, one firm reports and is graded, one stays
silent and is graded D into rectification (plan overdue, re-inspection due), one reaches the
end of its term after three expiry warnings and overstays its vacating period. The clock
jumps to each due instant (and to the mornings operators act); every tick runs cycles,
deadlines, digest and relay like the scheduler does. Nothing may go undelivered.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from conftest import local
from integration.test_sweeps_seed import CAL, create_space, firms, resident
from sqlalchemy import func
from sqlmodel import Session, col, select

from db.tables import Deadline, InboxItem, OutboxMessage, Review, Tenancy
from entrypoints.bootstrap import App, bootstrap
from entrypoints.demo_data import figures
from entrypoints.ticks import SHANGHAI, run_ticks
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.audit import verify
from workflows.service import Service

USCC = firms(3, seed=33)


@pytest.fixture
def app(db_url: str, clock: FixedClock) -> Iterator[App]:
    application = bootstrap(database_url=db_url, clock=clock)
    yield application
    application.engine.dispose()


class Year:
    """Moves the clock to each due instant up to a target, ticking at each stop."""

    def __init__(self, app: App, clock: FixedClock) -> None:
        self.app, self.clock = app, clock
        self.ticks = 0
        self.digest_days: set[date] = set()  # days ticked after the digest cron (08:30)

    def tick(self) -> None:
        run_ticks(self.app)
        self.ticks += 1
        local_now = self.clock.now().astimezone(SHANGHAI)
        if (local_now.hour, local_now.minute) >= (8, 30):
            self.digest_days.add(local_now.date())

    def until(self, target: datetime) -> None:
        while True:
            with Session(self.app.engine) as s:
                nxt = s.exec(
                    select(func.min(Deadline.due_at)).where(
                        Deadline.status == "pending", col(Deadline.due_at) <= target
                    )
                ).one()
            if nxt is None:
                break
            self.clock.set(max(nxt, self.clock.now()))
            self.tick()
        self.clock.set(target)
        self.tick()


def test_a_simulated_year_of_a_space_runs_on_ticks_alone(
    app: App, service: Service, clock: FixedClock
) -> None:
    create_space(service)
    clock.set(local(2024, 6, 3, 9))
    strong, silent, leaving = (
        resident(
            service,
            clock,
            "MC3",
            name=name,
            uscc=USCC[i],
            unit=f"A-{i}",
            term_start=date(2024, 7, 1),
            term_end=end,
        )
        for i, (name, end) in enumerate(
            (
                ("强企", date(2027, 6, 30)),
                ("静企", date(2027, 6, 30)),
                ("到期企", date(2025, 6, 30)),
            )
        )
    )
    year = Year(app, clock)
    year.until(local(2024, 12, 20, 9))
    assert (
        service.read(lambda w: w.session.exec(select(func.count()).select_from(Review)).one()) == 0
    )

    year.until(local(2025, 1, 2, 9))  # first working day: the 2024 cycle opens
    with Session(app.engine) as s:
        opened = s.exec(select(Review.tenancy_id, Review.opened_at, Review.due_on)).all()
    assert sorted(t for t, _, _ in opened) == [strong, silent, leaving]
    assert {(CAL.local_date(at), due) for _, at, due in opened} == {
        (date(2025, 1, 2), date(2025, 1, 15))
    }

    year.until(local(2025, 1, 10, 9))
    rng = random.Random(4)
    for tid, level in ((strong, "strong"), (leaving, "steady")):
        service.handle(
            c.SubmitReview(
                tenancy_id=tid,
                period=2024,
                actor="firm",
                figures=figures(level, year=2024, rng=rng),
            )
        )
    year.until(local(2025, 2, 5, 9))
    for tid in (strong, leaving):  # the operator grades what was submitted
        service.handle(c.DecideReview(tenancy_id=tid, period=2024, actor="考核组"))

    year.until(local(2025, 4, 30, 9))  # silent: D, rectification, plan overdue, end passed
    service.handle(c.Reinspect(tenancy_id=silent, passed=True, actor="复查组", reason="整改完成"))
    year.until(local(2025, 8, 31, 9))  # leaving: warnings, term end, overstays

    with Session(app.engine) as s:
        states = {t.id: t.state for t in s.exec(select(Tenancy)).all()}
        grades = {r.tenancy_id: r.grade for r in s.exec(select(Review)).all()}
        rows = s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        inbox = s.exec(select(func.count()).select_from(InboxItem)).one()
        assert verify(s).ok
    assert states == {strong: "active", silent: "active", leaving: "vacating"}
    assert grades[silent] == "D" and grades[strong] in ("A", "B") and grades[leaving] != "D"

    def sent(tid: int | None) -> Counter[tuple[str, str]]:
        return Counter(
            (m.message, m.audience)
            for m in rows
            if m.tenancy_id == tid
            and m.created_at >= local(2024, 12, 1)
            and not m.message.startswith("quarterly_")
        )

    # The quarterly light reports, on ticks alone: no firm filed one, so the operators were
    # told of each quarter due in the year once per firm resident then, never twice.
    overdue = Counter(
        (m.tenancy_id, m.context["year"], m.context["quarter"])
        for m in rows
        if m.message == "quarterly_report_overdue"
    )
    assert set(overdue.values()) == {1}
    assert {(y, q) for t, y, q in overdue if t == strong} >= {(2024, 4), (2025, 1), (2025, 2)}

    assert sent(strong) == {
        ("review_opened", "firm"): 1,
        ("review_reminder", "firm"): 1,
        ("review_received", "firm"): 1,
        ("review_result", "firm"): 1,
    }
    assert sent(silent) == {
        ("review_opened", "firm"): 1,
        ("review_reminder", "firm"): 4,
        ("review_overdue", "firm"): 1,
        ("review_overdue", "manager"): 2,
        ("review_result", "firm"): 1,
        ("rectification_notice", "firm"): 1,
        ("rectification_notice", "manager"): 1,
        ("reinspection_result", "operators"): 1,
        ("reinspection_result", "firm"): 1,
    }
    assert sent(leaving) == {
        ("review_opened", "firm"): 1,
        ("review_reminder", "firm"): 1,
        ("review_received", "firm"): 1,
        ("review_result", "firm"): 1,
        ("term_expiry_warning", "firm"): 3,
        ("exit_confirmed", "firm"): 1,
        ("vacate_overdue", "firm"): 1,
        ("vacate_overdue", "manager"): 1,
    }
    digests = {m.context["sent_on"]: m for m in rows if m.message == "operator_digest"}
    assert len(digests) == sum(m.message == "operator_digest" for m in rows)  # one a day
    # A digest on each ticked day something waited for the operators, none on the others.
    quiet = {"2024-12-20", "2025-01-02", "2025-01-10"}  # ticked, nothing waiting in MC3
    assert {d.isoformat() for d in year.digest_days} == quiet | set(digests)
    assert not quiet & set(digests)
    waiting = {day: [i["title"] for i in m.context["items"]] for day, m in digests.items()}
    assert waiting == {
        "2025-02-05": [  # two reviews to grade
            "[MC3] 强企：2024年度考核数据已报送，待评定",
            "[MC3] 到期企：2024年度考核数据已报送，待评定",
        ],
        "2025-04-30": ["[MC3] 静企：整改期满，待复查"],
        "2025-08-31": ["[MC3] 到期企：逾期未腾退"],
    }
    assert digests["2025-02-05"].context["counts"]["pending_decisions"] == 2
    assert {m.status for m in rows} == {"sent"} and inbox == len(rows)  # all rendered
    assert year.ticks < 80
    with Session(app.engine) as s:
        late = s.exec(
            select(Deadline).where(
                Deadline.status.in_(("pending", "failed")),  # type: ignore[attr-defined]
                Deadline.due_at <= clock.now(),
            )
        ).all()
    assert late == []
