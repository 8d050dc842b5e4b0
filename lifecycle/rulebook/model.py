"""The rulebook as a validated, frozen pydantic model (DESIGN decision 8: the rulebook is data).

Layout (one model per TOML table): ``meta``, ``periods``, ``tracks``, ``industries``, ``term``,
``admission``, ``review``, ``rectification``, ``exit``, ``after_exit``. Field constraints
(non-negative, ranges) are checked by pydantic where they are declared; rules that span tables
(weights summing to 100, bands covering their range, names referring to defined things,
duplicate ids) are checked in :mod:`lifecycle.rulebook.checks` and reported with key paths.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Literal

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from lifecycle.errors import InvalidInput, InvalidRulebook
from lifecycle.periods import Period
from lifecycle.rulebook._base import (
    Code,
    Label,
    Model,
    NonNegDecimal,
    NonNegInt,
    PosInt,
    RuleId,
)
from lifecycle.rulebook.model_exit import AfterExit, Exit, ForcedExitTrigger
from lifecycle.rulebook.model_review import Grade, Metric, Rectification, Review

# The yes/no facts of an application profile a hard requirement may test (ApplicationProfile
# in lifecycle.rulebook.admission has exactly these boolean fields).
ProfileFlag = Literal[
    "prohibited_business",
    "major_incident_recent",
    "abnormal_operations_listed",
    "serious_dishonest_listed",
    "dishonest_executee",
    "ip_ownership_clear",
    "env_fire_safety_approved",
    "water_intensive_or_polluting",
    "will_register_in_space",
]
TrackCap = Literal["max_age_months", "max_area_m2", "max_prev_year_revenue_yuan"]
RequirementCheck = Literal["uscc", "sme_profile", "flags", "track_cap", "industry", "reapply_bar"]


class Meta(Model):
    name: Label
    name_zh: Label
    timezone: str = Field(default="Asia/Shanghai", pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)+$")
    schema_version: Literal[1] = 1


class Periods(Model):
    """Named periods. The keys below are required (the workflows read them by name); further
    keys are allowed and may be referred to from triggers and procedure steps."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Period] = Field(init=False)

    info_request_response: Period
    publicity: Period
    objection_lodging: Period
    agreement_signing: Period
    registration_after_signing: Period
    review_quarterly_report: Period
    rectification_plan: Period
    rectification: Period
    rectification_extension_max: Period
    objection_window: Period
    vacate: Period
    vacate_immediate: Period
    cure_notice: Period
    arrears_demand: Period
    delisting: Period
    shell_dormancy: Period
    registration_move_out: Period
    deposit_claim: Period
    graduation_publicity: Period
    graduation_leave: Period
    voluntary_notice: Period
    renewal_request: Period
    fraud_reapply_bar: Period

    def names(self) -> tuple[str, ...]:
        return (*type(self).model_fields, *(self.model_extra or {}))

    def get(self, name: str) -> Period:
        """The period called ``name``; :class:`InvalidInput` naming the known ones otherwise."""
        if name in type(self).model_fields:
            value: Period = getattr(self, name)
            return value
        extra = self.model_extra or {}
        if name in extra:
            found: Period = extra[name]
            return found
        raise InvalidInput("period", f"unknown period; known: {', '.join(self.names())}", name)


class Track(Model):
    """An admission track; a missing cap means no cap (RULEBOOK §1 H4–H6)."""

    label_zh: Label
    label_en: Label
    max_age_months: NonNegInt | None = None
    max_area_m2: NonNegDecimal | None = None
    max_prev_year_revenue_yuan: NonNegInt | None = None


class Industry(Model):
    """An industry code; ``parent`` makes it count as its parent too (pharma -> biomedicine)."""

    code: Code
    label_zh: Label
    label_en: Label
    parent: Code | None = None


class Term(Model):
    incubation_cap_months: PosInt
    extended_cap_months: PosInt
    extended_cap_industries: tuple[Code, ...] = ()
    lease_min_years: PosInt
    lease_max_years: PosInt
    expiry_alert_days: tuple[PosInt, ...] = ()
    max_extensions: NonNegInt
    extension_max_months: NonNegInt


class HardRequirement(Model):
    """A hard admission requirement (any failure rejects).

    checks: ``uscc`` (valid 统一社会信用代码); ``sme_profile`` (staff/revenue/assets caps and
    ``require_false`` facts); ``flags`` (``require_true`` / ``require_false`` facts; ``period``
    names an informative period such as registration_after_signing); ``track_cap`` (the
    applicant's track cap named by ``cap``); ``industry`` (industry in ``industries`` plus
    facts); ``reapply_bar`` (no running re-application bar).
    """

    id: RuleId
    label_zh: Label
    label_en: Label
    check: RequirementCheck
    require_true: tuple[ProfileFlag, ...] = ()
    require_false: tuple[ProfileFlag, ...] = ()
    max_staff: NonNegInt | None = None
    max_revenue_yuan: NonNegInt | None = None
    max_assets_yuan: NonNegInt | None = None
    cap: TrackCap | None = None
    industries: tuple[Code, ...] = ()
    period: str | None = None

    @model_validator(mode="after")
    def _parameters_fit_check(self) -> HardRequirement:
        needs: dict[str, set[str]] = {
            "uscc": set(),
            "sme_profile": {"max_staff", "max_revenue_yuan", "max_assets_yuan"},
            "flags": set(),
            "track_cap": {"cap"},
            "industry": {"industries"},
            "reapply_bar": set(),
        }
        allowed = needs[self.check] | {
            "sme_profile": {"require_false"},
            "flags": {"require_true", "require_false", "period"},
            "industry": {"require_true", "require_false"},
        }.get(self.check, set())
        optional = (
            "require_true",
            "require_false",
            "max_staff",
            "max_revenue_yuan",
            "max_assets_yuan",
            "cap",
            "industries",
            "period",
        )
        given = {name for name in optional if getattr(self, name) not in (None, ())}
        if missing := needs[self.check] - given:
            raise ValueError(f"check {self.check!r} needs {', '.join(sorted(missing))}")
        if extra := given - allowed:
            raise ValueError(f"check {self.check!r} takes no {', '.join(sorted(extra))}")
        return self


class Band(Model):
    """An anchored scoring band; inclusive integer bounds as printed, read as
    ``min <= score < max + 1`` (the top band also holds ``score == max``)."""

    min: NonNegInt
    max: NonNegInt
    label_zh: Label
    label_en: Label

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class Criterion(Model):
    id: Code
    label_zh: Label
    label_en: Label
    weight: PosInt
    bands: tuple[Band, ...] = Field(min_length=1)


class Scoring(Model):
    min_reviewers: int = Field(ge=3)
    trim_from: int = Field(ge=3)
    trim_each_end: PosInt = 1
    pass_score: NonNegInt
    priority_score: NonNegInt
    criteria: tuple[Criterion, ...] = Field(min_length=1)


class ObjectionRule(Model):
    """A condition an objection must meet to be accepted; the label is the refusal reason."""

    id: Code
    label_zh: Label
    label_en: Label
    check: Literal["written", "named", "has_reasons", "in_window"]


class Admission(Model):
    requirements: tuple[HardRequirement, ...] = Field(min_length=1)
    scoring: Scoring
    objection_rules: tuple[ObjectionRule, ...] = ()


class Rulebook(Model):
    """A whole rulebook. ``version`` is the sha256 of the TOML text it was parsed from
    (:func:`lifecycle.rulebook.parse_rulebook` sets it; ``source_text`` returns that text). A
    rulebook built directly from data is versioned by the sha256 of its canonical JSON."""

    meta: Meta
    periods: Periods
    tracks: dict[Code, Track] = Field(min_length=1)
    industries: tuple[Industry, ...] = ()
    term: Term
    admission: Admission
    review: Review
    rectification: Rectification
    exit: Exit
    after_exit: AfterExit

    _source_text: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_checks(self) -> Rulebook:
        from lifecycle.rulebook.checks import problems

        found = problems(self)
        if found:
            raise InvalidRulebook("<rulebook>", found)
        return self

    @property
    def source_text(self) -> str | None:
        return self._source_text

    @cached_property
    def version(self) -> str:
        if self._source_text is not None:
            return hashlib.sha256(self._source_text.encode("utf-8")).hexdigest()
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # --- lookups -------------------------------------------------------------------------

    def track(self, code: str) -> Track:
        if code not in self.tracks:
            raise InvalidInput("track", f"must be one of {', '.join(self.tracks)}", code)
        return self.tracks[code]

    @cached_property
    def metrics(self) -> dict[str, Metric]:
        return {m.name: m for m in self.review.metrics}

    @cached_property
    def facts(self) -> dict[str, Metric]:
        """The metrics the engine counts itself (``Metric.fact``), by name."""
        return {m.name: m for m in self.review.metrics if m.fact is not None}

    @cached_property
    def grades(self) -> dict[str, Grade]:
        return {g.grade: g for g in self.review.grades}

    @cached_property
    def triggers(self) -> dict[str, ForcedExitTrigger]:
        return {t.code: t for t in self.exit.triggers}

    def industry_lineage(self, code: str) -> tuple[str, ...]:
        """``code`` and its ancestors in the industry catalog (unknown codes: just itself)."""
        parents = {i.code: i.parent for i in self.industries}
        chain = [code]
        while (parent := parents.get(chain[-1])) is not None and parent not in chain:
            chain.append(parent)
        return tuple(chain)

    def industry_in(self, code: str, codes: tuple[str, ...]) -> bool:
        return any(c in codes for c in self.industry_lineage(code))

    def incubation_cap_months(self, industry: str) -> int:
        """48 months, or the extended cap (60) for the listed industries and their children."""
        if self.industry_in(industry, self.term.extended_cap_industries):
            return self.term.extended_cap_months
        return self.term.incubation_cap_months
