"""Rulebook models of the annual review (年度考核) and rectification (整改), RULEBOOK §3–4."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from lifecycle.rulebook._base import Code, Label, Model, NonNegDecimal, NonNegInt, Percent, PosInt

MetricUnit = Literal["yuan", "count", "bool", "m2", "percent"]
ScoreKind = Literal["linear", "per_leased_area", "ratio", "growth", "flag"]
GradeCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]*$")]
Action = Literal["none", "renewal_priority", "rectification", "forced_exit"]
#: Facts the engine establishes for a review period itself, by name: ``cooperation`` is the
#: firm's entries on 城市机会清单 published in the period plus its introductions that ended in a
#: deal in the period (either side); ``submitted_on_time`` is whether the figures scored were
#: submitted on or before the review's due date (the day they arrived in the space's time zone).
FactSource = Literal["cooperation", "submitted_on_time"]
#: The unit of each fact's metric: a count, or yes/no.
FACT_UNITS: dict[str, MetricUnit] = {"cooperation": "count", "submitted_on_time": "bool"}


class ReviewCalendar(Model):
    """When the review window opens and when figures are due, as data: the window opens on the
    ``open_workday``-th working day of ``open_month`` and submissions are due on the
    ``due_workday``-th working day of that month (both counted in the space's calendar)."""

    open_month: int = Field(ge=1, le=12)
    open_workday: PosInt
    due_workday: PosInt
    quarterly_metrics: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _due_after_open(self) -> ReviewCalendar:
        if self.due_workday < self.open_workday:
            raise ValueError("due_workday must not come before open_workday")
        return self


class Reminders(Model):
    """Reminders at opening, N working days before the due date and N working days after it;
    after-due reminders from ``escalate_from_after_index`` on also go to ``escalate_to``."""

    at_open: bool = True
    before_workdays: tuple[PosInt, ...] = ()
    after_workdays: tuple[PosInt, ...] = ()
    escalate_from_after_index: NonNegInt = 0
    escalate_to: Code = "account_manager"


class Metric(Model):
    """A review figure. One with a ``fact`` is established by the engine when the review is
    decided (never submitted by the firm, so never required), in the fact's unit
    (:data:`FACT_UNITS`: ``cooperation`` a count, ``submitted_on_time`` yes/no). An
    ``integer`` metric counts whole things (people, patents, events): a fraction of one is
    refused, as the application profile's ``staff`` is a whole number. Absent (as in rulebooks
    stored before it existed) it is ``false``: any number."""

    name: Code
    label_zh: Label
    label_en: Label
    unit: MetricUnit
    required: bool = False
    sign: Literal["non_negative", "any"] = "non_negative"
    category: Code | None = None
    fact: FactSource | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _fact_is_counted(self) -> Metric:
        if self.fact is not None and (self.required or self.unit != FACT_UNITS[self.fact]):
            raise ValueError(
                "a fact metric is established by the engine, never submitted: "
                f"fact {self.fact!r} has unit {FACT_UNITS[self.fact]!r} and is not required"
            )
        if self.integer and self.unit != "count":
            raise ValueError("integer = true is for a metric that counts things: unit count")
        return self


class ScoreItem(Model):
    """One scored sub-item of a review category, worth ``points``.

    kinds: ``linear`` (metric / full_at), ``per_leased_area`` (metric per m² / full_at),
    ``ratio`` (metric / denominator in percent / full_at_percent), ``growth`` (year-on-year
    growth of metric in percent / full_at_percent; ``no_previous_percent`` of the points when
    there is no previous figure), ``flag`` (a yes/no metric: all or nothing).
    """

    id: Code
    label_zh: Label
    label_en: Label
    points: PosInt
    kind: ScoreKind
    metric: Code
    denominator: Code | None = None
    full_at: NonNegDecimal | None = None
    full_at_percent: NonNegDecimal | None = None
    no_previous_percent: Percent | None = None

    @model_validator(mode="after")
    def _parameters_fit_kind(self) -> ScoreItem:
        needs: dict[str, set[str]] = {
            "linear": {"full_at"},
            "per_leased_area": {"full_at"},
            "ratio": {"denominator", "full_at_percent"},
            "growth": {"full_at_percent", "no_previous_percent"},
            "flag": set(),
        }
        optional = ("denominator", "full_at", "full_at_percent", "no_previous_percent")
        given = {name for name in optional if getattr(self, name) is not None}
        missing = needs[self.kind] - given
        extra = given - needs[self.kind]
        if missing:
            raise ValueError(f"kind {self.kind!r} needs {', '.join(sorted(missing))}")
        if extra:
            raise ValueError(f"kind {self.kind!r} takes no {', '.join(sorted(extra))}")
        for name in ("full_at", "full_at_percent"):
            value = getattr(self, name)
            if value is not None and value == 0:
                raise ValueError(f"{name} must be greater than 0")
        return self


class Category(Model):
    id: Code
    label_zh: Label
    label_en: Label
    weight: PosInt
    items: tuple[ScoreItem, ...] = Field(min_length=1)


class Grade(Model):
    """A grade band, inclusive integer bounds as printed (B 75–84). A score s gets the band with
    ``min <= s < max + 1`` (the top band also holds ``s == max``), so 84.6 is B and 85 is A."""

    grade: GradeCode
    label_zh: Label
    label_en: Label
    min: NonNegInt
    max: NonNegInt

    @model_validator(mode="after")
    def _ordered(self) -> Grade:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class GradeCap(Model):
    """At most ``max_percent`` of the cohort gets ``grade``; the rest are demoted."""

    grade: str
    max_percent: Percent
    demote_to: str
    rounding: Literal["floor", "half_up", "ceil"] = "floor"


class Veto(Model):
    """One-vote veto (一票否决): the grade becomes ``review.veto_grade``. Raised by code, or by
    a yes/no ``metric`` being true in the submitted figures."""

    code: Code
    label_zh: Label
    label_en: Label
    metric: Code | None = None


class Consequence(Model):
    """What a grade leads to; an entry with ``previous_grade`` is more specific and wins."""

    grade: str
    previous_grade: str | None = None
    action: Action
    label_zh: Label
    label_en: Label


class Review(Model):
    calendar: ReviewCalendar
    reminders: Reminders
    metrics: tuple[Metric, ...] = Field(min_length=1)
    categories: tuple[Category, ...] = Field(min_length=1)
    grades: tuple[Grade, ...] = Field(min_length=1)
    grade_cap: GradeCap | None = None
    vetoes: tuple[Veto, ...] = ()
    veto_grade: str
    missing_data_grade: str
    consequences: tuple[Consequence, ...] = ()


class Rectification(Model):
    """Plan, rectify, re-inspect; the periods are ``periods.rectification_plan``,
    ``periods.rectification`` and ``periods.rectification_extension_max``."""

    max_extensions: NonNegInt
    reinspection: bool = True
    failure_trigger: Code
