"""The database's own facts: its kind (production or training) and whether it holds data.

Read through the connection (SQLAlchemy Core): the CLI asks these before any command runs.
The tables are named by light Core stand-ins for the columns read here (``sqlalchemy.table``,
held to ``db.tables`` by a unit test), so that asking them loads no table model.
"""

from __future__ import annotations

from sqlalchemy import Connection, Integer, String, column, select, table

_META = table("database_meta", column("key", String), column("value", String))
_SPACES = table("spaces", column("id", Integer))
#: Every stand-in (checked against ``db.tables.ALL_TABLES`` by the unit tests).
STAND_INS = (_META, _SPACES)

PRODUCTION = "production"
TRAINING = "training"
#: ``made_by`` of a database the demo built (``innospace demo`` may replace only such a file).
DEMO = "demo"


def get(conn: Connection, key: str) -> str | None:
    value = conn.execute(select(_META.c.value).where(_META.c.key == key)).scalar()
    return None if value is None else str(value)


def put(conn: Connection, key: str, value: str) -> None:
    if get(conn, key) is None:
        conn.execute(_META.insert().values(key=key, value=value))
    else:
        conn.execute(_META.update().where(_META.c.key == key).values(value=value))


def kind(conn: Connection) -> str:
    """``training`` for a database created with ``init --training`` (or by the demo), else
    ``production`` (also a database created before the kind was recorded)."""
    return TRAINING if get(conn, "kind") == TRAINING else PRODUCTION


def holds_data(conn: Connection) -> bool:
    """Whether any space has been created (a database in use, not a fresh one)."""
    return conn.execute(select(_SPACES.c.id).limit(1)).first() is not None


def set_training(conn: Connection, *, made_by: str | None = None) -> None:
    """Record the database as a training one (and who made it: ``demo``)."""
    put(conn, "kind", TRAINING)
    if made_by is not None:
        put(conn, "made_by", made_by)
