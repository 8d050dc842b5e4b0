"""Quarterly light reports: the handler that files one (the rules are
``workflows.quarterly_rules``; the sweep that plans each quarter is
``workflows.quarterly_sweep``)."""

from __future__ import annotations

from db.quarterly import quarter_key
from lifecycle import rulebook as rbook
from lifecycle.table import OCCUPYING_STATES
from workflows import quarterly_rules, rules
from workflows.commands import SubmitQuarterlyReport
from workflows.core import Step, Work


def submit_quarterly_report(w: Work, cmd: SubmitQuarterlyReport) -> Step:
    tenancy = w.load_for(cmd, quarterly_rules.SUBMIT, OCCUPYING_STATES)
    year, quarter = quarterly_rules.check_quarter(cmd.year, cmd.quarter, w.today)
    rb = rules.for_tenancy(w, tenancy)
    existing = w.uow.quarterly.report(tenancy.id, year, quarter)
    due = rbook.quarterly_report_due(rb, w.calendar, year=year, quarter=quarter)
    subject = quarter_key(year, quarter)
    pending = [
        d.id
        for kind in quarterly_rules.QUARTERLY_DEADLINES
        for d in w.uow.queues.pending_of_kind(tenancy.id, kind)
        if d.subject_id == subject
    ]
    return w.decide(
        tenancy,
        quarterly_rules.submit,
        rb,
        w.calendar,
        existing,
        year=year,
        quarter=quarter,
        figures=cmd.figures,
        due=due,
        pending=pending,
        actor=cmd.actor,
        reason=cmd.reason,
    )
