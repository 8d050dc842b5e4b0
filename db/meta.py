"""The database's own facts: its kind (production or training) and the published years.

Read through the connection (SQLAlchemy Core): the CLI asks these before any command runs.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from db.tables import ALL_TABLES

_META = ALL_TABLES.tables["database_meta"]
_YEARS = ALL_TABLES.tables["calendar_years"]

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


def published_years(conn: Connection) -> frozenset[int]:
    return frozenset(int(year) for year in conn.execute(select(_YEARS.c.year)).scalars())


def holds_data(conn: Connection) -> bool:
    """Whether any space has been created (a database in use, not a fresh one)."""
    spaces = ALL_TABLES.tables["spaces"]
    return conn.execute(select(spaces.c.id).limit(1)).first() is not None


def set_training(conn: Connection, *, made_by: str | None = None) -> None:
    """Record the database as a training one (and who made it: ``demo``)."""
    put(conn, "kind", TRAINING)
    if made_by is not None:
        put(conn, "made_by", made_by)
