"""Named queries of the console's applications pages: the queue, one application with its
screening, panel and rubric, and what approving would open. The 公示 board is in
``queries_publicity``, the portal's form in ``queries_application_form``. Like every named
query, each takes :class:`Work` first and never writes.

What a reviewer may see is decided here as in the API (``queries_http.application_scores``):
while the panel is still scoring, a reviewer sees their own scores only — no colleague's
score, total or mean to anchor on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from db.tables import (
    Application,
    AuditEvent,
    Deadline,
    Firm,
    ReviewerAssignment,
    ReviewerScore,
    Space,
    Tenancy,
    User,
)
from lifecycle import rulebook as rbook
from lifecycle.errors import InnospaceError, InvalidInput, NotFound
from lifecycle.table import (
    ADMITTED,
    APPLIED,
    EVALUATING,
    INFO_REQUESTED,
    PUBLICITY,
    REJECTED,
    WITHDRAWN,
    allowed_triggers,
)
from workflows import forms, rules
from workflows.core import Work
from workflows.paging import Paging, sort_columns
from workflows.queries_http import OWNER_SORTS, SCORING_STATES, with_firm_and_space

#: The states of the queue by default: applications an operator still has to act on (an
#: admitted firm's agreement is still to sign).
QUEUE_STATES = (APPLIED, INFO_REQUESTED, EVALUATING, PUBLICITY, ADMITTED)
#: Every state an application may be filtered by (the queue's, and how applications end).
APPLICATION_STATES = (*QUEUE_STATES, REJECTED, WITHDRAWN)
#: What the queue may be sorted by, and the column each sorts.
QUEUE_SORTS = {
    **sort_columns(Tenancy, "id", "state"),
    **OWNER_SORTS,
    "submitted_at": col(Application.submitted_at),
    "area": col(Application.requested_area_m2),
}
#: The audit triggers of an application whose data carries a decision's trace.
DECISION_TRIGGERS = (
    "screen_in",
    "screen_out",
    "request_info",
    "resubmit",
    "approve",
    "reject",
    "reject_without_panel",
    "lodge_objection",
    "dismiss_objection",
    "uphold_objection",
    "admit",
    "sign",
    "withdraw",
    "lapse",
    "assign_reviewer",
    "unassign_reviewer",
    "score",
)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def screening_of(decision: Mapping[str, Any] | None) -> dict[str, Any]:
    """The hard-requirement screening stored on an application: whether it was screened,
    passed, and each failed requirement by id with its label (and what was wrong)."""
    trace = (decision or {}).get("screening")
    if not isinstance(trace, Mapping):
        return {"screened": False, "passed": None, "failures": [], "steps": []}
    steps = [s for s in trace.get("steps", []) if isinstance(s, Mapping)]
    failures = [
        {
            "id": s.get("rule", ""),
            "label_zh": s.get("label_zh", ""),
            "label_en": s.get("label_en", ""),
            "note": s.get("note", ""),
        }
        for s in steps
        if s.get("result") == "fail"
    ]
    return {"screened": True, "passed": not failures, "failures": failures, "steps": steps}


# ---- the queue ------------------------------------------------------------------------------
def application_queue(
    w: Work,
    *,
    states: Sequence[str] = QUEUE_STATES,
    space: str | None = None,
    search: str | None = None,
    space_ids: frozenset[int] | None = None,
    reviewer_id: int | None = None,
    paging: Paging,
) -> list[dict[str, Any]]:
    """Applications in ``states``, narrowed to ``space`` (code), a firm name or USCC
    containing ``search``, the spaces ``space_ids`` (None: every space) and the
    applications assigned to ``reviewer_id``; each with its screening and panel counts."""
    for state in states:
        if state not in APPLICATION_STATES:
            raise InvalidInput("state", f"must be one of {', '.join(APPLICATION_STATES)}", state)
    stmt = (
        with_firm_and_space(select(Tenancy, Firm, Space, Application))
        .join(Application, col(Application.tenancy_id) == col(Tenancy.id))
        .where(col(Tenancy.state).in_(list(states)))
    )
    if space:
        stmt = stmt.where(Space.code == space)
    if space_ids is not None:
        stmt = stmt.where(col(Tenancy.space_id).in_(sorted(space_ids)))
    if search:
        needle = search.strip()
        stmt = stmt.where(or_(col(Firm.name).contains(needle), col(Firm.uscc) == needle.upper()))
    if reviewer_id is not None:
        stmt = stmt.join(
            ReviewerAssignment,
            (col(ReviewerAssignment.tenancy_id) == col(Tenancy.id))
            & (col(ReviewerAssignment.user_id) == reviewer_id),
        )
    rows = w.session.exec(paging.apply(stmt, QUEUE_SORTS, "id", col(Tenancy.id))).all()
    ids = [t.id for t, _, _, _ in rows if t.id is not None]
    scored = _counts(w, ReviewerScore.tenancy_id, ids)
    assigned = _counts(w, ReviewerAssignment.tenancy_id, ids)
    out: list[dict[str, Any]] = []
    for t, firm, sp, app in rows:
        screening = screening_of(app.decision)
        out.append(
            {
                "id": t.id,
                "firm": firm.name,
                "uscc": firm.uscc,
                "space": sp.code,
                "state": t.state,
                "track": t.track,
                "area": app.requested_area_m2,
                "submitted_at": app.submitted_at,
                "screened": screening["screened"],
                "passed": screening["passed"],
                "failures": screening["failures"],
                "failure_ids": "、".join(f["id"] for f in screening["failures"]),
                "scored": scored.get(t.id or 0, 0),
                "assigned": assigned.get(t.id or 0, 0),
                "score": t.score,
            }
        )
    return out


def _counts(w: Work, column: Any, ids: Collection[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = w.session.exec(
        select(column, func.count()).where(column.in_(sorted(ids))).group_by(column)
    ).all()
    return {int(k): int(n) for k, n in rows}


# ---- one application ------------------------------------------------------------------------
def rubric(rb: rbook.Rulebook) -> dict[str, Any]:
    """The scoring rubric: each criterion with its maximum and its anchored bands, and the
    panel's rules (minimum reviewers, trimming, pass and priority lines)."""
    sc = rb.admission.scoring
    section = sc.model_dump(mode="json")  # the rubric is the whole [admission.scoring]
    criteria = section.pop("criteria")
    return {"criteria": criteria, **section, "max_total": sum(c.weight for c in sc.criteria)}


def _tenancy_rulebook(w: Work, t: Tenancy, sp: Space) -> rbook.Rulebook:
    return rules.by_version(w, t.rulebook_version or sp.rulebook_version)


def _load(w: Work, tenancy_id: int) -> tuple[Tenancy, Firm, Space, Application]:
    row = w.session.exec(
        with_firm_and_space(select(Tenancy, Firm, Space, Application))
        .join(Application, col(Application.tenancy_id) == col(Tenancy.id))
        .where(col(Tenancy.id) == tenancy_id)
    ).first()
    if row is None:
        raise NotFound("application", tenancy_id)
    return row


def _panel(
    rb: rbook.Rulebook, state: str, scores: Sequence[ReviewerScore], reviewer: str | None
) -> dict[str, Any]:
    """The panel's status; with ``reviewer`` (a reviewer asking) while it is scoring, only
    that reviewer's own scores and no result."""
    sc = rb.admission.scoring
    complete = state not in SCORING_STATES
    counted = [s for s in scores if not s.conflict_of_interest]
    hidden = reviewer is not None and not complete
    visible = [s for s in scores if s.reviewer == reviewer] if hidden else list(scores)
    result: dict[str, Any] | None = None
    shortfall = None
    try:
        decision = rbook.score_application(
            rb,
            [
                rbook.ReviewerScoreInput(
                    reviewer=s.reviewer,
                    conflict_of_interest=s.conflict_of_interest,
                    scores=s.scores,
                )
                for s in scores
            ],
        )
    except InvalidInput as err:
        shortfall = err.rule
    else:
        if not hidden:
            result = {
                "mean": decision.mean,
                "passed": decision.passed,
                "priority": decision.priority,
                "counted": list(decision.counted),
                "excluded": list(decision.excluded),
                "trimmed": list(decision.trimmed),
                "steps": [s.to_dict() for s in decision.trace.steps],
            }
    mine = next((s for s in scores if reviewer is not None and s.reviewer == reviewer), None)
    return {
        "min_reviewers": sc.min_reviewers,
        "scored": len(scores),
        "counted": len(counted),
        "conflicts": len(scores) - len(counted),
        "valid": shortfall is None,
        "shortfall": shortfall,
        "complete": complete,
        "hidden": hidden,
        "scores": [
            {
                "reviewer": s.reviewer,
                "conflict_of_interest": s.conflict_of_interest,
                "scores": dict(s.scores),
                "total": s.total,
                "at": s.created_at,
            }
            for s in visible
        ],
        "mine": None
        if mine is None
        else {"scores": dict(mine.scores), "total": mine.total, "at": mine.created_at},
        "result": result,
    }


def application_detail(w: Work, *, tenancy_id: int, reviewer: str | None = None) -> dict[str, Any]:
    """One application: the firm, the profile, the screening, the reviewers assigned, the
    panel (as ``reviewer`` may see it, when a reviewer asks), the rubric, the 公示, the
    pending deadlines, the decisions with their traces and the triggers allowed now."""
    t, firm, sp, app = _load(w, tenancy_id)
    rb = _tenancy_rulebook(w, t, sp)
    scores = w.session.exec(
        select(ReviewerScore)
        .where(ReviewerScore.tenancy_id == tenancy_id)
        .order_by(col(ReviewerScore.id))
    ).all()
    reviewers = w.session.exec(
        select(User.username, User.display_name)
        .join(ReviewerAssignment, col(ReviewerAssignment.user_id) == col(User.id))
        .where(ReviewerAssignment.tenancy_id == tenancy_id)
        .order_by(col(User.username))
    ).all()
    events = w.session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.tenancy_id == tenancy_id,
            col(AuditEvent.trigger).in_(DECISION_TRIGGERS),
        )
        .order_by(col(AuditEvent.seq))
    ).all()
    deadlines = w.session.exec(
        select(Deadline)
        .where(Deadline.tenancy_id == tenancy_id, Deadline.status == "pending")
        .order_by(col(Deadline.due_at))
    ).all()
    scored_by = {s.reviewer for s in scores}
    specs = {s.code: s for s in forms.profile_fields(rb)}
    profile: dict[str, Any] = {"uscc": firm.uscc, "name": firm.name, "industry": firm.industry}
    profile |= {"track": app.track, "requested_area_m2": app.requested_area_m2}
    profile |= dict(app.profile)
    return {
        "id": t.id,
        "state": t.state,
        "version": t.version,
        "track": t.track,
        "score": t.score,
        "priority": t.priority,
        "space": {"code": sp.code, "name": sp.name},
        "firm": {
            "id": firm.id,
            "name": firm.name,
            "uscc": firm.uscc,
            "industry": firm.industry,
            "contact_name": firm.contact_name,
            "contact_email": firm.contact_email,
        },
        "requested_area_m2": app.requested_area_m2,
        "submitted_at": app.submitted_at,
        "profile": [
            {
                "code": code,
                "label_zh": spec.label_zh,
                "label_en": spec.label_en,
                "type": spec.type,
                "unit": spec.unit,
                "unit_zh": spec.unit_zh,
                "value": profile.get(code),
            }
            for code, spec in specs.items()
        ],
        "screening": screening_of(app.decision),
        "reviewers": [
            {"username": u, "display_name": d, "scored": u in scored_by} for u, d in reviewers
        ],
        "panel": _panel(rb, t.state, scores, reviewer),
        "rubric": rubric(rb),
        "publicity": publicity_of(events, deadlines),
        "deadlines": [{"kind": d.kind, "due_on": d.due_on, "status": d.status} for d in deadlines],
        "events": [
            {
                "seq": e.seq,
                "at": e.occurred_at,
                "actor": e.actor,
                "trigger": e.trigger,
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
                "data": dict(e.data or {}),
            }
            for e in events
        ],
        "allowed": sorted(allowed_triggers(t.state)),
        "tracks": {code: (tr.label_zh, tr.label_en) for code, tr in rb.tracks.items()},
        "choices": {
            **{i.code: (i.label_zh, i.label_en) for i in rb.industries},
            **{code: (tr.label_zh, tr.label_en) for code, tr in rb.tracks.items()},
        },
        "rulebook_version": rb.version,
    }


def publicity_of(events: Sequence[AuditEvent], deadlines: Sequence[Deadline]) -> dict[str, Any]:
    """The latest 公示 of an application: its first and last day and the objections to it."""
    approve = next((e for e in reversed(events) if e.trigger == "approve"), None)
    if approve is None:
        return {"from": None, "to": None, "objections": [], "open": False}
    data = approve.data or {}
    pending = next((d.due_on for d in deadlines if d.kind == "publicity_end"), None)
    objections = [
        {
            "at": e.occurred_at,
            "trigger": e.trigger,
            "by": (e.data or {}).get("by"),
            "grounds": (e.data or {}).get("grounds"),
            "accepted": (e.data or {}).get("accepted"),
            "refusal": (e.data or {}).get("refusal") or (e.data or {}).get("reason"),
            "reason": e.reason,
        }
        for e in events
        if e.seq > approve.seq
        and e.trigger in ("lodge_objection", "dismiss_objection", "uphold_objection")
    ]
    return {
        "from": data.get("publicity_from"),
        "to": pending or data.get("publicity_to"),
        "objections": objections,
        "open": pending is not None,
    }


def publicity_preview(w: Work, *, tenancy_id: int) -> dict[str, Any]:
    """What approving now would open: the 公示's first and last day under the rulebook and
    the working-day calendar (``error`` when the calendar cannot say, e.g. an unpublished
    year), and who is told."""
    t, firm, sp, _ = _load(w, tenancy_id)
    rb = _tenancy_rulebook(w, t, sp)
    period = rb.periods.publicity
    out: dict[str, Any] = {
        "from": w.today,
        "to": None,
        "period_zh": period.describe("zh-CN"),
        "period_en": period.describe("en"),
        "error": None,
        "firm": firm.name,
        "contact_email": firm.contact_email,
    }
    try:
        out["to"] = w.calendar.due_date(w.today, period)
    except InnospaceError as err:
        out["error"] = err.message
    return out


def reviewer_accounts(w: Work) -> list[dict[str, Any]]:
    """The reviewer accounts that may be assigned (enabled), by user name."""
    rows = w.session.exec(
        select(User.username, User.display_name)
        .where(User.role == "reviewer", col(User.disabled_at).is_(None))
        .order_by(col(User.username))
    ).all()
    return [{"username": u, "display_name": d} for u, d in rows]


def today(w: Work) -> date:
    """Today in the space's time zone (what a form's date defaults to)."""
    return w.today
