"""Every page has a rule; signing in and out; CSRF on every form; errors as pages."""

from __future__ import annotations

import pytest
from api_support import World
from fastapi.routing import APIRoute
from web_support import csrf_of, signed_in

from entrypoints.http.app import all_routes
from entrypoints.web.access import PAGES


def _page_routes(world: World) -> list[APIRoute]:
    return [r for r in all_routes(world.api) if not r.path.startswith("/api")]


def test_every_page_has_a_rule_and_every_rule_a_page(world: World) -> None:
    names = [r.name for r in _page_routes(world)]
    assert len(names) == len(set(names)), "page route names must be unique"
    assert not sorted(set(names) - set(PAGES)), "pages without a rule"
    assert not sorted(set(PAGES) - set(names)), "rules for pages that do not exist"


def test_a_page_without_a_session_goes_to_the_login_page(world: World) -> None:
    client = world.client()
    for route in _page_routes(world):
        if "GET" not in route.methods or PAGES[route.name].public:
            continue
        url = route.path
        for name in route.param_convertors:
            url = url.replace("{" + name + "}", "1")
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, (route.path, response.status_code)
        assert response.headers["location"].startswith("/login?next=")


def test_login_lands_each_role_on_its_home(world: World) -> None:
    homes = {"admin": "/console", "operator": "/console", "viewer": "/console", "firm": "/portal"}
    for role, home in homes.items():
        client = world.client()
        response = client.post(
            "/login",
            data={"username": role, "password": "correct horse battery staple"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == home


def test_a_wrong_password_is_said_in_chinese_and_signs_nobody_in(world: World) -> None:
    client = world.client()
    response = client.post("/login", data={"username": "operator", "password": "wrong"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_login_never_redirects_to_another_host(world: World) -> None:
    client = world.client()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            data={
                "username": "operator",
                "password": "correct horse battery staple",
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/console", target


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_form_without_the_csrf_token_changes_nothing(world: World, token: str | None) -> None:
    client = signed_in(world, "operator")
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/logout", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert client.get("/console", follow_redirects=False).status_code == 200  # still signed in


def test_logout_ends_the_session(world: World) -> None:
    client = signed_in(world, "operator")
    response = client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_an_unknown_page_is_a_chinese_page_not_json(world: World) -> None:
    client = signed_in(world, "operator")
    response = client.get("/console/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "页面不存在" in response.text


def test_the_english_switch(world: World) -> None:
    client = signed_in(world, "operator")
    client.get("/language/en?next=/console")
    assert "Dashboard" in client.get("/console").text
    client.get("/language/zh?next=/console")
    assert "仪表盘" in client.get("/console").text


def test_a_firm_user_cannot_open_the_console(world: World) -> None:
    client = signed_in(world, "firm")
    response = client.get("/console")
    assert response.status_code == 403
    assert "无权" in response.text


def test_a_refusal_names_the_role_in_words_with_its_code_beside_them(world: World) -> None:
    client = signed_in(world, "viewer")
    response = client.get("/console/ops/accounts")
    assert response.status_code == 403
    assert "角色「只读」（viewer）无权执行此操作" in response.text
    assert "角色 viewer" not in response.text
    client.get("/language/en?next=/console")
    assert "the viewer role may not do this" in client.get("/console/ops/accounts").text
