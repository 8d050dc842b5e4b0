"""Review cycles per space, opened from the rulebook's calendar, and each space's operators'
daily digest.

Opening a cycle is the single ``OpenReview`` handler applied to every eligible tenancy, so a
tenancy opened by the cycle carries exactly what an operator's ``review open`` writes (state,
version, audit event, review row, submission and reminder deadlines, the "review_opened"
notice). Tenancies are taken in id order, ``chunk`` per transaction: each is decided, then
the chunk's effects are written together (``Work.deferred``):

* crash-safe: a chunk commits whole or not at all; a rerun finds what is still unopened;
* idempotent: a tenancy that already has the period's review is not selected (and if a
  concurrent run opened it meanwhile, the handler refuses and only its decision is dropped);
* one bad tenancy (a rule refusing it) is reported and skipped, not fatal to its chunk; a
  chunk whose writing is refused is opened again a tenancy per transaction.

Catch-up comes from the data: :func:`open_due_cycles` asks, per space, "has the opening day
of this year passed, and are there active tenancies without last year's review?", so a cycle
that should have opened while the scheduler was down opens the next time it runs.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, cast

from db.cohorts import DigestCounts, Waiting
from db.effects import Rows
from db.registry import SpaceRow
from lifecycle import rulebook as rbook
from lifecycle.errors import (
    AlreadyExists,
    CalendarError,
    InnospaceError,
    InvalidInput,
    ScheduleNotPublished,
    TransitionNotAllowed,
)
from lifecycle.table import ACTIVE, PHASE, Phase
from workflows import rules
from workflows.commands import OpenReview
from workflows.core import Work
from workflows.reports import report_dict
from workflows.reviews import CYCLE_REASON as OPEN_REASON
from workflows.reviews import SYSTEM, check_period_ended
from workflows.service import Service

log = logging.getLogger("innospace.cycles")
Stop = Callable[[], bool]
# progress(advance, total): called once with (0, total) before the first chunk, then per chunk
Progress = Callable[[int, int], None]
DIGEST_ITEMS_MAX = 100


@dataclass
class CycleReport:
    space: str
    period: int
    eligible: int = 0  # active, started by the end of the period, no review yet (at start)
    opened: int = 0
    already_open: int = 0  # had the period's review
    not_started: int = 0  # active, but the term started after the period
    skipped_by_state: Counter[str] = field(default_factory=Counter)  # residency/exit, not active
    failed: dict[int, str] = field(default_factory=dict)
    chunks: int = 0
    seconds: float = 0.0
    stopped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return report_dict(self)


def _survey(w: Work, space_id: int, period: int, report: CycleReport) -> None:
    """Count what the cycle will and will not touch (for the report and the progress bar)."""
    survey = w.uow.cohorts.cycle_survey(space_id, period)
    report.already_open = survey.already_open
    for state, n in survey.by_state.items():
        if state != ACTIVE and PHASE[state] in (Phase.RESIDENCY, Phase.EXIT):
            report.skipped_by_state[state] = n
    report.not_started = survey.not_started
    report.eligible = survey.eligible


@dataclass
class _Opened:
    """What opening one chunk did (added to the report once it is committed)."""

    opened: int = 0
    already_open: int = 0
    failed: dict[int, str] = field(default_factory=dict)

    def refused(self, space: str, period: int, tenancy_id: int, err: InnospaceError) -> None:
        if isinstance(err, (AlreadyExists, TransitionNotAllowed)):
            self.already_open += 1  # opened or moved on by someone else since the selection
            return
        self.failed[tenancy_id] = err.message
        log.error(
            "review cycle %s %d: tenancy %d not opened: %s", space, period, tenancy_id, err.message
        )

    def add(self, other: _Opened) -> None:
        self.opened += other.opened
        self.already_open += other.already_open
        self.failed.update(other.failed)


def _open_chunk(w: Work, *, service: Service, ids: list[int], period: int, space: str) -> _Opened:
    """Decide the opening of each tenancy of ``ids`` (a refusal is counted and what it had
    decided dropped), then write what was decided, together."""
    done = _Opened()
    with w.deferred() as pending:
        for tenancy_id in ids:
            mark = len(pending)
            try:
                service.dispatch(
                    w,
                    OpenReview(
                        tenancy_id=tenancy_id, period=period, actor=SYSTEM, reason=OPEN_REASON
                    ),
                )
                done.opened += 1
            except InnospaceError as err:
                w.discard(pending, mark)
                done.refused(space, period, tenancy_id, err)
    return done


def _open_ids(service: Service, ids: list[int], period: int, space: str) -> _Opened:
    """Open a chunk in one transaction. Should writing what was decided be refused (a row
    written by someone else since it was read), the chunk again, a tenancy a transaction,
    so that only the one refused is left out."""
    try:
        return cast(
            _Opened,
            service.run(partial(_open_chunk, service=service, ids=ids, period=period, space=space)),
        )
    except InnospaceError as err:
        if len(ids) == 1:
            refused = _Opened()
            refused.refused(space, period, ids[0], err)
            return refused
    done = _Opened()
    for tenancy_id in ids:
        done.add(_open_ids(service, [tenancy_id], period, space))
    return done


def open_cycle(
    service: Service,
    space_code: str,
    period: int,
    *,
    chunk: int = 500,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> CycleReport:
    """Open the ``period`` review of every eligible tenancy of a space (see the module doc)."""
    started = time.perf_counter()
    if chunk < 1:
        raise InvalidInput("chunk", "must be at least 1", chunk)

    def prepare(w: Work) -> tuple[int, CycleReport]:
        space = w.space_row(space_code)
        check_period_ended(period, w.today)
        # Fail fast on the calendar (an unpublished year, a rule the month cannot satisfy)
        # rather than once per tenancy.
        rbook.review_due_on(rules.for_space(w, space), w.calendar, opened_on=w.today)
        report = CycleReport(space.code, period)
        _survey(w, space.id, period, report)
        return space.id, report

    space_id, report = cast(tuple[int, CycleReport], service.read(prepare))
    if report.eligible >= BATCH_THRESHOLD:
        _open_in_batches(service, space_code, period, report, progress, stop)
    if progress:
        progress(0, report.eligible - report.opened)
    last_id = 0

    def next_chunk(w: Work) -> list[int]:
        return w.uow.cohorts.cycle_candidates(space_id, period, after=last_id, limit=chunk)

    while True:
        if stop and stop():
            report.stopped = True
            break
        ids: list[int] = service.read(next_chunk)
        if not ids:
            break
        done = _open_ids(service, ids, period, report.space)
        report.opened += done.opened
        report.already_open += done.already_open
        report.failed.update(done.failed)
        report.chunks += 1
        last_id = ids[-1]
        if progress:
            progress(len(ids), report.eligible)
    report.seconds = time.perf_counter() - started
    log.info(
        "review cycle %s %d: opened=%d already_open=%d not_started=%d skipped=%s "
        "failed=%d in %.3fs%s",
        report.space,
        period,
        report.opened,
        report.already_open,
        report.not_started,
        dict(report.skipped_by_state) or "{}",
        len(report.failed),
        report.seconds,
        " (stopped)" if report.stopped else "",
    )
    return report


# From this many tenancies on, a cycle opens through the Core batch path (workflows.batch),
# which writes exactly what OpenReview writes (tests/integration/test_batch_equivalence.py)
# at a fraction of the cost; the per-tenancy loop then only sees what the batch left.
BATCH_THRESHOLD = 1000


def _open_in_batches(
    service: Service,
    space_code: str,
    period: int,
    report: CycleReport,
    progress: Progress | None,
    stop: Stop | None,
) -> None:
    from workflows.batch import open_cycle_batch  # noqa: PLC0415 - only for large cohorts

    calendar = service.read(lambda w: w.calendar)
    try:
        done = open_cycle_batch(
            service.engine,
            service.clock,
            calendar,
            space_code=space_code,
            period=period,
            progress=progress,
            stop=stop,
            fence=service.fence,
        )
    except InnospaceError as err:  # a stale chunk, a refused rule: fall back, tenancy by tenancy
        log.warning(
            "batch opening of %s %d fell back to per-tenancy: %s", space_code, period, err.message
        )
        return
    report.opened += done.written
    report.chunks += done.chunks
    report.stopped = done.stopped


def due_cycles(service: Service) -> list[tuple[str, int]]:
    """(space, period) pairs whose opening day has passed with eligible tenancies unopened.

    A space whose calendar cannot say when this year's window opens (an unpublished year, a
    rule the month cannot satisfy) is logged and skipped: flagged, never guessed.
    """

    def q(w: Work) -> list[tuple[str, int]]:
        due: list[tuple[str, int]] = []
        for space in w.uow.cohorts.spaces():
            try:
                opens = rbook.review_opens_on(rules.for_space(w, space), w.calendar, w.today.year)
            except CalendarError as err:
                log.warning(
                    "review cycle %s: cannot tell when the %d window opens: %s",
                    space.code,
                    w.today.year,
                    err.message,
                )
                continue
            period = w.today.year - 1
            if w.today >= opens and w.uow.cohorts.cycle_candidates(space.id, period, limit=1):
                due.append((space.code, period))
        return due

    return service.read(q)  # type: ignore[no-any-return]


def open_due_cycles(
    service: Service, *, chunk: int = 500, stop: Stop | None = None
) -> list[CycleReport]:
    """Open every cycle that is due now (the scheduler's hourly job and ``tick``)."""
    reports: list[CycleReport] = []
    for space_code, period in due_cycles(service):
        if stop and stop():
            break
        try:
            reports.append(open_cycle(service, space_code, period, chunk=chunk, stop=stop))
        except (ScheduleNotPublished, CalendarError) as err:
            log.warning("review cycle %s %d not opened: %s", space_code, period, err.message)
    return reports


# ---- operators' daily digests -------------------------------------------------------------
# One a space a day when something waits there, to that space's operators (a space with
# nothing waiting gets none). An account sees the digests of its spaces only (``queries_ops``:
# a digest's outbox row names its space), so an operator granted one space never reads
# another space's firms or decisions.
def digest_key(space: str, day: date) -> str:
    """The dedupe key of space ``space``'s (its code) digest for ``day``."""
    return f"operator_digest:operators:{space}:{day.isoformat()}"


def _item(title: str, tenancy_id: int | None, due_on: date | None) -> dict[str, Any]:
    item: dict[str, Any] = {"title": title}
    if tenancy_id is not None:
        item["tenancy_id"] = tenancy_id
    if due_on is not None:
        item["due_on"] = due_on.isoformat()
    return item


# Open cases whose window has passed while the tenancy still waits in their state: (the kind
# of case, as ``db.cohorts.CoreCohorts.cases_overdue`` names it, the item's title).
_OVERDUE_CASES = (
    ("rectification", "整改期满，待复查"),
    ("objection", "陈述申辩期满，待作出退出决定"),
    ("vacating", "逾期未腾退"),
)


def digest_queued(w: Work, key: str) -> bool:
    """Whether an operators' digest (or a notice like one) was queued under ``key``."""
    return w.uow.queues.notice_queued(key)


def operator_digest(
    key: str, locale: str, context: dict[str, Any], now: datetime, *, space_id: int | None = None
) -> Rows:
    """The outbox row of an ``operator_digest`` notice to the operators, keyed ``key``: of
    space ``space_id`` (None: about no space, such as the audit checkpoint, shown only to
    an account that sees every space)."""
    rows = Rows()
    rows.insert(
        "outbox",
        dedupe_key=key,
        message="operator_digest",
        audience="operators",
        space_id=space_id,
        locale=locale,
        context=context,
        next_attempt_at=now,
        created_at=now,
    )
    return rows


def queue_operator_digest(
    w: Work, key: str, locale: str, context: dict[str, Any], *, space_id: int | None = None
) -> None:
    """Queue an ``operator_digest`` notice to the operators under dedupe key ``key`` (of
    space ``space_id``, or about no space)."""
    w.apply_rows(operator_digest(key, locale, context, w.now, space_id=space_id))


def _who(row: Waiting) -> str:
    return f"[{row.space}] {row.firm}"


@dataclass
class Digest:
    """A space's digest for a day: its counts and items (``context`` is the notice's)."""

    space: SpaceRow
    counts: dict[str, int]
    items: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        """Nothing for the space's operators: no item and every count 0 (then no digest is
        sent: an empty notice every day teaches operators to ignore the digest)."""
        return not self.items and not any(self.counts.values())

    def context(self, day: date) -> dict[str, Any]:
        return {
            "sent_on": day.isoformat(),
            "space": {"code": self.space.code, "name": self.space.name},
            "counts": self.counts,
            "items": self.items,
        }


def digest_content(w: Work, day: date) -> list[Digest]:
    """What needs each space's operators today: decisions waiting, overdue reviews, failed
    deadlines; one digest per space, by space id."""
    cohorts = w.uow.cohorts
    waiting: dict[str, list[dict[str, Any]]] = {}

    def add(row: Waiting, title: str) -> None:
        waiting.setdefault(row.space, []).append(_item(title, row.tenancy_id, row.due_on))

    for row in cohorts.reviews_submitted():
        add(row, f"{_who(row)}：{row.period}年度考核数据已报送，待评定")
    for kind, title in _OVERDUE_CASES:
        for row in cohorts.cases_overdue(kind, day):
            add(row, f"{_who(row)}：{title}")
    for row in cohorts.publicity_ended():
        add(row, f"{_who(row)}：公示期满，异议待裁决后确认准入")
    for row in cohorts.deadlines_failed():
        error = str(row.payload.get("error", ""))[:200]
        add(row, f"{_who(row)}：期限「{row.kind}」自动处理失败：{error}")
    found = cohorts.digest_counts(day)
    unpublished = next_year_unpublished(w, day)
    digests: list[Digest] = []
    for space in cohorts.spaces():
        items = waiting.get(space.code, [])
        of_space = found.get(space.id) or DigestCounts()
        counts = {
            "due_today": of_space.due_today,
            "pending_decisions": len(items),
            "overdue_reviews": of_space.overdue_reviews,
            "dead_messages": of_space.dead_messages,
        }
        if unpublished is not None:
            items = [unpublished(space), *items]
        digests.append(Digest(space, counts, items[:DIGEST_ITEMS_MAX]))
    return digests


def next_year_unpublished(w: Work, day: date) -> Callable[[SpaceRow], dict[str, Any]] | None:
    """From 1 December: the warning, for each space's digest, that next year's holiday
    schedule is not published yet, naming what it will block there (January's review cycle,
    the space's deadlines already due in it)."""
    year = day.year + 1
    if day.month != 12 or w.calendar.is_published(year):
        return None
    pending = w.uow.cohorts.deadlines_pending_from(date(year, 1, 1))

    def warning(space: SpaceRow) -> dict[str, Any]:
        computed = pending.get(space.id, 0)
        title = (
            f"{year} 年放假调休安排尚未录入：将阻断 {year} 年 1 月的年度考核周期（空间 "
            f"{space.code}），以及本空间已计入 {year} 年的 {computed} 个期限；请用 "
            f"`innospace calendar import 文件 --complete` 录入全年安排，或录入后运行 "
            f"`innospace calendar publish {year}` / the {year} holiday schedule is not "
            f"published: it blocks January's review cycle of {space.code} and the {computed} "
            f"deadlines of the space already computed into {year}"
        )
        return {"title": title, "due_on": date(year, 1, 1).isoformat()}

    return warning


def send_digest(service: Service, day: date, *, locale: str = "zh-CN") -> dict[str, Any] | None:
    """Queue each space's operators' digest for ``day`` once (dedupe key per space and day),
    in one transaction, for the spaces with something to report only (a space with nothing
    waiting gets no notice and no e-mail); None if no digest was queued (every space's was
    queued already, or none had anything to report)."""

    def send(w: Work) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        for digest in digest_content(w, day):
            if digest.empty:
                continue
            key = digest_key(digest.space.code, day)
            if digest_queued(w, key):
                continue
            context = digest.context(day)
            queue_operator_digest(w, key, locale, context, space_id=digest.space.id)
            sent.append(
                {"space": digest.space.code, "counts": digest.counts, "items": len(digest.items)}
            )
        return sent

    try:
        sent: list[dict[str, Any]] = service.run(send)
    except AlreadyExists:  # a concurrent sender won the race: the day's digests exist
        return None
    if not sent:
        return None
    return {"sent_on": day.isoformat(), "items": sum(d["items"] for d in sent), "digests": sent}
