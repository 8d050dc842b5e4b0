"""The authorization matrix, generated from the route table: every route × every role × the
account's own and another space / firm. A route without a rule in ``policy.POLICY`` fails.

Expected: no credentials → 401; a role the rule does not name → 403; a record outside the
account's scope → 404, as if it did not exist; anything else is not refused for scope
(it may still be 422, 409, 428 … for what the request says). No request here changes a
tenancy: writes carry no ``If-Match`` and empty bodies.
"""

from __future__ import annotations

from typing import Any

import pytest
from api_support import ROLES, World
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from entrypoints.http.app import routes_of
from entrypoints.http.policy import POLICY


def _url(route: APIRoute, world: World, variant: str) -> tuple[str, str | None]:
    """The route's URL for the ``own`` or ``other`` record, and the key a scope 404 names."""
    own = variant == "own"
    path, key = route.path, None
    if "{tenancy_id}" in path:
        key = str(world.own_tenancy if own else world.other_tenancy)
        path = path.replace("{tenancy_id}", key)
    if "{exit_case_id}" in path:
        key = str(world.own_exit_case if own else world.other_exit_case)
        path = path.replace("{exit_case_id}", key)
    if "{space}" in path:
        key = world.own_space if own else world.other_space
        path = path.replace("{space}", key)
    return path.replace("{period}", "2023").replace("{name}", "admitted"), key


def _call(client: TestClient, route: APIRoute, url: str) -> Any:
    method = sorted(route.methods)[0]
    if method in ("POST", "PUT", "PATCH"):
        return client.request(method, url, json={})
    return client.request(method, url)


def _scope_refused(response: Any, key: str | None) -> bool:
    if response.status_code != 404 or key is None:
        return False
    body = response.json()
    return body.get("kind") in ("tenancy", "space", "exit_case") and body.get("key") == key


def test_every_route_has_a_rule(world: World) -> None:
    names = [route.name for route in routes_of(world.api)]
    assert len(names) == len(set(names)), "route names must be unique"
    missing = sorted(set(names) - set(POLICY))
    assert not missing, f"routes without an authorization rule: {missing}"
    assert not sorted(set(POLICY) - set(names)), "rules for routes that do not exist"


def test_the_matrix(world: World) -> None:
    failures: list[str] = []
    clients = {role: world.client(role) for role in ROLES}
    anonymous = world.client()
    versions = {t: world.version(t) for t in (world.own_tenancy, world.other_tenancy)}
    for route in routes_of(world.api):
        rule = POLICY[route.name]
        for variant in ("own", "other"):
            url, key = _url(route, world, variant)
            if not rule.public:
                status = _call(anonymous, route, url).status_code
                if status != 401:
                    failures.append(f"anonymous {route.name} {variant}: {status}, not 401")
            if rule.public:
                continue
            for role in ROLES:
                response = _call(clients[role], route, url)
                status = response.status_code
                scoped = rule.scope != "none" and key is not None
                if role not in rule.roles:
                    expected = "403"
                    ok = status == 403
                elif scoped and variant == "other" and role != "admin":
                    expected = "404 (out of scope)"
                    ok = _scope_refused(response, key)
                else:
                    expected = "not refused"
                    ok = status not in (401, 403) and not _scope_refused(response, key)
                if not ok:
                    failures.append(
                        f"{role:<8} {route.name} {variant}: {status} {response.text[:120]}, "
                        f"expected {expected}"
                    )
    assert not failures, "\n".join(failures)
    # Nothing in the matrix changed a tenancy.
    assert versions == {t: world.version(t) for t in versions}


@pytest.mark.parametrize("route", ["tenancy_show", "tenancy_timeline"])
def test_a_firm_reaching_for_another_firms_tenancy_gets_404(world: World, route: str) -> None:
    suffix = "/timeline" if route == "tenancy_timeline" else ""
    firm = world.client("firm")
    other = firm.get(f"/api/tenancies/{world.other_tenancy}{suffix}")
    missing = firm.get(f"/api/tenancies/987654{suffix}")
    assert other.status_code == missing.status_code == 404
    assert other.json()["title"] == missing.json()["title"]


def test_a_firm_lists_only_its_own(world: World) -> None:
    items = world.client("firm").get("/api/tenancies").json()["items"]
    assert [t["id"] for t in items] == [world.own_tenancy]
    scoped = world.client("firm").get("/api/tenancies", params={"space": "HX"}).json()
    assert scoped["items"] == []


def test_a_reviewer_sees_only_assigned_applications(world: World) -> None:
    reviewer = world.client("reviewer")
    assert [t["id"] for t in reviewer.get("/api/tenancies").json()["items"]] == [world.own_tenancy]
    assert reviewer.get(f"/api/tenancies/{world.other_tenancy}").status_code == 404
    shown = reviewer.get(f"/api/tenancies/{world.own_tenancy}").json()
    assert "timeline" not in shown and "reviews" not in shown


def test_a_viewer_reads_but_never_writes(world: World) -> None:
    viewer = world.client("viewer")
    assert viewer.get(f"/api/tenancies/{world.own_tenancy}").status_code == 200
    version = world.version(world.own_tenancy)
    refused = viewer.post(
        f"/api/tenancies/{world.own_tenancy}/actions/screen",
        json={},
        headers={"If-Match": f'"{version}"'},
    )
    assert refused.status_code == 403
    assert world.version(world.own_tenancy) == version
