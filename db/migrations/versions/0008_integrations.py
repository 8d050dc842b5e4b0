"""outbound integrations: signed webhooks and WeCom / DingTalk group robots per space

``integration_endpoints`` holds one row per endpoint an operator registered (``innospace
webhook add``, ``innospace robot add``): the space, the kind (``webhook`` | ``wecom`` |
``dingtalk``), the URL, the signing secret, the message keys delivered (empty: all), when it
was created and, once disabled, when. Deliveries are outbox rows (audience = the kind).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    op.create_table(
        "integration_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_integration_endpoints_space_id"),
        "integration_endpoints",
        ["space_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_integration_endpoints_space_id"), table_name="integration_endpoints")
    op.drop_table("integration_endpoints")
