"""drop the tenancy_id indexes that the unique keys already lead with

``reviews`` is unique on ``(tenancy_id, period)`` and ``reviewer_scores`` on
``(tenancy_id, reviewer)``; each of those indexes answers a look-up by ``tenancy_id`` alone, so
the single-column index only cost a page write on every insert.
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_tenancy_id"))
    with op.batch_alter_table("reviewer_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewer_scores_tenancy_id"))


def downgrade() -> None:
    with op.batch_alter_table("reviewer_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reviewer_scores_tenancy_id"), ["tenancy_id"], unique=False
        )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_tenancy_id"), ["tenancy_id"], unique=False)
