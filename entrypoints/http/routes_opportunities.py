"""城市机会清单, the land ledger and the district view over HTTP.

Scope (besides the role in ``policy``): a firm account sees, submits and edits only its own
firm's entries (another firm's entry is 404, exactly like one that does not exist) and sees
published lists only; operators and viewers the entries of their spaces; the district (viewer,
admin) assembles and publishes lists. ``GET /api/public/opportunity-lists/{number}`` needs no
login and shows only a published list, without the contacts its entries did not make public.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from entrypoints.http.deps import Ctx, CtxDep, app_of
from entrypoints.http.files import Sha, file_response
from entrypoints.http.routes_registry import SpacePath
from entrypoints.http.sending import NOT_INT, QueryYear, Text, body_model, send
from lifecycle.errors import NotFound
from workflows import attachments, queries_http
from workflows import opportunity_commands as oc
from workflows import queries_district as qd
from workflows import queries_opportunities as qo

router = APIRouter(prefix="/api", tags=["opportunity lists 城市机会清单"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="条目编号 / entry id")]
Number = Annotated[int, Path(ge=1, le=1_000_000, description="期数 / list number (第N期)")]
IntroductionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="对接编号 / introduction")]
ParcelCode = Annotated[str, Path(max_length=64, description="地块编号 / parcel id")]
Filter = Annotated[str | None, Query(max_length=64)]

#: Files are never named in a JSON body (a client could name a file it did not send, or
#: another entry's): they are uploaded to ``/opportunity-entries/{id}/attachments``.
SubmitBody = body_model(
    oc.SubmitEntry, exclude=frozenset({"as_firm", "attachments"}), name="EntrySubmitBody"
)
EditBody = body_model(
    oc.EditEntry, exclude=frozenset({"entry_id", "as_firm"}), name="EntryEditBody"
)
CreateListBody = body_model(oc.CreateList, name="ListCreateBody")
IntroduceBody = body_model(oc.Introduce, name="IntroduceBody")
OutcomeBody = body_model(
    oc.RecordOutcome, exclude=frozenset({"introduction_id"}), name="OutcomeBody"
)
ParcelBody = body_model(oc.AddParcel, exclude=frozenset({"space"}), name="ParcelBody")
ParcelEditBody = body_model(
    oc.EditParcel, exclude=frozenset({"parcel_code"}), name="ParcelEditBody"
)


class ReasonBody(BaseModel):
    """理由 / the reason (required to return an entry; the firm is told)."""

    model_config = ConfigDict(extra="forbid")
    reason: Text | None = None


class ArrangeBody(BaseModel):
    """清单条目，按顺序 / the draft list's entries in order."""

    model_config = ConfigDict(extra="forbid")
    entry_ids: list[Annotated[int, NOT_INT, Field(ge=1, le=2**63 - 1)]] = Field(max_length=200)


def _firm_of(ctx: Ctx) -> int | None:
    return ctx.principal.firm_id if ctx.principal.role == "firm" else None


def _visible_entry(ctx: Ctx, entry_id: int) -> None:
    """404 unless the entry is within the account's scope (a firm: its own firm's)."""
    scope = ctx.query(qo.entry_scope, entry_id=entry_id)
    if scope is None:
        raise NotFound("opportunity_entry", entry_id)
    space_id, firm_id = scope
    p = ctx.principal
    if p.role == "firm":
        visible = p.firm_id is not None and firm_id == p.firm_id
    else:
        visible = p.may_see_space(space_id)
    if not visible:
        raise NotFound("opportunity_entry", entry_id)


def _visible_introduction(ctx: Ctx, introduction_id: int) -> None:
    """404 unless one of the introduction's entries is within the account's scope (as the
    console's entry page shows an entry's introductions)."""
    sides = ctx.query(qo.introduction_entries, introduction_id=introduction_id)
    if sides is None:
        raise NotFound("introduction", introduction_id)
    for entry_id in sides:
        try:
            _visible_entry(ctx, entry_id)
        except NotFound:
            continue
        return
    raise NotFound("introduction", introduction_id)


def _visible_space(ctx: Ctx, code: str) -> None:
    space_id = ctx.query(queries_http.space_id, code=code)
    if ctx.principal.role != "firm" and not ctx.principal.may_see_space(space_id):
        raise NotFound("space", code)


def _xlsx(book: Any, name: str) -> Response:
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---- entries ----------------------------------------------------------------------------------
@router.get(
    "/opportunity-entries",
    name="opportunity_entries_list",
    summary="机会清单条目 / opportunity entries",
    description="本账号可见的条目（企业：本企业的），最新在前 / the entries this account may see "
    "(a firm: its own), newest first.",
    response_model=list[dict[str, Any]],
)
def entries(
    ctx: CtxDep, space: Filter = None, status: Filter = None, kind: Filter = None
) -> list[dict[str, Any]]:
    firm = _firm_of(ctx)
    if ctx.principal.role == "firm" and firm is None:
        return []
    rows: list[dict[str, Any]] = ctx.query(
        qo.entries,
        space=space,
        status=status,
        kind=kind,
        firm_id=firm,
        space_ids=None if firm is not None else ctx.space_filter(),
    )
    return rows


@router.post(
    "/opportunity-entries",
    name="opportunity_entry_submit",
    status_code=201,
    summary="提交条目 / submit an entry",
    description="新场景（need）或新产品（supply）。企业账号只能为本企业提交 / a need or a "
    "supply; a firm account submits only for its own firm.",
    response_model=dict[str, Any],
)
def submit(ctx: CtxDep, body: SubmitBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    firm = _firm_of(ctx)
    if firm is not None and values.get("firm") is None:
        values["firm"] = str(firm)
    _visible_space(ctx, values["space"])
    command = oc.SubmitEntry(actor=ctx.actor, as_firm=firm, **values)
    return send(ctx, command, payload=values, status=201)


@router.get(
    "/opportunity-entries/{entry_id}",
    name="opportunity_entry_show",
    summary="条目详情 / one entry",
    description="条目、时间线与对接记录 / the entry, its timeline and introductions.",
    response_model=dict[str, Any],
)
def show(ctx: CtxDep, entry_id: EntryId) -> dict[str, Any]:
    _visible_entry(ctx, entry_id)
    found: dict[str, Any] = ctx.query(qo.entry, entry_id=entry_id)
    return found


@router.patch(
    "/opportunity-entries/{entry_id}",
    name="opportunity_entry_edit",
    summary="修改条目 / edit an entry",
    description="企业：本企业待审核或被退回的条目（修改即重新提交）；运营方：未编入清单的条目 / "
    "a firm: its own submitted or returned entry (an edit resubmits it); operators: any not "
    "yet on a list.",
    response_model=dict[str, Any],
)
def edit(ctx: CtxDep, entry_id: EntryId, body: EditBody) -> JSONResponse:  # type: ignore[valid-type]
    _visible_entry(ctx, entry_id)
    values = body.model_dump()  # type: ignore[attr-defined]
    command = oc.EditEntry(entry_id=entry_id, actor=ctx.actor, as_firm=_firm_of(ctx), **values)
    return send(ctx, command, payload=values)


@router.post(
    "/opportunity-entries/{entry_id}/attachments",
    name="opportunity_entry_attach",
    summary="上传附件 / add files to an entry",
    description="multipart/form-data，字段 attachments：PDF、PNG 或 JPEG（按内容识别），"
    "每个不超过 10 MiB，每个条目最多 5 个；类型或大小不符时拒绝（422），不写入任何内容。"
    "企业：本企业待审核或被退回的条目；运营方：未编入清单的条目 / "
    "multipart field ``attachments``: PDF, PNG or JPEG by content, 10 MiB each, 5 per "
    "entry; a wrong type or size is refused (422) with nothing "
    "written. A firm: its own submitted or returned entry; operators: any not yet on a list.",
    response_model=dict[str, Any],
)
def attach(
    ctx: CtxDep,
    entry_id: EntryId,
    attachments_: Annotated[list[UploadFile], File(alias="attachments")],
) -> JSONResponse:
    _visible_entry(ctx, entry_id)
    named = [(f.filename or "", f.file.read(attachments.MAX_FILE_BYTES + 1)) for f in attachments_]
    store = attachments.FileStore(ctx.app.settings.files_directory())
    with attachments.storing(store, named, most=attachments.MAX_ENTRY_FILES) as files:
        command = oc.AttachToEntry(
            entry_id=entry_id, attachments=files, as_firm=_firm_of(ctx), actor=ctx.actor
        )
        return send(ctx, command, payload=[a.to_dict() for a in files])


@router.get(
    "/opportunity-entries/{entry_id}/attachments/{sha256}",
    name="opportunity_entry_file",
    summary="下载附件 / download a file of an entry",
    description="条目所属企业、所在空间的运营方、区县（viewer）与管理员可下载；其他账号 404 / "
    "the entry's firm, its space's operators, the district and admins; anyone else 404.",
    response_class=Response,
)
def attachment(ctx: CtxDep, entry_id: EntryId, sha256: Sha) -> Response:
    _visible_entry(ctx, entry_id)
    meta = ctx.query(qo.entry_attachment, entry_id=entry_id, sha256=sha256)
    return file_response(ctx.app.settings.files_directory(), meta)


@router.post(
    "/opportunity-entries/{entry_id}/return",
    name="opportunity_entry_return",
    summary="退回条目 / return an entry",
    description="须说明理由，企业将收到通知 / needs a reason; the firm is notified.",
    response_model=dict[str, Any],
)
def return_entry(ctx: CtxDep, entry_id: EntryId, body: ReasonBody) -> JSONResponse:
    _visible_entry(ctx, entry_id)
    command = oc.ReturnEntry(entry_id=entry_id, reason=body.reason, actor=ctx.actor)
    return send(ctx, command, payload=body.model_dump())


@router.post(
    "/opportunity-entries/{entry_id}/accept",
    name="opportunity_entry_accept",
    summary="采纳条目 / accept an entry",
    description="条目等待编入下一期清单，企业将收到通知 / the entry waits for the next list; the "
    "firm is notified.",
    response_model=dict[str, Any],
)
def accept(ctx: CtxDep, entry_id: EntryId, body: ReasonBody) -> JSONResponse:
    _visible_entry(ctx, entry_id)
    command = oc.AcceptEntry(entry_id=entry_id, reason=body.reason, actor=ctx.actor)
    return send(ctx, command, payload=body.model_dump())


@router.get(
    "/opportunity-entries/{entry_id}/suggestions",
    name="opportunity_entry_suggestions",
    summary="推荐匹配 / suggested matches",
    description="需求的匹配供给（或反之），按中文分词的 BM25 相关度排序 / for a need, the "
    "supplies that match best (and the reverse), ranked by BM25 over jieba's words.",
    response_model=list[dict[str, Any]],
)
def suggestions(
    ctx: CtxDep, entry_id: EntryId, limit: Annotated[int, Query(ge=1, le=50)] = 5
) -> list[dict[str, Any]]:
    _visible_entry(ctx, entry_id)
    rows: list[dict[str, Any]] = ctx.query(qo.suggestions, entry_id=entry_id, limit=limit)
    return rows


# ---- introductions ----------------------------------------------------------------------------
@router.get(
    "/introductions",
    name="introductions_list",
    summary="对接记录 / introductions",
    description="企业：涉及本企业条目的对接 / a firm: those of its own entries.",
    response_model=list[dict[str, Any]],
)
def introductions(ctx: CtxDep) -> list[dict[str, Any]]:
    firm = _firm_of(ctx)
    if ctx.principal.role == "firm" and firm is None:
        return []
    rows: list[dict[str, Any]] = ctx.query(qo.introductions, firm_id=firm)
    spaces = ctx.space_filter()
    if firm is not None or spaces is None:
        return rows
    # Staff and viewers: the introductions of an entry of their spaces (either side).
    sides = {i for r in rows for i in (r["need_id"], r["supply_id"])}
    mine = ctx.query(qo.entries_in_spaces, entry_ids=sides, space_ids=spaces)
    return [r for r in rows if r["need_id"] in mine or r["supply_id"] in mine]


@router.post(
    "/introductions",
    name="introduction_create",
    status_code=201,
    summary="记录对接 / introduce a need to a supply",
    description="运营方牵线 / an operator puts a need in touch with a supply.",
    response_model=dict[str, Any],
)
def introduce(ctx: CtxDep, body: IntroduceBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    for key in ("need_id", "supply_id"):
        _visible_entry(ctx, values[key])
    return send(ctx, oc.Introduce(actor=ctx.actor, **values), payload=values, status=201)


@router.post(
    "/introductions/{introduction_id}/outcome",
    name="introduction_outcome",
    summary="记录对接结果 / record an introduction's outcome",
    description="contacted（已联系）| in_talks（洽谈中）| deal（已合作）| closed（未成）",
    response_model=dict[str, Any],
)
def outcome(ctx: CtxDep, introduction_id: IntroductionId, body: OutcomeBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    _visible_introduction(ctx, introduction_id)
    command = oc.RecordOutcome(introduction_id=introduction_id, actor=ctx.actor, **values)
    return send(ctx, command, payload=values)


# ---- numbered lists ---------------------------------------------------------------------------
@router.get(
    "/opportunity-lists",
    name="opportunity_lists_list",
    summary="城市机会清单 / the numbered lists",
    description="企业只见已发布的 / firms see published lists only.",
    response_model=list[dict[str, Any]],
)
def lists(ctx: CtxDep) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(qo.lists, published_only=ctx.principal.role == "firm")
    return rows


@router.post(
    "/opportunity-lists",
    name="opportunity_list_create",
    status_code=201,
    summary="新建清单 / a new draft list",
    description="区县（管理员、区县查看账号）新建第N期草稿 / the district starts list N.",
    response_model=dict[str, Any],
)
def create_list(ctx: CtxDep, body: CreateListBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    return send(ctx, oc.CreateList(actor=ctx.actor, **values), payload=values, status=201)


@router.get(
    "/opportunity-lists/{number}",
    name="opportunity_list_show",
    summary="清单内容 / one list",
    description="草稿（含联系方式）或已发布的冻结内容；企业只见已发布的 / a draft (with contacts) "
    "or the frozen published content; firms see published lists only.",
    response_model=dict[str, Any],
)
def show_list(ctx: CtxDep, number: Number) -> dict[str, Any]:
    if ctx.principal.role == "firm":
        public: dict[str, Any] = ctx.query(qo.public_list, number=number)
        return public
    found: dict[str, Any] = ctx.query(qo.list_detail, number=number, space_ids=ctx.space_filter())
    return found


@router.put(
    "/opportunity-lists/{number}/entries",
    name="opportunity_list_arrange",
    summary="编排清单 / arrange a draft list",
    description="草稿清单的条目及顺序；未列入的条目退回待编状态。已发布的清单不能修改 / the "
    "draft's entries in order; a published list cannot change (409).",
    response_model=dict[str, Any],
)
def arrange(ctx: CtxDep, number: Number, body: ArrangeBody) -> JSONResponse:
    spaces = ctx.space_filter()
    qo.refuse_outside(ctx.query(qo.entries_outside, entry_ids=body.entry_ids, space_ids=spaces))
    ids = ctx.query(qo.with_unseen, number=number, entry_ids=body.entry_ids, space_ids=spaces)
    command = oc.ArrangeList(number=number, entry_ids=ids, actor=ctx.actor)
    return send(ctx, command, payload=body.model_dump())


@router.post(
    "/opportunity-lists/{number}/publish",
    name="opportunity_list_publish",
    summary="发布清单 / publish a list",
    description="发布即冻结，内容摘要记入审计链；空清单不能发布；清单含有本账号无权查看的空间"
    "的条目时不能发布 / published and frozen, its content hash in the audit chain; an empty "
    "list is refused (422), and so is a list holding an entry of a space not granted to the "
    "account (403).",
    response_model=dict[str, Any],
)
def publish(ctx: CtxDep, number: Number) -> JSONResponse:
    command = oc.PublishList(number=number, as_spaces=ctx.space_filter(), actor=ctx.actor)
    return send(ctx, command, payload={"number": number})


@router.get(
    "/opportunity-lists/{number}/export.xlsx",
    name="opportunity_list_export",
    summary="导出清单 / a published list as Excel",
    description="已发布清单的 Excel 表（联系方式按条目意愿公开） / the published list as a "
    "workbook (contacts only where the entry allowed them).",
    response_class=Response,
)
def export(ctx: CtxDep, number: Number) -> Response:
    from workflows import opportunity_excel

    content = ctx.query(qo.public_list, number=number)
    return _xlsx(opportunity_excel.list_book(content), f"opportunity-list-{number}.xlsx")


@router.get(
    "/public/opportunity-lists/{number}",
    name="public_opportunity_list",
    summary="公开清单 / a published list, for anyone",
    description="无需登录；只显示已发布清单，联系方式按条目意愿公开 / no login; published lists "
    "only, contacts only where the entry allowed them.",
    response_model=dict[str, Any],
)
def public_list(request: Request, number: Number) -> dict[str, Any]:
    found: dict[str, Any] = app_of(request).service.query(qo.public_list, number=number)
    return found


# ---- land -------------------------------------------------------------------------------------
@router.get(
    "/spaces/{space}/land",
    name="land_list",
    summary="土地台账 / a space's land parcels",
    description="地块、用地性质、面积与容积率 / parcels, use class, areas and plot ratio.",
    response_model=list[dict[str, Any]],
)
def land(ctx: CtxDep, space: SpacePath) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(qo.parcels, space=space)
    return rows


@router.post(
    "/spaces/{space}/land",
    name="land_add",
    status_code=201,
    summary="登记地块 / record a parcel",
    description="容积率缺省按建筑面积/用地面积计算 / the plot ratio defaults to floor / land area.",
    response_model=dict[str, Any],
)
def add_parcel(ctx: CtxDep, space: SpacePath, body: ParcelBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    command = oc.AddParcel(space=space, actor=ctx.actor, **values)
    return send(ctx, command, payload={"space": space, **values}, status=201)


@router.patch(
    "/spaces/{space}/land/{parcel_code}",
    name="land_edit",
    summary="修改地块 / correct a parcel",
    description="用地性质、面积或容积率 / its use class, areas or plot ratio.",
    response_model=dict[str, Any],
)
def edit_parcel(
    ctx: CtxDep,
    space: SpacePath,
    parcel_code: ParcelCode,
    body: ParcelEditBody,  # type: ignore[valid-type]
) -> JSONResponse:
    if not any(p["parcel_code"] == parcel_code for p in ctx.query(qo.parcels, space=space)):
        raise NotFound("land_parcel", parcel_code)
    values = body.model_dump()  # type: ignore[attr-defined]
    command = oc.EditParcel(parcel_code=parcel_code, actor=ctx.actor, **values)
    return send(ctx, command, payload=values)


# ---- the district view ------------------------------------------------------------------------
@router.get(
    "/district",
    name="district_view",
    summary="区县视图 / the district view",
    description="各空间及合计：出租率、单位面积与亩均税收营收、入驻与退出、再出租天数、考核等级；"
    "给出 to_year 时返回逐年数据 / per space and in total: occupancy, tax and revenue per m² "
    "and per mu, admissions and exits, days to re-let, grades; with to_year, year by year.",
    response_model=dict[str, Any],
)
def district(
    ctx: CtxDep,
    year: Annotated[QueryYear, Query()],
    to_year: Annotated[QueryYear | None, Query()] = None,
) -> dict[str, Any]:
    views = ctx.query(
        qd.district_years, years=qd.years_between(year, to_year), space_ids=ctx.space_filter()
    )
    return views[0] if to_year is None else {"years": views}


@router.get(
    "/district/export.xlsx",
    name="district_export",
    summary="区县视图导出 / the district view as Excel",
    description="一张表，按年度、空间逐行 / one sheet, a row per year and space.",
    response_class=Response,
)
def district_export(
    ctx: CtxDep,
    year: Annotated[QueryYear, Query()],
    to_year: Annotated[QueryYear | None, Query()] = None,
) -> Response:
    from workflows import opportunity_excel

    years = qd.years_between(year, to_year)
    views = ctx.query(qd.district_years, years=years, space_ids=ctx.space_filter())
    name = f"district-{year}.xlsx" if to_year is None else f"district-{year}-{to_year}.xlsx"
    return _xlsx(opportunity_excel.district_book(views), name)
