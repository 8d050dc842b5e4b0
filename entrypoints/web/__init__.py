"""The operator console and the firm portal: server-rendered pages (Jinja2, htmx, ECharts)
over the same commands and queries as the API and the CLI.

:func:`include` adds the pages, the static files and the error pages to the API's FastAPI
application (``entrypoints.http.app.create_app`` calls it); nothing happens at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC = Path(__file__).parent / "static"

#: The page modules, each with a ``router``; their rules are in :mod:`entrypoints.web.access`.
PAGE_MODULES = (
    "entrypoints.web.routes_auth",
    "entrypoints.web.routes_console",
    "entrypoints.web.routes_portal",
    "entrypoints.web.routes_cycles",
    "entrypoints.web.routes_quarterly",
    "entrypoints.web.routes_ops",
    "entrypoints.web.routes_ops_rules",
    "entrypoints.web.routes_applications",
    "entrypoints.web.routes_applications_portal",
    "entrypoints.web.routes_exits",
    "entrypoints.web.routes_inbox",
    "entrypoints.web.routes_opportunities",
    "entrypoints.web.routes_opportunity_lists",
)


def include(api: FastAPI) -> None:
    import importlib

    from starlette.staticfiles import StaticFiles

    from entrypoints.web.pages import html_errors

    for name in PAGE_MODULES:
        api.include_router(importlib.import_module(name).router)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    html_errors(api)
