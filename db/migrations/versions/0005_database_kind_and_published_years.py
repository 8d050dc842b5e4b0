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
from alembic import op

from db.migrations import columns
from db.migrations.columns import string

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    op.create_table(
        "database_meta",
        string("key", 64),
        string("value", 200),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        string("source", 16),
        *columns.who_when("actor", "published_at"),
        sa.PrimaryKeyConstraint("year"),
    )


def downgrade() -> None:
    op.drop_table("calendar_years")
    op.drop_table("database_meta")
