"""Signing in and out of the console and portal, the language switch, the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from entrypoints.http.auth import (
    clear_session_cookies,
    from_another_site,
    session_token_of,
    set_session_cookies,
)
from entrypoints.http.deps import app_of, signer_of
from entrypoints.web.pages import LANG_COOKIE, PageDep, language, safe_next
from entrypoints.web.rendering import LANGS, environment
from lifecycle.errors import TooManyAttempts, Unauthorized
from workflows import credentials, identity

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=1024)]


def _login_page(request: Request, *, error: str = "", status: int = 200) -> HTMLResponse:
    lang = language(request)
    html = (
        environment()
        .get_template("login.html")
        .render(
            request=request,
            principal=None,
            lang=lang,
            csrf="",
            flash=[],
            path="/login",
            next=safe_next(request.query_params.get("next")),
            error=error,
        )
    )
    return HTMLResponse(html, status_code=status)


@router.get("/login", name="web_login_form")
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login", name="web_login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Text = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    lang = language(request)
    zh = lang == "zh"
    if from_another_site(request):
        return _login_page(
            request,
            error="不接受来自其他站点的登录" if zh else "a login from another site is refused",
            status=403,
        )
    if not username.strip() or not password:
        return _login_page(
            request,
            error="请输入用户名和密码" if zh else "enter your user name and password",
            status=422,
        )
    app, signer = app_of(request), signer_of(request)
    address = request.client.host if request.client is not None else "unknown"
    from workflows.logins import log_in

    try:
        result: identity.LoginResult = await run_in_threadpool(
            log_in,
            app.service,
            identity.Login(
                username=username.strip(),
                password=password,
                address=address,
                idle_minutes=app.settings.session_idle_minutes,
                max_hours=app.settings.session_max_hours,
                actor=f"login:{username.strip()}"[:100],
            ),
        )
    except TooManyAttempts:
        return _login_page(
            request,
            error="此地址登录失败次数过多，已暂时限制，请稍后再试或联系管理员"
            if zh
            else "too many failed logins from this address: try again later",
            status=429,
        )
    except Unauthorized:
        return _login_page(
            request,
            error="用户名或密码错误，或账号已停用，或因多次失败在此地址暂时锁定"
            f"（{credentials.LOCK_MINUTES} 分钟）"
            if zh
            else "wrong user name or password, or the account is disabled or locked from "
            f"this address for {credentials.LOCK_MINUTES} minutes after repeated failures",
            status=401,
        )
    target = safe_next(next)
    if target in ("/", "/login"):
        target = home_of(result.principal)
    response = RedirectResponse(target, status_code=303)
    previous = None
    try:
        previous = session_token_of(signer, request)
    except Unauthorized:
        previous = None
    if previous is not None and previous != result.session_token:
        await run_in_threadpool(
            app.service.handle,
            identity.Logout(session_token=previous, actor=result.principal.actor),
        )
    set_session_cookies(
        response, request, signer, result.session_token, app.settings.session_max_hours * 3600
    )
    return response


def home_of(principal: identity.Principal) -> str:
    """Where an account lands: firms in the portal, everyone else in the console."""
    if principal.role == "firm":
        return "/portal"
    if principal.role == "reviewer":
        return "/console/applications"
    return "/console"


@router.post("/logout", name="web_logout")
def logout(page: PageDep) -> Response:
    token = session_token_of(signer_of(page.request), page.request)
    if token is not None:
        page.app.service.handle(identity.Logout(session_token=token, actor=page.principal.actor))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response, page.request)
    return response


@router.get("/language/{lang}", name="web_language")
def switch_language(request: Request, lang: str, next: str = "/") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGS:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True, path="/"
        )
    return response


@router.get("/", name="web_home")
def home(page: PageDep) -> Response:
    return RedirectResponse(home_of(page.principal), status_code=303)
