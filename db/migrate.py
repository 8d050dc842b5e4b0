"""Schema management through Alembic (``innospace db upgrade`` / ``innospace init``)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

from lifecycle.errors import InvalidInput


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "db:migrations")
    if engine is not None:
        # The config is a ConfigParser: "%" starts an interpolation, so a password such as
        # "pw%40x" (an escaped "@") must be written "%%".
        url = engine.url.render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision``; returns the revision now current."""
    cfg = alembic_config(engine)
    known = sorted(r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions())
    if revision not in ("head", "heads", *known):
        raise InvalidInput("revision", f"must be head or one of {', '.join(known)}", revision)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except CommandError as err:  # an unknown revision, or one behind the database's
        raise InvalidInput("revision", str(err), revision) from None
    return current(engine)


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_current(engine: Engine) -> bool:
    return current(engine) == head()
