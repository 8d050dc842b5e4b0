"""Read models for `show`, `list` and `timeline` (plain dicts, JSON-ready)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from db.tables import (
    Allocation,
    AuditEvent,
    Deadline,
    ExitCase,
    Firm,
    Review,
    Space,
    Tenancy,
    Unit,
)
from lifecycle.errors import NotFound
from lifecycle.table import STATE_LABELS


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def tenancy_summary(t: Tenancy, firm: Firm, space: Space) -> dict[str, Any]:
    return {
        "id": t.id,
        "firm": firm.name,
        "uscc": firm.uscc,
        "space": space.code,
        "state": t.state,
        "state_zh": STATE_LABELS[t.state][0],
        "version": t.version,
        "track": t.track,
        "term_start": _iso(t.term_start),
        "term_end": _iso(t.term_end),
        "score": t.score,
        "rulebook_version": t.rulebook_version,
    }


def list_tenancies(
    session: Session,
    *,
    space: str | None = None,
    state: str | None = None,
    firm: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    stmt = (
        select(Tenancy, Firm, Space)
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .order_by(col(Tenancy.id))
    )
    if space:
        stmt = stmt.where(Space.code == space)
    if state:
        stmt = stmt.where(Tenancy.state == state)
    if firm:
        stmt = stmt.where((Firm.uscc == firm.upper()) | col(Firm.name).contains(firm))
    return [tenancy_summary(t, f, s) for t, f, s in session.exec(stmt.limit(limit)).all()]


def show_tenancy(session: Session, tenancy_id: int) -> dict[str, Any]:
    t = session.get(Tenancy, tenancy_id)
    if t is None:
        raise NotFound("tenancy", tenancy_id)
    firm, space = session.get(Firm, t.firm_id), session.get(Space, t.space_id)
    assert firm is not None and space is not None
    out = tenancy_summary(t, firm, space)
    units = session.exec(
        select(Unit, Allocation)
        .join(Allocation, col(Allocation.unit_id) == col(Unit.id))
        .where(Allocation.tenancy_id == tenancy_id)
    ).all()
    out["units"] = [
        {
            "code": u.code,
            "kind": u.kind,
            "area_m2": a.area_m2,
            "from": _iso(a.start_on),
            "to": _iso(a.end_on),
        }
        for u, a in units
    ]
    out["reviews"] = [
        {
            "period": r.period,
            "status": r.status,
            "score": r.score,
            "grade": r.grade,
            "consequence": r.consequence,
            "due_on": _iso(r.due_on),
            "rulebook_version": r.rulebook_version,
            "trace": r.trace,
        }
        for r in session.exec(
            select(Review).where(Review.tenancy_id == tenancy_id).order_by(col(Review.period))
        ).all()
    ]
    out["exit_cases"] = [
        {
            "id": c.id,
            "type": c.exit_type,
            "grounds": c.grounds,
            "status": c.status,
            "objection_due_on": _iso(c.objection_due_on),
            "vacate_due_on": _iso(c.vacate_due_on),
            "ruling": c.ruling,
            "settlement": c.settlement,
        }
        for c in session.exec(select(ExitCase).where(ExitCase.tenancy_id == tenancy_id)).all()
    ]
    out["deadlines"] = [
        {"kind": d.kind, "due_on": _iso(d.due_on), "status": d.status}
        for d in session.exec(
            select(Deadline)
            .where(Deadline.tenancy_id == tenancy_id, Deadline.status == "pending")
            .order_by(col(Deadline.due_at))
        ).all()
    ]
    return out


def timeline(session: Session, tenancy_id: int) -> list[dict[str, Any]]:
    if session.get(Tenancy, tenancy_id) is None:
        raise NotFound("tenancy", tenancy_id)
    events = session.exec(
        select(AuditEvent).where(AuditEvent.tenancy_id == tenancy_id).order_by(col(AuditEvent.seq))
    ).all()
    return [
        {
            "seq": e.seq,
            "at": _iso(e.occurred_at),
            "actor": e.actor,
            "trigger": e.trigger,
            "from": e.from_state,
            "to": e.to_state,
            "reason": e.reason,
            "data": e.data,
            "rulebook_version": e.rulebook_version,
            "hash": e.hash[:12],
        }
        for e in events
    ]


def state_counts(session: Session, space: str | None = None) -> dict[str, int]:
    stmt = select(Tenancy.state, func.count()).group_by(Tenancy.state)
    if space:
        stmt = stmt.join(Space, col(Space.id) == col(Tenancy.space_id)).where(Space.code == space)
    return {s: n for s, n in session.exec(stmt).all()}


def exits_by_type(session: Session) -> dict[str, int]:
    stmt = (
        select(ExitCase.exit_type, func.count())
        .where(ExitCase.status == "closed")
        .group_by(ExitCase.exit_type)
    )
    return {t: n for t, n in session.exec(stmt).all()}
