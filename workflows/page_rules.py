"""The page commands decided as data: what the cycle board's jobs, a firm's draft figures and
its draft application form write.

Each function here is pure: it takes what the command loaded through ``uow.pages`` (the job,
the id of a draft already saved), what the command carries and the time, and returns the
:class:`~db.effects.Rows` to write (or, for a reminder, adds the notice to the tenancy's
:class:`~db.effects.Effects`). The handlers in :mod:`workflows.cycle_pages` and
:mod:`workflows.application_drafts` load, call one of these, and hand the rows to the one
writer. None of these rows is a tenancy's: they write no audit event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from db.effects import Effects, Ref, Rows
from db.pages import CycleJobRow
from lifecycle.calendar import WorkCalendar

#: How long a runner holds a job before another may take it up (a runner that died).
LEASE = timedelta(minutes=10)
#: A job that has ended: it is not run, reported on or finished again.
ENDED = ("done", "failed")


# ---- reminders ------------------------------------------------------------------------------
def reminder_key(period: int, day: str) -> str:
    """The notice's key: one manual reminder per firm, period and day."""
    return f"{period}:manual:{day}"


def remind(effects: Effects, period: int, due_on: date | None, calendar: WorkCalendar) -> None:
    """The firm reminded today of its ``period`` figures, due ``due_on`` (``offset``: working
    days from the day they fall due, negative before it)."""
    today = effects.today
    offset = 0 if due_on is None else -calendar.working_days_between(today, due_on)
    effects.notify(
        "review_reminder",
        context={"period": period, "due_on": due_on, "offset": offset},
        key=reminder_key(period, today.isoformat()),
    )


# ---- the cycle board's jobs -----------------------------------------------------------------
def new_cycle_job(
    space_id: int, period: int, kind: str, *, actor: str, now: datetime
) -> tuple[Rows, Ref]:
    """A job of ``kind`` for the space's ``period``, queued; the Ref names its row."""
    rows = Rows()
    job = rows.insert(
        "cycle_jobs",
        space_id=space_id,
        period=period,
        kind=kind,
        status="queued",
        total=0,
        done=0,
        attempts=0,
        result={},
        error=None,
        requested_by=actor[:200],
        created_at=now,
        started_at=None,
        lease_until=None,
        finished_at=None,
    )
    return rows, job


def claim_cycle_job(job: CycleJobRow, now: datetime) -> Rows | None:
    """The job marked running with a lease, when a runner may take it (queued, or running
    with its lease passed); None when another runner has it or it has ended."""
    lapsed = job.lease_until is not None and job.lease_until <= now
    if not (job.status == "queued" or (job.status == "running" and lapsed)):
        return None
    rows = Rows()
    rows.update(
        "cycle_jobs",
        job.id,
        status="running",
        attempts=job.attempts + 1,
        started_at=now,
        lease_until=now + LEASE,
    )
    return rows


def report_cycle_job(job: CycleJobRow, done: int, total: int, now: datetime) -> Rows:
    """A running job's progress (its lease renewed); nothing for a job not running."""
    rows = Rows()
    if job.status == "running":
        rows.update("cycle_jobs", job.id, done=done, total=total, lease_until=now + LEASE)
    return rows


def finish_cycle_job(
    job: CycleJobRow, result: Mapping[str, Any], error: str | None, now: datetime
) -> Rows:
    """The job done (or failed, with ``error``); nothing for a job that has ended."""
    rows = Rows()
    if job.status in ENDED:
        return rows
    values: dict[str, Any] = {
        "status": "failed" if error else "done",
        "result": dict(result),
        "error": error,
        "finished_at": now,
        "lease_until": None,
    }
    if not error:
        values["done"] = max(job.done, job.total)
    rows.update("cycle_jobs", job.id, **values)
    return rows


def cycle_decided(
    job: CycleJobRow, summary: Mapping[str, Any], decided: int, now: datetime
) -> Rows:
    """A decide job done: the cycle was decided (``decided`` reviews) in its transaction."""
    rows = Rows()
    rows.update(
        "cycle_jobs",
        job.id,
        status="done",
        result=dict(summary),
        total=decided,
        done=decided,
        finished_at=now,
        lease_until=None,
    )
    return rows


# ---- drafts ---------------------------------------------------------------------------------
def figure_draft(
    draft_id: int | None,
    tenancy_id: int,
    period: int,
    values: Mapping[str, str],
    *,
    actor: str,
    now: datetime,
) -> Rows:
    """The review's figures form as typed: the draft saved before replaced, or a new one."""
    saved = {"values": dict(values), "saved_by": actor[:200], "saved_at": now}
    return _draft("figure_drafts", draft_id, saved, tenancy_id=tenancy_id, period=period)


def application_draft(
    draft_id: int | None,
    firm_id: int,
    fields: Mapping[str, str],
    *,
    actor: str,
    now: datetime,
) -> Rows:
    """The firm's application form as typed: its earlier draft replaced, or a new one."""
    saved = {"fields": dict(fields), "saved_at": now, "saved_by": actor[:100]}
    return _draft("application_drafts", draft_id, saved, firm_id=firm_id)


def _draft(table: str, draft_id: int | None, saved: dict[str, Any], **owner: Any) -> Rows:
    """A form's draft ``saved`` over the one before (``draft_id``), or new for ``owner``."""
    rows = Rows()
    if draft_id is None:
        rows.insert(table, **owner, **saved)
    else:
        rows.update(table, draft_id, **saved)
    return rows


def discard_application_draft(draft_id: int | None) -> Rows:
    """The firm's draft gone (its application was sent); nothing if it kept none."""
    rows = Rows()
    if draft_id is not None:
        rows.delete("application_drafts", id=draft_id)
    return rows
