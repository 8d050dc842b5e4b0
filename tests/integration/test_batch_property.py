"""Property: the batch paths and the command-by-command paths leave identical rows in every
table, for generated cohorts and rulebooks, on SQLite and PostgreSQL.

Each example builds one park through the real handlers: firms in varied states at the 2024
cycle (resident and reviewed in 2023, rectified after a 2023 D, still rectifying, on exit
notice, admitted but never signed, signed for a term that starts after 2024, signed in 2024
and so never reviewed, reviews opened or even decided by hand before the cycle, an exit notice
served while under review), review figures drawn from a few shared profiles (so scores tie,
also at the A cap's cut-off), figures filed after the due date (so not on time), missing
reports and vetoes (by code and by a yes/no metric).
The rulebook is the shipped one edited within what validates: category and item weights,
grade bands (and so the pass line), the A cap (none, any share, any rounding) and the
reminders; sometimes it replaces the one the firms were admitted under before the cycle.

The park is cloned. In the park the 2024 cycle is opened by ``OpenReview`` for each
eligible tenancy and decided by ``DecideReview`` for each decidable one (or, when the rulebook
caps a grade, by ``decisions.decide_cycle``: the cap is a rule about the cohort, which deciding
firm by firm cannot apply); in the clone by ``open_cycle_batch`` and ``decide_cycle_batch``.
After opening and after deciding, every row of every table must be equal (surrogate ids of
append-only rows aside, see ``twin_support``) and both audit chains must verify.
"""

from __future__ import annotations

import copy
import json
import random
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS, local
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from integration.twin_support import Databases, assert_same_rows

from db.engine import make_engine
from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import figures as demo_figures
from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import FixedClock
from lifecycle.errors import InnospaceError
from lifecycle.rulebook import parse_rulebook
from workflows import batch, decisions, rules
from workflows import commands as c
from workflows.audit import verify
from workflows.service import Service

SPACE = "MC3"
PERIOD = 2024
DEFAULT_TEXT = rules.default_rulebook_text()
DEFAULT = tomllib.loads(DEFAULT_TEXT)

# Where a firm stands when the 2024 cycle opens, and what both paths must do with it.
OPENED_BY_CYCLE = ("active", "rectified", "newcomer", "noticed")
FATES = (
    *OPENED_BY_CYCLE,
    "pre_opened",  # 2024 review opened by hand before the cycle: under review, decided with it
    "pre_decided",  # opened, filed and decided by hand before the cycle: counts for the cap only
    "rectifying",  # a 2023 D, not yet re-inspected: skipped
    "failed",  # failed 2023 review, on exit notice: skipped
    "admitted",  # admitted, never signed: skipped
    "future_term",  # signed for a term that begins in 2025: skipped
)
DECIDABLE = ("active", "rectified", "newcomer", "pre_opened")  # "noticed" is not reviewable
TERM_START = {"newcomer": date(2024, 6, 1), "future_term": date(2025, 2, 1)}


# ---- rulebook variants ---------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(data: dict[str, Any]) -> str:
    """Parsed rulebook data back to TOML text (one inline value per top-level key)."""
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in data.items())


@dataclass(frozen=True)
class Variant:
    """Edits to the shipped rulebook; None keeps the shipped value."""

    item_points: tuple[int, ...] | None  # one per review item, in file order; sum 100
    grade_cuts: tuple[int, int, int] | None  # min of C (the pass line), B and A
    cap: tuple[int, str] | None | bool  # (max_percent, rounding); False: no cap at all
    reminders: tuple[int, ...] | None

    def data(self) -> dict[str, Any]:
        data = copy.deepcopy(DEFAULT)
        review = data["review"]
        if self.item_points is not None:
            points = iter(self.item_points)
            for category in review["categories"]:
                for item in category["items"]:
                    item["points"] = next(points)
                category["weight"] = sum(i["points"] for i in category["items"])
        if self.grade_cuts is not None:
            lows = (self.grade_cuts[2], self.grade_cuts[1], self.grade_cuts[0], 0)  # A B C D
            highs = (100, lows[0] - 1, lows[1] - 1, lows[2] - 1)
            for grade, low, high in zip(review["grades"], lows, highs, strict=True):
                grade["min"], grade["max"] = low, high
        if self.cap is False:
            del review["grade_cap"]
        elif isinstance(self.cap, tuple):
            review["grade_cap"]["max_percent"], review["grade_cap"]["rounding"] = self.cap
        if self.reminders is not None:
            review["reminders"]["before_workdays"] = list(self.reminders)
        return data

    def text(self) -> str:
        return to_toml(self.data())

    @property
    def caps(self) -> bool:
        return self.cap is not False


N_ITEMS = sum(len(cat["items"]) for cat in DEFAULT["review"]["categories"])


@st.composite
def variants(draw: st.DrawFn) -> Variant:
    points = None
    if draw(st.booleans()):
        cuts = sorted(
            draw(
                st.lists(
                    st.integers(1, 99), min_size=N_ITEMS - 1, max_size=N_ITEMS - 1, unique=True
                )
            )
        )
        bounds = [0, *cuts, 100]
        points = tuple(b - a for a, b in zip(bounds, bounds[1:], strict=False))
    grade_cuts = None
    if draw(st.booleans()):
        low = draw(st.lists(st.integers(1, 100), min_size=3, max_size=3, unique=True))
        grade_cuts = tuple(sorted(low))
    cap = draw(
        st.one_of(
            st.none(),
            st.just(False),
            st.tuples(st.integers(0, 100), st.sampled_from(["floor", "half_up", "ceil"])),
        )
    )
    reminders = draw(st.sampled_from([None, (), (3,), (8, 2, 1)]))
    return Variant(points, grade_cuts, cap, reminders)  # type: ignore[arg-type]


# ---- cohorts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirmPlan:
    fate: str
    profile: int  # index into Example.profiles: firms sharing one (and an area) tie
    area: int
    files: bool  # files its 2024 figures (else: decided as missing data once overdue)
    late: bool  # files them after the due date (not on exit notice by then): not on time
    accident: bool  # reports a major accident (a veto by metric)
    vetoes: tuple[str, ...]  # vetoes the operator raises when deciding


@dataclass(frozen=True)
class Example:
    firms: tuple[FirmPlan, ...]
    profiles: tuple[tuple[str, int], ...]  # (level, seed)
    variant: Variant
    switch: bool  # admitted under the shipped rulebook, the variant activated before 2024
    open_chunk: int
    decide_chunk: int
    opened_by: tuple[str, str | None]  # the cycle's actor and reason
    decision_reason: str | None

    def figures(self, firm: FirmPlan, year: int) -> dict[str, Any]:
        level, seed = self.profiles[firm.profile]
        if year == 2023 and firm.fate in ("rectified", "rectifying", "failed"):
            level = "weak"  # a D on record in most variants
        figs = demo_figures(level, year=year, rng=random.Random(seed * 10_000 + year))
        if year == PERIOD and firm.accident:
            figs["major_accident"] = True
        return figs


def firm_plans(fates: tuple[str, ...] = FATES) -> st.SearchStrategy[FirmPlan]:
    return st.builds(
        FirmPlan,
        fate=st.sampled_from(fates),
        profile=st.integers(0, 2),
        area=st.sampled_from([80, 100, 120]),
        files=st.sampled_from([True, True, True, False]),
        late=st.sampled_from([False, False, True]),
        accident=st.sampled_from([False, False, False, False, True]),
        vetoes=st.sampled_from([(), (), (), ("fraud",), ("fraud", "credit_listing")]),
    )


@st.composite
def examples(draw: st.DrawFn) -> Example:
    first = draw(firm_plans(DECIDABLE))  # a cohort to decide
    rest = draw(st.lists(firm_plans(), min_size=2, max_size=11))
    levels = st.sampled_from(["strong", "strong", "steady", "weak"])
    profiles = draw(st.lists(st.tuples(levels, st.integers(0, 5)), min_size=3, max_size=3))
    return Example(
        firms=(first, *rest),
        profiles=tuple(profiles),
        variant=draw(variants()),
        switch=draw(st.booleans()),
        open_chunk=draw(st.integers(1, 5)),
        decide_chunk=draw(st.integers(1, 5)),
        opened_by=draw(
            st.sampled_from(
                [("system", "按规则日历自动启动年度考核"), ("operator", None), ("王芳", "提前启动")]
            )
        ),
        decision_reason=draw(st.sampled_from([None, "考核委员会审定"])),
    )


# ---- the park ------------------------------------------------------------------------------


def build_park(service: Service, clock: FixedClock, ex: Example) -> list[int]:
    """Everything up to the 2024 cycle, through the real handlers."""
    rng = random.Random(len(ex.firms))
    variant_text = ex.variant.text()
    clock.set(local(2023, 3, 6, 9, 0))
    service.handle(
        c.CreateSpace(
            code=SPACE,
            name="成都医学城三医创新中心",
            rulebook_text=None if ex.switch else variant_text,
            rulebook_source="default" if ex.switch else "variant.toml",
        )
    )
    ts: list[int] = []
    for i, firm in enumerate(ex.firms):
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
        service.handle(c.AddUnit(space=SPACE, code=f"A-{i:03d}", kind="office", area_m2=firm.area))
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
    for i, (t, firm) in enumerate(zip(ts, ex.firms, strict=True)):
        service.handle(c.EndPublicity(tenancy_id=t))
        if firm.fate == "admitted":
            continue
        start = TERM_START.get(firm.fate, date(2023, 4, 1))
        service.handle(
            c.Sign(
                tenancy_id=t,
                units=(f"A-{i:03d}",),
                term_start=start,
                term_end=start.replace(year=start.year + 3) - timedelta(days=1),
                deposit_yuan=20_000,
            )
        )
    reviewed = [
        (t, f)
        for t, f in zip(ts, ex.firms, strict=True)
        if f.fate not in ("admitted", "newcomer", "future_term")
    ]
    clock.set(local(2024, 1, 2, 9, 0))
    for t, _ in reviewed:
        service.handle(c.OpenReview(tenancy_id=t, period=2023))
    for t, firm in reviewed:
        service.handle(c.SubmitReview(tenancy_id=t, period=2023, figures=ex.figures(firm, 2023)))
    clock.set(local(2024, 1, 22, 9, 0))
    outcome = {"rectified": "rectify", "rectifying": "rectify", "failed": "fail"}
    for t, firm in reviewed:
        service.handle(
            c.DecideReview(
                tenancy_id=t,
                period=2023,
                outcome=outcome.get(firm.fate, "pass"),
                reason="测试设定 / set up by the test",
            )
        )
    clock.set(local(2024, 4, 1, 9, 0))
    for t, firm in reviewed:
        if firm.fate == "rectified":
            service.handle(c.Reinspect(tenancy_id=t, passed=True, reason="整改到位"))
    if ex.switch:
        clock.set(local(2024, 6, 3, 9, 0))
        service.handle(c.LoadRulebook(text=ex.variant.text(), source="variant.toml", space=SPACE))
    clock.set(local(2025, 1, 2, 8, 30))
    for t, firm in zip(ts, ex.firms, strict=True):
        if firm.fate in ("pre_opened", "pre_decided"):
            service.handle(c.OpenReview(tenancy_id=t, period=PERIOD))
        if firm.fate == "pre_decided":
            service.handle(
                c.SubmitReview(tenancy_id=t, period=PERIOD, figures=ex.figures(firm, PERIOD))
            )
            service.handle(c.DecideReview(tenancy_id=t, period=PERIOD))
    return ts


# ---- the two paths -------------------------------------------------------------------------


def _outcome(action: Any) -> tuple[str, str] | None:
    """None when ``action`` ran, else the refusal (class and message), to compare."""
    try:
        action()
    except InnospaceError as err:
        return type(err).__name__, err.message
    return None


def run_example(dbs: Databases, ex: Example) -> None:
    parse_rulebook(ex.variant.text(), "variant.toml")  # the variant is valid by construction
    base = dbs.new()
    engine = make_engine(base)
    clock = FixedClock(local(2023, 3, 6, 9, 0))
    try:
        ts = build_park(Service(engine, clock, HANDLERS), clock, ex)
    finally:
        engine.dispose()
    single, fast = make_engine(base), make_engine(dbs.clone(base))  # the park takes commands
    a, b = Service(single, clock, HANDLERS), Service(fast, clock, HANDLERS)
    cal = WorkCalendar()
    try:
        plan = list(zip(ts, ex.firms, strict=True))
        clock.set(local(2025, 1, 2, 9, 0))
        actor, reason = ex.opened_by
        for t, firm in plan:
            if firm.fate in OPENED_BY_CYCLE:
                a.handle(c.OpenReview(tenancy_id=t, period=PERIOD, actor=actor, reason=reason))
        batch.open_cycle_batch(
            fast,
            clock,
            cal,
            space_code=SPACE,
            period=PERIOD,
            chunk=ex.open_chunk,
            actor=actor,
            reason=reason,
        )
        assert_same_rows(single, fast, "opening the cycle")

        filing = [
            (t, firm)
            for t, firm in plan
            if firm.fate in (*OPENED_BY_CYCLE, "pre_opened") and firm.files
        ]
        late = [(t, firm) for t, firm in filing if firm.late and firm.fate != "noticed"]
        clock.set(local(2025, 1, 8, 10, 0))
        for t, firm in filing:
            if (t, firm) not in late:
                cmd = c.SubmitReview(tenancy_id=t, period=PERIOD, figures=ex.figures(firm, PERIOD))
                a.handle(cmd)
                b.handle(cmd)
        clock.set(local(2025, 1, 9, 10, 0))
        for t, firm in plan:
            if firm.fate == "noticed":
                notice = c.ServeExitNotice(
                    tenancy_id=t,
                    grounds="illegal_conduct",
                    facts="现场检查发现违法经营",
                    proof_of_service="现场送达",
                )
                a.handle(notice)
                b.handle(notice)
        clock.set(local(2025, 1, 16, 10, 0))  # the day after the due date: filed late
        for t, firm in late:
            cmd = c.SubmitReview(tenancy_id=t, period=PERIOD, figures=ex.figures(firm, PERIOD))
            a.handle(cmd)
            b.handle(cmd)
        if late:
            event("figures filed after the due date")

        clock.set(local(2025, 1, 20, 9, 30))
        decidable = [(t, f) for t, f in plan if f.fate in DECIDABLE]
        vetoes = {t: f.vetoes for t, f in decidable if f.vetoes}
        why = ex.decision_reason
        if ex.variant.caps:

            def by_commands() -> None:
                a.run(
                    lambda w: decisions.decide_cycle(
                        w, SPACE, PERIOD, actor="operator", reason=why, vetoes=vetoes
                    )
                )

        else:

            def by_commands() -> None:
                for t, _ in decidable:
                    a.handle(
                        c.DecideReview(
                            tenancy_id=t, period=PERIOD, reason=why, vetoes=vetoes.get(t, ())
                        )
                    )

        refused = _outcome(by_commands)
        reports: list[batch.BatchReport] = []
        refused_batch = _outcome(
            lambda: reports.append(
                batch.decide_cycle_batch(
                    fast,
                    clock,
                    cal,
                    space_code=SPACE,
                    period=PERIOD,
                    actor="operator",
                    reason=why,
                    vetoes=vetoes or None,
                    chunk=ex.decide_chunk,
                )
            )
        )
        assert refused == refused_batch
        if refused:
            event(f"decision refused: {refused[0]}")
        for outcome, n in reports[0].outcomes.items() if reports else ():
            if n:
                event(f"decided: {outcome}")
        assert_same_rows(single, fast, "deciding the cycle")
        for service in (a, b):
            report = service.read(lambda w: verify(w.session))
            assert report.ok, report.problems[:3]
    finally:
        single.dispose()
        fast.dispose()
        dbs.drop_all()


@pytest.fixture(scope="module", params=BACKENDS)
def dbs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Databases]:
    """Module-scoped, so hypothesis runs every example of a backend against one factory."""
    if request.param == "sqlite":
        made = Databases("sqlite", str(sqlite_template), tmp_path_factory.mktemp("prop"))
    else:
        admin, template = request.getfixturevalue("pg_admin")
        made = Databases("postgres", template, admin=admin)
    yield made
    made.drop_all()


# Examples per backend: about 1 s each on SQLite, 3-5 s on PostgreSQL (making, cloning and
# dropping databases is most of it there).
EXAMPLES = {"sqlite": 20, "postgres": 8}


def test_batch_and_commands_leave_the_same_rows(dbs: Databases) -> None:
    @settings(
        max_examples=EXAMPLES[dbs.backend],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(ex=examples())
    def same_rows(ex: Example) -> None:
        run_example(dbs, ex)

    same_rows()
