"""``/api/session``: log in (a session cookie), log out, who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from entrypoints.http.auth import (
    Signer,
    clear_session_cookies,
    from_another_site,
    session_token_of,
    set_session_cookies,
)
from entrypoints.http.deps import CtxDep, app_of, signer_of
from entrypoints.http.problems import PROBLEM_JSON, HttpProblem
from lifecycle.errors import Unauthorized
from workflows import identity

router = APIRouter(prefix="/api/session", tags=["session 会话"])

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
Secret = Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[^\x00]*$")]


class LoginBody(BaseModel):
    """用户名与密码 / user name and password."""

    model_config = ConfigDict(extra="forbid")
    username: Name
    password: Secret


class Account(BaseModel):
    account_id: int | None
    username: str
    display_name: str
    role: str
    space_ids: list[int]
    firm_id: int | None
    via: str


class SessionOut(BaseModel):
    account: Account
    csrf_token: str | None = Field(
        default=None,
        description="在 X-CSRF-Token 头中回传 / send back in the X-CSRF-Token header",
    )
    expires_at: str | None = None


def account_of(p: identity.Principal) -> Account:
    return Account(
        account_id=p.account_id,
        username=p.username,
        display_name=p.display_name,
        role=p.role,
        space_ids=sorted(p.space_ids),
        firm_id=p.firm_id,
        via=p.via,
    )


_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/LoginBody"}},
            "application/x-www-form-urlencoded": {
                "schema": {"$ref": "#/components/schemas/LoginBody"}
            },
        },
    }
}


@router.post(
    "",
    name="session_login",
    response_model=SessionOut,
    summary="登录 / log in",
    description="以用户名和密码登录，设置会话 Cookie（HttpOnly、SameSite=Lax，https 时 Secure）"
    "和 CSRF Cookie。连续失败将锁定账号（答复与密码错误相同：401）；同一地址失败过多：429。 / "
    "Log in with a user name and password: sets the session cookie (HttpOnly, SameSite=Lax, "
    "Secure over https) and the CSRF cookie. Repeated failures lock the account (answered "
    "401, as a wrong password); too many failures from one address: 429.",
    openapi_extra=_LOGIN_BODY,
)
async def login(request: Request, response: Response) -> SessionOut:
    if from_another_site(request):
        # Another site's form posting here would log the browser in as someone the other
        # site chose (login CSRF); a browser says where a request came from.
        raise HttpProblem(
            403,
            "forbidden",
            "不接受来自其他站点的登录请求 / a login posted from another site is refused",
            reason="cross_site_login",
        )
    body = await _login_body(request)
    app, signer = app_of(request), signer_of(request)
    settings = app.settings
    address = request.client.host if request.client is not None else "unknown"
    from starlette.concurrency import run_in_threadpool

    from workflows.logins import log_in

    # The password is checked in the thread, outside any write transaction (log_in).
    result: identity.LoginResult = await run_in_threadpool(
        log_in,
        app.service,
        identity.Login(
            username=body.username,
            password=body.password,
            address=address,
            idle_minutes=settings.session_idle_minutes,
            max_hours=settings.session_max_hours,
            actor=f"login:{body.username}"[:100],
        ),
    )
    previous = _previous_session(signer, request)
    if previous is not None and previous != result.session_token:
        # The session the browser held before is ended: one browser, one session.
        await run_in_threadpool(
            app.service.handle,
            identity.Logout(session_token=previous, actor=result.principal.actor),
        )
    max_age = settings.session_max_hours * 3600
    csrf = set_session_cookies(response, request, signer, result.session_token, max_age)
    return SessionOut(
        account=account_of(result.principal),
        csrf_token=csrf,
        expires_at=result.expires_at.isoformat(),
    )


def _previous_session(signer: Signer, request: Request) -> str | None:
    """The session token of the cookie the request came with (None: none, or forged)."""
    try:
        return session_token_of(signer, request)
    except Unauthorized:
        return None


async def _login_body(request: Request) -> LoginBody:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/x-www-form-urlencoded":
            form = await request.form()
            return LoginBody.model_validate({k: v for k, v in form.items()})
        if kind == "application/json":
            return LoginBody.model_validate_json(await request.body())
    except ValidationError as err:
        from fastapi.exceptions import RequestValidationError

        if any(e.get("type") == "json_invalid" for e in err.errors()):
            raise HttpProblem(
                400, "malformed_json", "请求体不是有效的 JSON / the request body is not valid JSON"
            ) from None
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in err.errors()]
        ) from None
    raise HttpProblem(
        415,
        "unsupported_media_type",
        "须为 application/json 或表单 / send application/json or a form",
    )


@router.delete(
    "",
    name="session_logout",
    status_code=204,
    response_class=Response,
    summary="退出登录 / log out",
    description="结束当前会话并清除 Cookie / end this session and clear its cookies.",
)
def logout(ctx: CtxDep, response: Response) -> Response:
    token = session_token_of(signer_of(ctx.request), ctx.request)
    if token is not None:
        ctx.handle(identity.Logout(session_token=token, actor=ctx.actor))
    out = Response(status_code=204)
    clear_session_cookies(out, ctx.request)
    return out


@router.get(
    "",
    name="session_whoami",
    response_model=SessionOut,
    summary="当前账号 / who am I",
    description="当前会话或令牌所代表的账号 / the account this session or token acts as.",
)
def whoami(ctx: CtxDep) -> SessionOut:
    return SessionOut(account=account_of(ctx.principal))


__all__ = ["PROBLEM_JSON", "router"]
