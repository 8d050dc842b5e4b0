"""Hash-chained audit events: hashing, verification and folding (pure functions).

Each event stores the hash of the previous event of the same tenancy; the tenancy stores the
hash of its last event. Editing an event breaks its own hash, deleting or reordering one
breaks the chain, deleting the last one breaks the head. Folding the events from the initial
state must end in the tenancy's stored state, and every step must be in the table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from lifecycle.table import INITIAL, TRIGGERS, destination

GENESIS = "0" * 64


class EventRecord(Protocol):
    """What verification needs from a stored audit event."""

    @property
    def tenancy_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def actor(self) -> str: ...
    @property
    def trigger(self) -> str: ...
    @property
    def from_state(self) -> str | None: ...
    @property
    def to_state(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def data(self) -> Mapping[str, Any] | None: ...
    @property
    def rulebook_version(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


def _utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _instant(value: datetime) -> str:
    # Stored timestamps may come back naive (SQLite) or aware (PostgreSQL); both are UTC.
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def event_hash(
    *,
    prev_hash: str,
    tenancy_id: int,
    seq: int,
    actor: str,
    trigger: str,
    from_state: str | None,
    to_state: str,
    reason: str | None,
    data: Mapping[str, Any] | None,
    rulebook_version: str | None,
    occurred_at: datetime,
    data_json: bytes | None = None,
) -> str:
    """The SHA-256 of the event's fields as one canonical JSON array.

    ``data_json``, when given, is ``canonical_json(data)`` already made (``data`` is then not
    read): the array is written around it, byte for byte what serializing the whole gives.
    """
    head = [prev_hash, tenancy_id, seq, actor, trigger, from_state, to_state, reason]
    tail = [rulebook_version, _instant(occurred_at)]
    if data_json is None:
        body = canonical_json([*head, dict(data or {}), *tail])
    else:
        body = b"".join(
            (canonical_json(head)[:-1], b",", data_json, b",", canonical_json(tail)[1:])
        )
    return hashlib.sha256(body).hexdigest()


def plain_canonical_json(value: Any) -> bytes | None:
    """``canonical_json(value)`` when ``value`` is plain JSON data already (text, numbers,
    booleans, null, lists and text-keyed dicts) and orjson's bytes are the canonical ones;
    None otherwise (dates, sets, numbers that need the standard library, ...).

    For such a value the bytes are also its stored form: reading them back gives the value.
    """
    try:
        fast = orjson.dumps(value, option=_PLAIN)
    except TypeError:
        return None
    return None if _maybe_written_differently(fast) else fast


def canonical_json(value: Any) -> bytes:
    """The hashed form of ``value``: ``json.dumps(value, ensure_ascii=False, sort_keys=True,
    separators=(",", ":"), default=str)`` encoded as UTF-8, byte for byte.

    orjson writes the same bytes for JSON data (strings, 64-bit integers, floats, booleans,
    null, lists and dicts with text keys, sorted) roughly ten times faster, except for a float
    that Python writes with an exponent: orjson writes ``1e-05`` as ``0.00001`` and ``1e-07``
    as ``1e-7``. Any number token that may be one of those, and any value orjson refuses
    (dates, sets, dataclasses, integers beyond 64 bits, non-text keys), takes the standard
    library's way, so the bytes never depend on which way was taken.

    Two kinds of value are not JSON data and are written differently: a non-finite float
    (orjson writes ``null``, the standard library ``NaN``) and an ``Enum`` member (orjson
    writes its value, the standard library its ``str()``). An audit event's data never holds
    them as hashed: ``Work`` stores exactly the bytes it hashes, and the JSON columns hold
    neither, so a stored event read back hashes the same.
    """
    try:
        fast = orjson.dumps(value, option=_CANONICAL)
    except TypeError:
        return _STDLIB_CANONICAL(value).encode()
    if _maybe_written_differently(fast):
        return _STDLIB_CANONICAL(value).encode()
    return fast


_CANONICAL = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)
# Refuses (TypeError) anything but plain JSON data: str/int/dict/list subclasses included.
_PLAIN = _CANONICAL | orjson.OPT_PASSTHROUGH_SUBCLASS
_STDLIB_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
).encode


def _maybe_written_differently(blob: bytes) -> bool:
    """Whether orjson's output may hold a float the standard library writes otherwise: one
    with an exponent (orjson always signs it: ``e-7``, ``e+16``) or one below 1e-4 written
    out in full (``0.00001``, as a token of its own). Only the places found by a byte search
    are looked at, so text that merely resembles a number costs little."""
    if _exponent(blob, 45, b"e-") or _exponent(blob, 43, b"e+"):
        return True
    at = blob.find(b"0.0000")
    while at >= 0:
        before = blob[at - 1] if at > 0 else 44
        if before == 45:  # "-0.0000..."
            before = blob[at - 2] if at > 1 else 44
        if before in _TOKEN_START:
            return True
        at = blob.find(b"0.0000", at + 6)
    return False


def _exponent(blob: bytes, sign: int, pattern: bytes) -> bool:
    """Whether a digit, ``e`` and ``sign`` follow each other somewhere in ``blob``.

    The sign is searched first: one byte, found with ``memchr`` several times faster than a
    two-byte pattern, and rare in JSON text. Where it is common (dates, identifiers) the
    search goes on by the two-byte pattern, which skips further between candidates.
    """
    at, seen = blob.find(sign), 0
    while at >= 0:
        if at > 1 and blob[at - 1] == 101 and 48 <= blob[at - 2] <= 57:
            return True
        seen += 1
        if seen == 8:
            at = blob.find(pattern, at + 1)
            while at >= 0:
                if at > 0 and 48 <= blob[at - 1] <= 57:
                    return True
                at = blob.find(pattern, at + 2)
            return False
        at = blob.find(sign, at + 1)
    return False


_TOKEN_START = frozenset(b"[:,")


def recompute(event: EventRecord) -> str:
    return event_hash(
        prev_hash=event.prev_hash,
        tenancy_id=event.tenancy_id,
        seq=event.seq,
        actor=event.actor,
        trigger=event.trigger,
        from_state=event.from_state,
        to_state=event.to_state,
        reason=event.reason,
        data=event.data,
        rulebook_version=event.rulebook_version,
        occurred_at=event.occurred_at,
    )


@dataclass(frozen=True, slots=True)
class Problem:
    tenancy_id: int
    seq: int | None
    # edited | broken_chain | missing | reordered | head_mismatch | illegal_step | fold_mismatch
    # | time_order | row_mismatch | checkpoint_* (see lifecycle.checkpoint)
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"tenancy {self.tenancy_id}" + (
            f" event #{self.seq}" if self.seq is not None else ""
        )
        return f"{where}: {self.kind}: {self.detail}"


def verify_chain(
    tenancy_id: int, events: Sequence[EventRecord], *, head: str, state: str
) -> list[Problem]:
    """Check one tenancy's events (ordered by storage id) against its stored head and state."""
    problems: list[Problem] = []
    prev = GENESIS
    current: str | None = None
    last_at: datetime | None = None
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            kind = "reordered" if event.seq < expected_seq else "missing"
            problems.append(
                Problem(
                    tenancy_id,
                    event.seq,
                    kind,
                    f"expected event #{expected_seq}, found #{event.seq}",
                )
            )
        if recompute(event) != event.hash:
            problems.append(
                Problem(
                    tenancy_id,
                    event.seq,
                    "edited",
                    "stored hash does not match the event's content",
                )
            )
        if event.prev_hash != prev:
            problems.append(
                Problem(
                    tenancy_id,
                    event.seq,
                    "broken_chain",
                    "previous-hash link does not match the event before it",
                )
            )
        step = _fold_step(current, event)
        if step is None:
            problems.append(
                Problem(
                    tenancy_id,
                    event.seq,
                    "illegal_step",
                    f"{event.from_state} --{event.trigger}--> {event.to_state} "
                    f"is not in the lifecycle table (state was {current})",
                )
            )
        at = _utc_naive(event.occurred_at)
        if last_at is not None and at < last_at:
            problems.append(
                Problem(
                    tenancy_id,
                    event.seq,
                    "time_order",
                    f"dated {_instant(event.occurred_at)}, before the event before it "
                    f"({last_at.isoformat(timespec='microseconds')})",
                )
            )
        last_at = at
        current = event.to_state
        prev = event.hash
    if prev != head:
        problems.append(
            Problem(
                tenancy_id,
                None,
                "head_mismatch",
                "the tenancy's chain head is not the hash of its last event "
                "(an event was deleted or added)",
            )
        )
    if current != state:
        problems.append(
            Problem(
                tenancy_id,
                None,
                "fold_mismatch",
                f"folding the events gives {current!r}, stored state is {state!r}",
            )
        )
    return problems


def _fold_step(current: str | None, event: EventRecord) -> str | None:
    """The state after ``event`` if it is a legal step from ``current``, else None."""
    if current is None:
        return event.to_state if event.to_state == INITIAL and event.from_state is None else None
    if event.from_state != current:
        return None
    if event.trigger not in TRIGGERS:
        # A record-only event (a submission, an objection lodged): no state change allowed.
        return current if event.to_state == current else None
    return event.to_state if destination(current, event.trigger) == event.to_state else None


def fold(events: Iterable[EventRecord]) -> str | None:
    """The state the events lead to, or None if any step is illegal."""
    current: str | None = None
    for event in events:
        current = _fold_step(current, event)
        if current is None:
            return None
    return current
