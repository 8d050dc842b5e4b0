"""the database's kind and the years whose holiday schedule is published

``database_meta`` holds one row per key; ``kind`` is ``production`` or ``training`` (``init
--training``, the demo): only a training database lets the clock be moved (``INNOSPACE_NOW``,
a future ``tick --until``). A database without the row is production.

``calendar_years`` lists the years beyond the ``chinesecalendar`` package whose whole
schedule the operators have imported (``calendar import --complete``) or confirmed
(``calendar publish YEAR``): only these years are computed from ``holidays`` plus overrides.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.types

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    op.create_table(
        "database_meta",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("published_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )


def downgrade() -> None:
    op.drop_table("calendar_years")
    op.drop_table("database_meta")
