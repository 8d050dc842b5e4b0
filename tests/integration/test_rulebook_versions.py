"""Rulebook versions, on SQLite and PostgreSQL: a version is the content hash; a space has one
active rulebook; a tenancy keeps the version it was admitted under; every decision records
the version it used; switching never rewrites a past decision; a what-if writes nothing."""

from __future__ import annotations

import gc

import pytest
from conftest import local
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, col, select
from test_rulebook_decisions import (
    DEFAULT_VERSION,
    SPACE,
    STRONG,
    Park,
    events,
    figures,
    reviews,
    tenancy,
)

from db.tables import Rulebook as RulebookRow
from lifecycle.clock import FixedClock
from lifecycle.errors import InvalidRulebook
from workflows import audit, rules, simulate
from workflows import commands as c
from workflows.core import Work
from workflows.registry import load_rulebook
from workflows.service import Service

# The default rulebook with a stricter pass line: C is 70-74, D below 70.
STRICT = (
    rules.default_rulebook_text()
    .replace(
        'grade = "C"\nlabel_zh = "合格"\nlabel_en = "Pass"\nmin = 60',
        'grade = "C"\nlabel_zh = "合格"\nlabel_en = "Pass"\nmin = 70',
    )
    .replace('label_en = "Fail"\nmin = 0\nmax = 59', 'label_en = "Fail"\nmin = 0\nmax = 69')
)
STRICT_VERSION = rules.parse(STRICT, "strict").version


@pytest.fixture
def park(service: Service, clock: FixedClock) -> Park:
    return Park(service, clock)


def table_contents(engine: Engine, *tables: str) -> dict[str, list[str]]:
    """Full rows of ``tables`` (all tables when none are named), order-independent."""
    with engine.connect() as conn:
        names = tables or tuple(inspect(conn).get_table_names())
        return {
            t: sorted(repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{t}"')))
            for t in names
        }


def test_the_strict_rulebook_differs_only_in_its_grade_bands() -> None:
    assert rules.default_rulebook_text() != STRICT and STRICT_VERSION != DEFAULT_VERSION
    strict = rules.parse(STRICT, "strict")
    assert [(g.grade, g.min, g.max) for g in strict.review.grades] == [
        ("A", 85, 100),
        ("B", 75, 84),
        ("C", 70, 74),
        ("D", 0, 69),
    ]


def test_switching_a_space_rulebook_never_rewrites_past_decisions(
    park: Park, engine: Engine, clock: FixedClock
) -> None:
    (t,) = park.residents(1)
    assert tenancy(engine, t).rulebook_version == DEFAULT_VERSION
    clock.set(local(2025, 1, 2, 9, 0))
    park.review(t, 2024, figures())
    park.do(c.DecideReview(tenancy_id=t, period=2024))
    past = table_contents(engine, "reviews", "audit_events", "applications", "exit_cases")

    loaded = park.do(c.LoadRulebook(text=STRICT, source="strict.toml", space=SPACE))
    assert loaded == {"rulebook_version": STRICT_VERSION, "activated_for": SPACE}
    park.do(c.LoadRulebook(text=STRICT, source="again.toml"))  # same content: stored once
    with Session(engine) as s:
        assert sorted(s.exec(select(RulebookRow.version)).all()) == sorted(
            [DEFAULT_VERSION, STRICT_VERSION]
        )

    assert table_contents(engine, "reviews", "audit_events", "applications", "exit_cases") == past
    assert tenancy(engine, t).rulebook_version == DEFAULT_VERSION
    old = reviews(engine, 2024)[t]
    assert (old.grade, old.rulebook_version, old.trace["rulebook_version"]) == (
        "C",
        DEFAULT_VERSION,
        DEFAULT_VERSION,
    )

    newcomer = park.apply()  # applies under the new one
    assert tenancy(engine, newcomer).rulebook_version == STRICT_VERSION

    clock.set(local(2026, 1, 5, 9, 0))
    park.review(t, 2025, figures(revenue_yuan=3_600_000, tax_paid_yuan=165_000))  # C before, D now
    step = park.do(c.DecideReview(tenancy_id=t, period=2025))
    new = reviews(engine, 2025)[t]
    assert (new.score, new.grade, new.consequence) == (64.87, "D", "rectification")
    assert new.rulebook_version == new.trace["rulebook_version"] == STRICT_VERSION
    decided = events(engine, t, "order_rectification")[-1]
    assert decided.rulebook_version == decided.data["rulebook_version"] == STRICT_VERSION
    after = tenancy(engine, t)
    assert after.rulebook_version == DEFAULT_VERSION  # admitted under it, kept
    assert after.version == step.version  # no hidden second write
    assert reviews(engine, 2024)[t].trace == old.trace
    with Session(engine) as s:
        assert audit.verify(s).ok


def test_an_application_is_decided_under_the_rulebook_that_screened_it(
    park: Park, engine: Engine
) -> None:
    t = park.apply()
    assert tenancy(engine, t).rulebook_version == DEFAULT_VERSION
    park.do(c.LoadRulebook(text=STRICT, source="strict.toml", space=SPACE))
    park.do(c.Screen(tenancy_id=t))
    assert tenancy(engine, t).rulebook_version == STRICT_VERSION
    (screened,) = events(engine, t, "screen_in")
    assert screened.rulebook_version == screened.data["trace"]["rulebook_version"] == STRICT_VERSION


def test_a_what_if_lists_the_changed_firms_and_writes_nothing(
    park: Park, service: Service, engine: Engine, clock: FixedClock
) -> None:
    ts = park.residents(3)
    clock.set(local(2025, 1, 2, 9, 0))
    park.review(ts[0], 2024, STRONG)  # A, demoted by the cap
    park.review(ts[1], 2024, figures())  # 60.90: C, D if strict
    park.review(
        ts[2], 2024, figures(tax_paid_yuan=450_000, specialized_new=True, activities_attended=4)
    )  # 70.40: C, C
    park.cycle(2024)
    clock.set(local(2026, 1, 5, 9, 0))
    park.review(ts[1], 2025, figures(revenue_yuan=3_600_000, tax_paid_yuan=165_000))  # undecided
    before = table_contents(engine)

    result = service.read(lambda w: simulate.simulate(w, STRICT, "strict.toml", SPACE, 2024))
    assert table_contents(engine) == before
    assert (result["active_rulebook"], result["candidate_rulebook"]) == (
        DEFAULT_VERSION,
        STRICT_VERSION,
    )
    assert (result["cohort"], result["unchanged"], result["errors"]) == (3, 2, [])
    (change,) = result["changes"]
    assert change["tenancy_id"] == ts[1] and change["basis"] == "recorded"
    assert change["before"] == {"score": 60.9, "grade": "C", "consequence": "none"}
    assert change["after"] == {
        "score": 60.9,
        "grade": "D",
        "consequence": "rectification",
        "demoted": False,
    }
    assert change["trace"]["rulebook_version"] == STRICT_VERSION

    projected = service.read(lambda w: simulate.simulate(w, STRICT, "s.toml", SPACE, 2025))
    assert [
        (x["tenancy_id"], x["basis"], x["before"]["grade"], x["after"]["grade"])
        for x in projected["changes"]
    ] == [(ts[1], "projected", "C", "D")]
    with pytest.raises(InvalidRulebook):
        service.read(lambda w: simulate.simulate(w, "[meta", "bad.toml", SPACE, 2024))
    assert table_contents(engine) == before
    with Session(engine) as s:
        assert (
            s.exec(
                select(RulebookRow.version).where(col(RulebookRow.version) == STRICT_VERSION)
            ).first()
            is None
        )


def test_a_rulebook_activated_earlier_in_the_same_unit_of_work_is_the_one_in_force(
    park: Park, service: Service
) -> None:
    (t,) = park.residents(1)

    def activate_then_ask(w: Work) -> str | None:
        loaded = w.tenancy(t)
        load_rulebook(w, c.LoadRulebook(text=STRICT, source="strict", space=SPACE))
        w.uow.flush()  # the space is written; the session may since have let go of it
        gc.collect()
        return w.space_rulebook_version(loaded.space_id)

    assert service.run(activate_then_ask) == STRICT_VERSION
