"""outbound integrations: signed webhooks and WeCom / DingTalk group robots per space

``integration_endpoints`` holds one row per endpoint an operator registered (``innospace
webhook add``, ``innospace robot add``): the space, the kind (``webhook`` | ``wecom`` |
``dingtalk``), the URL, the signing secret, the message keys delivered (empty: all), when it
was created and, once disabled, when. Deliveries are outbox rows (audience = the kind).
"""

from __future__ import annotations

from db.migrations import columns
from db.migrations.columns import drop, json, string, text

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    columns.SPACE.table(
        "integration_endpoints",
        string("kind", 16),
        text("url"),
        string("secret", 200, nullable=True),
        json("events"),
        *columns.created_then("disabled_at"),
    )


def downgrade() -> None:
    drop("integration_endpoints", "ix_integration_endpoints_space_id")
