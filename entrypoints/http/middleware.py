"""Pure ASGI middleware: security headers on every response, a limit on request bodies.

Pure ASGI (not ``BaseHTTPMiddleware``) so a streamed body is counted as it arrives and a
response is never buffered.
"""

from __future__ import annotations

import json
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.http.auth import SESSION_COOKIE
from entrypoints.http.problems import PROBLEM_JSON, TITLES, TYPE_BASE

#: The largest request body accepted (1 MiB): rulebooks, templates, profiles and figures are
#: a few kilobytes. A larger one is refused with 413 before the route runs.
MAX_BODY_BYTES = 1_048_576
#: The exceptions: a firm's answer with its attached files (``entrypoints.web.routes_inbox``:
#: up to 3 files of 10 MiB each, and the text) may be 32 MiB; an opportunity entry's files
#: (``workflows.attachments.MAX_ENTRY_FILES``: up to 5 of 10 MiB, with the entry's fields)
#: 56 MiB. Only the paths these patterns match whole (the routes that take files) get the
#: larger limit; the rest keeps 1 MiB. The body is read before anyone is authenticated, so
#: a wider prefix (``/api/opportunity-entries/`` once) let an anonymous request make the
#: server hold 56 MiB of JSON for an edit or a return.
UPLOAD_BODY_BYTES = 32 * 1_048_576
ENTRY_UPLOAD_BYTES = 56 * 1_048_576
UPLOAD_PATHS: dict[str, int] = {
    r"/portal/answer/\d+": UPLOAD_BODY_BYTES,
    r"/portal/opportunities": ENTRY_UPLOAD_BYTES,
    r"/portal/opportunities/\d+/attachments": ENTRY_UPLOAD_BYTES,
    r"/console/opportunities/\d+/attachments": ENTRY_UPLOAD_BYTES,
    r"/api/opportunity-entries/\d+/attachments": ENTRY_UPLOAD_BYTES,
}

_SESSION_COOKIE = SESSION_COOKIE.encode() + b"="

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000"
#: The interactive documentation (Swagger UI) loads its script and styles from a CDN and
#: runs an inline script; only its page gets this policy.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)


#: Paths whose responses may be kept by a browser: the pages' scripts, styles and images.
CACHEABLE_PREFIXES = ("/static/",)


class SecurityHeaders:
    """Adds the security headers; API responses are ``Cache-Control: no-store``, and so is
    every page and download that does not say otherwise (a console or portal page, an
    export: a firm's notices or a space's tenancies must not be kept by a shared computer's
    browser after logout, nor by a proxy); only ``/static/`` may be cached."""

    def __init__(self, app: ASGIApp, *, docs_path: str = "/api/docs") -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if path == self.docs_path:
                    headers["content-security-policy"] = DOCS_CSP
                if path.startswith("/api/"):
                    headers["cache-control"] = "no-store"
                elif not path.startswith(CACHEABLE_PREFIXES):
                    headers.setdefault("cache-control", "no-store")
                if scope.get("scheme") == "https":
                    # Served over TLS (directly or behind a proxy that says so): browsers
                    # keep to https for this host for a year.
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _credentials(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a request names any credential: a bearer token or the session cookie (whether
    it is valid is the route's to find out)."""
    for name, value in headers:
        if name == b"authorization" or (name == b"cookie" and _SESSION_COOKIE in value):
            return True
    return False


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives ``messages`` first, then whatever the server sends."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


class BodyLimit:
    """Refuses a body over ``limit`` bytes with a 413 problem: at once when Content-Length
    says so, or as soon as a streamed (chunked) body passes the limit. ``wider``: patterns of
    whole paths with a larger limit of their own (uploads)."""

    def __init__(
        self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES, wider: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.wider = [(re.compile(pattern), n) for pattern, n in (wider or {}).items()]

    def limit_for(self, path: str, *, credentials: bool = True) -> int:
        """The limit of ``path``; a request that carries no credentials at all (neither a
        bearer token nor a session cookie) is held to the ordinary limit everywhere: it will
        be refused with 401 anyway, and is not read at the upload's size first."""
        if credentials:
            for pattern, limit in self.wider:
                if pattern.fullmatch(path):
                    return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        limit = self.limit_for(scope.get("path", ""), credentials=_credentials(headers))
        for name, value in headers:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit or declared < 0:
                    await self._refuse(scope, send, limit)
                    return
        # Read the whole body first (at most ``limit`` bytes are kept), then replay it: the
        # route never sees a body that is too large, and the refusal is a clean 413.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await self._refuse(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        path = str(scope.get("path", ""))
        if not path.startswith("/api"):
            await _refuse_page(send, limit)
            return
        body = json.dumps(
            {
                "type": TYPE_BASE + "body_too_large",
                "title": TITLES["body_too_large"],
                "status": 413,
                "detail": f"请求体超过 {limit} 字节 / the request body exceeds {limit} bytes",
                "instance": scope.get("path"),
                "code": "body_too_large",
                "limit": limit,
            },
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _refuse_page(send: Send, limit: int) -> None:
    """A page's refusal (the form's sender reads it in a browser): plain HTML, Chinese first."""
    mib = limit / 1_048_576
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>413</title></head><body><main><h1>提交的内容过大</h1>"
        f"<p>本次提交超过 {mib:g} MiB 的上限，未作任何处理。请缩小或减少附件后重试。</p>"
        f'<p lang="en">The form exceeds the {mib:g} MiB limit; nothing was changed. '
        "Send smaller or fewer files.</p>"
        '<p><a href="/">返回首页 / Home</a></p></main></body></html>'
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(html)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": html})
