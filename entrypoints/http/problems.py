"""RFC 9457 problem details: every error the API returns, in one shape.

A domain error (:class:`lifecycle.errors.InnospaceError`) gets its status from
``entrypoints.errors.http_status`` — the one place statuses are decided, beside the CLI's exit
codes. The few errors that exist only in HTTP (malformed JSON, a body too large, a missing
``If-Match``, an unexpected exception) are :class:`HttpProblem` with their status here.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from entrypoints.errors import http_status
from lifecycle.errors import (
    InnospaceError,
    InvalidInput,
    StaleTenancy,
    TooManyAttempts,
    Unauthorized,
    bilingual,
)
from lifecycle.validation_words import said
from workflows.forms import FormProblems

log = logging.getLogger("innospace.http")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:innospace:problem:"

#: Titles by problem code, Chinese first.
TITLES = {
    "not_found": "不存在 / Not found",
    "invalid_input": "输入无效 / Invalid input",
    "invalid_rulebook": "规则文件无效 / Invalid rulebook",
    "invalid_template": "模板无效 / Invalid template",
    "transition_not_allowed": "当前状态不允许此操作 / Not allowed in this state",
    "guard_failed": "规则不允许 / Refused by a rule",
    "stale_tenancy": "已被他人修改 / Changed by someone else",
    "already_exists": "已存在 / Already exists",
    "conflict": "冲突 / Conflict",
    "schedule_not_published": "节假日安排未公布 / Holiday schedule not published",
    "calendar_error": "日期无法计算 / Calendar error",
    "integrity_error": "数据完整性错误 / Integrity error",
    "scheduler_error": "调度器错误 / Scheduler error",
    "unauthorized": "未登录或凭据无效 / Unauthorized",
    "too_many_attempts": "尝试过多 / Too many attempts",
    "forbidden": "无权操作 / Forbidden",
    "validation_error": "请求格式无效 / Request validation failed",
    "malformed_json": "JSON 格式错误 / Malformed JSON",
    "body_too_large": "请求体过大 / Request body too large",
    "precondition_required": "缺少 If-Match / Precondition required",
    "idempotency_conflict": "幂等键已用于其他请求 / Idempotency key reused",
    "method_not_allowed": "方法不允许 / Method not allowed",
    "unsupported_media_type": "不支持的内容类型 / Unsupported media type",
    "internal_error": "内部错误 / Internal server error",
    "database_unavailable": "数据库不可用 / Database unavailable",
}


class FieldError(BaseModel):
    """One refused field: where (``field``, a dotted path in the body or a parameter name)
    and why (``message``)."""

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``); more members may follow
    (``current_version`` on a 412, ``retry_after`` on a 429, the error's context)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    errors: list[FieldError] | None = None


class HttpProblem(Exception):
    """An error that exists only in HTTP (not a domain error): its status is part of it."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": TITLES.get(code, code),
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else None,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    for key, value in extra.items():
        body.setdefault(key, value)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InnospaceError)
    from db.engine import redact_passwords

    status = http_status(exc)
    context = {k: v for k, v in exc.to_dict().items() if k not in ("error", "message")}
    headers: dict[str, str] = {}
    errors = None
    if isinstance(exc, FormProblems):  # every problem of a profile or figures, each by path
        errors = [
            {
                "field": p.field,
                # a sheet's problem names its row and column too (``Problem.line``)
                "message": p.line() if p.row is not None else f"{p.expected_zh} / {p.expected_en}",
            }
            for p in exc.problems
        ]
    elif isinstance(exc, InvalidInput):
        errors = [{"field": str(exc.field), "message": bilingual(str(exc.rule))}]
    if isinstance(exc, StaleTenancy):
        context["current_version"] = exc.context.get("actual")
        if exc.context.get("actual") is not None:
            headers["ETag"] = f'"{exc.context["actual"]}"'
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="innospace"'
    if status >= 500:
        log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc.message)
    return problem_response(
        request,
        status,
        exc.code,
        redact_passwords(exc.message),
        errors=errors,
        headers=headers,
        **context,
    )


async def on_http_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HttpProblem)
    return problem_response(
        request,
        exc.status,
        exc.code,
        exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        **exc.extra,
    )


def _path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """``("body", "figures", 0)`` as ``figures[0]``; a parameter by its name."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(
            request,
            400,
            "malformed_json",
            "请求体不是有效的 JSON / the request body is not valid JSON",
        )
    fields = [{"field": _path(e.get("loc", ())), "message": said(e)} for e in errors]
    shown = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return problem_response(
        request, 422, "validation_error", f"请求无效 / invalid request: {shown}", errors=fields
    )


#: Starlette's answers for what no route handles, Chinese first.
STARLETTE_WORDS = {
    "Not Found": "没有这个地址 / Not Found",
    "Method Not Allowed": "此地址不接受该请求方法 / Method Not Allowed",
    "Unsupported Media Type": "不支持的请求体类型 / Unsupported Media Type",
    "There was an error parsing the body": "无法解析请求体 / There was an error parsing the body",
}


async def on_starlette_http(request: Request, exc: Exception) -> JSONResponse:
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}
    code = codes.get(
        exc.status_code, "invalid_input" if exc.status_code < 500 else "internal_error"
    )
    # Starlette's own words are English ("Method Not Allowed"): said in Chinese first.
    detail = STARLETTE_WORDS.get(str(exc.detail), str(exc.detail))
    return problem_response(request, exc.status_code, code, detail, headers=dict(exc.headers or {}))


async def on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database cannot be reached (the CLI's exit 10): 503, try again shortly."""
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        request,
        503,
        "database_unavailable",
        "数据库暂不可用，请稍后重试 / the database is unavailable; try again shortly",
        headers={"Retry-After": "5"},
    )


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered with a problem that shows none of it."""
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        500,
        "internal_error",
        "服务器内部错误，已记录 / an internal error occurred and was logged",
    )


#: What every route may answer besides its success (for the OpenAPI document).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": TITLES[code]}
    for status, code in (
        (400, "malformed_json"),
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not_found"),
        (409, "conflict"),
        (413, "body_too_large"),
        (422, "validation_error"),
        (429, "too_many_attempts"),
        (500, "internal_error"),
        (503, "scheduler_error"),
    )
}
