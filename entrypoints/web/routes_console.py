"""The operator console: dashboard, tenancies (the list, one tenancy, its actions).

Each action of a tenancy is two requests: ``GET …/actions/{trigger}`` shows what will happen
(the transition in words, the state it leads to, the notices it queues) and the form the
action needs, with the version the page was read at; ``POST`` sends the action's command
once (the form token) at that version — a tenancy changed since is refused, nothing done.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from entrypoints.errors import http_status
from entrypoints.http.routes_tenancies import ACTION_COMMANDS
from entrypoints.web.console_charts import bars, pie
from entrypoints.web.listing import Column, list_params, paged, xlsx_response
from entrypoints.web.pages import Page, PageDep, describe
from lifecycle.errors import InnospaceError, InvalidInput, NotFound, StaleTenancy
from lifecycle.table import STATE_LABELS, STATES
from workflows import console_actions, queries_console, vocabulary
from workflows.paging import Reach

router = APIRouter(include_in_schema=False)

TenancyId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SHANGHAI = ZoneInfo("Asia/Shanghai")
Filter = Annotated[str, Query(max_length=64)]


# ---- the dashboard ------------------------------------------------------------------------------
@router.get("/console", name="web_dashboard")
def dashboard(page: PageDep, space: Filter = "") -> HTMLResponse:
    data = page.query(
        queries_console.dashboard, space=space or None, space_ids=page.principal.spaces
    )
    zh = page.lang == "zh"
    shown = [p for p in data["pipeline"] if p["count"]]
    charts = {
        "pipeline": bars(
            [STATE_LABELS[p["state"]][0 if zh else 1] for p in shown],
            [p["count"] for p in shown],
            horizontal=True,
        ),
        "occupancy": bars(
            [o["code"] for o in data["occupancy"]],
            [o["leased_m2"] for o in data["occupancy"]],
            second=[round(o["lettable_m2"] - o["leased_m2"], 2) for o in data["occupancy"]],
            names=(page.say("已出租", "leased"), page.say("空置", "vacant")),
            stacked=True,
        ),
        "cycle": pie(
            [
                (page.say("未报送", "missing"), data["cycle"]["missing"]),
                (page.say("已报送", "submitted"), data["cycle"]["submitted"]),
                (page.say("已评定", "decided"), data["cycle"]["decided"]),
            ]
        )
        if data["cycle"]
        else None,
        "grades": bars(
            [g["grade"] for g in data["grades"]["counts"]],
            [g["count"] for g in data["grades"]["counts"]],
        )
        if data["grades"]
        else None,
        "exits": bars(
            [vocabulary.EXIT_TYPES[e["type"]][0 if zh else 1] for e in data["exits"]["counts"]],
            [e["exited"] for e in data["exits"]["counts"]],
            second=[e["open"] for e in data["exits"]["counts"]],
            names=(page.say("已退出", "exited"), page.say("办理中", "under way")),
            stacked=True,
        ),
    }
    return page.render(
        "console/dashboard.html",
        data=data,
        charts=charts,
        space=space,
        exit_labels=vocabulary.EXIT_TYPES,
    )


# ---- the tenancy list ---------------------------------------------------------------------------
COLUMNS = (
    Column("id", "编号", "No.", sortable=True, numeric=True),
    Column("firm", "企业", "Firm", sortable=True),
    Column("uscc", "统一社会信用代码", "USCC"),
    Column("space", "空间", "Space", sortable=True),
    Column("state", "状态", "State", sortable=True),
    Column("term_start", "租期开始", "Term start"),
    Column("term_end", "租期结束", "Term end", sortable=True),
    Column("score", "评审得分", "Score", sortable=True, numeric=True),
)
#: The export's columns: the state in words.
EXPORT_COLUMNS = tuple(
    Column("state_label", c.zh, c.en) if c.key == "state" else c for c in COLUMNS
)


@router.get("/console/tenancies", name="web_tenancies")
def tenancies(
    page: PageDep,
    space: Filter = "",
    state: Filter = "",
    firm: Annotated[str, Query(max_length=100)] = "",
    uscc: Annotated[str, Query(max_length=18)] = "",
) -> Response:
    params = list_params(page.request.query_params, COLUMNS, "id")
    if state and state not in STATE_LABELS:
        raise InvalidInput("state", "须为列出的状态之一 / must be one of the states listed", state)
    rows: list[dict[str, Any]] = page.query(
        queries_console.tenancy_list,
        reach=Reach(space_ids=page.principal.spaces),
        space=space.strip() or None,
        state=state or None,
        firm=firm.strip() or None,
        uscc=uscc.strip() or None,
        paging=params.paging,
    )
    for row in rows:
        row["state_label"] = STATE_LABELS[row["state"]][0 if page.lang == "zh" else 1]
    if params.export:
        return xlsx_response("tenancies", EXPORT_COLUMNS, rows, page.lang, sheet="tenancies")
    spaces = page.query(queries_console.visible_spaces, space_ids=page.principal.spaces)
    return page.render(
        "console/tenancies.html",
        paged=paged(rows, params),
        columns=COLUMNS,
        spaces=spaces,
        states=STATES,
        filters={"space": space, "state": state, "firm": firm, "uscc": uscc},
    )


# ---- one tenancy --------------------------------------------------------------------------------
@router.get("/console/tenancies/{tenancy_id}", name="web_tenancy")
def tenancy(page: PageDep, tenancy_id: TenancyId) -> Response:
    if page.principal.role == "firm":
        # A firm's own tenancy (another firm's is "not found" by the rule's scope): the
        # portal is where a firm reads it.
        return page.redirect("/portal")
    data = page.query(queries_console.tenancy_page, tenancy_id=tenancy_id)
    if page.principal.role == "viewer":
        data["actions"] = []
    return page.render("console/tenancy.html", t=data)


@router.get("/console/tenancies/{tenancy_id}/actions/{trigger}", name="web_tenancy_action_form")
def action_form(
    page: PageDep,
    tenancy_id: TenancyId,
    trigger: str,
    violation: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> HTMLResponse:
    data = page.query(queries_console.action_page, tenancy_id=tenancy_id, trigger=trigger)
    # The violation a cure is for, chosen on the tenancy page's list of violations.
    return _confirm(page, data, chosen={"violation": violation} if violation else None)


@router.post("/console/tenancies/{tenancy_id}/actions/{trigger}", name="web_tenancy_action")
def act(page: PageDep, tenancy_id: TenancyId, trigger: str) -> Response:
    action = console_actions.BY_TRIGGER.get(trigger)
    if action is None:
        raise NotFound("action", trigger)
    try:
        version = _int(page.field("version"), "version")
        if version is None:
            raise InvalidInput("version", "缺少页面读取时的版本 / the page's version is missing")
        command = ACTION_COMMANDS[trigger](
            tenancy_id=tenancy_id,
            expected_version=version,
            actor=page.principal.actor,
            **_values(action, page),
        )
        result = page.act(command)
    except StaleTenancy:
        stale = (
            "已被他人修改：此入驻记录在您打开页面后已有变更，本次操作未执行。请核对最新状态后重试。",
            "Changed by someone else since you opened the page: nothing was done. Check the "
            "current state and try again.",
        )
        try:
            current = page.query(
                queries_console.action_page, tenancy_id=tenancy_id, trigger=trigger
            )
        except NotFound:  # the action is no longer offered: back to the tenancy
            return page.redirect(f"/console/tenancies/{tenancy_id}", stale)
        return _confirm(page, current, status=409, error=page.say(*stale))
    except InnospaceError as err:
        data = page.query(queries_console.action_page, tenancy_id=tenancy_id, trigger=trigger)
        labels = {f.name: (f.zh, f.en) for f in action.fields}
        said = describe(err, page.lang, labels)
        return _confirm(page, data, status=http_status(err), error=said)
    to = str(result.get("to", "")) if isinstance(result, dict) else ""
    zh_state, en_state = STATE_LABELS.get(to, (to, to))
    return page.redirect(
        f"/console/tenancies/{tenancy_id}",
        (f"已执行「{action.zh}」，当前状态：{zh_state}", f"Done: {action.en}; now {en_state}"),
    )


def _confirm(
    page: Page,
    data: dict[str, Any],
    *,
    status: int = 200,
    error: str = "",
    chosen: dict[str, Any] | None = None,
) -> HTMLResponse:
    command = ACTION_COMMANDS[data["action"]["trigger"]]
    defaults = {f.name: f.default for f in fields(command) if f.default is not MISSING}
    if data["action"]["trigger"] == console_actions.CURE:
        defaults["cured_on"] = page.app.clock.now().astimezone(SHANGHAI).date().isoformat()
    defaults.update({k: str(v) for k, v in (chosen or {}).items()})
    if data["action"]["trigger"] in ("decide_review",) and data["open_review"] is not None:
        defaults["period"] = data["open_review"]
    if data["action"]["trigger"] == "open_review":
        defaults.setdefault("period", page.app.clock.now().year - 1)
    return page.render(
        "console/action_confirm.html",
        status=status,
        t=data["tenancy"],
        action=data["action"],
        defaults=defaults,
        sent=page.form,
        error=error,
    )


# ---- reading an action's form -------------------------------------------------------------------
def _int(raw: str, name: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not text.lstrip("-").isdigit() or len(text) > 15:
        raise InvalidInput(name, "须为整数 / must be a whole number", text)
    return int(text)


def _values(action: console_actions.Action, page: Page) -> dict[str, Any]:
    """The command's fields from the submitted form, each checked as its kind says; a
    required field left empty is refused naming it."""
    command = ACTION_COMMANDS[action.trigger]
    no_default = {
        f.name for f in fields(command) if f.default is MISSING and f.default_factory is MISSING
    }
    # a choice made by id (a violation) is sent as the number the command takes
    int_fields = {f.name for f in fields(command) if f.type in ("int", "int | None")}
    out: dict[str, Any] = {}
    for spec in action.fields:
        name, raw = spec.name, page.field(spec.name).strip()
        value: Any
        if spec.kind == "bool":
            out[name] = page.field(name) == "1"
            continue
        if spec.kind == "checks":
            ticked = set(page.fields(name))
            out[name] = {choice: choice in ticked for choice, _, _ in spec.choices}
            continue
        if not raw:
            if spec.required:
                raise InvalidInput(name, "必填 / required")
            if name in no_default:
                out[name] = None
            continue
        if spec.kind in ("int", "yuan"):
            value = _int(raw, name)
        elif spec.kind == "date":
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                raise InvalidInput(name, "须为日期 YYYY-MM-DD / must be a date", raw) from None
        elif spec.kind == "choice":
            # Choices from the rulebook or the page's query are checked by the command.
            if not spec.choices_from and raw not in {c for c, _, _ in spec.choices}:
                raise InvalidInput(name, "须为列出的选项之一 / must be one of the choices", raw)
            value = _int(raw, name) if name in int_fields else raw
        elif spec.kind == "codes":
            value = tuple(p.strip() for p in raw.replace("，", ",").split(",") if p.strip())
        else:
            value = raw
        out[name] = value
    return out
