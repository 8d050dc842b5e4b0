"""What the review-cycle page tests share: firms brought into residency in the world's own
space through the commands (apply, screen, three scores, approve, 公示 ends, sign), the clock
moved into the next year, and a figures sheet as ``forms figures --format xlsx`` makes it."""

from __future__ import annotations

import io
import random
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from api_support import START, World
from golden_figures import golden_figures

from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import excel, forms, queries

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: When the tests open the 2024 cycle: the first working days of 2025.
REVIEW_DAY = datetime(2025, 1, 2, 9, 0, tzinfo=SHANGHAI)
PERIOD = 2024


def clock(world: World) -> FixedClock:
    found = world.app.clock
    assert isinstance(found, FixedClock)
    return found


def residents(world: World, extra: int, *, seed: int = 4) -> list[tuple[int, str, str]]:
    """The world's own tenancy and ``extra`` new firms of MC3 brought to residency (signed
    2024-03-11, term from 2024-04-01): (tenancy id, USCC, firm name) of each."""
    rng = random.Random(seed)
    clock(world).set(START)
    out = [(world.own_tenancy, world.own_firm, "本企业医疗科技")]
    for n in range(extra):
        uscc = make_uscc(rng)
        name = f"蓉创生物{n + 1:02d}"
        world.do(c.RegisterFirm(name=name, uscc=uscc, industry="pharma"))
        step = world.do(
            c.Apply(
                firm=uscc, space="MC3", requested_area_m2=100, profile=good_profile(START.date())
            )
        )
        out.append((int(step.tenancy_id), uscc, name))
    for tenancy_id, _, _ in out:
        world.do(c.Screen(tenancy_id=tenancy_id))
        for i in range(3):
            world.do(
                c.ScoreApplication(tenancy_id=tenancy_id, reviewer=f"专家{i}", scores=scores(0.8))
            )
        world.do(c.Approve(tenancy_id=tenancy_id))
    clock(world).set(datetime(2024, 3, 25, 9, 0, tzinfo=SHANGHAI))
    for n, (tenancy_id, _, _) in enumerate(out):
        world.do(c.EndPublicity(tenancy_id=tenancy_id))
        unit = f"R{n}"
        world.do(c.AddUnit(space="MC3", code=unit, kind="office", area_m2=120))
        world.do(
            c.Sign(
                tenancy_id=tenancy_id,
                units=(unit,),
                term_start=date(2024, 4, 1),
                term_end=date(2027, 3, 31),
                deposit_yuan=20_000,
            )
        )
    clock(world).set(REVIEW_DAY)
    return out


def figures_for(n: int) -> dict[str, Any]:
    """A year of figures, a little different for each firm (the strongest last)."""
    return golden_figures(
        revenue_yuan=3_000_000 + n * 400_000,
        rd_spend_yuan=240_000 + n * 60_000,
        headcount=25 + n * 3,
        high_tech_enterprise=n % 2 == 0,
    )


def sheet(world: World, rows: list[dict[str, Any]]) -> bytes:
    """A filled figures sheet of MC3's rulebook (the template ``forms figures`` writes)."""
    rb = world.app.service.query(queries.space_rulebook, space="MC3")
    book = excel.template("figures", forms.figure_fields(rb), rows=rows)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
