"""The console's Operations pages: the outbox and its dead letters, failed deadlines, the
working-day calendar, accounts (the rulebook and template pages are in
:mod:`entrypoints.web.routes_ops_rules`).

Every list is one page at a time, filtered, sorted and exportable (``?format=xlsx``); every
write is a form sent once per form token, answered with a redirect and a message. Who may do
what is the API's policy for the same actions (``entrypoints.web.access``).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import replace
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from entrypoints.decoding import decode_input
from entrypoints.web.listing import Column, list_params, paged, xlsx_response
from entrypoints.web.pages import Page, PageDep, describe
from entrypoints.web.rendering import pick
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound
from workflows import commands as c
from workflows import identity
from workflows import queries_ops_pages as q
from workflows.paging import Paging

router = APIRouter(include_in_schema=False)

MAX_UPLOAD = 1_048_576


def said(page: Page, pair: tuple[str, str] | None) -> str:
    """One language of a (中文, English) pair."""
    if pair is None:
        return ""
    return pair[0] if page.lang == "zh" else pair[1]


def counted(result: Any) -> int:
    """A command's number result as ``page.act`` returns it (``{"count": n}`` once stored)."""
    return int(result["count"]) if isinstance(result, dict) else int(result)


def ids_of(page: Page, name: str = "ids") -> tuple[int, ...]:
    out = []
    for raw in page.fields(name):
        if not raw.isdigit() or len(raw) > 18:
            raise InvalidInput(name, "编号须为正整数 / ids are whole numbers", raw)
        out.append(int(raw))
    return tuple(dict.fromkeys(out))


def carry(text: str) -> str:
    """``text`` for a hidden field that carries it to the next step unchanged (a textarea
    would turn its line ends into CRLF, and a rulebook's version is the hash of its bytes)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def carried(page: Page) -> str:
    """The text a form carries: its ``carried`` field (see :func:`carry`), else ``text``."""
    raw = page.field("carried")
    if not raw:
        return page.field("text")
    try:
        return base64.b64decode(raw.encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        raise InvalidInput(
            "carried", "表单内容已损坏，请重新上传 / the form is damaged; upload again"
        ) from None


async def text_upload(page: Page, name: str) -> tuple[str, str]:
    """The text of an uploaded file ``name`` (read as the CLI reads a file: UTF-8, UTF-16
    with a BOM, GB18030/GBK), else the text the form carries; and the file's name."""
    upload = page.upload(name)
    if upload is None:
        return carried(page), page.field("source")[:100] or "console"
    try:
        raw = await upload.read(MAX_UPLOAD + 1)
    finally:
        await upload.close()
    if len(raw) > MAX_UPLOAD:
        raise InvalidInput(name, "文件不得超过 1 MB / the file must be at most 1 MB")
    filename = (upload.filename or "upload")[:100]
    return decode_input(raw, name, filename), filename


# ---- the hub -------------------------------------------------------------------------------
@router.get("/console/ops", name="web_ops")
def ops_home(page: PageDep) -> HTMLResponse:
    admin = page.principal.role == "admin"
    counts = page.query(q.outbox_counts) if admin else None
    return page.render("console/ops.html", counts=counts, admin=admin)


# ---- the outbox ----------------------------------------------------------------------------
OUTBOX_COLUMNS = (
    Column("id", "编号", "No.", sortable=True, numeric=True),
    Column("status", "状态", "Status", sortable=True),
    Column("message", "通知", "Notice", sortable=True),
    Column("channel", "渠道", "Channel"),
    Column("recipient", "收件人", "Recipient"),
    Column("attempts", "尝试次数", "Attempts", sortable=True, numeric=True),
    Column("error", "失败原因", "Why it failed"),
    Column("created_at", "生成时间", "Queued", sortable=True),
)


@router.get("/console/ops/outbox", name="web_ops_outbox", response_model=None)
def outbox(page: PageDep) -> Response:
    query = page.request.query_params
    params = list_params(query, OUTBOX_COLUMNS, "id")
    if "dir" not in query:
        params = replace(params, descending=True)  # newest first unless asked otherwise
    status = query.get("status", "")
    status = status if status in q.OUTBOX_STATUS else ""
    message = query.get("message", "")
    message = message if message in q.MESSAGES else ""
    rows = page.query(
        q.outbox_page,
        status=status or None,
        message=message or None,
        paging=params.paging,
    )
    if params.export:
        return xlsx_response(
            "outbox",
            OUTBOX_COLUMNS,
            (
                {
                    **r,
                    "status": said(page, r["status_words"]),
                    "message": said(page, r["message_words"]),
                    "channel": said(page, r["channel"]),
                    "recipient": said(page, r["recipient"]),
                    "error": " — ".join(
                        x for x in (said(page, r["error_words"]), r["last_error"] or "") if x
                    ),
                }
                for r in rows
            ),
            page.lang,
        )
    return page.render(
        "console/ops_outbox.html",
        columns=OUTBOX_COLUMNS,
        paged=paged(rows, params),
        counts=page.query(q.outbox_counts),
        status_filter=status,
        message=message,
        statuses=q.OUTBOX_STATUS,
        messages=sorted(q.MESSAGES.items()),
    )


def _retry(page: Page, every: str, command: Any, nothing: str) -> int:
    """Send a retry of the ticked rows (or of all of them when the form says ``every``);
    how many went back in the queue."""
    everything = page.field("all") == every
    ids = () if everything else ids_of(page)
    if not everything and not ids:
        raise InvalidInput("ids", nothing)
    return counted(
        page.act(
            command(
                ids,
                everything,
                actor=page.principal.actor,
                reason=page.field("reason")[:500] or "控制台重试 / retried in the console",
            )
        )
    )


@router.post("/console/ops/outbox/retry", name="web_ops_outbox_retry")
def outbox_retry(page: PageDep) -> Response:
    count = _retry(
        page,
        "dead",
        lambda ids, every, **kw: c.RetryNotices(ids=ids, all_dead=every, **kw),
        "请选择要重试的通知 / choose the notices to retry",
    )
    return page.redirect(
        "/console/ops/outbox?status=pending",
        (
            f"已将 {count} 条通知重新排入发送队列",
            f"{count} notice(s) queued to be sent again",
        ),
    )


# ---- failed deadlines ----------------------------------------------------------------------
DEADLINE_COLUMNS = (
    Column("id", "编号", "No.", sortable=True, numeric=True),
    Column("kind", "期限", "Deadline", sortable=True),
    Column("firm", "企业", "Firm"),
    Column("space", "空间", "Space"),
    Column("due_at", "到期", "Due", sortable=True),
    Column("done_at", "失败时间", "Failed at", sortable=True),
    Column("error", "原因", "Reason"),
)


@router.get("/console/ops/deadlines", name="web_ops_deadlines", response_model=None)
def deadlines(page: PageDep) -> Response:
    query = page.request.query_params
    params = list_params(query, DEADLINE_COLUMNS, "due_at")
    kind = query.get("kind", "")
    kind = kind if kind in q.DEADLINE_KINDS else ""
    rows = page.query(
        q.failed_deadlines,
        space_ids=page.principal.spaces,
        kind=kind or None,
        paging=params.paging,
    )
    if params.export:
        return xlsx_response(
            "failed-deadlines",
            DEADLINE_COLUMNS,
            ({**r, "kind": said(page, r["kind_words"])} for r in rows),
            page.lang,
        )
    return page.render(
        "console/ops_deadlines.html",
        columns=DEADLINE_COLUMNS,
        paged=paged(rows, params),
        kind=kind,
        kinds=sorted(q.DEADLINE_KINDS.items()),
        admin=page.principal.role == "admin",
    )


@router.post("/console/ops/deadlines/retry", name="web_ops_deadlines_retry")
def deadlines_retry(page: PageDep) -> Response:
    count = _retry(
        page,
        "failed",
        lambda ids, every, **kw: c.RetryDeadlines(ids=ids, all_failed=every, **kw),
        "请选择要重试的期限 / choose the deadlines to retry",
    )
    return page.redirect(
        "/console/ops/deadlines",
        (
            f"已将 {count} 个期限放回队列，下次定时任务将处理",
            f"{count} deadline(s) back in the queue for the next sweep",
        ),
    )


# ---- the calendar --------------------------------------------------------------------------
DAY_COLUMNS = (
    Column("day", "日期", "Day"),
    Column("kind", "类型", "Kind"),
    Column("note", "备注", "Note"),
)


@router.get("/console/ops/calendar", name="web_ops_calendar", response_model=None)
def calendar(page: PageDep) -> Response:
    today = page.app.clock.now().date()
    raw = page.request.query_params.get("year", "").strip()
    if raw and not (raw.isdigit() and 1900 < int(raw) < 2200):
        # never another year shown in its place: the parameter and its range are named
        raise InvalidInput(
            "year",
            "年份须为 1901 至 2199 之间的年份 / the year must be from 1901 to 2199",
            raw[:20],
        )
    year = int(raw) if raw else today.year
    days = page.query(q.calendar_days, year=year)
    if page.request.query_params.get("format") == "xlsx":
        kinds = {True: ("上班", "workday"), False: ("休息", "holiday")}
        return xlsx_response(
            f"calendar-{year}",
            DAY_COLUMNS,
            ({**d, "kind": said(page, kinds[d["workday"]])} for d in days),
            page.lang,
        )
    return _calendar_page(page, year, days)


def _calendar_page(
    page: Page,
    year: int | None = None,
    days: Any = None,
    *,
    status: int = 200,
    sent: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
) -> HTMLResponse:
    """The calendar of ``year`` (this year unless named, its days read unless given); a
    refused form comes back with what was sent and its problem beside the field."""
    today = page.app.clock.now().date()
    year = today.year if year is None else year
    if days is None:
        days = page.query(q.calendar_days, year=year)
    years = sorted({*range(today.year - 1, today.year + 4), year})
    return page.render(
        "console/ops_calendar.html",
        status=status,
        sent=sent or {},
        problems=problems or {},
        years=page.query(q.calendar_years, years=years),
        year=year,
        days=days,
        admin=page.principal.role == "admin",
    )


#: The import form's fields as it names them.
IMPORT_LABELS = {"file": ("文件", "File"), "text": ("粘贴的内容", "Pasted text")}


def _parse_day(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(field, "日期格式须为 YYYY-MM-DD / a date as YYYY-MM-DD", raw) from None


def parse_schedule(text: str) -> tuple[c.SetCalendarDay, ...]:
    """``DATE,workday|holiday[,note]`` per line (blank lines and ``#`` comments skipped), as
    ``innospace calendar import`` reads it."""
    days = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split(",", 2)]
        if len(cells) < 2 or cells[1] not in ("workday", "holiday"):
            raise InvalidInput(
                f"第 {number} 行 / line {number}",
                "每行为 日期,workday|holiday[,备注] / each line is DATE,workday|holiday[,note]",
                line[:100],
            )
        days.append(
            c.SetCalendarDay(
                day=_parse_day(cells[0], f"第 {number} 行 / line {number}"),
                workday=cells[1] == "workday",
                note=cells[2][:200] if len(cells) > 2 and cells[2] else None,
            )
        )
    return tuple(days)


@router.post("/console/ops/calendar/import", name="web_ops_calendar_import")
async def calendar_import(page: PageDep) -> Response:
    try:
        text, _ = await text_upload(page, "file")
        days = parse_schedule(text)
        if not days:
            raise InvalidInput("file", "文件中没有任何日期 / the file lists no day")
        result = page.act(
            c.ImportCalendar(
                days=days, complete=page.field("complete") == "yes", actor=page.principal.actor
            )
        )
    except InvalidInput as err:
        # a line's problem names the line ("第 3 行 / line 3"): said in the page's language
        named = IMPORT_LABELS.get(err.field, (pick(err.field, "zh"), pick(err.field, "en")))
        return _calendar_page(
            page,
            status=422,
            sent={"text": page.field("text"), "complete": page.field("complete")},
            problems={"import": describe(err, page.lang, {err.field: named})},
        )
    years = "、".join(str(y) for y in result["years"])
    return page.redirect(
        f"/console/ops/calendar?year={result['years'][0]}",
        (
            f"已导入 {result['days']} 天（{years} 年；上班 {result['workdays']} 天，"
            f"休息 {result['holidays']} 天）",
            f"{result['days']} days imported for {years} ({result['workdays']} workdays, "
            f"{result['holidays']} holidays)",
        ),
    )


#: The one-day form's fields as it names them.
DAY_LABELS = {"day": ("日期", "Day"), "kind": ("类型", "Kind"), "note": ("备注", "Note")}


@router.post("/console/ops/calendar/day", name="web_ops_calendar_day", response_model=None)
def calendar_day(page: PageDep) -> Response:
    kind = page.field("kind")
    try:
        day = _parse_day(page.field("day"), "day")
        if kind not in ("workday", "holiday"):
            raise InvalidInput("kind", "请选择上班或休息 / choose workday or holiday", kind)
        page.act(
            c.SetCalendarDay(
                day=day,
                workday=kind == "workday",
                note=page.field("note")[:200] or None,
                actor=page.principal.actor,
            )
        )
    except InvalidInput as err:
        return _calendar_page(
            page,
            status=422,
            sent={name: page.field(name)[:200] for name in DAY_LABELS},
            problems={err.field: describe(err, page.lang, DAY_LABELS)},
        )
    zh = "上班" if kind == "workday" else "休息"
    return page.redirect(
        f"/console/ops/calendar?year={day.year}",
        (f"{day.isoformat()} 已设为{zh}日", f"{day.isoformat()} is now a {kind}"),
    )


@router.post("/console/ops/calendar/publish", name="web_ops_calendar_publish")
def calendar_publish(page: PageDep) -> Response:
    raw = page.field("year")
    if not raw.isdigit() or not 1900 < int(raw) < 2200:
        raise InvalidInput("year", "年份无效 / not a year", raw)
    year = int(raw)
    page.act(c.PublishCalendarYear(year=year, actor=page.principal.actor))
    return page.redirect(
        f"/console/ops/calendar?year={year}",
        (f"{year} 年节假日安排已确认公布", f"{year}'s schedule is marked published"),
    )


# ---- accounts ------------------------------------------------------------------------------
ACCOUNT_COLUMNS = (
    Column("username", "用户名", "User name", sortable=True),
    Column("display_name", "姓名", "Name"),
    Column("role", "角色", "Role", sortable=True),
    Column("spaces", "授权空间", "Spaces"),
    Column("firm", "所属企业", "Firm"),
    Column("status", "状态", "Status", sortable=True),
    Column("last_login_at", "最近登录", "Last login", sortable=True),
)


def new_password() -> str:
    """A random initial password: 16 characters, easy to read aloud (no 0/O, 1/l/I)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def chosen_password(page: Page) -> tuple[str, bool]:
    """The password the form asks for: the generated one shown on the form, or one typed
    twice; and whether it was generated (then it is shown once more after saving)."""
    if page.field("password_mode") == "typed":
        first, second = page.field("password"), page.field("password_again")
        if first != second:
            raise InvalidInput("password", "两次输入的密码不一致 / the two passwords differ")
        return first, False
    generated = page.field("generated")
    if len(generated) < 12:
        raise InvalidInput("password", "请刷新页面后重试 / reload the page and try again")
    return generated, True


@router.get("/console/ops/accounts", name="web_ops_accounts", response_model=None)
def accounts(page: PageDep) -> Response:
    return _accounts_page(page)


#: The new-account form's fields as it names them (the engine names the firm ``firm``).
ACCOUNT_LABELS = {
    "username": ("用户名", "User name"),
    "display_name": ("姓名", "Display name"),
    "email": ("邮箱", "E-mail"),
    "role": ("角色", "Role"),
    "spaces": ("授权空间", "Spaces"),
    "firm_uscc": ("所属企业统一社会信用代码", "Firm's USCC"),
    "firm": ("所属企业统一社会信用代码", "Firm's USCC"),
    "password": ("密码", "Password"),
}


def _accounts_page(
    page: Page,
    *,
    status: int = 200,
    sent: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
) -> Response:
    """The accounts list and the new-account form (a refused one with what was typed, bar
    the passwords, and its problem beside the field)."""
    query = page.request.query_params
    params = list_params(query, ACCOUNT_COLUMNS, "username")
    role = query.get("role", "")
    role = role if role in q.ROLES else ""
    shown = query.get("status", "")
    shown = shown if shown in q.ACCOUNT_STATUS else ""
    text = query.get("q", "")[:64]
    rows = page.query(
        q.accounts,
        role=role or None,
        status=shown or None,
        text=text or None,
        paging=params.paging,
    )
    if params.export:
        return xlsx_response(
            "accounts",
            ACCOUNT_COLUMNS,
            (
                {
                    **r,
                    "role": said(page, r["role_words"]),
                    "status": said(page, r["status_words"]),
                }
                for r in rows
            ),
            page.lang,
        )
    return page.render(
        "console/ops_accounts.html",
        status=status,
        sent=sent or {},
        problems=problems or {},
        columns=ACCOUNT_COLUMNS,
        paged=paged(rows, params),
        role=role,
        status_filter=shown,
        text=text,
        roles=q.ROLES,
        statuses=q.ACCOUNT_STATUS,
        spaces=page.query(q.space_choices),
        generated=new_password(),
    )


@router.post("/console/ops/accounts", name="web_ops_account_add", response_model=None)
def account_add(page: PageDep) -> Response:
    username = page.field("username").strip().lower()
    role = page.field("role")
    try:
        password, generated = chosen_password(page)
        page.act(
            identity.AddUser(
                username=username,
                display_name=page.field("display_name").strip(),
                role=role,
                password=password,
                space_codes=tuple(page.fields("spaces"))
                if role in ("operator", "viewer", "reviewer")
                else (),
                firm_uscc=page.field("firm_uscc").strip().upper() or None
                if role == "firm"
                else None,
                email=page.field("email").strip() or None,
                actor=page.principal.actor,
            )
        )
    except (InvalidInput, AlreadyExists) as err:
        sent: dict[str, Any] = {
            name: page.field(name)[:200] for name in ("username", "display_name", "email", "role")
        }
        sent |= {"spaces": page.fields("spaces"), "firm_uscc": page.field("firm_uscc")[:18]}
        field = getattr(err, "field", "username")  # AlreadyExists: the user name is taken
        field = "firm_uscc" if field == "firm" else field
        problems = {field: describe(err, page.lang, ACCOUNT_LABELS)}
        return _accounts_page(page, status=422, sent=sent, problems=problems)
    return page.render(
        "console/ops_account_done.html",
        username=username,
        password=password if generated else None,
        added=True,
    )


def _account_action(page: Page, username: str, command: Any, message: tuple[str, str]) -> Response:
    page.act(command)
    return page.redirect("/console/ops/accounts", message)


@router.post("/console/ops/accounts/{username}/disable", name="web_ops_account_disable")
def account_disable(page: PageDep, username: str) -> Response:
    if username == page.principal.username:
        raise InvalidInput("username", "不能停用自己的账户 / you cannot disable your own account")
    return _account_action(
        page,
        username,
        identity.DisableUser(username=username, actor=page.principal.actor),
        (
            f"账户 {username} 已停用，其登录会话已全部结束",
            f"{username} disabled and signed out everywhere",
        ),
    )


@router.post("/console/ops/accounts/{username}/enable", name="web_ops_account_enable")
def account_enable(page: PageDep, username: str) -> Response:
    return _account_action(
        page,
        username,
        identity.EnableUser(username=username, actor=page.principal.actor),
        (f"账户 {username} 已启用（锁定已解除）", f"{username} enabled (lockout lifted)"),
    )


@router.post("/console/ops/accounts/{username}/unlock", name="web_ops_account_unlock")
def account_unlock(page: PageDep, username: str) -> Response:
    result = page.act(identity.UnlockUser(username=username, actor=page.principal.actor))
    # How many lockouts were lifted: the command's count, or as a form token stored it.
    lifted = result.get("count") if isinstance(result, dict) else result
    message = (
        (f"账户 {username} 的登录锁定已解除", f"{username}'s login lockouts lifted")
        if lifted
        else (
            f"账户 {username} 当前没有登录锁定，无需解除",
            f"{username} was not locked out: nothing to lift",
        )
    )
    return page.redirect("/console/ops/accounts", message)


@router.post("/console/ops/accounts/{username}/grant", name="web_ops_account_grant")
def account_grant(page: PageDep, username: str) -> Response:
    space = page.field("space")
    return _account_action(
        page,
        username,
        identity.GrantSpace(username=username, space_code=space, actor=page.principal.actor),
        (f"已为 {username} 授权空间 {space}", f"{username} may now see {space}"),
    )


@router.get("/console/ops/accounts/{username}/password", name="web_ops_account_password_form")
def account_password_form(page: PageDep, username: str) -> HTMLResponse:
    return _password_page(page, username)


def _password_page(
    page: Page, username: str, *, status: int = 200, error: str = ""
) -> HTMLResponse:
    found = page.query(q.accounts, text=username, paging=Paging("username", limit=1000))
    account = next((a for a in found if a["username"] == username), None)
    if account is None:
        raise NotFound("user", username)
    return page.render(
        "console/ops_account_password.html",
        status=status,
        error=error,
        account=account,
        generated=new_password(),
    )


@router.post("/console/ops/accounts/{username}/password", name="web_ops_account_password")
def account_password(page: PageDep, username: str) -> HTMLResponse:
    try:
        password, generated = chosen_password(page)
        page.act(
            identity.SetPassword(username=username, password=password, actor=page.principal.actor)
        )
    except InvalidInput as err:
        # The form again (passwords are never sent back), the problem named in words.
        said = describe(err, page.lang, ACCOUNT_LABELS)
        return _password_page(page, username, status=422, error=said)
    return page.render(
        "console/ops_account_done.html",
        username=username,
        password=password if generated else None,
        added=False,
    )
