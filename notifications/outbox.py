"""Operator views of the outbox: list rows (dead letters first in mind) and retry them.

Used by ``innospace outbox list|retry`` and the console. Retrying resets the attempt count
and makes the row due now; its ``last_error`` stays until a delivery succeeds, so operators
can still see why it failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.tables import OutboxMessage
from lifecycle.errors import InvalidInput, NotFound

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


def retry(
    session: Session, *, ids: Sequence[int] = (), all_dead: bool = False, now: datetime
) -> int:
    """Make dead (or waiting) rows due now with a fresh attempt budget; returns the count.

    Give either ``ids`` or ``all_dead``. A sent row is refused: re-sending a delivered notice
    is a new notice, not a retry.
    """
    if bool(ids) == all_dead:
        raise InvalidInput("ids", "give outbox ids or all_dead, not both or neither")
    stmt = update(OutboxMessage).values(status="pending", attempts=0, next_attempt_at=now)
    if all_dead:
        return int(session.exec(stmt.where(col(OutboxMessage.status) == "dead")).rowcount)
    rows = {
        r.id: r.status
        for r in session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(list(ids))))
    }
    for outbox_id in ids:
        if outbox_id not in rows:
            raise NotFound("outbox message", outbox_id)
        if rows[outbox_id] == "sent":
            raise InvalidInput("ids", "message was already sent", outbox_id)
    return int(session.exec(stmt.where(col(OutboxMessage.id).in_(list(ids)))).rowcount)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
