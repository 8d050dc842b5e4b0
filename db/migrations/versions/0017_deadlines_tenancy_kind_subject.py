"""index deadlines by tenancy, kind and subject

Planning a quarter's light reports asks, for each tenancy of a chunk, whether its
``quarterly_report_due`` deadline of that quarter (the subject) exists, and filing one cancels
the quarter's pending deadlines, found by tenancy and kind and then by subject. With only
the tenancy's index each lookup read all of the tenancy's deadlines (a few dozen over a term,
more each quarter); with this one it is one index range.
"""

from __future__ import annotations

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"


def upgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deadlines_tenancy_kind_subject",
            ["tenancy_id", "kind", "subject_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index("ix_deadlines_tenancy_kind_subject")
