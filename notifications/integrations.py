"""Outbound integrations: signed webhooks and WeCom (企业微信) / DingTalk (钉钉) group robots.

An operator registers endpoints per space (``innospace webhook add``, ``innospace robot
add``; rows of ``integration_endpoints``). Deliveries travel through the outbox like every
notice, so they get its lease, retries with backoff, dead letters and operator retry:

* **Fan-out.** When the relay first claims a notice about one of a space's tenancies, it
  queues in the same claim transaction one outbox row per matching endpoint of that space
  (audience = the endpoint's kind, insert-if-absent on a dedupe key naming the endpoint and
  the event). A webhook gets every event once, whichever audiences it was told to (a review
  overdue goes to the firm, its manager and the operators: one webhook delivery); a robot
  gets the operators' notices (the ones e-mailed to ``operators_address``). The operators'
  daily digests (one per space, about no tenancy) go to no robot.
* **Delivery** (:class:`HttpChannel`) with httpx: bounded timeouts, redirects never followed,
  non-2xx a failure with its status recorded; a robot's HTTP 200 carrying ``errcode != 0`` is
  a failure too. A row is marked sent right after its response (fenced by its lease), so a
  relay killed in a batch re-sends at most the row in flight: receivers dedupe on
  ``X-Innospace-Delivery`` (the delivery's outbox id), which never changes across retries.

A webhook's body is JSON with no personal contact data (event, notice id, occurred_at, the
tenancy's id and state, the firm's id, name and USCC, the space), signed as
``X-Innospace-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`` with
``X-Innospace-Timestamp`` (Unix seconds). Receivers recompute the HMAC over the raw body,
compare in constant time and refuse a stale timestamp. Production endpoints should be https:
over http the body and signature travel in clear text.

Secrets and robot keys (the ``key`` / ``access_token`` in a robot's URL) are never printed
after creation nor logged: everything shown goes through :func:`redact_url`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy import Connection, Table
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.effects import outbox_row
from db.tables import IntegrationEndpoint, OutboxMessage, Tenancy
from lifecycle.errors import InvalidInput

log = logging.getLogger("innospace.integrations")

WEBHOOK = "webhook"
WECOM = "wecom"
DINGTALK = "dingtalk"
KINDS = (WEBHOOK, WECOM, DINGTALK)
ROBOT_KINDS = (WECOM, DINGTALK)
#: The notices a robot receives: the operators' copy (the ones e-mailed to operators_address).
ROBOT_AUDIENCES = frozenset({"operators"})
NOTICE_AUDIENCES = frozenset({"firm", "manager", "operators"})
URL_MAX = 2000
#: A robot's markdown is capped by the services (WeCom: 4096 bytes of UTF-8); longer is cut.
ROBOT_TEXT_MAX_BYTES = 4000

ENDPOINTS: Table = IntegrationEndpoint.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
TENANCIES: Table = Tenancy.__table__  # type: ignore[attr-defined]


# ---- URLs and secrets ----------------------------------------------------------------------
def redact_url(url: str) -> str:
    """``url`` as it may be shown or logged: no query (a robot's key lives there), no
    password; ``?***`` marks a query that was removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return shown + ("?***" if parts.query else "")


def check_url(url: str) -> str:
    """The URL, refused unless it is an absolute http(s) URL with a host (the refusal quotes
    it redacted). https is what production should use; http is accepted for a receiver on the
    same host or a trusted network."""
    text = url.strip()
    shown = redact_url(text)
    if len(text) > URL_MAX:
        raise InvalidInput("url", f"must be at most {URL_MAX} characters", shown)
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise InvalidInput("url", "must not contain spaces or control characters", shown)
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:
        raise InvalidInput("url", "is not a valid URL", shown) from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url", "只接受 http(s) 地址 / must be an http or https URL", shown)
    if not host:
        raise InvalidInput("url", "must name a host", shown)
    if parts.fragment:
        raise InvalidInput("url", "must not carry a #fragment", shown)
    try:
        httpx.URL(text)
    except (httpx.InvalidURL, ValueError):
        raise InvalidInput("url", "is not a valid URL", shown) from None
    return text


def is_plain_http(url: str) -> bool:
    return urlsplit(url).scheme == "http"


def new_secret() -> str:
    """A webhook signing secret: 256 random bits."""
    return "whsec_" + secrets.token_urlsafe(32)


def check_events(events: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    """The message keys an endpoint takes (comma-separated values are split), each known."""
    out: list[str] = []
    for item in events:
        for key in (k.strip() for k in item.split(",")):
            if not key:
                continue
            if key not in known:
                raise InvalidInput("events", "must be message keys (innospace templates list)", key)
            if key not in out:
                out.append(key)
    return tuple(out)


# ---- signatures ----------------------------------------------------------------------------
def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_webhook(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (and the tests): recompute, compare in constant time."""
    return hmac.compare_digest(webhook_signature(secret, timestamp, body), signature)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")); the URL
    carries it percent-encoded as ``sign`` beside ``timestamp`` (milliseconds)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    mac = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


# ---- what is sent --------------------------------------------------------------------------
def event_payload(
    *,
    message: str,
    notice_id: int,
    occurred_at: datetime,
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """A webhook's event: what happened to which tenancy, no personal contact data (the
    firm's contact name, e-mail and phone, its account manager stay out)."""
    firm = context.get("firm") or {}
    space = context.get("space") or {}
    tenancy = context.get("tenancy") or {}
    return {
        "event": message,
        "notice_id": notice_id,
        "occurred_at": occurred_at.isoformat(),
        "tenancy": {"id": tenancy.get("id"), "state": tenancy.get("state")},
        "firm": {"id": firm.get("id"), "name": firm.get("name"), "uscc": firm.get("uscc")},
        "space": {"code": space.get("code"), "name": space.get("name")},
    }


def robot_body(kind: str, subject: str, text: str) -> dict[str, Any]:
    """The markdown message each robot accepts."""
    content = f"### {subject}\n\n{text}".strip()
    if len(content.encode()) > ROBOT_TEXT_MAX_BYTES:
        cut = content.encode()[: ROBOT_TEXT_MAX_BYTES - 3]
        content = cut.decode("utf-8", "ignore") + "…"
    if kind == WECOM:
        return {"msgtype": "markdown", "markdown": {"content": content}}
    if kind == DINGTALK:
        return {"msgtype": "markdown", "markdown": {"title": subject[:100], "text": content}}
    raise ValueError(f"not a robot kind: {kind!r}")


# ---- fan-out (in the relay's claim transaction) --------------------------------------------
@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    space_id: int
    kind: str
    url: str
    secret: str | None
    events: tuple[str, ...]
    disabled: bool

    @property
    def shown(self) -> str:
        return f"{self.kind} #{self.id} {redact_url(self.url)}"


def load_endpoints(
    conn: Connection, ids: Sequence[int] | None = None, *, enabled_only: bool = False
) -> dict[int, Endpoint]:
    e = ENDPOINTS.c
    stmt = core_select(e.id, e.space_id, e.kind, e.url, e.secret, e.events, e.disabled_at)
    if ids is not None:
        stmt = stmt.where(e.id.in_(list(ids)))
    if enabled_only:
        stmt = stmt.where(e.disabled_at.is_(None))
    return {
        r.id: Endpoint(
            r.id,
            r.space_id,
            r.kind,
            r.url,
            r.secret,
            tuple(r.events or ()),
            r.disabled_at is not None,
        )
        for r in conn.execute(stmt)
    }


def _event_key(dedupe_key: str, message: str, audience: str) -> str:
    """The notice's dedupe key without its audience: the same event told to the firm and to
    the operators is one event."""
    prefix = f"{message}:{audience}:"
    return (
        message + ":" + dedupe_key[len(prefix) :] if dedupe_key.startswith(prefix) else dedupe_key
    )


def fan_out(conn: Connection, notices: Sequence[Any], now: datetime) -> int:
    """Queue a delivery per matching, enabled endpoint of each notice's space; returns how
    many rows were new. ``notices``: claimed outbox rows (id, dedupe_key, message, audience,
    locale, context, tenancy_id, firm_id, created_at)."""
    notices = [n for n in notices if n.tenancy_id is not None and n.audience in NOTICE_AUDIENCES]
    if not notices:
        return 0
    endpoints = load_endpoints(conn, enabled_only=True)
    if not endpoints:
        return 0
    spaces: dict[int, int] = {
        r.id: r.space_id
        for r in conn.execute(
            core_select(TENANCIES.c.id, TENANCIES.c.space_id).where(
                TENANCIES.c.id.in_(sorted({n.tenancy_id for n in notices}))
            )
        )
    }
    by_space: dict[int, list[Endpoint]] = {}
    for endpoint in endpoints.values():
        by_space.setdefault(endpoint.space_id, []).append(endpoint)
    rows: dict[str, dict[str, Any]] = {}
    for n in notices:
        for endpoint in by_space.get(spaces.get(n.tenancy_id, -1), ()):
            if endpoint.events and n.message not in endpoint.events:
                continue
            context = dict(n.context or {})
            if endpoint.kind == WEBHOOK:
                event = _event_key(n.dedupe_key, n.message, n.audience)
                payload = event_payload(
                    message=n.message,
                    notice_id=n.id,
                    occurred_at=n.created_at,
                    context=context,
                )
                context = {"endpoint_id": endpoint.id, "notice_id": n.id, "event": payload}
            elif n.audience in ROBOT_AUDIENCES:
                event = n.dedupe_key
                context = {
                    **context,
                    "endpoint_id": endpoint.id,
                    "notice_id": n.id,
                    "notice_audience": n.audience,
                }
            else:
                continue
            digest = hashlib.sha256(event.encode()).hexdigest()[:40]
            key = f"{endpoint.kind}:{endpoint.id}:{digest}"
            if key not in rows:
                rows[key] = outbox_row(
                    key,
                    n.message,
                    tenancy_id=n.tenancy_id,
                    firm_id=n.firm_id,
                    audience=endpoint.kind,
                    locale=n.locale,
                    context=context,
                    now=now,
                )
    if not rows:
        return 0
    stmt: Any = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(OUTBOX)
    # RETURNING: the rows new (a row count is not reliable for this statement on psycopg).
    # In key order: two relays inserting overlapping keys take their locks in the same order.
    done = conn.execute(
        stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OUTBOX.c.id),
        [rows[key] for key in sorted(rows)],
    )
    return len(done.all())


# ---- delivery ------------------------------------------------------------------------------
class DeliveryFailed(Exception):
    """This delivery failed (retry or dead, by the attempts). ``unreachable``: the endpoint
    could not be reached at all, so the batch's other rows for it wait too."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class HttpSettings:
    """Outbound HTTP: seconds to connect and to wait for each read/write; ``trust_env``: use
    the HTTP(S)_PROXY / NO_PROXY of the environment."""

    connect_timeout: float = 5.0
    timeout: float = 10.0
    trust_env: bool = True
    user_agent: str = "innospace-relay/1"


class HttpChannel:
    """One httpx client for one relay batch; :meth:`deliver` sends one delivery."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self._client: httpx.Client | None = None
        redact_http_logs()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            s = self.settings
            self._client = httpx.Client(
                timeout=httpx.Timeout(s.timeout, connect=s.connect_timeout),
                follow_redirects=False,
                trust_env=s.trust_env,
                headers={"User-Agent": s.user_agent},
            )
        return self._client

    def deliver(
        self,
        endpoint: Endpoint,
        *,
        delivery_id: int,
        now: datetime,
        event: Mapping[str, Any] | None = None,
        robot: Mapping[str, Any] | None = None,
    ) -> None:
        """POST one delivery; raise :class:`DeliveryFailed` (never with the URL's key)."""
        body = orjson.dumps(event if endpoint.kind == WEBHOOK else robot)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            url = httpx.URL(endpoint.url)
        except (httpx.InvalidURL, ValueError):
            raise DeliveryFailed("the endpoint's URL is not valid") from None
        if endpoint.kind == WEBHOOK:
            timestamp = str(int(now.timestamp()))
            headers["X-Innospace-Timestamp"] = timestamp
            headers["X-Innospace-Signature"] = webhook_signature(
                endpoint.secret or "", timestamp, body
            )
            headers["X-Innospace-Delivery"] = str(delivery_id)
        elif endpoint.kind == DINGTALK and endpoint.secret:
            millis = int(now.timestamp() * 1000)
            url = url.copy_merge_params(
                {"timestamp": str(millis), "sign": dingtalk_sign(endpoint.secret, millis)}
            )
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as err:
            raise DeliveryFailed(f"timeout: {type(err).__name__}", unreachable=True) from None
        except httpx.HTTPError as err:  # connection, protocol, invalid URL ...
            detail = _scrub(str(err), endpoint)
            raise DeliveryFailed(f"{type(err).__name__}: {detail}", unreachable=True) from None
        status = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        if not 200 <= response.status_code < 300:
            hint = " (redirects are not followed)" if response.is_redirect else ""
            raise DeliveryFailed(status + hint)
        if endpoint.kind in ROBOT_KINDS:
            _robot_reply(endpoint, response, status)


def _robot_reply(endpoint: Endpoint, response: httpx.Response, status: str) -> None:
    """WeCom and DingTalk answer HTTP 200 even to a refused message: ``errcode`` 0 is the
    only success."""
    try:
        reply = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise DeliveryFailed(f"{status}: reply is not JSON") from None
    code = reply.get("errcode") if isinstance(reply, dict) else None
    if code != 0:
        message = _scrub(str(reply.get("errmsg", "")) if isinstance(reply, dict) else "", endpoint)
        raise DeliveryFailed(f"{status}: {endpoint.kind} errcode {code}: {message[:200]}")


def _scrub(text: str, endpoint: Endpoint) -> str:
    """``text`` without the endpoint's URL, its query, any value of the query (a robot's
    key) or its secret: an error message may quote them."""
    parts = urlsplit(endpoint.url)
    values = [v for _, v in parse_qsl(parts.query) if len(v) >= 4]
    for hidden in sorted({endpoint.url, parts.query, endpoint.secret or "", *values}, key=len)[
        ::-1
    ]:
        if hidden:
            text = text.replace(hidden, "***")
    return text


class _RedactedUrls(logging.Filter):
    """httpx logs every request's full URL at INFO ("HTTP Request: POST <url> ..."): a
    robot's key would reach the log. Its URL arguments are shown redacted instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


_URL_FILTER = _RedactedUrls()


def redact_http_logs() -> None:
    """Install the filter on httpx's logger (idempotent)."""
    logger = logging.getLogger("httpx")
    if _URL_FILTER not in logger.filters:
        logger.addFilter(_URL_FILTER)
