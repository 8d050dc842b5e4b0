"""Logging in, the session cookie, CSRF, logout, tokens."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import PASSWORD, World

from entrypoints.http.auth import CSRF_COOKIE, SESSION_COOKIE
from workflows import credentials
from workflows import identity as i


def _login(world: World, username: str = "operator") -> tuple[object, str]:
    client = world.client()
    response = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client, response.json()["csrf_token"]


def test_login_sets_a_signed_httponly_lax_cookie_and_a_csrf_cookie(world: World) -> None:
    client = world.client()
    response = client.post("/api/session", json={"username": "operator", "password": PASSWORD})
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" not in session
    csrf = next(c for c in cookies if c.startswith(CSRF_COOKIE + "="))
    assert "HttpOnly" not in csrf
    assert response.json()["account"]["role"] == "operator"
    assert client.get("/api/session").json()["account"]["username"] == "operator"


def test_over_https_the_cookies_are_secure(world: World) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(world.api, base_url="https://testserver")
    response = client.post("/api/session", json={"username": "operator", "password": PASSWORD})
    assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


def test_login_accepts_a_form(world: World) -> None:
    response = world.client().post(
        "/api/session", data={"username": "viewer", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["account"]["role"] == "viewer"


def test_a_wrong_password_is_401_without_saying_which_part(world: World) -> None:
    response = world.client().post(
        "/api/session", json={"username": "operator", "password": "wrong password!"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "password" not in response.json()["detail"].lower()


def test_a_locked_account_answers_as_an_unknown_name(world: World) -> None:
    """Five failures lock the account from their address (even the right password is then
    refused there), with the answer a wrong password or an unknown name gets: trying
    passwords never tells which names are accounts'. Too many failures from one address: 429,
    whatever the name."""
    client = world.client()

    def attempt(name: str, password: str = "wrong password!") -> Any:
        return client.post("/api/session", json={"username": name, "password": password})

    for _ in range(credentials.MAX_FAILURES):
        assert attempt("viewer").status_code == 401
        assert attempt("nobody-at-all").status_code == 401
    locked, unknown = attempt("viewer", PASSWORD), attempt("nobody-at-all", PASSWORD)
    assert locked.status_code == unknown.status_code == 401
    assert locked.json() == unknown.json()
    assert "retry-after" not in locked.headers
    left = credentials.ADDRESS_MAX_FAILURES - 2 * credentials.MAX_FAILURES - 2
    assert [attempt(f"guess{n}").status_code for n in range(left)] == [401] * left
    throttled = attempt("viewer", PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert attempt("nobody-at-all").status_code == 429


def test_a_forged_cookie_is_401(world: World) -> None:
    client = world.client()
    client.cookies.set(SESSION_COOKIE, "forged.value")
    response = client.get("/api/session")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_a_cookie_write_needs_the_csrf_token(world: World) -> None:
    client, csrf = _login(world)
    url = f"/api/tenancies/{world.own_tenancy}/actions/request_info"
    version = world.version(world.own_tenancy)
    headers = {"If-Match": f'"{version}"'}
    refused = client.post(url, json={"items": "营业执照"}, headers=headers)  # type: ignore[attr-defined]
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert world.version(world.own_tenancy) == version  # nothing written
    wrong = client.post(  # type: ignore[attr-defined]
        url, json={"items": "营业执照"}, headers={**headers, "X-CSRF-Token": "0" * 64}
    )
    assert wrong.status_code == 403
    done = client.post(  # type: ignore[attr-defined]
        url, json={"items": "营业执照"}, headers={**headers, "X-CSRF-Token": csrf}
    )
    assert done.status_code == 200, done.text


def test_bearer_requests_need_no_csrf_token(world: World) -> None:
    version = world.version(world.own_tenancy)
    response = world.client("operator").post(
        f"/api/tenancies/{world.own_tenancy}/actions/request_info",
        json={"items": "营业执照"},
        headers={"If-Match": f'"{version}"'},
    )
    assert response.status_code == 200, response.text


def test_logout_ends_the_session(world: World) -> None:
    client, csrf = _login(world)
    response = client.delete("/api/session", headers={"X-CSRF-Token": csrf})  # type: ignore[attr-defined]
    assert response.status_code == 204
    again = world.client()
    again.cookies.set(SESSION_COOKIE, client.cookies.get(SESSION_COOKIE) or "")  # type: ignore[attr-defined]
    assert client.get("/api/session").status_code == 401  # type: ignore[attr-defined]


def test_a_revoked_token_is_401(world: World) -> None:
    new = world.do(i.CreateToken(username="viewer", label="to revoke"))
    client = world.client()
    client.headers["Authorization"] = f"Bearer {new.token}"
    assert client.get("/api/spaces").status_code == 200
    world.do(i.RevokeToken(token_id=new.token_id))
    assert client.get("/api/spaces").status_code == 401


def test_a_disabled_account_is_401(world: World) -> None:
    world.do(i.DisableUser(username="viewer"))
    assert world.client("viewer").get("/api/spaces").status_code == 401


def test_a_malformed_authorization_header_is_401(world: World) -> None:
    client = world.client()
    client.headers["Authorization"] = "Basic dXNlcjpwYXNz"
    assert client.get("/api/spaces").status_code == 401
    client.headers["Authorization"] = "Bearer not-a-token"
    assert client.get("/api/spaces").status_code == 401


def test_a_session_idle_too_long_or_past_its_maximum_is_401(world: World) -> None:
    from datetime import timedelta

    from lifecycle.clock import FixedClock

    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    idle = world.app.settings.session_idle_minutes
    client, _ = _login(world)
    clock.advance(timedelta(minutes=idle - 1))
    assert client.get("/api/session").status_code == 200  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=idle + 1))
    assert client.get("/api/session").status_code == 401  # type: ignore[attr-defined]

    busy, _ = _login(world)  # used every 20 minutes: never idle, but not kept for ever
    max_minutes = world.app.settings.session_max_hours * 60
    for step in range(1, max_minutes // 20 + 2):
        clock.advance(timedelta(minutes=20))
        if busy.get("/api/session").status_code == 401:  # type: ignore[attr-defined]
            assert step * 20 >= max_minutes
            break
    else:
        raise AssertionError("the session outlived its maximum")


def test_a_login_replaces_the_session_the_browser_held(world: World) -> None:
    """A new token at every login (nothing an attacker planted survives it), and the
    browser's previous session ends."""
    client, _ = _login(world)
    before = client.cookies.get(SESSION_COOKIE)  # type: ignore[attr-defined]
    again = client.post(  # type: ignore[attr-defined]
        "/api/session", json={"username": "operator", "password": PASSWORD}
    )
    assert again.status_code == 200
    after = client.cookies.get(SESSION_COOKIE)  # type: ignore[attr-defined]
    assert after and after != before
    old = world.client()
    old.cookies.set(SESSION_COOKIE, before or "")
    assert old.get("/api/session").status_code == 401
    assert client.get("/api/session").status_code == 200  # type: ignore[attr-defined]


def test_the_login_cookies_span_the_site_and_last_as_long_as_the_session(world: World) -> None:
    from datetime import datetime

    client = world.client()
    response = client.post("/api/session", json={"username": "operator", "password": PASSWORD})
    assert response.headers["cache-control"] == "no-store"
    expires = datetime.fromisoformat(response.json()["expires_at"])
    lifetime = int((expires - world.app.service.clock.now()).total_seconds())
    for cookie in response.headers.get_list("set-cookie"):
        assert "Path=/;" in cookie or cookie.endswith("Path=/"), cookie
        assert f"Max-Age={lifetime}" in cookie, cookie


def test_a_login_posted_from_another_site_is_refused(world: World) -> None:
    client = world.client()
    form = {"username": "operator", "password": PASSWORD}
    refused = client.post("/api/session", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and refused.json()["reason"] == "cross_site_login"
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    same = client.post("/api/session", data=form, headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_without_fetch_metadata_another_origin_is_refused(world: World, origin: str) -> None:
    # A browser that sends no Sec-Fetch-Site still names the page's origin.
    client = world.client()
    form = {"username": "operator", "password": PASSWORD}
    refused = client.post("/api/session", data=form, headers={"Origin": origin})
    assert refused.status_code == 403 and refused.json()["reason"] == "cross_site_login"
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    own = client.post("/api/session", data=form, headers={"Origin": str(client.base_url)})
    assert own.status_code == 200


def test_a_trailing_slash_is_not_redirected_to_the_host_the_client_names(world: World) -> None:
    response = world.client("operator").get(
        "/api/tenancies/", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "location" not in response.headers


def test_a_chunked_body_over_the_limit_is_413(world: World) -> None:
    from entrypoints.http.middleware import MAX_BODY_BYTES

    def chunks() -> object:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536

    response = world.client("admin").post(
        "/api/spaces",
        content=chunks(),  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
