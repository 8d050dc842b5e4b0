"""idempotency keys of the HTTP API

``idempotency_keys`` keeps the first response to a POST sent with an ``Idempotency-Key``
(unique per account and key), so a retried request returns it instead of acting twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations.columns import at, drop, indexes, integer, json, key, string

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        key(),
        string("owner", 100),
        string("key", 200),
        string("request", 300),
        string("body_sha256", 64),
        integer("status"),
        json("response"),
        at("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner", "key"),
    )
    indexes("idempotency_keys", ("ix_idempotency_keys_created_at", ["created_at"]))


def downgrade() -> None:
    drop("idempotency_keys", "ix_idempotency_keys_created_at")
