"""review-cycle jobs and figure drafts (the console's cycle board, the portal's figures form)

``cycle_jobs`` holds the long cycle work an operator starts from the board (opening or deciding
a space's cycle), run outside the request: status, progress, result, and a lease so a job whose
runner died is taken up again. ``figure_drafts`` holds a firm's annual figures saved before
submitting (one row per review: tenancy and period).
"""

from __future__ import annotations

from alembic import op

from db.migrations import columns
from db.migrations.columns import at, drop, integer, json, string, text

revision: str = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    columns.SPACE.table(
        "cycle_jobs",
        integer("period"),
        string("kind", 16),
        string("status", 16),
        integer("total"),
        integer("done"),
        integer("attempts"),
        json("result"),
        text("error", nullable=True),
        *columns.who_when("requested_by", "created_at", length=200),
        at("started_at", nullable=True),
        at("lease_until", nullable=True),
        at("finished_at", nullable=True),
        index={"ix_cycle_jobs_space_period": ["space_id", "period"]},
        indexed=False,
    )
    columns.draft_table(
        "figure_drafts",
        columns.TENANCY,
        integer("period"),
        form="values",
        saved=columns.who_when("saved_by", "saved_at", length=200),
    )


def downgrade() -> None:
    op.drop_table("figure_drafts")
    drop("cycle_jobs", "ix_cycle_jobs_space_period")
