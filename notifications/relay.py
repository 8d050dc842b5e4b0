"""The outbox relay: claim due rows, render and deliver outside any transaction, mark each.

Why these phases (DESIGN.md decisions 5 and 6):

1. **Claim** in one short transaction: due ``pending`` rows whose ``next_attempt_at`` has
   passed are leased (``next_attempt_at`` = now + lease, ``attempts`` + 1). The ``attempts``
   value is the lease's fencing token: every later write to the row checks it, so a relay whose
   lease was taken over writes nothing. A row whose lease is still held is never due, so no
   second relay takes it. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several relays share
   the table; on SQLite the engine's ``BEGIN IMMEDIATE`` serialises claimers. Everything
   delivery needs (addresses, template overrides) is read here.
2. **Deliver** with no transaction open. Rendering runs under limits (``notifications.limits``):
   a template that loops, recurses or grows without bound fails its own row (dead, with the
   reason; operators see it in ``outbox list --status dead`` and the daily digest's count),
   never the batch or the process. Mail goes out over one SMTP connection per batch, and
   **each e-mail is marked sent on its own**, in a short transaction (row sent + inbox item)
   committed after the server has the whole message and before the end-of-data line that makes
   it accept it (``SmtpChannel.send``'s ``commit``). A relay killed at any point therefore
   leaves every row either marked and accepted, or unmarked and discarded by the server:
   re-claimed later, it is sent once. (The one remaining window is the few microseconds
   between that commit and writing the ``.``: a kill there loses the e-mail, never doubles it;
   the inbox item is kept.) A negative reply to the end of data undoes the mark (retry/dead).
   While the batch is in flight a heartbeat thread renews the lease of its unmarked rows every
   third of the lease, so a slow server never lets a second relay take them.
3. **Mark** the rest (in-app only, no address, retry, dead) in one short transaction:
   insert-if-absent inbox items (unique ``outbox_id``) and set each row sent / retry
   (exponential backoff with jitter) / dead — only if the lease is still ours.

Webhooks and WeCom / DingTalk robots (``notifications.integrations``) ride the same rows: the
claim that first takes a notice about a tenancy queues, in its transaction, one row per
matching endpoint of the tenancy's space (audience = the endpoint's kind); those rows are
delivered over HTTP in the deliver phase, each marked sent right after its 2xx response, and
fail into the same retry / dead path. They make no inbox items.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, or_, select

from db.collection import collector_paused
from db.tables import Firm, OutboxMessage, Review, User
from lifecycle.audit import canonical_json
from lifecycle.clock import Clock
from lifecycle.errors import InvalidTemplate
from notifications import integrations as hooks
from notifications.channels import (
    Abandoned,
    ConnectionFailed,
    MessageRefused,
    ReplyLost,
    SmtpChannel,
    SmtpSettings,
    build_email,
    insert_inbox,
    insert_inbox_rows,
)
from notifications.overrides import load_overrides
from notifications.render import Overrides, RenderedMessage, Renderer

log = logging.getLogger("innospace.relay")
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
REVIEWS: Table = Review.__table__  # type: ignore[attr-defined]
SUBJECT_MAX = 300  # InboxItem.subject


@dataclass
class RelayReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    seconds: float = 0.0
    queued: int = 0  # webhook / robot deliveries queued for the notices claimed

    def add(self, other: RelayReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retried += other.retried
        self.dead += other.dead
        self.queued += other.queued

    def to_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "delivered": self.delivered,
            "retried": self.retried,
            "dead": self.dead,
            "queued": self.queued,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Job:
    """One claimed row and everything needed to deliver it without the database."""

    id: int
    dedupe_key: str
    message: str
    audience: str
    locale: str
    context: dict[str, Any]
    firm_id: int | None
    attempts: int
    to: str | None = None
    to_name: str | None = None
    note: str | None = None  # why no email goes out, recorded on a row that is still sent
    rendered: RenderedMessage | None = None
    outcome: str = "sent"  # sent | retry | dead | lost (another relay holds the row now)
    error: str | None = None
    done: bool = False  # marked already, on its own (e-mail) — the batch mark skips it
    endpoint: hooks.Endpoint | None = None  # a webhook / robot delivery's endpoint

    @property
    def integration(self) -> bool:
        """A webhook or robot delivery (no inbox item, no e-mail)."""
        return self.audience in hooks.KINDS


class Relay:
    """Delivers the outbox. Build one per process in the composition root; ``run_once`` from
    the scheduler's relay tick and from ``innospace outbox relay`` / ``tick``."""

    def __init__(
        self,
        engine: Engine,
        renderer: Renderer,
        smtp: SmtpSettings | None,
        clock: Clock,
        batch_size: int = 500,
        max_attempts: int = 8,
        base_delay_s: float = 30,
        *,
        lease: timedelta = timedelta(minutes=5),
        max_delay_s: float = 6 * 3600,
        rng: random.Random | None = None,
        http: hooks.HttpSettings | None = None,
    ) -> None:
        self.engine = engine
        self.renderer = renderer
        self.smtp = smtp
        self.clock = clock
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.lease = lease
        self.max_delay_s = max_delay_s
        self.rng = rng or random.Random()
        self.http = http or hooks.HttpSettings()
        # Test seam: called with the batch's row ids after delivery, before the batch mark.
        # Raising here is how the tests simulate a relay killed between sending and marking.
        self.after_send: Callable[[list[int]], None] | None = None
        self.renewals = 0  # lease renewals made by heartbeats (tests, diagnostics)

    # ---- public -----------------------------------------------------------------------------
    def run_once(self, now: datetime | None = None, *, max_batches: int = 1000) -> RelayReport:
        """Deliver every row due at ``now``, batch by batch (claimed rows are leased into the
        future, so the loop ends); returns the totals."""
        now = now or self.clock.now()
        total = RelayReport()
        started = time.perf_counter()
        for _ in range(max_batches):
            report = self._batch(now)
            total.add(report)
            if report.claimed < self.batch_size and not report.queued:
                break  # (deliveries just queued are due now: one more batch takes them)
        total.seconds = time.perf_counter() - started
        return total

    # ---- one batch --------------------------------------------------------------------------
    def _batch(self, now: datetime) -> RelayReport:
        started = time.perf_counter()
        with collector_paused():
            jobs, overrides, queued = self._claim(now)
        report = RelayReport(claimed=len(jobs), queued=queued)
        if jobs:
            heartbeat = _Heartbeat(self, jobs, now)
            heartbeat.start()
            try:
                with collector_paused():
                    self._deliver(jobs, overrides, now)
            finally:
                heartbeat.stop()
            if self.after_send is not None:
                self.after_send([j.id for j in jobs])
            with collector_paused():
                self._mark([j for j in jobs if not j.done], now)
            outcomes = Counter(j.outcome for j in jobs)
            report.delivered, report.retried = outcomes["sent"], outcomes["retry"]
            report.dead = outcomes["dead"]
        report.seconds = time.perf_counter() - started
        if jobs:
            log.info(
                "outbox batch: claimed=%d delivered=%d retried=%d dead=%d seconds=%.3f",
                report.claimed,
                report.delivered,
                report.retried,
                report.dead,
                report.seconds,
            )
        return report

    def _claim(self, now: datetime) -> tuple[list[_Job], Overrides, int]:
        with Session(self.engine) as session, session.begin():
            conn = session.connection()  # Core rows, not ORM objects: lean on the hot path
            c = OUTBOX.c
            due = (
                core_select(c.id)
                .where(c.status == "pending", c.next_attempt_at <= now)
                .order_by(c.next_attempt_at, c.id)
                .limit(self.batch_size)
            )
            if self.engine.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            # One statement takes the lease and reads the rows (UPDATE … RETURNING, on both
            # databases): ``attempts`` comes back counted up, this relay's fencing token.
            claimed = (
                update(OUTBOX)
                .where(c.id.in_(due.scalar_subquery()))
                .values(next_attempt_at=self.lease_until(now), attempts=c.attempts + 1)
                .returning(
                    c.id,
                    c.dedupe_key,
                    c.message,
                    c.audience,
                    c.locale,
                    c.context,
                    c.firm_id,
                    c.attempts,
                    c.tenancy_id,
                    c.created_at,
                )
            )
            # RETURNING gives no order: the batch is delivered in the order it was due.
            rows = sorted(conn.execute(claimed).all(), key=lambda r: r.id)
            if not rows:
                return [], {}, 0
            jobs = [
                _Job(
                    r.id,
                    r.dedupe_key,
                    r.message,
                    r.audience,
                    r.locale,
                    dict(r.context or {}),
                    r.firm_id,
                    r.attempts,
                )
                for r in rows
            ]
            # A notice claimed for the first time queues its webhook / robot deliveries now,
            # in this transaction (insert-if-absent: a retried notice queues nothing twice).
            queued = hooks.fan_out(conn, [r for r in rows if r.attempts == 1], now)
            notices = [j for j in jobs if not j.integration]
            if self.smtp is not None:
                self._address(session, notices, self.smtp)
            _attach_endpoints(conn, [j for j in jobs if j.integration])
            _attach_traces(conn, jobs)
            return jobs, load_overrides(session), queued

    def _address(self, session: Session, jobs: list[_Job], smtp: SmtpSettings) -> None:
        """Fill in each job's recipient from live rows (a corrected address applies on retry)."""
        firm_ids = {j.firm_id for j in jobs if j.firm_id is not None}
        firms = {f.id: f for f in session.exec(select(Firm).where(col(Firm.id).in_(firm_ids)))}
        managers = {
            firm.account_manager
            for j in jobs
            if j.audience == "manager"
            and (firm := firms.get(j.firm_id)) is not None
            and firm.account_manager
        }
        users: dict[str, str] = {}
        if managers - set(smtp.manager_addresses):
            for u in session.exec(
                select(User).where(
                    col(User.email).is_not(None),
                    or_(col(User.username).in_(managers), col(User.display_name).in_(managers)),
                )
            ):
                users.setdefault(u.username, u.email or "")
                users.setdefault(u.display_name, u.email or "")
        for j in jobs:
            firm = firms.get(j.firm_id)
            if j.audience == "firm":
                j.to = firm.contact_email if firm else None
                j.to_name = (firm.contact_name or firm.name) if firm else None
                j.note = None if j.to else "email not sent: the firm has no contact email"
            elif j.audience == "manager":
                name = firm.account_manager if firm else None
                j.to = (
                    smtp.manager_addresses.get(name or "")
                    or users.get(name or "")
                    or smtp.operators_address
                )
                j.to_name = name
                j.note = None if j.to else "email not sent: no address for the account manager"
            else:
                j.to = smtp.operators_address
                j.note = None if j.to else "email not sent: no operators_address configured"

    def lease_until(self, now: datetime) -> datetime:
        """A lease runs from the later of the pass's ``now`` and the clock: a long pass's later
        batches get a full lease too."""
        return max(now, self.clock.now()) + self.lease

    def _deliver(self, jobs: list[_Job], overrides: Overrides, now: datetime) -> None:
        for j in jobs:
            if j.outcome != "sent" or j.audience == hooks.WEBHOOK:
                continue  # failed already (no endpoint); a webhook sends data, not a message
            try:
                j.rendered = self.renderer.render(
                    j.message,
                    j.locale,
                    j.context,
                    audience=str(j.context.get("notice_audience", j.audience))
                    if j.integration
                    else j.audience,
                    overrides=overrides,
                    html=self.smtp is not None and j.to is not None,  # only e-mail needs HTML
                )
            except InvalidTemplate as err:
                j.outcome, j.error = "dead", f"template: {err.message}"
                log.warning("outbox %d dead: template: %s", j.id, err.message)
            except Exception as err:  # a bug must not stop the batch either: this row dies
                log.exception("outbox %d: rendering failed", j.id)
                j.outcome, j.error = "dead", f"rendering failed: {type(err).__name__}: {err}"
        self._deliver_http([j for j in jobs if j.integration and j.outcome == "sent"], now)
        mail = [j for j in jobs if j.rendered is not None and j.to and not j.integration]
        if not mail or self.smtp is None:
            return
        with SmtpChannel(self.smtp) as channel:
            for j in mail:
                assert j.rendered is not None and j.to is not None
                try:
                    msg = build_email(
                        self.smtp,
                        outbox_id=j.id,
                        dedupe_key=j.dedupe_key,
                        to=j.to,
                        to_name=j.to_name,
                        rendered=j.rendered,
                        now=now,
                    )
                except ValueError as err:
                    j.note = f"email not sent: bad address {j.to!r}: {err}"
                    continue
                try:
                    channel.send(msg, j.to, commit=functools.partial(self._mark_sent, j, now))
                except Abandoned:
                    j.outcome, j.done = "lost", True
                    log.warning("outbox %d: lease taken over by another relay; not sent", j.id)
                except ReplyLost as err:
                    log.warning("outbox %d: no reply to end of data, kept as sent: %s", j.id, err)
                except (MessageRefused, ConnectionFailed) as err:
                    j.error = str(err)
                    j.outcome = "dead" if j.attempts >= self.max_attempts else "retry"
                    if err.committed:
                        self._unmark(j, now)

    def _deliver_http(self, jobs: list[_Job], now: datetime) -> None:
        """POST each webhook / robot delivery; a success is marked at once (fenced by the
        lease), a failure retries or dies like an e-mail. An endpoint that cannot be reached
        is not tried again in this batch: its other rows fail with the same reason."""
        if not jobs:
            return
        unreachable: dict[int, str] = {}
        with contextlib.closing(hooks.HttpChannel(self.http)) as channel:
            for j in jobs:
                endpoint = j.endpoint
                assert endpoint is not None
                try:
                    if endpoint.id in unreachable:
                        raise hooks.DeliveryFailed(unreachable[endpoint.id])
                    robot = None
                    if j.rendered is not None:
                        robot = hooks.robot_body(endpoint.kind, j.rendered.subject, j.rendered.text)
                    channel.deliver(
                        endpoint,
                        delivery_id=j.id,
                        now=self.clock.now(),
                        event=j.context.get("event"),
                        robot=robot,
                    )
                except Exception as raised:
                    # Anything but DeliveryFailed is a bug: this row fails, named without the
                    # URL's key; the batch goes on.
                    err = (
                        raised
                        if isinstance(raised, hooks.DeliveryFailed)
                        else hooks.DeliveryFailed(f"delivery failed: {type(raised).__name__}")
                    )
                    if err.unreachable:
                        unreachable[endpoint.id] = f"{err} (endpoint unreachable in this batch)"
                    j.error = f"{endpoint.shown}: {err}"
                    j.outcome = "dead" if j.attempts >= self.max_attempts else "retry"
                    log.warning("outbox %d: %s (%s)", j.id, j.error, j.outcome)
                    continue
                self._mark_delivered(j, now)

    def _mark_delivered(self, j: _Job, now: datetime) -> None:
        """A webhook / robot row sent, on its own, if the lease is still ours."""
        with self.engine.begin() as conn:
            marked = _marked_sent(conn, j, now)
        j.done = True
        if not marked:
            j.outcome = "lost"
            log.warning("outbox %d: lease taken over by another relay after delivery", j.id)

    def _mark_sent(self, j: _Job, now: datetime) -> bool:
        """Mark one e-mailed row sent and add its inbox item, if the lease is still ours; the
        commit happens before the server is told to accept the message."""
        with self.engine.begin() as conn:
            if not _marked_sent(conn, j, now):
                return False
            insert_inbox_rows(conn, [_inbox_row(j, now)])
        j.done = True
        return True

    def _unmark(self, j: _Job, now: datetime) -> None:
        """The server refused a message already marked sent: retry or dead after all."""
        retry = j.outcome == "retry"
        with self.engine.begin() as conn:
            conn.execute(
                update(OUTBOX)
                .where(
                    OUTBOX.c.id == j.id,
                    OUTBOX.c.attempts == j.attempts,
                    OUTBOX.c.status == "sent",
                )
                .values(
                    status="pending" if retry else "dead",
                    next_attempt_at=now + self.backoff(j.attempts) if retry else now,
                    last_error=j.error,
                    sent_at=None,
                )
            )

    def renew(self, jobs: list[_Job], now: datetime) -> None:
        """Extend the lease of the batch's rows not marked yet (only those still ours)."""
        by_attempts: dict[int, list[int]] = {}
        for j in jobs:
            if not j.done and j.outcome == "sent":
                by_attempts.setdefault(j.attempts, []).append(j.id)
        if not by_attempts:
            return
        until = self.lease_until(now)
        with self.engine.begin() as conn:
            for attempts, all_ids in by_attempts.items():
                for ids in _chunks(all_ids, MARK_CHUNK):
                    conn.execute(
                        update(OUTBOX)
                        .where(
                            OUTBOX.c.id.in_(ids),
                            OUTBOX.c.attempts == attempts,
                            OUTBOX.c.status == "pending",
                        )
                        .values(next_attempt_at=until)
                    )
        self.renewals += 1

    def backoff(self, attempts: int) -> timedelta:
        """base * 2**attempts, capped, ±20 % jitter so failed rows do not retry in lockstep."""
        delay = min(self.base_delay_s * 2**attempts, self.max_delay_s)
        return timedelta(seconds=delay * self.rng.uniform(0.8, 1.2))

    def _mark(self, jobs: list[_Job], now: datetime) -> None:
        if not jobs:
            return
        inbox = [_inbox_row(j, now) for j in jobs if j.rendered is not None and not j.integration]
        # Rows marked alike (the usual batch: all sent on their first attempt) share one
        # UPDATE over their ids; a row is only marked by the relay holding its lease (same
        # attempts value) and only while still pending.
        groups: dict[tuple[Any, ...], list[int]] = {}
        for j in jobs:
            mark = (
                j.attempts,
                "pending" if j.outcome == "retry" else j.outcome,
                now + self.backoff(j.attempts) if j.outcome == "retry" else now,
                j.error or j.note,
                now if j.outcome == "sent" else None,
            )
            groups.setdefault(mark, []).append(j.id)
        with Session(self.engine) as session, session.begin():
            insert_inbox(session, inbox)
            conn = session.connection()
            for (attempts, status, next_at, error, sent_at), all_ids in groups.items():
                for ids in _chunks(all_ids, MARK_CHUNK):
                    conn.execute(
                        update(OUTBOX)
                        .where(
                            OUTBOX.c.id.in_(ids),
                            OUTBOX.c.attempts == attempts,
                            OUTBOX.c.status == "pending",
                        )
                        .values(
                            status=status,
                            next_attempt_at=next_at,
                            last_error=error,
                            sent_at=sent_at,
                        )
                    )


MARK_CHUNK = 1000  # ids per UPDATE, well under either database's bound-parameter limit


def _marked_sent(conn: Connection, j: _Job, now: datetime) -> bool:
    """Mark one row sent, only while it is pending under our lease (``attempts``)."""
    done = conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == j.id, OUTBOX.c.attempts == j.attempts, OUTBOX.c.status == "pending")
        .values(status="sent", next_attempt_at=now, last_error=j.note, sent_at=now)
    )
    return int(done.rowcount) == 1


def _inbox_row(j: _Job, now: datetime) -> dict[str, Any]:
    assert j.rendered is not None
    return {
        "firm_id": j.firm_id if j.audience == "firm" else None,
        "audience": j.audience,
        "outbox_id": j.id,
        "message": j.message,
        "subject": j.rendered.subject[:SUBJECT_MAX],
        "body": j.rendered.text,
        "created_at": now,
        "read_at": None,
    }


class _Heartbeat:
    """Renews the batch's lease every third of it while the batch is in flight."""

    def __init__(self, relay: Relay, jobs: list[_Job], now: datetime) -> None:
        self.relay, self.jobs, self.now = relay, jobs, now
        self.interval = max(relay.lease.total_seconds() / 3, 0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.relay.renew(self.jobs, self.now)
            except Exception:  # a missed renewal is retried; the fencing token keeps us safe
                log.exception("outbox lease renewal failed")


def _attach_endpoints(conn: Connection, jobs: list[_Job]) -> None:
    """Each webhook / robot delivery's endpoint, read live (a rotated secret applies on
    retry); a delivery whose endpoint is gone or disabled dies with that reason."""
    if not jobs:
        return
    ids = {int(j.context.get("endpoint_id") or 0) for j in jobs}
    endpoints = hooks.load_endpoints(conn, sorted(ids))
    for j in jobs:
        endpoint = endpoints.get(int(j.context.get("endpoint_id") or 0))
        if endpoint is None or endpoint.disabled:
            j.outcome = "dead"
            j.error = "端点已停用或不存在 / endpoint disabled or removed: not sent"
        else:
            j.endpoint = endpoint


def _attach_traces(conn: Connection, jobs: list[_Job]) -> None:
    """A decision's notice carries the digest of its trace, which is stored once, on the
    review: the trace is read back here (one query per batch) and checked against the
    digest. A trace that no longer matches is not shown; the row says why."""
    wanted = {
        (int(j.context["tenancy"]["id"]), int(j.context["period"])): j
        for j in jobs
        if "trace_sha256" in j.context and "trace" not in j.context and "period" in j.context
    }
    if not wanted:
        return
    r = REVIEWS.c
    rows = conn.execute(
        core_select(r.tenancy_id, r.period, r.trace).where(
            r.tenancy_id.in_(sorted({t for t, _ in wanted})),
            r.period.in_(sorted({p for _, p in wanted})),
        )
    )
    found = {(row.tenancy_id, row.period): row.trace for row in rows}
    for key, job in wanted.items():
        trace = found.get(key) or {}
        if hashlib.sha256(canonical_json(trace)).hexdigest() == job.context["trace_sha256"]:
            job.context["trace"] = trace
        else:
            job.context["trace"] = {}
            job.note = "trace not shown: the review's trace does not match the decision's digest"


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
