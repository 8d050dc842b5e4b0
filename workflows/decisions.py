"""Cohort decisions: a space's annual review decided in one go, and graduation candidates.

The A cap (RULEBOOK §3) is a rule about a cohort, not about one firm: at most a share of the
space's firms reviewed for a year keeps the top grade. Deciding the review firm by firm cannot
apply it, so :func:`decide_cycle` scores every review of the space and year that can be
decided (submitted, or overdue and so graded as missing data), applies the cap across the
cohort, and carries out each consequence through :func:`workflows.residency.apply_decision`,
all in one transaction: either the whole cohort is decided or nothing is.

Graduation (RULEBOOK §5) is detected from the recorded reviews and offered to the operator,
who verifies it; nothing here begins a graduation exit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from db.effects import TenancyRow
from db.repositories import ReviewRow
from lifecycle import rulebook as rbook
from lifecycle.errors import Conflict, InvalidInput, review_not_found
from lifecycle.rulebook.trace import Trace
from lifecycle.table import RESIDENT_STATES
from workflows import residency, reviews, rules
from workflows.core import Work

DECIDABLE = ("submitted", "overdue")


@dataclass
class Member:
    """One review of the cohort, with its tenancy (and firm), and where it stands."""

    review: ReviewRow
    tenancy: TenancyRow
    status: str  # submitted | overdue | open | decided | not_reviewable

    @property
    def tenancy_id(self) -> int:
        assert self.tenancy.id is not None
        return self.tenancy.id

    def who(self) -> dict[str, Any]:
        firm = self.tenancy.party
        assert firm is not None  # loaded with the tenancy
        return {"tenancy_id": self.tenancy_id, "firm": firm.name, "uscc": firm.uscc}


def check_period(w: Work, period: int) -> None:
    reviews.check_period(period, w.today)


def cohort(w: Work, space_id: int, period: int, *, lock: bool = False) -> list[Member]:
    """Every review of the space for ``period``, in tenancy order, classified.

    ``lock`` takes each tenancy row ``FOR UPDATE`` on PostgreSQL (deciding needs it; reading
    does not)."""
    out: list[Member] = []
    for review in w.uow.reviews.in_space(space_id, period):
        row = w.tenancy(review.tenancy_id, lock=lock)
        out.append(Member(review, row, _status(w, review, row)))
    return out


def _status(w: Work, review: ReviewRow, tenancy: TenancyRow) -> str:
    return reviews.classify(review.status, tenancy.state, review.due_on, w.today)


def recorded_decision(
    score: float | None, grade: str | None, consequence: str | None, version: str
) -> rbook.ReviewDecision:
    """A decided review as a :class:`ReviewDecision` (for the cohort's cap count only)."""
    return rbook.ReviewDecision(
        score=float(score or 0),
        grade=grade or "",
        previous_grade=None,
        consequence=consequence or "none",
        vetoed=(),
        missing_data=False,
        category_scores={},
        trace=Trace("review", version),
    )


def apply_cap(
    rb: rbook.Rulebook,
    recorded: Sequence[rbook.ReviewDecision],
    scored: Mapping[int, rbook.ReviewDecision],
) -> dict[int, rbook.ReviewDecision]:
    """The cohort's decisions after the A cap: ``scored`` (by tenancy) among the reviews
    already decided for the year (``recorded``), which count towards the cohort's size and,
    holding the capped grade, towards the allowance."""
    entries: list[tuple[int | None, rbook.ReviewDecision]] = [(None, d) for d in recorded]
    entries += list(scored.items())
    return {k: d for k, d in rbook.apply_grade_cap(rb, entries) if k is not None}


@dataclass
class Planned:
    member: Member
    scored_grade: str  # before the cap
    decision: rbook.ReviewDecision  # after the cap

    @property
    def demoted(self) -> bool:
        return self.decision.grade != self.scored_grade


def plan_cycle(
    w: Work,
    rb: rbook.Rulebook,
    members: Sequence[Member],
    vetoes: Mapping[int, Collection[str]] | None = None,
) -> list[Planned]:
    """Score every decidable review under ``rb`` and apply the cap across the cohort.

    The cohort is every decidable review plus those already decided for the year (they count
    towards the cohort's size and, if they hold the capped grade, towards the allowance); only
    the decidable ones are returned. Nothing is written."""
    vetoes = dict(vetoes or {})
    decidable = [m for m in members if m.status in DECIDABLE]
    ids = {m.tenancy_id for m in decidable}
    if unknown := sorted(set(vetoes) - ids):
        raise InvalidInput(
            "vetoes",
            "names a tenancy without a review to decide in this cycle",
            ", ".join(str(t) for t in unknown),
        )
    scored: dict[int, rbook.ReviewDecision] = {}
    for m in decidable:
        try:
            scored[m.tenancy_id] = residency.evaluate(
                w, m.tenancy, m.review, rb, tuple(vetoes.get(m.tenancy_id, ()))
            )
        except InvalidInput as err:
            raise InvalidInput(f"tenancy {m.tenancy_id}: {err.field}", err.rule) from err
    recorded = [
        recorded_decision(
            m.review.score,
            m.review.grade,
            m.review.consequence,
            m.review.rulebook_version or rb.version,
        )
        for m in members
        if m.status == "decided"
    ]
    capped = apply_cap(rb, recorded, scored)
    return [Planned(m, scored[m.tenancy_id].grade, capped[m.tenancy_id]) for m in decidable]


def cap_view(rb: rbook.Rulebook, cohort_size: int) -> dict[str, Any] | None:
    """The rulebook's A cap as a cohort of that size sees it (None: no cap)."""
    cap = rb.review.grade_cap
    if cap is None:
        return None
    return {
        "grade": cap.grade,
        "max_percent": cap.max_percent,
        "demote_to": cap.demote_to,
        "allowed": rbook.grade_cap_allowance(rb, cohort_size),
    }


def decide_cycle(
    w: Work,
    space_code: str,
    period: int,
    *,
    actor: str,
    reason: str | None = None,
    vetoes: Mapping[int, Collection[str]] | None = None,
) -> dict[str, Any]:
    """Decide the ``period`` review of every firm of the space at once, under the space's
    active rulebook, with the grade cap applied across the cohort.

    Refused (:class:`Conflict`) while any review is still open before its deadline: the cap
    needs the whole cohort. Reviews already decided are left as they are."""
    check_period(w, period)
    space = w.space_row(space_code)
    rb = rules.for_space(w, space)
    members = cohort(w, space.id, period, lock=True)
    if not members:
        raise review_not_found(period, space=space.code)
    still_open = [m for m in members if m.status == "open"]
    if still_open:
        last = max(m.review.due_on for m in still_open if m.review.due_on is not None)
        tenancies = ", ".join(str(m.tenancy_id) for m in still_open)
        raise Conflict(
            f"空间 {space.code} {period} 年度仍有 {len(still_open)} 项考核未截止，截止 "
            f"{last.isoformat()}；本轮须在截止后统一决定（入驻记录 {tenancies}） / "
            f"{len(still_open)} review(s) of {space.code} for {period} are still open "
            f"until {last.isoformat()}; the cohort is decided after the deadline "
            f"(tenancies {tenancies})",
            space=space.code,
            period=period,
        )
    planned = plan_cycle(w, rb, members, vetoes)
    decided: list[dict[str, Any]] = []
    for p in planned:
        d = p.decision
        step = residency.apply_decision(
            w, p.member.tenancy, p.member.review, rb, d, outcome=None, actor=actor, reason=reason
        )
        decided.append(
            {
                **p.member.who(),
                "submitted": p.member.status == "submitted",
                "score": d.score,
                "grade": d.grade,
                "scored_grade": p.scored_grade,
                "demoted": p.demoted,
                "consequence": d.consequence,
                "vetoed": list(d.vetoed),
                "from": step.from_state,
                "to": step.to_state,
                "version": step.version,
            }
        )
    cohort_size = len([m for m in members if m.status in (*DECIDABLE, "decided")])
    return {
        "space": space.code,
        "period": period,
        "rulebook_version": rb.version,
        "cohort": cohort_size,
        "cap": cap_view(rb, cohort_size),
        "decided": decided,
        "already_decided": [
            {**m.who(), "grade": m.review.grade, "rulebook_version": m.review.rulebook_version}
            for m in members
            if m.status == "decided"
        ],
        "not_reviewable": [
            {**m.who(), "state": m.tenancy.state} for m in members if m.status == "not_reviewable"
        ],
        "graduation_candidates": graduation_candidates(w, space.code),
    }


# ---- graduation ---------------------------------------------------------------------------


def _figures_by_year(rb: rbook.Rulebook, reviews: Sequence[ReviewRow]) -> dict[int, dict[str, Any]]:
    """Recorded review figures by year, limited to the metrics ``rb`` knows (a review
    recorded under another rulebook may carry metrics this one does not define)."""
    return {
        r.period: {k: v for k, v in r.figures.items() if k in rb.metrics}
        for r in reviews
        if r.figures
    }


def graduation_candidates(
    w: Work, space_code: str, *, include_ineligible: bool = False
) -> list[dict[str, Any]]:
    """Resident firms of the space that meet a graduation criterion, from their recorded
    reviews, under the space's active rulebook. Offered to the operator, never applied."""
    space = w.space_row(space_code)
    rb = rules.for_space(w, space)
    residents = w.uow.tenancies.in_space(space.id, RESIDENT_STATES)
    recorded: dict[int, list[ReviewRow]] = {}
    for review in w.uow.reviews.recorded([t.id for t in residents]):
        recorded.setdefault(review.tenancy_id, []).append(review)
    out: list[dict[str, Any]] = []
    for tenancy in residents:
        assert tenancy.party is not None  # loaded with the tenancy
        years = _figures_by_year(rb, recorded.get(tenancy.id, []))
        decision = rbook.graduation_eligibility(rb, figures_by_year=years)
        if not decision.passed and not include_ineligible:
            continue
        out.append(
            {
                "tenancy_id": tenancy.id,
                "firm": tenancy.party.name,
                "uscc": tenancy.party.uscc,
                "state": tenancy.state,
                "eligible": decision.passed,
                "met": [m.to_dict() for m in decision.met],
                "years": sorted(years),
                "rulebook_version": rb.version,
                "trace": decision.trace.to_dict(),
            }
        )
    return out
