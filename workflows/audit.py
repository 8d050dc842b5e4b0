"""Audit-chain verification over the database (streams tenancy by tenancy)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from db.tables import AuditEvent, Review, Tenancy
from lifecycle.audit import Problem, verify_chain
from workflows.reviews import OUTCOME_TRIGGER, trace_digest

_DECISIONS = frozenset(OUTCOME_TRIGGER.values())


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
        reviews: dict[int, list[Review]] = {i: [] for i in ids}
        for review in session.exec(select(Review).where(col(Review.tenancy_id).in_(ids))).all():
            reviews[review.tenancy_id].append(review)
        for row_id, head, state in part:
            tid = int(row_id or 0)
            chain = by_tenancy[tid]
            report.tenancies += 1
            report.events += len(chain)
            report.problems.extend(verify_chain(tid, chain, head=head, state=state))
            report.problems.extend(cross_check_reviews(tid, chain, reviews[tid]))
        session.expunge_all()
    return report


def cross_check_reviews(
    tenancy_id: int, chain: list[AuditEvent], reviews: list[Review]
) -> list[Problem]:
    """A review's decision as the chain recorded it: a row that disagrees with its event (an
    edited grade, score or trace, a decision without an event) is reported by table, id and
    field. The chain itself is checked by ``verify_chain``; this checks what people read."""
    decided: dict[int, AuditEvent] = {}
    for event in chain:
        data = event.data or {}
        if event.trigger in _DECISIONS and isinstance(data.get("period"), int):
            decided[data["period"]] = event  # the last decision of a period stands
    problems: list[Problem] = []
    for review in reviews:
        decision = decided.get(review.period)
        where = f"reviews #{review.id} ({review.period})"
        if review.status != "decided":
            if decision is not None:
                problems.append(
                    Problem(
                        tenancy_id, decision.seq, "row_mismatch", f"{where} status: not decided"
                    )
                )
            continue
        if decision is None:
            problems.append(
                Problem(tenancy_id, None, "row_mismatch", f"{where}: decided without an event")
            )
            continue
        data = decision.data or {}
        for name in ("grade", "score", "consequence"):
            if getattr(review, name) != data.get(name):
                problems.append(
                    Problem(
                        tenancy_id,
                        decision.seq,
                        "row_mismatch",
                        f"{where} {name}: the row says {getattr(review, name)}, "
                        f"the event says {data.get(name)}",
                    )
                )
        recorded = data.get("trace_sha256")
        if recorded is None and isinstance(data.get("trace"), dict):
            recorded = trace_digest(data["trace"])
        if recorded is not None and trace_digest(review.trace or {}) != recorded:
            problems.append(
                Problem(tenancy_id, decision.seq, "row_mismatch", f"{where} trace: digest differs")
            )
    return problems
