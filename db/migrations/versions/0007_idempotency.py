"""idempotency keys of the HTTP API

``idempotency_keys`` keeps the first response to a POST sent with an ``Idempotency-Key``
(unique per account and key), so a retried request returns it instead of acting twice.
"""

from __future__ import annotations

from db.migrations.columns import at, drop, integer, json, keyed_table, string

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    keyed_table(
        "idempotency_keys",
        string("owner", 100),
        string("key", 200),
        string("request", 300),
        string("body_sha256", 64),
        integer("status"),
        json("response"),
        at("created_at"),
        unique=("owner", "key"),
        index={"ix_idempotency_keys_created_at": ["created_at"]},
    )


def downgrade() -> None:
    drop("idempotency_keys", "ix_idempotency_keys_created_at")
