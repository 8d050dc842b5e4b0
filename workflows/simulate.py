"""What-if: the recorded reviews of a space and year re-evaluated under another rulebook.

Run through :meth:`Service.read`: nothing is stored, not even the candidate rulebook. Each
review is re-scored from what was recorded with it: its figures, whether it was submitted,
the previous year's figures and grade, the vetoes raised and the leased area (both read back
from the stored trace), the metrics the candidate establishes itself (counted again: a past
period's counts do not change; on time against the review's recorded submission and due date),
then the candidate's grade cap is applied across the cohort. The baseline is the recorded
decision, or for a review not decided yet what the space's active rulebook would decide now
(:func:`workflows.decisions.plan_cycle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from db import repositories
from db.repositories import ReviewRow
from lifecycle import rulebook as rbook
from lifecycle.errors import InvalidInput
from workflows import decisions, rules, veto_facts
from workflows.core import Work

VETO_PREFIX = "review.veto."


@dataclass(frozen=True)
class Outcome:
    score: float
    grade: str
    consequence: str

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "grade": self.grade, "consequence": self.consequence}


def recorded_vetoes(trace: dict[str, Any]) -> tuple[str, ...]:
    """The veto codes an operator raised or a recorded violation raised (the trace names the
    violation), as the stored review trace shows them."""
    out: list[str] = []
    for step in trace.get("steps", []):
        rule = str(step.get("rule", ""))
        figures = step.get("figures") or {}
        if rule.startswith(VETO_PREFIX) and (figures.get("raised") or figures.get("violations")):
            out.append(rule.removeprefix(VETO_PREFIX))
    return tuple(out)


def recorded_area(trace: dict[str, Any]) -> str | None:
    """The leased area the decision used (a per-m² step records it), if any."""
    for step in trace.get("steps", []):
        area = (step.get("figures") or {}).get("leased_area_m2")
        if area is not None:
            return str(area)
    return None


def _rescore(
    rb: rbook.Rulebook,
    m: decisions.Member,
    previous: ReviewRow | None,
    leased_m2: float,
    facts: dict[str, dict[str, object]] | None,
) -> rbook.ReviewDecision:
    """``m``'s review scored under ``rb``, given the tenancy's review of the year before, the
    area it holds now (used when the trace does not record one) and the metrics the engine
    establishes for it (``facts``)."""
    review = m.review
    decided = m.status == "decided"
    submitted = review.submitted_at is not None if decided else m.status == "submitted"
    trace = review.trace if decided else {}
    known = {v.code for v in rb.review.vetoes}
    area = recorded_area(trace) or leased_m2
    return rbook.score_review(
        rb,
        figures=review.figures if submitted else {},
        previous_figures={
            k: v for k, v in (previous.figures if previous else {}).items() if k in rb.metrics
        }
        or None,
        leased_area_m2=area,
        vetoes=[v for v in recorded_vetoes(trace) if v in known],
        submitted=submitted,
        previous_grade=previous.grade if previous and previous.grade in rb.grades else None,
        facts=facts,
    )


def simulate(w: Work, text: str, source: str, space_code: str, period: int) -> dict[str, Any]:
    """Which firms' grade or consequence would change under the rulebook ``text``."""
    candidate = rules.parse(text, source)
    decisions.check_period(w, period)
    space = w.space_row(space_code)
    active = rules.for_space(w, space)
    members = [
        m
        for m in decisions.cohort(w, space.id, period)
        if m.status in (*decisions.DECIDABLE, "decided")
    ]
    baseline: dict[int, tuple[str, Outcome]] = {
        m.tenancy_id: (
            "recorded",
            Outcome(m.review.score or 0.0, m.review.grade or "", m.review.consequence or "none"),
        )
        for m in members
        if m.status == "decided"
    }
    errors: list[dict[str, Any]] = []
    try:
        for p in decisions.plan_cycle(w, active, members):
            d = p.decision
            baseline[p.member.tenancy_id] = ("projected", Outcome(d.score, d.grade, d.consequence))
    except InvalidInput as err:
        errors.append({"rulebook": "active", "error": err.message})
    ids = [m.tenancy_id for m in members]
    previous = w.uow.reviews.of(ids, period - 1)
    leased = w.uow.allocations.leased_areas(ids)
    counted = veto_facts.counted(
        partial(repositories.cooperation, w.connection),
        candidate,
        [(m.tenancy_id, m.tenancy.firm_id, m.review) for m in members],
        period,
    )
    scored: list[tuple[int, rbook.ReviewDecision]] = []
    for m in members:
        try:
            rescored = _rescore(
                candidate,
                m,
                previous.get(m.tenancy_id),
                leased[m.tenancy_id],
                counted.get(m.tenancy_id),
            )
            scored.append((m.tenancy_id, rescored))
        except InvalidInput as err:
            errors.append({**m.who(), "rulebook": "candidate", "error": err.message})
    before_cap = {key: d.grade for key, d in scored}
    by_id = {m.tenancy_id: m for m in members}
    changes: list[dict[str, Any]] = []
    unchanged = 0
    for key, d in rbook.apply_grade_cap(candidate, scored):
        if key not in baseline:
            continue
        basis, old = baseline[key]
        new = Outcome(d.score, d.grade, d.consequence)
        if (old.grade, old.consequence) == (new.grade, new.consequence):
            unchanged += 1
            continue
        changes.append(
            {
                **by_id[key].who(),
                "basis": basis,
                "before": old.to_dict(),
                "after": {**new.to_dict(), "demoted": d.grade != before_cap[key]},
                "grade_changed": old.grade != new.grade,
                "consequence_changed": old.consequence != new.consequence,
                "trace": d.trace.to_dict(),
            }
        )
    return {
        "space": space.code,
        "period": period,
        "source": source,
        "active_rulebook": active.version,
        "candidate_rulebook": candidate.version,
        "cohort": len(members),
        "changes": changes,
        "unchanged": unchanged,
        "errors": errors,
        "written": False,
    }
