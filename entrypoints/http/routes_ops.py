"""Operations: deadlines, the outbox and its dead letters, the inbox, message templates,
the working-day calendar, the audit check."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from entrypoints.http.deps import CtxDep
from entrypoints.http.schemas import Count
from entrypoints.http.sending import NOT_INT, Day, Flag, Int64, LongText, QueryYear, Text, send
from lifecycle.errors import InvalidInput, NotFound
from workflows import commands as c
from workflows import queries, queries_ops

router = APIRouter(prefix="/api", tags=["operations 运营"])

Limit = Annotated[int, Query(ge=1, le=500, description="最多条数 / at most this many")]
Ids = Annotated[list[Int64], Field(max_length=1000)]


class RetryBody(BaseModel):
    """重试指定编号，或全部失败/死信 / retry these ids, or every failed (dead) one."""

    model_config = ConfigDict(extra="forbid")
    ids: Ids = []
    all: Flag = False
    reason: Text | None = None


class MarkReadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: Ids


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9_]+$")]
    locale: Literal["zh-CN", "en"]
    part: Literal["subject", "text", "html"]
    source: LongText


class PreviewBody(BaseModel):
    """预览消息；给出 part 与 source 时试用未保存的模板 / render a message; with part and
    source, try an unsaved override of that part (nothing is stored)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9_]+$")]
    locale: Literal["zh-CN", "en"] = "zh-CN"
    audience: Literal["firm", "manager", "operators"] | None = None
    sample: Annotated[int, NOT_INT, Field(ge=1, le=100)] = 1
    part: Literal["subject", "text", "html"] | None = None
    source: LongText | None = None


class CalendarDayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: Day
    kind: Literal["workday", "holiday"]
    note: Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")] | None = None


# ---- deadlines ------------------------------------------------------------------------------
@router.get(
    "/deadlines",
    name="deadlines_list",
    summary="期限 / deadlines",
    description="按到期时间排列；只列出本账号可见的；due_before：该日（北京时间）零时前到期的。 / "
    "Soonest first; only those this account may see; due_before: lapsing before that day "
    "begins (Asia/Shanghai).",
    response_model=list[dict[str, Any]],
)
def deadlines(
    ctx: CtxDep,
    status: Literal["pending", "done", "moot", "failed", "cancelled"] = "pending",
    space: Annotated[str | None, Query(max_length=64)] = None,
    due_before: Annotated[Day | None, Query()] = None,
    limit: Limit = 200,
) -> list[dict[str, Any]]:
    p = ctx.principal
    due_by = None
    if due_before is not None:  # as the CLI's --due-before takes a day: its start
        due_by = datetime.combine(due_before, time(), ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    rows: list[dict[str, Any]] = ctx.query(
        queries.deadlines,
        status=status,
        due_by=due_by,
        space=space,
        space_ids=None if p.role in ("admin", "firm") else p.space_ids,
        firm_id=(p.firm_id if p.firm_id is not None else -1) if p.role == "firm" else None,
        limit=limit,
    )
    return rows


@router.post(
    "/deadlines/retry",
    name="deadlines_retry",
    summary="重试期限 / retry deadlines",
    description="将失败的期限放回队列 / put failed deadlines back in the queue.",
    response_model=Count,
)
def retry_deadlines(ctx: CtxDep, body: RetryBody) -> JSONResponse:
    command = c.RetryDeadlines(
        ids=tuple(body.ids), all_failed=body.all, actor=ctx.actor, reason=body.reason
    )
    return send(ctx, command, payload=body.model_dump())


# ---- outbox ---------------------------------------------------------------------------------
@router.get(
    "/outbox",
    name="outbox_list",
    summary="发件箱 / outbox",
    description="待发、已发与死信（dead） / pending, sent and dead letters, newest first.",
    response_model=list[dict[str, Any]],
)
def outbox(
    ctx: CtxDep,
    status: Literal["pending", "sent", "dead"] | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(queries_ops.outbox_rows, status=status, limit=limit)
    return rows


@router.post(
    "/outbox/retry",
    name="outbox_retry",
    summary="重投死信 / retry dead letters",
    description="使死信立即重新投递 / make dead letters due now with a fresh budget.",
    response_model=Count,
)
def retry_outbox(ctx: CtxDep, body: RetryBody) -> JSONResponse:
    command = c.RetryNotices(
        ids=tuple(body.ids), all_dead=body.all, actor=ctx.actor, reason=body.reason
    )
    return send(ctx, command, payload=body.model_dump())


# ---- inbox ----------------------------------------------------------------------------------
@router.get(
    "/inbox",
    name="inbox_list",
    summary="站内消息 / inbox",
    description="企业用户：本企业的消息；运营人员：本人负责空间的运营消息。 / A firm user: its "
    "firm's notices; staff: the staff inbox (an operator: the notices about their spaces).",
    response_model=dict[str, Any],
)
def inbox(ctx: CtxDep, unread: bool = False, limit: Limit = 200) -> dict[str, Any]:
    p = ctx.principal
    data: dict[str, Any]
    if p.role == "firm":
        if p.firm_id is None:
            raise NotFound("firm", p.username)
        data = ctx.query(
            queries_ops.inbox, firm=str(p.firm_id), audience=None, unread_only=unread, limit=limit
        )
        return data
    # Staff: a notice about a tenancy is seen by those who may see its space.
    data = ctx.query(
        queries_ops.inbox, space_ids=ctx.space_filter(), unread_only=unread, limit=limit
    )
    return data


@router.post(
    "/inbox/read",
    name="inbox_mark_read",
    summary="标为已读 / mark read",
    description="企业用户只能标记本企业的消息；运营人员只能标记其收件箱中的运营消息 / a firm "
    "user marks only its own; staff only the staff notices their inbox shows.",
    response_model=Count,
)
def mark_read(ctx: CtxDep, body: MarkReadBody) -> JSONResponse:
    p = ctx.principal
    if p.role == "firm":
        firm_id = p.firm_id if p.firm_id is not None else -1
        command = c.MarkInboxRead(item_ids=tuple(body.ids), firm_id=firm_id, actor=ctx.actor)
        return send(ctx, command, payload=body.model_dump())
    # Staff mark only what their inbox shows them: never a firm's notice (the firm's own
    # "unread" would be a lie), never a notice about a space they may not see. The others
    # are left out as if they were not there (no confirmation that they exist).
    ids = ctx.query(queries_ops.staff_item_ids, item_ids=body.ids, space_ids=ctx.space_filter())
    command = c.MarkInboxRead(item_ids=tuple(ids), firm_id=None, actor=ctx.actor)
    return send(ctx, command, payload=body.model_dump())


# ---- templates ------------------------------------------------------------------------------
@router.get(
    "/templates/{name}",
    name="templates_history",
    tags=["templates 模板"],
    summary="模板修订 / template revisions",
    description="运营修改过的模板的所有修订 / every stored revision of a message's overrides.",
    response_model=list[dict[str, Any]],
)
def template_history(
    ctx: CtxDep, name: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9_]+$")]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(queries_ops.template_history, name=name)
    return rows


@router.post(
    "/templates/preview",
    name="template_preview",
    tags=["templates 模板"],
    summary="预览模板 / preview a message",
    description="按样例上下文渲染消息（含当前修订；可试用未保存的模板） / render a message "
    "against its sample context, with the current overrides (and an unsaved one, if given).",
    response_model=dict[str, str],
)
def template_preview(ctx: CtxDep, body: PreviewBody) -> dict[str, str]:
    from notifications import overrides as checks
    from notifications.render import Override

    if body.source is not None and body.part is None:
        raise InvalidInput("part", "试用模板须指定 part / source needs part")
    overrides = dict(ctx.query(queries_ops.template_overrides))
    if body.source is not None and body.part is not None:
        current = overrides.get((body.name, body.locale, body.part))
        revision = (current.revision if current else 0) + 1
        overrides[(body.name, body.locale, body.part)] = Override(
            body.name, body.locale, body.part, revision, body.source
        )
    rendered = checks.preview(
        ctx.app.renderer,
        body.name,
        body.locale,
        audience=body.audience,
        sample=body.sample - 1,
        overrides=overrides,
    )
    full = {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}
    return full if body.part is None else {body.part: full[body.part]}


@router.put(
    "/templates",
    name="template_set",
    tags=["templates 模板"],
    summary="保存模板 / save a template",
    description="校验并保存模板的新修订（沙箱渲染检查） / validate and store the next "
    "revision of a template override.",
    response_model=dict[str, Any],
)
def template_set(ctx: CtxDep, body: TemplateBody) -> JSONResponse:
    command = c.SaveTemplate(
        name=body.name,
        locale=body.locale,
        part=body.part,
        source=body.source,
        author=ctx.actor,
        actor=ctx.actor,
    )
    return send(ctx, command, payload=body.model_dump())


# ---- calendar and audit ---------------------------------------------------------------------
@router.get(
    "/calendar",
    name="calendar_list",
    tags=["calendar 日历"],
    summary="调休与假日 / calendar overrides",
    description="运营录入的工作日调整 / the operators' working-day overrides.",
    response_model=list[dict[str, Any]],
)
def calendar(ctx: CtxDep, year: QueryYear | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(queries.calendar_overrides, year=year)
    return rows


@router.put(
    "/calendar",
    name="calendar_set",
    tags=["calendar 日历"],
    summary="设置一天 / override one day",
    description="设置某日为工作日或假日 / make one day a workday or a holiday.",
    response_model=dict[str, Any],
)
def calendar_set(ctx: CtxDep, body: CalendarDayBody) -> JSONResponse:
    day: date = body.day
    command = c.SetCalendarDay(
        day=day, workday=body.kind == "workday", note=body.note, actor=ctx.actor
    )
    return send(ctx, command, payload=body.model_dump(mode="json"))


@router.get(
    "/audit/verify",
    name="audit_verify",
    tags=["audit 审计"],
    summary="校验审计链 / verify the audit chains",
    description="重新计算哈希链 / recompute every audit chain (or one tenancy's).",
    response_model=dict[str, Any],
)
def audit_verify(
    ctx: CtxDep, tenancy: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None
) -> dict[str, Any]:
    report = ctx.query(queries.audit_report, tenancy_id=tenancy)
    data: dict[str, Any] = report.to_dict()
    return data
