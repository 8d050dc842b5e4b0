"""PostgreSQL connections in the pool: a connection idle long enough is pinged before use and
replaced when its server process has gone; a busy pool is not pinged on every checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, exc, text

from db.engine import ping_when_idle

pytestmark = pytest.mark.postgres


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()


def test_an_idle_connection_whose_server_process_died_is_replaced_before_use(
    pg_admin: tuple[Engine, str],
) -> None:
    admin, _ = pg_admin
    engine = create_engine(admin.url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds=0.0)
    try:
        first = _backend_pid(engine)
        _terminate(admin, first)
        second = _backend_pid(engine)  # the ping found it dead: a new connection, no error
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(pg_admin: tuple[Engine, str]) -> None:
    admin, _ = pg_admin
    engine = create_engine(admin.url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds=3600.0)
    try:
        first = _backend_pid(engine)
        _terminate(admin, first)
        # Not pinged: the dead connection fails this unit of work (the API answers 503) …
        with pytest.raises(exc.OperationalError):
            _backend_pid(engine)
        # … and SQLAlchemy has dropped it: the next one connects afresh.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
