"""Named queries the HTTP API needs beyond the CLI's: pages with a cursor, and the scope
(space, firm, reviewer assignment) of a record, so a route can refuse what an account may
not see. Like every named query, each takes :class:`Work` first and never writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import col, select

from db.tables import (
    ALL_TABLES,
    ExitCase,
    Firm,
    ReviewerAssignment,
    ReviewerScore,
    Space,
    Tenancy,
    Violation,
)
from lifecycle.errors import NotFound
from lifecycle.table import APPLIED, EVALUATING, INFO_REQUESTED
from workflows import queries_core, vocabulary
from workflows.core import Work
from workflows.paging import Keyset, Reach

#: States in which an application's panel is still scoring: a reviewer then sees only their
#: own scores (no anchoring on a colleague's).
SCORING_STATES = frozenset({APPLIED, INFO_REQUESTED, EVALUATING})


def tenancy_scope(w: Work, *, tenancy_id: int) -> tuple[int, int]:
    """The tenancy's (space id, firm id); NotFound when there is none."""
    row = w.connection.execute(_SCOPE, {"tenancy_id": tenancy_id}).first()
    if row is None:
        raise NotFound("tenancy", tenancy_id)
    return int(row[0]), int(row[1])


def reviewer_assigned(w: Work, *, tenancy_id: int, account_id: int) -> bool:
    row = w.session.exec(
        select(ReviewerAssignment.tenancy_id).where(
            ReviewerAssignment.tenancy_id == tenancy_id, ReviewerAssignment.user_id == account_id
        )
    ).first()
    return row is not None


def space_id(w: Work, *, code: str) -> int:
    """The id of the space ``code``; NotFound when there is none."""
    found = w.session.exec(select(Space.id).where(Space.code == code)).first()
    if found is None:
        raise NotFound("space", code)
    return int(found)


def space_codes(w: Work, *, ids: frozenset[int] | None) -> list[dict[str, Any]]:
    """Spaces (all when ``ids`` is None), by id."""
    stmt = select(Space).order_by(col(Space.id))
    if ids is not None:
        stmt = stmt.where(col(Space.id).in_(sorted(ids)))
    return [
        {"code": s.code, "name": s.name, "rulebook_version": s.rulebook_version}
        for s in w.session.exec(stmt).all()
    ]


def firm_of(w: Work, *, firm_id: int) -> dict[str, Any]:
    firm = w.session.get(Firm, firm_id)
    if firm is None:
        raise NotFound("firm", firm_id)
    return {"id": firm.id, "name": firm.name, "uscc": firm.uscc, "industry": firm.industry}


# The reads every request of a tenancy makes (its scope) and the tenancy list, in Core: rows,
# not ORM objects, from statements built once.
_T = ALL_TABLES.tables["tenancies"]
_F = ALL_TABLES.tables["firms"]
_S = ALL_TABLES.tables["spaces"]
_RA = ALL_TABLES.tables["reviewer_assignments"]
_SCOPE = core_select(_T.c.space_id, _T.c.firm_id).where(_T.c.id == bindparam("tenancy_id"))
#: A tenancy row as the list and the show give it: firm, space, state, term and score.
TENANCY_ROWS = core_select(
    _T.c.id,
    _F.c.name.label("firm"),
    _F.c.uscc,
    _S.c.code.label("space"),
    _T.c.state,
    _T.c.version,
    _T.c.track,
    _T.c.term_start,
    _T.c.term_end,
    _T.c.score,
    _T.c.rulebook_version,
).select_from(_T.join(_F, _F.c.id == _T.c.firm_id).join(_S, _S.c.id == _T.c.space_id))


def tenancy_page(
    w: Work, *, page: Keyset, reach: Reach, space: str | None = None, state: str | None = None
) -> dict[str, Any]:
    """One ``page`` of tenancies, filtered by ``space`` (code) and ``state`` and narrowed to
    what the caller may ``reach`` (a reviewer: the applications assigned to them)."""
    t, s = _T.c, _S.c
    stmt = TENANCY_ROWS.where(t.id > page.after)
    if state is not None:
        stmt = stmt.where(t.state == state)
    if space is not None:
        stmt = stmt.where(s.code == space)
    if reach.space_ids is not None:
        stmt = stmt.where(t.space_id.in_(sorted(reach.space_ids)))
    if reach.firm_id is not None:
        stmt = stmt.where(t.firm_id == reach.firm_id)
    if reach.reviewer_id is not None:
        ra = _RA.c
        stmt = stmt.join(_RA, (ra.tenancy_id == t.id) & (ra.user_id == reach.reviewer_id))
    rows = w.connection.execute(stmt.order_by(t.id).limit(page.limit + 1)).mappings().all()
    return page.of(rows, queries_core.tenancy_summary)


def application_scores(w: Work, *, tenancy_id: int, reviewer: str | None = None) -> dict[str, Any]:
    """The reviewers' scores of an application. With ``reviewer`` (a reviewer asking) and the
    panel still scoring, only that reviewer's own scores are listed."""
    tenancy = w.session.get(Tenancy, tenancy_id)
    if tenancy is None:
        raise NotFound("tenancy", tenancy_id)
    complete = tenancy.state not in SCORING_STATES
    stmt = select(ReviewerScore).where(ReviewerScore.tenancy_id == tenancy_id)
    if reviewer is not None and not complete:
        stmt = stmt.where(ReviewerScore.reviewer == reviewer)
    rows = w.session.exec(stmt.order_by(col(ReviewerScore.id))).all()
    return {
        "tenancy_id": tenancy_id,
        "state": tenancy.state,
        "panel_complete": complete,
        "scores": [
            {
                "reviewer": r.reviewer,
                "conflict_of_interest": r.conflict_of_interest,
                "scores": dict(r.scores),
                "total": r.total,
                "at": r.created_at.isoformat(),
            }
            for r in rows
        ],
    }


# ---- violations and exit cases --------------------------------------------------------------
#: What a violation's and an exit case's ``status`` may be.
VIOLATION_STATUSES = ("open", "cured", "escalated")
EXIT_CASE_STATUSES = tuple(vocabulary.EXIT_STATUS)


S = TypeVar("S", bound=Any)


def scoped(stmt: S, space: str | None, space_ids: frozenset[int] | None, firm_id: int | None) -> S:
    """``stmt`` (joined to Tenancy and Space) narrowed to the space with code ``space``, to
    ``space_ids`` (None: every space) and to the firm ``firm_id`` (None: every firm)."""
    if space is not None:
        stmt = stmt.where(Space.code == space)
    if space_ids is not None:
        stmt = stmt.where(col(Tenancy.space_id).in_(sorted(space_ids)))
    if firm_id is not None:
        stmt = stmt.where(Tenancy.firm_id == firm_id)
    return stmt


#: The sort keys of a list whose rows carry their tenancy's firm and space.
OWNER_SORTS: dict[str, Any] = {"firm": col(Firm.name), "space": col(Space.code)}


def with_firm_and_space(stmt: S, tenancy_id: Any = None) -> S:
    """``stmt`` joined to its tenancy's firm and space; first to the tenancy itself by
    ``tenancy_id`` (its table's column) when it reads another table (a case, a deadline)."""
    if tenancy_id is not None:
        stmt = stmt.join(Tenancy, col(Tenancy.id) == col(tenancy_id))
    stmt = stmt.join(Firm, col(Firm.id) == col(Tenancy.firm_id))
    stmt = stmt.join(Space, col(Space.id) == col(Tenancy.space_id))
    return stmt


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _owner(firm: Firm, space: Space) -> dict[str, Any]:
    return {"firm": firm.name, "uscc": firm.uscc, "space": space.code}


def violation_page(
    w: Work,
    *,
    page: Keyset,
    reach: Reach,
    space: str | None = None,
    tenancy_id: int | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """One ``page`` of violations, filtered by ``space`` (code), ``tenancy_id`` and
    ``status``, narrowed to what the caller may ``reach``."""
    found = {"tenancy_id": tenancy_id, "status": status}
    return _case_page(w, Violation, page, reach, space, found, lambda row: _violation(*row))


def violation_record(v: Violation) -> dict[str, Any]:
    """A violation as the API, the CLI and the console show it: its grounds, facts, period,
    status and, once cured, the day and how."""
    return {
        "id": v.id,
        "tenancy_id": v.tenancy_id,
        "code": v.code,
        "facts": v.facts,
        "evidence": v.evidence,
        "cure_due_on": _iso(v.cure_due_on),
        "status": v.status,
        "reported_at": _iso(v.reported_at),
        "cured_on": _iso(v.cured_on),
        "cure_note": v.cure_note,
    }


def _violation(v: Violation, f: Firm, s: Space) -> dict[str, Any]:
    return {**violation_record(v), **_owner(f, s)}


def _exit_case(case: ExitCase, firm: Firm, space: Space, *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": case.id,
        "tenancy_id": case.tenancy_id,
        **_owner(firm, space),
        "type": case.exit_type,
        "grounds": case.grounds,
        "status": case.status,
        "served_at": _iso(case.served_at),
        "objection_due_on": _iso(case.objection_due_on),
        "vacate_due_on": _iso(case.vacate_due_on),
        "handed_over_at": _iso(case.handed_over_at),
        "created_at": _iso(case.created_at),
    }
    if full:
        out |= {
            "facts": case.facts,
            "proof_of_service": case.proof_of_service,
            "objection": case.objection,
            "ruling": case.ruling,
            "checklist": case.checklist,
            "settlement": case.settlement,
            "rulebook_version": case.rulebook_version,
        }
    return out


def _exit_cases() -> Any:
    return with_firm_and_space(select(ExitCase, Firm, Space), ExitCase.tenancy_id)


def exit_case_page(
    w: Work, *, page: Keyset, reach: Reach, space: str | None = None, status: str | None = None
) -> dict[str, Any]:
    """One ``page`` of exit cases, filtered by ``space`` (code) and ``status``, narrowed to
    what the caller may ``reach``."""
    found = {"status": status}
    return _case_page(
        w, ExitCase, page, reach, space, found, lambda row: _exit_case(*row, full=False)
    )


def _case_page(
    w: Work,
    model: type[Violation] | type[ExitCase],
    page: Keyset,
    reach: Reach,
    space: str | None,
    equal: dict[str, Any],
    shown: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One ``page`` of a tenancy's records (``model``) with their firm and space, those whose
    columns are ``equal`` to the values given (None: any), in the space ``space`` (code) and
    narrowed to ``reach``."""
    stmt = with_firm_and_space(select(model, Firm, Space), model.tenancy_id)
    stmt = stmt.where(col(model.id) > page.after)
    for name, value in equal.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    stmt = scoped(stmt, space, reach.space_ids, reach.firm_id)
    rows = w.session.exec(stmt.order_by(col(model.id)).limit(page.limit + 1)).all()
    return page.of(rows, shown)


def exit_case_tenancy(w: Work, *, exit_case_id: int) -> int:
    """The tenancy an exit case belongs to; NotFound when there is none."""
    found = w.session.exec(select(ExitCase.tenancy_id).where(ExitCase.id == exit_case_id)).first()
    if found is None:
        raise NotFound("exit_case", exit_case_id)
    return int(found)


def exit_case(w: Work, *, exit_case_id: int) -> dict[str, Any]:
    """One exit case, in full; NotFound when there is none."""
    row = w.session.exec(_exit_cases().where(col(ExitCase.id) == exit_case_id)).first()
    if row is None:
        raise NotFound("exit_case", exit_case_id)
    case, firm, space = row
    return _exit_case(case, firm, space, full=True)
