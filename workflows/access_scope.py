"""Named queries that narrow what the API hands staff to the spaces an account may see: the
staff inbox (a notice about a tenancy belongs to the tenancy's space) and introductions (an
introduction belongs to the spaces of its two entries).

``space_ids`` None: every space (an admin); otherwise the account's spaces.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlmodel import col, func, or_, select

from db.tables import InboxItem, Introduction, OpportunityEntry, OutboxMessage, Tenancy
from workflows.core import Work


def _staff_items(space_ids: Collection[int] | None) -> Any:
    """The staff inbox's items (no firm) an account granted ``space_ids`` may see: those
    about a tenancy of one of the spaces, and those about no tenancy (the operators' digest)."""
    stmt = select(InboxItem).where(col(InboxItem.firm_id).is_(None))
    if space_ids is None:
        return stmt
    return (
        stmt.join(OutboxMessage, col(OutboxMessage.id) == col(InboxItem.outbox_id))
        .outerjoin(Tenancy, col(Tenancy.id) == col(OutboxMessage.tenancy_id))
        .where(
            or_(
                col(OutboxMessage.tenancy_id).is_(None),
                col(Tenancy.space_id).in_(list(space_ids)),
            )
        )
    )


def _item(item: InboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "outbox_id": item.outbox_id,
        "message": item.message,
        "audience": item.audience,
        "firm_id": item.firm_id,
        "subject": item.subject,
        "body": item.body,
        "created_at": item.created_at.isoformat(),
        "read_at": item.read_at.isoformat() if item.read_at else None,
    }


def staff_inbox(
    w: Work,
    *,
    space_ids: Collection[int] | None,
    unread_only: bool = False,
    limit: int = 200,
) -> dict[str, Any]:
    """The staff inbox as ``queries_ops.inbox`` shapes it, narrowed to ``space_ids``."""
    stmt = _staff_items(space_ids)
    unread = stmt.where(col(InboxItem.read_at).is_(None))
    count = w.session.exec(select(func.count()).select_from(unread.subquery())).one()
    if unread_only:
        stmt = unread
    items = w.session.exec(stmt.order_by(col(InboxItem.id).desc()).limit(limit)).all()
    return {
        "firm": {"staff": "all"},
        "firm_id": None,
        "unread": int(count),
        "items": [_item(i) for i in items],
    }


def staff_item_ids(
    w: Work, *, item_ids: Sequence[int], space_ids: Collection[int] | None
) -> list[int]:
    """Of ``item_ids``, those of the staff inbox an account granted ``space_ids`` may see (a
    firm's notice is never one: staff do not mark a firm's notices read), in the order given."""
    if not item_ids:
        return []
    stmt = _staff_items(space_ids).where(col(InboxItem.id).in_(list(item_ids)))
    found = {int(i.id) for i in w.session.exec(stmt).all() if i.id is not None}
    return [i for i in dict.fromkeys(item_ids) if i in found]


def introduction_entries(w: Work, *, introduction_id: int) -> tuple[int, int] | None:
    """(need id, supply id) of an introduction; None: no such introduction."""
    row = w.session.exec(
        select(Introduction.need_id, Introduction.supply_id).where(
            col(Introduction.id) == introduction_id
        )
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def entries_in_spaces(
    w: Work, *, entry_ids: Collection[int], space_ids: Collection[int]
) -> set[int]:
    """Of ``entry_ids``, those of an entry in one of ``space_ids``."""
    if not entry_ids or not space_ids:
        return set()
    stmt = select(OpportunityEntry.id).where(
        col(OpportunityEntry.id).in_(list(entry_ids)),
        col(OpportunityEntry.space_id).in_(list(space_ids)),
    )
    return {int(i) for i in w.session.exec(stmt).all() if i is not None}
