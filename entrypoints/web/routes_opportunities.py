"""城市机会清单 entries on pages: the firm's own entries in the portal (submit a need or a supply,
edit one that is waiting or was returned, see the introductions involving the firm), and the
operators' review in the console (the list with filters, sort, pages and Excel; one entry with
edit, return with a reason, accept, the suggested matches, introductions and their outcomes).

Scope: a firm sees only its own firm's entries (another firm's is "not found", as in the API);
staff and viewers the entries of their spaces. Returning and accepting ask first.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from entrypoints.http.files import Sha
from entrypoints.web.listing import Column, list_params, paged, xlsx_response
from entrypoints.web.pages import Page, PageDep, confirm_page, describe
from entrypoints.web.uploads import download, limits, stored
from lifecycle import opportunities as opp
from lifecycle.errors import InvalidInput, NotFound
from workflows import attachments, queries_http
from workflows import opportunity_commands as oc
from workflows import queries_opportunities as qo
from workflows import queries_opportunity_pages as q
from workflows.paging import Paging, Reach

router = APIRouter(include_in_schema=False)

EntryId = Annotated[int, Path(ge=1, le=2**63 - 1)]
IntroductionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
#: What an entry's file inputs say about the files (at most this many per entry).
ENTRY_FILES = limits(attachments.MAX_ENTRY_FILES)
UPLOADED = ("附件已上传", "Files uploaded")

#: The entry fields as a person reads them (error messages name the field in words).
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "kind": ("类别", "Kind"),
    "space": ("空间", "Space"),
    "title": ("名称", "Title"),
    "description": ("内容简介", "Description"),
    "field": ("领域", "Field"),
    "sought": ("需求 / 可提供", "Sought / offered"),
    "contact_name": ("联系人", "Contact person"),
    "contact_phone": ("联系电话", "Contact phone"),
    "contact_public": ("公开联系方式", "Contacts public"),
    "valid_until": ("有效期至", "Valid until"),
    "reason": ("理由", "Reasons"),
    "note": ("备注", "Note"),
    "changes": ("修改", "Changes"),
    "outcome": ("对接结果", "Outcome"),
    "firm": ("企业", "Firm"),
    "form_token": ("表单", "Form"),
    "entries": ("清单条目", "Entries"),
    "number": ("期数", "Number"),
    "list_title": ("标题", "Title"),
    "other_id": ("对接条目", "Entry to introduce"),
    "need_id": ("新场景（需求）", "Need"),
    "supply_id": ("新产品（供给）", "Supply"),
}
STATUSES: dict[str, tuple[str, str]] = {
    k: (v.split(" / ")[0], v.split(" / ")[1]) for k, v in opp.STATUS_LABELS.items()
}
KINDS = opp.KINDS
#: The outcomes an operator records after the introduction itself.
OUTCOMES: dict[str, tuple[str, str]] = {
    k: (v.split(" / ")[0], v.split(" / ")[1]) for k, v in opp.OUTCOMES.items() if k != "introduced"
}
#: The statuses in which an entry may be introduced to another.
INTRODUCIBLE = frozenset({opp.ACCEPTED, opp.LISTED, opp.PUBLISHED})
BADGES = {
    "submitted": "warn",
    "returned": "bad",
    "accepted": "ok",
    "listed": "ok",
    "published": "ok",
}

COLUMNS = (
    Column("id", "编号", "No.", sortable=True, numeric=True),
    Column("kind_zh", "类别", "Kind", sortable=False),
    Column("title", "名称", "Title", sortable=True),
    Column("firm", "发布单位", "Submitted by"),
    Column("space", "空间", "Space", sortable=True),
    Column("field_zh", "领域", "Field"),
    Column("status_label", "状态", "Status", sortable=True),
    Column("valid_until", "有效期至", "Valid until", sortable=True),
    Column("updated_at", "更新时间", "Updated", sortable=True),
)


def error_message(page: Page, exc: InvalidInput) -> str:
    """Bad input in words, the field named as the form names it."""
    return describe(exc, page.lang, FIELD_LABELS)


def visible_entry(page: Page, entry_id: int) -> None:
    """404 unless the entry is the firm's own (a firm) or in the account's spaces (staff)."""
    scope = page.query(qo.entry_scope, entry_id=entry_id)
    p = page.principal
    if scope is None:
        raise NotFound("opportunity_entry", entry_id)
    space_id, firm_id = scope
    if p.role == "firm":
        visible = p.firm_id is not None and firm_id == p.firm_id
    else:
        visible = p.may_see_space(space_id)
    if not visible:
        raise NotFound("opportunity_entry", entry_id)


def entry_values(page: Page, *, partial: bool = False) -> dict[str, Any]:
    """The entry fields of the form (text as typed; the handler checks lengths and the field).
    ``partial``: an edit — an empty optional field is left as it is."""
    values: dict[str, Any] = {}
    for name in ("title", "description", "field", "sought", "contact_name", "contact_phone"):
        text = page.field(name)
        if len(text) > 5000:
            raise InvalidInput(name, "内容过长 / too long")
        values[name] = text
    if not values["contact_phone"].strip():
        values["contact_phone"] = None
    values["contact_public"] = page.field("contact_public") == "1"
    raw = page.field("valid_until").strip()
    if not raw and partial:
        values["valid_until"] = None
    else:
        try:
            values["valid_until"] = date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(
                "valid_until", "请填写有效日期（年-月-日） / give a date (YYYY-MM-DD)", raw[:20]
            ) from None
    return values


# ---- the firm's portal ------------------------------------------------------------------------
def _portal_page(
    page: Page, *, error: str = "", form: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    firm_id = page.firm_id
    return page.render(
        "portal/opportunities.html",
        status=status,
        entries=page.query(
            q.entry_rows,
            reach=Reach(firm_id=firm_id),
            paging=Paging("id", descending=True, limit=200),
        ),
        introductions=page.query(qo.introductions, firm_id=firm_id),
        spaces=page.query(q.firm_spaces, firm_id=firm_id),
        kinds=KINDS,
        badges=BADGES,
        error=error,
        values=form or {},
        limits=ENTRY_FILES,
    )


@router.get("/portal/opportunities", name="web_portal_opportunities")
def portal_entries(page: PageDep) -> HTMLResponse:
    return _portal_page(page)


@router.post("/portal/opportunities", name="web_portal_opportunity_submit", response_model=None)
def portal_submit(page: PageDep) -> Response:
    firm_id = page.firm_id
    typed = {k: page.field(k)[:5000] for k in FIELD_LABELS}
    typed["contact_public"] = "1" if page.field("contact_public") == "1" else ""
    spaces = {s["code"] for s in page.query(q.firm_spaces, firm_id=firm_id)}
    try:
        kind = page.field("kind")
        if kind not in KINDS:
            raise InvalidInput("kind", "请选择新场景或新产品 / choose a need or a supply")
        space = page.field("space")
        if space not in spaces:
            raise InvalidInput("space", "请选择本企业入驻的空间 / choose a space of your firm")
        values = entry_values(page)
        with stored(page, most=attachments.MAX_ENTRY_FILES) as files:
            page.act(
                oc.SubmitEntry(
                    space=space,
                    firm=str(firm_id),
                    kind=kind,
                    as_firm=firm_id,
                    actor=page.principal.actor,
                    attachments=files,
                    **values,
                )
            )
    except InvalidInput as exc:
        return _portal_page(page, error=error_message(page, exc), form=typed, status=422)
    return page.redirect(
        "/portal/opportunities",
        ("已提交，等待空间运营方审核", "Submitted; the space's operator will review it"),
    )


def _portal_entry(
    page: Page, entry_id: int, *, error: str = "", file_error: str = "", status: int = 200
) -> HTMLResponse:
    visible_entry(page, entry_id)
    found = page.query(q.entry_page, entry_id=entry_id, suggestions=False)
    return page.render(
        "portal/opportunity.html",
        status=status,
        entry=found,
        editable=found["status"] in (opp.SUBMITTED, opp.RETURNED),
        badges=BADGES,
        error=error,
        file_error=file_error,
        limits=ENTRY_FILES,
    )


@router.get("/portal/opportunities/{entry_id}", name="web_portal_opportunity")
def portal_entry(page: PageDep, entry_id: EntryId) -> HTMLResponse:
    return _portal_entry(page, entry_id)


@router.post(
    "/portal/opportunities/{entry_id}", name="web_portal_opportunity_edit", response_model=None
)
def portal_edit(page: PageDep, entry_id: EntryId) -> Response:
    visible_entry(page, entry_id)
    try:
        values = entry_values(page, partial=True)
        page.act(
            oc.EditEntry(
                entry_id=entry_id, as_firm=page.firm_id, actor=page.principal.actor, **values
            )
        )
    except InvalidInput as exc:
        return _portal_entry(page, entry_id, error=error_message(page, exc), status=422)
    return page.redirect(
        f"/portal/opportunities/{entry_id}",
        ("已保存，等待空间运营方审核", "Saved; the space's operator will review it"),
    )


@router.post(
    "/portal/opportunities/{entry_id}/attachments",
    name="web_portal_opportunity_attach",
    response_model=None,
)
def portal_attach(page: PageDep, entry_id: EntryId) -> Response:
    return _attach(page, entry_id, portal=True)


@router.get(
    "/portal/opportunities/{entry_id}/files/{sha256}",
    name="web_portal_opportunity_file",
    response_model=None,
)
def portal_file(page: PageDep, entry_id: EntryId, sha256: Sha) -> Response:
    return entry_file(page, entry_id, sha256)


def _attach(page: Page, entry_id: int, *, portal: bool) -> Response:
    """The form's files added to the entry (by its firm in the portal, by staff in the
    console); a refused file is said on the entry's page, nothing written."""
    visible_entry(page, entry_id)
    as_firm = page.firm_id if portal else None
    try:
        with stored(page, most=attachments.MAX_ENTRY_FILES) as files:
            page.act(
                oc.AttachToEntry(
                    entry_id=entry_id,
                    attachments=files,
                    as_firm=as_firm,
                    actor=page.principal.actor,
                )
            )
    except InvalidInput as exc:
        again = _portal_entry if portal else _console_entry
        return again(page, entry_id, file_error=error_message(page, exc), status=422)
    where = "portal" if portal else "console"
    return page.redirect(f"/{where}/opportunities/{entry_id}#files", UPLOADED)


def entry_file(page: Page, entry_id: int, sha256: str) -> Response:
    """A file of an entry the account may see (anyone else: "not found")."""
    visible_entry(page, entry_id)
    return download(page, page.query(qo.entry_attachment, entry_id=entry_id, sha256=sha256))


# ---- the console ------------------------------------------------------------------------------
@router.get("/console/opportunities", name="web_opportunities", response_model=None)
def entries(page: PageDep) -> Response:
    query = page.request.query_params
    params = list_params(query, COLUMNS, "id")
    if "dir" not in query:
        params = replace(params, descending=True)
    rows = page.query(
        q.entry_rows,
        reach=Reach(space_ids=page.principal.spaces),
        space=query.get("space", "")[:64] or None,
        status=query.get("status", "")[:20] or None,
        kind=query.get("kind", "")[:20] or None,
        text=query.get("q", "")[:100] or None,
        paging=replace(
            params.paging, sort="status" if params.sort == "status_label" else params.sort
        ),
    )
    for row in rows:
        zh, en = STATUSES.get(row["status"], ("", ""))
        row["status_label"] = zh if page.lang == "zh" else en
        if page.lang != "zh":
            row["kind_zh"] = row["kind_en"]
        row["firm"] = row["firm"] or row["space_name"]
    if params.export:
        return xlsx_response("opportunity-entries", COLUMNS, rows, page.lang, sheet="entries")
    return page.render(
        "console/opportunities.html",
        paged=paged(rows, params),
        counts=page.query(q.status_counts, space_ids=page.principal.spaces),
        columns=COLUMNS,
        statuses=STATUSES,
        kinds=KINDS,
        badges=BADGES,
    )


def _staff(page: Page) -> bool:
    return page.principal.role in ("admin", "operator")


def _console_entry(
    page: Page, entry_id: int, *, error: str = "", file_error: str = "", status: int = 200
) -> HTMLResponse:
    visible_entry(page, entry_id)
    found = page.query(q.entry_page, entry_id=entry_id)
    ids = page.principal.spaces
    mine = {s["code"] for s in page.query(queries_http.space_codes, ids=ids)}
    for suggestion in found["suggestions"]:
        suggestion["mine"] = suggestion["space"] in mine
    return page.render(
        "console/opportunity.html",
        status=status,
        entry=found,
        staff=_staff(page),
        editable=found["status"] in opp.EDITABLE,
        decidable=found["status"] in opp.RETURNABLE,
        introducible=found["status"] in INTRODUCIBLE,
        outcomes=OUTCOMES,
        badges=BADGES,
        error=error,
        file_error=file_error,
        limits=ENTRY_FILES,
    )


@router.get("/console/opportunities/{entry_id}", name="web_opportunity")
def entry(page: PageDep, entry_id: EntryId) -> HTMLResponse:
    return _console_entry(page, entry_id)


@router.post(
    "/console/opportunities/{entry_id}/edit", name="web_opportunity_edit", response_model=None
)
def edit(page: PageDep, entry_id: EntryId) -> Response:
    visible_entry(page, entry_id)
    try:
        values = entry_values(page, partial=True)
        page.act(oc.EditEntry(entry_id=entry_id, actor=page.principal.actor, **values))
    except InvalidInput as exc:
        return _console_entry(page, entry_id, error=error_message(page, exc), status=422)
    return page.redirect(f"/console/opportunities/{entry_id}", ("已保存", "Saved"))


@router.post(
    "/console/opportunities/{entry_id}/attachments",
    name="web_opportunity_attach",
    response_model=None,
)
def attach(page: PageDep, entry_id: EntryId) -> Response:
    return _attach(page, entry_id, portal=False)


@router.get(
    "/console/opportunities/{entry_id}/files/{sha256}",
    name="web_opportunity_file",
    response_model=None,
)
def console_file(page: PageDep, entry_id: EntryId, sha256: Sha) -> Response:
    return entry_file(page, entry_id, sha256)


def _notified(found: dict[str, Any]) -> tuple[str, str]:
    if found["firm"]:
        return (f"{found['firm']}（站内消息及邮件）", f"{found['firm']} (inbox and e-mail)")
    return ("无（空间自有条目）", "Nobody (the space's own entry)")


@router.post(
    "/console/opportunities/{entry_id}/return",
    name="web_opportunity_return",
    response_model=None,
)
def return_entry(page: PageDep, entry_id: EntryId) -> Response:
    visible_entry(page, entry_id)
    here = f"/console/opportunities/{entry_id}"
    reason = page.field("reason").strip()
    if not reason:
        return _console_entry(
            page,
            entry_id,
            error=error_message(page, InvalidInput("reason", "请写明退回理由 / give the reasons")),
            status=422,
        )
    if page.field("confirmed") != "1":
        found = page.query(qo.entry, entry_id=entry_id)
        return confirm_page(
            page,
            action=f"{here}/return",
            title=("确认退回条目", "Confirm returning the entry"),
            what=[
                (
                    f"退回「{found['title']}」，请发布单位修改后重新提交",
                    f"Return “{found['title']}” for the submitter to change and resubmit",
                ),
                (f"理由：{reason}", f"Reasons: {reason}"),
            ],
            notified=_notified(found),
            fields={"reason": reason[:600]},
            back=here,
        )
    try:
        page.act(oc.ReturnEntry(entry_id=entry_id, actor=page.principal.actor, reason=reason))
    except InvalidInput as exc:
        return _console_entry(page, entry_id, error=error_message(page, exc), status=422)
    return page.redirect(here, ("已退回，发布单位已收到通知", "Returned; the submitter is told"))


@router.post(
    "/console/opportunities/{entry_id}/accept",
    name="web_opportunity_accept",
    response_model=None,
)
def accept(page: PageDep, entry_id: EntryId) -> Response:
    visible_entry(page, entry_id)
    here = f"/console/opportunities/{entry_id}"
    if page.field("confirmed") != "1":
        found = page.query(qo.entry, entry_id=entry_id)
        return confirm_page(
            page,
            action=f"{here}/accept",
            title=("确认采纳条目", "Confirm accepting the entry"),
            what=[
                (f"采纳「{found['title']}」", f"Accept “{found['title']}”"),
                (
                    "条目等待区县编入下一期城市机会清单",
                    "The entry waits for the district to put it on the next list",
                ),
            ],
            notified=_notified(found),
            fields={},
            back=here,
        )
    page.act(oc.AcceptEntry(entry_id=entry_id, actor=page.principal.actor))
    return page.redirect(here, ("已采纳，等待编入清单", "Accepted; it waits for the next list"))


@router.post(
    "/console/opportunities/{entry_id}/introduce",
    name="web_opportunity_introduce",
    response_model=None,
)
def introduce(page: PageDep, entry_id: EntryId) -> Response:
    visible_entry(page, entry_id)
    raw = page.field("other_id")
    try:
        if not raw.isdigit() or len(raw) > 18:
            raise InvalidInput("other_id", "请选择要对接的条目 / choose the entry to introduce")
        other = int(raw)
        visible_entry(page, other)
        me = page.query(qo.entry, entry_id=entry_id)
        need, supply = (entry_id, other) if me["kind"] == opp.NEED else (other, entry_id)
        note = page.field("note").strip()[:1000] or None
        page.act(
            oc.Introduce(need_id=need, supply_id=supply, note=note, actor=page.principal.actor)
        )
    except InvalidInput as exc:
        return _console_entry(page, entry_id, error=error_message(page, exc), status=422)
    return page.redirect(
        f"/console/opportunities/{entry_id}", ("已记录对接", "Introduction recorded")
    )


@router.post(
    "/console/opportunities/{entry_id}/introductions/{introduction_id}",
    name="web_opportunity_outcome",
    response_model=None,
)
def outcome(page: PageDep, entry_id: EntryId, introduction_id: IntroductionId) -> Response:
    visible_entry(page, entry_id)
    found = page.query(qo.entry, entry_id=entry_id)
    if not any(i["id"] == introduction_id for i in found["introductions"]):
        raise NotFound("introduction", introduction_id)
    chosen = page.field("outcome")
    note = page.field("note").strip()[:1000] or None
    try:
        if chosen not in OUTCOMES:
            raise InvalidInput("outcome", "请选择对接结果 / choose the outcome")
        page.act(
            oc.RecordOutcome(
                introduction_id=introduction_id,
                outcome=chosen,
                note=note,
                actor=page.principal.actor,
            )
        )
    except InvalidInput as exc:
        return _console_entry(page, entry_id, error=error_message(page, exc), status=422)
    return page.redirect(
        f"/console/opportunities/{entry_id}", ("已记录对接结果", "Outcome recorded")
    )
