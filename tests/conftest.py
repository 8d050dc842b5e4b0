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
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from api_support import SECRET, START, World, build_world
from argon2 import PasswordHasher
from e2e.cli_support import Cli
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from db import meta
from db.engine import make_engine
from db.migrate import upgrade
from entrypoints.bootstrap import HANDLERS, App, bootstrap
from entrypoints.http import create_app
from entrypoints.settings import Settings
from lifecycle.clock import FixedClock
from workflows import credentials
from workflows.service import Service

PG_ENV = "INNOSPACE_TEST_POSTGRES_URL"
SHANGHAI = ZoneInfo("Asia/Shanghai")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def local(*args: int) -> datetime:
    """An instant given as Asia/Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


#: The password hasher under test: argon2id with one pass over 1 MiB (about 1 ms) instead of
#: argon2-cffi's defaults (three passes over 64 MiB, 50-150 ms). The web, HTTP and browser
#: tests sign in through the login form hundreds of times; what they test is the pages, not
#: the cost of a hash. Production keeps the defaults (``workflows.credentials.password_hasher``);
#: ``production_argon2`` gives a test those back, and innospace run as a subprocess has them.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def cheap_argon2() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(credentials, "password_hasher", lambda: TEST_HASHER)
        yield


@pytest.fixture
def production_argon2(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """argon2-cffi's default parameters, as production hashes with; the hasher."""
    hasher = PasswordHasher()
    monkeypatch.setattr(credentials, "password_hasher", lambda: hasher)
    return hasher


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


class PgDatabases:
    """Each test's PostgreSQL database, copied from a template one test ahead and dropped after
    the test, on a thread of its own: the copy (about 0.25 s) and the drop (about 0.1 s) run
    while the tests do, instead of in each test's setup and teardown. What a test gets is the
    same: a fresh database of its own, a copy of the template, dropped after it."""

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-databases")
        self.ahead: dict[str, Future[str]] = {}  # template → its next copy
        self.drops: list[Future[None]] = []

    def _create(self, template: str) -> str:
        name = f"innospace_t_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return name

    def _drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def database(self, template: str) -> Iterator[str]:
        """A fresh copy of ``template`` for one test (its URL); dropped once the test is done."""
        made = self.ahead.pop(template, None) or self.worker.submit(self._create, template)
        name = made.result()
        self.ahead[template] = self.worker.submit(self._create, template)
        try:
            yield (
                make_url(str(self.admin.url))
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            self.drops.append(self.worker.submit(self._drop, name))

    def close(self) -> None:
        for made in self.ahead.values():
            self.drops.append(self.worker.submit(self._drop, made.result()))
        self.worker.shutdown(wait=True)
        for dropped in self.drops:
            dropped.result()  # a failed drop fails the session's teardown


@pytest.fixture(scope="session")
def pg_databases(pg_admin: tuple[Engine, str]) -> Iterator[PgDatabases]:
    databases = PgDatabases(pg_admin[0])
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "innospace.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
    else:
        _admin, template = request.getfixturevalue("pg_admin")
        yield from request.getfixturevalue("pg_databases").database(template)


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


# ---- the HTTP API and the pages (tests/http, tests/web, tests/browser) -------------------------
#: What a world is besides its application: ids, codes and tokens, the same in every copy.
_WORLD_FIELDS = (
    "own_firm",
    "other_firm",
    "own_tenancy",
    "other_tenancy",
    "own_violation",
    "other_violation",
    "own_exit_case",
    "other_exit_case",
    "tokens",
)


def _seed_world(url: str) -> dict[str, object]:
    """Build the world once on ``url`` (a template); its fields."""
    app = bootstrap(settings=Settings(database_url=url, secret_key=SECRET), clock=FixedClock(START))
    world = build_world(app)
    fields = {name: getattr(world, name) for name in _WORLD_FIELDS}
    app.engine.dispose()  # the last connection closed: SQLite folds its WAL into the file
    return fields


@pytest.fixture(scope="session")
def world_templates(sqlite_template: Path) -> Iterator[dict[str, tuple[str, dict[str, object]]]]:
    """The world built once per backend (its accounts' argon2 hashes are the slow part), as a
    template each test copies: backend → (SQLite path or PostgreSQL database, fields)."""
    templates: dict[str, tuple[str, dict[str, object]]] = {}
    yield templates
    if "postgres" in templates:
        admin = create_engine(os.environ[PG_ENV], isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = templates["postgres"][0]
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sqlite_world(
    tmp_path: Path, sqlite_template: Path, templates: dict[str, tuple[str, dict[str, object]]]
) -> str:
    if "sqlite" not in templates:
        path = sqlite_template.parent / "world.db"
        shutil.copy(sqlite_template, path)
        templates["sqlite"] = (str(path), _seed_world(f"sqlite:///{path}"))
    copy = tmp_path / "innospace.db"
    shutil.copy(templates["sqlite"][0], copy)
    return f"sqlite:///{copy}"


@pytest.fixture(params=BACKENDS)
def world_db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    world_templates: dict[str, tuple[str, dict[str, object]]],
) -> Iterator[str]:
    """A database holding the world (``api_support.build_world``), copied from its template."""
    if request.param == "sqlite":
        yield _sqlite_world(tmp_path, sqlite_template, world_templates)
        return
    admin, template = request.getfixturevalue("pg_admin")
    if "postgres" not in world_templates:
        name = f"innospace_wtpl_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = make_url(str(admin.url)).set(database=name).render_as_string(hide_password=False)
        world_templates["postgres"] = (name, _seed_world(url))
    yield from request.getfixturevalue("pg_databases").database(world_templates["postgres"][0])


@pytest.fixture
def sqlite_world_db_url(
    tmp_path: Path,
    sqlite_template: Path,
    world_templates: dict[str, tuple[str, dict[str, object]]],
) -> str:
    """The world on SQLite only (override ``world_db_url`` with it where one backend is
    enough: the browser journeys, schemathesis)."""
    return _sqlite_world(tmp_path, sqlite_template, world_templates)


@pytest.fixture
def http_app(world_db_url: str) -> Iterator[App]:
    """The API's application over this test's copy of the world, its clock at
    ``api_support.START``."""
    settings = Settings(database_url=world_db_url, secret_key=SECRET)
    app = bootstrap(settings=settings, clock=FixedClock(START))
    yield app
    app.engine.dispose()


@pytest.fixture
def world(
    http_app: App,
    world_db_url: str,
    world_templates: dict[str, tuple[str, dict[str, object]]],
) -> World:
    """Two spaces, two firms, an account and an API token per role (``api_support``)."""
    backend = "sqlite" if world_db_url.startswith("sqlite") else "postgres"
    fields = dict(world_templates[backend][1])
    fields["tokens"] = dict(fields["tokens"])  # type: ignore[call-overload]
    return World(app=http_app, api=create_app(http_app, secret_key=SECRET), **fields)  # type: ignore[arg-type]
