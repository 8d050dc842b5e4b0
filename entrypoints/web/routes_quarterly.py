"""Quarterly light reports on the web (RULEBOOK §3).

Portal: the firm's quarters (the last four ended in each resident tenancy's term) and the
form of one — the rulebook's quarterly metrics, checked field by field as the annual figures
form checks them, filed through ``SubmitQuarterlyReport`` (a correction replaces the figures).
Console: a quarter's filings in each space the account may see — filed on time, late, not
filed yet, missing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from entrypoints.web.pages import PageDep
from lifecycle.errors import InvalidInput
from workflows import queries_quarterly as q
from workflows.commands import SubmitQuarterlyReport

router = APIRouter(include_in_schema=False)
TenancyId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Year = Annotated[int, Path(ge=2000, le=2999)]
Quarter = Annotated[int, Path(ge=1, le=4)]


# ---- the portal ------------------------------------------------------------------------------
@router.get("/portal/quarterly", name="web_portal_quarterly")
def portal_quarters(page: PageDep) -> Response:
    rows = page.query(q.firm_quarters, firm_id=page.firm_id)
    return page.render("portal/quarterly.html", quarters=rows)


def _form_page(
    page: PageDep,
    tenancy_id: int,
    year: int,
    quarter: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, tuple[str, str]] | None = None,
    status: int = 200,
    notice: tuple[str, str] | None = None,
) -> HTMLResponse:
    form = page.query(q.quarter_form, tenancy_id=tenancy_id, year=year, quarter=quarter)
    return page.render(
        "portal/quarterly_form.html",
        status=status,
        form=form,
        values=values if values is not None else form["values"],
        errors=errors or {},
        notice=notice,
        received=page.request.query_params.get("received") == "1",
    )


@router.get("/portal/quarterly/{tenancy_id}/{year}/{quarter}", name="web_portal_quarterly_form")
def portal_quarter_form(
    page: PageDep, tenancy_id: TenancyId, year: Year, quarter: Quarter
) -> Response:
    return _form_page(page, tenancy_id, year, quarter)


@router.post("/portal/quarterly/{tenancy_id}/{year}/{quarter}", name="web_portal_quarterly_save")
def portal_quarter_save(
    page: PageDep, tenancy_id: TenancyId, year: Year, quarter: Quarter
) -> Response:
    form = page.query(q.quarter_form, tenancy_id=tenancy_id, year=year, quarter=quarter)
    values = {spec.code: page.field(spec.code).strip()[:100] for spec in form["fields"]}
    figures, errors = page.query(q.check_quarter_form, tenancy_id=tenancy_id, values=values)
    if errors:
        return _form_page(
            page,
            tenancy_id,
            year,
            quarter,
            values=values,
            errors=errors,
            status=422,
            notice=(
                f"有 {len(errors)} 项需要修改，未报送",
                f"{len(errors)} field(s) to correct; nothing was submitted",
            ),
        )
    page.act(
        SubmitQuarterlyReport(
            tenancy_id=tenancy_id,
            year=year,
            quarter=quarter,
            figures=figures,
            actor=page.principal.actor,
        )
    )
    return page.redirect(
        f"/portal/quarterly/{tenancy_id}/{year}/{quarter}?received=1",
        (
            f"{year} 年第 {quarter} 季度数据已报送，运营方已收到",
            f"your {year} Q{quarter} figures were received",
        ),
    )


# ---- the console ---------------------------------------------------------------------------
def _number(raw: str | None, field: str, low: int, high: int) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(
            field,
            f"须为 {low}–{high} 之间的整数 / must be a whole number from {low} to {high}",
            raw,
        )
    return int(raw)


@router.get("/console/quarterly", name="web_quarterly")
def console_quarterly(page: PageDep) -> Response:
    params = page.request.query_params
    year = _number(params.get("year"), "year", 2000, 2999)
    quarter = _number(params.get("quarter"), "quarter", 1, 4)
    spaces = [
        s
        for s in page.query(q.filings, year=year, quarter=quarter)
        if page.principal.may_see_space(s["space_id"])
    ]
    shown_year, shown_quarter = page.query(q.quarter_of, year, quarter)
    return page.render(
        "console/quarterly.html", spaces=spaces, year=shown_year, quarter=shown_quarter
    )
