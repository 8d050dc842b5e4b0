"""Idempotent sweeps over due rows: what the scheduler ticks and ``innospace tick`` runs.

A deadline is handled in its own transaction together with the step it causes, and is marked
``done`` in that same transaction, so a crash either leaves it pending (handled again next
time) or done (never again): each deadline is handled exactly once. On PostgreSQL the row is
claimed with ``FOR UPDATE SKIP LOCKED`` so two sweepers never take the same deadline.
Catch-up comes from the data: a sweep takes everything due up to ``until``, in due order.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from db.tables import Deadline, Review, Tenancy, Violation
from lifecycle.errors import Conflict
from workflows import commands as c
from workflows import rules
from workflows.core import Work
from workflows.service import HANDLERS, Service, _load_handlers

log = logging.getLogger("innospace.sweeps")
SYSTEM = "system"


@dataclass
class SweepReport:
    handled: int = 0
    moot: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {"handled": self.handled, "moot": self.moot, "by_kind": dict(self.by_kind),
                "seconds": round(self.seconds, 3)}


def _run(w: Work, command: c.Command) -> None:
    HANDLERS[type(command)](w, command)


def _tenancy(w: Work, d: Deadline) -> Tenancy:
    return w.tenancy(d.tenancy_id)


def _info_request_lapse(w: Work, d: Deadline) -> bool:
    if _tenancy(w, d).state != "info_requested":
        return False
    _run(w, c.Lapse(tenancy_id=d.tenancy_id, actor=SYSTEM, reason="补充材料逾期未提交"))
    return True


def _publicity_end(w: Work, d: Deadline) -> bool:
    t = _tenancy(w, d)
    if t.state != "publicity":
        return False
    try:
        _run(w, c.EndPublicity(tenancy_id=d.tenancy_id, actor=SYSTEM, reason="公示期满无异议"))
    except Conflict:
        w.notify(t, "publicity_end", context={"objection_pending": True}, audience="operators")
        return True
    return True


def _agreement_lapse(w: Work, d: Deadline) -> bool:
    if _tenancy(w, d).state != "admitted":
        return False
    _run(w, c.Lapse(tenancy_id=d.tenancy_id, actor=SYSTEM, reason="未在规定期限内签订入驻协议"))
    return True


def _term_expiry_warning(w: Work, d: Deadline) -> bool:
    t = _tenancy(w, d)
    if t.state not in ("active", "under_review", "rectifying"):
        return False
    w.notify(t, "term_expiry_warning", context=d.payload, key=d.dedupe_key)
    return True


def _term_end(w: Work, d: Deadline) -> bool:
    t = _tenancy(w, d)
    if t.state not in ("active", "under_review", "rectifying") or (
            t.term_end is not None and t.term_end > d.due_on):
        return False
    _run(w, c.BeginExit(tenancy_id=d.tenancy_id, exit_type="term_expiry", actor=SYSTEM,
                        reason="入驻期限届满"))
    return True


def _open_review(w: Work, d: Deadline) -> Review | None:
    review = w.session.get(Review, d.subject_id) if d.subject_id else None
    return review if review is not None and review.status == "open" else None


def _review_reminder(w: Work, d: Deadline) -> bool:
    review = _open_review(w, d)
    if review is None:
        return False
    w.notify(_tenancy(w, d), "review_reminder", key=d.dedupe_key,
             context={"period": review.period, "due_on": review.due_on,
                      "offset": d.payload.get("offset", 0)})
    return True


def _review_submission_due(w: Work, d: Deadline) -> bool:
    review = _open_review(w, d)
    if review is None:
        return False
    t = _tenancy(w, d)
    rb = rules.for_tenancy(w, t)
    after = list(rb.review.reminders.after_workdays)
    for offset in after:
        on = w.calendar.add_working_days(d.due_on, offset)
        w.deadline(t, "review_overdue_reminder", on, subject_id=review.id,
                   key=f"{review.id}:+{offset}",
                   payload={"offset": offset, "final": offset == max(after)})
    w.notify(t, "review_overdue", context={"period": review.period, "due_on": review.due_on},
             key=str(review.period))
    if not after:
        _run(w, c.DecideReview(tenancy_id=t.id, period=review.period, actor=SYSTEM,  # type: ignore[arg-type]
                               reason="逾期未报送考核数据"))
    return True


def _review_overdue_reminder(w: Work, d: Deadline) -> bool:
    review = _open_review(w, d)
    if review is None:
        return False
    t = _tenancy(w, d)
    ctx = {"period": review.period, "due_on": review.due_on, "offset": d.payload.get("offset")}
    w.notify(t, "review_reminder", context=ctx, key=d.dedupe_key)
    if d.payload.get("final"):
        # The last reminder goes to the account manager too; no data by then grades D.
        w.notify(t, "review_overdue", context=ctx, audience="manager", key=d.dedupe_key)
        _run(w, c.DecideReview(tenancy_id=t.id, period=review.period, actor=SYSTEM,  # type: ignore[arg-type]
                               reason="逾期未报送考核数据"))
    return True


def _rectification_plan_due(w: Work, d: Deadline) -> bool:
    t = _tenancy(w, d)
    if t.state != "rectifying":
        return False
    w.notify(t, "rectification_notice", key=d.dedupe_key, audience="manager",
             context={"overdue": "plan", "due_on": d.due_on})
    return True


def _rectification_end(w: Work, d: Deadline) -> bool:
    t = _tenancy(w, d)
    if t.state != "rectifying":
        return False
    w.notify(t, "reinspection_result", key=d.dedupe_key, audience="operators",
             context={"task": "reinspection_due", "due_on": d.due_on, "passed": None,
                      "reason": None})
    return True


def _objection_window_end(w: Work, d: Deadline) -> bool:
    from workflows.admission import _accepted_objections
    from workflows.exits import confirm_exit

    t = _tenancy(w, d)
    if t.state != "exit_notice":
        return False
    if _accepted_objections(w, t):
        w.notify(t, "exit_ruling", key=d.dedupe_key, audience="operators",
                 context={"task": "ruling_due", "upheld": None, "reason": None})
        return True
    confirm_exit(w, t, actor=SYSTEM, reason="陈述申辩期满未提出申辩，维持退出决定")
    return True


def _vacate_due(w: Work, d: Deadline) -> bool:
    if _tenancy(w, d).state != "vacating":
        return False
    _run(w, c.EscalateVacating(tenancy_id=d.tenancy_id, actor=SYSTEM, reason="逾期未腾退"))
    return True


def _cure_end(w: Work, d: Deadline) -> bool:
    violation = w.session.get(Violation, d.subject_id) if d.subject_id else None
    t = _tenancy(w, d)
    if violation is None or violation.status != "open" or t.state not in (
            "active", "under_review", "rectifying"):
        return False
    violation.status = "escalated"
    w.session.add(violation)
    _run(w, c.ServeExitNotice(tenancy_id=d.tenancy_id, grounds=violation.code, actor=SYSTEM,
                              facts=f"{violation.facts}（整改/补正期满未纠正）",
                              proof_of_service="system notice (in-app)",
                              reason="期限届满未纠正"))
    return True


ACTIONS: dict[str, Callable[[Work, Deadline], bool]] = {
    "info_request_lapse": _info_request_lapse,
    "publicity_end": _publicity_end,
    "agreement_lapse": _agreement_lapse,
    "term_expiry_warning": _term_expiry_warning,
    "term_end": _term_end,
    "review_reminder": _review_reminder,
    "review_submission_due": _review_submission_due,
    "review_overdue_reminder": _review_overdue_reminder,
    "rectification_plan_due": _rectification_plan_due,
    "rectification_end": _rectification_end,
    "objection_window_end": _objection_window_end,
    "vacate_due": _vacate_due,
    "cure_end": _cure_end,
}


def due_ids(service: Service, until: datetime, limit: int) -> list[int]:
    def q(w: Work) -> list[int]:
        return list(w.session.exec(
            select(Deadline.id).where(Deadline.status == "pending", Deadline.due_at <= until)
            .order_by(col(Deadline.due_at), col(Deadline.id)).limit(limit)).all())
    return service.read(q)  # type: ignore[no-any-return]


def handle_one(service: Service, deadline_id: int, until: datetime) -> str | None:
    """Handle one deadline in its own transaction; returns its kind, or None if taken."""

    def act(w: Work) -> str | None:
        stmt = select(Deadline).where(Deadline.id == deadline_id, Deadline.status == "pending")
        if w.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        d = w.session.exec(stmt).first()
        if d is None or d.due_at > until:
            return None
        action = ACTIONS.get(d.kind)
        acted = action(w, d) if action is not None else False
        d.status = "done" if acted else "moot"
        d.done_at = w.now
        w.session.add(d)
        return d.kind if acted else f"moot:{d.kind}"

    return service.run(act)  # type: ignore[no-any-return]


def sweep_deadlines(service: Service, *, until: datetime | None = None,
                    batch: int = 500, stop: Callable[[], bool] | None = None,
                    progress: Callable[[int], None] | None = None) -> SweepReport:
    """Handle every deadline due by ``until`` (default: now), oldest first, each once."""
    _load_handlers()
    started = time.perf_counter()
    until = until or service.clock.now()
    report = SweepReport()
    while not (stop and stop()):
        ids = due_ids(service, until, batch)
        if not ids:
            break
        for deadline_id in ids:
            if stop and stop():
                break
            kind = handle_one(service, deadline_id, until)
            if kind is None:
                continue
            if kind.startswith("moot:"):
                report.moot += 1
            else:
                report.handled += 1
                report.by_kind[kind] += 1
            if progress:
                progress(1)
    report.seconds = time.perf_counter() - started
    log.info("deadline sweep: handled=%d moot=%d in %.3fs", report.handled, report.moot,
             report.seconds)
    return report
