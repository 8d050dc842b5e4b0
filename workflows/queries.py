"""Named queries: what entry points read (plain dicts and lists, JSON-ready).

Each takes the unit of work's :class:`Work` first and keyword arguments after, and is run by
``Service.query(fn, **kwargs)`` in a unit of work that is never committed. Operational reads
(the outbox, the inbox, templates, the calendar, the scheduler) are in ``queries_ops``; the
reads that must start fast, in SQLAlchemy Core on a bare connection (``list``), in
``queries_core``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, Table, bindparam
from sqlalchemy import select as core_select
from sqlmodel import col, func, select

from db.tables import (
    ALL_TABLES,
    AuditEvent,
    CalendarOverride,
    Deadline,
    ExitCase,
    Firm,
    Review,
    Space,
    Tenancy,
    Unit,
    Violation,
)
from db.tables import Rulebook as RulebookRow
from lifecycle.errors import NotFound
from lifecycle.rulebook import Rulebook
from workflows import audit, benefits, queries_core, queries_ops, rules
from workflows.core import Work
from workflows.queries_http import TENANCY_ROWS, violation_record
from workflows.reviews import trace_digest


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def tenancy_summary(t: Tenancy, firm: Firm, space: Space) -> dict[str, Any]:
    """The tenancy as ``list`` prints it (:func:`workflows.queries_core.tenancy_summary`)."""
    return queries_core.tenancy_summary(
        {
            "id": t.id,
            "firm": firm.name,
            "uscc": firm.uscc,
            "space": space.code,
            "state": t.state,
            "version": t.version,
            "track": t.track,
            "term_start": t.term_start,
            "term_end": t.term_end,
            "score": t.score,
            "rulebook_version": t.rulebook_version,
        }
    )


def show_tenancy(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    return _show(w, tenancy_id)[0]


def show_tenancy_with_timeline(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    """:func:`show_tenancy` with its ``timeline`` (:func:`timeline`), read together: the
    tenancy and its reviews once, not once each."""
    out, traces = _show(w, tenancy_id)
    out["timeline"] = _timeline(w, tenancy_id, traces)
    return out


# The reads of one tenancy (show, timeline) in Core, built once: no ORM session, no objects,
# no statement built per call (an HTTP show is a handful of these, every request).
_T = ALL_TABLES.tables["tenancies"]
_U = ALL_TABLES.tables["units"]
_AL = ALL_TABLES.tables["allocations"]
_RV = ALL_TABLES.tables["reviews"]
_X = ALL_TABLES.tables["exit_cases"]
_D = ALL_TABLES.tables["deadlines"]
_E = ALL_TABLES.tables["audit_events"]
_TID = bindparam("tenancy_id", type_=Integer)
_TENANCY = TENANCY_ROWS.where(_T.c.id == _TID)
_EXISTS = core_select(_T.c.id).where(_T.c.id == _TID)
_UNITS = (
    core_select(_U.c.code, _U.c.kind, _AL.c.area_m2, _AL.c.start_on, _AL.c.end_on)
    .select_from(_U.join(_AL, _AL.c.unit_id == _U.c.id))
    .where(_AL.c.tenancy_id == _TID)
)


def _of_tenancy(table: Table, *names: str) -> Select[Any]:
    """The columns ``names`` of ``table``'s rows of the tenancy bound as ``tenancy_id``."""
    return core_select(*(table.c[n] for n in names)).where(table.c.tenancy_id == _TID)


_REVIEWS = _of_tenancy(
    _RV, "period", "status", "score", "grade", "consequence", "due_on", "rulebook_version", "trace"
).order_by(_RV.c.period)
_TRACES = _of_tenancy(_RV, "period", "trace")
_EXIT_CASES = _of_tenancy(
    _X,
    "id",
    "exit_type",
    "grounds",
    "status",
    "objection_due_on",
    "vacate_due_on",
    "ruling",
    "settlement",
)
_PENDING = (
    _of_tenancy(_D, "kind", "due_on", "status")
    .where(_D.c.status == "pending")
    .order_by(_D.c.due_at)
)
_EVENTS = _of_tenancy(
    _E,
    "seq",
    "occurred_at",
    "actor",
    "trigger",
    "from_state",
    "to_state",
    "reason",
    "data",
    "rulebook_version",
    "hash",
).order_by(_E.c.seq)


def _show(w: Work, tenancy_id: int) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The tenancy as :func:`show_tenancy` gives it, and its reviews' traces by period."""
    conn, key = w.connection, {"tenancy_id": tenancy_id}
    found = conn.execute(_TENANCY, key).mappings().first()
    if found is None:
        raise NotFound("tenancy", tenancy_id)
    out = queries_core.tenancy_summary(found)
    out["units"] = [
        {"code": code, "kind": kind, "area_m2": area, "from": _iso(start), "to": _iso(end)}
        for code, kind, area, start, end in conn.execute(_UNITS, key)
    ]
    reviews = conn.execute(_REVIEWS, key).mappings().all()
    out["reviews"] = [{**r, "due_on": _iso(r["due_on"])} for r in reviews]
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
        for c in conn.execute(_EXIT_CASES, key)
    ]
    out["deadlines"] = [
        {"kind": kind, "due_on": _iso(due_on), "status": status}
        for kind, due_on, status in conn.execute(_PENDING, key)
    ]
    return out, {r["period"]: r["trace"] for r in reviews}


def timeline(w: Work, *, tenancy_id: int) -> list[dict[str, Any]]:
    conn, key = w.connection, {"tenancy_id": tenancy_id}
    if conn.execute(_EXISTS, key).first() is None:
        raise NotFound("tenancy", tenancy_id)
    traces = {period: trace for period, trace in conn.execute(_TRACES, key)}
    return _timeline(w, tenancy_id, traces)


def _timeline(w: Work, tenancy_id: int, traces: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    events = w.connection.execute(_EVENTS, {"tenancy_id": tenancy_id})
    # A review decision's event carries its trace's digest; the trace is stored once, on the
    # review, and shown with the event when it still matches.
    return [
        {
            "seq": e.seq,
            "at": _iso(e.occurred_at),
            "actor": e.actor,
            "trigger": e.trigger,
            "from": e.from_state,
            "to": e.to_state,
            "reason": e.reason,
            "data": _with_trace(e.data or {}, traces),
            "rulebook_version": e.rulebook_version,
            "hash": e.hash[:12],
        }
        for e in events
    ]


def _with_trace(data: dict[str, Any], traces: dict[int, dict[str, Any]]) -> dict[str, Any]:
    digest, period = data.get("trace_sha256"), data.get("period")
    if digest is None or "trace" in data or not isinstance(period, int):
        return data
    trace = traces.get(period) or {}
    return {**data, "trace": trace if trace_digest(trace) == digest else {}}


def state_counts(w: Work, *, space: str | None = None) -> dict[str, int]:
    stmt = select(Tenancy.state, func.count()).group_by(Tenancy.state)
    if space:
        stmt = stmt.join(Space, col(Space.id) == col(Tenancy.space_id)).where(Space.code == space)
    return {s: n for s, n in w.session.exec(stmt).all()}


def exits_by_type(w: Work) -> dict[str, int]:
    stmt = (
        select(ExitCase.exit_type, func.count())
        .where(ExitCase.status == "closed")
        .group_by(ExitCase.exit_type)
    )
    return {t: n for t, n in w.session.exec(stmt).all()}


def audit_report(w: Work, *, tenancy_id: int | None = None) -> audit.VerifyReport:
    """Every audit chain (or one tenancy's) recomputed; see :func:`workflows.audit.verify`."""
    return audit.verify(w.session, tenancy_id)


def deadlines(
    w: Work,
    *,
    status: str = "pending",
    due_by: datetime | None = None,
    space: str | None = None,
    limit: int = 200,
    space_ids: frozenset[int] | None = None,
    firm_id: int | None = None,
) -> list[dict[str, Any]]:
    """Deadlines in ``status`` (lapsing by ``due_by``, of one space), soonest first; narrowed
    to the spaces ``space_ids`` or the tenancies of ``firm_id`` when given (what an account
    of the HTTP API may see)."""
    if space:
        w.space_by_code(space)  # an unknown space is an error, not an empty list
    stmt = (
        select(Deadline, Space.code)
        .join(Tenancy, col(Tenancy.id) == col(Deadline.tenancy_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(Deadline.status == status)
    )
    if due_by is not None:
        stmt = stmt.where(Deadline.due_at <= due_by)
    if space:
        stmt = stmt.where(Space.code == space)
    if space_ids is not None:
        stmt = stmt.where(col(Tenancy.space_id).in_(sorted(space_ids)))
    if firm_id is not None:
        stmt = stmt.where(Tenancy.firm_id == firm_id)
    rows = w.session.exec(stmt.order_by(col(Deadline.due_at), col(Deadline.id)).limit(limit))
    return [
        {
            "id": d.id,
            "kind": d.kind,
            "tenancy_id": d.tenancy_id,
            "space": code,
            "due_on": d.due_on.isoformat(),
            "due_at": d.due_at.isoformat(),
            "status": d.status,
            **({"error": d.payload["error"]} if "error" in d.payload else {}),
            **({"moot_reason": d.payload["moot_reason"]} if "moot_reason" in d.payload else {}),
        }
        for d, code in rows.all()
    ]


# ---- the registry ---------------------------------------------------------------------------
def spaces(w: Work) -> list[dict[str, Any]]:
    return [
        {"code": s.code, "name": s.name, "rulebook_version": s.rulebook_version}
        for s in w.session.exec(select(Space).order_by(col(Space.id))).all()
    ]


def units(w: Work, *, space: str) -> list[dict[str, Any]]:
    sp = w.space_by_code(space)
    return [
        {"code": u.code, "kind": u.kind, "area_m2": u.area_m2, "status": u.status}
        for u in w.session.exec(
            select(Unit).where(Unit.space_id == sp.id).order_by(col(Unit.code))
        ).all()
    ]


def free_unit(w: Work, *, space: str) -> str | None:
    """The code of the space's first available unit, if any."""
    sp = w.space_by_code(space)
    return w.session.exec(
        select(Unit.code)
        .where(Unit.space_id == sp.id, Unit.status == "available")
        .order_by(col(Unit.id))
    ).first()


def firms(w: Work, *, space_ids: frozenset[int] | None = None) -> list[dict[str, Any]]:
    """The registered firms: of ``space_ids`` (None: all), those with a stay in one of them
    and those registered with none yet (awaiting their application, of no space)."""
    stmt = select(Firm).order_by(col(Firm.id))
    if space_ids is not None:
        stays = select(Tenancy.firm_id)
        ours = stays.where(col(Tenancy.space_id).in_(sorted(space_ids)))
        stmt = stmt.where(col(Firm.id).in_(ours) | col(Firm.id).not_in(stays))
    return [
        {"id": f.id, "name": f.name, "uscc": f.uscc, "industry": f.industry}
        for f in w.session.exec(stmt).all()
    ]


def tenancy_states(w: Work) -> dict[int, str]:
    """Every tenancy's state, by id."""
    return {
        tenancy_id: state
        for tenancy_id, state in w.session.exec(select(Tenancy.id, Tenancy.state)).all()
        if tenancy_id is not None
    }


def calendar_overrides(w: Work, *, year: int | None = None) -> list[dict[str, Any]]:
    """The operator's working-day overrides (of one year), by day."""
    rows = w.session.exec(select(CalendarOverride).order_by(col(CalendarOverride.day))).all()
    return [
        {"day": r.day.isoformat(), "workday": r.workday, "note": r.note}
        for r in rows
        if year is None or r.day.year == year
    ]


# ---- rulebooks and benefits -------------------------------------------------------------------
def shipped_rulebook() -> Rulebook:
    """The default rulebook shipped with innospace (no database needed)."""
    return rules.parse(rules.default_rulebook_text(), "default")


def space_rulebook(w: Work, *, space: str) -> Rulebook:
    """The rulebook active in a space."""
    return rules.for_space(w, w.space_by_code(space))


def tenancy_rulebook(w: Work, *, tenancy_id: int) -> Rulebook:
    """The rulebook a tenancy is under (its own version, else its space's)."""
    return rules.for_tenancy(w, w.tenancy(tenancy_id, lock=False))


def rulebook_versions(w: Work) -> list[dict[str, Any]]:
    """Stored rulebook versions, oldest first: where active, how much they decided."""
    out = []
    for row in w.session.exec(select(RulebookRow).order_by(col(RulebookRow.loaded_at))):
        active_for = w.session.exec(
            select(Space.code)
            .where(Space.rulebook_version == row.version)
            .order_by(col(Space.code))
        ).all()
        tenancies = w.session.exec(
            select(func.count()).select_from(Tenancy).where(Tenancy.rulebook_version == row.version)
        ).one()
        reviews = w.session.exec(
            select(func.count())
            .select_from(Review)
            .where(Review.rulebook_version == row.version, Review.status == "decided")
        ).one()
        out.append(
            {
                "version": row.version,
                "name": row.name,
                "loaded_at": row.loaded_at.isoformat(),
                "active_for": list(active_for),
                "tenancies": tenancies,
                "reviews_decided": reviews,
            }
        )
    return out


def benefits_of(w: Work, *, tenancy_id: int) -> list[dict[str, Any]]:
    """The benefits recorded for a tenancy, oldest first."""
    return [
        {
            "kind": b.kind,
            # to the fen as recorded since; one recorded earlier as ``1E+3`` reads 1000.00
            "amount_yuan": f"{Decimal(b.amount_yuan):.2f}",
            "granted_on": b.granted_on.isoformat(),
            "commitment_months": b.commitment_months,
        }
        for b in benefits.recorded(w, w.tenancy(tenancy_id, lock=False))
    ]


def violations_of(w: Work, *, tenancy_id: int) -> list[dict[str, Any]]:
    """The violations recorded on a tenancy, oldest first: code, facts, the period's end,
    status (open, cured, escalated) and, once cured, the day and how."""
    rows = w.session.exec(
        select(Violation).where(col(Violation.tenancy_id) == tenancy_id).order_by(col(Violation.id))
    ).all()
    return [violation_record(v) for v in rows]


def violation_tenancy(w: Work, *, violation_id: int) -> int:
    """The tenancy a violation is recorded on (NotFound for no such violation)."""
    found = w.session.get(Violation, violation_id)
    if found is None:
        raise NotFound("violation", violation_id)
    return found.tenancy_id


# ---- totals -------------------------------------------------------------------------------
def activity_totals(w: Work) -> dict[str, Any]:
    """How much happened: states, exits, audit events, notices, inbox items, audit check."""
    s = w.session
    report = audit.verify(s)
    return {
        "states": state_counts(w),
        "exits": exits_by_type(w),
        "events": s.exec(select(func.count()).select_from(AuditEvent)).one(),
        **queries_ops.message_totals(w),
        "audit_ok": report.ok,
        "audit_problems": len(report.problems),
    }
