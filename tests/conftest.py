"""Fixtures: a real SQLite file and a real PostgreSQL database, migrated with Alembic.

PostgreSQL tests run when INNOSPACE_TEST_POSTGRES_URL is set (CI sets it) and are skipped
with a visible reason otherwise. Each test gets its own database: a copy of a migrated
template (a file copy for SQLite, CREATE DATABASE … TEMPLATE for PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from api_support import SECRET, START, World, build_world
from e2e.cli_support import Cli
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from db import meta
from db.engine import make_engine
from db.migrate import upgrade
from entrypoints.bootstrap import HANDLERS, App, bootstrap
from entrypoints.settings import Settings
from lifecycle.clock import FixedClock
from workflows.service import Service

PG_ENV = "INNOSPACE_TEST_POSTGRES_URL"
SHANGHAI = ZoneInfo("Asia/Shanghai")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def local(*args: int) -> datetime:
    """An instant given as Asia/Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    _training(engine)
    engine.dispose()
    return path


def _training(engine: Engine) -> None:
    """Test databases are training ones (`init --training`): the tests move the clock."""
    with engine.begin() as conn:
        meta.set_training(conn)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[tuple[Engine, str]]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it)")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    template = f"innospace_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    tpl_url = make_url(url).set(database=template).render_as_string(hide_password=False)
    engine = make_engine(tpl_url)
    upgrade(engine)
    _training(engine)
    engine.dispose()
    yield admin, template
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
    admin.dispose()


def _pg_database(pg_admin: tuple[Engine, str]) -> Iterator[str]:
    admin, template = pg_admin
    name = f"innospace_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(str(admin.url)).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "innospace.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
    else:
        yield from _pg_database(request.getfixturevalue("pg_admin"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(local(2024, 3, 4, 9, 0))  # a Monday, a working day


@pytest.fixture
def service(engine: Engine, clock: FixedClock) -> Service:
    return Service(engine, clock, HANDLERS)


@pytest.fixture
def cli(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Cli:
    """The command line against this test's database, with the clock at ``cli_support.NOW``."""
    return Cli(db_url, capsys, monkeypatch, tmp_path)


# ---- the HTTP API (tests/http) ----------------------------------------------------------------
@pytest.fixture
def http_app(db_url: str) -> Iterator[App]:
    """The API's application over this test's database, its clock at ``api_support.START``."""
    settings = Settings(database_url=db_url, secret_key=SECRET)
    app = bootstrap(settings=settings, clock=FixedClock(START))
    yield app
    app.engine.dispose()


@pytest.fixture
def world(http_app: App) -> World:
    """Two spaces, two firms, an account and an API token per role (``api_support``)."""
    return build_world(http_app)
