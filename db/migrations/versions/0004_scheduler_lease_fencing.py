"""the scheduler's lease: a fencing token, its expiry and the holder's session

``scheduler_lease`` recorded who led, for operators. It is now the lease itself: ``token``
goes up by one at every take-over and every sweep's transaction checks it, ``expires_at`` is
renewed by the holder, ``taken_at`` says when this token was taken and ``backend_pid`` is
the PostgreSQL session the holder renews through (gone: the holder died, take over at once).
A row recorded before keeps its holder and counts as expired.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("taken_at", db.types.UTCDateTime(timezone=True)))
        batch_op.add_column(sa.Column("expires_at", db.types.UTCDateTime(timezone=True)))
        batch_op.add_column(sa.Column("backend_pid", sa.Integer(), nullable=True))
    op.execute("UPDATE scheduler_lease SET taken_at = heartbeat_at, expires_at = heartbeat_at")
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.alter_column("token", server_default=None)
        batch_op.alter_column(
            "taken_at", existing_type=db.types.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.alter_column(
            "expires_at", existing_type=db.types.UTCDateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduler_lease", schema=None) as batch_op:
        batch_op.drop_column("backend_pid")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("taken_at")
        batch_op.drop_column("token")
