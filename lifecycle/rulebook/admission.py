"""Admission (入驻, RULEBOOK §1): hard requirements, expert scoring, objections to 公示."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from stdnum.cn import uscc as _uscc

from lifecycle.errors import InvalidInput
from lifecycle.rulebook._base import add_months, quantize, to_decimal, whole_months_between
from lifecycle.rulebook.model import HardRequirement, Rulebook
from lifecycle.rulebook.trace import FAIL, PASS, Decision, RuleRef, Trace, TraceStep, step

_Money = Field(ge=0, allow_inf_nan=False)


class ApplicationProfile(BaseModel):
    """What an applicant states. Every yes/no fact must be answered: an unknown fact cannot pass
    a hard requirement. Amounts in 元, area in m²."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uscc: str
    name: str = Field(min_length=1)
    founded_on: date
    staff: int = Field(ge=0)
    revenue_yuan: Decimal = _Money
    assets_yuan: Decimal = _Money
    prev_year_revenue_yuan: Decimal = _Money
    requested_area_m2: Decimal = _Money
    industry: str = Field(min_length=1)
    track: str = Field(min_length=1)
    prohibited_business: bool
    major_incident_recent: bool
    abnormal_operations_listed: bool
    serious_dishonest_listed: bool
    dishonest_executee: bool
    ip_ownership_clear: bool
    env_fire_safety_approved: bool
    water_intensive_or_polluting: bool
    will_register_in_space: bool


def _ref(req: HardRequirement) -> RuleRef:
    return RuleRef(req.id, req.label_zh, req.label_en)


def _flags(req: HardRequirement, p: ApplicationProfile) -> tuple[dict[str, Any], list[str]]:
    figures: dict[str, Any] = {}
    wrong: list[str] = []
    for name in req.require_true:
        figures[name] = getattr(p, name)
        if not figures[name]:
            wrong.append(f"{name} must be true")
    for name in req.require_false:
        figures[name] = getattr(p, name)
        if figures[name]:
            wrong.append(f"{name} must be false")
    return figures, wrong


def _threshold_flags(req: HardRequirement) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if req.require_true:
        out["require_true"] = list(req.require_true)
    if req.require_false:
        out["require_false"] = list(req.require_false)
    return out


def _check(
    rb: Rulebook, req: HardRequirement, p: ApplicationProfile, on: date, barred_until: date | None
) -> TraceStep:
    ref = _ref(req)
    figures: dict[str, Any]
    threshold: dict[str, Any] = _threshold_flags(req)
    wrong: list[str]
    if req.check == "uscc":
        figures, threshold = {"uscc": p.uscc}, {"standard": "GB 32100-2015"}
        wrong = [] if _uscc.is_valid(p.uscc) else ["not a valid unified social credit code"]
    elif req.check == "sme_profile":
        figures, wrong = _flags(req, p)
        limits: list[tuple[str, Decimal, int | None]] = [
            ("staff", Decimal(p.staff), req.max_staff),
            ("revenue_yuan", p.revenue_yuan, req.max_revenue_yuan),
            ("assets_yuan", p.assets_yuan, req.max_assets_yuan),
        ]
        for name, value, limit in limits:
            figures[name] = p.staff if name == "staff" else value
            threshold[f"max_{name}"] = limit
            if limit is not None and value > limit:
                wrong.append(f"{name} {value} is above {limit}")
    elif req.check == "flags":
        figures, wrong = _flags(req, p)
        if req.period is not None:
            threshold["period"] = {req.period: rb.periods.get(req.period)}
    elif req.check == "track_cap":
        return _track_cap(rb, req, p, on)
    elif req.check == "industry":
        figures, wrong = _flags(req, p)
        figures["industry"] = p.industry
        threshold["industries"] = list(req.industries)
        if not rb.industry_in(p.industry, req.industries):
            wrong.append(f"industry {p.industry!r} is not on the list")
    else:  # reapply_bar
        figures = {"on": on, "barred_until": barred_until}
        threshold = {}
        barred = barred_until is not None and on <= barred_until
        wrong = [f"barred from re-applying until {barred_until}"] if barred else []
    return step(
        ref,
        figures=figures,
        threshold=threshold,
        result=FAIL if wrong else PASS,
        note="; ".join(wrong),
    )


def _track_cap(rb: Rulebook, req: HardRequirement, p: ApplicationProfile, on: date) -> TraceStep:
    ref = _ref(req)
    track = rb.track(p.track)
    cap = req.cap
    assert cap is not None  # guaranteed by HardRequirement's validator
    limit = getattr(track, cap)
    figures: dict[str, Any] = {"track": p.track}
    threshold: dict[str, Any] = {cap: limit}
    ok: bool
    if cap == "max_age_months":
        figures.update(
            founded_on=p.founded_on, on=on, age_months=whole_months_between(p.founded_on, on)
        )
        if limit is not None:
            threshold["latest_entry_on"] = add_months(p.founded_on, limit)
        ok = limit is None or on <= add_months(p.founded_on, limit)
    elif cap == "max_area_m2":
        figures["requested_area_m2"] = p.requested_area_m2
        ok = limit is None or p.requested_area_m2 <= limit
    else:
        figures["prev_year_revenue_yuan"] = p.prev_year_revenue_yuan
        ok = limit is None or p.prev_year_revenue_yuan <= limit
    note = f"no {cap} on track {p.track}" if limit is None else ("" if ok else f"above {cap}")
    return step(ref, figures=figures, threshold=threshold, result=PASS if ok else FAIL, note=note)


def evaluate_hard_requirements(
    rb: Rulebook, profile: ApplicationProfile, *, on: date, reapply_barred_until: date | None = None
) -> Decision:
    """Every hard requirement, in rulebook order; any failure rejects. ``on`` is the day of
    evaluation (the age at entry is measured to it); a re-application bar holds through
    ``reapply_barred_until`` inclusive."""
    if profile.founded_on > on:
        raise InvalidInput(
            "founded_on",
            "成立日期晚于审查日 / is after the evaluation date",
            profile.founded_on,
        )
    rb.track(profile.track)
    steps = tuple(
        _check(rb, req, profile, on, reapply_barred_until) for req in rb.admission.requirements
    )
    by_id = {req.id: req for req in rb.admission.requirements}
    failures = tuple(_ref(by_id[s.rule]) for s in steps if s.result == FAIL)
    trace = Trace("admission.hard_requirements", rb.version, steps)
    return Decision(passed=not failures, trace=trace, failures=failures)


# --- expert scoring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerScoreInput:
    reviewer: str
    conflict_of_interest: bool
    scores: Mapping[str, object]


@dataclass(frozen=True)
class ScoringDecision:
    """``mean`` is rounded half-up to 0.01 and the pass/priority lines are applied to it."""

    passed: bool
    priority: bool
    mean: float
    counted: tuple[str, ...]
    excluded: tuple[str, ...]
    trimmed: tuple[str, ...]
    totals: Mapping[str, float]
    trace: Trace

    @property
    def mean_decimal(self) -> Decimal:
        return quantize(Decimal(repr(self.mean)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "priority": self.priority,
            "mean": self.mean,
            "counted": list(self.counted),
            "excluded": list(self.excluded),
            "trimmed": list(self.trimmed),
            "totals": dict(sorted(self.totals.items())),
            "rulebook_version": self.trace.rulebook_version,
            "trace": self.trace.to_dict(),
        }


def _total(rb: Rulebook, scores: Mapping[str, object], who: str) -> tuple[Decimal, dict[str, Any]]:
    criteria = rb.admission.scoring.criteria
    known = {c.id for c in criteria}
    unknown = sorted(set(scores) - known)
    if unknown:
        names = ", ".join(sorted(known))
        raise InvalidInput(
            f"{who}.{unknown[0]}",
            f"未知的评分项，评分项为：{names} / unknown criterion; criteria are {names}",
        )
    total = Decimal(0)
    figures: dict[str, Any] = {}
    for criterion in criteria:
        field = f"{who}.{criterion.id}"
        if criterion.id not in scores:
            raise InvalidInput(field, "每个评分项都须评分 / every criterion must be scored")
        value = to_decimal(scores[criterion.id], field)
        if not 0 <= value <= criterion.weight:
            raise InvalidInput(
                field,
                f"须在 0 到 {criterion.weight} 分之间 / must be between 0 and {criterion.weight}",
                value,
            )
        band = next(
            (
                b
                for b in criterion.bands
                if b.min <= value < b.max + 1 or value == b.max == criterion.weight
            ),
            None,
        )
        if band is None:
            raise InvalidInput(field, "不在任何评分档内 / is on no anchored band", value)
        figures[criterion.id] = {"score": value, "band": band.label_zh}
        total += value
    return total, figures


def reviewer_total(rb: Rulebook, scores: Mapping[str, object]) -> float:
    """One reviewer's total; validates that every criterion is scored within its bands."""
    return float(_total(rb, scores, "scores")[0])


def score_application(rb: Rulebook, scores: Sequence[ReviewerScoreInput]) -> ScoringDecision:
    """Mean of the reviewers' totals: reviewers with a declared conflict of interest are left
    out; with ``trim_from`` or more the ``trim_each_end`` highest and lowest totals are dropped.
    Too few reviewers without a conflict is :class:`InvalidInput` (field ``reviewers``)."""
    cfg = rb.admission.scoring
    names = [s.reviewer for s in scores]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise InvalidInput(
            "reviewers", "每位评审专家只评分一次 / each reviewer scores once", ", ".join(dupes)
        )
    trace = Trace("admission.scoring", rb.version)
    counted = [s for s in scores if not s.conflict_of_interest]
    excluded = tuple(s.reviewer for s in scores if s.conflict_of_interest)
    if len(counted) < cfg.min_reviewers:
        raise InvalidInput(
            "reviewers",
            f"须至少 {cfg.min_reviewers} 名无利益冲突的评审专家评分，现有 {len(counted)} 名 / "
            f"need at least {cfg.min_reviewers} reviewers without a "
            f"conflict of interest, have {len(counted)}",
        )
    totals: dict[str, Decimal] = {}
    for entry in counted:
        total, figures = _total(rb, entry.scores, f"scores[{entry.reviewer}]")
        totals[entry.reviewer] = total
        trace = trace.add(
            TraceStep(
                "admission.scoring.reviewer",
                "评审专家评分",
                "Reviewer's scores",
                {"reviewer": entry.reviewer, **figures},
                None,
                total,
            )
        )
    trace = trace.add(
        TraceStep(
            "admission.scoring.conflicts",
            "利益冲突回避",
            "Conflict of interest excluded",
            {"excluded": list(excluded)},
            None,
            len(excluded),
        )
    )
    ranked = sorted(totals, key=lambda name: (totals[name], name))
    trimmed: tuple[str, ...] = ()
    if len(ranked) >= cfg.trim_from:
        k = cfg.trim_each_end
        trimmed = (*ranked[:k], *ranked[-k:])
        ranked = ranked[k:-k]
    trace = trace.add(
        TraceStep(
            "admission.scoring.trim",
            "去掉最高分和最低分",
            "Highest and lowest totals dropped",
            {"reviewers": len(totals), "dropped": list(trimmed)},
            {"trim_from": cfg.trim_from, "trim_each_end": cfg.trim_each_end},
            len(trimmed),
        )
    )
    mean = quantize(sum((totals[n] for n in ranked), Decimal(0)) / len(ranked))
    passed = mean >= cfg.pass_score
    priority = passed and mean >= cfg.priority_score
    trace = trace.add(
        TraceStep(
            "admission.scoring.pass",
            "平均分达到通过线",
            "Mean reaches the pass line",
            {"mean": mean, "counted": list(ranked)},
            cfg.pass_score,
            PASS if passed else FAIL,
        ),
        TraceStep(
            "admission.scoring.priority",
            "平均分达到优先线",
            "Mean reaches the priority line",
            {"mean": mean},
            cfg.priority_score,
            PASS if priority else FAIL,
        ),
    )
    return ScoringDecision(
        passed,
        priority,
        float(mean),
        tuple(ranked),
        excluded,
        trimmed,
        {n: float(t) for n, t in totals.items()},
        trace,
    )


# --- objections to 公示 -----------------------------------------------------------------------


def objection_acceptable(
    rb: Rulebook,
    *,
    written: bool,
    named: bool,
    has_reasons: bool,
    lodged_on: date,
    window_end: date,
) -> Decision:
    """Whether an objection is admissible; a refusal names each rule it breaks (``reason``).
    ``window_end`` is the last day of the publicity (or defence) window, inclusive."""
    checks: dict[str, Callable[[], tuple[bool, dict[str, Any]]]] = {
        "written": lambda: (written, {"written": written}),
        "named": lambda: (named, {"named": named}),
        "has_reasons": lambda: (has_reasons, {"has_reasons": has_reasons}),
        "in_window": lambda: (
            lodged_on <= window_end,
            {"lodged_on": lodged_on, "window_end": window_end},
        ),
    }
    steps: list[TraceStep] = []
    failures: list[RuleRef] = []
    for rule in rb.admission.objection_rules:
        ok, figures = checks[rule.check]()
        ref = RuleRef(rule.id, rule.label_zh, rule.label_en)
        steps.append(step(ref, figures=figures, result=PASS if ok else FAIL))
        if not ok:
            failures.append(ref)
    trace = Trace("admission.objection", rb.version, tuple(steps))
    return Decision(passed=not failures, trace=trace, failures=tuple(failures))
