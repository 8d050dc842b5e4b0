"""review-cycle jobs and figure drafts (the console's cycle board, the portal's figures form)

``cycle_jobs`` holds the long cycle work an operator starts from the board (opening or deciding
a space's cycle), run outside the request: status, progress, result, and a lease so a job whose
runner died is taken up again. ``figure_drafts`` holds a firm's annual figures saved before
submitting (one row per review: tenancy and period).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0009"
down_revision: str | None = "0008"


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cycle_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", _json(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cycle_jobs_space_period", "cycle_jobs", ["space_id", "period"])
    op.create_table(
        "figure_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenancy_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("values", _json(), nullable=False),
        sa.Column("saved_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("saved_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenancy_id"], ["tenancies.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenancy_id", "period"),
    )


def downgrade() -> None:
    op.drop_table("figure_drafts")
    op.drop_index("ix_cycle_jobs_space_period", table_name="cycle_jobs")
    op.drop_table("cycle_jobs")
