"""The firm portal: the firm's tenancies, applying, annual figures, notices, answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from entrypoints.web.pages import PageDep
from workflows import queries_portal

router = APIRouter(include_in_schema=False)


@router.get("/portal", name="web_portal")
def portal(page: PageDep) -> HTMLResponse:
    return page.render(
        "portal/home.html", home=page.query(queries_portal.firm_home, firm_id=page.firm_id)
    )
