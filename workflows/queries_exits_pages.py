"""Named queries of the console's exit-case pages and the firm portal's inbox, answers and
exit request. Each takes :class:`Work` first, returns plain data and never writes.

Lists are read one page at a time with a sort the page allows (``sort`` is one of the keys
of the ``*_SORTS`` tables here; the page checks it) and narrowed to what the account may see
(``space_ids``: an operator's or viewer's spaces, None for all; ``firm_id``: a firm's own).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import col, func, select

from db.tables import (
    AuditEvent,
    Deadline,
    ExitCase,
    Firm,
    InboxItem,
    OutboxMessage,
    Rectification,
    Space,
    Tenancy,
)
from lifecycle import rulebook as rbook
from lifecycle.errors import InnospaceError, NotFound
from lifecycle.table import ACTIVE, EXIT_NOTICE, RECTIFYING, TRANSITIONS, allowed_triggers
from notifications.catalog import LEGAL_SECTIONS
from workflows import answers, attachments, benefits, exit_rules, rules
from workflows.core import Work

#: The sorts the exit-case list allows, by key.
EXIT_SORTS: dict[str, Any] = {
    "id": col(ExitCase.id),
    "firm": col(Firm.name),
    "space": col(Space.code),
    "type": col(ExitCase.exit_type),
    "status": col(ExitCase.status),
    "objection_due_on": col(ExitCase.objection_due_on),
    "vacate_due_on": col(ExitCase.vacate_due_on),
    "created_at": col(ExitCase.created_at),
}
EXIT_TYPES = ("forced", "voluntary", "term_expiry", "graduation")
#: What a person reads for an exit case's type, status and the triggers of its events.
EXIT_TYPE_LABELS = {
    "forced": ("强制退出", "Forced exit"),
    "voluntary": ("自愿退出", "Voluntary exit"),
    "term_expiry": ("期满退出", "Term expiry"),
    "graduation": ("毕业退出", "Graduation"),
}
EXIT_STATUS_LABELS = {
    "open": ("办理中", "Open"),
    "withdrawn": ("已撤销", "Withdrawn"),
    "closed": ("已办结", "Closed"),
}
_RECORDED_LABELS = {
    "lodge_objection": ("提交陈述申辩", "Statement and defence lodged"),
    "file_plan": ("提交整改方案", "Rectification plan filed"),
    "record_benefit": ("记录优惠政策", "Benefit recorded"),
    answers.REQUEST_EXIT: ("申请自愿退出", "Voluntary exit requested"),
    "waive_window": ("企业书面放弃期限", "Window waived in writing"),
    "dismiss_objection": ("驳回异议", "Objection dismissed"),
}
TRIGGER_LABELS: dict[str, tuple[str, str]] = {
    **{t.trigger: (t.label_zh, t.label_en) for t in TRANSITIONS},
    **_RECORDED_LABELS,
}
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
HANDOVER_LABELS = {
    "meters": ("水电表读数确认", "Meters read"),
    "keys": ("钥匙交回", "Keys returned"),
    "access_cards": ("门禁卡交回", "Access cards returned"),
    "premises_restored": ("场地恢复原状", "Premises restored"),
}
DEADLINE_LABELS = {
    "objection_window_end": ("陈述申辩期限", "Statement and defence window"),
    "vacate_due": ("腾退期限", "Vacate by"),
    "rectification_plan_due": ("整改方案提交期限", "Rectification plan due"),
    "rectification_end": ("整改期限", "Rectification period ends"),
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _scoped(stmt: Any, space_ids: frozenset[int] | None, firm_id: int | None) -> Any:
    if space_ids is not None:
        stmt = stmt.where(col(Tenancy.space_id).in_(sorted(space_ids)))
    if firm_id is not None:
        stmt = stmt.where(Tenancy.firm_id == firm_id)
    return stmt


# ---- the console's list of exit cases --------------------------------------------------------
def exit_case_rows(
    w: Work,
    *,
    space_ids: frozenset[int] | None = None,
    firm_id: int | None = None,
    space: str | None = None,
    status: str | None = None,
    exit_type: str | None = None,
    firm: str | None = None,
    sort: str = "id",
    descending: bool = True,
    offset: int = 0,
    limit: int = 51,
) -> list[dict[str, Any]]:
    """Exit cases with their firm and space, filtered (``firm``: part of the name or the
    code), sorted by ``sort`` (a key of :data:`EXIT_SORTS`), ``limit`` rows from ``offset``."""
    stmt = (
        select(ExitCase, Firm, Space, Tenancy.state)
        .join(Tenancy, col(Tenancy.id) == col(ExitCase.tenancy_id))
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
    )
    stmt = _scoped(stmt, space_ids, firm_id)
    if space:
        stmt = stmt.where(Space.code == space)
    if status:
        stmt = stmt.where(ExitCase.status == status)
    if exit_type:
        stmt = stmt.where(ExitCase.exit_type == exit_type)
    if firm:
        needle = f"%{firm.strip()}%"
        stmt = stmt.where(col(Firm.name).like(needle) | col(Firm.uscc).like(needle))
    key = EXIT_SORTS.get(sort, EXIT_SORTS["id"])
    order = key.desc() if descending else key.asc()
    tie = col(ExitCase.id).desc() if descending else col(ExitCase.id).asc()
    rows = w.session.exec(stmt.order_by(order, tie).offset(offset).limit(limit)).all()
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
    """Active tenancies whose newest event is a voluntary exit request still to act on."""
    stmt = (
        select(AuditEvent, Firm, Space)
        .join(Tenancy, col(Tenancy.id) == col(AuditEvent.tenancy_id))
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(
            AuditEvent.trigger == answers.REQUEST_EXIT,
            Tenancy.state == ACTIVE,
            col(AuditEvent.seq) == col(Tenancy.audit_seq),
        )
    )
    stmt = _scoped(stmt, space_ids, None)
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
def _label(labels: dict[str, tuple[str, str]], key: str | None) -> dict[str, str]:
    zh, en = labels.get(key or "", (key or "—", key or "—"))
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
            "label": _label(TRIGGER_LABELS, e.trigger),
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
            col(Deadline.kind).in_(sorted(DEADLINE_LABELS)),
        )
        .order_by(col(Deadline.due_at))
    ).all()
    return [
        {"kind": d.kind, "label": _label(DEADLINE_LABELS, d.kind), "due_on": d.due_on} for d in rows
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
        if case.status == "withdrawn" and state != "done":
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
        select(ExitCase, Tenancy, Firm, Space)
        .join(Tenancy, col(Tenancy.id) == col(ExitCase.tenancy_id))
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(ExitCase.id == exit_case_id)
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
        "type_label": _label(EXIT_TYPE_LABELS, case.exit_type),
        "status": case.status,
        "status_label": _label(EXIT_STATUS_LABELS, case.status),
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


# ---- the firm's inbox ------------------------------------------------------------------------
def _legal(body: str, locale_sections: tuple[str, ...]) -> list[dict[str, str]] | None:
    """A legal notice's text cut at its four section headings (None when it lacks one)."""
    positions = [body.find(h) for h in locale_sections]
    if any(p < 0 for p in positions) or positions != sorted(positions):
        return None
    parts = [{"heading": "", "text": body[: positions[0]].strip()}]
    for i, heading in enumerate(locale_sections):
        start = positions[i] + len(heading)
        end = positions[i + 1] if i + 1 < len(positions) else len(body)
        parts.append({"heading": heading, "text": body[start:end].strip()})
    return parts


def _sections(body: str) -> list[dict[str, str]] | None:
    for sections in LEGAL_SECTIONS.values():
        cut = _legal(body, sections)
        if cut is not None:
            return cut
    return None


def inbox_rows(
    w: Work,
    *,
    firm_id: int,
    unread_only: bool = False,
    message: str | None = None,
    sort: str = "created_at",
    descending: bool = True,
    offset: int = 0,
    limit: int = 51,
) -> dict[str, Any]:
    """A page of the firm's own inbox and how many are unread."""
    keys = {
        "created_at": col(InboxItem.id),
        "subject": col(InboxItem.subject),
        "read_at": col(InboxItem.read_at),
    }
    stmt = select(InboxItem).where(InboxItem.firm_id == firm_id, InboxItem.audience == "firm")
    if unread_only:
        stmt = stmt.where(col(InboxItem.read_at).is_(None))
    if message:
        stmt = stmt.where(InboxItem.message == message)
    key = keys.get(sort, keys["created_at"])
    stmt = stmt.order_by(key.desc() if descending else key.asc(), col(InboxItem.id).desc())
    items = w.session.exec(stmt.offset(offset).limit(limit)).all()
    unread = w.session.exec(
        select(func.count())
        .select_from(InboxItem)
        .where(
            InboxItem.firm_id == firm_id,
            InboxItem.audience == "firm",
            col(InboxItem.read_at).is_(None),
        )
    ).one()
    return {
        "unread": int(unread),
        "items": [
            {
                "id": i.id,
                "message": i.message,
                "subject": i.subject,
                "created_at": i.created_at,
                "read_at": i.read_at,
                "read": i.read_at is not None,
                "legal": _sections(i.body) is not None,
            }
            for i in items
        ],
    }


def inbox_item(w: Work, *, firm_id: int, item_id: int) -> dict[str, Any]:
    """One notice of the firm's own inbox, with its sections when it is a legal notice and
    the space that sent it (the letterhead); another firm's is NotFound."""
    item = w.session.get(InboxItem, item_id)
    if item is None or item.firm_id != firm_id or item.audience != "firm":
        raise NotFound("notice", item_id)
    space = tenancy_id = None
    found = w.session.exec(
        select(OutboxMessage.tenancy_id, Space.name, Space.code)
        .join(Tenancy, col(Tenancy.id) == col(OutboxMessage.tenancy_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(OutboxMessage.id == item.outbox_id)
    ).first()
    if found is not None:
        tenancy_id, space = found[0], {"name": found[1], "code": found[2]}
    firm = w.session.get(Firm, firm_id)
    answerable = False
    if tenancy_id is not None and item.message in ANSWERABLE:
        state = w.session.exec(select(Tenancy.state).where(Tenancy.id == tenancy_id)).first()
        answerable = state in (EXIT_NOTICE, RECTIFYING)
    return {
        "id": item.id,
        "message": item.message,
        "subject": item.subject,
        "body": item.body,
        "sections": _sections(item.body),
        "created_at": item.created_at,
        "read_at": item.read_at,
        "space": space,
        "tenancy_id": tenancy_id,
        "firm": {"name": firm.name, "uscc": firm.uscc} if firm is not None else None,
        "answerable": answerable,
    }


#: Notices a firm may answer from the portal (while the tenancy waits for the answer).
ANSWERABLE = frozenset({"exit_notice", "rectification_notice", "review_result"})


# ---- answering, leaving ----------------------------------------------------------------------
def answer_context(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    """What the answer page needs: what can be answered now (``kind``: ``defence`` on an exit
    notice, ``plan`` on a rectification order, None otherwise), the last day (from the
    pending deadline, else the case), whether it is still open, and what was sent already."""
    row = w.session.exec(
        select(Tenancy, Firm, Space)
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(Tenancy.id == tenancy_id)
    ).first()
    if row is None:
        raise NotFound("tenancy", tenancy_id)
    tenancy, firm, space = row
    kind: str | None = None
    due: date | None = None
    sent = False
    subject: dict[str, Any] = {}
    if tenancy.state == EXIT_NOTICE:
        kind = "defence"
        case = w.session.exec(
            select(ExitCase)
            .where(ExitCase.tenancy_id == tenancy_id, ExitCase.status == "open")
            .order_by(col(ExitCase.id).desc())
        ).first()
        due = w.uow.admissions.pending_due_on(tenancy_id, answers.WINDOW_END)
        if case is not None:
            due = due or case.objection_due_on
            sent = case.objection is not None
            subject = {"facts": case.facts, "grounds": case.grounds, "case_id": case.id}
    elif tenancy.state == RECTIFYING:
        kind = "plan"
        rect = w.session.exec(
            select(Rectification)
            .where(Rectification.tenancy_id == tenancy_id, Rectification.status == "open")
            .order_by(col(Rectification.id).desc())
        ).first()
        if rect is not None:
            due = w.uow.admissions.pending_due_on(tenancy_id, "rectification_plan_due")
            due = due or rect.plan_due_on
            sent = rect.plan is not None
            subject = {"defects": rect.defects, "due_on": rect.due_on}
    answered = w.session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.tenancy_id == tenancy_id,
            col(AuditEvent.trigger).in_(("lodge_objection", "file_plan")),
        )
        .order_by(col(AuditEvent.seq).desc())
    ).all()
    return {
        "tenancy_id": tenancy_id,
        "version": tenancy.version,
        "state": tenancy.state,
        "firm": firm.name,
        "space": {"code": space.code, "name": space.name},
        "kind": kind,
        "due_on": due,
        "open": kind is not None and (due is None or w.today <= due) and not sent,
        "late": due is not None and w.today > due,
        "sent": sent,
        "subject": subject,
        "today": w.today,
        "answers": [
            {
                "at": e.occurred_at,
                "trigger": e.trigger,
                "label": _label(TRIGGER_LABELS, e.trigger),
                "text": (e.data or {}).get("grounds") or "",
                "accepted": (e.data or {}).get("accepted", True),
                "attachments": [
                    a.to_dict() for a in attachments.from_dicts((e.data or {}).get("attachments"))
                ],
            }
            for e in answered
        ],
    }


def exit_request_context(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    """What the voluntary exit page needs: the notice period and the earliest day to leave,
    the handover steps, whether a request is on file, and whether one may be made now."""
    row = w.session.exec(
        select(Tenancy, Firm, Space)
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(Tenancy.id == tenancy_id)
    ).first()
    if row is None:
        raise NotFound("tenancy", tenancy_id)
    tenancy, firm, space = row
    record = w.tenancy(tenancy_id, lock=False)
    rb = rules.for_tenancy(w, record)
    period = rb.periods.voluntary_notice
    requests = w.session.exec(
        select(AuditEvent)
        .where(AuditEvent.tenancy_id == tenancy_id, AuditEvent.trigger == answers.REQUEST_EXIT)
        .order_by(col(AuditEvent.seq).desc())
    ).all()
    pending = [e for e in requests if tenancy.state == ACTIVE and e.seq == tenancy.audit_seq]
    return {
        "tenancy_id": tenancy_id,
        "version": tenancy.version,
        "state": tenancy.state,
        "firm": firm.name,
        "space": {"code": space.code, "name": space.name},
        "period_zh": period.describe("zh-CN"),
        "period_en": period.describe("en"),
        "earliest": w.calendar.due_date(w.today, period),
        "today": w.today,
        "may_request": tenancy.state == ACTIVE and not pending,
        "pending": (
            {"leave_on": (pending[0].data or {}).get("leave_on"), "at": pending[0].occurred_at}
            if pending
            else None
        ),
        "procedure": [
            {"zh": s.label_zh, "en": s.label_en}
            for s in rb.exit.procedure
            if s.step in ("vacate", "handover", "registration_move_out", "settlement")
        ],
        "handover": [{"zh": v[0], "en": v[1]} for v in HANDOVER_LABELS.values()],
        "refund_with_approval": list(rb.exit.voluntary.refund_with_approval),
        "forfeit_without_approval": list(rb.exit.voluntary.forfeit_without_approval),
        "vacate_zh": rbook.vacate_period(rb, "voluntary", None).describe("zh-CN"),
        "vacate_en": rbook.vacate_period(rb, "voluntary", None).describe("en"),
    }


def firm_tenancies(w: Work, *, firm_id: int) -> list[dict[str, Any]]:
    """The firm's tenancies (the portal's links to answer or to leave)."""
    rows = w.session.exec(
        select(Tenancy, Space)
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(Tenancy.firm_id == firm_id)
        .order_by(col(Tenancy.id).desc())
    ).all()
    return [{"id": t.id, "state": t.state, "space": s.name} for t, s in rows]


def serve_context(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    """What the form that serves an exit notice needs: the firm, its state, whether a notice
    may be served now, the rulebook's grounds and the 陈述申辩 window it opens."""
    row = w.session.exec(
        select(Tenancy, Firm, Space)
        .join(Firm, col(Firm.id) == col(Tenancy.firm_id))
        .join(Space, col(Space.id) == col(Tenancy.space_id))
        .where(Tenancy.id == tenancy_id)
    ).first()
    if row is None:
        raise NotFound("tenancy", tenancy_id)
    tenancy, firm, space = row
    rb = rules.active_in(w, tenancy.space_id)
    window = rb.periods.objection_window
    return {
        "tenancy_id": tenancy_id,
        "version": tenancy.version,
        "state": tenancy.state,
        "firm": firm.name,
        "space": {"code": space.code, "name": space.name},
        "allowed": "serve_exit_notice" in allowed_triggers(tenancy.state),
        "grounds": [{"code": t.code, "zh": t.label_zh, "en": t.label_en} for t in rb.exit.triggers],
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
