"""The dashboard: each figure narrowed to the account's spaces (one space with ?space=), each
chart with its numbers in a table beside it, and the warnings an operator must act on."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from typing import Any

from api_support import World
from web_support import signed_in

from workflows import commands as c


def _charts(page: str) -> list[dict[str, Any]]:
    return [json.loads(html.unescape(o)) for o in re.findall(r"data-option='([^']*)'", page)]


def _section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    return page[start : page.index("</section>", start)]


def test_the_pipeline_counts_only_the_operators_spaces(world: World) -> None:
    page = signed_in(world, "operator").get("/console").text
    pipeline = _section(page, "pipe-h")
    assert "已申请" in pipeline
    assert re.search(r"已申请</a></td><td class=\"num\">1<", pipeline)
    chart = _charts(pipeline)[0]
    assert chart["series"][0]["data"] == [1]
    assert chart["yAxis"]["data"] == ["已申请"]
    everyone = _section(signed_in(world, "admin").get("/console").text, "pipe-h")
    assert re.search(r"已申请</a></td><td class=\"num\">2<", everyone)


def test_one_space_and_a_space_outside_the_scope(world: World) -> None:
    admin = signed_in(world, "admin")
    one = _section(admin.get("/console", params={"space": "HX"}).text, "pipe-h")
    assert re.search(r"已申请</a></td><td class=\"num\">1<", one)
    operator = signed_in(world, "operator")
    assert operator.get("/console", params={"space": "HX"}).status_code == 404
    assert operator.get("/console", params={"space": "MC3"}).status_code == 200


def test_occupancy_shows_leased_and_lettable_area_per_space(world: World) -> None:
    occupancy = _section(signed_in(world, "operator").get("/console").text, "occ-h")
    assert "MC3" in occupancy and "HX" not in occupancy
    assert "0.00 m² / 300.00 m²" in occupancy  # three units of 100 m², none let yet
    assert "0.0%" in occupancy


def test_the_deadlines_of_the_next_thirty_days_are_counted_and_listed(world: World) -> None:
    world.do(c.RequestInfo(tenancy_id=world.own_tenancy, items="审计报告"))
    world.do(c.RequestInfo(tenancy_id=world.other_tenancy, items="审计报告"))
    deadlines = world.client("operator").get("/api/deadlines").json()
    mine = [d for d in deadlines if d["tenancy_id"] == world.own_tenancy]
    assert mine
    section = _section(signed_in(world, "operator").get("/console").text, "dl-h")
    assert re.search(r'class="big-number">1 ', section)  # the other space's is not counted
    assert mine[0]["due_on"] in section
    assert "补充材料期限" in section and "本企业医疗科技" in section
    assert date.fromisoformat(mine[0]["due_on"]) > date(2024, 3, 4)


def test_every_chart_has_a_table_of_its_numbers(world: World) -> None:
    page = signed_in(world, "viewer").get("/console").text
    assert "echarts.common.min.js" in page
    pairs = page.count('class="chart-pair"')
    assert pairs >= 3
    assert page.count('class="chart"') == pairs
    for block in page.split('class="chart-pair"')[1:]:
        assert "<table>" in block.split("</section>")[0]
    assert "None" not in page and "True" not in page and "False" not in page


def test_dead_letters_and_exits_are_shown_and_link_to_operations(world: World) -> None:
    page = signed_in(world, "operator").get("/console").text
    dead = _section(page, "dead-h")
    assert 'href="/console/ops"' in dead and "badge ok" in dead
    exits = _section(page, "ex-h")
    assert "2024" in exits and "毕业" in exits
    # the world's open forced-exit case of the operator's space, not the other space's
    assert re.search(r"强制退出</td><td class=\"num\">0</td><td class=\"num\">1<", exits)
    everyone = _section(signed_in(world, "admin").get("/console").text, "ex-h")
    assert re.search(r"强制退出</td><td class=\"num\">0</td><td class=\"num\">2<", everyone)


def test_an_unpublished_holiday_year_is_warned_of(world: World, monkeypatch: Any) -> None:
    from lifecycle.calendar import WorkCalendar

    real = WorkCalendar.is_published
    monkeypatch.setattr(
        WorkCalendar, "is_published", lambda self, year: year != 2025 and real(self, year)
    )
    page = signed_in(world, "operator").get("/console").text
    warning = _section(page, "cal-h")
    assert "2025" in warning and "放假调休安排尚未录入" in warning


def test_the_dashboard_in_english(world: World) -> None:
    client = signed_in(world, "operator")
    client.get("/language/en?next=/console")
    page = client.get("/console").text
    assert "Pipeline by state" in page and "applied" in page
    assert "各状态企业数" not in page
