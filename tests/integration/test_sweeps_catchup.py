"""After 40 days without a scheduler, one tick handles everything due, in due order, once.

The scheduler ran on 2 January 2025 (the review window opened), then stopped until
11 February. One ``run_ticks`` then must handle every deadline that fell due meanwhile — the
ones derived on the way included (the +1/+5 working-day overdue reminders, the agreement-lapse
warning) — oldest first; a second run must change nothing at all. The reminders whose moment
passed during the downtime are moot, not sent late (``tests/integration/test_sweeps_stale``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from conftest import local
from integration.test_sweeps_seed import CAL, admit, counts, create_space, firms, resident
from sqlmodel import Session, select

from db.tables import Deadline, Tenancy
from entrypoints.bootstrap import App, bootstrap
from entrypoints.ticks import run_ticks
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import sweeps
from workflows.service import Service

USCC = firms(4, seed=21)


@pytest.fixture
def app(db_url: str, clock: FixedClock) -> Iterator[App]:
    application = bootstrap(database_url=db_url, clock=clock)
    yield application
    application.engine.dispose()


def test_forty_days_of_downtime_are_caught_up_in_due_order_and_a_rerun_changes_nothing(
    app: App, service: Service, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_space(service)
    clock.set(local(2024, 11, 4, 9))
    silent = resident(
        service,
        clock,
        "MC3",
        name="甲公司",
        uscc=USCC[0],
        unit="A-1",
        term_start=date(2024, 7, 1),
        term_end=date(2027, 6, 30),
    )
    cured = resident(
        service,
        clock,
        "MC3",
        name="乙公司",
        uscc=USCC[1],
        unit="A-2",
        term_start=date(2024, 7, 1),
        term_end=date(2027, 6, 30),
    )
    clock.set(local(2024, 12, 23, 9))
    unsigned = admit(service, clock, "MC3", name="丙公司", uscc=USCC[2], unit="A-3", wait=False)

    clock.set(local(2025, 1, 2, 9))  # the last day the scheduler ran
    first = run_ticks(app)
    kinds = {k: n for k, n in first["deadlines"]["by_kind"].items() if "quarterly" not in k}
    assert first["cycles"]["opened"] == 2 and kinds == {"publicity_end": 1}
    service.handle(c.ReportViolation(tenancy_id=cured, code="change_of_use", facts="改作宿舍"))

    handled: list[tuple[datetime, date, str, int, str]] = []
    real = sweeps.handle_one

    def recording(service: Service, deadline_id: int, until: datetime) -> sweeps.Outcome:
        outcome = real(service, deadline_id, until)
        if outcome.status in ("done", "moot"):
            assert outcome.due_at is not None and outcome.kind is not None
            row = service.read(lambda w: w.session.get(Deadline, deadline_id))
            handled.append(
                (outcome.due_at, row.due_on, outcome.kind, row.tenancy_id, outcome.status)
            )
        return outcome

    monkeypatch.setattr(sweeps, "handle_one", recording)
    clock.set(local(2025, 1, 2, 9) + timedelta(days=40))  # 11 February
    report = run_ticks(app)

    due = date(2025, 1, 15)
    lapse = CAL.add_working_days(date(2025, 1, 2), 10)
    # the quarters' light reports are tests/integration/test_quarterly's
    ours = [h for h in handled if not h[2].startswith("quarterly_")]
    assert [tuple(rest) for _, *rest in ours] == [
        # the reminders' moment passed in the downtime: moot, nothing sent
        (CAL.subtract_working_days(due, 5), "review_reminder", silent, "moot"),
        (CAL.subtract_working_days(due, 5), "review_reminder", cured, "moot"),
        (CAL.subtract_working_days(lapse, 3), "agreement_lapse_warning", unsigned, "moot"),
        (CAL.subtract_working_days(due, 1), "review_reminder", silent, "moot"),
        (CAL.subtract_working_days(due, 1), "review_reminder", cured, "moot"),
        (due, "review_submission_due", silent, "done"),
        (due, "review_submission_due", cured, "done"),
        (CAL.add_working_days(due, 1), "agreement_lapse", unsigned, "done"),  # created 2 Jan
        # derived just now; each superseded by its +5, due as well
        (CAL.add_working_days(due, 1), "review_overdue_reminder", silent, "moot"),
        (CAL.add_working_days(due, 1), "review_overdue_reminder", cured, "moot"),
        (CAL.add_calendar_days(date(2025, 1, 2), 15), "cure_end", cured, "done"),
        (CAL.add_working_days(due, 5), "review_overdue_reminder", silent, "done"),
    ]  # cured's +5 reminder was cancelled by its exit notice
    assert [at for at, *_ in handled] == sorted(at for at, *_ in handled)
    done = sum(status == "done" for *_, status in handled)
    assert report["deadlines"]["handled"] == done and report["deadlines"]["failed"] == 0
    assert report["deadlines"]["moot"] == len(handled) - done
    assert report["digest"]["sent"] is True
    states = service.read(lambda w: {t.id: t.state for t in w.session.exec(select(Tenancy))})
    # cured: the exit notice came first (17 Jan), so its review was cancelled, not graded
    assert (states[silent], states[cured], states[unsigned]) == (
        "rectifying",
        "exit_notice",
        "withdrawn",
    )
    with Session(app.engine) as s:
        overdue = s.exec(
            select(Deadline).where(Deadline.status == "pending", Deadline.due_at <= clock.now())
        ).all()
    assert overdue == []

    before = counts(app.engine)
    again: dict[str, Any] = run_ticks(app)
    assert counts(app.engine) == before
    assert again["deadlines"]["handled"] == again["deadlines"]["moot"] == 0
    assert again["cycles"]["opened"] == 0 and again["digest"]["sent"] is False
