"""The console's exit cases: the list (filters, sort, pages, Excel), one case with its
procedure, the firm's statement and files, and the operator's actions — rule on the
statement, confirm the exit, begin a requested exit, record the handover.

Each action asks first: a POST without ``confirmed`` shows what will happen and who will be
told, and the page's "confirm" button sends the same fields again with ``confirmed=1`` (and a
fresh form token, so a double click acts once).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from entrypoints.http.files import Sha
from entrypoints.web.listing import Column, list_params, paged, xlsx_response
from entrypoints.web.pages import Page, PageDep, confirm_page, describe
from entrypoints.web.uploads import download
from lifecycle.errors import InvalidInput
from workflows import commands as c
from workflows import queries_exits_pages as q
from workflows.paging import Reach

router = APIRouter(include_in_schema=False)

CaseId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TenancyId = Annotated[int, Path(ge=1, le=2**63 - 1)]

COLUMNS = (
    Column("id", "编号", "No.", sortable=True, numeric=True),
    Column("firm", "企业", "Firm", sortable=True),
    Column("space", "空间", "Space", sortable=True),
    Column("type_zh", "退出类型", "Exit type"),
    Column("status_zh", "状态", "Status"),
    Column("objection", "已收到申辩", "Statement received"),
    Column("objection_due_on", "申辩截止", "Statement due", sortable=True),
    Column("vacate_due_on", "腾退期限", "Vacate by", sortable=True),
    Column("created_at", "立案时间", "Opened", sortable=True),
)


@router.get("/console/exits", name="web_exits", response_model=None)
def exits(page: PageDep) -> Response:
    query = page.request.query_params
    params = list_params(query, COLUMNS, "id")
    if "dir" not in query:
        params = replace(params, descending=True)
    status = query.get("status", "")
    exit_type = query.get("type", "")
    filters = {
        "space": query.get("space", "")[:64] or None,
        "status": status if status in q.EXIT_STATUS_LABELS else None,
        "exit_type": exit_type if exit_type in q.EXIT_TYPES else None,
        "firm": query.get("firm", "")[:100] or None,
    }
    rows = page.query(
        q.exit_case_rows,
        reach=Reach(space_ids=page.principal.spaces),
        **filters,
        paging=params.paging,
    )
    if params.export:
        for row in rows:
            if page.lang != "zh":
                row["type_zh"], row["status_zh"] = row["type_en"], row["status_en"]
        return xlsx_response("exit-cases", COLUMNS, rows, page.lang, sheet="exit cases")
    requests = (
        page.query(q.voluntary_requests, space_ids=page.principal.spaces)
        if page.principal.role in ("admin", "operator")
        else []
    )
    return page.render(
        "console/exits.html",
        paged=paged(rows, params),
        columns=COLUMNS,
        statuses=q.EXIT_STATUS_LABELS,
        types=q.EXIT_TYPE_LABELS,
        requests=requests,
    )


@router.get("/console/exits/{exit_case_id}", name="web_exit_case")
def exit_case(page: PageDep, exit_case_id: CaseId) -> HTMLResponse:
    case = page.query(q.exit_case_page, exit_case_id=exit_case_id)
    return page.render("console/exit_case.html", case=case, staff=_staff(page))


#: The case page's forms (ruling, handover): their fields as each form names them.
CASE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "rule": {"upheld": ("裁决", "Ruling"), "reason": ("理由", "Reasons")},
    "handover": {
        "checklist": ("交接清单", "Checklist"),
        "arrears_yuan": ("欠缴租金及费用（元）", "Arrears (yuan)"),
        "damage_yuan": ("损坏赔偿（元）", "Damage (yuan)"),
        "reason": ("备注", "Note"),
    },
}


def _case_refused(
    page: Page, exit_case_id: int, form: str, sent: dict[str, Any], err: InvalidInput
) -> HTMLResponse:
    """The case page again, the refused ``form`` holding what was sent and its problem
    beside the field it names."""
    case = page.query(q.exit_case_page, exit_case_id=exit_case_id)
    return page.render(
        "console/exit_case.html",
        status=422,
        case=case,
        staff=_staff(page),
        refused=form,
        sent=sent,
        problems={err.field: describe(err, page.lang, CASE_LABELS[form])},
    )


def _staff(page: Page) -> bool:
    return page.principal.role in ("admin", "operator")


def _version(page: Page) -> int | None:
    raw = page.field("version")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _reason(page: Page) -> str:
    reason = page.field("reason").strip()
    if not reason:
        raise InvalidInput("reason", "请写明理由 / give the reasons")
    return reason


@router.post("/console/exits/{exit_case_id}/rule", name="web_exit_rule", response_model=None)
def rule(page: PageDep, exit_case_id: CaseId) -> Response:
    try:
        return _rule(page, exit_case_id)
    except InvalidInput as err:
        sent = {"upheld": page.field("upheld"), "reason": page.field("reason")[:20_000]}
        return _case_refused(page, exit_case_id, "rule", sent, err)


def _rule(page: Page, exit_case_id: int) -> Response:
    case = page.query(q.exit_case_page, exit_case_id=exit_case_id)
    upheld = page.field("upheld")
    if upheld not in ("yes", "no"):
        raise InvalidInput("upheld", "请选择申辩成立或不成立 / choose upheld or dismissed")
    reason = _reason(page)
    here = f"/console/exits/{exit_case_id}"
    if page.field("confirmed") != "1":
        if upheld == "yes":
            what = [
                (
                    "采纳企业的陈述申辩，撤销本退出案件",
                    "Uphold the firm's statement: this exit case is withdrawn",
                ),
                (
                    "企业恢复为在孵状态，陈述申辩期限取消",
                    "The firm returns to residency; the window is cancelled",
                ),
            ]
        else:
            what = [
                ("不采纳企业的陈述申辩，作出退出决定", "Dismiss the statement and decide the exit"),
                (
                    "企业进入腾退阶段，腾退期限按规则计算",
                    "The firm moves to vacating, with the rulebook's period",
                ),
            ]
        return confirm_page(
            page,
            action=f"{here}/rule",
            title=("确认裁决陈述申辩", "Confirm the ruling on the statement"),
            what=[*what, (f"理由：{reason}", f"Reasons: {reason}")],
            notified=(
                f"{case['firm']['name']}（站内消息及邮件：退出决定书）",
                f"{case['firm']['name']} (inbox and e-mail: the ruling)",
            ),
            fields={"upheld": upheld, "reason": reason, "version": page.field("version")},
            back=here,
        )
    page.act(
        c.RuleOnObjection(
            tenancy_id=case["tenancy_id"],
            expected_version=_version(page),
            upheld=upheld == "yes",
            actor=page.principal.actor,
            reason=reason,
        )
    )
    message = (
        ("已采纳申辩，退出案件已撤销", "Statement upheld; the exit case is withdrawn")
        if upheld == "yes"
        else ("已作出退出决定，企业进入腾退", "Exit decided; the firm is vacating")
    )
    return page.redirect(here, message)


@router.post("/console/exits/{exit_case_id}/confirm", name="web_exit_confirm", response_model=None)
def confirm(page: PageDep, exit_case_id: CaseId) -> Response:
    case = page.query(q.exit_case_page, exit_case_id=exit_case_id)
    reason = page.field("reason").strip() or None
    here = f"/console/exits/{exit_case_id}"
    if page.field("confirmed") != "1":
        return confirm_page(
            page,
            action=f"{here}/confirm",
            title=("确认作出退出决定", "Confirm the exit decision"),
            what=[
                (
                    "陈述申辩期满且未收到申辩：作出退出决定",
                    "The window is over with no statement: decide the exit",
                ),
                (
                    "企业进入腾退阶段，腾退期限按规则计算",
                    "The firm moves to vacating, with the rulebook's period",
                ),
            ],
            notified=(
                f"{case['firm']['name']}（站内消息及邮件：退出决定书）",
                f"{case['firm']['name']} (inbox and e-mail: the decision)",
            ),
            fields={"reason": reason or "", "version": page.field("version")},
            back=here,
        )
    page.act(
        c.ConfirmExit(
            tenancy_id=case["tenancy_id"],
            expected_version=_version(page),
            actor=page.principal.actor,
            reason=reason,
        )
    )
    return page.redirect(
        here, ("已作出退出决定，企业进入腾退", "Exit decided; the firm is vacating")
    )


def _amount(page: Page, name: str) -> int:
    raw = page.field(name).strip().replace(",", "") or "0"
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(
            name, "须为不小于 0 的整数（元） / a whole number of yuan, 0 or more", raw
        )
    return int(raw)


@router.post(
    "/console/exits/{exit_case_id}/handover", name="web_exit_handover", response_model=None
)
def handover(page: PageDep, exit_case_id: CaseId) -> Response:
    try:
        return _handover(page, exit_case_id)
    except InvalidInput as err:
        sent = {
            "checklist": page.fields("checklist"),
            **{k: page.field(k)[:2000] for k in ("arrears_yuan", "damage_yuan", "reason")},
        }
        return _case_refused(page, exit_case_id, "handover", sent, err)


def _handover(page: Page, exit_case_id: int) -> Response:
    case = page.query(q.exit_case_page, exit_case_id=exit_case_id)
    checked = [item for item in q.HANDOVER_LABELS if item in page.fields("checklist")]
    arrears, damage = _amount(page, "arrears_yuan"), _amount(page, "damage_yuan")
    missing = [q.HANDOVER_LABELS[i] for i in q.HANDOVER_LABELS if i not in checked]
    if missing:
        raise InvalidInput(
            "checklist",
            "交接清单未完成：" + "、".join(m[0] for m in missing) + " / the handover checklist "
            "is incomplete: " + ", ".join(m[1] for m in missing),
        )
    here = f"/console/exits/{exit_case_id}"
    if page.field("confirmed") != "1":
        return confirm_page(
            page,
            action=f"{here}/handover",
            title=("确认交接验收", "Confirm the handover"),
            what=[
                (
                    "交接清单全部完成，企业退出（不可撤销）",
                    "Every handover item done: the firm has exited (final)",
                ),
                (
                    f"欠费 {arrears:,} 元，损坏赔偿 {damage:,} 元，从押金中扣除",
                    f"Arrears CNY {arrears:,}, damage CNY {damage:,}, deducted from the deposit",
                ),
                (
                    "按规则结算押金并追回优惠政策；房源恢复可出租",
                    "Deposit settled, benefits clawed back by the rulebook; units lettable",
                ),
            ],
            notified=(
                f"{case['firm']['name']}（站内消息及邮件：交接与结算通知）",
                f"{case['firm']['name']} (inbox and e-mail: handover and settlement)",
            ),
            fields={
                "checklist": checked,
                "arrears_yuan": str(arrears),
                "damage_yuan": str(damage),
                "reason": page.field("reason"),
                "version": page.field("version"),
            },
            back=here,
        )
    page.act(
        c.HandOver(
            tenancy_id=case["tenancy_id"],
            expected_version=_version(page),
            checklist={item: True for item in checked},
            arrears_yuan=arrears,
            damage_yuan=damage,
            actor=page.principal.actor,
            reason=page.field("reason").strip() or None,
        )
    )
    return page.redirect(here, ("交接验收完成，企业已退出", "Handover signed; the firm has exited"))


@router.post("/console/exits/begin/{tenancy_id}", name="web_exit_begin", response_model=None)
def begin(page: PageDep, tenancy_id: TenancyId) -> Response:
    exit_type = page.field("exit_type") or "voluntary"
    if exit_type not in ("voluntary", "term_expiry"):
        raise InvalidInput("exit_type", "须为自愿退出或期满退出 / voluntary or term expiry")
    approved = page.field("approved", "yes") != "no"
    if page.field("confirmed") != "1":
        label = q.EXIT_TYPE_LABELS[exit_type]
        return confirm_page(
            page,
            action=f"/console/exits/begin/{tenancy_id}",
            title=(f"确认办理{label[0]}", f"Confirm: begin the {label[1].lower()}"),
            what=[
                (
                    "企业进入腾退阶段，立退出案件，腾退期限按规则计算",
                    "The firm moves to vacating; an exit case opens with the rulebook's period",
                ),
                (
                    "经运营方同意：押金及预付租金按规则退还"
                    if approved
                    else "未经同意：押金及预付租金按规则不予退还",
                    "Approved: deposit and prepaid rent refunded by the rulebook"
                    if approved
                    else "Not approved: deposit and prepaid rent forfeited by the rulebook",
                ),
            ],
            notified=(
                "企业（站内消息及邮件：退出确认）",
                "The firm (inbox and e-mail: exit confirmed)",
            ),
            fields={
                "exit_type": exit_type,
                "approved": "yes" if approved else "no",
                "reason": page.field("reason"),
            },
            back="/console/exits",
        )
    page.act(
        c.BeginExit(
            tenancy_id=tenancy_id,
            exit_type=exit_type,
            approved=approved,
            actor=page.principal.actor,
            reason=page.field("reason").strip() or None,
        )
    )
    return page.redirect(
        "/console/exits", ("已办理退出，企业进入腾退", "Exit begun; the firm is vacating")
    )


@router.get("/console/exits/serve/{tenancy_id}", name="web_exit_serve_form")
def serve_form(page: PageDep, tenancy_id: TenancyId) -> HTMLResponse:
    ctx = page.query(q.serve_context, tenancy_id=tenancy_id)
    return page.render("console/exit_serve.html", ctx=ctx, sent={}, problems={})


#: The notice form's fields as it names them.
SERVE_LABELS = {
    "grounds": ("退出事由", "Grounds"),
    "facts": ("事实与证据", "Facts and evidence"),
    "proof_of_service": ("送达方式与凭证", "How it was served"),
}


def _serve_refused(
    page: Page, ctx: dict[str, Any], sent: dict[str, str], refused: list[InvalidInput]
) -> HTMLResponse:
    """The notice form again, with what was typed and each problem beside its field."""
    problems = {err.field: describe(err, page.lang, SERVE_LABELS) for err in refused}
    return page.render("console/exit_serve.html", status=422, ctx=ctx, sent=sent, problems=problems)


@router.post("/console/exits/serve/{tenancy_id}", name="web_exit_serve", response_model=None)
def serve(page: PageDep, tenancy_id: TenancyId) -> Response:
    ctx = page.query(q.serve_context, tenancy_id=tenancy_id)
    grounds = page.field("grounds")
    labels = {g["code"]: g for g in ctx["grounds"]}
    facts = page.field("facts").strip()
    proof = page.field("proof_of_service").strip()
    sent = {"grounds": grounds, "facts": facts, "proof_of_service": proof}
    refused: list[InvalidInput] = []
    if grounds not in labels:
        refused.append(
            InvalidInput("grounds", "请选择规则中的退出事由 / choose one of the rulebook's grounds")
        )
    if not facts:
        refused.append(InvalidInput("facts", "请记录事实和证据 / record the facts and evidence"))
    if not proof:
        refused.append(
            InvalidInput("proof_of_service", "请记录送达方式和凭证 / record how it was served")
        )
    if refused:
        return _serve_refused(page, ctx, sent, refused)
    back = f"/console/exits/serve/{tenancy_id}"
    if page.field("confirmed") != "1":
        label = labels[grounds]
        return confirm_page(
            page,
            action=back,
            title=("确认送达退出告知书", "Confirm: serve the exit notice"),
            what=[
                (
                    f"以“{label['zh']}”为由启动强制退出，立退出案件",
                    f"Open a forced exit on: {label['en']}",
                ),
                (
                    f"企业进入陈述申辩期（{ctx['window_zh']}，至 {ctx['window_ends']}）",
                    f"The statement window opens ({ctx['window_en']}, until {ctx['window_ends']})",
                ),
                (
                    "事实、证据和送达凭证记入审计记录",
                    "The facts, evidence and proof of service are audited",
                ),
            ],
            notified=(
                f"{ctx['firm']}（站内消息及邮件：退出告知书）",
                f"{ctx['firm']} (inbox and e-mail: the exit notice)",
            ),
            fields={
                "grounds": grounds,
                "facts": facts,
                "proof_of_service": proof,
                "version": page.field("version"),
            },
            back=back,
        )
    try:
        page.act(
            c.ServeExitNotice(
                tenancy_id=tenancy_id,
                expected_version=_version(page),
                grounds=grounds,
                facts=facts,
                proof_of_service=proof,
                actor=page.principal.actor,
            )
        )
    except InvalidInput as err:
        return _serve_refused(page, ctx, sent, [err])
    case = page.query(q.open_case_of, tenancy_id=tenancy_id)
    return page.redirect(
        f"/console/exits/{case}" if case else "/console/exits",
        ("已送达退出告知书，陈述申辩期开始", "Exit notice served; the statement window is open"),
    )


@router.get("/console/exits/{exit_case_id}/files/{sha256}", name="web_exit_file")
def exit_file(page: PageDep, exit_case_id: CaseId, sha256: Sha) -> Response:
    meta = page.query(q.case_attachment, exit_case_id=exit_case_id, sha256=sha256)
    return download(page, meta)
