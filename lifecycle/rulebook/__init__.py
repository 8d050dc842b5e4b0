"""The rulebook: data (a TOML file validated into :class:`Rulebook`) and its evaluation.

Everything here is pure: text in, decisions out, each decision with a :class:`Trace` that
records the rule, the figures, the threshold and the result under ``Rulebook.version``.
"""

from lifecycle.rulebook._base import jsonable
from lifecycle.rulebook.admission import (
    ApplicationProfile,
    ReviewerScoreInput,
    ScoringDecision,
    evaluate_hard_requirements,
    objection_acceptable,
    reviewer_total,
    score_application,
)
from lifecycle.rulebook.describe import describe
from lifecycle.rulebook.exits import (
    Benefit,
    SettlementDecision,
    check_benefit,
    clawback_mode,
    cure_period,
    exit_trigger,
    handling_period,
    reapply_bar,
    settle,
    settlement,
    skips_objection_window,
    trigger,
    vacate_period,
)
from lifecycle.rulebook.graduation import graduation_eligibility
from lifecycle.rulebook.model import (
    Admission,
    HardRequirement,
    Periods,
    Rulebook,
    Term,
    Track,
)
from lifecycle.rulebook.model_exit import EXIT_TYPES, REQUIRED_TRIGGER_CODES, ForcedExitTrigger
from lifecycle.rulebook.model_review import Consequence, Grade, Metric
from lifecycle.rulebook.parse import parse_rulebook
from lifecycle.rulebook.review import (
    FACT_RULE,
    FACT_RULE_EN,
    FACT_RULE_ZH,
    FIGURE_BOUND_RULE,
    MAX_FIGURE,
    ReviewDecision,
    apply_grade_cap,
    consequence_for,
    grade_cap_allowance,
    grade_for_score,
    score_review,
    validate_figures,
)
from lifecycle.rulebook.schedule import (
    Due,
    WorkdayCalendar,
    quarterly_report_due,
    quarterly_report_due_on,
    review_due_on,
    review_opens_on,
)
from lifecycle.rulebook.term import (
    cap_end,
    check_area,
    check_extension,
    check_lease,
    lease_decision,
)
from lifecycle.rulebook.trace import Decision, RuleRef, Trace, TraceStep

__all__ = [
    "EXIT_TYPES",
    "REQUIRED_TRIGGER_CODES",
    "Admission",
    "ApplicationProfile",
    "Benefit",
    "Consequence",
    "Decision",
    "Due",
    "ForcedExitTrigger",
    "Grade",
    "HardRequirement",
    "Metric",
    "Periods",
    "ReviewDecision",
    "ReviewerScoreInput",
    "RuleRef",
    "Rulebook",
    "ScoringDecision",
    "SettlementDecision",
    "Term",
    "Trace",
    "WorkdayCalendar",
    "TraceStep",
    "Track",
    "apply_grade_cap",
    "cap_end",
    "check_area",
    "check_benefit",
    "check_extension",
    "check_lease",
    "clawback_mode",
    "consequence_for",
    "cure_period",
    "describe",
    "evaluate_hard_requirements",
    "exit_trigger",
    "grade_cap_allowance",
    "grade_for_score",
    "graduation_eligibility",
    "handling_period",
    "jsonable",
    "lease_decision",
    "objection_acceptable",
    "parse_rulebook",
    "quarterly_report_due",
    "quarterly_report_due_on",
    "reapply_bar",
    "review_due_on",
    "review_opens_on",
    "reviewer_total",
    "score_application",
    "score_review",
    "settle",
    "settlement",
    "skips_objection_window",
    "trigger",
    "vacate_period",
    "validate_figures",
    "FACT_RULE",
    "FACT_RULE_EN",
    "FACT_RULE_ZH",
    "FIGURE_BOUND_RULE",
    "MAX_FIGURE",
]
