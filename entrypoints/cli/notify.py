"""Notification commands: the outbox (list, retry, relay), the inbox, message templates.

    innospace outbox list [--status pending|sent|dead] [--limit N] [--json]
    innospace outbox retry [ID ...] [--all-dead]
    innospace outbox relay [--json]
    innospace inbox FIRM [--unread] [--mark-read] [--body] [--json]
    innospace inbox --staff [--audience manager|operators] [...]
    innospace templates list|check|preview|set|history

Every command reads and writes through the composition root (``get_app()``); errors are
``lifecycle.errors`` types, mapped to exit codes in ``entrypoints.errors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.common import Actor, Json, Reason, app, emit, get_app, read_file
from entrypoints.cli.wording import code_words, local_time
from entrypoints.lazy import lazy
from lifecycle.errors import InvalidInput, InvalidTemplate

if TYPE_CHECKING:
    from notifications import catalog, formatting, outbox, render
    from notifications import overrides as checks
    from notifications.render import RenderedMessage
    from workflows import commands as c
    from workflows import queries_ops
else:
    catalog, formatting = lazy("notifications.catalog"), lazy("notifications.formatting")
    outbox, checks = lazy("notifications.outbox"), lazy("notifications.overrides")
    render = lazy("notifications.render")
    queries_ops = lazy("workflows.queries_ops")
    c = lazy("workflows.commands")

outbox_app = typer.Typer(
    help="发件箱 / outbox: queued notices, dead letters, retries", no_args_is_help=True
)
templates_app = typer.Typer(
    help="消息模板 / message templates (files and operator overrides)", no_args_is_help=True
)
app.add_typer(outbox_app, name="outbox")
app.add_typer(templates_app, name="templates")

Locale = Annotated[str, typer.Option("--locale", help="zh-CN | en")]


def _locale(value: str) -> str:
    if value not in formatting.LOCALES:
        raise InvalidInput("locale", f"must be one of {', '.join(formatting.LOCALES)}", value)
    return value


def _part(value: str | None) -> str | None:
    if value is not None and value not in catalog.PARTS:
        raise InvalidInput("part", f"must be one of {', '.join(catalog.PARTS)}", value)
    return value


def _audience(value: str | None) -> str | None:
    if value is not None and value not in catalog.AUDIENCES:
        raise InvalidInput("audience", f"must be one of {', '.join(catalog.AUDIENCES)}", value)
    return value


def _read_source(path: str) -> str:
    return read_file(path, "file")


def _short(text: str | None, width: int = 100) -> str:
    one_line = " ".join((text or "").split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


# ---- outbox ---------------------------------------------------------------------------------
@outbox_app.command("list")
def outbox_list_cmd(
    status: Annotated[
        str | None,
        typer.Option(help="pending | sent | dead (dead letters: delivery gave up; see last error)"),
    ] = None,
    limit: Annotated[int, typer.Option(help="最多显示 / at most this many rows")] = 100,
    as_json: Json = False,
) -> None:
    """列出发件箱 / list outbox rows, newest first, with their last error."""
    if status is not None and status not in outbox.STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(outbox.STATUSES)}", status)
    if limit < 1:
        raise InvalidInput("limit", "must be at least 1", limit)
    rows = get_app().service.query(queries_ops.outbox_rows, status=status, limit=limit)
    if as_json:
        emit(rows, True)
        return
    if not rows:
        if status is None:
            typer.echo("（发件箱为空 / no outbox rows）")
        else:
            said = code_words("OUTBOX_STATUS", status)
            typer.echo(f"（没有状态为{said}的通知 / no {status} outbox rows）")
        return
    lines = []
    for r in rows:
        when = r["sent_at"] if r["status"] == "sent" else r["next_attempt_at"]
        lines.append(
            f"#{r['id']:<6} {r['status']:<8} tries={r['attempts']:<2} "
            f"{r['message']:<24} {r['audience']:<9} firm={r['firm_id'] or '—'} "
            f"tenancy={r['tenancy_id'] or '—'} {local_time(when)}"
        )
        if r["last_error"]:
            lines.append(f"         last error: {_short(r['last_error'], 160)}")
    typer.echo("\n".join(lines))


@outbox_app.command("retry")
def outbox_retry_cmd(
    ids: Annotated[list[int] | None, typer.Argument(help="发件箱编号 / outbox ids")] = None,
    all_dead: Annotated[
        bool, typer.Option("--all-dead", help="重试全部死信 / retry every dead letter")
    ] = False,
    actor: Actor = "operator",
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """重新投递 / make dead (or waiting) rows due now with a fresh attempt budget."""
    count: int = get_app().service.handle(
        c.RetryNotices(ids=tuple(ids or ()), all_dead=all_dead, actor=actor, reason=reason)
    )
    emit(
        {"queued": count},
        as_json,
        f"{count} message(s) queued for delivery; they go out on the next relay pass "
        "(innospace outbox relay, innospace tick or the scheduler)",
    )


@outbox_app.command("relay")
def outbox_relay_cmd(as_json: Json = False) -> None:
    """立即投递一轮 / run one relay pass now (in-app inbox, and e-mail if SMTP is set up)."""
    a = get_app()
    report = a.relay().run_once().to_dict()
    report["smtp"] = bool(a.settings.smtp_host)
    note = (
        ""
        if report["smtp"]
        else " (SMTP not configured — set INNOSPACE_SMTP_HOST to send e-mail; in-app inbox only)"
    )
    emit(
        report,
        as_json,
        f"领取 {report['claimed']} · 送达 {report['delivered']} · 重试 {report['retried']} · "
        f"放弃 {report['dead']}，用时 {report['seconds']:.3f} 秒 / claimed {report['claimed']} · "
        f"delivered {report['delivered']} · retried {report['retried']} · dead {report['dead']} "
        f"in {report['seconds']:.3f} s{note}",
    )


# ---- inbox ----------------------------------------------------------------------------------
@app.command("inbox")
def inbox_cmd(
    firm: Annotated[
        str | None, typer.Argument(help="企业编号或统一社会信用代码 / firm id or USCC")
    ] = None,
    staff: Annotated[
        bool,
        typer.Option("--staff", help="运营/客户经理消息 / the staff inbox (managers, operators)"),
    ] = False,
    audience: Annotated[str | None, typer.Option(help="with --staff: manager | operators")] = None,
    unread: Annotated[bool, typer.Option("--unread", help="仅未读 / unread only")] = False,
    mark: Annotated[
        bool, typer.Option("--mark-read", help="将列出的消息标为已读 / mark the listed items read")
    ] = False,
    body: Annotated[bool, typer.Option("--body", help="显示正文 / print the bodies")] = False,
    limit: Annotated[int, typer.Option(help="最多显示 / at most this many items")] = 200,
    as_json: Json = False,
) -> None:
    """站内消息 / a firm's in-app inbox (or the staff inbox with --staff), newest first."""
    if staff == (firm is not None):
        raise InvalidInput("firm", "give a firm id or USCC, or --staff (not both)", firm)
    if audience is not None and not staff:
        raise InvalidInput("audience", "only applies with --staff", audience)
    if _audience(audience) == "firm":
        raise InvalidInput("audience", "with --staff: manager or operators", audience)
    if limit < 1:
        raise InvalidInput("limit", "must be at least 1", limit)

    service = get_app().service
    listed = service.query(
        queries_ops.inbox, firm=firm, audience=audience, unread_only=unread, limit=limit
    )
    marked = 0
    if mark:
        ids = tuple(i["id"] for i in listed["items"])
        marked = service.handle(c.MarkInboxRead(item_ids=ids, firm_id=listed["firm_id"]))
        now = get_app().clock.now().isoformat()
        for item in listed["items"]:  # shown as they now are: read
            item["read_at"] = item["read_at"] or now
        listed["unread"] = service.query(
            queries_ops.unread_count, firm_id=listed["firm_id"], audience=audience
        )
    result = {
        "firm": listed["firm"],
        "unread": listed["unread"],
        "marked_read": marked,
        "items": listed["items"],
    }
    if as_json:
        emit(result, True)
        return
    owner = result["firm"]
    head = (
        f"{owner['name']} ({owner['uscc']})"
        if "name" in owner
        else f"员工消息 / staff inbox ({owner['staff']})"
    )
    lines = [
        f"{head}: {len(result['items'])} 条，未读 {result['unread']} 条"
        + (f"，已标为已读 {result['marked_read']} 条" if mark else "")
        + f" / {len(result['items'])} item(s), {result['unread']} unread"
        + (f", {result['marked_read']} marked read" if mark else "")
    ]
    for i in result["items"]:
        flag = "未读" if i["read_at"] is None else "已读"
        lines.append(
            f"#{i['id']:<6} [{flag}] {local_time(i['created_at'])} {i['message']:<24} "
            f"{i['subject']}"
        )
        if body:
            lines.extend(["", i["body"].rstrip(), ""])
    typer.echo("\n".join(lines))


# ---- templates ------------------------------------------------------------------------------
@templates_app.command("list")
def templates_list(as_json: Json = False) -> None:
    """消息目录 / the message catalog: names, audiences, legal notices."""
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for s in catalog.CATALOG.values():
        legal = "when adverse" if callable(s.legal) else ("yes" if s.legal else "no")
        audiences = sorted(s.audiences)
        rows.append({"name": s.key, "audiences": audiences, "legal": legal})
        note = {"no": "", "yes": "legal notice"}.get(legal, f"legal notice ({legal})")
        lines.append(f"{s.key:<26} {','.join(audiences):<22} {note}".rstrip())
    emit(rows, as_json, "\n".join(lines))


@templates_app.command("check")
def templates_check(as_json: Json = False) -> None:
    """检查模板 / render every message, audience and sample in every locale, with the stored
    overrides; exit 2 listing the problems if any."""
    a = get_app()
    overrides = a.service.query(queries_ops.template_overrides)
    problems = checks.check_templates(a.renderer, overrides)
    checked = {
        "messages": len(catalog.CATALOG),
        "locales": list(formatting.LOCALES),
        "overrides": len(overrides),
    }
    if as_json:
        emit({"ok": not problems, "checked": checked, "problems": problems}, True)
    elif problems:
        typer.echo("\n".join(problems))
    else:
        typer.echo(
            f"模板检查通过：{checked['messages']} 类通知 × {len(formatting.LOCALES)} 种语言，"
            f"{checked['overrides']} 处自定义 / templates OK: {checked['messages']} messages × "
            f"{len(formatting.LOCALES)} locales, {checked['overrides']} override(s)"
        )
    if problems:
        raise InvalidTemplate("templates", f"{len(problems)} problem(s) found")


def _parts(rendered: RenderedMessage, part: str | None) -> dict[str, str]:
    full = {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}
    return full if part is None else {part: full[part]}


@templates_app.command("preview")
def templates_preview(
    name: str,
    locale: Locale = "zh-CN",
    audience: Annotated[
        str | None, typer.Option(help="firm | manager | operators (default: the message's first)")
    ] = None,
    part: Annotated[
        str | None, typer.Option(help="subject | text | html (default: subject and text)")
    ] = None,
    sample: Annotated[int, typer.Option(help="样例序号 / which sample context, from 1")] = 1,
    file: Annotated[
        str | None,
        typer.Option(
            help="试用未保存的模板 / preview this file as the --part override (nothing stored)"
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """预览 / render a message against its sample context, with the current overrides."""
    message = catalog.spec(name)
    loc, chosen, aud = _locale(locale), _part(part), _audience(audience)
    count = len(message.variant(aud or next(iter(message.variants))).samples)
    if not 1 <= sample <= count:
        raise InvalidInput("sample", f"must be 1..{count} for {name}", sample)
    if file is not None and chosen is None:
        raise InvalidInput("part", "--file needs --part: which part the file replaces")
    a = get_app()
    overrides = dict(a.service.query(queries_ops.template_overrides))
    if file is not None and chosen is not None:
        current = overrides.get((name, loc, chosen))
        revision = (current.revision if current else 0) + 1
        overrides[(name, loc, chosen)] = render.Override(
            name, loc, chosen, revision, _read_source(file)
        )
    rendered = checks.preview(
        a.renderer, name, loc, audience=aud, sample=sample - 1, overrides=overrides
    )
    shown = _parts(rendered, chosen)
    if as_json:
        emit(shown, True)
    elif chosen is not None:
        typer.echo(shown[chosen].rstrip("\n"))
    else:
        typer.echo(f"Subject: {rendered.subject}\n\n{rendered.text.rstrip()}")


@templates_app.command("set")
def templates_set(
    name: str,
    locale: Locale,
    part: Annotated[str, typer.Option("--part", help="subject | text | html")],
    file: Annotated[str, typer.Option("--file", help="模板文件 / the template source (UTF-8)")],
    author: Annotated[str, typer.Option(help="修改人 / who edited it (recorded)")] = "operator",
    as_json: Json = False,
) -> None:
    """保存模板覆盖 / validate (sandbox, every sample) and store the next revision of an
    override; nothing is stored on error."""
    catalog.spec(name)
    loc, chosen = _locale(locale), _part(part)
    assert chosen is not None
    source = _read_source(file)
    revision = get_app().service.handle(
        c.SaveTemplate(name=name, locale=loc, part=chosen, source=source, author=author)
    )
    emit(
        {"name": name, "locale": loc, "part": chosen, "revision": revision, "author": author},
        as_json,
        f"stored {loc}/{name}.{catalog.PARTS[chosen]} revision {revision} (by {author}); "
        "the relay uses it from its next batch",
    )


@templates_app.command("history")
def templates_history(
    name: str,
    locale: Annotated[str | None, typer.Option(help="zh-CN | en")] = None,
    part: Annotated[str | None, typer.Option(help="subject | text | html")] = None,
    source: Annotated[bool, typer.Option("--source", help="显示源码 / print the sources")] = False,
    as_json: Json = False,
) -> None:
    """修改历史 / every stored revision of a message's overrides, newest first."""
    catalog.spec(name)
    loc = _locale(locale) if locale is not None else None
    chosen = _part(part)

    rows = get_app().service.query(queries_ops.template_history, name=name, locale=loc, part=chosen)
    if as_json:
        emit(rows, True)
        return
    if not rows:
        typer.echo(
            f"{name}：没有自定义，使用随附的模板文件 / "
            "no overrides stored; the shipped template files are used"
        )
        return
    lines = []
    for r in rows:
        mark = " (current)" if r["current"] else ""
        lines.append(
            f"{r['locale']}/{name}.{catalog.PARTS[r['part']]} r{r['revision']}{mark} "
            f"by {r['author']} at {local_time(r['created_at'], seconds=True)}（北京时间）"
        )
        if source:
            lines.extend(["", r["source"].rstrip(), ""])
    typer.echo("\n".join(lines))
