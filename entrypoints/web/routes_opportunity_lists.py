"""The district's pages: the numbered 城市机会清单 (start 第N期, choose and order its accepted
entries, publish it frozen and hashed, Excel, a printable A4 page), the public page of a
published list (no login, read-only, contacts only where the entry allowed them), and the
district view of a year per space and in total with its trend over the years before.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from entrypoints.http.deps import app_of
from entrypoints.web.console_charts import PALETTE, bars
from entrypoints.web.listing import XLSX
from entrypoints.web.pages import Page, PageDep, confirm_page, describe, language
from entrypoints.web.rendering import environment
from entrypoints.web.routes_opportunities import error_message
from lifecycle import opportunities as opp
from lifecycle.errors import Forbidden, InvalidInput
from workflows import opportunity_commands as oc
from workflows import opportunity_excel
from workflows import queries_district as qd
from workflows import queries_opportunities as qo
from workflows import queries_opportunity_pages as q

router = APIRouter(include_in_schema=False)

Number = Annotated[int, Path(ge=1, le=1_000_000)]
#: Years of trend shown before the chosen one.
TREND_YEARS = 4


def _xlsx(book: Any, name: str) -> Response:
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def grouped(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A published list's items by kind (needs first) and then by space, numbers kept."""
    out = []
    for kind, (zh, en) in opp.KINDS.items():
        spaces: dict[str, dict[str, Any]] = {}
        for item in items:
            if item["kind"] != kind:
                continue
            space = item["space"]
            spaces.setdefault(space["code"], {"name": space["name"], "items": []})
            spaces[space["code"]]["items"].append(item)
        if spaces:
            out.append({"kind_zh": zh, "kind_en": en, "spaces": list(spaces.values())})
    return out


# ---- the numbered lists -----------------------------------------------------------------------
def _lists_page(page: Page, *, error: str = "", status: int = 200) -> HTMLResponse:
    return page.render(
        "console/opportunity_lists.html",
        status=status,
        lists=page.query(qo.lists),
        waiting=len(page.query(q.candidates, space_ids=page.principal.spaces)),
        error=error,
    )


@router.get("/console/opportunity-lists", name="web_opportunity_lists")
def lists(page: PageDep) -> HTMLResponse:
    return _lists_page(page)


@router.post("/console/opportunity-lists", name="web_opportunity_list_create", response_model=None)
def create(page: PageDep) -> Response:
    title = page.field("title").strip()
    raw = page.field("number").strip()
    try:
        if len(title) > 120 or len(title) < 2:
            raise InvalidInput("title", "标题须为 2 至 120 字 / 2 to 120 characters")
        if raw and (not raw.isdigit() or len(raw) > 6 or int(raw) < 1):
            raise InvalidInput("number", "期数须为正整数 / a whole number from 1")
        done = page.act(
            oc.CreateList(title=title, number=int(raw) if raw else None, actor=page.principal.actor)
        )
    except InvalidInput as exc:
        return _lists_page(page, error=error_message(page, exc), status=422)
    number = int(done["number"])
    return page.redirect(
        f"/console/opportunity-lists/{number}",
        (f"已新建第{number}期草稿", f"Draft list {number} started"),
    )


def _unseen(page: Page, number: int) -> int:
    """How many entries of the draft are of spaces not granted to the account (an admin put
    them on): it is not shown them, and may not publish the list."""
    spaces = page.principal.spaces
    return len(page.query(qo.with_unseen, number=number, entry_ids=(), space_ids=spaces))


def _not_yours(page: Page, number: int, unseen: int) -> str:
    """Why the account may not publish the draft (the engine's refusal), or ""."""
    return describe(opp.outside_grant(number, unseen), page.lang) if unseen else ""


def _list_page(page: Page, number: int, *, error: str = "", status: int = 200) -> HTMLResponse:
    found = page.query(qo.list_detail, number=number, space_ids=page.principal.spaces)
    draft = found["status"] == opp.DRAFT
    return page.render(
        "console/opportunity_list.html",
        status=status,
        the_list=found,
        draft=draft,
        groups=[] if draft else grouped(found["items"]),
        candidates=page.query(q.candidates, space_ids=page.principal.spaces) if draft else [],
        not_yours=_not_yours(page, number, _unseen(page, number)) if draft else "",
        error=error,
    )


@router.get("/console/opportunity-lists/{number}", name="web_opportunity_list")
def the_list(page: PageDep, number: Number) -> HTMLResponse:
    return _list_page(page, number)


@router.post(
    "/console/opportunity-lists/{number}/arrange",
    name="web_opportunity_list_arrange",
    response_model=None,
)
def arrange(page: PageDep, number: Number) -> Response:
    chosen: list[tuple[int, int, int]] = []
    for raw in page.fields("entry"):
        if not raw.isdigit() or len(raw) > 18:
            continue
        entry_id = int(raw)
        position = page.field(f"position_{entry_id}").strip()
        order = int(position) if position.isdigit() and len(position) < 6 else 10**6
        chosen.append((order, len(chosen), entry_id))
    if len(chosen) > 200:
        return _list_page(
            page,
            number,
            error=error_message(page, InvalidInput("entries", "最多 200 条 / at most 200")),
            status=422,
        )
    ids = tuple(entry_id for _, _, entry_id in sorted(chosen))
    try:
        spaces = page.principal.spaces
        qo.refuse_outside(page.query(qo.entries_outside, entry_ids=ids, space_ids=spaces))
        ids = page.query(qo.with_unseen, number=number, entry_ids=ids, space_ids=spaces)
        page.act(oc.ArrangeList(number=number, entry_ids=ids, actor=page.principal.actor))
    except InvalidInput as exc:
        return _list_page(page, number, error=error_message(page, exc), status=422)
    return page.redirect(
        f"/console/opportunity-lists/{number}",
        (f"已保存，清单共 {len(ids)} 条", f"Saved: {len(ids)} entries on the list"),
    )


@router.post(
    "/console/opportunity-lists/{number}/publish",
    name="web_opportunity_list_publish",
    response_model=None,
)
def publish(page: PageDep, number: Number) -> Response:
    here = f"/console/opportunity-lists/{number}"
    if page.field("confirmed") != "1":
        found = page.query(qo.list_detail, number=number, space_ids=page.principal.spaces)
        unseen = _unseen(page, number)
        if unseen:  # never offered: the engine would refuse it
            return _list_page(page, number, error=_not_yours(page, number, unseen), status=403)
        firms = sorted({str(i["firm"]) for i in found["items"] if i.get("firm")})
        return confirm_page(
            page,
            action=f"{here}/publish",
            title=(f"确认发布第{number}期", f"Confirm publishing list {number}"),
            what=[
                (
                    f"发布第{number}期「{found['title']}」，共 {len(found['items'])} 条",
                    f"Publish list {number} “{found['title']}”: {len(found['items'])} entries",
                ),
                (
                    "发布后清单冻结，不能再修改；内容摘要（SHA-256）记入审计链",
                    "Once published the list is frozen and cannot change; its SHA-256 goes "
                    "into the audit chain",
                ),
                (
                    f"任何人可在 /lists/{number} 查看（联系方式按条目意愿公开）",
                    f"Anyone may read it at /lists/{number} (contacts only where allowed)",
                ),
            ],
            notified=(
                "、".join(firms) + "（站内消息及邮件）" if firms else "无",
                ", ".join(firms) + " (inbox and e-mail)" if firms else "Nobody",
            ),
            fields={},
            back=here,
        )
    command = oc.PublishList(
        number=number, as_spaces=page.principal.spaces, actor=page.principal.actor
    )
    try:
        done = page.act(command)
    except InvalidInput as exc:
        return _list_page(page, number, error=error_message(page, exc), status=422)
    except Forbidden as exc:  # an entry of another space was put on meanwhile
        return _list_page(page, number, error=describe(exc, page.lang), status=403)
    digest = str(done["content_hash"])[:12]
    return page.redirect(
        here, (f"已发布并冻结，摘要 {digest}…", f"Published and frozen; hash {digest}…")
    )


@router.get(
    "/console/opportunity-lists/{number}/export.xlsx",
    name="web_opportunity_list_export",
    response_model=None,
)
def export(page: PageDep, number: Number) -> Response:
    content = page.query(qo.public_list, number=number)
    return _xlsx(opportunity_excel.list_book(content), f"opportunity-list-{number}.xlsx")


@router.get("/console/opportunity-lists/{number}/print", name="web_opportunity_list_print")
def print_list(page: PageDep, number: Number) -> HTMLResponse:
    content = page.query(qo.public_list, number=number)
    return page.render(
        "console/opportunity_list_print.html", content=content, groups=grouped(content["items"])
    )


# ---- the public page --------------------------------------------------------------------------
@router.get("/lists/{number}", name="web_public_list")
def public_list(request: Request, number: Number) -> HTMLResponse:
    """A published list for anyone: no login, nothing to send (a draft is "not found")."""
    content = app_of(request).service.query(qo.public_list, number=number)
    html = (
        environment()
        .get_template("public_list.html")
        .render(
            request=request,
            principal=None,
            lang=language(request),
            csrf="",
            flash=[],
            path=request.url.path,
            content=content,
            groups=grouped(content["items"]),
        )
    )
    return HTMLResponse(html)


# ---- the district view ------------------------------------------------------------------------
def _year(page: Page, name: str = "year") -> int | None:
    """The year asked for as ``name`` (None when none is): another year is never shown
    instead of one that cannot be, the parameter and the years it takes are named."""
    raw = page.request.query_params.get(name, "").strip()
    this_year = page.app.clock.now().year
    if not raw:
        return None
    if raw.isdigit() and len(raw) == 4 and 2000 <= int(raw) <= this_year + 1:
        return int(raw)
    raise InvalidInput(
        name,
        f"年度须为 2000 至 {this_year + 1} 之间的年份，如 {this_year} / the year must be one "
        f"from 2000 to {this_year + 1}, such as {this_year}",
        raw[:20],
    )


def _line(years: list[str], series: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    return {
        "color": PALETTE,
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": years},
        "yAxis": {"type": "value"},
        "series": [
            {"type": "line", "name": name, "data": data, "connectNulls": True}
            for name, data in series
        ],
    }


def _charts(views: list[dict[str, Any]], zh: bool) -> dict[str, Any]:
    years = [str(v["year"]) for v in views]
    totals = [v["total"] for v in views]

    def t(a: str, b: str) -> str:
        return a if zh else b

    occupancy = [None if s["occupancy"] is None else round(s["occupancy"] * 100, 1) for s in totals]
    names = {s["space"]: s["name"] for v in views for s in v["spaces"]}
    by_space = {
        code: [
            next((s["tax_per_mu"] for s in v["spaces"] if s["space"] == code), None) for v in views
        ]
        for code in names
    }
    return {
        "space_tax": _line(years, [(names[code], data) for code, data in by_space.items()]),
        "occupancy": _line(years, [(t("出租率（%）", "Occupancy (%)"), occupancy)]),
        "per_mu": _line(
            years,
            [
                (t("亩均税收（元/亩）", "Tax per mu"), [s["tax_per_mu"] for s in totals]),
                (t("亩均营收（元/亩）", "Revenue per mu"), [s["revenue_per_mu"] for s in totals]),
            ],
        ),
        "flows": bars(
            years,
            [s["admitted"] for s in totals],
            second=[s["exited"] for s in totals],
            names=(t("新入驻", "Admitted"), t("退出", "Exited")),
        ),
        "grades": bars(list(qd.GRADES), [views[-1]["total"]["grades"][g] for g in qd.GRADES]),
    }


@router.get("/console/district", name="web_district", response_model=None)
def district(page: PageDep) -> Response:
    """A year's view (``year``, this year when none is) with its trend over the
    :data:`TREND_YEARS` years before; or, given ``to_year``, the years ``year`` (when none is,
    the :data:`TREND_YEARS` years before ``to_year``, as a single year's trend begins) through
    ``to_year`` year by year (bounded as the API bounds them, :func:`qd.years_between`),
    with the last year's view. The Excel export is of what was asked: the year, or the range."""
    this_year = page.app.clock.now().year
    start = _year(page)
    to_year = _year(page, "to_year")
    if to_year is None:
        year = this_year if start is None else start
        years = list(range(year - TREND_YEARS, year + 1))
    else:
        years = qd.years_between(to_year - TREND_YEARS if start is None else start, to_year)
        year = to_year
    views = page.query(qd.district_years, years=years, space_ids=page.principal.spaces)
    first = years[0]
    if page.request.query_params.get("format") == "xlsx":
        if to_year is None:
            chosen = [v for v in views if v["year"] == year]
            return _xlsx(opportunity_excel.district_book(chosen), f"district-{year}.xlsx")
        name = f"district-{first}-{year}.xlsx"
        return _xlsx(opportunity_excel.district_book(views), name)
    from_year = max(first, 2000)  # the trend of 2000 begins before the first year one may ask
    choices = set(range(this_year + 1, this_year - 10, -1)) | {from_year, year}
    return page.render(
        "console/district.html",
        year=year,
        first=first,
        from_year=from_year,
        ranged=to_year is not None,
        max_years=qd.MAX_YEARS,
        view=views[-1],
        trend=views,
        charts=_charts(views, page.lang == "zh"),
        years=sorted(choices, reverse=True),
        exit_types=(
            ("graduation", "毕业", "Graduated"),
            ("term_expiry", "期满退出", "Term expired"),
            ("voluntary", "自愿退出", "Voluntary"),
            ("forced", "强制退出", "Forced"),
        ),
        grades=qd.GRADES,
    )
