"""What every console and portal page shares: who is asking, the CSRF and form tokens,
rendering, flash messages and errors as pages.

- **Signing in.** Pages use the browser session of the API (the signed ``innospace_session``
  cookie); a page asked for without one redirects to ``/login?next=…``.
- **CSRF.** Every POST carries the synchronizer token, an HMAC of the session token
  (:meth:`Signer.csrf`), in the form field ``csrf_token`` or, from htmx, the header
  ``X-CSRF-Token``. A missing or wrong token is refused before anything runs.
- **Double submits.** Every form carries a fresh ``form_token``; the command runs through the
  API's idempotency store keyed by it (:class:`workflows.idempotency.Idempotent`), so a form
  sent twice acts once and the second send gets the first result.
- **Errors** are the engine's own, with the status of the one mapping
  (:func:`entrypoints.errors.http_status`), shown as a page in the page's language.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from entrypoints.http.auth import CSRF_HEADER, SESSION_COOKIE, Signer
from entrypoints.http.deps import app_of, authorize, signer_of
from entrypoints.http.policy import Rule
from entrypoints.web.access import page_rule
from entrypoints.web.rendering import LANGS, environment, pick
from lifecycle.errors import (
    Forbidden,
    GuardFailed,
    InnospaceError,
    InvalidInput,
    NotFound,
    TransitionNotAllowed,
    Unauthorized,
    bilingual,
    rule_words,
)
from lifecycle.table import STATE_LABELS
from lifecycle.validation_words import said
from workflows import identity
from workflows.idempotency import Idempotent, KeyInUse, Stored

if TYPE_CHECKING:
    from entrypoints.bootstrap import App

LANG_COOKIE = "innospace_lang"
FLASH_COOKIE = "innospace_flash"
CSRF_FIELD = "csrf_token"
FORM_TOKEN_FIELD = "form_token"
SAFE_METHODS = frozenset({"GET", "HEAD"})


class LoginRequired(Exception):
    """A page was asked for without a valid session: redirect to the login page."""


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGS else "zh"


def safe_next(target: str | None) -> str:
    """A redirect target after login: a path on this site only (never ``//host`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@dataclass
class Page:
    """The request of one page: the application, the account, the language, the form."""

    app: App
    principal: identity.Principal
    request: Request
    lang: str
    csrf: str
    form: Mapping[str, Any] = field(default_factory=dict)
    flash: list[dict[str, str]] = field(default_factory=list)

    # reading ---------------------------------------------------------------------------
    @property
    def firm_id(self) -> int:
        """The firm of a firm user's account (a portal page is a firm's); 404 for any other."""
        firm_id = self.principal.firm_id
        if firm_id is None:
            raise NotFound("firm", self.principal.username)
        return int(firm_id)

    def query(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return self.app.service.query(fn, *args, **kwargs)

    def say(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def field(self, name: str, default: str = "") -> str:
        """A text field of the submitted form ("" when absent; uploads are not text)."""
        value = self.form.get(name, default)
        return value if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        getlist = getattr(self.form, "getlist", None)
        if getlist is None:
            value = self.form.get(name)
            return [value] if isinstance(value, str) else []
        return [v for v in getlist(name) if isinstance(v, str)]

    def upload(self, name: str) -> UploadFile | None:
        value = self.form.get(name)
        return value if isinstance(value, UploadFile) and value.filename else None

    # acting ----------------------------------------------------------------------------
    def act(self, command: Any) -> Any:
        """Send ``command``; once per form token (a double submit gets the first result)."""
        token = self.field(FORM_TOKEN_FIELD)
        if not token:
            return self.app.service.handle(command)
        if len(token) > 100:
            raise InvalidInput(FORM_TOKEN_FIELD, "表单令牌无效 / the form token is not valid")
        wrapped = Idempotent(
            key=f"form:{token}",
            owner=f"{self.principal.via}:{self.principal.account_id}:web"[:100],
            request=f"POST {self.request.url.path}"[:300],
            body_sha256="form",
            status=200,
            command=command,
            actor=self.principal.actor,
        )
        try:
            stored: Stored = self.app.service.handle(wrapped)
        except KeyInUse:
            raise InvalidInput(
                FORM_TOKEN_FIELD,
                "表单正在提交，请勿重复提交 / this form is being sent already; send it once",
            ) from None
        return stored.body

    # answering -------------------------------------------------------------------------
    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        html = (
            environment()
            .get_template(template)
            .render(
                request=self.request,
                principal=self.principal,
                lang=self.lang,
                csrf=self.csrf,
                form_token=secrets.token_urlsafe(16),
                flash=self.flash,
                path=self.request.url.path,
                query=self.request.query_params,
                **context,
            )
        )
        response = HTMLResponse(html, status_code=status)
        if self.flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def redirect(self, url: str, message: tuple[str, str] | None = None) -> Response:
        """303 to ``url`` (a path on this site), with a message shown on the next page."""
        response = RedirectResponse(safe_next(url), status_code=303)
        if message is not None:
            set_flash(response, self.request, message)
        return response


def set_flash(response: Response, request: Request, message: tuple[str, str]) -> None:
    signer: Signer = request.app.state.signer
    value = URLSafeSerializer(signer.secret, salt="innospace.flash").dumps(list(message))
    response.set_cookie(
        FLASH_COOKIE, str(value), max_age=60, httponly=True, samesite="lax", path="/"
    )


def _flash(request: Request, lang: str) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    signer: Signer = request.app.state.signer
    try:
        zh, en = URLSafeSerializer(signer.secret, salt="innospace.flash").loads(raw)
    except (BadSignature, ValueError, TypeError):
        return []
    return [{"kind": "ok", "text": str(zh if lang == "zh" else en)}]


def _session(app: App, signer: Signer, request: Request) -> tuple[identity.Principal, str]:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise LoginRequired()
    try:
        token = signer.session_token(cookie)
        principal: identity.Principal = app.service.query(identity.principal_for_session, token)
    except Unauthorized:
        raise LoginRequired() from None
    if identity.needs_touch(principal, app.clock.now()):
        app.service.handle(identity.TouchSession(session_token=token))
    return principal, token


def _check_csrf(signer: Signer, request: Request, form: Mapping[str, Any], token: str) -> None:
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD) or ""
    if not isinstance(sent, str) or not hmac.compare_digest(sent, signer.csrf(token)):
        raise Forbidden(
            "表单已过期或来源不明（CSRF 令牌缺失或错误），请刷新页面后重试 / the form has expired "
            "or did not come from this site (missing or wrong CSRF token); reload the page",
            reason="csrf",
        )


async def page(request: Request) -> AsyncIterator[Page]:
    """The dependency of every signed-in page: session, the page's rule, CSRF for writes.
    Uploaded files of the form are closed when the request is done."""
    route = request.scope.get("route")
    name = getattr(route, "name", "")
    rule: Rule | None = page_rule(name)
    if rule is None:
        raise Forbidden(
            f"页面 {name} 没有授权规则 / page {name} has no authorization rule", route=name
        )
    app, signer = app_of(request), signer_of(request)
    lang = language(request)
    form: FormData | None = None
    if request.method not in SAFE_METHODS:
        form = await request.form(max_files=5, max_fields=400)
    try:
        principal, token = await run_in_threadpool(_session, app, signer, request)
        if request.method not in SAFE_METHODS:
            _check_csrf(signer, request, form or {}, token)
        await run_in_threadpool(authorize, app.service.query, principal, rule, request)
        yield Page(
            app=app,
            principal=principal,
            request=request,
            lang=lang,
            csrf=signer.csrf(token),
            form=form if form is not None else {},
            flash=_flash(request, lang),
        )
    finally:
        if form is not None:
            await form.close()


PageDep = Annotated[Page, Depends(page)]


def login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method not in SAFE_METHODS:
        target = request.headers.get("referer", "/") or "/"
        target = "/" if "://" in target else target
    return RedirectResponse(f"/login?next={quote(safe_next(target))}", status_code=303)


def error_page(request: Request, status: int, message: str, *, title: str = "") -> HTMLResponse:
    """An error as a page in the request's language (no traceback, no Python value)."""
    lang = language(request)
    html = (
        environment()
        .get_template("error.html")
        .render(
            request=request,
            principal=None,
            lang=lang,
            csrf="",
            flash=[],
            path=request.url.path,
            status=status,
            title=pick(title, lang) if title else "",
            message=pick(message, lang),
        )
    )
    return HTMLResponse(html, status_code=status)


def confirm_page(
    page: Page,
    *,
    action: str,
    title: tuple[str, str],
    what: list[tuple[str, str]],
    notified: tuple[str, str],
    fields: Mapping[str, str | list[str]],
    back: str,
) -> HTMLResponse:
    """The console's confirmation step before an irreversible action: what will happen, who
    is told, and the same fields again (a list value as one hidden field per item)."""
    hidden: list[tuple[str, str]] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            hidden.append((name, item))
    return page.render(
        "console/exit_confirm.html",
        action=action,
        title=title,
        what=what,
        notified=notified,
        hidden=hidden,
        back=back,
    )


#: What the pages call the fields many forms share, when a form names them no other way.
COMMON_FIELDS: dict[str, tuple[str, str]] = {
    "year": ("年份", "Year"),
    "to_year": ("截止年份", "To year"),
    "period": ("考核年度", "Year reviewed"),
    "space": ("空间", "Space"),
    "day": ("日期", "Day"),
    "attachments": ("附件", "Attachments"),
    "file": ("文件", "File"),
    "reason": ("理由", "Reason"),
    "note": ("备注", "Note"),
    "username": ("用户名", "User name"),
    "role": ("角色", "Role"),
}


def describe(
    exc: InnospaceError, lang: str, labels: Mapping[str, tuple[str, str]] | None = None
) -> str:
    """An engine error in words: for bad input, the field it names and the rule. ``labels``:
    the form's fields by name (中文, English), so the field is named as the form names it,
    not by its code."""
    if isinstance(exc, NotFound):
        # The same words whatever the record: a page never confirms what exists elsewhere.
        return pick("未找到该记录，或您无权查看 / no such record, or not yours to see", lang)
    if isinstance(exc, InvalidInput):
        rule = pick(bilingual(exc.rule), lang)
        # A field within a record ("benefit.amount_yuan") by its form's name for the part;
        # a field the form does not name by the words every page uses for it.
        known = {**COMMON_FIELDS, **(labels or {})}
        part = exc.field.rsplit(".", 1)[-1]
        zh, en = known.get(exc.field) or known.get(part) or (exc.field, exc.field)
        return f"{zh}：{rule}" if lang == "zh" else f"{en}: {rule}"
    if isinstance(exc, GuardFailed):
        # The rule's whole text: its halves are not always "中文 / English" (a window's
        # refusal names the window, its end and the waiver in turn), and cutting it at the
        # first " / " showed an English half and lost the reason.
        # An English rule is said by its Chinese (RULE_WORDS) on a Chinese page.
        if lang == "zh":
            return f"规则不允许此操作：{rule_words(exc.rule) or exc.rule}"
        return f"Refused by a rule: {exc.rule}"
    if isinstance(exc, TransitionNotAllowed):
        zh_state, en_state = STATE_LABELS.get(exc.state, (exc.state, exc.state))
        return (
            f"当前状态「{zh_state}」不允许此操作，页面已过期，请刷新后重试"
            if lang == "zh"
            else f"Not allowed while the tenancy is {en_state}: reload the page and try again"
        )
    return pick(exc.message, lang)


def html_errors(api: Any) -> None:
    """Errors on pages (any path outside ``/api/``) become pages: each problem handler of the
    API is wrapped, so the status still comes from the one mapping."""
    for kind, handler in list(api.exception_handlers.items()):
        api.add_exception_handler(kind, _page_or_problem(handler))
    api.add_exception_handler(LoginRequired, _on_login_required)


async def _on_login_required(request: Request, exc: Exception) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return login_redirect(request)


def _refused_request(exc: RequestValidationError) -> tuple[int, str]:
    """A page's address or form that does not parse, as a person reads it: an id in the
    address that cannot be one (``/console/tenancies/-1``) is a record not found, as any
    other id not theirs; a field that is wrong is named, with its rule."""
    errors = list(exc.errors())
    if errors and all(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
        return 404, "未找到该记录，或您无权查看 / no such record, or not yours to see"
    zh: list[str] = []
    en: list[str] = []
    for e in errors:
        name = str(tuple(e.get("loc", ("",)))[-1])
        words = COMMON_FIELDS.get(name, (name, name))
        rule_zh, _, rule_en = said(e).partition(" / ")
        zh.append(f"{words[0]}：{rule_zh}")
        en.append(f"{words[1]}: {rule_en or rule_zh}")
    return 422, f"请求无效：{'；'.join(zh)} / invalid request: {'; '.join(en)}"


def _page_or_problem(handler: Any) -> Any:
    import json

    async def either(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/api":
            response: Response = await handler(request, exc)
            return response
        if isinstance(exc, Unauthorized):
            return await _on_login_required(request, exc)
        response = await handler(request, exc)
        body = json.loads(bytes(response.body))
        lang = language(request)
        message = describe(exc, lang) if isinstance(exc, InnospaceError) else body.get("detail")
        if response.status_code == 404 and not isinstance(exc, InnospaceError):
            message = "页面不存在 / there is no such page"
        if isinstance(exc, RequestValidationError):
            status, message = _refused_request(exc)
            response.status_code = status
            if status == 404:
                body["title"] = "未找到 / Not found"
        if request.headers.get("hx-request"):
            fragment = (
                environment()
                .get_template("partials/error.html")
                .render(lang=lang, message=pick(message or "", lang))
            )
            return HTMLResponse(
                fragment,
                status_code=200,
                headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"},
            )
        return error_page(
            request, response.status_code, str(message or ""), title=str(body.get("title", ""))
        )

    return either
