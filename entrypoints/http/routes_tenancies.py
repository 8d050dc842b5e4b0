"""Tenancies and applications: lists, one tenancy with its ETag, its timeline, each
lifecycle action as ``POST /api/tenancies/{id}/actions/{trigger}`` (``If-Match`` required),
applying, and the reviewers' scores."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from entrypoints.http.deps import Ctx, CtxDep
from entrypoints.http.policy import ACTION_TRIGGERS
from entrypoints.http.schemas import StepOut, TenancyPage
from entrypoints.http.sending import Text, body_model, if_match, send
from lifecycle.errors import NotFound
from lifecycle.table import STATE_LABELS
from workflows import answers, queries, queries_http
from workflows import commands as c
from workflows.paging import Keyset, Reach

router = APIRouter(prefix="/api", tags=["tenancies 租户"])

TenancyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="租户编号 / tenancy id")]
Limit = Annotated[int, Query(ge=1, le=500, description="每页条数 / page size")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=20,
        pattern=r"^[0-9]+$",
        description="上一页返回的 next / the previous page's next",
    ),
]
SpaceCode = Annotated[str | None, Query(max_length=64, description="空间代码 / space code")]
State = Annotated[
    str | None, Query(max_length=32, description="状态 / state, e.g. active, evaluating")
]

#: Each lifecycle action and the command it sends.
ACTION_COMMANDS: dict[str, type[c.TenancyCommand]] = {
    "screen": c.Screen,
    "request_info": c.RequestInfo,
    "resubmit": c.Resubmit,
    "approve": c.Approve,
    "reject": c.Reject,
    "reject_without_panel": c.RejectWithoutPanel,
    "withdraw": c.Withdraw,
    "object": c.LodgeObjection,
    "rule_on_objection": c.RuleOnObjection,
    "end_publicity": c.EndPublicity,
    "sign": c.Sign,
    "open_review": c.OpenReview,
    "submit_review": c.SubmitReview,
    "submit_quarterly_report": c.SubmitQuarterlyReport,
    "decide_review": c.DecideReview,
    "file_plan": c.FileRectificationPlan,
    "extend_rectification": c.ExtendRectification,
    "reinspect": c.Reinspect,
    "report_violation": c.ReportViolation,
    "cure_violation": c.CureViolation,
    "serve_exit_notice": c.ServeExitNotice,
    "confirm_exit": c.ConfirmExit,
    "request_voluntary_exit": answers.RequestVoluntaryExit,  # the firm's letter, recorded
    "begin_exit": c.BeginExit,
    "hand_over": c.HandOver,
    "waive_window": c.WaiveWindow,
    "record_benefit": c.RecordBenefit,
}
assert tuple(ACTION_COMMANDS) == ACTION_TRIGGERS


@router.get(
    "/tenancies",
    name="tenancies_list",
    response_model=TenancyPage,
    summary="租户列表 / list tenancies",
    description="按编号分页（cursor），可按空间和状态筛选；只列出本账号可见的租户。 / "
    "Tenancies by id, a page at a time (cursor), filtered by space and state; only those "
    "this account may see.",
)
def list_tenancies(
    ctx: CtxDep,
    space: SpaceCode = None,
    state: State = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    p = ctx.principal
    if state is not None and state not in STATE_LABELS:
        from lifecycle.errors import InvalidInput

        raise InvalidInput("state", f"must be one of {', '.join(STATE_LABELS)}", state)
    page: dict[str, Any] = ctx.query(
        queries_http.tenancy_page,
        page=Keyset(int(cursor) if cursor else 0, limit),
        reach=Reach(
            space_ids=None if p.role in ("admin", "firm", "reviewer") else p.space_ids,
            firm_id=(p.firm_id if p.firm_id is not None else -1) if p.role == "firm" else None,
            reviewer_id=(p.account_id or -1) if p.role == "reviewer" else None,
        ),
        space=space,
        state=state,
    )
    # The page is plain JSON data already (``queries_core.tenancy_summary``): sent as it is,
    # not validated again against ``TenancyPage``, which only documents it (and the schema
    # tests check every response against it).
    return JSONResponse(page)


@router.get(
    "/tenancies/{tenancy_id}",
    name="tenancy_show",
    summary="租户详情 / one tenancy",
    description="租户详情与时间线；ETag 为其版本号，修改时作为 If-Match 传回。 / A tenancy with "
    "its timeline; the ETag is its version, to send back as If-Match when changing it.",
)
def show_tenancy(ctx: CtxDep, tenancy_id: TenancyId) -> Response:
    data: dict[str, Any]
    if ctx.principal.role == "reviewer":
        # A reviewer sees the application, not its decisions or other reviewers' scores.
        data = ctx.query(queries.show_tenancy, tenancy_id=tenancy_id)
        data = {k: v for k, v in data.items() if k not in ("reviews", "exit_cases", "score")}
    else:
        data = ctx.query(queries.show_tenancy_with_timeline, tenancy_id=tenancy_id)
        _hide_panel(ctx, data["timeline"])
    etag = f'"{data["version"]}"'
    if ctx.request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(data, headers={"ETag": etag})


@router.get(
    "/tenancies/{tenancy_id}/timeline",
    name="tenancy_timeline",
    summary="时间线 / timeline",
    description="租户的审计事件（哈希链） / the tenancy's audit events (hash-chained).",
)
def timeline(ctx: CtxDep, tenancy_id: TenancyId) -> list[dict[str, Any]]:
    return _events(ctx, tenancy_id)


#: What a firm does not see of its own timeline: who of the panel scored what.
_PANEL_ONLY = frozenset({"reviewer", "conflict_of_interest"})
#: Who a firm is told scored: the panel, never the account (a reviewer scoring in their own
#: name is the actor of the event: "account:3 王某").
_PANEL_ACTOR = "评审专家 / a reviewer"


def _events(ctx: Ctx, tenancy_id: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = ctx.query(queries.timeline, tenancy_id=tenancy_id)
    _hide_panel(ctx, events)
    return events


def _hide_panel(ctx: Ctx, events: list[dict[str, Any]]) -> None:
    if ctx.principal.role == "firm":
        for event in events:
            if event["trigger"] == "score":
                event["data"] = {k: v for k, v in event["data"].items() if k not in _PANEL_ONLY}
                event["actor"] = _PANEL_ACTOR


def _action_route(trigger: str, command_type: type[c.TenancyCommand]) -> None:
    exclude = frozenset({"reviewer"}) if command_type is c.ScoreApplication else frozenset()
    model = body_model(command_type, exclude=exclude, name=f"{command_type.__name__}Body")
    doc = (command_type.__doc__ or "").strip().splitlines()[0] if command_type.__doc__ else ""
    if doc.startswith(command_type.__name__ + "("):  # the dataclass's generated signature
        doc = ""

    required = any(f.is_required() for f in model.model_fields.values())

    def action(ctx: Ctx, tenancy_id: int, body: BaseModel | None = None) -> JSONResponse:
        values = body.model_dump() if body is not None else {}
        return _act(ctx, tenancy_id, command_type, values)

    # The body's model is made here, at run time: the annotations are given as objects, and
    # the body is required when the command has fields without a default.
    action.__annotations__ = {
        "ctx": CtxDep,
        "tenancy_id": TenancyId,
        "body": model if required else model | None,
        "return": JSONResponse,
    }
    if required:
        action.__defaults__ = None
        action.__kwdefaults__ = None

    router.add_api_route(
        f"/tenancies/{{tenancy_id}}/actions/{trigger}",
        action,
        methods=["POST"],
        name=f"tenancy_action_{trigger}",
        summary=f"{trigger}",
        description=f"生命周期操作 {trigger}，须带 If-Match；版本过期返回 412 并给出当前版本。 / "
        f"Lifecycle action {trigger}. {doc} Needs If-Match; a stale version is 412 with the "
        "current version in the body.",
        response_model=StepOut,
    )


def _act(
    ctx: Ctx, tenancy_id: int, command_type: type[c.TenancyCommand], values: dict[str, Any]
) -> JSONResponse:
    version = if_match(ctx)
    if "units" in values and isinstance(values["units"], list):
        values["units"] = tuple(values["units"])
    if "vetoes" in values and isinstance(values["vetoes"], list):
        values["vetoes"] = tuple(values["vetoes"])
    fields = dict(values)
    if _JSON_TYPED in command_type.__dataclass_fields__:
        fields[_JSON_TYPED] = True
    command = command_type(
        tenancy_id=tenancy_id, expected_version=version, actor=ctx.actor, **fields
    )
    return send(ctx, command, payload={"tenancy": tenancy_id, "version": version, **values})


#: The field of a command whose figures or profile came as a JSON body: a number there is a
#: JSON number, never text (set by the API's routes only; forms send text).
_JSON_TYPED = "json_typed"


for _trigger, _command in ACTION_COMMANDS.items():
    _action_route(_trigger, _command)


# ---- applications -------------------------------------------------------------------------
ApplyBody = body_model(c.Apply)
ScoreBody = body_model(c.ScoreApplication, exclude=frozenset({"reviewer"}), name="ScoreBody")


class OperatorScoreBody(ScoreBody):  # type: ignore[valid-type,misc]
    reviewer: Text | None = None


@router.post(
    "/applications",
    name="application_apply",
    status_code=201,
    tags=["applications 申请"],
    summary="提交入驻申请 / apply",
    description="企业用户只能为本企业申请；运营人员只能在本人负责的空间。 / A firm user applies "
    "for its own firm only; an operator only in their spaces.",
    response_model=StepOut,
)
def apply(ctx: CtxDep, body: ApplyBody) -> JSONResponse:  # type: ignore[valid-type]
    values = body.model_dump()  # type: ignore[attr-defined]
    p = ctx.principal
    if p.role == "firm":
        if p.firm_id is None:
            raise NotFound("firm", values["firm"])
        values["firm"] = str(p.firm_id)
    if p.role != "admin":
        space_id = ctx.query(queries_http.space_id, code=values["space"])
        if p.role == "operator" and not p.may_see_space(space_id):
            raise NotFound("space", values["space"])
    command = c.Apply(actor=ctx.actor, json_typed=True, **values)
    return send(ctx, command, payload=values, status=201)


@router.get(
    "/applications/{tenancy_id}/scores",
    name="application_scores",
    tags=["applications 申请"],
    summary="评审评分 / reviewers' scores",
    description="评审专家在评审小组完成前只能看到自己的评分。 / Before the panel is complete a "
    "reviewer sees only their own scores.",
    response_model=dict[str, Any],
)
def scores(ctx: CtxDep, tenancy_id: TenancyId) -> dict[str, Any]:
    p = ctx.principal
    mine = p.username if p.role == "reviewer" else None
    data: dict[str, Any] = ctx.query(
        queries_http.application_scores, tenancy_id=tenancy_id, reviewer=mine
    )
    return data


@router.post(
    "/applications/{tenancy_id}/scores",
    name="application_score",
    status_code=201,
    tags=["applications 申请"],
    summary="录入评分 / post a score",
    description="评审专家以本人名义评分；运营人员须写明 reviewer。须带 If-Match。 / A reviewer "
    "scores in their own name; an operator names the reviewer. Needs If-Match.",
    response_model=StepOut,
)
def score(ctx: CtxDep, tenancy_id: TenancyId, body: OperatorScoreBody) -> JSONResponse:
    values = body.model_dump()
    p = ctx.principal
    reviewer = values.pop("reviewer", None)
    if p.role == "reviewer" or not reviewer:
        reviewer = p.username
    version = if_match(ctx)
    command = c.ScoreApplication(
        tenancy_id=tenancy_id,
        expected_version=version,
        reviewer=reviewer,
        actor=ctx.actor,
        **values,
    )
    return send(
        ctx,
        command,
        payload={"tenancy": tenancy_id, "version": version, "reviewer": reviewer, **values},
        status=201,
    )
