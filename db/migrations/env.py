"""Alembic environment: runs on the connection innospace hands it (or on the URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import db.tables  # noqa: F401  (registers the tables on the metadata)
import db.tables_cycles  # noqa: F401  (the cycle board's jobs, the portal's figure drafts)
import db.tables_http  # noqa: F401  (the HTTP API's tables, on the same metadata)
from db.engine import make_engine
from db.tables import ALL_TABLES

config = context.config
target_metadata = ALL_TABLES


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
