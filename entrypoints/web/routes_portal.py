"""The firm portal: the firm's tenancies, applying, annual figures, notices, answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from entrypoints.web.pages import PageDep
from lifecycle.errors import NotFound
from workflows import queries_portal

router = APIRouter(include_in_schema=False)


@router.get("/portal", name="web_portal")
def portal(page: PageDep) -> HTMLResponse:
    firm_id = page.principal.firm_id
    if firm_id is None:
        raise NotFound("firm", page.principal.username)
    return page.render(
        "portal/home.html", home=page.query(queries_portal.firm_home, firm_id=firm_id)
    )
