"""A command's effects as data: what a decision writes, built without touching the database.

A handler, or the batch path for each tenancy of a chunk, loads a tenancy as a
:class:`TenancyRow`, lets a pure decide function fill an :class:`Effects` (the transition and
its hash-chained audit event, rows to insert and update, deadlines with their dedupe keys,
deadlines cancelled, notices with their dedupe keys and wording) and hands it to
:func:`db.writer.write`. The writer writes one command's effects in its transaction, or a
chunk's with ``executemany``: the single path and the batch path differ only in how many
effects they hand over, so they write the same rows by construction.

Nothing here does I/O; the audit hash is :func:`lifecycle.audit.event_hash` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Required, TypedDict, Unpack

import orjson

from lifecycle.audit import event_hash, plain_canonical_json
from lifecycle.errors import GuardFailed
from lifecycle.machine import Facts, fire


def _beijing(instant: datetime) -> str:
    """An instant as the people reading a refusal read time: Beijing wall time to the
    second (a naive value is UTC, as the database stores instants)."""
    from zoneinfo import ZoneInfo

    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(slots=True)
class Party:
    """What a notice quotes of the firm and the space (loaded with the tenancy)."""

    firm_id: int
    name: str
    uscc: str
    contact_name: str | None
    contact_email: str | None
    account_manager: str | None
    locale: str
    space_code: str
    space_name: str
    # The rulebook active in the space when the tenancy was loaded (its decisions use it).
    space_rulebook_version: str | None = None

    def context(self) -> dict[str, Any]:
        return {
            "firm": {
                "id": self.firm_id,
                "name": self.name,
                "uscc": self.uscc,
                "contact_name": self.contact_name,
                "email": self.contact_email,
                "account_manager": self.account_manager,
            },
            "space": {"code": self.space_code, "name": self.space_name},
        }


@dataclass(slots=True)
class TenancyRow:
    """A tenancy as a command sees it: the row's columns, and the parties notices quote."""

    id: int
    firm_id: int
    space_id: int
    state: str
    version: int
    track: str
    term_start: date | None
    term_end: date | None
    rulebook_version: str | None
    score: float | None
    priority: bool
    audit_seq: int
    audit_head: str
    created_at: datetime
    updated_at: datetime
    party: Party | None = None


TENANCY_COLUMNS = tuple(name for name in TenancyRow.__dataclass_fields__ if name != "party")
PARTY_COLUMNS = tuple(Party.__dataclass_fields__)


#: A row's primary key, as an update names it (an id; a day for a calendar override).
RowKey = int | date


@dataclass(eq=False, slots=True)
class Ref:
    """A row an effect inserts, named before it has an id (the writer fills ``id`` in).

    Compared and hashed by identity: two rows of the same table are two references."""

    table: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RefKey:
    """A dedupe key that names a row inserted by the same effects: ``prefix + id + suffix``."""

    prefix: str
    ref: Ref
    suffix: str = ""

    def resolve(self) -> str:
        return f"{self.prefix}{self.ref.id}{self.suffix}"


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one command did to one tenancy (returned to entry points)."""

    tenancy_id: int
    trigger: str
    from_state: str | None
    to_state: str
    version: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenancy_id": self.tenancy_id,
            "trigger": self.trigger,
            "from": self.from_state,
            "to": self.to_state,
            "version": self.version,
            **self.data,
        }


def json_column(value: Mapping[str, Any]) -> Any:
    """``value`` as a JSON column value: pre-serialized when it is plain JSON data (the same
    bytes that were hashed), else pre-serialized JSON-safe (dates as ISO text, ...): the text
    ``json_safe(value)`` is stored as, without building that copy and writing it again."""
    blob = plain_canonical_json(value)
    if blob is None:
        try:
            blob = orjson.dumps(value, default=_json_default, option=_JSON_SAFE)
        except TypeError:  # what json_safe takes the general way
            return json_safe(value)
    return orjson.Fragment(blob)


def audit_event(
    tenancy: TenancyRow,
    trigger: str,
    before: str | None,
    after: str,
    *,
    seq: int,
    prev_hash: str,
    actor: str,
    reason: str | None,
    data: Mapping[str, Any] | None,
    rulebook_version: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The audit event row, its hash chained to ``prev_hash``."""
    given = dict(data or {})
    data_json = plain_canonical_json(given)
    payload: Any = orjson.Fragment(data_json) if data_json is not None else json_safe(given)
    row: dict[str, Any] = {
        "tenancy_id": tenancy.id,
        "seq": seq,
        "actor": actor,
        "trigger": trigger,
        "from_state": before,
        "to_state": after,
        "reason": reason,
        "data": payload,
        "rulebook_version": rulebook_version,
        "occurred_at": now,
        "prev_hash": prev_hash,
    }
    # The hash covers the row's fields; plain data is hashed as the bytes already made.
    hashed = row if data_json is None else {**row, "data": None}
    row["hash"] = event_hash(**hashed, data_json=data_json)
    return row


class StepOptions(TypedDict, total=False):
    """Who took a step and why: the acting account, the reason given, the event's data."""

    actor: Required[str]
    reason: str | None
    data: Mapping[str, Any] | None


class DeadlineOptions(TypedDict, total=False):
    """How a deadline names what it is about: ``subject`` (a row's id, or a row the same
    effects insert), an explicit dedupe ``key`` or a ``key_suffix`` after the subject's id,
    and the ``payload`` its sweep action reads."""

    subject: int | Ref | None
    key: str | None
    key_suffix: str
    payload: Mapping[str, Any] | None


def deadline_row(
    tenancy_id: int,
    kind: str,
    due_on: date,
    due_at: datetime,
    *,
    now: datetime,
    **options: Unpack[DeadlineOptions],
) -> dict[str, Any]:
    """A deadline row; its dedupe key makes adding the same deadline twice a no-op.

    The key is ``kind:tenancy:`` and then ``key``, or the subject's id (and ``key_suffix``),
    or the day it falls due."""
    subject, key = options.get("subject"), options.get("key")
    key_suffix, payload = options.get("key_suffix", ""), options.get("payload")
    prefix = f"{kind}:{tenancy_id}:"
    dedupe: str | RefKey
    if key is not None:
        dedupe = prefix + key
    elif isinstance(subject, Ref):
        dedupe = RefKey(prefix, subject, key_suffix)
    else:
        dedupe = prefix + (f"{subject}{key_suffix}" if subject else due_on.isoformat())
    return {
        "kind": kind,
        "tenancy_id": tenancy_id,
        "subject_id": subject,
        "due_on": due_on,
        "due_at": due_at,
        "status": "pending",
        "dedupe_key": dedupe,
        "payload": json_safe(dict(payload)) if payload else {},
        "created_at": now,
        "done_at": None,
    }


def notice_row(
    tenancy: TenancyRow,
    message: str,
    *,
    today: date,
    now: datetime,
    context: Mapping[str, Any] | None = None,
    audience: str = "firm",
    key: str | Ref | None = None,
) -> dict[str, Any]:
    """An outbox row for a notice about ``tenancy`` (sent by the relay after commit).

    Its dedupe key makes a retried command unable to tell a firm twice: by default the
    tenancy's audit sequence number, or ``key`` (a row the same effects insert: its id)."""
    party = tenancy.party
    if party is None:
        raise ValueError(f"tenancy {tenancy.id} was loaded without its parties")
    ctx = {
        **party.context(),
        "tenancy": {"id": tenancy.id, "state": tenancy.state},
        "sent_on": today.isoformat(),
        **(context or {}),
    }
    prefix = f"{message}:{audience}:{tenancy.id}:"
    dedupe = RefKey(prefix, key) if isinstance(key, Ref) else prefix + str(key or tenancy.audit_seq)
    return outbox_row(
        dedupe,
        message,
        tenancy_id=tenancy.id,
        firm_id=party.firm_id,
        audience=audience,
        locale=party.locale,
        context=json_column(ctx),
        now=now,
    )


def outbox_row(
    dedupe_key: str | RefKey,
    message: str,
    *,
    tenancy_id: int | None,
    firm_id: int | None,
    audience: str,
    locale: str,
    context: Any,
    now: datetime,
    space_id: int | None = None,
) -> dict[str, Any]:
    """A pending outbox row, due ``now`` (a notice, or a webhook / robot delivery).
    ``space_id``: the space a notice about no tenancy is about (a space's digest)."""
    return {
        "dedupe_key": dedupe_key,
        "message": message,
        "tenancy_id": tenancy_id,
        "firm_id": firm_id,
        "space_id": space_id,
        "audience": audience,
        "locale": locale,
        "context": context,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


class Rows:
    """Rows a command inserts and updates in tables of their own (a firm, a unit, an
    allocation, ...): the part of :class:`Effects` that needs no tenancy, for a command
    outside one (registering a firm, correcting a unit no tenancy holds)."""

    __slots__ = ("deletes", "inserts", "updates")

    def __init__(self) -> None:
        self.inserts: list[tuple[Ref, dict[str, Any]]] = []
        self.updates: list[tuple[str, RowKey, dict[str, Any]]] = []
        self.deletes: list[tuple[str, dict[str, Any]]] = []

    def insert(self, table: str, **values: Any) -> Ref:
        ref = Ref(table)
        self.inserts.append((ref, values))
        return ref

    def update(self, table: str, row_id: RowKey, **values: Any) -> None:
        """Update the row of ``table`` whose key (``id``, or a calendar day, ...) is
        ``row_id``."""
        self.updates.append((table, row_id, values))

    def delete(self, table: str, **key: Any) -> None:
        """Delete the row of ``table`` whose primary key (every column of it) is ``key``."""
        self.deletes.append((table, key))


class Effects(Rows):
    """Everything one command does to one tenancy, as rows to write.

    The builder methods mirror what a command does (``transition``, ``record``, ``insert``,
    ``update``, ``cancel``, ``deadline``, ``notify``); the tenancy object is kept current
    (state, chain head) so a later effect sees what an earlier one did. ``new_version`` is
    the version the tenancy will have: one more than when the command first loaded it,
    however many effects the command writes.
    """

    __slots__ = (
        "tenancy",
        "now",
        "today",
        "seen_version",
        "new_version",
        "event_rulebook",
        "moved",
        "created",
        "changed",
        "events",
        "cancels",
        "deadlines",
        "notices",
    )

    def __init__(
        self,
        tenancy: TenancyRow,
        *,
        now: datetime,
        today: date,
        new_version: int | None = None,
        event_rulebook: str | None = None,
    ) -> None:
        self.tenancy = tenancy
        self.now = now
        self.today = today
        self.seen_version = tenancy.version
        self.new_version = tenancy.version + 1 if new_version is None else new_version
        # The rulebook version the audit events record: the tenancy's own unless a decision
        # was taken under another (the space's active rulebook).
        self.event_rulebook = event_rulebook
        self.moved = False  # the tenancy's row is written (a transition or a record)
        self.created = False  # the row is new: inserted rather than updated
        self.changed: dict[str, Any] = {}  # tenancy columns the command set
        self.events: list[dict[str, Any]] = []
        self.inserts: list[tuple[Ref, dict[str, Any]]] = []
        self.updates: list[tuple[str, RowKey, dict[str, Any]]] = []
        self.deletes: list[tuple[str, dict[str, Any]]] = []
        self.cancels: list[tuple[str, ...]] = []
        self.deadlines: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []

    @classmethod
    def create(cls, tenancy: TenancyRow, *, now: datetime, today: date) -> Effects:
        """The effects of a command that creates ``tenancy`` (its id handed out beforehand,
        so that its events hash it): the writer inserts the row as the effects leave it."""
        effects = cls(tenancy, now=now, today=today, new_version=tenancy.version)
        effects.created = True
        return effects

    # ---- the tenancy ---------------------------------------------------------------------
    def transition(
        self, trigger: str, *, facts: Facts | None = None, **step: Unpack[StepOptions]
    ) -> StepResult:
        """Fire ``trigger`` on the shared machine (TransitionNotAllowed or GuardFailed if the
        table refuses) and append its audit event."""
        t = self.tenancy
        facts = facts or Facts(state=t.state)
        facts.state = t.state
        after = fire(facts, trigger, tenancy_id=t.id)
        return self._step(trigger, after, **step)

    def begin(self, trigger: str, after: str, **step: Unpack[StepOptions]) -> None:
        """A new tenancy's first event, ``None -> after`` (no trigger of the table fires it);
        the tenancy keeps the version it was created with."""
        t = self.tenancy
        self.new_version = t.version
        reason, data = step.get("reason"), step.get("data")
        self._event(trigger, None, after, actor=step["actor"], reason=reason, data=data)
        t.state = after

    def record(self, what: str, **step: Unpack[StepOptions]) -> StepResult:
        """An audited fact that does not change the state (a submission, a score, ...). It
        still moves the version: whoever decides next must have seen it."""
        return self._step(what, self.tenancy.state, **step)

    def _step(self, trigger: str, after: str, **step: Unpack[StepOptions]) -> StepResult:
        t = self.tenancy
        before, data = t.state, step.get("data")
        self._event(
            trigger, before, after, actor=step["actor"], reason=step.get("reason"), data=data
        )
        t.state = after
        return StepResult(t.id, trigger, before, after, self.new_version, dict(data or {}))

    def set(self, **values: Any) -> None:
        """Tenancy columns the command changes (written with the state, in one UPDATE)."""
        for key, value in values.items():
            setattr(self.tenancy, key, value)
        self.changed.update(values)
        self.moved = True

    def _event(
        self,
        trigger: str,
        before: str | None,
        after: str,
        *,
        actor: str,
        reason: str | None,
        data: Mapping[str, Any] | None,
    ) -> None:
        t = self.tenancy
        if t.audit_seq and _before(self.now, t.updated_at):
            # The chain is in time order: a clock set back (INNOSPACE_NOW, a host's clock)
            # must not date an event before the tenancy's last one (audit verify: time_order).
            raise GuardFailed(
                t.id,
                trigger,
                f"事件时间 {_beijing(self.now)} 早于该租约上一事件 {_beijing(t.updated_at)}"
                "（北京时间），时间不能倒退 / an event may not be dated before the tenancy's "
                "last event",
            )
        seq = t.audit_seq + 1
        event = audit_event(
            t,
            trigger,
            before,
            after,
            seq=seq,
            prev_hash=t.audit_head,
            actor=actor,
            reason=reason,
            data=data,
            rulebook_version=self.event_rulebook or t.rulebook_version,
            now=self.now,
        )
        self.events.append(event)
        t.audit_seq, t.audit_head = seq, event["hash"]
        self.moved = True

    def tenancy_values(self) -> dict[str, Any]:
        """The columns of the tenancy's versioned UPDATE."""
        t = self.tenancy
        return {
            **self.changed,
            "state": t.state,
            "audit_seq": t.audit_seq,
            "audit_head": t.audit_head,
            "version": self.new_version,
            "updated_at": self.now,
        }

    def tenancy_row(self) -> dict[str, Any]:
        """Every column of a created tenancy's row, as the effects leave it."""
        t = self.tenancy
        return {**{name: getattr(t, name) for name in TENANCY_COLUMNS}, **self.tenancy_values()}

    # ---- other rows (``insert`` and ``update``: see :class:`Rows`) -------------------------
    def cancel(self, *kinds: str) -> None:
        """Cancel the tenancy's pending deadlines of these kinds (the step they guarded is
        moot). Written before the deadlines this command adds."""
        self.cancels.append(tuple(kinds))

    def deadline(
        self, kind: str, due_on: date, due_at: datetime, **options: Unpack[DeadlineOptions]
    ) -> None:
        self.deadlines.append(
            deadline_row(self.tenancy.id, kind, due_on, due_at, now=self.now, **options)
        )

    def notify(
        self,
        message: str,
        *,
        context: Mapping[str, Any] | None = None,
        audience: str = "firm",
        key: str | Ref | None = None,
    ) -> None:
        self.notices.append(
            notice_row(
                self.tenancy,
                message,
                today=self.today,
                now=self.now,
                context=context,
                audience=audience,
                key=key,
            )
        )


# ---- JSON-safe values ------------------------------------------------------------------------
_JSON_SAFE = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: dates as ISO text, sets and tuples as lists, objects with
    ``to_dict()`` as that dict, anything else as ``str()``; keys become text."""
    try:
        return orjson.loads(orjson.dumps(value, default=_json_default, option=_JSON_SAFE))
    except TypeError:  # a key orjson cannot take (a tuple), a huge int: the general way
        return _json_walk(value)


def _json_walk(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_walk(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_walk(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return _json_walk(_json_default(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return list(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


def _before(a: datetime, b: datetime) -> bool:
    """``a < b``; a naive value (as SQLite may return one) is read as UTC."""
    return _aware(a) < _aware(b)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
