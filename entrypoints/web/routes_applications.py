"""Applications: the console's queue, one application (screening, reviewers, the panel and
the reviewer's scoring form, decisions with their traces), the 公示 board, and the firm
portal's application form (draft, submit, status).

Every lifecycle action goes through a confirmation page first (``…/confirm/{action}``, a
plain GET carrying the action's fields): it says what will happen and who is told, and its
POST form sends the command once (form token). Pages read named queries only
(:mod:`workflows.queries_applications`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response
from stdnum.cn import uscc as uscc_check

from entrypoints.web.listing import Column, list_params, paged, xlsx_response
from entrypoints.web.pages import Page, PageDep, describe
from entrypoints.web.rendering import pick
from lifecycle.errors import InvalidInput, NotFound
from lifecycle.table import STATE_LABELS, TRANSITIONS
from workflows import commands as c
from workflows import identity, queries_http
from workflows import queries_applications as qa
from workflows.application_drafts import SaveApplicationDraft, SubmitApplication

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
    return {"space_ids": None if p.role == "admin" else p.space_ids, "reviewer_id": None}


def _screening_text(row: Mapping[str, Any], lang: str) -> str:
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
        sort=params.sort,
        descending=params.descending,
        offset=0 if params.export else params.offset,
        limit=params.limit,
    )
    if params.export:
        lang = page.lang
        shown = [
            {
                **r,
                "state": STATE_LABELS[r["state"]][0 if lang == "zh" else 1],
                "screening": _screening_text(r, lang),
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
    detail = _detail(page, tenancy_id)
    staff = page.principal.role in ("admin", "operator")
    candidates: list[dict[str, Any]] = []
    if staff and detail["state"] in ("applied", "info_requested", "evaluating"):
        assigned = {r["username"] for r in detail["reviewers"]}
        candidates = [a for a in page.query(qa.reviewer_accounts) if a["username"] not in assigned]
    if page.principal.role == "reviewer":
        # A reviewer reads the application and scores it: no decisions, no colleague's name.
        detail["events"] = []
        detail["reviewers"] = []
    for event in detail["events"]:
        event["who"] = identity.actor_name(event["actor"]) or event["actor"]
    return page.render(
        "console/applications_detail.html",
        a=detail,
        staff=staff,
        is_reviewer=page.principal.role == "reviewer",
        candidates=candidates,
        today=page.query(qa.today),
        **_wording(detail),
    )


#: Deadlines of an application, as a person names them.
DEADLINE_LABELS = {
    "info_request_lapse": ("补充材料截止", "information due"),
    "publicity_end": ("公示截止", "public notice ends"),
    "agreement_lapse": ("签约截止", "agreement due"),
}
#: What an audit step of an application is called (the table's transitions, and the steps
#: that record without changing the state).
TRIGGER_LABELS: dict[str, tuple[str, str]] = {
    **{t.trigger: (t.label_zh, t.label_en) for t in TRANSITIONS},
    "apply": ("提交入驻申请", "application filed"),
    "score": ("评审专家评分", "reviewer scored"),
    "assign_reviewer": ("分配评审专家", "reviewer assigned"),
    "unassign_reviewer": ("取消分配评审专家", "reviewer unassigned"),
    "lodge_objection": ("登记公示异议", "objection lodged"),
    "dismiss_objection": ("异议不成立", "objection dismissed"),
}
#: Names in a trace that are not profile fields or criteria.
TRACE_WORDS: dict[str, tuple[str, str]] = {
    "standard": ("标准", "standard"),
    "on": ("审查日", "on"),
    "age_months": ("成立月数", "age in months"),
    "latest_entry_on": ("最迟入驻日", "latest entry"),
    "max_age_months": ("成立月数上限", "max age in months"),
    "max_area_m2": ("面积上限（m²）", "max area (m²)"),
    "max_prev_year_revenue_yuan": ("上年营收上限（元）", "max previous-year revenue"),
    "max_staff": ("人数上限", "max staff"),
    "max_revenue_yuan": ("营收上限（元）", "max revenue"),
    "max_assets_yuan": ("资产上限（元）", "max assets"),
    "require_true": ("须为“是”", "must be yes"),
    "require_false": ("须为“否”", "must be no"),
    "industries": ("行业清单", "industries"),
    "period": ("期限", "period"),
    "barred_until": ("限制期至", "barred until"),
    "reviewer": ("评审专家", "reviewer"),
    "reviewers": ("评审人数", "reviewers"),
    "score": ("得分", "score"),
    "band": ("分数段", "band"),
    "excluded": ("回避", "excluded"),
    "dropped": ("去掉", "dropped"),
    "trim_from": ("去分起始人数", "trim from"),
    "trim_each_end": ("两端各去", "trim each end"),
    "mean": ("平均分", "mean"),
    "counted": ("计入", "counted"),
}


def _wording(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The names a page shows for codes: tracks, choices, deadlines, steps, trace figures."""
    labels: dict[str, tuple[str, str]] = dict(TRACE_WORDS)
    labels |= {f["code"]: (f["label_zh"], f["label_en"]) for f in detail["profile"]}
    labels |= {c["id"]: (c["label_zh"], c["label_en"]) for c in detail["rubric"]["criteria"]}
    return {
        "labels": labels,
        "tracks": detail.get("tracks", {}),
        "choice_labels": detail.get("choices", {}),
        "deadline_labels": DEADLINE_LABELS,
        "trigger_labels": TRIGGER_LABELS,
    }


# ---- actions: a confirmation page, then the command -----------------------------------------
@dataclass(frozen=True)
class Action:
    """A lifecycle action of the application page: its name, its fields, what it does."""

    zh: str
    en: str
    fields: tuple[str, ...]
    build: Callable[[int, int | None, str, Callable[[str], str]], c.TenancyCommand]
    danger: bool = False


def _required(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(field, "必填 / required")
    return value.strip()


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            field, "须为日期 YYYY-MM-DD / must be a date YYYY-MM-DD", value
        ) from None


def _whole(value: str, field: str) -> int:
    text = value.strip().replace(",", "") or "0"
    if not re.fullmatch(r"\d{1,12}", text):
        raise InvalidInput(field, "须为不小于 0 的整数（元） / a whole number of yuan", value)
    return int(text)


ACTIONS: dict[str, Action] = {
    "screen": Action(
        "形式审查（按硬性条件）",
        "Screen against the hard requirements",
        (),
        lambda t, v, actor, f: c.Screen(tenancy_id=t, expected_version=v, actor=actor),
    ),
    "screen_out": Action(
        "以规则外理由驳回",
        "Reject on grounds outside the rulebook",
        ("reason",),
        lambda t, v, actor, f: c.Screen(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            reject=True,
            reason=_required(f("reason"), "reason"),
        ),
        danger=True,
    ),
    "request_info": Action(
        "要求补充材料",
        "Request information",
        ("items",),
        lambda t, v, actor, f: c.RequestInfo(
            tenancy_id=t, expected_version=v, actor=actor, items=_required(f("items"), "items")
        ),
    ),
    "approve": Action(
        "评审通过，进入公示",
        "Approve and start the public notice",
        ("reason",),
        lambda t, v, actor, f: c.Approve(
            tenancy_id=t, expected_version=v, actor=actor, reason=f("reason").strip() or None
        ),
    ),
    "reject": Action(
        "评审不通过",
        "Reject after evaluation",
        ("reason",),
        lambda t, v, actor, f: c.Reject(
            tenancy_id=t, expected_version=v, actor=actor, reason=_required(f("reason"), "reason")
        ),
        danger=True,
    ),
    "reject_without_panel": Action(
        "未经有效评审小组，具名决定不予通过",
        "Reject without a valid panel (your named decision)",
        ("grounds",),
        lambda t, v, actor, f: c.RejectWithoutPanel(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            grounds=_required(f("grounds"), "grounds"),
        ),
        danger=True,
    ),
    "object": Action(
        "登记公示异议",
        "Record an objection to the public notice",
        ("by", "grounds", "evidence", "oral"),
        lambda t, v, actor, f: c.LodgeObjection(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            by=f("by").strip() or None,
            grounds=f("grounds"),
            evidence=f("evidence").strip() or None,
            written=f("oral") != "1",
        ),
    ),
    "rule": Action(
        "对异议作出决定",
        "Rule on the objection",
        ("upheld", "reason"),
        lambda t, v, actor, f: c.RuleOnObjection(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            upheld=f("upheld") == "1",
            reason=_required(f("reason"), "reason"),
        ),
        danger=True,
    ),
    "end_publicity": Action(
        "公示期满，准予入驻",
        "Close the public notice and admit",
        (),
        lambda t, v, actor, f: c.EndPublicity(tenancy_id=t, expected_version=v, actor=actor),
    ),
    "sign": Action(
        "签订入驻协议并分配单元",
        "Sign the agreement and let units",
        ("units", "term_start", "term_end", "deposit_yuan"),
        lambda t, v, actor, f: c.Sign(
            tenancy_id=t,
            expected_version=v,
            actor=actor,
            units=tuple(u for u in re.split(r"[\s,，、]+", f("units")) if u),
            term_start=_day(f("term_start"), "term_start"),
            term_end=_day(f("term_end"), "term_end"),
            deposit_yuan=_whole(f("deposit_yuan"), "deposit_yuan"),
        ),
    ),
}


def _action(name: str) -> Action:
    found = ACTIONS.get(name)
    if found is None:
        raise NotFound("action", name)
    return found


def _version(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


@router.get("/console/applications/{tenancy_id}/confirm/{action}", name="web_application_confirm")
def confirm(page: PageDep, tenancy_id: TenancyId, action: str) -> HTMLResponse:
    act = _action(action)
    query = page.request.query_params
    values = {name: query.get(name, "")[:20_000] for name in act.fields}
    detail = _detail(page, tenancy_id)
    # Build the command now: a missing or malformed field is said here, before confirming.
    act.build(tenancy_id, None, page.principal.actor, lambda n: values.get(n, ""))
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


@router.post("/console/applications/{tenancy_id}/act/{action}", name="web_application_act")
def act(page: PageDep, tenancy_id: TenancyId, action: str) -> Response:
    chosen = _action(action)
    command = chosen.build(
        tenancy_id, _version(page.field("version")), page.principal.actor, page.field
    )
    result = page.act(command)
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
    username = _required(page.field("username"), "username")
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
    username = _required(page.field("username"), "username")
    page.act(
        identity.UnassignReviewer(
            tenancy_id=tenancy_id, username=username, actor=page.principal.actor
        )
    )
    return page.redirect(
        f"/console/applications/{tenancy_id}",
        (f"已取消分配 {username}", f"reviewer {username} unassigned"),
    )


@router.post("/console/applications/{tenancy_id}/score", name="web_application_score")
def score(page: PageDep, tenancy_id: TenancyId) -> Response:
    if page.field("final") != "1":
        raise InvalidInput(
            "final", "请勾选确认：评分提交后不可修改 / tick to confirm: a score cannot be changed"
        )
    detail = _detail(page, tenancy_id)
    scores: dict[str, float] = {}
    for criterion in detail["rubric"]["criteria"]:
        name = criterion["id"]
        raw = page.field(f"score_{name}").strip()
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise InvalidInput(
                name,
                f"须为 0 到 {criterion['weight']} 之间的分数 / a score from 0 to "
                f"{criterion['weight']}",
                raw,
            ) from None
        if not value.is_finite():
            raise InvalidInput(name, "须为有限数值 / must be a finite number", raw)
        scores[name] = float(value)
    page.act(
        c.ScoreApplication(
            tenancy_id=tenancy_id,
            expected_version=_version(page.field("version")),
            reviewer=page.principal.username,
            scores=scores,
            conflict_of_interest=page.field("conflict") == "1",
            actor=page.principal.actor,
        )
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
        qa.publicity_board,
        space=query.get("space", "")[:64] or None,
        space_ids=scope["space_ids"],
        sort=params.sort,
        descending=params.descending,
        offset=0 if params.export else params.offset,
        limit=params.limit,
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


# ---- the firm portal: apply -----------------------------------------------------------------
#: The 统一社会信用代码 as typed: 18 characters of GB 32100's alphabet (no I, O, S, V, Z).
USCC_PATTERN = "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"
#: Profile fields the firm does not type into the application: its registration holds them.
FROM_ACCOUNT = ("uscc", "name")


def _firm_id(page: Page) -> int:
    firm_id = page.principal.firm_id
    if firm_id is None:
        raise NotFound("firm", page.principal.username)
    return firm_id


def _apply_page(
    page: Page,
    *,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    status: int = 200,
    error: str = "",
) -> HTMLResponse:
    firm_id = _firm_id(page)
    draft = page.query(qa.application_draft, firm_id=firm_id)
    chosen = (values or {}).get("space") or page.request.query_params.get("space", "")
    if not chosen and draft is not None:
        chosen = draft["fields"].get("space", "")
    form = page.query(qa.application_form, firm_id=firm_id, space=chosen[:64] or None)
    if values is None:
        values = dict(draft["fields"]) if draft is not None else _defaults(form)
    return page.render(
        "portal/apply.html",
        status=status,
        form=form,
        values=values,
        problems=problems or {},
        draft=draft,
        error=error,
        mine=page.query(qa.firm_applications, firm_id=firm_id),
        uscc_pattern=USCC_PATTERN,
        deadline_labels=DEADLINE_LABELS,
    )


def _defaults(form: Mapping[str, Any]) -> dict[str, str]:
    firm = form["firm"]
    founded = firm.get("founded_on")
    return {
        "uscc": "",
        "industry": firm.get("industry") or "",
        "founded_on": founded.isoformat() if isinstance(founded, date) else "",
        "space": form.get("space") or "",
    }


@router.get("/portal/apply", name="web_portal_apply")
def apply_form(page: PageDep) -> HTMLResponse:
    return _apply_page(page)


def uscc_problem(typed: str, own: str) -> str | None:
    """What is wrong with a typed 统一社会信用代码 (None: it is the firm's own, valid one)."""
    code = typed.strip().upper()
    if not code:
        return "必填 / required"
    if not re.fullmatch(USCC_PATTERN, code):
        return (
            "须为 18 位，由数字和大写字母组成（不含 I、O、S、V、Z） / 18 digits and capital "
            "letters (no I, O, S, V or Z)"
        )
    if not uscc_check.is_valid(code):
        return "校验位不正确，请核对 / the check character is wrong: check the code"
    if code != own.upper():
        return (
            "与本账号所属企业的登记不符：只能为本企业申请 / not the code registered for "
            "your account's firm: you apply for your own firm only"
        )
    return None


def _profile(
    fields: list[dict[str, Any]], values: Mapping[str, str], lang: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed form as a profile (numbers, dates and yes/no as such), and each field's
    problem in the page's language."""
    profile: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for spec in fields:
        code, kind = spec["code"], spec["type"]
        if code in FROM_ACCOUNT:
            continue
        raw = values.get(code, "").strip()
        if raw == "":
            problems[code] = "必填" if lang == "zh" else "required"
            continue
        try:
            if kind == "bool":
                if raw not in ("yes", "no"):
                    raise ValueError
                profile[code] = raw == "yes"
            elif kind == "date":
                profile[code] = date.fromisoformat(raw).isoformat()
            elif kind == "integer":
                if not re.fullmatch(r"\d{1,9}", raw):
                    raise ValueError
                profile[code] = int(raw)
            elif kind == "number":
                amount = Decimal(raw.replace(",", ""))
                if not amount.is_finite() or amount < 0 or amount > Decimal(10) ** 15:
                    raise ValueError
                profile[code] = float(amount)
            elif kind == "choice":
                if raw not in spec["choices"]:
                    raise ValueError
                profile[code] = raw
            else:
                profile[code] = raw
        except (ValueError, InvalidOperation):
            problems[code] = pick(spec["rule_zh"] + " / " + spec["rule_en"], lang)
    return profile, problems


@router.post("/portal/apply", name="web_portal_apply_submit")
def apply_submit(page: PageDep) -> Response:
    firm_id = _firm_id(page)
    form = page.query(qa.application_form, firm_id=firm_id, space=page.field("space")[:64] or None)
    names = [s["code"] for s in form["fields"] if s["code"] != "name"] + ["space"]
    values = {name: page.field(name)[:2000] for name in names}
    if page.field("intent") == "draft":
        page.act(SaveApplicationDraft(firm_id=firm_id, values=values, actor=page.principal.actor))
        return page.redirect(
            "/portal/apply", ("草稿已保存，可稍后继续填写", "draft saved: carry on later")
        )
    problems: dict[str, str] = {}
    if page.field("space") not in {s["code"] for s in form["spaces"]}:
        problems["space"] = "请选择申请入驻的空间" if page.lang == "zh" else "choose a space"
    wrong = uscc_problem(values.get("uscc", ""), form["firm"]["uscc"])
    if wrong is not None:
        problems["uscc"] = pick(wrong, page.lang)
    profile, more = _profile(form["fields"], values, page.lang)
    problems |= more
    if problems:
        return _apply_page(page, values=values, problems=problems, status=422)
    apply = c.Apply(
        firm=str(firm_id),  # the account's firm: never a firm named in the form
        space=values["space"],
        track=str(profile.get("track", "")),
        requested_area_m2=float(profile.get("requested_area_m2", 0)),
        profile=profile,
        actor=page.principal.actor,
    )
    try:
        result = page.act(SubmitApplication(firm_id=firm_id, application=apply))
    except InvalidInput as err:
        return _apply_page(page, values=values, status=422, error=describe(err, page.lang))
    tenancy = result.get("tenancy_id") if isinstance(result, Mapping) else None
    return page.redirect(
        "/portal/apply#mine",
        (f"申请已提交（编号 {tenancy}），请留意审查结果", f"application {tenancy} sent"),
    )
