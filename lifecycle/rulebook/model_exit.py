"""Rulebook models of exit (毕业, 到期, 主动, 强制) and of what happens after it, RULEBOOK §5–6."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from lifecycle.rulebook._base import Code, Label, Model, NonNegInt, PosInt

ExitType = Literal["graduation", "term_expiry", "voluntary", "forced"]
EXIT_TYPES: tuple[ExitType, ...] = ("graduation", "term_expiry", "voluntary", "forced")
Handling = Literal["immediate", "cure", "demand", "dormancy", "delisting", "review", "lease_end"]
Clawback = Literal["full", "pro_rata", "none"]
Refundable = Literal["deposit", "prepaid_rent"]
# handlings that wait for a period to run out before the exit proceeds
TIMED_HANDLINGS: frozenset[str] = frozenset({"cure", "demand", "dormancy", "delisting"})
# forced-exit trigger codes the workflows name in code (a D after a D opens a forced exit on
# ``consecutive_d``, a failed reinspection on ``failed_rectification``): a rulebook without
# any of them is refused when it is loaded, not when a decision first needs it
REQUIRED_TRIGGER_CODES: tuple[str, ...] = ("consecutive_d", "failed_rectification")
# the handling of the grounds the engine raises itself, from the review results and the
# re-inspection: never recorded as a violation, never served by hand
RAISED_BY_ENGINE: Handling = "review"


class GraduationCriterion(Model):
    """One way to graduate (any one suffices).

    kinds: ``qualification`` (a yes/no metric such as high_tech_enterprise), ``funding``
    (cumulative funding strictly above ``above_yuan``; with a ``metric``, that review metric
    summed over the recorded years counts towards it), ``revenue_years`` (``metric`` strictly
    above ``above_yuan`` in each of ``consecutive_years`` consecutive years),
    ``acquired_or_listed``.
    """

    id: Code
    label_zh: Label
    label_en: Label
    kind: Literal["qualification", "funding", "revenue_years", "acquired_or_listed"]
    qualification: Code | None = None
    above_yuan: NonNegInt | None = None
    metric: Code | None = None
    consecutive_years: PosInt | None = None

    @model_validator(mode="after")
    def _parameters_fit_kind(self) -> GraduationCriterion:
        needs: dict[str, set[str]] = {
            "qualification": {"qualification"},
            "funding": {"above_yuan"},
            "revenue_years": {"above_yuan", "metric", "consecutive_years"},
            "acquired_or_listed": set(),
        }
        may: dict[str, set[str]] = {"funding": {"metric"}}
        optional = ("qualification", "above_yuan", "metric", "consecutive_years")
        given = {name for name in optional if getattr(self, name) is not None}
        if missing := needs[self.kind] - given:
            raise ValueError(f"kind {self.kind!r} needs {', '.join(sorted(missing))}")
        if extra := given - needs[self.kind] - may.get(self.kind, set()):
            raise ValueError(f"kind {self.kind!r} takes no {', '.join(sorted(extra))}")
        return self


class Graduation(Model):
    """Periods: ``periods.graduation_publicity`` and ``periods.graduation_leave``."""

    criteria: tuple[GraduationCriterion, ...] = Field(min_length=1)


class ForcedExitTrigger(Model):
    """A forced-exit ground (RULEBOOK §5 table).

    ``period`` names the period that must run out first (cure notice, payment demand, dormancy,
    delisting); ``act_within`` the period within which the operator must act after learning of
    the facts (subletting); ``immediate_vacate`` selects ``periods.vacate_immediate`` over
    ``periods.vacate``; ``reapply_bar`` names the period during which the firm may not apply.
    """

    code: Code
    label_zh: Label
    label_en: Label
    handling: Handling
    period: str | None = None
    act_within: str | None = None
    immediate_vacate: bool = False
    clawback: Clawback
    reapply_bar: str | None = None

    @property
    def raised_by_engine(self) -> bool:
        """Whether the engine raises these grounds itself (a D after a D, a failed
        re-inspection): an operator neither records them as a violation nor serves them."""
        return self.handling == RAISED_BY_ENGINE

    @property
    def rule_ref(self) -> str:
        """The trigger's rule id as traces and audit data name it."""
        return f"exit.triggers.{self.code}"

    @model_validator(mode="after")
    def _period_fits_handling(self) -> ForcedExitTrigger:
        if self.handling in TIMED_HANDLINGS and self.period is None:
            raise ValueError(f"handling {self.handling!r} needs a period")
        if self.handling not in TIMED_HANDLINGS and self.period is not None:
            raise ValueError(f"handling {self.handling!r} takes no period")
        return self


class Voluntary(Model):
    """Notice period: ``periods.voluntary_notice``."""

    refund_with_approval: tuple[Refundable, ...]
    forfeit_without_approval: tuple[Refundable, ...]


class ProcedureStep(Model):
    step: Code
    label_zh: Label
    label_en: Label
    period: str | None = None
    record_proof: bool = False


class VacatePeriods(Model):
    """Which named period applies to vacating (腾退), by exit type."""

    graduation: str
    term_expiry: str
    voluntary: str
    forced: str
    forced_immediate: str


class ClawbackByExitType(Model):
    """Clawback for exits without a forced-exit trigger (forced exits use the trigger's)."""

    graduation: Clawback
    term_expiry: Clawback
    voluntary: Clawback


class Exit(Model):
    graduation: Graduation
    voluntary: Voluntary
    triggers: tuple[ForcedExitTrigger, ...] = Field(min_length=1)
    procedure: tuple[ProcedureStep, ...] = Field(min_length=1)
    vacate: VacatePeriods
    clawback: ClawbackByExitType


class BenefitKind(Model):
    code: Code
    label_zh: Label
    label_en: Label


class AfterExit(Model):
    """Deposit claims run for ``periods.deposit_claim`` after handover. The deposit is also
    forfeited on a voluntary exit without approval when ``exit.voluntary`` says so."""

    deposit_deductions: tuple[Literal["arrears", "damage"], ...]
    deposit_forfeit_when: tuple[Literal["never_moved_in"], ...] = ()
    benefit_kinds: tuple[BenefitKind, ...] = Field(min_length=1)
