"""``create_app(app)``: the FastAPI application over a bootstrapped :class:`App`.

Nothing happens at import time: the composition root (``bootstrap()``) builds the App, and
``innospace serve`` (or a test) passes it here. Routes only send commands and read named
queries; errors become RFC 9457 problem details in :mod:`entrypoints.http.problems`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from entrypoints.http import problems
from entrypoints.http.auth import Signer
from entrypoints.http.middleware import MAX_BODY_BYTES, UPLOAD_PATHS, BodyLimit, SecurityHeaders
from lifecycle.errors import InnospaceError, InvalidInput
from workflows.identity import TokenCache

if TYPE_CHECKING:
    from entrypoints.bootstrap import App

DESCRIPTION = f"""
innospace 科创空间入驻企业全生命周期管理 API / the tenant lifecycle API of innospace.

- 认证 / authentication: `Authorization: Bearer <API 令牌 token>`，或先 `POST /api/session`
  登录取得会话 Cookie（写操作须带 `X-CSRF-Token`） / or log in with `POST /api/session` for a
  session cookie (writes then need `X-CSRF-Token`).
- 租户的版本即 `ETag`；修改须带 `If-Match`，版本过期返回 412（正文给出当前版本），缺少返回 428。
  / A tenancy's version is its `ETag`; changes need `If-Match`: 412 when stale (the body
  names the current version), 428 when missing.
- `POST` 可带 `Idempotency-Key`：重试返回首次的响应，不会重复执行；同一键用于不同请求体返回 422。
  / `POST` may carry `Idempotency-Key`: a retry returns the first response instead of acting
  twice; the same key with another body is 422.
- 错误为 RFC 9457 problem details（`application/problem+json`）。 / Errors are RFC 9457
  problem details.
- 请求体上限 / request body limit: {MAX_BODY_BYTES} bytes (1 MiB), 413 beyond.
- 列表按 cursor 分页：把响应中的 `next` 作为 `cursor` 传回。 / Lists are paginated by cursor:
  send a page's `next` back as `cursor`.
"""


def create_app(app: App, *, secret_key: str | None = None) -> FastAPI:
    """The API over ``app``; ``secret_key`` (default ``app.settings.secret_key``) signs the
    session cookies and CSRF tokens."""
    from entrypoints.http import (
        routes_cases,
        routes_opportunities,
        routes_ops,
        routes_registry,
        routes_session,
        routes_tenancies,
    )

    secret = secret_key or app.settings.secret_key
    if not secret or len(secret) < 32:
        raise InvalidInput(
            "INNOSPACE_SECRET_KEY",
            "须设置至少 32 个字符的密钥 / must be set, at least 32 characters",
        )
    api = FastAPI(
        title="innospace API",
        version="1",
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        # No redirect to the slash-less path: its Location would be built from the request's
        # Host header, which the client chooses (a redirect to any host). 404 instead.
        redirect_slashes=False,
        responses=problems.PROBLEM_RESPONSES,
    )
    api.state.innospace = app
    api.state.signer = Signer(secret)
    # API tokens' principals, a few seconds per process (workflows.identity.TokenCache).
    api.state.tokens = TokenCache()
    api.add_exception_handler(InnospaceError, problems.on_domain_error)
    api.add_exception_handler(problems.HttpProblem, problems.on_http_problem)
    api.add_exception_handler(RequestValidationError, problems.on_validation_error)
    api.add_exception_handler(StarletteHTTPException, problems.on_starlette_http)
    api.add_exception_handler(OperationalError, problems.on_database_unavailable)
    api.add_exception_handler(Exception, problems.on_unexpected)
    for module in (
        routes_session,
        routes_tenancies,
        routes_cases,
        routes_registry,
        routes_ops,
        routes_opportunities,
    ):
        api.include_router(module.router)
    from entrypoints import web

    web.include(api)
    api.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, wider=UPLOAD_PATHS)
    api.add_middleware(SecurityHeaders)
    api.openapi = _openapi_with_problems(api)  # type: ignore[method-assign]
    return api


def _openapi_with_problems(api: FastAPI) -> Any:
    """The OpenAPI document with every error response described as problem+json."""
    original = api.openapi

    def build() -> dict[str, Any]:
        if api.openapi_schema is not None:
            return api.openapi_schema
        schema = original()
        ref = {"$ref": "#/components/schemas/Problem"}
        for path in schema.get("paths", {}).values():
            for method, operation in path.items():
                _document_headers(method, operation)
                for status, response in operation.get("responses", {}).items():
                    if status.isdigit() and int(status) >= 400:
                        response["content"] = {problems.PROBLEM_JSON: {"schema": ref}}
        api.openapi_schema = schema
        return schema

    return build


#: Routes that change a tenancy and so need ``If-Match`` (the routes read the header).
_VERSIONED = ("tenancy_action_", "application_score_")
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "重试时返回首次的响应，不重复执行 / a retry returns the first response "
    "instead of acting twice (per account; another body with the same key is 422)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": '租户的 ETag，如 "7"；缺少为 428，过期为 412 / the tenancy\'s ETag, e.g. "7"; '
    "428 when missing, 412 when stale (the body names the current version)",
    "schema": {"type": "string", "maxLength": 40},
}


def _document_headers(method: str, operation: dict[str, Any]) -> None:
    """Headers the routes read from the request itself, described for clients."""
    if method != "post":
        return
    parameters = operation.setdefault("parameters", [])
    parameters.append(dict(_IDEMPOTENCY_KEY))
    if str(operation.get("operationId", "")).startswith(_VERSIONED):
        parameters.append(dict(_IF_MATCH))
        responses = operation.setdefault("responses", {})
        responses["412"] = {"description": problems.TITLES["stale_tenancy"]}
        responses["428"] = {"description": problems.TITLES["precondition_required"]}


def routes_of(api: FastAPI) -> list[APIRoute]:
    """Every API route of ``api`` under ``/api`` (included routers walked), for the
    authorization matrix; the console's pages have their own table (``entrypoints.web``)."""
    return [r for r in all_routes(api) if r.path.startswith("/api")]


def all_routes(api: FastAPI) -> list[APIRoute]:
    """Every route of ``api``, the API's and the pages', included routers walked."""
    out: list[APIRoute] = []
    pending: list[Any] = list(api.routes)
    while pending:
        route = pending.pop(0)
        if isinstance(route, APIRoute):
            out.append(route)
        router = getattr(route, "original_router", None)
        if router is not None:
            pending.extend(router.routes)
    return out
