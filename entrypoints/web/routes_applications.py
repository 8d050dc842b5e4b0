"""Applications in the console: the queue, one application (screening, reviewers, the panel
and the reviewer's scoring form, decisions with their traces) and the 公示 board. The firm
portal's application form is in :mod:`entrypoints.web.routes_applications_portal`.

Every lifecycle action goes through a confirmation page first (``…/confirm/{action}``, a
plain GET carrying the action's fields): it says what will happen and who is told, and its
POST form sends the command once (form token). Pages read named queries only
(:mod:`workflows.queries_applications`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from entrypoints.web.application_actions import action_named, required, version_of
from entrypoints.web.applications_wording import wording
from entrypoints.web.listing import Column, list_params, paged, xlsx_response
from entrypoints.web.pages import Page, PageDep, describe
from lifecycle.errors import InvalidInput
from lifecycle.table import STATE_LABELS
from workflows import commands as c
from workflows import identity, queries_http, queries_publicity
from workflows import queries_applications as qa
from workflows.queries_http import SCORING_STATES

router = APIRouter(include_in_schema=False)

TenancyId = Annotated[int, Path(ge=1, le=2**63 - 1)]

# ---- the queue ------------------------------------------------------------------------------
QUEUE_COLUMNS = (
    Column("id", "编号", "No.", sortable=True, numeric=True),
    Column("firm", "企业", "Firm", sortable=True),
    Column("uscc", "统一社会信用代码", "USCC"),
    Column("space", "空间", "Space", sortable=True),
    Column("state", "状态", "State", sortable=True),
    Column("submitted_at", "提交时间", "Submitted", sortable=True),
    Column("area", "申请面积（m²）", "Area (m²)", sortable=True, numeric=True),
    Column("screening", "形式审查", "Screening"),
    Column("panel", "评审（已评/已分配）", "Panel (scored/assigned)"),
)


def _scope(page: Page) -> dict[str, Any]:
    """How a list is narrowed for the account: an admin sees every space, a reviewer the
    applications assigned to them, anyone else the spaces granted."""
    p = page.principal
    if p.role == "reviewer":
        return {"space_ids": None, "reviewer_id": p.account_id or -1}
    return {"space_ids": p.spaces, "reviewer_id": None}


def _screening_summary(row: Mapping[str, Any], lang: str) -> str:
    if not row["screened"]:
        return "未审查" if lang == "zh" else "not screened"
    if row["passed"]:
        return "通过" if lang == "zh" else "passed"
    names = "；".join(
        f"{f['id']} {f['label_zh'] if lang == 'zh' else f['label_en']}" for f in row["failures"]
    )
    return ("未通过：" if lang == "zh" else "failed: ") + names


@router.get("/console/applications", name="web_applications")
def applications(page: PageDep) -> Response:
    query = page.request.query_params
    params = list_params(query, QUEUE_COLUMNS, "id")
    state = query.get("state", "")
    states = (state,) if state in qa.APPLICATION_STATES else qa.QUEUE_STATES
    filters = {
        "states": states,
        "space": query.get("space", "")[:64] or None,
        "search": query.get("q", "")[:100].strip() or None,
        **_scope(page),
    }
    rows: list[dict[str, Any]] = page.query(
        qa.application_queue,
        **filters,
        paging=params.paging,
    )
    if params.export:
        lang = page.lang
        shown = [
            {
                **r,
                "state": STATE_LABELS[r["state"]][0 if lang == "zh" else 1],
                "screening": _screening_summary(r, lang),
                "panel": f"{r['scored']}/{r['assigned']}",
            }
            for r in rows
        ]
        return xlsx_response("applications.xlsx", QUEUE_COLUMNS, shown, lang, sheet="applications")
    return page.render(
        "console/applications.html",
        columns=QUEUE_COLUMNS,
        paged=paged(rows, params),
        states=qa.APPLICATION_STATES,
        state=state if state in qa.APPLICATION_STATES else "",
        spaces=_spaces(page),
    )


def _spaces(page: Page) -> list[dict[str, Any]]:
    """The spaces the account may filter by."""
    p = page.principal
    ids = None if p.role in ("admin", "reviewer") else p.space_ids
    spaces: list[dict[str, Any]] = page.query(queries_http.space_codes, ids=ids)
    return spaces


# ---- one application ------------------------------------------------------------------------
def _detail(page: Page, tenancy_id: int) -> dict[str, Any]:
    p = page.principal
    reviewer = p.username if p.role == "reviewer" else None
    detail: dict[str, Any] = page.query(
        qa.application_detail, tenancy_id=tenancy_id, reviewer=reviewer
    )
    return detail


@router.get("/console/applications/{tenancy_id}", name="web_application")
def application(page: PageDep, tenancy_id: TenancyId) -> HTMLResponse:
    return _application_page(page, tenancy_id)


def _application_page(
    page: Page,
    tenancy_id: int,
    *,
    status: int = 200,
    refused: str = "",
    sent: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The application page; a ``refused`` form (an action, or ``score``) comes back with
    what was ``sent`` and each of its ``problems`` (by field, said as the form names it)."""
    detail = _detail(page, tenancy_id)
    staff = page.principal.role in ("admin", "operator")
    candidates: list[dict[str, Any]] = []
    if staff and detail["state"] in SCORING_STATES:
        assigned = {r["username"] for r in detail["reviewers"]}
        candidates = [a for a in page.query(qa.reviewer_accounts) if a["username"] not in assigned]
    if page.principal.role == "reviewer":
        # A reviewer reads the application and scores it: no decisions, no colleague's name.
        detail["events"] = []
        detail["reviewers"] = []
    return page.render(
        "console/applications_detail.html",
        status=status,
        refused=refused,
        sent=sent or {},
        problems=problems or {},
        a=detail,
        staff=staff,
        is_reviewer=page.principal.role == "reviewer",
        candidates=candidates,
        today=page.query(qa.today),
        **wording(detail),
    )


@router.get("/console/applications/{tenancy_id}/confirm/{action}", name="web_application_confirm")
def confirm(page: PageDep, tenancy_id: TenancyId, action: str) -> HTMLResponse:
    act = action_named(action)
    query = page.request.query_params
    values = {name: query.get(name, "")[:20_000] for name in act.fields}
    detail = _detail(page, tenancy_id)
    # Build the command now: a missing or malformed field is said here, before confirming,
    # on the application page again with what was typed.
    try:
        act.build(tenancy_id, None, page.principal.actor, lambda n: values.get(n, ""))
    except InvalidInput as err:
        return _refused(page, tenancy_id, action, values, err)
    preview = (
        page.query(qa.publicity_preview, tenancy_id=tenancy_id) if action == "approve" else None
    )
    return page.render(
        "console/applications_confirm.html",
        a=detail,
        action=action,
        act=act,
        values=values,
        version=query.get("version", "")[:12],
        preview=preview,
    )


def _refused(
    page: Page, tenancy_id: int, action: str, values: Mapping[str, str], err: InvalidInput
) -> HTMLResponse:
    """The application page with the action's form holding ``values``, the problem named
    as the form names the field."""
    said = describe(err, page.lang, ACTION_LABELS)
    return _application_page(
        page, tenancy_id, status=422, refused=action, sent=values, problems={err.field: said}
    )


#: The fields of the actions' forms as the forms name them.
ACTION_LABELS = {
    "reason": ("理由", "Reason"),
    "items": ("需补充的材料", "What is missing"),
    "grounds": ("理由", "Grounds"),
    "by": ("异议人", "Objector"),
    "evidence": ("证据", "Evidence"),
    "upheld": ("决定", "Ruling"),
    "units": ("单元代码", "Unit codes"),
    "term_start": ("起租日", "Term start"),
    "term_end": ("到期日", "Term end"),
    "deposit_yuan": ("押金（元）", "Deposit (yuan)"),
}


@router.post("/console/applications/{tenancy_id}/act/{action}", name="web_application_act")
def act(page: PageDep, tenancy_id: TenancyId, action: str) -> Response:
    chosen = action_named(action)
    try:
        command = chosen.build(
            tenancy_id, version_of(page.field("version")), page.principal.actor, page.field
        )
        result = page.act(command)
    except InvalidInput as err:
        values = {name: page.field(name)[:20_000] for name in chosen.fields}
        return _refused(page, tenancy_id, action, values, err)
    message = (f"已完成：{chosen.zh}", f"done: {chosen.en}")
    if isinstance(result, Mapping) and result.get("accepted") is False:
        refusal = str(result.get("refusal") or "")
        message = (f"异议不予受理：{refusal}", f"objection not accepted: {refusal}")
    elif isinstance(result, Mapping) and result.get("to"):
        state = STATE_LABELS.get(str(result["to"]), (str(result["to"]),) * 2)
        message = (f"{chosen.zh}：现为“{state[0]}”", f"{chosen.en}: now {state[1]}")
    return page.redirect(f"/console/applications/{tenancy_id}", message)


# ---- reviewers and their scores -------------------------------------------------------------
@router.post("/console/applications/{tenancy_id}/reviewers", name="web_application_assign")
def assign(page: PageDep, tenancy_id: TenancyId) -> Response:
    username = required(page.field("username"), "username")
    page.act(
        identity.AssignReviewer(
            tenancy_id=tenancy_id, username=username, actor=page.principal.actor
        )
    )
    return page.redirect(
        f"/console/applications/{tenancy_id}",
        (f"已分配评审专家 {username}", f"reviewer {username} assigned"),
    )


@router.post("/console/applications/{tenancy_id}/reviewers/remove", name="web_application_unassign")
def unassign(page: PageDep, tenancy_id: TenancyId) -> Response:
    username = required(page.field("username"), "username")
    page.act(
        identity.UnassignReviewer(
            tenancy_id=tenancy_id, username=username, actor=page.principal.actor
        )
    )
    return page.redirect(
        f"/console/applications/{tenancy_id}",
        (f"已取消分配 {username}", f"reviewer {username} unassigned"),
    )


#: The scoring form's own fields, as it names them (the criteria are named by the rubric).
SCORE_LABELS = {"final": ("提交确认", "Confirmation")}


@router.post("/console/applications/{tenancy_id}/score", name="web_application_score")
def score(page: PageDep, tenancy_id: TenancyId) -> Response:
    detail = _detail(page, tenancy_id)
    criteria = detail["rubric"]["criteria"]
    sent = {f"score_{cr['id']}": page.field(f"score_{cr['id']}").strip()[:20] for cr in criteria}
    sent |= {name: page.field(name) for name in ("conflict", "final")}
    labels = SCORE_LABELS | {cr["id"]: (cr["label_zh"], cr["label_en"]) for cr in criteria}
    refused: list[InvalidInput] = []
    scores: dict[str, float] = {}
    for criterion in criteria:
        name, weight = criterion["id"], criterion["weight"]
        raw = sent[f"score_{name}"]
        try:
            value = Decimal(raw)
        except InvalidOperation:
            rule = f"须为 0 到 {weight} 之间的分数 / a score from 0 to {weight}"
            refused.append(InvalidInput(name, "必填 / required" if not raw else rule, raw))
            continue
        if not value.is_finite():
            refused.append(InvalidInput(name, "须为有限数值 / must be a finite number", raw))
            continue
        scores[name] = float(value)
    if sent["final"] != "1":
        unticked = "请勾选确认：评分提交后不可修改 / tick to confirm: a score cannot be changed"
        refused.append(InvalidInput("final", unticked))
    if not refused:
        try:
            page.act(
                c.ScoreApplication(
                    tenancy_id=tenancy_id,
                    expected_version=version_of(page.field("version")),
                    reviewer=page.principal.username,
                    scores=scores,
                    conflict_of_interest=sent["conflict"] == "1",
                    actor=page.principal.actor,
                )
            )
        except InvalidInput as err:
            # the rubric's own checks name the criterion as ``scores.<id>``
            refused.append(InvalidInput(err.field.removeprefix("scores."), err.rule))
    if refused:
        problems = {err.field: describe(err, page.lang, labels) for err in refused}
        return _application_page(
            page, tenancy_id, status=422, refused="score", sent=sent, problems=problems
        )
    return page.redirect(
        f"/console/applications/{tenancy_id}", ("评分已提交", "your scores are recorded")
    )


# ---- the 公示 board ---------------------------------------------------------------------------
PUBLICITY_COLUMNS = (
    Column("id", "编号", "No.", sortable=True, numeric=True),
    Column("firm", "企业", "Firm", sortable=True),
    Column("space", "空间", "Space", sortable=True),
    Column("score", "评审平均分", "Mean score", sortable=True, numeric=True),
    Column("from", "公示开始", "From", sortable=True),
    Column("to", "公示截止", "Until", sortable=True),
    Column("objections", "异议（已受理）", "Objections (accepted)", sortable=True, numeric=True),
)


@router.get("/console/publicity", name="web_publicity")
def publicity(page: PageDep) -> Response:
    query = page.request.query_params
    params = list_params(query, PUBLICITY_COLUMNS, "to")
    scope = _scope(page)
    rows: list[dict[str, Any]] = page.query(
        queries_publicity.publicity_board,
        space=query.get("space", "")[:64] or None,
        space_ids=scope["space_ids"],
        paging=params.paging,
    )
    if params.export:
        shown = [{**r, "objections": f"{r['objections']}（{r['accepted']}）"} for r in rows]
        return xlsx_response("publicity.xlsx", PUBLICITY_COLUMNS, shown, page.lang, sheet="公示")
    return page.render(
        "console/applications_publicity.html",
        columns=PUBLICITY_COLUMNS,
        paged=paged(rows, params),
        spaces=_spaces(page),
    )
