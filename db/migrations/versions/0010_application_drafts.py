"""application drafts: a firm's portal application form saved before it is sent

``application_drafts`` holds one row per firm (``firm_id`` unique): the form's fields as
typed (JSON), when and by whom they were last saved. Submitting the form sends ``Apply`` and
discards the draft.
"""

from __future__ import annotations

from alembic import op

from db.migrations import columns

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    columns.draft_table(
        "application_drafts",
        columns.FIRM,
        form="fields",
        saved=columns.when_who("saved_at", "saved_by"),
    )


def downgrade() -> None:
    op.drop_table("application_drafts")
