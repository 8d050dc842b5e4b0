"""What a deadline's sweep action decides, as data: the reminders and warnings it sends and
the later deadlines it plans (``workflows.sweeps`` loads, calls one, writes the effects once).

Every notice a sweep sends is keyed by its deadline's dedupe key, so a deadline handled again
after a crash tells no one twice. Steps that change a tenancy's state are commands, which the
sweep runs through their handlers after these effects are written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from db.effects import DeadlineOptions, Effects
from db.repositories import ReviewRow
from lifecycle.calendar import WorkCalendar
from lifecycle.rulebook.model_review import Reminders

# rulebook `review.reminders.escalate_to` -> outbox audience
ESCALATION_AUDIENCE = {"account_manager": "manager", "manager": "manager", "operators": "operators"}


def submission_overdue(
    e: Effects,
    calendar: WorkCalendar,
    reminders: Reminders,
    review: ReviewRow,
    *,
    deadline_due_on: date,
) -> bool:
    """A review's submission deadline passed without data: the firm is told, and the
    rulebook's after-due reminders are planned (the last one escalated as it says). True when
    the rulebook plans none: no data means the grade now."""
    review_id = review.id
    after = list(reminders.after_workdays)
    for index, offset in enumerate(after):
        on = calendar.add_working_days(deadline_due_on, offset)
        reminder: DeadlineOptions = {
            "subject": review_id,
            "key": f"{review_id}:+{offset}",
            "payload": {
                "offset": offset,
                "index": index,
                "final": index == len(after) - 1,
                "escalate": index >= reminders.escalate_from_after_index,
                "escalate_to": reminders.escalate_to,
            },
        }
        e.deadline("review_overdue_reminder", on, calendar.due_instant(on), **reminder)
    e.notify(
        "review_overdue",
        context={"period": review.period, "due_on": review.due_on},
        key=str(review.period),
    )
    return not after


def overdue_reminder(
    e: Effects, review: ReviewRow, payload: Mapping[str, Any], *, key: str
) -> bool:
    """An after-due reminder to the firm; from the rulebook's escalation index on, to the
    account manager (or whom the rulebook names) too. True when it was the last one: the
    review is then graded without data (missing data -> D)."""
    final = bool(payload.get("final"))
    context = {"period": review.period, "due_on": review.due_on, "offset": payload.get("offset")}
    e.notify("review_reminder", context=context, key=key)
    if payload.get("escalate", final):
        audience = ESCALATION_AUDIENCE.get(str(payload.get("escalate_to")), "manager")
        e.notify("review_overdue", context=context, audience=audience, key=key)
    return final
