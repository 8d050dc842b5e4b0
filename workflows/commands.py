"""Commands: small imperative dataclasses, one per thing an operator, a firm or a sweep asks.

Every command that changes a tenancy carries ``actor`` (who, for the audit log) and may carry
``expected_version`` (the version the caller saw; a mismatch is a :class:`StaleTenancy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date
from typing import Any, dataclass_transform


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
class Frozen:
    """Every subclass is a frozen, keyword-only dataclass (no decorator of its own): a command,
    or a group of fields several commands share (:class:`UnitKey`,
    ``opportunity_commands.EntryKey``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True, kw_only=True)(cls)


_ENVELOPE = ("actor", "reason", "tenancy_id", "expected_version")


class Command(Frozen):
    actor: str = "operator"
    reason: str | None = None

    def fields(self) -> dict[str, Any]:
        """The command's own fields by name: all but who sends it (``actor``, ``reason``) and
        the tenancy it is addressed to (``tenancy_id``, ``expected_version``)."""
        return {
            f.name: getattr(self, f.name) for f in dataclass_fields(self) if f.name not in _ENVELOPE
        }


class UnitKey(Frozen):
    """The fields that name a unit, first in the commands on one: its space's code and its own."""

    space: str
    code: str


class TenancyCommand(Command):
    tenancy_id: int
    expected_version: int | None = None


# ---- registry -----------------------------------------------------------------------------
class CreateSpace(Command):
    code: str
    name: str
    timezone: str = "Asia/Shanghai"
    rulebook_text: str | None = None  # None: the shipped default rulebook
    rulebook_source: str = "default"


class AddUnit(UnitKey, Command):
    kind: str
    area_m2: float


class RegisterFirm(Command):
    name: str
    uscc: str
    industry: str
    founded_on: date | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    account_manager: str | None = None
    locale: str = "zh-CN"


class LoadRulebook(Command):
    text: str
    source: str
    space: str | None = None  # activate for this space


class SetCalendarDay(Command):
    day: date
    workday: bool
    note: str | None = None


class ImportCalendar(Command):
    """A year's official schedule (放假和调休安排) as overrides, all or nothing; ``complete``:
    the file holds each named year's whole schedule, which marks those years published."""

    days: tuple[SetCalendarDay, ...]
    complete: bool = False


class PublishCalendarYear(Command):
    """The operators confirm that ``year``'s whole schedule is entered (its overrides)."""

    year: int


# ---- admission ----------------------------------------------------------------------------
class Apply(Command):
    firm: str  # id or 统一社会信用代码
    space: str
    track: str = "incubation"
    requested_area_m2: float = 0
    profile: dict[str, Any] = field(default_factory=dict)
    #: The profile is a JSON body's (the API's): a number is a JSON number, never text.
    json_typed: bool = False


class Screen(TenancyCommand):
    """Check the hard requirements; pass -> evaluating, any failure -> rejected (named)."""

    reject: bool = False  # operator rejects on grounds outside the rulebook (reason required)


class RequestInfo(TenancyCommand):
    items: str


class Resubmit(TenancyCommand):
    profile: dict[str, Any] = field(default_factory=dict)
    #: The profile is a JSON body's (the API's): a number is a JSON number, never text.
    json_typed: bool = False


class ScoreApplication(TenancyCommand):
    reviewer: str
    scores: dict[str, float]
    conflict_of_interest: bool = False


class Approve(TenancyCommand):
    pass


class Reject(TenancyCommand):
    """Reject after evaluation: needs the rulebook's minimum of reviewers without a conflict
    of interest (a valid panel), as approval does."""


class RejectWithoutPanel(TenancyCommand):
    """Reject while no valid panel has scored: a named operator's decision (``actor``, not
    the generic "operator") with its grounds, audited and stated in the notice."""

    grounds: str


class LodgeObjection(TenancyCommand):
    """An objection during publicity (公示) or a statement of defence (陈述申辩) on exit."""

    by: str | None  # real name or seal; None = anonymous
    written: bool = True
    grounds: str = ""
    evidence: str | None = None


class RuleOnObjection(TenancyCommand):
    upheld: bool


class EndPublicity(TenancyCommand):
    pass


class Sign(TenancyCommand):
    units: tuple[str, ...]
    term_start: date
    term_end: date
    deposit_yuan: int = 0


class Withdraw(TenancyCommand):
    pass


class Lapse(TenancyCommand):
    pass


# ---- residency ----------------------------------------------------------------------------
class OpenReview(TenancyCommand):
    period: int


class SubmitReview(TenancyCommand):
    period: int
    figures: dict[str, Any]
    #: The figures are a JSON body's (the API's): a number is a JSON number, never text.
    json_typed: bool = False


class DecideReview(TenancyCommand):
    """Score the submitted figures under the rulebook, or apply an operator's outcome."""

    period: int
    vetoes: tuple[str, ...] = ()
    outcome: str | None = None  # pass | rectify | fail; None = as the rulebook decides


class SubmitQuarterlyReport(TenancyCommand):
    """File (or correct) a quarter's light report: the rulebook's ``quarterly_metrics``."""

    year: int
    quarter: int
    figures: dict[str, Any]


class FileRectificationPlan(TenancyCommand):
    plan: str


class ExtendRectification(TenancyCommand):
    days: int


class Reinspect(TenancyCommand):
    passed: bool


class ReportViolation(TenancyCommand):
    code: str
    facts: str
    evidence: str | None = None


class CureViolation(TenancyCommand):
    """The firm cured an open violation of the tenancy within its period (paid the arrears,
    restored the premises, was delisted): the violation no longer bears out an exit notice,
    and its period's deadline is cancelled."""

    violation: int  # the violation's id
    cured_on: date  # the day it was cured
    note: str | None = None  # how (receipt, inspection, delisting notice)


# ---- exit ---------------------------------------------------------------------------------
class WaiveWindow(TenancyCommand):
    """The firm waived one of its windows in writing (objection | cure | plan | rectification):
    the decision it protects may then be taken before the window ends."""

    window: str
    waived_on: date  # the date of the firm's written waiver
    document: str  # its reference (letter number, archive number)
    violation: int | None = None  # for a cure period, when several are open


class ServeExitNotice(TenancyCommand):
    grounds: str  # forced-exit trigger code
    facts: str
    proof_of_service: str


class ConfirmExit(TenancyCommand):
    """Decide the exit once the 陈述申辩 window has passed with no defence lodged."""


class BeginExit(TenancyCommand):
    """Begin a term-end or voluntary exit; a graduation is confirmed and goes on 公示 first
    (the graduation exit begins when the sweep ends it)."""

    exit_type: str  # graduation | term_expiry | voluntary
    approved: bool = True


class EndGraduationPublicity(TenancyCommand):
    """The graduation's 公示 is over (the sweep's): the graduation exit begins."""


class HandOver(TenancyCommand):
    checklist: dict[str, bool] = field(default_factory=dict)
    arrears_yuan: int = 0
    damage_yuan: int = 0


class EscalateVacating(TenancyCommand):
    pass


# ---- operations: what operators and the scheduler change outside a tenancy's lifecycle ------
class RecordBenefit(TenancyCommand):
    """A benefit granted to a resident firm (clawed back on exit as the rulebook says)."""

    kind: str  # rent_free | rent_reduction | subsidy
    amount_yuan: str
    granted_on: date
    commitment_months: int = 0


class DecideCycle(Command):
    """Decide a space's review cycle at once, with the grade cap across the cohort."""

    space: str
    period: int
    vetoes: dict[int, tuple[str, ...]] = field(default_factory=dict)  # tenancy id -> codes


class RetryDeadlines(Command):
    """Put failed deadlines back in the queue (the next sweep takes them)."""

    ids: tuple[int, ...] = ()
    all_failed: bool = False


class RetryNotices(Command):
    """Make dead (or waiting) outbox rows due now with a fresh attempt budget."""

    ids: tuple[int, ...] = ()
    all_dead: bool = False


class MarkInboxRead(Command):
    """Mark in-app inbox items read (only a firm's own when ``firm_id`` is given)."""

    item_ids: tuple[int, ...]
    firm_id: int | None = None


class SaveTemplate(Command):
    """Validate and store the next revision of an operator's message template override."""

    name: str
    locale: str
    part: str  # subject | text | html
    source: str
    author: str = "operator"
