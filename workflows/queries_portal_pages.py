"""Named queries of the firm portal's pages: the firm's inbox (a legal notice cut at its
four sections), what the answer page and the voluntary exit page need, the firm's tenancies.
Each takes :class:`Work` first, returns plain data and never writes; the portal reads only
the firm's own (``firm_id``) or a tenancy its route checked in the firm's scope.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select

from db.tables import (
    AuditEvent,
    Firm,
    InboxItem,
    OutboxMessage,
    Rectification,
    Space,
    Tenancy,
)
from lifecycle import rulebook as rbook
from lifecycle.errors import NotFound
from lifecycle.table import EXIT_NOTICE, RECTIFYING, RESIDENT_STATES
from notifications.catalog import LEGAL_SECTIONS
from workflows import answers, attachments, exit_rules, rules, vocabulary
from workflows.core import Work
from workflows.paging import Paging
from workflows.queries_exits_pages import label, tenancy_header
from workflows.queries_portal import answerable, tenancies_of, to_answer


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
    paging: Paging,
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
    items = w.session.exec(paging.apply(stmt, keys, "created_at", col(InboxItem.id).desc())).all()
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
#: The exit notice's message name (the notice, not the tenancy state of the same name).
EXIT_NOTICE_MESSAGE = "exit_notice"
ANSWERABLE = frozenset({EXIT_NOTICE_MESSAGE, "rectification_notice", "review_result"})


# ---- answering, leaving ----------------------------------------------------------------------
def answer_context(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    """What the answer page needs: what can be answered now (``kind``: ``defence`` on an exit
    notice, ``plan`` on a rectification order, None otherwise), the last day (from the
    pending deadline, else the case), whether it is still open, and what was sent already."""
    tenancy, header = tenancy_header(w, tenancy_id=tenancy_id)
    found = answerable(w, tenancy)
    plans = {
        r.id: r.plan
        for r in w.session.exec(
            select(Rectification).where(Rectification.tenancy_id == tenancy_id)
        ).all()
    }
    answered = w.session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.tenancy_id == tenancy_id,
            col(AuditEvent.trigger).in_(("lodge_objection", "file_plan")),
        )
        .order_by(col(AuditEvent.seq).desc())
    ).all()
    return {
        **header,
        "kind": found.kind,
        "due_on": found.due,
        "open": found.open(w.today),
        "late": found.due is not None and w.today > found.due,
        "sent": found.sent,
        "subject": found.subject,
        "today": w.today,
        "answers": [
            {
                "at": e.occurred_at,
                "trigger": e.trigger,
                "label": label(vocabulary.EXIT_STEPS, e.trigger),
                "text": (e.data or {}).get("grounds")
                or plans.get((e.data or {}).get("rectification"))
                or "",
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
    tenancy, header = tenancy_header(w, tenancy_id=tenancy_id)
    record = w.tenancy(tenancy_id, lock=False)
    rb = rules.for_tenancy(w, record)
    period = rb.periods.voluntary_notice
    # The newest request is pending until an exit case follows it (the operators act on it):
    # the rule the exit itself is begun by.
    events = w.uow.cases.events(tenancy_id, (answers.REQUEST_EXIT, *exit_rules.CASE_OPENED_BY))
    pending = exit_rules.pending_request(events, answers.REQUEST_EXIT)
    if tenancy.state not in RESIDENT_STATES:
        pending = None
    earliest = w.calendar.due_date(w.today, period)
    # The agreement ends before the notice could run: it ends by expiry, nothing to ask.
    expires_first = record.term_end is not None and earliest > record.term_end
    return {
        **header,
        "period_zh": period.describe("zh-CN"),
        "period_en": period.describe("en"),
        "earliest": earliest,
        "term_end": record.term_end,
        "expires_first": expires_first,
        "today": w.today,
        "reason_max": answers.MAX_EXIT_REASON_CHARS,
        "may_request": tenancy.state in RESIDENT_STATES and not expires_first,
        "pending": (
            {"leave_on": pending.data.get("leave_on"), "at": pending.occurred_at}
            if pending is not None
            else None
        ),
        "procedure": [
            {"zh": s.label_zh, "en": s.label_en}
            for s in rb.exit.procedure
            if s.step in ("vacate", "handover", "registration_move_out", "settlement")
        ],
        "handover": [{"zh": v[0], "en": v[1]} for v in vocabulary.HANDOVER.values()],
        "refund_with_approval": list(rb.exit.voluntary.refund_with_approval),
        "forfeit_without_approval": list(rb.exit.voluntary.forfeit_without_approval),
        "vacate_zh": rbook.vacate_period(rb, "voluntary", None).describe("zh-CN"),
        "vacate_en": rbook.vacate_period(rb, "voluntary", None).describe("en"),
    }


def firm_tenancies(w: Work, *, firm_id: int) -> list[dict[str, Any]]:
    """The firm's tenancies (the portal's links to answer or to leave)."""
    rows = tenancies_of(w, firm_id=firm_id)
    return [
        {"id": t.id, "state": t.state, "space": s.name, "to_answer": to_answer(w, t)}
        for t, s in rows
    ]
