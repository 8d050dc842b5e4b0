"""Named queries of the 公示 board: the applications on public notice, their first and last
day, and the objections lodged against them (each takes :class:`Work` first, never writes)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from db.tables import AuditEvent, Deadline, Firm, Space, Tenancy
from lifecycle.table import PUBLICITY
from workflows.core import Work
from workflows.paging import Paging
from workflows.queries_applications import publicity_of
from workflows.queries_http import with_firm_and_space


def publicity_board(
    w: Work,
    *,
    space: str | None = None,
    space_ids: frozenset[int] | None = None,
    paging: Paging,
) -> list[dict[str, Any]]:
    """The applications in 公示 in the spaces ``space_ids`` (None: all): first and last day,
    and the objections lodged (accepted or not) and whether they await a ruling."""
    stmt = with_firm_and_space(select(Tenancy, Firm, Space)).where(Tenancy.state == PUBLICITY)
    if space:
        stmt = stmt.where(Space.code == space)
    if space_ids is not None:
        stmt = stmt.where(col(Tenancy.space_id).in_(sorted(space_ids)))
    rows = w.session.exec(stmt.order_by(col(Tenancy.id))).all()
    ids = [t.id for t, _, _ in rows if t.id is not None]
    events: dict[int, list[AuditEvent]] = {}
    deadlines: dict[int, list[Deadline]] = {}
    if ids:
        for e in w.session.exec(
            select(AuditEvent)
            .where(
                col(AuditEvent.tenancy_id).in_(ids),
                col(AuditEvent.trigger).in_(
                    ("approve", "lodge_objection", "dismiss_objection", "uphold_objection")
                ),
            )
            .order_by(col(AuditEvent.seq))
        ).all():
            events.setdefault(e.tenancy_id, []).append(e)
        for d in w.session.exec(
            select(Deadline).where(
                col(Deadline.tenancy_id).in_(ids),
                Deadline.status == "pending",
                Deadline.kind == "publicity_end",
            )
        ).all():
            deadlines.setdefault(d.tenancy_id, []).append(d)
    out: list[dict[str, Any]] = []
    for t, firm, sp in rows:
        assert t.id is not None
        pub = publicity_of(events.get(t.id, []), deadlines.get(t.id, []))
        lodged = [o for o in pub["objections"] if o["trigger"] == "lodge_objection"]
        accepted = [o for o in lodged if o["accepted"]]
        ruled = bool(pub["objections"]) and pub["objections"][-1]["trigger"] != "lodge_objection"
        out.append(
            {
                "id": t.id,
                "firm": firm.name,
                "uscc": firm.uscc,
                "space": sp.code,
                "score": t.score,
                "from": pub["from"],
                "to": pub["to"],
                "objections": len(lodged),
                "accepted": len(accepted),
                "awaiting_ruling": bool(accepted) and not ruled,
                "objection_list": pub["objections"],
            }
        )
    keys = {"id", "firm", "space", "from", "to", "objections", "score"}
    key = paging.sort if paging.sort in keys else "to"
    out.sort(
        key=lambda r: (r[key] is None, str(r[key]) if key != "id" else r[key]),
        reverse=paging.descending,
    )
    return paging.cut(out)
