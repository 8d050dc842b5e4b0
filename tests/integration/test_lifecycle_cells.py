"""Every state × trigger cell, through the real handlers, on SQLite and PostgreSQL.

One tenancy is carried (by the handlers) into each state; then every command is tried on
every one of them inside a unit of work that is rolled back. Allowed cells must land in the
table's destination; all others must be refused with TransitionNotAllowed.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS, _pg_database, local
from sqlalchemy import Engine
from sqlmodel import select

from db.engine import make_engine
from db.tables import Tenancy
from db.uow import UnitOfWork
from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import HANDOVER, figures, good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from lifecycle.errors import TransitionNotAllowed
from lifecycle.table import STATES, TRIGGERS, destination
from workflows import commands as c
from workflows.answers import RequestVoluntaryExit
from workflows.core import Work
from workflows.service import Service

START = local(2024, 3, 4, 9, 0)
CELL_TIME = local(2024, 4, 15, 10, 0)
PERIOD = 2023  # the year reviewed in 2024: a review is opened only for a year that has ended

COMMANDS: dict[str, Callable[[int], c.Command]] = {
    "screen_in": lambda t: c.Screen(tenancy_id=t),
    "screen_out": lambda t: c.Screen(tenancy_id=t, reject=True, reason="材料不实"),
    "request_info": lambda t: c.RequestInfo(tenancy_id=t, items="财务报表"),
    "resubmit": lambda t: c.Resubmit(tenancy_id=t),
    "withdraw": lambda t: c.Withdraw(tenancy_id=t, reason="改变计划"),
    "lapse": lambda t: c.Lapse(tenancy_id=t, reason="逾期"),
    "approve": lambda t: c.Approve(tenancy_id=t),
    "reject": lambda t: c.Reject(tenancy_id=t, reason="不符合产业方向"),
    "reject_without_panel": lambda t: c.RejectWithoutPanel(
        tenancy_id=t, actor="王芳", grounds="三名专家均因利益冲突回避，不符合产业方向"
    ),
    "admit": lambda t: c.EndPublicity(tenancy_id=t),
    "uphold_objection": lambda t: c.RuleOnObjection(tenancy_id=t, upheld=True, reason="异议属实"),
    "sign": lambda t: c.Sign(
        tenancy_id=t, units=("SPARE",), term_start=date(2024, 5, 1), term_end=date(2027, 4, 30)
    ),
    "open_review": lambda t: c.OpenReview(tenancy_id=t, period=PERIOD),
    "pass_review": lambda t: c.DecideReview(
        tenancy_id=t, period=PERIOD, outcome="pass", reason="复核"
    ),
    "order_rectification": lambda t: c.DecideReview(
        tenancy_id=t, period=PERIOD, outcome="rectify", reason="复核"
    ),
    "fail_review": lambda t: c.DecideReview(
        tenancy_id=t, period=PERIOD, outcome="fail", reason="复核"
    ),
    "pass_reinspection": lambda t: c.Reinspect(tenancy_id=t, passed=True),
    "fail_reinspection": lambda t: c.Reinspect(tenancy_id=t, passed=False, reason="未整改"),
    "serve_exit_notice": lambda t: c.ServeExitNotice(
        tenancy_id=t, grounds="sublet", facts="擅自转租", proof_of_service="EMS"
    ),
    "begin_exit": lambda t: c.BeginExit(tenancy_id=t, exit_type="voluntary"),
    "confirm_graduation": lambda t: c.BeginExit(tenancy_id=t, exit_type="graduation"),
    "graduate": lambda t: c.EndGraduationPublicity(tenancy_id=t),
    "confirm_exit": lambda t: c.ConfirmExit(tenancy_id=t),
    "escalate_vacating": lambda t: c.EscalateVacating(tenancy_id=t),
    "hand_over": lambda t: c.HandOver(tenancy_id=t, checklist=HANDOVER),
}


def test_every_trigger_has_a_command() -> None:
    assert set(COMMANDS) == set(TRIGGERS)


class World:
    """Tenancies carried into each state by the handlers, on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = FixedClock(START)
        self.service = Service(engine, self.clock, HANDLERS)
        self.rng = random.Random(7)
        self.ids: dict[str, int] = {}

    def do(self, command: c.Command) -> Any:
        return self.service.handle(command)

    def new(self) -> int:
        uscc = make_uscc(self.rng)
        self.do(c.RegisterFirm(name=f"企业{len(self.ids)}", uscc=uscc, industry="pharma"))
        step = self.do(
            c.Apply(
                firm=uscc, space="MC3", requested_area_m2=100, profile=good_profile(START.date())
            )
        )
        return int(step.tenancy_id)

    def evaluating(self) -> int:
        t = self.new()
        self.do(c.Screen(tenancy_id=t))
        for r in ("甲", "乙", "丙"):
            self.do(c.ScoreApplication(tenancy_id=t, reviewer=r, scores=scores(0.75)))
        return t

    def build(self) -> World:
        self.do(c.CreateSpace(code="MC3", name="成都医学城三医创新中心"))
        for i in range(12):
            self.do(c.AddUnit(space="MC3", code=f"U{i:02d}", kind="office", area_m2=100))
        self.do(c.AddUnit(space="MC3", code="SPARE", kind="office", area_m2=100))
        ids = self.ids
        ids["applied"] = self.new()
        ids["info_requested"] = self.new()
        self.do(c.RequestInfo(tenancy_id=ids["info_requested"], items="营业执照"))
        ids["rejected"] = self.new()
        self.do(c.Screen(tenancy_id=ids["rejected"], reject=True, reason="材料不实"))
        ids["withdrawn"] = self.new()
        self.do(c.Withdraw(tenancy_id=ids["withdrawn"], reason="放弃"))
        ids["evaluating"] = self.evaluating()
        ids["evaluating_unscored"] = self.new()  # no valid panel: reject_without_panel's cell
        self.do(c.Screen(tenancy_id=ids["evaluating_unscored"]))
        admitted_later = [self.evaluating() for _ in range(8)]
        ids["publicity"], ids["publicity_objected"] = self.evaluating(), self.evaluating()
        for t in admitted_later:
            self.do(c.Approve(tenancy_id=t))
        self.clock.set(local(2024, 3, 18, 9, 0))  # publicity (5 working days) is over
        for t in admitted_later:
            self.do(c.EndPublicity(tenancy_id=t))
        for t in (ids["publicity"], ids["publicity_objected"]):
            self.do(c.Approve(tenancy_id=t))
        self.do(
            c.LodgeObjection(
                tenancy_id=ids["publicity_objected"], by="张三", grounds="该企业存在知识产权纠纷"
            )
        )
        ids["admitted"] = admitted_later.pop()
        for i, t in enumerate(admitted_later):
            self.do(
                c.Sign(
                    tenancy_id=t,
                    units=(f"U{i:02d}",),
                    term_start=date(2023, 4, 1),
                    term_end=date(2026, 3, 31),
                    deposit_yuan=10000,
                )
            )
        ids["active"], under, rect, notice, vacating, exited, graduating = admitted_later
        for t in (ids["active"], under, rect, vacating, exited):  # begin_exit: voluntary
            self.do(RequestVoluntaryExit(tenancy_id=t, leave_on=date(2024, 6, 3), actor="企业"))
        self.clock.set(local(2024, 3, 25, 9, 0))
        for t in (under, rect):
            self.do(c.OpenReview(tenancy_id=t, period=PERIOD))
            self.do(
                c.SubmitReview(
                    tenancy_id=t,
                    period=PERIOD,
                    figures=figures("steady", year=PERIOD, rng=self.rng),
                )
            )
        self.do(
            c.DecideReview(tenancy_id=rect, period=PERIOD, outcome="rectify", reason="数据存疑")
        )
        for window in ("plan", "rectification"):  # a re-inspection may fail before they end
            self.do(
                c.WaiveWindow(
                    tenancy_id=rect,
                    window=window,
                    waived_on=date(2024, 3, 25),
                    document="放弃整改期限声明 2024-07",
                )
            )
        self.do(
            c.ServeExitNotice(
                tenancy_id=notice,
                grounds="moved_out",
                facts="注册地已迁出空间",
                proof_of_service="EMS 1001",
            )
        )
        for t in (vacating, exited):
            self.do(c.BeginExit(tenancy_id=t, exit_type="voluntary"))
        self.do(c.HandOver(tenancy_id=exited, checklist=HANDOVER))
        self.do(c.BeginExit(tenancy_id=graduating, exit_type="graduation"))  # 公示 to 03-29
        ids.update(
            under_review=under,
            rectifying=rect,
            exit_notice=notice,
            graduation_publicity=graduating,
            vacating=vacating,
            exited=exited,
        )
        return self


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[World]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("cells") / "cells.db"
        shutil.copy(sqlite_template, path)
        urls: Iterator[str] = iter([f"sqlite:///{path}"])
    else:
        urls = _pg_database(request.getfixturevalue("pg_admin"))
    url = next(urls)
    engine = make_engine(url)
    built = World(engine).build()
    yield built
    engine.dispose()
    next(urls, None)  # let the PostgreSQL generator drop its database


def _cell_tenancy(world: World, state: str, trigger: str) -> int:
    if state == "publicity" and trigger == "uphold_objection":
        return world.ids["publicity_objected"]
    if state == "evaluating" and trigger == "reject_without_panel":
        return world.ids["evaluating_unscored"]
    return world.ids[state]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_each_cell_through_the_handlers(world: World, state: str, trigger: str) -> None:
    tenancy_id = _cell_tenancy(world, state, trigger)
    command = COMMANDS[trigger](tenancy_id)
    expected = destination(state, trigger)
    with UnitOfWork(world.engine) as uow:  # never committed: every cell starts from the world
        work = Work(uow, FixedClock(CELL_TIME), world.service.calendar(uow))
        before = uow.session.get(Tenancy, tenancy_id)
        assert before is not None and before.state == state
        version = before.version
        if expected is None:
            with pytest.raises(TransitionNotAllowed) as err:
                world.service.dispatch(work, command)
            assert err.value.state == state
        else:
            world.service.dispatch(work, command)
            uow.session.flush()
            after = uow.session.exec(select(Tenancy).where(Tenancy.id == tenancy_id)).one()
            assert after.state == expected
            assert after.version > version


def test_the_world_audit_chains_verify(world: World) -> None:
    from workflows.audit import verify

    report = world.service.read(lambda w: verify(w.session))
    assert report.ok, report.problems
    assert report.tenancies == len(set(world.ids.values()))
