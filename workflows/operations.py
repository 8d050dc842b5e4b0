"""Handlers of the operators' and the scheduler's commands outside a tenancy's lifecycle:
deciding a review cycle at once, putting failed deadlines and notices back in the queue,
marking inbox items read, storing a template override (each read through ``uow.queues``
and written as rows by the writer).

A write that touches a tenancy (a deadline or a notice of its own put back in the queue)
appends a record-only event to that tenancy's audit chain, naming the rows and the actor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from db.effects import Rows
from db.queues import DeadlineRow, NoticeRow
from lifecycle.errors import InvalidInput, NotFound
from notifications.overrides import checked_override, override_row, overrides_of
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
    failed = w.uow.queues.failed_deadlines(cmd.ids)
    rows, retried = requeue_deadlines(failed)
    _record(w, rows, retried, DEADLINE_RETRIED, "deadlines", actor=cmd.actor, reason=cmd.reason)
    return len(failed)


def retry_notices(w: Work, cmd: RetryNotices) -> int:
    """Dead (or waiting) outbox rows become due now with a fresh attempt budget; returns how
    many. A sent row is refused: re-sending a delivered notice is a new notice, not a retry.
    Each tenancy concerned records which of its notices were retried (the operators' digest
    belongs to no tenancy)."""
    if bool(cmd.ids) == cmd.all_dead:
        raise InvalidInput("ids", "give outbox ids or all_dead, not both or neither")
    found = w.uow.queues.notices(cmd.ids)
    rows, retried = requeue_notices(found, cmd.ids, w.now)
    _record(w, rows, retried, NOTICE_RETRIED, "notices", actor=cmd.actor, reason=cmd.reason)
    return len(found)


# ---- decided without I/O -------------------------------------------------------------------
Retried = dict[int, list[dict[str, Any]]]  # tenancy id -> what of its own was retried


def requeue_deadlines(failed: Sequence[DeadlineRow]) -> tuple[Rows, Retried]:
    """Each failed deadline pending again, its error moved aside as ``previous_error``; and
    which deadlines of each tenancy were retried."""
    rows, retried = Rows(), defaultdict(list)
    for d in failed:
        error = d.payload.get("error")
        payload = {**{k: v for k, v in d.payload.items() if k != "error"}, "previous_error": error}
        rows.update("deadlines", d.id, status="pending", done_at=None, payload=payload)
        retried[d.tenancy_id].append({"id": d.id, "kind": d.kind, "previous_error": error})
    return rows, dict(retried)


def requeue_notices(
    found: Sequence[NoticeRow], ids: Collection[int], now: datetime
) -> tuple[Rows, Retried]:
    """Each outbox row due ``now`` with a fresh attempt budget (of ``ids``, each of which must
    exist and not have been sent); and which notices of each tenancy were retried."""
    status = {n.id: n.status for n in found}
    for outbox_id in ids:
        if outbox_id not in status:
            raise NotFound("outbox message", outbox_id)
        if status[outbox_id] == "sent":
            raise InvalidInput("ids", "message was already sent", outbox_id)
    rows, retried = Rows(), defaultdict(list)
    for n in found:
        rows.update("outbox", n.id, status="pending", attempts=0, next_attempt_at=now)
        if n.tenancy_id is not None:
            retried[n.tenancy_id].append({"id": n.id, "message": n.message})
    return rows, dict(retried)


def _record(
    w: Work,
    rows: Rows,
    retried: Mapping[int, Iterable[dict[str, Any]]],
    what: str,
    key: str,
    *,
    actor: str,
    reason: str | None,
) -> None:
    """Write ``rows`` with one record-only audit event per tenancy concerned, in id order
    (the order locks are taken in)."""
    effects = []
    for tenancy_id in sorted(retried):
        e = w.effects(w.tenancy(tenancy_id))
        e.record(what, actor=actor, reason=reason, data={key: list(retried[tenancy_id])})
        effects.append(e)
    w.apply_rows(rows, *effects)


def mark_inbox_read(w: Work, cmd: MarkInboxRead) -> int:
    """Mark the items read (unread ones only, a firm's own when it names one); how many."""
    rows = Rows()
    for item_id in w.uow.queues.unread_inbox(list(dict.fromkeys(cmd.item_ids)), cmd.firm_id):
        rows.update("inbox", item_id, read_at=w.now)
    w.apply_rows(rows)
    return len(rows.updates)


def save_template(w: Work, cmd: SaveTemplate) -> int:
    """Validate (sandbox, every sample) and store the next revision; returns it."""
    candidate = checked_override(
        cmd.name,
        cmd.locale,
        cmd.part,
        cmd.source,
        cmd.author,
        latest=w.uow.queues.template_revision(cmd.name, cmd.locale, cmd.part),
        overrides=overrides_of(w.uow.queues.templates()),
    )
    rows = Rows()
    rows.insert("message_templates", **override_row(candidate, cmd.author, w.now))
    w.apply_rows(rows)
    return candidate.revision
