"""the outbox names the space of a notice about no tenancy: the operators' digest is one per
space

``outbox.space_id`` (NULL: a notice about a tenancy, whose space is the tenancy's, or one about
no space). The operators' daily digest was one notice across every space, shown in the staff
inbox of every operator, another space's firms and decisions included; it is now one per
space, and an account sees the digests of its spaces only. A digest queued before (NULL here)
is about every space: only an account that sees every space is shown it.
"""

from __future__ import annotations

from db.migrations.columns import SPACE

revision: str = "0013"
down_revision: str | None = "0012"


def upgrade() -> None:
    SPACE.add_to("outbox")  # fk_outbox_space_id_spaces


def downgrade() -> None:
    SPACE.drop_from("outbox")
