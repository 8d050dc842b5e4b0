"""Named queries that narrow what the API hands staff to the spaces an account may see:
introductions (an introduction belongs to the spaces of its two entries). The staff inbox is
narrowed in ``queries_ops.inbox``.

``space_ids`` None: every space (an admin); otherwise the account's spaces.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select

from db.tables import Introduction, OpportunityEntry
from workflows.core import Work


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
