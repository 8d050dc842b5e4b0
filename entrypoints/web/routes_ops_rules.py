"""The console's rulebook and template pages (Operations).

- **Rulebooks:** the rulebook in force per space read as tables (the TOML is a download);
  a candidate uploaded and checked (every problem with its key path; nothing stored), then
  stored, or activated for a space after a confirmation step; the what-if of a candidate on
  a space's decided reviews, as a table of the grades that would change.
- **Templates:** the catalog, an editor per (message, language, part) whose preview re-renders
  as one types (htmx posts the source to the preview, which renders it in the notifications
  sandbox and stores nothing), saving a new revision, and rolling back to an earlier one — a
  save of that revision's text, so the history only grows.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from entrypoints.errors import http_status
from entrypoints.web.listing import Column, xlsx_response
from entrypoints.web.pages import Page, PageDep, describe
from entrypoints.web.routes_ops import carried, carry, counted, text_upload
from lifecycle.errors import InvalidInput
from notifications.catalog import CATALOG, PARTS
from notifications.formatting import LOCALES
from workflows import commands as c
from workflows import queries_ops_pages as q
from workflows import queries_rulebook_pages as rq
from workflows import vocabulary

router = APIRouter(include_in_schema=False)

SpacePath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
NamePath = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9_]+$")]


# ---- rulebooks -----------------------------------------------------------------------------
VERSION_COLUMNS = (
    Column("version", "版本", "Version"),
    Column("name_zh", "名称", "Name"),
    Column("loaded_at", "存储时间", "Stored"),
    Column("active_for", "在用空间", "In force in"),
    Column("tenancies", "入驻企业", "Tenancies", numeric=True),
    Column("reviews_decided", "已决定考核", "Reviews decided", numeric=True),
)
TEMPLATE_COLUMNS = (
    Column("name", "代码", "Code"),
    Column("message", "通知", "Message"),
    Column("audiences", "收件人", "Audiences"),
    Column("legal", "法律文书", "Legal notice"),
    Column("edited", "运营修改", "Edited"),
)


@router.get("/console/ops/rulebooks", name="web_ops_rulebooks")
def rulebooks(page: PageDep) -> Response:
    admin = page.principal.role == "admin"
    if page.request.query_params.get("format") == "xlsx" and admin:
        rows = [
            {**v, "active_for": "、".join(v["active_for"])} for v in page.query(rq.stored_rulebooks)
        ]
        return xlsx_response("rulebooks", VERSION_COLUMNS, rows, page.lang)
    return page.render(
        "console/ops_rulebooks.html",
        spaces=page.query(rq.rulebook_spaces, space_ids=page.principal.spaces),
        versions=page.query(rq.stored_rulebooks) if admin else [],
        admin=admin,
        staff=page.principal.role in ("admin", "operator"),
    )


@router.get("/console/ops/rulebooks/{space}", name="web_ops_rulebook")
def rulebook(page: PageDep, space: SpacePath) -> HTMLResponse:
    return page.render(
        "console/ops_rulebook.html",
        space=space,
        rb=page.query(rq.space_rulebook, space=space),
        words=vocabulary,
        staff=page.principal.role in ("admin", "operator"),
    )


@router.get("/console/ops/rulebooks/{space}/rulebook.toml", name="web_ops_rulebook_toml")
def rulebook_toml(page: PageDep, space: SpacePath) -> Response:
    text = page.query(rq.space_rulebook_text, space=space)
    return Response(
        text,
        media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rulebook-{space}.toml"'},
    )


@router.post("/console/ops/rulebooks/check", name="web_ops_rulebook_check")
async def rulebook_check(page: PageDep) -> HTMLResponse:
    text, source = await text_upload(page, "file")
    if not text.strip():
        raise InvalidInput("file", "请选择规则文件（TOML） / choose a rulebook file (TOML)")
    checked = page.query(rq.check_rulebook, text=text, source=source)
    return page.render(
        "console/ops_rulebook_check.html",
        status=200 if checked["ok"] else 422,
        checked=checked,
        text=text,
        carried=carry(text),
        source=source,
        spaces=page.query(rq.rulebook_spaces, space_ids=None),
        words=vocabulary,
    )


@router.post("/console/ops/rulebooks/load", name="web_ops_rulebook_load")
def rulebook_load(page: PageDep) -> Response:
    text, source = carried(page), page.field("source")[:100] or "console"
    result = page.act(c.LoadRulebook(text=text, source=source, actor=page.principal.actor))
    version = str(result["rulebook_version"])[:12]
    return page.redirect(
        "/console/ops/rulebooks",
        (f"规则 {version} 已存储（未启用）", f"rulebook {version} stored (not in force anywhere)"),
    )


@router.post("/console/ops/rulebooks/{space}/activate", name="web_ops_rulebook_activate")
def rulebook_activate(page: PageDep, space: SpacePath) -> Response:
    text, source = carried(page), page.field("source")[:100] or "console"
    if page.field("confirmed") != "yes":
        checked = page.query(rq.check_rulebook, text=text, source=source)
        return page.render(
            "console/ops_rulebook_confirm.html",
            space=space,
            checked=checked,
            carried=carry(text),
            source=source,
            status=200 if checked["ok"] else 422,
        )
    result = page.act(
        c.LoadRulebook(text=text, source=source, space=space, actor=page.principal.actor)
    )
    version = str(result["rulebook_version"])[:12]
    return page.redirect(
        f"/console/ops/rulebooks/{space}",
        (f"规则 {version} 已在 {space} 启用", f"rulebook {version} is now in force in {space}"),
    )


@router.get("/console/ops/rulebooks/{space}/simulate", name="web_ops_simulate_form")
def simulate_form(page: PageDep, space: SpacePath) -> HTMLResponse:
    year = page.app.clock.now().year - 1
    return page.render("console/ops_simulate.html", space=space, period=year, result=None)


#: The what-if form's fields as it names them.
SIMULATE_LABELS = {
    "file": ("候选规则", "Candidate rulebook"),
    "period": ("考核年度", "Review year"),
}


@router.post("/console/ops/rulebooks/{space}/simulate", name="web_ops_simulate")
async def simulate(page: PageDep, space: SpacePath) -> HTMLResponse:
    text, source = "", ""
    raw = page.field("period")
    try:
        text, source = await text_upload(page, "file")
        if not text.strip():
            raise InvalidInput("file", "请选择候选规则文件（TOML） / choose a candidate rulebook")
        if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
            raise InvalidInput(
                "period", "须为 2000 至 2100 之间的年份 / a year from 2000 to 2100", raw
            )
    except InvalidInput as err:
        # The form again with the year typed and the rulebook sent carried along.
        return page.render(
            "console/ops_simulate.html",
            status=422,
            space=space,
            period=raw[:8],
            result=None,
            show_all=page.field("show") == "all",
            text=text.strip() and text,
            carried=carry(text),
            source=source,
            error=describe(err, page.lang, SIMULATE_LABELS),
        )
    result = page.query(rq.simulation, text=text, source=source, space=space, period=int(raw))
    return page.render(
        "console/ops_simulate.html",
        status=200 if result["ok"] else 422,
        space=space,
        period=int(raw),
        result=result,
        show_all=page.field("show") == "all",
        text=text,
        carried=carry(text),
        source=source,
    )


# ---- templates -----------------------------------------------------------------------------
def _choice(page: Page, name: str, allowed: tuple[str, ...] | list[str], default: str) -> str:
    value = page.request.query_params.get(name) or page.field(name) or default
    if value not in allowed:
        raise InvalidInput(name, f"须为 {' / '.join(allowed)} 之一 / must be one of them", value)
    return value


def _message(name: str) -> str:
    if name not in CATALOG:
        raise InvalidInput("name", "没有这种通知 / no such message", name)
    return name


@router.get("/console/ops/templates", name="web_ops_templates")
def templates(page: PageDep) -> Response:
    catalog = page.query(q.template_catalog)
    if page.request.query_params.get("format") == "xlsx":
        one = 0 if page.lang == "zh" else 1
        rows = [
            {
                "name": m["name"],
                "message": m["words"][one],
                "audiences": "、".join(a[one] for a in m["audiences"]),
                "legal": m["legal"],
                "edited": "、".join(e["where"][one] for e in m["edited"]),
            }
            for m in catalog
        ]
        return xlsx_response("templates", TEMPLATE_COLUMNS, rows, page.lang)
    return page.render("console/ops_templates.html", catalog=catalog)


def _audience(page: Page, name: str) -> str:
    """The audience whose copy the preview shows (the message's first unless one is asked)."""
    audiences = tuple(CATALOG[_message(name)].variants)
    return _choice(page, "audience", audiences, audiences[0])


def _preview(page: Page, name: str, source: str) -> dict[str, Any]:
    preview: dict[str, Any] = page.query(
        q.template_preview,
        renderer=page.app.renderer,
        name=_message(name),
        locale=_choice(page, "locale", list(LOCALES), "zh-CN"),
        part=_choice(page, "part", tuple(PARTS), "text"),
        source=source,
        audience=_audience(page, name),
    )
    return preview


#: The template editor's fields as it names them.
TEMPLATE_LABELS = {"source": ("模板内容", "Template source")}


def _editor(
    page: Page, name: str, *, source: str | None = None, status: int = 200, error: str = ""
) -> HTMLResponse:
    locale = _choice(page, "locale", list(LOCALES), "zh-CN")
    part = _choice(page, "part", tuple(PARTS), "text")
    editor = page.query(q.template_editor, name=_message(name), locale=locale, part=part)
    shown = editor["source"] if source is None else source
    return page.render(
        "console/ops_template.html",
        status=status,
        error=error,
        editor=editor,
        source=shown,
        preview=_preview(page, name, shown),
        audience=_audience(page, name),
        locales=q.LOCALE_NAMES,
        parts=q.PART_NAMES,
    )


@router.get("/console/ops/templates/{name}", name="web_ops_template")
def template(page: PageDep, name: NamePath) -> HTMLResponse:
    return _editor(page, name)


@router.post("/console/ops/templates/{name}/preview", name="web_ops_template_preview")
def template_preview(page: PageDep, name: NamePath) -> HTMLResponse:
    """The preview of the source being typed: a fragment for htmx, else the whole editor."""
    source = page.field("source")
    if page.request.headers.get("hx-request"):
        preview = _preview(page, name, source)
        return page.render("console/ops_template_preview.html", preview=preview)
    return _editor(page, name, source=source)


@router.post("/console/ops/templates/{name}", name="web_ops_template_save")
def template_save(page: PageDep, name: NamePath) -> Response:
    locale = _choice(page, "locale", list(LOCALES), "zh-CN")
    part = _choice(page, "part", tuple(PARTS), "text")
    source = page.field("source")
    try:
        saved = page.act(
            c.SaveTemplate(
                name=_message(name),
                locale=locale,
                part=part,
                source=source,
                author=page.principal.actor,
                actor=page.principal.actor,
            )
        )
    except InvalidInput as err:
        # The editor again with the text typed, the problem above it: nothing is lost.
        said = describe(err, page.lang, TEMPLATE_LABELS)
        return _editor(page, name, source=source, status=http_status(err), error=said)
    revision = counted(saved)
    return page.redirect(
        f"/console/ops/templates/{name}?locale={locale}&part={part}",
        (f"已保存为第 {revision} 版", f"saved as revision {revision}"),
    )


@router.post("/console/ops/templates/{name}/rollback", name="web_ops_template_rollback")
def template_rollback(page: PageDep, name: NamePath) -> Response:
    locale = _choice(page, "locale", list(LOCALES), "zh-CN")
    part = _choice(page, "part", tuple(PARTS), "text")
    raw = page.field("revision")
    editor = page.query(q.template_editor, name=_message(name), locale=locale, part=part)
    earlier = next((h["source"] for h in editor["history"] if str(h["revision"]) == raw), None)
    if raw == "0":
        earlier = editor["shipped"]  # the template shipped with the software
    if earlier is None:
        raise InvalidInput("revision", "没有这一版 / no such revision", raw)
    revision = counted(
        page.act(
            c.SaveTemplate(
                name=name,
                locale=locale,
                part=part,
                source=earlier,
                author=page.principal.actor,
                actor=page.principal.actor,
                reason=f"恢复第 {raw} 版 / rollback to revision {raw}",
            )
        )
    )
    return page.redirect(
        f"/console/ops/templates/{name}?locale={locale}&part={part}",
        (
            f"已恢复第 {raw} 版的内容，保存为第 {revision} 版",
            f"revision {raw}'s text saved as revision {revision}",
        ),
    )
