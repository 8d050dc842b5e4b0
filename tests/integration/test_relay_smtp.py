"""The outbox relay against a real SMTP server (aiosmtpd) and a real database file.

Each test builds a SQLite file in tmp_path, inserts firms and outbox rows directly, runs
``Relay.run_once`` with a fixed clock and checks what the server received and what the
database says afterwards. One test runs two relays at once on PostgreSQL.
"""

from __future__ import annotations

import email
import os
import random
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select

from db.engine import make_engine
from db.tables import Firm, InboxItem, MessageTemplate, OutboxMessage, Space, Tenancy, User
from entrypoints.bootstrap import HANDLERS
from lifecycle.clock import FixedClock
from lifecycle.errors import InvalidTemplate
from notifications.catalog import samples
from notifications.channels import SmtpSettings, inbox_for, message_id
from notifications.outbox import outbox_list
from notifications.overrides import save_override
from notifications.relay import Relay
from notifications.render import Renderer
from workflows.commands import MarkInboxRead, RetryNotices
from workflows.service import Service

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
OPS = "ops@innospace.local"


# ---- SMTP server ---------------------------------------------------------------------------
class Collector:
    """aiosmtpd handler: keeps every message, refuses the addresses in ``reject`` with 550."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.raw: list[bytes] = []  # the bytes as they travelled
        self.reject: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
            self.raw.append(envelope.content)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = Collector()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    srv = SmtpServer(free_port())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def down_server() -> Iterator[SmtpServer]:
    """A port with nobody listening yet; ``start()`` brings the server up on it."""
    srv = SmtpServer(free_port())
    yield srv
    srv.stop()


# ---- database ------------------------------------------------------------------------------
@pytest.fixture
def engine(tmp_path: Any) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path}/t.db")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


class World:
    """A space, firms and tenancies; ``add`` queues outbox rows the way Work.notify does."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = FixedClock(T0)
        with Session(engine) as s:
            space = Space(code="wj-med", name="成都医学城三医创新中心", created_at=T0)
            s.add(space)
            s.add(
                User(
                    username="wangf",
                    display_name="王芳",
                    role="manager",
                    email="wangfang@innospace.local",
                    created_at=T0,
                )
            )
            s.commit()
            self.space_id = space.id
        self.firms: dict[str, tuple[int, int]] = {}

    def firm(self, name: str, email_address: str | None, locale: str = "zh-CN") -> str:
        with Session(self.engine) as s:
            firm = Firm(
                name=name,
                uscc=f"9151010{len(self.firms):011d}",
                industry="pharma",
                contact_name="李明",
                contact_email=email_address,
                account_manager="王芳",
                locale=locale,
                created_at=T0,
            )
            s.add(firm)
            s.flush()
            tenancy = Tenancy(
                firm_id=firm.id,
                space_id=self.space_id,
                state="active",  # type: ignore[arg-type]
                created_at=T0,
                updated_at=T0,
            )
            s.add(tenancy)
            s.commit()
            self.firms[name] = (firm.id, tenancy.id)  # type: ignore[assignment]
        return name

    def add(
        self,
        firm: str,
        message: str,
        *,
        audience: str = "firm",
        context: dict[str, Any] | None = None,
        key: str = "1",
    ) -> int:
        firm_id, tenancy_id = self.firms[firm]
        with Session(self.engine) as s:
            row = s.get(Firm, firm_id)
            assert row is not None
            ctx = dict(
                context
                if context is not None
                else next(c for a, c in samples(message) if a == audience)
            )
            ctx["firm"] = {
                "id": firm_id,
                "name": row.name,
                "uscc": row.uscc,
                "contact_name": row.contact_name,
                "email": row.contact_email,
                "account_manager": row.account_manager,
            }
            out = OutboxMessage(
                dedupe_key=f"{message}:{audience}:{tenancy_id}:{key}",
                message=message,
                tenancy_id=tenancy_id,
                firm_id=firm_id,
                audience=audience,
                locale=row.locale,
                context=ctx,
                next_attempt_at=self.clock.now(),
                created_at=self.clock.now(),
            )
            s.add(out)
            s.commit()
            assert out.id is not None
            return out.id

    def row(self, outbox_id: int) -> OutboxMessage:
        with Session(self.engine) as s:
            row = s.get(OutboxMessage, outbox_id)
            assert row is not None
            return row

    def inbox(self, outbox_id: int | None = None) -> list[InboxItem]:
        with Session(self.engine) as s:
            stmt = select(InboxItem)
            if outbox_id is not None:
                stmt = stmt.where(InboxItem.outbox_id == outbox_id)
            return list(s.exec(stmt).all())

    def relay(self, port: int | None, **kwargs: Any) -> Relay:
        smtp = (
            None
            if port is None
            else SmtpSettings(
                host="127.0.0.1",
                port=port,
                operators_address=kwargs.pop("operators", OPS),
                timeout=5,
            )
        )
        return Relay(
            self.engine,
            kwargs.pop("renderer", Renderer()),
            smtp,
            self.clock,
            rng=random.Random(7),
            **kwargs,
        )


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


# ---- tests ---------------------------------------------------------------------------------
def test_a_batch_goes_out_with_headers_bodies_and_inbox_items(
    world: World, server: SmtpServer
) -> None:
    world.firm("成都蓉医生物科技有限公司", "liming@rongyi.example")
    world.firm("Chengdu Biotech", "ceo@cdbio.example", locale="en")
    notice = world.add("成都蓉医生物科技有限公司", "exit_notice")
    escalation = world.add("成都蓉医生物科技有限公司", "vacate_overdue", audience="manager")
    english = world.add("Chengdu Biotech", "admitted")

    report = world.relay(server.port).run_once()

    assert (report.claimed, report.delivered, report.retried, report.dead) == (3, 3, 0, 0)
    [mail] = server.handler.to("liming@rongyi.example")
    assert mail["Subject"] == "【成都医学城三医创新中心】退出告知书"  # RFC 2047 decoded back
    assert mail["From"] == "innospace <noreply@innospace.local>"
    assert mail["To"].addresses[0].addr_spec == "liming@rongyi.example"
    assert mail["To"].addresses[0].display_name == "李明"
    row = world.row(notice)
    assert mail["Message-ID"] == message_id(notice, row.dedupe_key, "innospace.local")
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert "四、救济途径" in plain.get_content() and "<h3" in html.get_content()
    [manager_mail] = server.handler.to("wangfang@innospace.local")  # found via the users table
    assert "逾期未腾退" in manager_mail["Subject"]
    [en_mail] = server.handler.to("ceo@cdbio.example")
    assert en_mail["Subject"] == "[成都医学城三医创新中心] You are admitted"
    assert row.status == "sent" and row.attempts == 1 and row.sent_at == T0
    assert row.last_error is None
    [firm_item] = world.inbox(notice)
    assert firm_item.firm_id == row.firm_id and firm_item.audience == "firm"
    assert firm_item.subject == mail["Subject"] and "陈述和申辩" in firm_item.body
    [staff_item] = world.inbox(escalation)
    assert staff_item.firm_id is None and staff_item.audience == "manager"
    assert world.row(english).status == "sent"


def test_the_chinese_subject_travels_rfc2047_encoded(world: World, server: SmtpServer) -> None:
    world.firm("蓉医", "a@rongyi.example")
    world.add("蓉医", "review_opened")
    world.relay(server.port).run_once()
    [(_, mail)] = server.handler.messages
    [raw] = server.handler.raw
    assert raw.isascii()  # headers RFC 2047-encoded, bodies base64: safe on any relay
    subject_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in subject_line
    assert mail["Subject"] == "【成都医学城三医创新中心】2026年度考核已启动"


def test_server_down_retries_with_backoff_then_delivers_exactly_once(
    world: World, down_server: SmtpServer
) -> None:
    world.firm("蓉医", "a@rongyi.example")
    outbox_id = world.add("蓉医", "admitted")
    relay = world.relay(down_server.port)

    report = relay.run_once()

    assert (report.claimed, report.retried, report.delivered) == (1, 1, 0)
    row = world.row(outbox_id)
    assert row.status == "pending" and row.attempts == 1
    assert "ConnectionRefusedError" in (row.last_error or "")
    delay = (row.next_attempt_at - T0).total_seconds()
    assert 30 * 2 * 0.8 <= delay <= 30 * 2 * 1.2  # base * 2**attempts ± 20 %
    assert len(world.inbox(outbox_id)) == 1  # the in-app copy does not wait for email
    assert relay.run_once().claimed == 0  # not due yet

    down_server.start()
    world.clock.advance(timedelta(minutes=2))
    report = relay.run_once()

    assert (report.claimed, report.delivered) == (1, 1)
    assert len(down_server.handler.messages) == 1
    assert len(world.inbox(outbox_id)) == 1
    row = world.row(outbox_id)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    world.clock.advance(timedelta(hours=1))
    assert relay.run_once().claimed == 0


def test_a_relay_killed_after_sending_sends_no_second_email(
    world: World, server: SmtpServer
) -> None:
    """Each e-mail is marked sent (with its inbox item) before the server accepts it, so a
    relay that dies after sending leaves nothing to send again."""
    world.firm("蓉医", "a@rongyi.example")
    world.firm("无邮箱", None)
    outbox_id = world.add("蓉医", "review_result")
    in_app = world.add("无邮箱", "admitted")
    relay = world.relay(server.port)

    def crash(ids: list[int]) -> None:
        raise SystemExit("killed")

    relay.after_send = crash
    with pytest.raises(SystemExit):
        relay.run_once()
    assert len(server.handler.messages) == 1 and len(world.inbox(outbox_id)) == 1
    assert world.row(outbox_id).status == "sent"
    leased = world.row(in_app)  # not marked yet: still leased to the dead relay
    assert leased.status == "pending" and leased.next_attempt_at == T0 + timedelta(minutes=5)

    relay.after_send = None
    assert relay.run_once().claimed == 0  # still leased to the dead relay
    world.clock.advance(timedelta(minutes=6))
    assert relay.run_once().delivered == 1
    assert relay.run_once(world.clock.now() + timedelta(days=1)).claimed == 0

    assert len(server.handler.messages) == 1  # no second copy of the e-mailed notice
    assert len(world.inbox(outbox_id)) == 1 and len(world.inbox(in_app)) == 1
    assert world.row(in_app).status == "sent"


def test_a_refused_recipient_fails_only_its_row(world: World, server: SmtpServer) -> None:
    world.firm("甲", "bad@a.example")
    world.firm("乙", "good@b.example")
    server.handler.reject.add("bad@a.example")
    refused = world.add("甲", "admitted")
    fine = [world.add("乙", "admitted"), world.add("乙", "review_opened")]
    relay = world.relay(server.port, max_attempts=2)

    report = relay.run_once()

    assert (report.delivered, report.retried, report.dead) == (2, 1, 0)
    assert len(server.handler.to("good@b.example")) == 2
    row = world.row(refused)
    assert row.status == "pending" and "550" in (row.last_error or "")
    assert all(world.row(i).status == "sent" for i in fine)

    world.clock.advance(timedelta(minutes=10))
    report = relay.run_once()

    assert report.dead == 1
    row = world.row(refused)
    assert row.status == "dead" and row.attempts == 2
    assert "bad@a.example refused: 550" in (row.last_error or "")
    assert len(world.inbox(refused)) == 1  # the firm still has the notice in-app


def test_a_missing_address_still_delivers_in_app(world: World, server: SmtpServer) -> None:
    world.firm("无邮箱", None)
    firm_row = world.add("无邮箱", "admitted")
    ops_row = world.add("无邮箱", "reinspection_result", audience="operators")

    report = world.relay(server.port, operators=None).run_once()

    assert report.delivered == 2 and server.handler.messages == []
    row = world.row(firm_row)
    assert (
        row.status == "sent" and row.last_error == "email not sent: the firm has no contact email"
    )
    assert "operators_address" in (world.row(ops_row).last_error or "")
    assert len(world.inbox(firm_row)) == 1 and len(world.inbox(ops_row)) == 1


def test_without_smtp_everything_goes_to_the_inbox(world: World) -> None:
    world.firm("蓉医", "a@rongyi.example")
    outbox_id = world.add("蓉医", "graduation")
    assert world.relay(None).run_once().delivered == 1
    assert world.row(outbox_id).last_error is None and len(world.inbox(outbox_id)) == 1


def test_a_template_error_kills_its_row_and_the_batch_goes_on(
    world: World, server: SmtpServer
) -> None:
    world.firm("蓉医", "a@rongyi.example")
    broken = world.add("蓉医", "admitted", context={"period": "10个工作日"})  # no sign_by
    unknown = world.add("蓉医", "no_such_message", context={})
    fine = world.add("蓉医", "review_opened")

    report = world.relay(server.port).run_once()

    assert (report.delivered, report.dead) == (1, 2)
    row = world.row(broken)
    assert row.status == "dead" and row.attempts == 1
    assert (row.last_error or "").startswith("template: zh-CN/admitted") and "sign_by" in (
        row.last_error or ""
    )
    assert "not in the message catalog" in (world.row(unknown).last_error or "")
    assert world.inbox(broken) == [] and len(world.inbox(fine)) == 1
    assert len(server.handler.messages) == 1


def test_max_attempts_then_dead_then_operator_retry(world: World, down_server: SmtpServer) -> None:
    world.firm("蓉医", "a@rongyi.example")
    outbox_id = world.add("蓉医", "admitted")
    relay = world.relay(down_server.port, max_attempts=3)
    delays = []
    for _ in range(3):
        relay.run_once()
        row = world.row(outbox_id)
        delays.append((row.next_attempt_at - world.clock.now()).total_seconds())
        world.clock.advance(timedelta(hours=1))
    row = world.row(outbox_id)
    assert row.status == "dead" and row.attempts == 3
    assert "ConnectionRefusedError" in (row.last_error or "")
    assert delays[0] < delays[1]  # 60 s, then 120 s (± 20 %)
    assert relay.run_once().claimed == 0

    with Session(world.engine) as s:
        [listed] = outbox_list(s, status="dead")
        assert listed["id"] == outbox_id and listed["attempts"] == 3
    service = Service(world.engine, world.clock, HANDLERS)
    assert service.handle(RetryNotices(all_dead=True)) == 1
    down_server.start()
    assert relay.run_once().delivered == 1
    assert len(down_server.handler.messages) == 1 and len(world.inbox(outbox_id)) == 1


def test_inbox_for_and_mark_read(world: World) -> None:
    world.firm("蓉医", "a@rongyi.example")
    world.firm("other", None)
    ids = [
        world.add("蓉医", "admitted"),
        world.add("蓉医", "review_opened"),
        world.add("other", "admitted"),
    ]
    world.relay(None).run_once()
    firm_id = world.firms["蓉医"][0]
    with Session(world.engine) as s:
        items = inbox_for(s, firm_id)
        assert [i.outbox_id for i in items] == [ids[1], ids[0]]  # newest first
        other = inbox_for(s, world.firms["other"][0])[0]
    read = MarkInboxRead(item_ids=(items[0].id, other.id), firm_id=firm_id)  # type: ignore[arg-type]
    assert Service(world.engine, world.clock, HANDLERS).handle(read) == 1  # the firm's own only
    with Session(world.engine) as s:
        assert [i.outbox_id for i in inbox_for(s, firm_id, unread_only=True)] == [ids[0]]


def test_the_relay_uses_the_newest_saved_override(world: World, server: SmtpServer) -> None:
    world.firm("蓉医", "a@rongyi.example")
    renderer = Renderer()
    with Session(world.engine) as s:
        assert (
            save_override(
                s,
                "admitted",
                "zh-CN",
                "subject",
                "旧版 {{ firm.name }}",
                "ops1",
                T0,
                renderer=renderer,
            )
            == 1
        )
        assert (
            save_override(
                s,
                "admitted",
                "zh-CN",
                "subject",
                "准入通知：{{ firm.name }}",
                "ops1",
                T0,
                renderer=renderer,
            )
            == 2
        )
        with pytest.raises(InvalidTemplate, match="unsafe"):
            save_override(
                s,
                "admitted",
                "zh-CN",
                "subject",
                "{{ ''.__class__ }}",
                "ops1",
                T0,
                renderer=renderer,
            )
        with pytest.raises(InvalidTemplate, match="sign_on"):
            save_override(
                s, "admitted", "zh-CN", "text", "{{ sign_on }}", "ops1", T0, renderer=renderer
            )
        s.commit()
        assert len(s.exec(select(MessageTemplate)).all()) == 2  # nothing stored on error
    world.add("蓉医", "admitted")
    world.relay(server.port, renderer=renderer).run_once()
    [(_, mail)] = server.handler.messages
    assert mail["Subject"] == "准入通知：蓉医"


# ---- PostgreSQL ----------------------------------------------------------------------------
@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    url = os.environ.get("INNOSPACE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set INNOSPACE_TEST_POSTGRES_URL to run the PostgreSQL relay tests")
    name = f"innospace_relay_test_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    SQLModel.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_relays_skip_locked_rows_and_share_the_work(
    pg_engine: Engine, server: SmtpServer
) -> None:
    world = World(pg_engine)
    world.firm("蓉医", "a@rongyi.example")
    ids = [world.add("蓉医", "review_opened", key=str(i)) for i in range(120)]

    # A row locked by another transaction is skipped, not waited for.
    with pg_engine.connect() as locker:
        locker.execute(text("SELECT id FROM outbox WHERE id = :id FOR UPDATE"), {"id": ids[0]})
        report = world.relay(None, batch_size=500).run_once()
        assert report.claimed == 119
        locker.rollback()
    assert world.row(ids[0]).status == "pending"

    more = [world.add("蓉医", "admitted", key=f"m{i}") for i in range(160)]
    relays = [world.relay(server.port, batch_size=20) for _ in range(2)]
    reports = []
    threads = [threading.Thread(target=lambda r=r: reports.append(r.run_once())) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sum(r.delivered for r in reports) == 161 and all(r.claimed for r in reports)
    sent_ids = [m["X-Innospace-Outbox-Id"] for _, m in server.handler.messages]
    assert sorted(int(i) for i in sent_ids) == sorted([ids[0], *more])  # each exactly once
    with Session(pg_engine) as s:
        assert len(s.exec(select(InboxItem)).all()) == 280
        rows = s.exec(select(OutboxMessage)).all()
        assert all(r.status == "sent" and r.attempts == 1 for r in rows)
