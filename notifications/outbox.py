"""Operator views of the outbox: list rows (dead letters first in mind).

Used by ``innospace outbox list`` and the console. Retrying rows is a command
(``RetryNotices``, :mod:`workflows.operations`): it resets the attempt count and makes the
row due now; its ``last_error`` stays until a delivery succeeds, so operators can still see
why it failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from db.tables import OutboxMessage
from lifecycle.errors import InvalidInput

STATUSES = ("pending", "sent", "dead")


def outbox_list(
    session: Session, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Rows newest first, as JSON-ready dicts (no context: it can be large and personal)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(STATUSES)}", status)
    stmt = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return [
        {
            "id": r.id,
            "message": r.message,
            "audience": r.audience,
            "firm_id": r.firm_id,
            "tenancy_id": r.tenancy_id,
            "locale": r.locale,
            "status": r.status,
            "attempts": r.attempts,
            "next_attempt_at": _iso(r.next_attempt_at),
            "last_error": r.last_error,
            "created_at": _iso(r.created_at),
            "sent_at": _iso(r.sent_at),
            "dedupe_key": r.dedupe_key,
        }
        for r in session.exec(stmt).all()
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
