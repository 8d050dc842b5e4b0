"""What the console's cycle board and the portal's figures form write: reminders to the firms
that have not reported, the board's jobs (opening or deciding a cycle outside the request),
and a firm's draft figures.

**Jobs.** Deciding a large cohort takes longer than a request may. The board asks for it with
:class:`StartCycleJob` (a ``cycle_jobs`` row, queued) and a runner thread (started by the page,
:func:`run_cycle_job`) takes it: :class:`ClaimCycleJob` marks it running with a lease, then

* ``decide``: :class:`RunCycleDecision` runs the existing :class:`~workflows.commands.DecideCycle`
  handler and marks the job done *in the same transaction* — the cohort is decided and the job
  records it together, or neither happens;
* ``open``: :func:`workflows.cycles.open_cycle` (chunked, resumable) with each chunk's progress
  recorded, then the job is marked done.

The row is the durable state: after a restart the board finds the job queued, or running with
its lease passed, and starts a runner again; both kinds are idempotent (a decided review is not
decided again, an opened one not opened again), so a rerun finishes the work without doing any
of it twice.
"""

from __future__ import annotations

import logging
from dataclasses import field
from typing import Any

from db.effects import TenancyRow
from db.pages import CycleJobRow
from lifecycle.errors import Conflict, InnospaceError, InvalidInput, NotFound, review_not_found
from lifecycle.table import UNDER_REVIEW
from workflows import decisions, operations, page_rules, reviews
from workflows.commands import Command, DecideCycle, TenancyCommand
from workflows.core import Work
from workflows.service import Service

log = logging.getLogger("innospace.cycle_jobs")

JOB_KINDS = ("open", "decide")
LEASE = page_rules.LEASE
DRAFT_FIELDS_MAX = 200
DRAFT_VALUE_MAX = 100


# ---- reminders ------------------------------------------------------------------------------
class RemindCycle(Command):
    """Remind every firm of the space whose ``period`` figures are not in (open or overdue)."""

    space: str
    period: int


reminder_key = page_rules.reminder_key


def remind_cycle(w: Work, cmd: RemindCycle) -> dict[str, int]:
    decisions.check_period(w, cmd.period)
    space = w.space_row(cmd.space)
    members = decisions.cohort(w, space.id, cmd.period)
    key = reminder_key(cmd.period, w.today.isoformat())
    queued = already = 0
    with w.deferred():  # load many, decide each, write many
        for m in members:
            if m.status not in ("open", "overdue"):
                continue
            if w.uow.queues.notice_queued(f"review_reminder:firm:{m.tenancy_id}:{key}"):
                already += 1
                continue
            w.decide(m.tenancy, page_rules.remind, cmd.period, m.review.due_on, w.calendar)
            queued += 1
    return {"queued": queued, "already": already}


# ---- jobs -----------------------------------------------------------------------------------
class StartCycleJob(Command):
    """Ask for a cycle to be opened or decided outside the request; ``{"job_id": id}``. A job of the
    same kind still queued or running for the space and period is returned instead."""

    space: str
    period: int
    kind: str


class ClaimCycleJob(Command):
    job_id: int


class ReportCycleJob(Command):
    job_id: int
    done: int
    total: int


class FinishCycleJob(Command):
    job_id: int
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class RunCycleDecision(Command):
    """Decide the job's cycle (the ``DecideCycle`` handler) and mark the job done, at once."""

    job_id: int


def start_cycle_job(w: Work, cmd: StartCycleJob) -> dict[str, int]:
    if cmd.kind not in JOB_KINDS:
        raise InvalidInput("kind", "must be open or decide", cmd.kind)
    if cmd.kind == "open":
        reviews.check_period_ended(cmd.period, w.today)
    decisions.check_period(w, cmd.period)
    space = w.space_row(cmd.space)
    live = w.uow.pages.live_cycle_job(space.id, cmd.period, cmd.kind)
    if live is not None:
        return {"job_id": live}
    rows, job = page_rules.new_cycle_job(space.id, cmd.period, cmd.kind, actor=cmd.actor, now=w.now)
    w.apply_rows(rows)
    assert job.id is not None
    return {"job_id": job.id}


def _job(w: Work, job_id: int, *, lock: bool = False) -> CycleJobRow:
    job = w.uow.pages.cycle_job(job_id, lock=lock)
    if job is None:
        raise NotFound("cycle job", job_id)
    return job


def claim_cycle_job(w: Work, cmd: ClaimCycleJob) -> bool:
    """Whether this runner got the job: queued, or running with a lapsed lease."""
    rows = page_rules.claim_cycle_job(_job(w, cmd.job_id, lock=True), w.now)
    if rows is None:
        return False
    w.apply_rows(rows)
    return True


def report_cycle_job(w: Work, cmd: ReportCycleJob) -> None:
    job = _job(w, cmd.job_id, lock=True)
    w.apply_rows(page_rules.report_cycle_job(job, cmd.done, cmd.total, w.now))


def finish_cycle_job(w: Work, cmd: FinishCycleJob) -> None:
    job = _job(w, cmd.job_id, lock=True)
    w.apply_rows(page_rules.finish_cycle_job(job, cmd.result, cmd.error, w.now))


def run_cycle_decision(w: Work, cmd: RunCycleDecision) -> dict[str, Any]:
    job = _job(w, cmd.job_id, lock=True)
    if job.status in page_rules.ENDED:
        return dict(job.result)
    space_code = _space_code(w, space_id=job.space_id)
    decided = operations.decide_cycle(
        w,
        DecideCycle(
            space=space_code, period=job.period, actor=job.requested_by, reason="审核看板集中评定"
        ),
    )
    summary = decision_summary(decided)
    w.apply_rows(page_rules.cycle_decided(job, summary, len(decided["decided"]), w.now))
    return summary


def decision_summary(result: dict[str, Any]) -> dict[str, Any]:
    """What the board shows of a decided cycle (the whole result stays in the audit log)."""
    grades: dict[str, int] = {}
    for d in result["decided"]:
        grades[d["grade"]] = grades.get(d["grade"], 0) + 1
    return {
        "decided": len(result["decided"]),
        "already_decided": len(result["already_decided"]),
        "not_reviewable": len(result["not_reviewable"]),
        "demoted": sum(1 for d in result["decided"] if d["demoted"]),
        "grades": dict(sorted(grades.items())),
        "cap": result["cap"],
        "cohort": result["cohort"],
    }


def run_cycle_job(service: Service, job_id: int) -> None:
    """Run one job to its end (a thread of the web app); nothing if another runner has it."""
    if not service.handle(ClaimCycleJob(job_id=job_id, actor="system")):
        return
    job: CycleJobRow = service.query(cycle_job_row, job_id=job_id)
    try:
        if job.kind == "decide":
            service.handle(RunCycleDecision(job_id=job_id, actor="system"))
            return
        from workflows.cycles import open_cycle

        code: str = service.query(_space_code, space_id=job.space_id)
        done = 0

        def progress(advance: int, total: int) -> None:
            nonlocal done
            done += advance
            service.handle(ReportCycleJob(job_id=job_id, done=done, total=total, actor="system"))

        report = open_cycle(service, code, job.period, progress=progress)
        service.handle(
            FinishCycleJob(
                job_id=job_id,
                actor="system",
                result={
                    "opened": report.opened,
                    "already_open": report.already_open,
                    "not_started": report.not_started,
                    "failed": len(report.failed),
                },
                error=(f"{len(report.failed)} 家未能启动 / {len(report.failed)} not opened")
                if report.failed
                else None,
            )
        )
    except InnospaceError as err:
        log.warning("cycle job %d failed: %s", job_id, err.message)
        message = (
            err.message if " / " in err.message else f"处理失败（{err.message}） / {err.message}"
        )
        service.handle(FinishCycleJob(job_id=job_id, actor="system", error=message[:2000]))
    except Exception:
        log.exception("cycle job %d failed", job_id)
        service.handle(
            FinishCycleJob(job_id=job_id, actor="system", error="内部错误 / internal error")
        )


def cycle_job_row(w: Work, *, job_id: int) -> CycleJobRow:
    return _job(w, job_id)


def _space_code(w: Work, *, space_id: int) -> str:
    code = w.uow.pages.space_code(space_id)
    if code is None:
        raise NotFound("space", space_id)
    return code


# ---- a firm's draft figures -----------------------------------------------------------------
def review_still_open(w: Work, tenancy_id: int, period: int, closed: str) -> TenancyRow:
    """The tenancy, while its ``period`` review takes figures: NotFound without the review,
    Conflict (saying ``closed``) once it is decided or the tenancy has left review."""
    tenancy = w.tenancy(tenancy_id, lock=False)
    review = w.uow.reviews.get(tenancy_id, period)
    if review is None:
        raise review_not_found(period, tenancy_id=tenancy_id)
    if review.status == "decided" or tenancy.state != UNDER_REVIEW:
        raise Conflict(closed, tenancy_id=tenancy_id, period=period)
    return tenancy


class SaveFigureDraft(TenancyCommand):
    """Keep the figures form of the tenancy's ``period`` review as typed (not checked)."""

    period: int
    values: dict[str, str] = field(default_factory=dict)


def save_figure_draft(w: Work, cmd: SaveFigureDraft) -> None:
    if len(cmd.values) > DRAFT_FIELDS_MAX:
        raise InvalidInput("values", f"at most {DRAFT_FIELDS_MAX} fields")
    for name, value in cmd.values.items():
        if len(name) > 64 or len(value) > DRAFT_VALUE_MAX:
            raise InvalidInput(
                name, f"最多 {DRAFT_VALUE_MAX} 个字符 / at most {DRAFT_VALUE_MAX} characters"
            )
    review_still_open(
        w,
        cmd.tenancy_id,
        cmd.period,
        f"{cmd.period} 年度考核已评定或已结束，不能再保存草稿 / the {cmd.period} review is "
        "closed; drafts can no longer be saved",
    )
    draft = w.uow.pages.figure_draft(cmd.tenancy_id, cmd.period)
    w.apply_rows(
        page_rules.figure_draft(
            draft, cmd.tenancy_id, cmd.period, cmd.values, actor=cmd.actor, now=w.now
        )
    )
