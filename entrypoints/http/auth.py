"""Who is asking: an API token (``Authorization: Bearer …``) or a browser session (a signed
cookie), and the CSRF check for cookie-authenticated writes.

- The session cookie ``innospace_session`` carries the session token signed with
  ``INNOSPACE_SECRET_KEY`` (itsdangerous): a forged or altered cookie is refused before the
  database is asked. HttpOnly, SameSite=Lax, Secure when the request came over https.
- CSRF, double submit: at login the API sets ``innospace_csrf`` (readable by the page's
  script) and returns the same value; every cookie-authenticated POST, PUT, PATCH or DELETE
  must repeat it in ``X-CSRF-Token``. The token is an HMAC of the session token, so a cookie
  planted by a sibling subdomain (cookie tossing) does not match the victim's session.
  Requests with a bearer token carry no ambient credential and are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from lifecycle.errors import Forbidden, Unauthorized
from workflows import identity

if TYPE_CHECKING:
    from entrypoints.bootstrap import App
    from workflows.service import Reads

SESSION_COOKIE = "innospace_session"
CSRF_COOKIE = "innospace_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def from_another_site(request: Request) -> bool:
    """Whether a browser sent ``request`` from another site's page (a login posted there would
    log the browser in as someone that site chose: login CSRF). ``Sec-Fetch-Site`` says so
    where the browser sends it; otherwise an ``Origin`` other than this server's own (or the
    opaque ``null``) does. A client that sends neither (curl, another system) is not a
    browser on someone else's page."""
    fetch_site = request.headers.get("sec-fetch-site", "").lower()
    if fetch_site:
        return fetch_site == "cross-site"
    origin = request.headers.get("origin")
    if origin is None:
        return False
    # The host alone: behind a proxy that ends TLS, the page's https origin reaches this
    # server as plain http on another port, and is still this site.
    return urlsplit(origin.strip()).hostname != request.url.hostname


@dataclass(frozen=True)
class Signer:
    """Signs session cookies and derives CSRF tokens from the secret key."""

    secret: str

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt="innospace.session")

    def cookie(self, session_token: str) -> str:
        return str(self._serializer().dumps(session_token))

    def session_token(self, cookie: str) -> str:
        try:
            value = self._serializer().loads(cookie)
        except BadSignature:
            raise Unauthorized(
                "会话 Cookie 无效 / the session cookie is not valid", reason="forged_cookie"
            ) from None
        if not isinstance(value, str):
            raise Unauthorized("会话 Cookie 无效 / the session cookie is not valid")
        return value

    def csrf(self, session_token: str) -> str:
        return hmac.new(
            self.secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256
        ).hexdigest()


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization 须为 Bearer 令牌 / Authorization must be a Bearer token")
    return token.strip()


def resolve(
    app: App,
    signer: Signer,
    request: Request,
    reads: Reads,
    tokens: identity.TokenCache | None = None,
) -> identity.Principal:
    """The principal of ``request``, or Unauthorized, read through ``reads`` (the request's
    unit of work). An API token's principal comes from ``tokens`` when it holds it
    (:class:`workflows.identity.TokenCache`: a few seconds at most). Marks the session or
    token used (at most once a minute, :func:`workflows.identity.needs_touch`)."""
    token = bearer(request)
    now = app.clock.now()
    if token is not None:
        principal = tokens.get(token, now) if tokens is not None else None
        if principal is None:
            generation = identity.principals_generation()
            principal, expires_at = reads.query(identity.token_principal, token)
            if tokens is not None:
                tokens.put(token, principal, expires_at, generation)
        if principal.token_id is not None and identity.needs_touch(principal, now):
            app.service.handle(identity.TouchToken(token_id=principal.token_id))
            if tokens is not None:
                tokens.seen(token, now)
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized()
    session_token = signer.session_token(cookie)
    principal = reads.query(identity.principal_for_session, session_token)
    if request.method not in SAFE_METHODS:
        check_csrf(signer, request, session_token)
    if identity.needs_touch(principal, now):
        app.service.handle(identity.TouchSession(session_token=session_token))
    return principal


def cached_principal(
    app: App, request: Request, tokens: identity.TokenCache
) -> identity.Principal | None:
    """The principal of ``request``'s API token when ``tokens`` holds it and nothing is to be
    written (no touch due); None when the database must be asked (:func:`resolve`)."""
    token = bearer(request)
    if token is None:
        return None
    now = app.clock.now()
    principal = tokens.get(token, now)
    if principal is None or identity.needs_touch(principal, now):
        return None
    return principal


def check_csrf(signer: Signer, request: Request, session_token: str) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    expected = signer.csrf(session_token)
    if not (sent and hmac.compare_digest(sent, cookie) and hmac.compare_digest(sent, expected)):
        raise Forbidden(
            "缺少或错误的 CSRF 令牌（X-CSRF-Token） / missing or wrong CSRF token "
            "(X-CSRF-Token header)",
            reason="csrf",
        )


def session_token_of(signer: Signer, request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return signer.session_token(cookie) if cookie else None


def set_session_cookies(
    response: Response, request: Request, signer: Signer, session_token: str, max_age: int
) -> str:
    """Set the session and CSRF cookies; returns the CSRF token."""
    secure = request.url.scheme == "https"
    csrf = signer.csrf(session_token)
    response.set_cookie(
        SESSION_COOKIE,
        signer.cookie(session_token),
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/"
    )
    return csrf


def clear_session_cookies(response: Response, request: Request) -> None:
    secure = request.url.scheme == "https"
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name, path="/", secure=secure, httponly=name == SESSION_COOKIE, samesite="lax"
        )
