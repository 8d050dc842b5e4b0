"""Violations and exit cases over HTTP: cursor pages, filters, and the scope of each role
(operator and viewer: their spaces; firm: its own firm; reviewer: none)."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import World, add_cases


def _all(world: World, role: str, url: str, **params: Any) -> list[int]:
    """Every id of a list, following ``next`` page by page."""
    client = world.client(role)
    ids: list[int] = []
    cursor: str | None = None
    for _ in range(50):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            return ids
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("url", ["/api/violations", "/api/exit-cases"])
def test_pages_follow_the_cursor_to_the_end(world: World, url: str) -> None:
    for _ in range(4):
        add_cases(world.app, world.own_tenancy)
    add_cases(world.app, world.other_tenancy, status="closed" if "exit" in url else "cured")
    ids = _all(world, "admin", url, limit=2)
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 7
    assert _all(world, "admin", url, limit=500) == ids


def test_violations_filter_by_space_tenancy_and_status(world: World) -> None:
    add_cases(world.app, world.own_tenancy, status="cured")
    url = "/api/violations"
    own = _all(world, "admin", url, space="MC3")
    assert len(own) == 2 and world.other_violation not in own
    assert _all(world, "admin", url, tenancy=world.other_tenancy) == [world.other_violation]
    assert _all(world, "admin", url, status="open") == [world.own_violation, world.other_violation]
    cured = world.client("admin").get(url, params={"status": "cured"}).json()["items"]
    assert [v["status"] for v in cured] == ["cured"] and cured[0]["space"] == "MC3"
    assert world.client("admin").get(url, params={"status": "nonsense"}).status_code == 422


def test_exit_cases_filter_by_space_and_status(world: World) -> None:
    closed, _ = add_cases(world.app, world.other_tenancy, status="closed")
    url = "/api/exit-cases"
    assert _all(world, "admin", url, space="MC3") == [world.own_exit_case]
    items = world.client("admin").get(url, params={"status": "closed"}).json()["items"]
    assert [(e["status"], e["space"]) for e in items] == [("closed", "HX")]
    assert world.client("admin").get(url, params={"status": "gone"}).status_code == 422


@pytest.mark.parametrize("role", ["operator", "viewer", "firm"])
def test_each_role_lists_only_its_own(world: World, role: str) -> None:
    assert _all(world, role, "/api/violations") == [world.own_violation]
    assert _all(world, role, "/api/exit-cases") == [world.own_exit_case]
    # Naming the other space or tenancy finds nothing rather than confirming anything.
    assert _all(world, role, "/api/violations", space="HX") == []
    assert _all(world, role, "/api/violations", tenancy=world.other_tenancy) == []
    assert _all(world, role, "/api/exit-cases", space="HX") == []


@pytest.mark.parametrize("role", ["operator", "viewer", "firm"])
def test_an_exit_case_outside_the_scope_is_404_like_a_missing_one(world: World, role: str) -> None:
    client = world.client(role)
    own = client.get(f"/api/exit-cases/{world.own_exit_case}")
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["tenancy_id"] == world.own_tenancy and body["facts"].startswith("擅自转租")
    other = client.get(f"/api/exit-cases/{world.other_exit_case}")
    missing = client.get("/api/exit-cases/987654")
    assert other.status_code == missing.status_code == 404
    assert other.json()["title"] == missing.json()["title"]
    assert other.json()["kind"] == "exit_case"


def test_a_reviewer_may_not_list_violations_or_exit_cases(world: World) -> None:
    reviewer = world.client("reviewer")
    for url in ("/api/violations", "/api/exit-cases", f"/api/exit-cases/{world.own_exit_case}"):
        assert reviewer.get(url).status_code == 403, url


def test_an_admin_sees_every_exit_case(world: World) -> None:
    admin = world.client("admin")
    assert admin.get(f"/api/exit-cases/{world.other_exit_case}").json()["space"] == "HX"
    assert _all(world, "admin", "/api/exit-cases") == [world.own_exit_case, world.other_exit_case]
