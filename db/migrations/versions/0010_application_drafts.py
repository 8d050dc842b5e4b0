"""application drafts: a firm's portal application form saved before it is sent

``application_drafts`` holds one row per firm (``firm_id`` unique): the form's fields as
typed (JSON), when and by whom they were last saved. Submitting the form sends ``Apply`` and
discards the draft.
"""

from __future__ import annotations

from alembic import op

from db.migrations import columns
from db.migrations.columns import fk, integer, json, keyed_table

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    keyed_table(
        "application_drafts",
        integer("firm_id"),
        json("fields"),
        *columns.when_who("saved_at", "saved_by"),
        fk("firm_id", "firms.id"),
        unique=("firm_id",),
    )


def downgrade() -> None:
    op.drop_table("application_drafts")
