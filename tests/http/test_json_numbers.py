"""A JSON body's numbers are JSON numbers: ``"80"`` where a number is asked for is a client's
bug, refused naming the field's path, Chinese first, as ``true`` is — in every body field, in
the reviewers' scores, and in a profile's or a review's figures. The console's and portal's
HTML forms send text and are read on their own path (tests/web)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from api_support import START, World

from entrypoints.demo_data import figures, good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import queries

PROBLEM = "application/problem+json"


def _refused(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    [error] = [e for e in errors if e["field"] == field]
    message: str = error["message"]
    assert " / " in message and "text" in message.split(" / ", 1)[1], error
    return message


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        (
            "/api/applications",
            {"firm": "x", "space": "MC3", "requested_area_m2": "80"},
            "requested_area_m2",
            "须为数字（JSON 数值，不加引号）",
        ),
        (
            "/api/spaces/MC3/units",
            {"code": "L9", "kind": "lab", "area_m2": "80"},
            "area_m2",
            "须为数字（JSON 数值，不加引号）",
        ),
        (
            "/api/spaces/MC3/land",
            {"parcel_code": "M9", "land_use": "M0", "land_area_m2": 100, "floor_area_m2": "250"},
            "floor_area_m2",
            "须为数字（JSON 数值，不加引号）",
        ),
        (
            "/api/spaces/MC3/land",
            {
                "parcel_code": "M9",
                "land_use": "M0",
                "land_area_m2": 100,
                "floor_area_m2": 250,
                "plot_ratio": "2.5",
            },
            "plot_ratio",
            "须为数字（JSON 数值，不加引号）",
        ),
        ("/api/inbox/read", {"ids": [1, "2"]}, "ids[1]", "须为整数（JSON 数值，不加引号）"),
        (
            "/api/spaces/MC3/rulebook/simulate",
            {"text": "x", "period": "2024"},
            "period",
            "须为整数（JSON 数值，不加引号）",
        ),
    ],
)
def test_a_number_written_as_text_is_refused_naming_its_field(
    world: World, path: str, body: dict[str, object], field: str, words: str
) -> None:
    response = world.client("admin").post(path, json=body)
    assert _refused(response, field).startswith(words + " / ")


def test_a_whole_number_where_a_number_is_asked_for_is_still_taken(world: World) -> None:
    response = world.client("admin").post(
        "/api/spaces/MC3/units", json={"code": "L9", "kind": "lab", "area_m2": 80}
    )
    assert response.status_code == 201, response.text


def test_a_query_s_year_is_text_by_nature_and_still_read(world: World) -> None:
    response = world.client("admin").get("/api/district", params={"year": "2024"})
    assert response.status_code == 200, response.text


def _evaluating(world: World) -> int:
    t = world.own_tenancy
    world.do(c.Screen(tenancy_id=t, actor="operator"))
    return t


def test_a_score_written_as_text_is_refused_and_nothing_is_stored(world: World) -> None:
    t = _evaluating(world)
    reviewer = world.client("reviewer")
    given: dict[str, object] = dict(scores(0.8))
    first = next(iter(given))
    refused = reviewer.post(
        f"/api/applications/{t}/scores",
        json={"scores": {**given, first: "80"}},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert _refused(refused, f"scores.{first}").startswith("须为数字（JSON 数值，不加引号） / ")
    assert reviewer.get(f"/api/applications/{t}/scores").json()["scores"] == []


def test_a_profile_s_number_or_yes_no_written_as_text_is_refused_naming_its_path(
    world: World,
) -> None:
    admin = world.client("admin")
    uscc = make_uscc(random.Random(77))
    assert (
        admin.post(
            "/api/firms", json={"name": "文字数字企业", "uscc": uscc, "industry": "pharma"}
        ).status_code
        == 201
    )
    before = len(world.app.service.query(queries.tenancy_states))
    profile = good_profile(START.date()) | {"revenue_yuan": "1200000", "staff": 18}
    response = admin.post(
        "/api/applications", json={"firm": uscc, "space": "MC3", "profile": profile}
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert "profile.revenue_yuan" in body["detail"] and "JSON 数值" in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["profile.revenue_yuan"]
    assert body["errors"][0]["message"].startswith("须为 JSON 数值，不加引号")
    assert len(world.app.service.query(queries.tenancy_states)) == before  # nothing written
    taken = admin.post(
        "/api/applications",
        json={"firm": uscc, "space": "MC3", "profile": good_profile(START.date())},
    )
    assert taken.status_code == 201, taken.text


def _under_review(world: World) -> int:
    """The own tenancy admitted through every real step, signed, its 2024 review open."""
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    t = _evaluating(world)
    for name in ("甲", "乙", "丙"):
        world.do(c.ScoreApplication(tenancy_id=t, reviewer=name, scores=scores(0.8)))
    world.do(c.Approve(tenancy_id=t))
    clock.advance(timedelta(days=14))
    world.do(c.EndPublicity(tenancy_id=t))
    today = clock.now().date()
    world.do(
        c.Sign(
            tenancy_id=t,
            units=("U0",),
            term_start=today,
            term_end=today.replace(year=today.year + 3),
        )
    )
    clock.set(START.replace(year=2025, month=1, day=6))
    world.do(c.OpenReview(tenancy_id=t, period=2024))
    return t


def test_a_review_figure_written_as_text_is_refused_naming_its_path(world: World) -> None:
    t = _under_review(world)
    operator = world.client("operator")
    given = figures("steady", year=2024, rng=random.Random(1))
    sent = given | {"revenue_yuan": str(given["revenue_yuan"]), "high_tech_enterprise": "否"}
    refused = operator.post(
        f"/api/tenancies/{t}/actions/submit_review",
        json={"period": 2024, "figures": sent},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert refused.status_code == 422, refused.text
    errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
    assert set(errors) == {"figures.revenue_yuan", "figures.high_tech_enterprise"}
    assert errors["figures.revenue_yuan"].startswith("须为 JSON 数值，不加引号，单位：元 / ")
    assert errors["figures.high_tech_enterprise"].startswith("须为 JSON 的 true 或 false / ")
    review = operator.get(f"/api/tenancies/{t}").json()
    assert review["state"] == "under_review"
    taken = operator.post(
        f"/api/tenancies/{t}/actions/submit_review",
        json={"period": 2024, "figures": given},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert taken.status_code == 200, taken.text


@pytest.mark.parametrize(
    ("amount", "status", "stored"),
    [
        (1000.5, 200, "1000.50"),
        (5000, 200, "5000.00"),
        ("1000.50", 200, "1000.50"),  # as the API writes an amount: sent back as read
        ("1e3", 422, None),
        ("1,000", 422, None),
        (" 1000", 422, None),
    ],
)
def test_a_benefit_s_amount_is_a_json_number_or_the_api_s_own_decimal_text(
    world: World, amount: object, status: int, stored: str | None
) -> None:
    """Money is a JSON number (exact to the fen in its range) or the plain decimal text the
    API answers with, so an amount read can be sent back; other text is refused."""
    t = _under_review(world)
    response = world.client("operator").post(
        f"/api/tenancies/{t}/actions/record_benefit",
        json={
            "kind": "rent_free",
            "amount_yuan": amount,
            "granted_on": date(2025, 1, 6).isoformat(),
        },
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert response.status_code == status, response.text
    if stored is None:
        assert _refused(response, "amount_yuan").startswith("须为数字（JSON 数值，不加引号） / ")
        return
    timeline = world.client("admin").get(f"/api/tenancies/{t}/timeline").json()
    [event] = [e for e in timeline if e["trigger"] == "record_benefit"]
    assert event["data"]["amount_yuan"] == stored


def test_the_openapi_document_says_money_and_figures_are_json_numbers(world: World) -> None:
    schemas = world.client("admin").get("/api/openapi.json").json()["components"]["schemas"]
    amount = schemas["RecordBenefitBody"]["properties"]["amount_yuan"]
    assert [kind["type"] for kind in amount["anyOf"]] == ["number", "string"]
    assert "1000.50" in amount["description"] and "1e3" in amount["description"]
    assert "not text" in schemas["SignBody"]["properties"]["deposit_yuan"]["description"]
    assert "JSON 数值" in schemas["SubmitReviewBody"]["properties"]["figures"]["description"]
    assert "json_typed" not in schemas["SubmitReviewBody"]["properties"]
    assert "json_typed" not in schemas["ApplyBody"]["properties"]
