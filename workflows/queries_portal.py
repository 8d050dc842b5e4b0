"""Named queries of the firm portal's home page: a firm user's own tenancies, what is due,
unread notices and the latest grades. Every query takes the firm's id from the account, never
from the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, func, select

from db.tables import Deadline, Firm, InboxItem, Review, Space, Tenancy
from lifecycle.errors import NotFound
from lifecycle.table import EXIT_NOTICE, INFO_REQUESTED, RECTIFYING
from workflows.answers import WINDOW_END
from workflows.core import Work

#: Deadlines that are reminders the engine sends (their notices reach the inbox), not a day
#: the firm must meet: not listed among its deadlines.
REMINDERS = (
    "agreement_lapse_warning",
    "term_expiry_warning",
    "review_reminder",
    "review_overdue_reminder",
)


def tenancies_of(w: Work, *, firm_id: int) -> list[tuple[Tenancy, Space]]:
    """The firm's tenancies with their spaces, newest first."""
    return list(
        w.session.exec(
            select(Tenancy, Space)
            .join(Space, col(Space.id) == col(Tenancy.space_id))
            .where(Tenancy.firm_id == firm_id)
            .order_by(col(Tenancy.id).desc())
        ).all()
    )


@dataclass(frozen=True)
class Answerable:
    """What a firm may answer on a tenancy now: ``kind`` (``defence`` on an exit notice,
    ``plan`` on a rectification order, None otherwise), its last day (the pending deadline's,
    else the case's), whether it was sent, and what it answers (``subject``)."""

    kind: str | None
    due: date | None
    sent: bool
    subject: dict[str, Any]

    def open(self, today: date) -> bool:
        """Still to send: not sent yet and its window not past."""
        return self.kind is not None and (self.due is None or today <= self.due) and not self.sent


def answerable(w: Work, tenancy: Tenancy) -> Answerable:
    """What the firm may answer on ``tenancy`` (the answer page and the home page alike)."""
    tenancy_id = tenancy.id or 0
    if tenancy.state == EXIT_NOTICE:
        case = w.uow.cases.open_exit_case(tenancy_id)
        due = w.uow.admissions.pending_due_on(tenancy_id, WINDOW_END)
        if case is None:
            return Answerable("defence", due, False, {})
        case_of: dict[str, Any] = {"facts": case.facts, "grounds": case.grounds, "case_id": case.id}
        return Answerable(
            "defence", due or case.objection_due_on, case.objection is not None, case_of
        )
    if tenancy.state == RECTIFYING:
        rect = w.uow.cases.open_rectification(tenancy_id)
        if rect is None:
            return Answerable("plan", None, False, {})
        due = w.uow.admissions.pending_due_on(tenancy_id, "rectification_plan_due")
        order: dict[str, Any] = {"defects": rect.defects, "due_on": rect.due_on}
        return Answerable("plan", due or rect.plan_due_on, rect.plan is not None, order)
    return Answerable(None, None, False, {})


def to_answer(w: Work, tenancy: Tenancy) -> str | None:
    """What the firm has still to send on ``tenancy``, if anything: the materials asked for
    (``info``), a statement and defence (``defence``) or a rectification plan (``plan``)
    while unsent and its window open; None once sent or past."""
    if tenancy.state == INFO_REQUESTED:
        return "info"
    found = answerable(w, tenancy)
    return found.kind if found.open(w.today) else None


def firm_home(w: Work, *, firm_id: int) -> dict[str, Any]:
    """The firm, its tenancies (newest first) with their latest review, its pending deadlines
    (soonest first) and how many notices it has not read."""
    firm = w.session.get(Firm, firm_id)
    if firm is None:
        raise NotFound("firm", firm_id)
    rows = tenancies_of(w, firm_id=firm_id)
    ids = [t.id for t, _ in rows]
    latest: dict[int, Review] = {}
    if ids:
        for review in w.session.exec(
            select(Review).where(col(Review.tenancy_id).in_(ids)).order_by(col(Review.period))
        ).all():
            latest[review.tenancy_id] = review
    deadlines = (
        w.session.exec(
            select(Deadline)
            .where(
                col(Deadline.tenancy_id).in_(ids),
                Deadline.status == "pending",
                col(Deadline.kind).not_in(REMINDERS),
            )
            .order_by(col(Deadline.due_at))
            .limit(20)
        ).all()
        if ids
        else []
    )
    unread = w.session.exec(
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.firm_id == firm_id, col(InboxItem.read_at).is_(None))
    ).one()
    return {
        "firm": {"id": firm.id, "name": firm.name, "uscc": firm.uscc, "industry": firm.industry},
        "tenancies": [
            {
                "id": t.id,
                "space": space.code,
                "space_name": space.name,
                "state": t.state,
                "term_start": t.term_start,
                "term_end": t.term_end,
                "to_answer": to_answer(w, t),
                "review": None
                if t.id not in latest
                else {
                    "period": latest[t.id].period,
                    "status": latest[t.id].status,
                    "grade": latest[t.id].grade,
                    "due_on": latest[t.id].due_on,
                },
            }
            for t, space in rows
        ],
        "deadlines": [
            {"tenancy_id": d.tenancy_id, "kind": d.kind, "due_on": d.due_on, "due_at": d.due_at}
            for d in deadlines
        ],
        "unread": int(unread),
    }
