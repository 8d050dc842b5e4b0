"""Audit-chain verification over the database (streams tenancy by tenancy)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from db.tables import AuditEvent, Tenancy
from lifecycle.audit import Problem, verify_chain


@dataclass
class VerifyReport:
    tenancies: int = 0
    events: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "tenancies": self.tenancies,
            "events": self.events,
            "problems": [
                {"tenancy_id": p.tenancy_id, "seq": p.seq, "kind": p.kind, "detail": p.detail}
                for p in self.problems
            ],
        }


def verify(session: Session, tenancy_id: int | None = None, *, chunk: int = 500) -> VerifyReport:
    """Recompute every chain; report edited, deleted, reordered events and fold mismatches.

    Events are read in storage order (their id), not by ``seq``, so a row whose ``seq`` was
    edited to hide a reordering is still caught.
    """
    report = VerifyReport()
    stmt = select(Tenancy.id, Tenancy.audit_head, Tenancy.state).order_by(col(Tenancy.id))
    if tenancy_id is not None:
        stmt = stmt.where(Tenancy.id == tenancy_id)
    heads = session.exec(stmt).all()
    for start in range(0, len(heads), chunk):
        part = heads[start : start + chunk]
        ids = [int(h[0]) for h in part if h[0] is not None]
        events = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.tenancy_id).in_(ids))
            .order_by(col(AuditEvent.tenancy_id), col(AuditEvent.id))
        ).all()
        by_tenancy: dict[int, list[AuditEvent]] = {i: [] for i in ids}
        for event in events:
            by_tenancy[event.tenancy_id].append(event)
        for row_id, head, state in part:
            tid = int(row_id or 0)
            chain = by_tenancy[tid]
            report.tenancies += 1
            report.events += len(chain)
            report.problems.extend(verify_chain(tid, chain, head=head, state=state))
        session.expunge_all()
    return report
