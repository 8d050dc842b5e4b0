"""``Idempotency-Key``: a retried POST returns the first response instead of acting twice.

:class:`Idempotent` wraps the command a POST sends. Its handler, in the command's own
transaction, claims ``(owner, key)`` in ``idempotency_keys`` first, runs the command, and
stores the response beside it — so the effect and the stored response commit together or not
at all (a failed command stores nothing; its retry runs again, as nothing happened).

Two requests with the same key at once: on SQLite the second waits for the write lock
(``BEGIN IMMEDIATE``) and then finds the stored response; on PostgreSQL its insert waits on
the unique index until the first commits, then fails — :class:`KeyInUse`, and the caller
sends the command again, which now finds the stored response. Either way one effect.
The same key with another body or another request is refused (InvalidInput, 422).

Keys expire after :data:`KEY_TTL` (24 hours): a retry after that acts anew, as a new
request, and :class:`PurgeIdempotencyKeys` (the scheduler's ``purge-idempotency-keys`` job,
hourly) deletes the expired rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from db.effects import Rows, json_safe
from lifecycle.errors import AlreadyExists, Conflict, InvalidInput
from workflows.commands import Command
from workflows.core import Work
from workflows.inputs import checked_command

KEY_MAX = 200
#: How long a key's stored response is replayed; after that the key acts anew.
KEY_TTL = timedelta(hours=24)


class KeyInUse(Conflict):
    """Another request with the same key committed first (retry to read its response)."""

    code = "idempotency_key_in_use"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"幂等键 {key} 正被另一请求使用 / idempotency key {key} is in use by another request",
            key=key,
        )


class Idempotent(Command):
    """Run ``command`` once per ``(owner, key)``; ``status``: the HTTP status its success
    answers with (stored with the body)."""

    key: str
    owner: str
    request: str
    body_sha256: str
    status: int
    command: Command


class PurgeIdempotencyKeys(Command):
    """Delete the keys older than :data:`KEY_TTL`; returns how many."""


@dataclass(frozen=True)
class Stored:
    status: int
    body: Any
    replayed: bool


def body_of(result: Any) -> Any:
    """A command's result as a JSON response body."""
    if hasattr(result, "to_dict"):
        result = result.to_dict()
    if isinstance(result, int) and not isinstance(result, bool):
        return {"count": result}
    return json_safe(result)


def run(
    w: Work, cmd: Idempotent, handlers: Mapping[type[Command], Callable[[Work, Any], Any]]
) -> Stored:
    if not cmd.key or len(cmd.key) > KEY_MAX:
        raise InvalidInput("Idempotency-Key", f"must be 1 to {KEY_MAX} characters", cmd.key)
    found = w.uow.identity.idempotency_key(cmd.owner, cmd.key)
    if found is not None and found.created_at <= w.now - KEY_TTL:
        expired = Rows()  # this request is a new one
        expired.delete("idempotency_keys", id=found.id)
        w.apply_rows(expired)
        found = None
    if found is not None:
        if found.request != cmd.request or found.body_sha256 != cmd.body_sha256:
            raise InvalidInput(
                "Idempotency-Key",
                "已用于另一请求（请求体或路径不同） / already used for another request "
                "(a different body or path)",
                cmd.key,
            )
        return Stored(found.status, found.response.get("body"), replayed=True)
    claim = Rows()
    key = claim.insert(
        "idempotency_keys",
        owner=cmd.owner,
        key=cmd.key,
        request=cmd.request,
        body_sha256=cmd.body_sha256,
        status=0,
        response={},
        created_at=w.now,
    )
    # Claimed before the command runs: a concurrent request with the key waits on the
    # unique index (PostgreSQL), then is refused.
    try:
        w.apply_rows(claim)
    except AlreadyExists:
        raise KeyInUse(cmd.key) from None
    body = body_of(handlers[type(cmd.command)](w, checked_command(cmd.command)))
    stored = Rows()
    assert key.id is not None
    stored.update("idempotency_keys", key.id, status=cmd.status, response={"body": body})
    w.apply_rows(stored)
    return Stored(cmd.status, body, replayed=False)


def purge(w: Work, cmd: PurgeIdempotencyKeys) -> int:
    rows = Rows()
    for key_id in w.uow.identity.keys_until(w.now - KEY_TTL):
        rows.delete("idempotency_keys", id=key_id)
    w.apply_rows(rows)
    return len(rows.deletes)
