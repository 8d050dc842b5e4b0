"""The operator console: dashboard, tenancies, exit cases."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from entrypoints.web.pages import PageDep

router = APIRouter(include_in_schema=False)


@router.get("/console", name="web_dashboard")
def dashboard(page: PageDep) -> HTMLResponse:
    return page.render("console/dashboard.html")
