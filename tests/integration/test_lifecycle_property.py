"""Random command sequences through the service on a real SQLite file: whatever the order,
no illegal state is ever stored, and folding the stored events reproduces the stored state."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import count
from pathlib import Path

from conftest import local
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.engine import make_engine
from db.migrate import upgrade
from db.tables import Tenancy
from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import HANDOVER, figures, good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from lifecycle.errors import InnospaceError
from lifecycle.table import STATES
from workflows import commands as c
from workflows.audit import verify
from workflows.service import Service

START = date(2024, 3, 4)


def actions(t: int, unit: str, rng: random.Random) -> dict[str, Callable[[], c.Command]]:
    return {
        "screen": lambda: c.Screen(tenancy_id=t),
        "screen_out": lambda: c.Screen(tenancy_id=t, reject=True, reason="材料不实"),
        "request_info": lambda: c.RequestInfo(tenancy_id=t, items="报表"),
        "resubmit": lambda: c.Resubmit(tenancy_id=t),
        "withdraw": lambda: c.Withdraw(tenancy_id=t, reason="放弃"),
        "lapse": lambda: c.Lapse(tenancy_id=t),
        "score": lambda: c.ScoreApplication(
            tenancy_id=t, reviewer=f"专家{rng.randrange(6)}", scores=scores(rng.uniform(0.4, 0.95))
        ),
        "approve": lambda: c.Approve(tenancy_id=t),
        "reject": lambda: c.Reject(tenancy_id=t, reason="未通过"),
        "object": lambda: c.LodgeObjection(tenancy_id=t, by="张三", grounds="权属争议"),
        "uphold": lambda: c.RuleOnObjection(tenancy_id=t, upheld=True, reason="成立"),
        "dismiss": lambda: c.RuleOnObjection(tenancy_id=t, upheld=False, reason="不成立"),
        "admit": lambda: c.EndPublicity(tenancy_id=t),
        "sign": lambda: c.Sign(
            tenancy_id=t,
            units=(unit,),
            term_start=START + timedelta(30),
            term_end=START + timedelta(30 + 3 * 365),
        ),
        "open_review": lambda: c.OpenReview(tenancy_id=t, period=2024),
        "submit": lambda: c.SubmitReview(
            tenancy_id=t,
            period=2024,
            figures=figures(rng.choice(["weak", "steady"]), year=2024, rng=rng),
        ),
        "decide": lambda: c.DecideReview(tenancy_id=t, period=2024),
        "plan": lambda: c.FileRectificationPlan(tenancy_id=t, plan="整改"),
        "reinspect": lambda: c.Reinspect(tenancy_id=t, passed=rng.random() < 0.5, reason="复查"),
        "notice": lambda: c.ServeExitNotice(
            tenancy_id=t, grounds="sublet", facts="转租", proof_of_service="EMS"
        ),
        "confirm": lambda: c.ConfirmExit(tenancy_id=t),
        "begin_exit": lambda: c.BeginExit(tenancy_id=t, exit_type="voluntary"),
        "escalate": lambda: c.EscalateVacating(tenancy_id=t),
        "handover": lambda: c.HandOver(tenancy_id=t, checklist=HANDOVER),
    }


NAMES = sorted(actions(0, "", random.Random()).keys())


def test_random_command_sequences_keep_state_and_audit_in_step(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'prop.db'}")
    upgrade(engine)
    clock = FixedClock(_start())
    service = Service(engine, clock, HANDLERS)
    service.handle(c.CreateSpace(code="MC3", name="成都医学城三医创新中心"))
    serial = count()

    @settings(
        max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(
        st.lists(st.tuples(st.sampled_from(NAMES), st.integers(0, 12)), max_size=25),
        st.randoms(use_true_random=False),
    )
    def run(steps: list[tuple[str, int]], rng: random.Random) -> None:
        n = next(serial)
        clock.set(_start())
        unit = f"U{n}"
        service.handle(c.AddUnit(space="MC3", code=unit, kind="office", area_m2=100))
        uscc = make_uscc(random.Random(n))
        service.handle(c.RegisterFirm(name=f"企业{n}", uscc=uscc, industry="pharma"))
        t = int(
            service.handle(c.Apply(firm=uscc, space="MC3", profile=good_profile(START))).tenancy_id
        )
        menu = actions(t, unit, rng)
        for name, days in steps:
            clock.advance(timedelta(days=days))
            # a refusal must have written nothing: the chain check below would see it
            with contextlib.suppress(InnospaceError):
                service.handle(menu[name]())
            state = service.read(lambda w: w.session.get(Tenancy, t).state)
            assert state in STATES
        report = service.read(lambda w: verify(w.session, t))
        assert report.ok, [str(p) for p in report.problems]

    run()
    engine.dispose()


def _start() -> datetime:
    return local(2024, 3, 4, 9, 0)
