"""quarterly light reports (RULEBOOK §3: revenue, tax, headcount, R&D spend)

``quarterly_reports`` holds a firm's figures for one quarter of one tenancy (unique: tenancy,
year, quarter), the day they were due, when they were first and last submitted (a correction
replaces the figures; lateness is judged on the first submission), who submitted them and the
rulebook they were checked under.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations.columns import TENANCY, at, integer, json, rulebook_version, string

revision: str = "0016"
down_revision: str | None = "0015"


def upgrade() -> None:
    TENANCY.table(
        "quarterly_reports",
        integer("year"),
        integer("quarter"),
        json("figures"),
        sa.Column("due_on", sa.Date(), nullable=False),
        at("first_submitted_at"),
        at("submitted_at"),
        string("submitted_by", 100),
        rulebook_version(),
        unique=("tenancy_id", "year", "quarter"),
        indexed=False,
    )


def downgrade() -> None:
    op.drop_table("quarterly_reports")
