"""drop the outbox's tenancy_id index, which no query uses

The relay reads the outbox by status and due time (``ix_outbox_pending``) and a firm reads
its notices from the inbox; nothing looks notices up by tenancy, and the index cost a page
write on every notice queued.
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_tenancy_id"))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_tenancy_id"), ["tenancy_id"], unique=False)
