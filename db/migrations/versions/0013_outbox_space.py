"""the outbox names the space of a notice about no tenancy: the operators' digest is one per
space

``outbox.space_id`` (NULL: a notice about a tenancy, whose space is the tenancy's, or one about
no space). The operators' daily digest was one notice across every space, shown in the staff
inbox of every operator, another space's firms and decisions included; it is now one per
space, and an account sees the digests of its spaces only. A digest queued before (NULL here)
is about every space: only an account that sees every space is shown it.
"""

from __future__ import annotations

from alembic import op

from db.migrations.columns import integer

revision: str = "0013"
down_revision: str | None = "0012"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(integer("space_id", nullable=True))
        batch_op.create_foreign_key("fk_outbox_space_id_spaces", "spaces", ["space_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_space_id_spaces", type_="foreignkey")
        batch_op.drop_column("space_id")
