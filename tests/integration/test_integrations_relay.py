"""Webhooks and WeCom / DingTalk robots through the outbox relay, against a local HTTP server.

The receiver is a stdlib ``http.server`` on the loopback interface that records every request
and answers what the test tells it to — never the real services. The database is the
migrated SQLite file or PostgreSQL database of ``tests/conftest.py``; the clock is fixed and
moved by hand, as in ``test_relay_smtp.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from http_receiver import Receiver, receiver_fixture  # noqa: F401  (the fixture)
from sqlalchemy import Engine
from sqlmodel import Session, select

from db.tables import Firm, InboxItem, OutboxMessage, Space, Tenancy
from lifecycle.clock import FixedClock
from notifications.catalog import samples
from notifications.integrations import HttpSettings, verify_webhook
from notifications.relay import Relay
from notifications.render import Renderer
from workflows import integrations as hooks
from workflows.service import Service

KEY = "robotkey-5f0c1e29"  # a robot's key, in its URL's query: never shown after creation
DING_SECRET = "SECd1ngs3cr3t0123456789"


# ---- the world --------------------------------------------------------------------------------
class World:
    """Two spaces, a firm resident in the first; ``notice`` queues an outbox row the way
    ``Effects.notify`` does (same dedupe key shape and context)."""

    def __init__(self, engine: Engine, service: Service, clock: FixedClock) -> None:
        self.engine, self.service, self.clock = engine, service, clock
        now = clock.now()
        with Session(engine) as s:
            space = Space(code="MC3", name="成都医学城三医创新中心", created_at=now)
            other = Space(code="HX", name="海峡中小企业孵化园", created_at=now)
            firm = Firm(
                name="峰际生物",
                uscc="91510115MA6CX1A2B2",
                industry="pharma",
                contact_name="李明",
                contact_email="liming@fengji.example",
                contact_phone="13800000000",
                account_manager="王芳",
                created_at=now,
            )
            s.add_all([space, other, firm])
            s.flush()
            tenancy = Tenancy(
                firm_id=firm.id,  # type: ignore[arg-type]
                space_id=space.id,  # type: ignore[arg-type]
                state="active",
                created_at=now,
                updated_at=now,
            )
            s.add(tenancy)
            s.commit()
            self.firm_id, self.tenancy_id = int(firm.id), int(tenancy.id)  # type: ignore[arg-type]

    def add(self, kind: str, url: str, **kwargs: Any) -> dict[str, Any]:
        space = kwargs.pop("space", "MC3")
        return dict(
            self.service.handle(hooks.AddEndpoint(space=space, kind=kind, url=url, **kwargs))
        )

    def notice(self, message: str, audience: str = "firm", key: str = "1") -> int:
        ctx = dict(next(c for a, c in samples(message) if a == audience))
        ctx["firm"] = {
            "id": self.firm_id,
            "name": "峰际生物",
            "uscc": "91510115MA6CX1A2B2",
            "contact_name": "李明",
            "email": "liming@fengji.example",
            "account_manager": "王芳",
        }
        ctx["space"] = {"code": "MC3", "name": "成都医学城三医创新中心"}
        ctx["tenancy"] = {"id": self.tenancy_id, "state": "active"}
        with Session(self.engine) as s:
            row = OutboxMessage(
                dedupe_key=f"{message}:{audience}:{self.tenancy_id}:{key}",
                message=message,
                tenancy_id=self.tenancy_id,
                firm_id=self.firm_id,
                audience=audience,
                context=ctx,
                next_attempt_at=self.clock.now(),
                created_at=self.clock.now(),
            )
            s.add(row)
            s.commit()
            return int(row.id)  # type: ignore[arg-type]

    def rows(self, audience: str) -> list[OutboxMessage]:
        with Session(self.engine) as s:
            stmt = select(OutboxMessage).where(OutboxMessage.audience == audience)
            return list(s.exec(stmt.order_by(OutboxMessage.id)).all())  # type: ignore[arg-type]

    def inbox_outbox_ids(self) -> set[int]:
        with Session(self.engine) as s:
            return {i.outbox_id for i in s.exec(select(InboxItem)).all()}

    def relay(self, **kwargs: Any) -> Relay:
        return Relay(
            self.engine,
            Renderer(),
            None,
            self.clock,
            rng=random.Random(7),
            http=HttpSettings(timeout=5, connect_timeout=2, trust_env=False),
            **kwargs,
        )


@pytest.fixture
def world(engine: Engine, service: Service, clock: FixedClock) -> World:
    return World(engine, service, clock)


# ---- webhooks ---------------------------------------------------------------------------------
def test_a_webhook_delivery_is_signed_timestamped_and_carries_no_contact_data(
    world: World, receiver: Receiver
) -> None:
    hook = world.add("webhook", receiver.url())
    secret = hook["signing_key"]
    notice = world.notice("exit_notice")

    report = world.relay().run_once()

    assert (report.queued, report.delivered, report.retried, report.dead) == (1, 2, 0, 0)
    [req] = receiver.requests
    [delivery] = world.rows("webhook")
    timestamp = req.headers["X-Innospace-Timestamp"]
    assert timestamp == str(int(world.clock.now().timestamp()))
    signature = req.headers["X-Innospace-Signature"]
    assert signature.startswith("v1=")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + req.body, hashlib.sha256)
    assert signature == "v1=" + expected.hexdigest()
    assert verify_webhook(secret, timestamp, req.body, signature)
    assert not verify_webhook("whsec_wrong", timestamp, req.body, signature)
    assert req.headers["X-Innospace-Delivery"] == str(delivery.id)
    assert req.headers["Content-Type"].startswith("application/json")
    body = req.json()
    assert body == {
        "event": "exit_notice",
        "notice_id": notice,
        "occurred_at": world.clock.now().isoformat(),
        "tenancy": {"id": world.tenancy_id, "state": "active"},
        "firm": {"id": world.firm_id, "name": "峰际生物", "uscc": "91510115MA6CX1A2B2"},
        "space": {"code": "MC3", "name": "成都医学城三医创新中心"},
    }
    for personal in ("liming@fengji.example", "李明", "王芳", "13800000000"):
        assert personal.encode() not in req.body
    assert delivery.status == "sent" and delivery.attempts == 1
    assert delivery.id not in world.inbox_outbox_ids()  # a webhook is no inbox item
    assert notice in world.inbox_outbox_ids()
    assert world.relay().run_once().claimed == 0  # nothing twice


def test_one_event_told_to_several_audiences_is_one_delivery_and_filters_apply(
    world: World, receiver: Receiver
) -> None:
    world.add("webhook", receiver.url("/all"))
    world.add("webhook", receiver.url("/admitted-only"), events=("admitted",))
    world.add("webhook", receiver.url("/elsewhere"), space="HX")
    for audience in ("firm", "manager", "operators"):
        world.notice("review_overdue", audience=audience)

    world.relay().run_once()

    assert [r.path for r in receiver.requests] == ["/all"]
    assert receiver.requests[0].json()["event"] == "review_overdue"
    world.notice("admitted", key="2")
    world.relay().run_once()
    assert sorted(r.path for r in receiver.requests[1:]) == ["/admitted-only", "/all"]


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(
    world: World, receiver: Receiver
) -> None:
    world.add("webhook", receiver.url())
    world.notice("admitted")
    receiver.status = 500
    relay = world.relay(max_attempts=3)
    start = world.clock.now()

    report = relay.run_once()

    assert (report.queued, report.retried, report.dead) == (1, 1, 0)
    [row] = world.rows("webhook")
    assert row.status == "pending" and row.attempts == 1
    assert "HTTP 500" in (row.last_error or "")
    delay = (row.next_attempt_at - start).total_seconds()
    assert 30 * 2 * 0.8 <= delay <= 30 * 2 * 1.2  # base * 2**attempts ± 20 %, as for e-mail
    assert relay.run_once().claimed == 0  # not due yet

    for attempts in (2, 3):
        world.clock.advance(timedelta(hours=1))
        relay.run_once()
        [row] = world.rows("webhook")
        assert row.attempts == attempts
    assert row.status == "dead" and "HTTP 500" in (row.last_error or "")
    ids = {r.headers["X-Innospace-Delivery"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and ids == {str(row.id)}  # receivers dedupe on it
    world.clock.advance(timedelta(days=1))
    assert relay.run_once().claimed == 0  # a dead letter waits for an operator


def test_a_redirect_is_not_followed_and_an_unreachable_receiver_is_a_failure(
    world: World, receiver: Receiver
) -> None:
    world.add("webhook", receiver.url("/moved"))
    world.add("webhook", "http://127.0.0.1:9/nobody-listens")
    receiver.status, receiver.headers = 302, {"Location": receiver.url("/elsewhere")}
    world.notice("admitted")

    report = world.relay().run_once()

    assert (report.queued, report.retried) == (2, 2)
    assert [r.path for r in receiver.requests] == ["/moved"]
    moved, nobody = world.rows("webhook")
    assert "HTTP 302" in (moved.last_error or "") and "not followed" in (moved.last_error or "")
    assert "ConnectError" in (nobody.last_error or "")


def test_a_disabled_endpoint_gets_nothing_more(world: World, receiver: Receiver) -> None:
    hook = world.add("webhook", receiver.url())
    world.notice("admitted")
    receiver.status = 503
    world.relay().run_once()
    world.service.handle(hooks.DisableEndpoint(endpoint_id=hook["id"], kind="webhook"))
    world.notice("exit_notice")
    world.clock.advance(timedelta(hours=1))

    report = world.relay().run_once()

    assert report.queued == 0
    [row] = world.rows("webhook")
    assert row.status == "dead" and "disabled" in (row.last_error or "")
    assert len(receiver.requests) == 1


def test_a_rotated_secret_signs_the_retry(world: World, receiver: Receiver) -> None:
    hook = world.add("webhook", receiver.url())
    world.notice("admitted")
    receiver.status = 500
    world.relay().run_once()
    rotated = world.service.handle(hooks.RotateSecret(endpoint_id=hook["id"]))
    assert rotated["signing_key"] != hook["signing_key"]
    receiver.status = 204
    world.clock.advance(timedelta(hours=1))

    world.relay().run_once()

    req = receiver.requests[-1]
    ts, sig = req.headers["X-Innospace-Timestamp"], req.headers["X-Innospace-Signature"]
    assert verify_webhook(rotated["signing_key"], ts, req.body, sig)
    assert not verify_webhook(hook["signing_key"], ts, req.body, sig)
    assert world.rows("webhook")[0].status == "sent"


# ---- robots -----------------------------------------------------------------------------------
def test_wecom_and_dingtalk_get_the_operators_notices_in_their_markdown_formats(
    world: World, receiver: Receiver
) -> None:
    world.add("wecom", receiver.url(f"/cgi-bin/webhook/send?key={KEY}"))
    world.add("dingtalk", receiver.url(f"/robot/send?access_token={KEY}"), secret=DING_SECRET)
    world.notice("admitted")  # the firm's copy: no robot
    world.notice("publicity_end", audience="operators")

    report = world.relay().run_once()

    assert (report.queued, report.dead, report.retried) == (2, 0, 0)
    wecom = next(r for r in receiver.requests if r.path == "/cgi-bin/webhook/send")
    ding = next(r for r in receiver.requests if r.path == "/robot/send")
    assert len(receiver.requests) == 2
    assert wecom.query == {"key": [KEY]}
    w = wecom.json()
    assert w["msgtype"] == "markdown" and set(w["markdown"]) == {"content"}
    assert w["markdown"]["content"].startswith("### ") and "峰际生物" in w["markdown"]["content"]
    d = ding.json()
    assert d["msgtype"] == "markdown" and set(d["markdown"]) == {"title", "text"}
    assert d["markdown"]["text"].startswith(f"### {d['markdown']['title']}")
    # 加签: timestamp in ms, sign = base64(HMAC-SHA256(secret, f"{timestamp}\n{secret}"))
    assert ding.query["access_token"] == [KEY]
    [timestamp], [sign] = ding.query["timestamp"], ding.query["sign"]
    assert timestamp == str(int(world.clock.now().timestamp() * 1000))
    mac = hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256)
    assert sign == base64.b64encode(mac.digest()).decode()
    assert all(r.status == "sent" for r in world.rows("wecom") + world.rows("dingtalk"))
    assert not {r.id for r in world.rows("wecom")} & world.inbox_outbox_ids()


def test_an_errcode_is_a_failure_and_no_key_or_secret_reaches_the_logs(
    world: World, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    world.add("dingtalk", receiver.url(f"/robot/send?access_token={KEY}"), secret=DING_SECRET)
    world.add("wecom", receiver.url(f"/cgi-bin/webhook/send?key={KEY}"))
    receiver.reply = {"errcode": 310000, "errmsg": f"sign not match, more: {KEY}"}
    world.notice("publicity_end", audience="operators")
    caplog.set_level(logging.DEBUG)

    report = world.relay(max_attempts=1).run_once()

    assert (report.queued, report.dead) == (2, 2)
    for row in world.rows("dingtalk") + world.rows("wecom"):
        error = row.last_error or ""
        assert "HTTP 200" in error and "errcode 310000" in error
        assert KEY not in error and DING_SECRET not in error
        assert "?***" in error  # the URL shown without its query
    assert KEY not in caplog.text and DING_SECRET not in caplog.text
    assert "errcode 310000" in caplog.text


# ---- several relays -------------------------------------------------------------------------
def test_two_relays_at_once_deliver_each_event_once(world: World, receiver: Receiver) -> None:
    world.add("webhook", receiver.url())
    for n in range(20):  # 20 events, each told to three audiences: 60 notices
        for audience in ("firm", "manager", "operators"):
            world.notice("review_overdue", audience=audience, key=str(n))
    relays = [world.relay(batch_size=7) for _ in range(2)]
    errors: list[BaseException] = []

    def run(relay: Relay) -> None:
        try:
            relay.run_once()
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    world.relay().run_once()  # whatever was queued after both had looked

    assert not errors
    deliveries = [r.headers["X-Innospace-Delivery"] for r in receiver.requests]
    assert len(deliveries) == len(set(deliveries)) == 20
    assert all(r.status == "sent" for r in world.rows("webhook"))
    assert len({r.json()["notice_id"] for r in receiver.requests}) == 20
