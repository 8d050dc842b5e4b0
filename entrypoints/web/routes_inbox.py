"""The firm portal's notices and answers: the inbox (read/unread, a printable legal notice),
the answer to an exit notice (陈述申辩) or a rectification order (整改方案) with attached
files, and the request to leave of the firm's own will.

Only the firm's own: the inbox reads by the account's firm, and the tenancy pages are checked
in the ``tenancy`` scope (another firm's id is "not found"). Files are checked by their
content (PDF, PNG, JPEG; 10 MiB each, 3 at most) and stored outside the database under their
SHA-256 before the answer is sent; a file this request stored is removed again if the answer
is refused. The answer's path has the larger body limit of
``entrypoints.http.middleware.UPLOAD_PATHS``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from entrypoints.http.files import Sha
from entrypoints.web.listing import Column, list_params, paged, xlsx_response
from entrypoints.web.pages import Page, PageDep, describe
from entrypoints.web.uploads import download, limits, stored, uploads
from lifecycle.errors import InvalidInput
from workflows import answers
from workflows import commands as c
from workflows import queries_exits_pages as qx
from workflows import queries_portal_pages as q

router = APIRouter(include_in_schema=False)

ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TenancyId = Annotated[int, Path(ge=1, le=2**63 - 1)]

COLUMNS = (
    Column("created_at", "时间", "Sent", sortable=True),
    Column("subject", "标题", "Subject", sortable=True),
    Column("legal", "法律文书", "Legal notice"),
    Column("read", "已读", "Read"),
    Column("read_at", "阅读时间", "Read at", sortable=True),
)


@router.get("/portal/inbox", name="web_portal_inbox", response_model=None)
def inbox(page: PageDep) -> Response:
    query = page.request.query_params
    params = list_params(query, COLUMNS, "created_at")
    if "dir" not in query:
        params = replace(params, descending=True)
    unread_only = query.get("unread", "") == "1"
    data = page.query(
        q.inbox_rows,
        firm_id=page.firm_id,
        unread_only=unread_only,
        paging=params.paging,
    )
    if params.export:
        return xlsx_response("inbox", COLUMNS, data["items"], page.lang, sheet="inbox")
    return page.render(
        "portal/inbox.html",
        paged=paged(data["items"], params),
        columns=COLUMNS,
        unread=data["unread"],
        unread_only=unread_only,
        tenancies=page.query(q.firm_tenancies, firm_id=page.firm_id),
    )


@router.get("/portal/inbox/{item_id}", name="web_portal_inbox_item")
def inbox_item(page: PageDep, item_id: ItemId) -> HTMLResponse:
    firm_id = page.firm_id
    item = page.query(q.inbox_item, firm_id=firm_id, item_id=item_id)
    if item["read_at"] is None:
        # Opening a notice marks it read, through the same command as the API's.
        page.act(c.MarkInboxRead(item_ids=(item_id,), firm_id=firm_id, actor=page.principal.actor))
    return page.render("portal/inbox_item.html", item=item)


# ---- answering ---------------------------------------------------------------------------------
@router.get("/portal/answer/{tenancy_id}", name="web_portal_answer")
def answer_form(page: PageDep, tenancy_id: TenancyId) -> HTMLResponse:
    ctx = page.query(q.answer_context, tenancy_id=tenancy_id)
    return page.render("portal/answer.html", ctx=ctx, limits=limits())


@router.post("/portal/answer/{tenancy_id}", name="web_portal_answer_send", response_model=None)
def answer_send(page: PageDep, tenancy_id: TenancyId) -> Response:
    try:
        return _answer(page, tenancy_id)
    finally:
        for upload in uploads(page):
            upload.file.close()  # the spooled copies of the files, whatever happened


#: The answer form's fields as it names them, by kind of answer (the command names the text
#: ``grounds`` or ``plan``; the form, ``text``).
ANSWER_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    kind: {
        "text": text,
        "grounds": text,
        "plan": text,
        "attachments": ("附件", "Attachments"),
    }
    for kind, text in (
        ("defence", ("陈述申辩的事实和理由", "Your facts and reasons")),
        ("plan", ("整改方案", "The plan")),
    )
}


def _answer(page: Page, tenancy_id: int) -> Response:
    here = f"/portal/answer/{tenancy_id}"
    ctx = page.query(q.answer_context, tenancy_id=tenancy_id)
    if ctx["sent"]:
        return page.redirect(here, ("答复已提交，请勿重复提交", "Your answer is on file already"))
    if not ctx["open"]:
        return page.render("portal/answer.html", ctx=ctx, limits=limits(), status=409)
    text = page.field("text").strip()
    try:
        if not text:
            raise InvalidInput(
                "text",
                "请填写陈述申辩的事实和理由 / state your facts and reasons"
                if ctx["kind"] == "defence"
                else "请填写整改方案 / write the rectification plan",
            )
        version = page.field("version")
        expected = int(version) if version.isdigit() and len(version) < 19 else None
        kind, field = (
            (answers.FileDefence, "grounds")
            if ctx["kind"] == "defence"
            else (answers.FilePlan, "plan")
        )
        with stored(page) as metas:
            command: c.Command = kind(
                tenancy_id=tenancy_id,
                expected_version=expected,
                attachments=metas,
                actor=page.principal.actor,
                **{field: text},
            )
            page.act(command)
    except InvalidInput as err:
        # The form comes back with the text typed and the problem beside its field (files
        # cannot be kept by a browser: the person chooses them again).
        said = describe(err, page.lang, ANSWER_LABELS.get(str(ctx["kind"]), {}))
        problems: dict[str, Any] = {
            {"grounds": "text", "plan": "text"}.get(err.field, err.field): said
        }
        return page.render(
            "portal/answer.html",
            ctx=ctx,
            limits=limits(),
            status=422,
            text=text,
            problems=problems,
            files_again=bool(uploads(page)),
        )
    return page.redirect(
        here,
        (
            "已提交，运营方将在裁决前审阅您的材料",
            "Sent: the operators will read it before they decide",
        ),
    )


@router.get("/portal/answer/{tenancy_id}/files/{sha256}", name="web_portal_answer_file")
def answer_file(page: PageDep, tenancy_id: TenancyId, sha256: Sha) -> Response:
    meta = page.query(qx.tenancy_attachment, tenancy_id=tenancy_id, sha256=sha256)
    return download(page, meta)


# ---- leaving ---------------------------------------------------------------------------------
@router.get("/portal/exit/{tenancy_id}", name="web_portal_exit")
def exit_form(page: PageDep, tenancy_id: TenancyId) -> HTMLResponse:
    ctx = page.query(q.exit_request_context, tenancy_id=tenancy_id)
    return page.render("portal/exit.html", ctx=ctx, confirming=False)


#: The exit request form's fields as it names them.
EXIT_LABELS = {"leave_on": ("拟退出日期", "Leaving on"), "reason": ("退出理由", "Reasons")}


@router.post("/portal/exit/{tenancy_id}", name="web_portal_exit_send", response_model=None)
def exit_send(page: PageDep, tenancy_id: TenancyId) -> Response:
    ctx = page.query(q.exit_request_context, tenancy_id=tenancy_id)
    raw = page.field("leave_on").strip()
    reason = page.field("reason").strip() or None
    try:
        return _exit_request(page, ctx, tenancy_id, raw, reason)
    except InvalidInput as err:
        if not ctx["may_request"]:
            raise
        # The form again, with the date and the reasons typed, the problem beside its field.
        return page.render(
            "portal/exit.html",
            status=422,
            ctx=ctx,
            confirming=False,
            sent={"leave_on": raw[:20], "reason": reason or ""},
            problems={err.field: describe(err, page.lang, EXIT_LABELS)},
        )


def _exit_request(
    page: Page, ctx: dict[str, Any], tenancy_id: int, raw: str, reason: str | None
) -> Response:
    try:
        leave_on = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            "leave_on", "请填写日期，如 2024-06-30 / a date such as 2024-06-30", raw
        ) from None
    answers.check_exit_reason(reason)  # before asking to confirm: the handler's own rule
    if page.field("confirmed") != "1":
        if leave_on < ctx["earliest"]:
            raise InvalidInput(
                "leave_on",
                f"须提前 {ctx['period_zh']} 申请，最早可于 {ctx['earliest'].isoformat()} 退出 / "
                f"request {ctx['period_en']} ahead: the earliest day is {ctx['earliest']}",
                raw,
            )
        return page.render(
            "portal/exit.html", ctx=ctx, confirming=True, leave_on=leave_on, reason=reason or ""
        )
    page.act(
        answers.RequestVoluntaryExit(
            tenancy_id=tenancy_id,
            leave_on=leave_on,
            actor=page.principal.actor,
            reason=reason,
        )
    )
    return page.redirect(
        f"/portal/exit/{tenancy_id}",
        ("退出申请已提交，运营方确认后将通知您", "Request sent: the operators will confirm it"),
    )
