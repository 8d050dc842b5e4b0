"""Fixtures of the HTTP tests: the API over a real database (SQLite and PostgreSQL), with the
world of ``api_support`` (two spaces, two firms, an account and API token per role)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import SECRET, START, World, build_world

from entrypoints.bootstrap import App, bootstrap
from entrypoints.settings import Settings
from lifecycle.clock import FixedClock


@pytest.fixture
def http_app(db_url: str) -> Iterator[App]:
    settings = Settings(database_url=db_url, secret_key=SECRET)
    app = bootstrap(settings=settings, clock=FixedClock(START))
    yield app
    app.engine.dispose()


@pytest.fixture
def world(http_app: App) -> World:
    return build_world(http_app)
