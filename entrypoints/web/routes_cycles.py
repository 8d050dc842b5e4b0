"""The review-cycle board (console) and the annual figures form (portal).

Console: the cycles of the account's spaces with their progress; one cycle's firms (missing,
submitted, decided with the grade); opening a cycle, reminding the firms that have not
reported, importing the figures sheet (all rows or none), previewing the decision with the A
cap and deciding it — opening and deciding run outside the request as a job the page polls.

Portal: a firm's reviews; the figures form of one (every field, checked field by field, a
draft kept on the server, submitted through ``SubmitReview``), or its row of the sheet.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from entrypoints.web import jobs
from entrypoints.web.listing import XLSX, Column, list_params, paged, xlsx_response
from entrypoints.web.pages import PageDep, describe
from lifecycle.errors import Conflict, InvalidInput, NotFound, bilingual
from workflows import excel, forms, ledgers, queries, queries_http
from workflows import queries_cycles_pages as q
from workflows.commands import SubmitReview
from workflows.cycle_pages import RemindCycle, SaveFigureDraft, StartCycleJob

router = APIRouter(include_in_schema=False)
#: A year in a page's address (a review period): outside the years a review can have, the
#: page is "not found" as any other record not there.
Period = Annotated[int, Path(ge=2000, le=2999)]
TenancyId = Annotated[int, Path(ge=1, le=2**63 - 1)]

BOARD_COLUMNS = (
    Column("space", "空间", "Space", sortable=True),
    Column("space_name", "空间名称", "Space name"),
    Column("period", "考核年度", "Year", sortable=True, numeric=True),
    Column("total", "企业数", "Firms", sortable=True, numeric=True),
    Column("missing", "未报送", "Missing", sortable=True, numeric=True),
    Column("overdue", "逾期", "Overdue", sortable=True, numeric=True),
    Column("submitted", "已报送", "Submitted", sortable=True, numeric=True),
    Column("decided", "已评定", "Decided", sortable=True, numeric=True),
    Column("reported_share", "报送进度", "Reported", sortable=True, numeric=True),
    Column("due_on", "报送截止", "Due", sortable=True),
)
MEMBER_COLUMNS = (
    Column("tenancy_id", "入驻编号", "Tenancy", sortable=True, numeric=True),
    Column("firm", "企业", "Firm", sortable=True),
    Column("uscc", "统一社会信用代码", "USCC", sortable=True),
    Column("standing", "状态", "Standing", sortable=True),
    Column("due_on", "截止日", "Due", sortable=True),
    Column("submitted_at", "报送时间", "Submitted", sortable=True),
    Column("score", "得分", "Score", sortable=True, numeric=True),
    Column("grade", "等级", "Grade", sortable=True),
    Column("consequence", "考核结论", "Consequence"),
)
STANDINGS = ("missing", "overdue", "submitted", "decided")
UPLOAD_MAX = excel.MAX_WORKBOOK_BYTES


def _period(raw: str) -> int:
    if not raw.strip().isdigit() or not 2000 <= int(raw) <= 2100:
        raise InvalidInput(
            "period", "须为 2000–2100 之间的年份 / must be a year from 2000 to 2100", raw
        )
    return int(raw)


# ---- the board ------------------------------------------------------------------------------
@router.get("/console/cycles", name="web_cycles")
def board(page: PageDep) -> Response:
    return _board(page)


def _board(
    page: PageDep,
    *,
    status: int = 200,
    sent: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
) -> Response:
    """The board; a refused opening form comes back with the space and year sent and its
    problem beside the field."""
    query = page.request.query_params
    params = list_params(query, BOARD_COLUMNS, "period")
    space = query.get("space", "").strip()[:64]
    period_raw = query.get("period", "").strip()
    period = int(period_raw) if period_raw.isdigit() and len(period_raw) == 4 else None
    rows: list[dict[str, Any]] = page.query(
        q.cycle_board, space_ids=page.principal.spaces, space=space, period=period
    )
    key = params.sort
    rows.sort(key=lambda r: (r[key] is None, r[key] if r[key] is not None else 0, r["space"]))
    if params.sort == "period" and "sort" not in query:
        rows.reverse()  # newest year first by default
    elif params.descending:
        rows.reverse()
    if params.export:
        return xlsx_response("review-cycles", BOARD_COLUMNS, rows, page.lang, sheet="考核周期")
    window = rows[params.offset : params.offset + params.limit]
    return page.render(
        "console/cycles.html",
        status=status,
        sent=sent or {},
        problems=problems or {},
        paged=paged(window, params),
        columns=BOARD_COLUMNS,
        spaces=page.query(q.board_spaces, space_ids=page.principal.spaces),
        default_period=page.query(q.day_of).year - 1,
        space=space,
        period=period_raw,
    )


#: The opening form's fields as it names them.
OPEN_LABELS = {"space": ("空间", "Space"), "period": ("考核年度", "Year")}


@router.post("/console/cycles/open", name="web_cycle_open")
def open_cycle(page: PageDep) -> Response:
    space = page.field("space").strip()
    try:
        period = _period(page.field("period"))
    except InvalidInput as err:
        sent = {"space": space[:64], "period": page.field("period")[:20]}
        problems = {err.field: describe(err, page.lang, OPEN_LABELS)}
        return _board(page, status=422, sent=sent, problems=problems)
    space_id = page.query(queries_http.space_id, code=space)
    if not page.principal.may_see_space(space_id):
        raise NotFound("space", space)
    if page.field("confirmed") != "1":
        count = page.query(q.openable, space=space, period=period)
        return page.render(
            "console/cycle_confirm.html",
            action="/console/cycles/open",
            hidden={"space": space, "period": str(period)},
            title_zh=f"启动 {space} {period} 年度考核",
            title_en=f"Open the {period} review of {space}",
            what_zh=f"将为空间 {space} 的 {count} 家在驻企业启动 {period} 年度考核：每家企业进入"
            "“考核中”，并收到《年度考核启动通知》（站内信与邮件），报送截止日按规则计算。启动后不能撤回。",
            what_en=f"The {period} review opens for {count} resident firm(s) of {space}: each "
            "goes under review and is sent the review-opened notice (inbox and e-mail), with the "
            "due date the rulebook sets. This cannot be undone.",
            back=f"/console/cycles?space={space}",
        )
    job_id = int(
        page.act(
            StartCycleJob(space=space, period=period, kind="open", actor=page.principal.actor)
        )["job_id"]
    )
    jobs.launch(page.app, job_id)
    return page.redirect(
        f"/console/cycles/{space}/{period}?job={job_id}",
        ("考核启动已开始，进度见本页", "the cycle is being opened: progress on this page"),
    )


# ---- one cycle -----------------------------------------------------------------------------
@router.get("/console/cycles/{space}/{period}", name="web_cycle")
def cycle(page: PageDep, space: str, period: Period) -> Response:
    query = page.request.query_params
    params = list_params(query, MEMBER_COLUMNS, "tenancy_id")
    standing = query.get("standing", "")
    standing = standing if standing in STANDINGS else ""
    search = query.get("q", "").strip()[:100]
    summary = page.query(q.cycle_summary, space=space, period=period)
    sort = "status" if params.sort == "standing" else params.sort
    rows = page.query(
        q.cycle_members,
        space=space,
        period=period,
        standing=standing,
        search=search,
        paging=replace(params.paging, sort=sort),
    )
    if params.export:
        zh = page.lang == "zh"
        shown = [
            {
                **r,
                "standing": r["standing_zh"] if zh else r["standing_en"],
                "consequence": r["consequence_zh"] if zh else r["consequence_en"],
            }
            for r in rows
        ]
        return xlsx_response(f"cycle-{space}-{period}", MEMBER_COLUMNS, shown, page.lang)
    job = _current_job(page, summary, query.get("job", ""))
    return page.render(
        "console/cycle.html",
        summary=summary,
        paged=paged(rows, params),
        columns=MEMBER_COLUMNS,
        standing=standing,
        search=search,
        job=job,
        problems=[],
    )


def _current_job(page: PageDep, summary: dict[str, Any], wanted: str) -> dict[str, Any] | None:
    """The job to show: the one asked for, else the newest still live, else the newest."""
    listed: list[dict[str, Any]] = summary["jobs"]
    job = next((j for j in listed if str(j["id"]) == wanted), None)
    job = job or next((j for j in listed if j["live"]), None) or (listed[0] if listed else None)
    if job is not None and job["claimable"] and not jobs.running(page.app, job["id"]):
        jobs.launch(page.app, job["id"])  # queued or left by a stopped server: take it up
    return job


@router.get("/console/cycles/{space}/{period}/jobs/{job_id}", name="web_cycle_job")
def cycle_job(page: PageDep, space: str, period: Period, job_id: int) -> Response:
    job = page.query(q.cycle_job, space=space, period=period, job_id=job_id)
    if job["claimable"] and not jobs.running(page.app, job_id):
        jobs.launch(page.app, job_id)
    if page.request.headers.get("hx-request"):
        return page.render("console/cycle_job.html", job=job, space=space, period=period)
    return page.render("console/cycle_job_page.html", job=job, space=space, period=period)


@router.get("/console/cycles/{space}/{period}/sheet", name="web_cycle_sheet")
def figures_sheet(page: PageDep, space: str, period: Period) -> Response:
    """The figures sheet of this cycle (``forms figures --format xlsx --space --period``)."""
    rb = page.query(queries.space_rulebook, space=space)
    cohort = page.query(ledgers.figures_cohort, space=space, period=period)
    book = excel.template(
        "figures",
        forms.figure_fields(rb),
        rows=[{"uscc": uscc, "name": name} for uscc, name in cohort],
        notes=[
            f"规则 / rulebook: {rb.meta.name_zh} ({rb.version[:12]})",
            f"考核年度 / period: {period}",
        ],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="figures-{space}-{period}.xlsx"'},
    )


@router.post("/console/cycles/{space}/{period}/remind", name="web_cycle_remind")
def remind(page: PageDep, space: str, period: Period) -> Response:
    if page.field("confirmed") != "1":
        summary = page.query(q.cycle_summary, space=space, period=period)
        missing = summary["counts"]["missing"] if summary["counts"] else 0
        return page.render(
            "console/cycle_confirm.html",
            action=f"/console/cycles/{space}/{period}/remind",
            hidden={},
            title_zh=f"提醒未报送企业（{space} {period} 年度）",
            title_en=f"Remind the firms that have not reported ({space} {period})",
            what_zh=f"将向 {missing} 家尚未报送 {period} 年度考核数据的企业发送"
            "《年度考核数据报送提醒》（站内信与邮件）。同一企业同一天只提醒一次。",
            what_en=f"{missing} firm(s) that have not reported their {period} figures will be "
            "sent a reminder (inbox and e-mail). A firm is reminded at most once a day.",
            back=f"/console/cycles/{space}/{period}",
        )
    result = page.act(RemindCycle(space=space, period=period, actor=page.principal.actor))
    queued, already = int(result["queued"]), int(result["already"])
    return page.redirect(
        f"/console/cycles/{space}/{period}",
        (
            f"已向 {queued} 家企业发送提醒" + (f"；{already} 家今天已提醒过" if already else ""),
            f"{queued} firm(s) reminded"
            + (f"; {already} already reminded today" if already else ""),
        ),
    )


def _read_upload(upload: UploadFile | None) -> tuple[dict[str, str], list[forms.FigureRow], str]:
    """The figures sheet sent: its columns and rows, and its file name."""
    if upload is None:
        raise InvalidInput("file", "请选择考核数据表（.xlsx） / choose the figures sheet (.xlsx)")
    try:
        data = upload.file.read(UPLOAD_MAX + 1)
    finally:
        upload.file.close()  # the page's form is parsed by hand: nothing else closes it
    if len(data) > UPLOAD_MAX:
        raise InvalidInput("file", f"文件超过 {UPLOAD_MAX // 1_048_576} MB / larger than the limit")
    name = os.path.basename(upload.filename or "figures.xlsx")[:100]
    with tempfile.TemporaryDirectory(prefix="innospace-upload-") as folder:
        path = os.path.join(folder, "figures.xlsx")
        with open(path, "wb") as out:
            out.write(data)
        columns, rows = excel.read_figures(path, "file", max_unpacked=excel.PAGE_UNPACKED_BYTES)
    return columns, rows, name


@router.post("/console/cycles/{space}/{period}/import", name="web_cycle_import")
def import_figures(page: PageDep, space: str, period: Period) -> Response:
    problems: list[dict[str, Any]] = []
    try:
        columns, rows, name = _read_upload(page.upload("file"))
        result = page.act(
            forms.ImportFigures(
                space=space,
                period=period,
                rows=tuple(rows),
                columns=columns,
                source=name,
                actor=page.principal.actor,
            )
        )
    except forms.FormProblems as err:
        problems = [p.to_dict() for p in err.problems]
    except InvalidInput as err:
        problems = [
            {
                "row": None,
                "column": None,
                "field": err.field,
                "label_zh": "",
                "expected_zh": bilingual(err.rule),
                "expected_en": "",
                "given": None,
            }
        ]
    if problems:
        summary = page.query(q.cycle_summary, space=space, period=period)
        params = list_params({}, MEMBER_COLUMNS, "tenancy_id")
        rows_shown = page.query(q.cycle_members, space=space, period=period, paging=params.paging)
        return page.render(
            "console/cycle.html",
            status=422,
            summary=summary,
            paged=paged(rows_shown, params),
            columns=MEMBER_COLUMNS,
            standing="",
            search="",
            job=None,
            problems=problems,
        )
    stored, skipped, kept = len(result["stored"]), len(result["skipped"]), len(result["kept"])
    return page.redirect(
        f"/console/cycles/{space}/{period}",
        (
            f"已导入 {stored} 家企业的考核数据并报送"
            + (f"；{skipped} 家未填写，已跳过" if skipped else "")
            + (f"；{kept} 家已报送，保留其已报送的数据（导入不覆盖）" if kept else ""),
            f"figures of {stored} firm(s) imported and submitted"
            + (f"; {skipped} blank row(s) skipped" if skipped else "")
            + (f"; {kept} firm(s) had submitted already: their figures are kept" if kept else ""),
        ),
    )


@router.get("/console/cycles/{space}/{period}/preview", name="web_cycle_preview")
def preview(page: PageDep, space: str, period: Period) -> Response:
    result = page.query(q.cycle_preview, space=space, period=period)
    return page.render("console/cycle_preview.html", preview=result, space=space, period=period)


@router.post("/console/cycles/{space}/{period}/decide", name="web_cycle_decide")
def decide(page: PageDep, space: str, period: Period) -> Response:
    if page.field("confirmed") != "1":
        return page.redirect(f"/console/cycles/{space}/{period}/preview")
    summary = page.query(q.cycle_summary, space=space, period=period)
    if summary["still_open"]:
        raise Conflict(
            f"尚有 {summary['still_open']} 家企业可在截止日（{summary['open_until']}）前报送，"
            "截止后方可集中评定 / "
            f"{summary['still_open']} firm(s) may report until {summary['open_until']}: "
            "the cycle is decided after the due date",
            space=space,
            period=period,
        )
    job_id = int(
        page.act(
            StartCycleJob(space=space, period=period, kind="decide", actor=page.principal.actor)
        )["job_id"]
    )
    jobs.launch(page.app, job_id)
    return page.redirect(
        f"/console/cycles/{space}/{period}?job={job_id}",
        ("集中评定已开始，进度见本页", "the cycle is being decided: progress on this page"),
    )


# ---- the portal: annual figures ------------------------------------------------------------


@router.get("/portal/figures", name="web_portal_figures")
def portal_figures(page: PageDep) -> Response:
    rows = page.query(q.firm_reviews, firm_id=page.firm_id)
    return page.render("portal/figures.html", reviews=rows)


def _form_page(
    page: PageDep,
    tenancy_id: int,
    period: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, tuple[str, str]] | None = None,
    status: int = 200,
    notice: tuple[str, str] | None = None,
) -> HTMLResponse:
    form = page.query(q.figure_form, tenancy_id=tenancy_id, period=period)
    shown = values if values is not None else (form["draft"] or form["submitted"])
    return page.render(
        "portal/figures_form.html",
        status=status,
        form=form,
        values=shown,
        errors=errors or {},
        notice=notice,
        received=page.request.query_params.get("received") == "1",
    )


@router.get("/portal/figures/{tenancy_id}/{period}", name="web_portal_figures_form")
def portal_figures_form(page: PageDep, tenancy_id: TenancyId, period: Period) -> Response:
    return _form_page(page, tenancy_id, period)


def _typed(page: PageDep, tenancy_id: int, period: int) -> dict[str, str]:
    form = page.query(q.figure_form, tenancy_id=tenancy_id, period=period)
    return {spec.code: page.field(spec.code).strip()[:100] for spec in form["fields"]}


def _submit(page: PageDep, tenancy_id: int, period: int, values: dict[str, str]) -> Response:
    figures, errors = page.query(
        q.check_figure_form, tenancy_id=tenancy_id, period=period, values=values
    )
    if errors:
        return _form_page(
            page,
            tenancy_id,
            period,
            values=values,
            errors=errors,
            status=422,
            notice=(
                f"有 {len(errors)} 项需要修改，未报送",
                f"{len(errors)} field(s) to correct; nothing was submitted",
            ),
        )
    page.act(
        SubmitReview(
            tenancy_id=tenancy_id, period=period, figures=figures, actor=page.principal.actor
        )
    )
    return page.redirect(
        f"/portal/figures/{tenancy_id}/{period}?received=1",
        (f"{period} 年度考核数据已报送，运营方已收到", f"your {period} figures were received"),
    )


@router.post("/portal/figures/{tenancy_id}/{period}", name="web_portal_figures_save")
def portal_figures_save(page: PageDep, tenancy_id: TenancyId, period: Period) -> Response:
    values = _typed(page, tenancy_id, period)
    if page.field("action") == "draft":
        page.act(
            SaveFigureDraft(
                tenancy_id=tenancy_id, period=period, values=values, actor=page.principal.actor
            )
        )
        return page.redirect(
            f"/portal/figures/{tenancy_id}/{period}",
            ("草稿已保存（尚未报送）", "draft saved (not submitted yet)"),
        )
    return _submit(page, tenancy_id, period, values)


#: The upload form's one field as it names it.
UPLOAD_LABELS = {"file": ("数据表", "Sheet")}


@router.post("/portal/figures/{tenancy_id}/{period}/upload", name="web_portal_figures_upload")
def portal_figures_upload(page: PageDep, tenancy_id: TenancyId, period: Period) -> Response:
    uscc: str = page.query(q.firm_uscc, firm_id=page.firm_id)
    try:
        _, rows, _ = _read_upload(page.upload("file"))
        own = [r for r in rows if str(r.uscc or "").strip().upper() == uscc.upper()]
        others = [r.row for r in rows if r not in own]
        if len(own) != 1 or others:
            raise InvalidInput(
                "file",
                "表中须只有本企业一行（统一社会信用代码须为本企业），"
                f"请删除其他行 / the sheet must hold one row, your own firm's ({uscc})"
                + (f"; other rows: {', '.join(str(n) for n in others[:10])}" if others else ""),
            )
    except InvalidInput as err:
        # The figures form again, the sheet's problem said above it (what was typed there
        # is the saved draft, shown as it was).
        said = (describe(err, "zh", UPLOAD_LABELS), describe(err, "en", UPLOAD_LABELS))
        return _form_page(page, tenancy_id, period, status=422, notice=said)
    values = {
        code: "" if value is None else forms.shown_value(value)
        for code, value in own[0].values.items()
    }
    return _submit(page, tenancy_id, period, values)
