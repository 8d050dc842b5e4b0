"""Handlers of the operators' and the scheduler's commands outside a tenancy's lifecycle:
deciding a review cycle at once, putting failed deadlines and notices back in the queue,
marking inbox items read, storing a template override.

A write that touches a tenancy (a deadline or a notice of its own put back in the queue)
appends a record-only event to that tenancy's audit chain, naming the rows and the actor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlmodel import col, select

from db.tables import Deadline, OutboxMessage
from lifecycle.errors import InvalidInput
from notifications import outbox
from notifications.channels import mark_read
from notifications.overrides import save_override
from workflows import decisions
from workflows.commands import (
    DecideCycle,
    MarkInboxRead,
    RetryDeadlines,
    RetryNotices,
    SaveTemplate,
)
from workflows.core import Work

DEADLINE_RETRIED = "deadline_retried"
NOTICE_RETRIED = "notice_retried"


def decide_cycle(w: Work, cmd: DecideCycle) -> dict[str, Any]:
    """See :func:`workflows.decisions.decide_cycle` (one transaction for the whole cohort)."""
    return decisions.decide_cycle(
        w,
        cmd.space,
        cmd.period,
        actor=cmd.actor,
        reason=cmd.reason,
        vetoes={t: list(codes) for t, codes in cmd.vetoes.items()},
    )


def retry_deadlines(w: Work, cmd: RetryDeadlines) -> int:
    """Failed deadlines become pending again (the reason moves aside, as ``previous_error``);
    returns how many. Each tenancy concerned records which of its deadlines were retried."""
    if bool(cmd.ids) == cmd.all_failed:
        raise InvalidInput("ids", "give deadline ids or all_failed, not both or neither")
    stmt = select(Deadline).where(col(Deadline.status) == "failed")
    if cmd.ids:
        stmt = stmt.where(col(Deadline.id).in_(cmd.ids))
    rows = w.session.exec(stmt.order_by(col(Deadline.id))).all()
    retried: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for d in rows:  # the reason moves aside: the row is pending again, not failed
        error = d.payload.get("error")
        d.payload = {
            **{k: v for k, v in d.payload.items() if k != "error"},
            "previous_error": error,
        }
        d.status, d.done_at = "pending", None
        w.session.add(d)
        retried[d.tenancy_id].append({"id": d.id, "kind": d.kind, "previous_error": error})
    w.session.flush()
    _record(w, retried, DEADLINE_RETRIED, "deadlines", actor=cmd.actor, reason=cmd.reason)
    return len(rows)


def retry_notices(w: Work, cmd: RetryNotices) -> int:
    """Dead (or waiting) outbox rows become due now with a fresh attempt budget; returns how
    many (see :func:`notifications.outbox.retry`). Each tenancy concerned records which of its
    notices were retried (the operators' digest belongs to no tenancy)."""
    dead = None if cmd.ids else _notices(w, col(OutboxMessage.status) == "dead")
    count = outbox.retry(w.session, ids=cmd.ids, all_dead=cmd.all_dead, now=w.now)
    chosen = dead if dead is not None else _notices(w, col(OutboxMessage.id).in_(cmd.ids))
    retried: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for outbox_id, tenancy_id, message in chosen:
        if tenancy_id is not None:
            retried[tenancy_id].append({"id": outbox_id, "message": message})
    _record(w, retried, NOTICE_RETRIED, "notices", actor=cmd.actor, reason=cmd.reason)
    return count


def _notices(w: Work, where: Any) -> list[tuple[int, int | None, str]]:
    rows = w.session.exec(
        select(OutboxMessage.id, OutboxMessage.tenancy_id, OutboxMessage.message)
        .where(where)
        .order_by(col(OutboxMessage.id))
    ).all()
    return [(int(i), t, m) for i, t, m in rows if i is not None]


def _record(
    w: Work,
    rows: Mapping[int, Iterable[dict[str, Any]]],
    what: str,
    key: str,
    *,
    actor: str,
    reason: str | None,
) -> None:
    """One record-only audit event per tenancy, in id order (the order locks are taken in)."""
    for tenancy_id in sorted(rows):
        tenancy = w.tenancy(tenancy_id)
        w.record(tenancy, what, actor=actor, reason=reason, data={key: list(rows[tenancy_id])})


def mark_inbox_read(w: Work, cmd: MarkInboxRead) -> int:
    """Mark the items read (unread ones only); returns how many."""
    return mark_read(w.session, cmd.item_ids, w.now, firm_id=cmd.firm_id)


def save_template(w: Work, cmd: SaveTemplate) -> int:
    """Validate (sandbox, every sample) and store the next revision; returns it."""
    return save_override(w.session, cmd.name, cmd.locale, cmd.part, cmd.source, cmd.author, w.now)
