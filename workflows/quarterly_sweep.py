"""The quarter's light reports planned and enforced by the daily sweep (RULEBOOK §3).

Each pass of the deadline sweep first plans the quarter just ended for every tenancy whose term
covers some day of it and whose firm still occupies its unit (``OCCUPYING_STATES``: resident
or on its way out, until the handover): three deadlines per tenancy, keyed by tenancy and
quarter (``kind:tenancy:2026Q3``), so planning twice adds nothing —

* ``quarterly_report_open`` — the day after the quarter ends: the firm is told the quarter is
  open for reporting and by when;
* ``quarterly_report_reminder`` — the rulebook's nearest ``review.reminders.before_workdays``
  before the due date: the firm is reminded, if it has not filed;
* ``quarterly_report_due`` — the due date (``quarterly_report_due_on``, per the working-day
  calendar): the space's operators are told of a report still missing.

Planning reads the tenancies still to plan a chunk at a time (id order, one query and one
multi-row insert per chunk: no query per tenancy) and needs no tenancy loaded: the due date
depends only on the rulebook, parsed once per version. The deadlines are then handled by
:func:`workflows.sweeps.sweep_deadlines` like any other, each once; a filing cancels its
quarter's pending ones, the exit's handover cancels them all, and an action that finds the
quarter filed or the firm gone is moot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from db.effects import deadline_row
from db.quarterly import PlanRow, quarter_key
from db.queues import DeadlineRow
from lifecycle import rulebook as rbook
from lifecycle.errors import InnospaceError
from lifecycle.table import OCCUPYING_STATES
from workflows import quarterly_rules, rules
from workflows.core import Work
from workflows.service import Service

log = logging.getLogger("innospace.quarterly")
Stop = Callable[[], bool]
OPEN, REMINDER, DUE = quarterly_rules.QUARTERLY_DEADLINES


def _rows(w: Work, plan: PlanRow, year: int, quarter: int) -> list[dict[str, Any]]:
    """The quarter's three deadlines (two when the reminder would fall inside the quarter)."""
    rb = rules.by_version(w, plan.rulebook_version)
    cal = w.calendar
    due = rbook.quarterly_report_due_on(rb, cal, year=year, quarter=quarter)
    opens = quarterly_rules.opens_on(year, quarter)
    common: dict[str, Any] = {"subject": quarter_key(year, quarter), "key": f"{year}Q{quarter}"}
    payload = {"year": year, "quarter": quarter, "due_on": due}
    rows = [
        deadline_row(
            plan.tenancy_id,
            OPEN,
            opens,
            cal.reminder_instant(opens),
            now=w.now,
            payload=payload,
            **common,
        )
    ]
    before = rb.review.reminders.before_workdays
    if before:
        offset = min(before)
        on = cal.subtract_working_days(due, offset)
        if on > opens:
            rows.append(
                deadline_row(
                    plan.tenancy_id,
                    REMINDER,
                    on,
                    cal.reminder_instant(on),
                    now=w.now,
                    payload={**payload, "offset": -offset},
                    **common,
                )
            )
    rows.append(
        deadline_row(
            plan.tenancy_id, DUE, due, cal.due_instant(due), now=w.now, payload=payload, **common
        )
    )
    return rows


def plan_quarter(service: Service, *, batch: int = 500, stop: Stop | None = None) -> int:
    """Plan the quarter just ended (as of the space calendar's today) for every tenancy
    resident in it that has neither its deadlines nor its report yet; how many tenancies were
    planned. Idempotent. A rule or calendar that refuses (a year not published) is logged and
    planning waits for the next pass: it must never keep the sweep from the due deadlines."""
    year, quarter = service.read(lambda w: quarterly_rules.last_ended(w.today))
    first, last = quarterly_rules.quarter_days(year, quarter)
    after, planned = 0, 0

    def chunk(w: Work) -> tuple[int, int]:
        todo = w.uow.quarterly.to_plan(year, quarter, first, last, after, batch)
        rows = [row for plan in todo for row in _rows(w, plan, year, quarter)]
        w.uow.writer.add_deadlines(rows)
        return len(todo), todo[-1].tenancy_id if todo else after

    while not (stop and stop()):
        try:
            count, after = service.run(chunk)
        except InnospaceError as err:
            log.error("quarterly reports %dQ%d not planned: %s", year, quarter, err.message)
            break
        planned += count
        if count < batch:
            break
    if planned:
        log.info("quarterly reports %dQ%d: planned for %d tenancies", year, quarter, planned)
    return planned


# ---- the sweep's actions -----------------------------------------------------------------
def _acts(w: Work, d: DeadlineRow) -> bool:
    """The firm still occupies its unit and has not filed the deadline's quarter."""
    t = w.tenancy(d.tenancy_id)
    if t.state not in OCCUPYING_STATES:
        return False
    filed = w.uow.quarterly.report(d.tenancy_id, int(d.payload["year"]), int(d.payload["quarter"]))
    return filed is None


def _context(d: DeadlineRow) -> dict[str, Any]:
    p = d.payload
    return {"year": p["year"], "quarter": p["quarter"], "due_on": date.fromisoformat(p["due_on"])}


def notice_action(message: str, audience: str) -> Callable[[Work, DeadlineRow, Any], bool]:
    """Queue ``message`` about the deadline's quarter to ``audience`` (once: the deadline's
    key), unless the quarter is filed or the firm has left (moot)."""

    def action(w: Work, d: DeadlineRow, run: Any) -> bool:
        if not _acts(w, d):
            return False
        t = w.tenancy(d.tenancy_id)
        context = _context(d)
        if "offset" in d.payload:
            context["offset"] = d.payload["offset"]
        effects = w.effects(t)
        effects.notify(message, key=d.dedupe_key, audience=audience, context=context)
        w.apply(effects)
        return True

    return action


def due_ahead(w: Work, d: DeadlineRow) -> tuple[Any, str, str] | None:
    """A notice of the quarter's opening or a reminder is stale once the due date is past."""
    p = d.payload
    day = date.fromisoformat(p["due_on"])
    return (
        w.calendar.due_instant(day),
        f"{p['year']}年第{p['quarter']}季度数据报送截止日{day}已过",
        f"the {p['year']} Q{p['quarter']} report was due by {day}",
    )
