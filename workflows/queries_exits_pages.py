"""Named queries of the console's exit-case pages: the list, one case with its procedure,
statements, files, deadlines, benefits and settlement, the voluntary exit requests, the form
that serves a notice. Each takes :class:`Work` first, returns plain data and never writes
(the portal's are in :mod:`workflows.queries_portal_pages`).

The list is read one page at a time with a sort the page allows (``paging.sort``: a key of
:data:`EXIT_SORTS`; anything else sorts by id) and narrowed to what the account may see
(``space_ids``: an operator's or viewer's spaces, None for all; ``firm_id``: a firm's own).
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypedDict, Unpack

from sqlmodel import col, func, select

from db.tables import (
    AuditEvent,
    Deadline,
    ExitCase,
    Firm,
    Space,
    Tenancy,
)
from lifecycle import rulebook as rbook
from lifecycle.errors import InnospaceError, NotFound
from lifecycle.table import RESIDENT_STATES, allowed_triggers
from workflows import answers, attachments, benefits, exit_rules, rules, vocabulary
from workflows.core import Work
from workflows.paging import Paging, Reach, Wanted, sort_columns
from workflows.queries_http import OWNER_SORTS, scoped, with_firm_and_space

#: The sorts the exit-case list allows, by key.
EXIT_SORTS = {
    **sort_columns(ExitCase, "id", "status", "objection_due_on", "vacate_due_on", "created_at"),
    **OWNER_SORTS,
    "type": col(ExitCase.exit_type),
}


#: The filters of the list of exit cases.
class ExitFilters(TypedDict, total=False):
    space: Wanted
    status: Wanted
    exit_type: Wanted
    firm: Wanted


EXIT_TYPES = tuple(vocabulary.EXIT_TYPES)
#: What a person reads for an exit case's type, status and the triggers of its events.
EXIT_TYPE_LABELS = vocabulary.EXIT_TYPES
EXIT_STATUS_LABELS = vocabulary.EXIT_STATUS
TRIGGER_LABELS = vocabulary.EXIT_STEPS
#: The events an exit case's page lists (from the notice, or the request, onwards).
CASE_TRIGGERS = (
    "fail_review",
    "fail_reinspection",
    "serve_exit_notice",
    "lodge_objection",
    "uphold_objection",
    "confirm_exit",
    "begin_exit",
    "confirm_graduation",
    "graduate",
    "escalate_vacating",
    "hand_over",
    "waive_window",
    answers.REQUEST_EXIT,
)
HANDOVER_LABELS = vocabulary.HANDOVER
#: The deadlines an exit case's page lists.
EXIT_DEADLINES = (
    "objection_window_end",
    "vacate_due",
    "rectification_plan_due",
    "rectification_end",
)

#: An exit case ended by an upheld defence (``exit_cases.status``; not a tenancy state).
CASE_WITHDRAWN = "withdrawn"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# ---- the console's list of exit cases --------------------------------------------------------
def exit_case_rows(
    w: Work, *, reach: Reach, paging: Paging, **filters: Unpack[ExitFilters]
) -> list[dict[str, Any]]:
    """Exit cases with their firm and space within ``reach``, filtered (by ``space`` code,
    ``status``, ``exit_type``; ``firm``: part of the name or the code), one page of them
    sorted as ``paging`` says (by a key of :data:`EXIT_SORTS`)."""
    status, exit_type, firm = filters.get("status"), filters.get("exit_type"), filters.get("firm")
    stmt = with_firm_and_space(select(ExitCase, Firm, Space, Tenancy.state), ExitCase.tenancy_id)
    stmt = scoped(stmt, filters.get("space") or None, reach.space_ids, reach.firm_id)
    if status:
        stmt = stmt.where(ExitCase.status == status)
    if exit_type:
        stmt = stmt.where(ExitCase.exit_type == exit_type)
    if firm:
        needle = f"%{firm.strip()}%"
        stmt = stmt.where(col(Firm.name).like(needle) | col(Firm.uscc).like(needle))
    tie = paging.order(col(ExitCase.id))
    rows = w.session.exec(paging.apply(stmt, EXIT_SORTS, "id", tie)).all()
    return [
        {
            "id": case.id,
            "tenancy_id": case.tenancy_id,
            "firm": f.name,
            "uscc": f.uscc,
            "space": s.code,
            "type": case.exit_type,
            "type_zh": EXIT_TYPE_LABELS.get(case.exit_type, (case.exit_type,) * 2)[0],
            "type_en": EXIT_TYPE_LABELS.get(case.exit_type, (case.exit_type,) * 2)[1],
            "status": case.status,
            "status_zh": EXIT_STATUS_LABELS.get(case.status, (case.status,) * 2)[0],
            "status_en": EXIT_STATUS_LABELS.get(case.status, (case.status,) * 2)[1],
            "state": state,
            "grounds": case.grounds,
            "objection": case.objection is not None,
            "objection_due_on": case.objection_due_on,
            "vacate_due_on": case.vacate_due_on,
            "created_at": case.created_at,
        }
        for case, f, s, state in rows
    ]


def voluntary_requests(
    w: Work, *, space_ids: frozenset[int] | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Resident tenancies whose newest voluntary exit request no exit case has followed yet
    (the operators' to act on), newest first."""
    newest = (
        select(AuditEvent.tenancy_id, func.max(AuditEvent.seq).label("seq"))
        .where(AuditEvent.trigger == answers.REQUEST_EXIT)
        .group_by(col(AuditEvent.tenancy_id))
        .subquery()
    )
    later_case = (
        select(ExitCase.id)
        .where(
            col(ExitCase.tenancy_id) == col(AuditEvent.tenancy_id),
            col(ExitCase.created_at) >= col(AuditEvent.occurred_at),
        )
        .exists()
    )
    stmt = (
        select(AuditEvent, Firm, Space)
        .join(
            newest,
            (newest.c.tenancy_id == col(AuditEvent.tenancy_id))
            & (newest.c.seq == col(AuditEvent.seq)),
        )
        .join(Tenancy, col(Tenancy.id) == col(AuditEvent.tenancy_id))
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(col(Tenancy.state).in_(RESIDENT_STATES), ~later_case)
    )
    stmt = scoped(stmt, None, space_ids, None)
    rows = w.session.exec(stmt.order_by(col(AuditEvent.id).desc()).limit(limit)).all()
    return [
        {
            "tenancy_id": e.tenancy_id,
            "firm": f.name,
            "space": s.code,
            "leave_on": (e.data or {}).get("leave_on"),
            "reason": e.reason,
            "at": e.occurred_at,
        }
        for e, f, s in rows
    ]


# ---- one exit case ---------------------------------------------------------------------------
def label(labels: dict[str, tuple[str, str]], key: str | None) -> dict[str, str]:
    """The two languages of ``key`` in ``labels`` (the key itself when it has none)."""
    zh, en = vocabulary.words(labels, key or None)
    return {"zh": zh, "en": en}


def _events(w: Work, tenancy_id: int, since: Any) -> list[dict[str, Any]]:
    rows = w.session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.tenancy_id == tenancy_id,
            col(AuditEvent.trigger).in_(CASE_TRIGGERS + ("record_benefit",)),
        )
        .order_by(col(AuditEvent.seq))
    ).all()
    return [
        {
            "seq": e.seq,
            "at": e.occurred_at,
            "actor": e.actor,
            "trigger": e.trigger,
            "label": label(TRIGGER_LABELS, e.trigger),
            "from": e.from_state,
            "to": e.to_state,
            "reason": e.reason,
            "data": e.data or {},
            "attachments": [
                a.to_dict() for a in attachments.from_dicts((e.data or {}).get("attachments"))
            ],
        }
        for e in rows
        if e.trigger == "record_benefit" or since is None or e.occurred_at >= since
    ]


def _pending(w: Work, tenancy_id: int) -> list[dict[str, Any]]:
    rows = w.session.exec(
        select(Deadline)
        .where(
            Deadline.tenancy_id == tenancy_id,
            Deadline.status == "pending",
            col(Deadline.kind).in_(EXIT_DEADLINES),
        )
        .order_by(col(Deadline.due_at))
    ).all()
    return [
        {"kind": d.kind, "label": label(vocabulary.DEADLINES, d.kind), "due_on": d.due_on}
        for d in rows
    ]


def _day(event: dict[str, Any] | None, key: str) -> date | None:
    raw = event["data"].get(key) if event is not None else None
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _procedure(
    rb: rbook.Rulebook | None, case: ExitCase, events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rulebook's exit procedure, each step with where this case stands on it."""
    forced = case.exit_type == "forced"
    handed = next((e for e in events if e["trigger"] == "hand_over"), None)
    status: dict[str, tuple[str, Any]] = {
        "record_facts": ("done" if case.facts else "todo", None),
        "serve_notice": ("done" if case.proof_of_service else "todo", case.served_at),
        "statement_and_defence": (
            "done" if case.objection is not None or case.ruling else "open",
            case.objection_due_on,
        ),
        "decision": ("done" if case.ruling else "todo", None),
        "vacate": ("done" if case.handed_over_at else "open", case.vacate_due_on),
        "handover": ("done" if case.handed_over_at else "todo", case.handed_over_at),
        "registration_move_out": (
            "open" if handed else "todo",
            _day(handed, "registration_move_out_by"),
        ),
        "settlement": ("done" if "refund_yuan" in case.settlement else "todo", None),
    }
    only_forced = {"record_facts", "serve_notice", "statement_and_defence", "decision"}
    steps = rb.exit.procedure if rb is not None else ()
    out = []
    for step in steps:
        state, when = status.get(step.step, ("todo", None))
        if not forced and step.step in only_forced:
            state = "n/a"
        if case.status == CASE_WITHDRAWN and state != "done":
            state = "n/a"
        out.append(
            {
                "step": step.step,
                "zh": step.label_zh,
                "en": step.label_en,
                "state": state,
                "when": when,
            }
        )
    return out


def exit_case_page(w: Work, *, exit_case_id: int) -> dict[str, Any]:
    """One exit case as its page shows it: the case, its firm and space, the tenancy's state
    and version, the procedure step by step, the events from the notice on (statements with
    their files), pending deadlines, benefits, the deposit and the settlement, and what the
    lifecycle allows now."""
    row = w.session.exec(
        with_firm_and_space(select(ExitCase, Tenancy, Firm, Space), ExitCase.tenancy_id).where(
            ExitCase.id == exit_case_id
        )
    ).first()
    if row is None:
        raise NotFound("exit_case", exit_case_id)
    case, tenancy, firm, space = row
    tid = int(tenancy.id or 0)
    rb: rbook.Rulebook | None
    try:
        rb = rules.by_version(w, case.rulebook_version or tenancy.rulebook_version)
    except InnospaceError:
        rb = None
    events = _events(w, tid, case.created_at)
    grounds = None
    if case.grounds and rb is not None:
        try:
            trig = rbook.exit_trigger(rb, case.grounds)
            grounds = {"zh": trig.label_zh, "en": trig.label_en, "handling": trig.handling}
        except InnospaceError:
            grounds = None
    record = w.tenancy(tid, lock=False)
    recorded = [
        {
            "kind": b.kind,
            "amount_yuan": b.amount_yuan,
            "granted_on": b.granted_on,
            "commitment_months": b.commitment_months,
        }
        for b in benefits.recorded(w, record)
    ]
    deposit = exit_rules.deposit_of(w.uow.cases.events(tid, exit_rules.DEPOSIT_TRIGGERS))
    statements = [e for e in events if e["trigger"] == "lodge_objection"]
    latest = case.id == _newest_case_id(w, tid)
    allowed = sorted(allowed_triggers(tenancy.state)) if case.status == "open" and latest else []
    return {
        "id": case.id,
        "tenancy_id": tenancy.id,
        "version": tenancy.version,
        "state": tenancy.state,
        "firm": {"name": firm.name, "uscc": firm.uscc, "contact": firm.contact_name},
        "space": {"code": space.code, "name": space.name},
        "type": case.exit_type,
        "type_label": label(EXIT_TYPE_LABELS, case.exit_type),
        "status": case.status,
        "status_label": label(EXIT_STATUS_LABELS, case.status),
        "grounds": case.grounds,
        "grounds_label": grounds,
        "facts": case.facts,
        "proof_of_service": case.proof_of_service,
        "served_at": case.served_at,
        "objection_due_on": case.objection_due_on,
        "objection": case.objection,
        "ruling": case.ruling,
        "vacate_due_on": case.vacate_due_on,
        "handed_over_at": case.handed_over_at,
        "checklist": [
            {"item": k, "zh": v[0], "en": v[1], "done": bool(case.checklist.get(k))}
            for k, v in HANDOVER_LABELS.items()
        ],
        "settlement": case.settlement,
        "approved": bool(case.settlement.get("approved", True)),
        "procedure": _procedure(rb, case, events),
        "events": events,
        "statements": statements,
        "deadlines": _pending(w, tid),
        "benefits": recorded,
        "deposit_yuan": deposit,
        "allowed": allowed,
        "window_open": case.objection_due_on is not None and w.today <= case.objection_due_on,
        "today": w.today,
    }


def _newest_case_id(w: Work, tenancy_id: int) -> int | None:
    found = w.session.exec(
        select(func.max(ExitCase.id)).where(ExitCase.tenancy_id == tenancy_id)
    ).first()
    return int(found) if found is not None else None


def case_attachment(w: Work, *, exit_case_id: int, sha256: str) -> dict[str, Any]:
    """An attachment of a statement on this exit case's tenancy (NotFound for any other)."""
    tenancy_id = w.session.exec(
        select(ExitCase.tenancy_id).where(ExitCase.id == exit_case_id)
    ).first()
    if tenancy_id is None:
        raise NotFound("exit_case", exit_case_id)
    return tenancy_attachment(w, tenancy_id=int(tenancy_id), sha256=sha256)


def tenancy_attachment(w: Work, *, tenancy_id: int, sha256: str) -> dict[str, Any]:
    """An attachment the tenancy's answers recorded (NotFound for any other)."""
    rows = w.session.exec(
        select(AuditEvent.data).where(
            AuditEvent.tenancy_id == tenancy_id,
            col(AuditEvent.trigger).in_(("lodge_objection", "file_plan")),
        )
    ).all()
    for data in rows:
        for item in attachments.from_dicts((data or {}).get("attachments")):
            if item.sha256 == sha256:
                return item.to_dict()
    raise NotFound("attachment", sha256)


def tenancy_header(w: Work, *, tenancy_id: int) -> tuple[Tenancy, dict[str, Any]]:
    """A tenancy and what a page about it heads with: its id, version and state, the firm's
    name and the space."""
    row = w.session.exec(
        with_firm_and_space(select(Tenancy, Firm, Space)).where(Tenancy.id == tenancy_id)
    ).first()
    if row is None:
        raise NotFound("tenancy", tenancy_id)
    tenancy, firm, space = row
    return tenancy, {
        "tenancy_id": tenancy_id,
        "version": tenancy.version,
        "state": tenancy.state,
        "firm": firm.name,
        "space": {"code": space.code, "name": space.name},
    }


def serve_context(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    """What the form that serves an exit notice needs: the firm, its state, whether a notice
    may be served now, the rulebook's grounds and the 陈述申辩 window it opens."""
    tenancy, header = tenancy_header(w, tenancy_id=tenancy_id)
    rb = rules.active_in(w, tenancy.space_id)
    window = rb.periods.objection_window
    return {
        **header,
        "allowed": "serve_exit_notice" in allowed_triggers(tenancy.state),
        # Not the grounds the review and the re-inspection raise by themselves.
        "grounds": [
            {"code": t.code, "zh": t.label_zh, "en": t.label_en}
            for t in rb.exit.triggers
            if not t.raised_by_engine
        ],
        "window_zh": window.describe("zh-CN"),
        "window_en": window.describe("en"),
        "window_ends": w.calendar.due_date(w.today, window),
    }


def open_case_of(w: Work, *, tenancy_id: int) -> int | None:
    """The id of the tenancy's newest open exit case, if it has one."""
    found = w.session.exec(
        select(ExitCase.id)
        .where(ExitCase.tenancy_id == tenancy_id, ExitCase.status == "open")
        .order_by(col(ExitCase.id).desc())
    ).first()
    return int(found) if found is not None else None
