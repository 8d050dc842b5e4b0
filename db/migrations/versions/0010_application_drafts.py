"""application drafts: a firm's portal application form saved before it is sent

``application_drafts`` holds one row per firm (``firm_id`` unique): the form's fields as
typed (JSON), when and by whom they were last saved. Submitting the form sends ``Apply`` and
discards the draft.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    op.create_table(
        "application_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("saved_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(["firm_id"], ["firms.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firm_id"),
    )


def downgrade() -> None:
    op.drop_table("application_drafts")
