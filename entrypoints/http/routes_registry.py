"""Spaces, units, firms, rulebooks and the review cycle of a space."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from entrypoints.http.deps import CtxDep
from entrypoints.http.sending import LongText, Text, Year, body_model, send
from workflows import commands as c
from workflows import queries, queries_http, rules, simulate

router = APIRouter(prefix="/api", tags=["registry 登记"])

SpacePath = Annotated[
    str,
    Path(
        max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="空间代码 / space code"
    ),
]
SpaceBody = body_model(c.CreateSpace, exclude=frozenset({"rulebook_source"}), name="SpaceBody")
UnitBody = body_model(c.AddUnit, exclude=frozenset({"space"}), name="UnitBody")
FirmBody = body_model(c.RegisterFirm, name="FirmBody")


class RulebookText(BaseModel):
    """规则 TOML 文本 / a rulebook's TOML text."""

    model_config = ConfigDict(extra="forbid")
    text: LongText
    source: Text = "api"


class SimulateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: LongText
    period: Year


class VetoBody(BaseModel):
    """一票否决，按租户编号 / vetoes raised, by tenancy id."""

    model_config = ConfigDict(extra="forbid")
    vetoes: dict[str, list[Text]] = {}
    reason: Text | None = None


@router.get(
    "/spaces",
    name="spaces_list",
    summary="空间列表 / list spaces",
    description="本账号可见的空间 / the spaces this account may see.",
    response_model=list[dict[str, Any]],
)
def spaces(ctx: CtxDep) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(queries_http.space_codes, ids=ctx.space_filter())
    return rows


@router.post(
    "/spaces",
    name="space_create",
    status_code=201,
    summary="新建空间 / create a space",
    description="仅管理员；未给规则时使用默认规则。 / Admins only; the default rulebook "
    "unless one is given.",
    response_model=dict[str, Any],
)
def create_space(ctx: CtxDep, body: SpaceBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    command = c.CreateSpace(actor=ctx.actor, rulebook_source="api", **values)
    return send(ctx, command, payload=values, status=201)


@router.get(
    "/spaces/{space}/units",
    name="units_list",
    summary="单元列表 / list units",
    description="空间的可出租单元 / the lettable units of a space.",
    response_model=list[dict[str, Any]],
)
def units(ctx: CtxDep, space: SpacePath) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(queries.units, space=space)
    return rows


@router.post(
    "/spaces/{space}/units",
    name="unit_add",
    status_code=201,
    summary="新增单元 / add a unit",
    description="新增可出租单元 / add a lettable unit.",
    response_model=dict[str, Any],
)
def add_unit(ctx: CtxDep, space: SpacePath, body: UnitBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    return send(
        ctx,
        c.AddUnit(space=space, actor=ctx.actor, **values),
        payload={"space": space, **values},
        status=201,
    )


@router.get(
    "/firms",
    name="firms_list",
    summary="企业列表 / list firms",
    description="已登记的企业：在本账户空间入驻或申请过的，及尚未申请的 / registered firms: "
    "those with a stay in the account's spaces, and those yet to apply anywhere.",
    response_model=list[dict[str, Any]],
)
def firms(ctx: CtxDep) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(queries.firms, space_ids=ctx.space_filter())
    return rows


@router.get(
    "/firms/me",
    name="firm_me",
    summary="本企业 / my firm",
    description="企业用户所属企业 / the firm of a firm user.",
    response_model=dict[str, Any],
)
def my_firm(ctx: CtxDep) -> dict[str, Any]:
    from lifecycle.errors import NotFound

    if ctx.principal.firm_id is None:
        raise NotFound("firm", "me")
    data: dict[str, Any] = ctx.query(queries_http.firm_of, firm_id=ctx.principal.firm_id)
    return data


@router.post(
    "/firms",
    name="firm_register",
    status_code=201,
    summary="登记企业 / register a firm",
    description="校验统一社会信用代码 / the USCC is checked (GB 32100-2015).",
    response_model=dict[str, Any],
)
def register_firm(ctx: CtxDep, body: FirmBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    return send(ctx, c.RegisterFirm(actor=ctx.actor, **values), payload=values, status=201)


# ---- review cycles --------------------------------------------------------------------------
@router.post(
    "/spaces/{space}/review-cycles/{period}/decide",
    name="review_cycle_decide",
    tags=["reviews 考核"],
    summary="集中评定年度考核 / decide a review cycle",
    description="按规则集中评定（含优秀比例上限） / decide the space's cycle at once, "
    "with the grade cap across the cohort.",
    response_model=dict[str, Any],
)
def decide_cycle(
    ctx: CtxDep,
    space: SpacePath,
    period: Annotated[int, Path(ge=2000, le=2100, description="考核年度 / the year reviewed")],
    body: VetoBody | None = None,
) -> JSONResponse:
    from lifecycle.errors import InvalidInput

    vetoes: dict[int, tuple[str, ...]] = {}
    for key, codes in (body.vetoes if body else {}).items():
        if not key.isdigit() or len(key) > 18:
            raise InvalidInput(f"vetoes.{key}", "keys are tenancy ids", key)
        vetoes[int(key)] = tuple(codes)
    command = c.DecideCycle(
        space=space,
        period=period,
        vetoes=vetoes,
        actor=ctx.actor,
        reason=body.reason if body else None,
    )
    return send(
        ctx,
        command,
        payload={"space": space, "period": period, **(body.model_dump() if body else {})},
    )


# ---- quarterly light reports ----------------------------------------------------------------
@router.get(
    "/spaces/{space}/quarterly-reports",
    name="quarterly_filings",
    tags=["reviews 考核"],
    summary="季度报送情况 / a quarter's filings",
    description="空间内每个在孵企业某季度的报送情况：按时报送、逾期报送、未到期未报送、逾期未报送；"
    "不给年度与季度时为刚结束的季度。 / Where each resident firm of the space stands with a "
    "quarter's light report: filed on time, filed late, not filed yet, missing. Without year "
    "and quarter: the quarter just ended.",
    response_model=dict[str, Any],
)
def quarterly_filings(
    ctx: CtxDep,
    space: SpacePath,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="年度 / the year")] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4, description="季度 / the quarter")] = None,
) -> dict[str, Any]:
    from workflows import queries_quarterly

    [filings] = ctx.query(queries_quarterly.filings, space=space, year=year, quarter=quarter)
    return dict(filings)


# ---- rulebooks ------------------------------------------------------------------------------
@router.get(
    "/rulebooks",
    name="rulebooks_list",
    tags=["rulebooks 规则"],
    summary="规则版本 / rulebook versions",
    description="已存储的规则版本及其使用情况 / stored rulebook versions and their use.",
    response_model=list[dict[str, Any]],
)
def rulebook_versions(ctx: CtxDep) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(queries.rulebook_versions)
    return rows


@router.post(
    "/rulebooks/check",
    name="rulebook_check",
    tags=["rulebooks 规则"],
    summary="校验规则 / check a rulebook",
    description="只校验，不存储 / validate only; nothing is stored.",
    response_model=dict[str, Any],
)
def rulebook_check(ctx: CtxDep, body: RulebookText) -> dict[str, Any]:
    rb = rules.parse(body.text, body.source)
    return {"ok": True, "version": rb.version}


@router.post(
    "/rulebooks",
    name="rulebook_load",
    status_code=201,
    tags=["rulebooks 规则"],
    summary="存储规则 / load a rulebook",
    description="存储规则（按内容哈希版本化） / store a rulebook, versioned by its hash.",
    response_model=dict[str, Any],
)
def rulebook_load(ctx: CtxDep, body: RulebookText) -> JSONResponse:
    command = c.LoadRulebook(text=body.text, source=body.source, actor=ctx.actor)
    return send(ctx, command, payload=body.model_dump(), status=201)


@router.put(
    "/spaces/{space}/rulebook",
    name="rulebook_activate",
    tags=["rulebooks 规则"],
    summary="启用规则 / activate a rulebook",
    description="存储并在空间启用 / store and activate for the space.",
    response_model=dict[str, Any],
)
def rulebook_activate(ctx: CtxDep, space: SpacePath, body: RulebookText) -> JSONResponse:
    command = c.LoadRulebook(text=body.text, source=body.source, space=space, actor=ctx.actor)
    return send(ctx, command, payload=body.model_dump())


@router.post(
    "/spaces/{space}/rulebook/simulate",
    name="rulebook_simulate",
    tags=["rulebooks 规则"],
    summary="模拟 / what-if",
    description="按另一规则重新评定已记录的考核（不写入） / re-evaluate recorded reviews "
    "under another rulebook; nothing is written.",
    response_model=dict[str, Any],
)
def rulebook_simulate(ctx: CtxDep, space: SpacePath, body: SimulateBody) -> dict[str, Any]:
    result: dict[str, Any] = ctx.query(
        simulate.simulate, text=body.text, source="api", space_code=space, period=body.period
    )
    return result
