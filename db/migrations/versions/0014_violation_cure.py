"""a violation records its cure: the day the firm cured it and how

``violations.cured_on`` (the day the firm paid its arrears, restored the premises or was
delisted, as the operator recorded it with ``innospace violation cure``) and
``violations.cure_note`` (the receipt, inspection or delisting notice it rests on). Both NULL
for a violation not cured, and for those recorded before.
"""

from __future__ import annotations

from alembic import op

from db.migrations.columns import day, text

revision: str = "0014"
down_revision: str | None = "0013"


def upgrade() -> None:
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.add_column(day("cured_on", nullable=True))
        batch_op.add_column(text("cure_note", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.drop_column("cure_note")
        batch_op.drop_column("cured_on")
