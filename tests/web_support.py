"""What the console and portal tests share: signing in through the login form, and reading
the CSRF and form tokens of a page as a browser would."""

from __future__ import annotations

import re

from api_support import PASSWORD, World
from fastapi.testclient import TestClient

from entrypoints.http.auth import CSRF_COOKIE

_HIDDEN = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')


def signed_in(world: World, username: str, password: str = PASSWORD) -> TestClient:
    """A client signed in as ``username`` through the login form (cookies kept)."""
    client = TestClient(world.api, raise_server_exceptions=False)
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient) -> str:
    token = client.cookies.get(CSRF_COOKIE)
    assert token, "not signed in"
    return str(token)


def tokens_in(html: str) -> dict[str, str]:
    """The hidden ``csrf_token`` and ``form_token`` of the first form that has them."""
    found: dict[str, str] = {}
    for name, value in _HIDDEN.findall(html):
        found.setdefault(name, value)
    return found
