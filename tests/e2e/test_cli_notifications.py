"""``innospace outbox|inbox|templates`` end to end: the real CLI on a real SQLite file, with a
real SMTP server (aiosmtpd on loopback) configured through the INNOSPACE_SMTP_* settings.

The tenancy and its notices are made by the handlers (as the lifecycle commands would); every
check afterwards goes through ``entrypoints.cli.main`` and its exit codes.
"""

from __future__ import annotations

import email
import json
import random
import shutil
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from conftest import local
from sqlmodel import Session, select

from db.engine import make_engine
from db.tables import MessageTemplate, OutboxMessage
from entrypoints.bootstrap import HANDLERS
from entrypoints.cli import main
from entrypoints.cli.common import STATE
from entrypoints.demo_data import good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows.identity import cli_actor
from workflows.service import Service
from workflows.sweeps import sweep_deadlines

SPACE = "成都医学城三医创新中心"
FIRM = "成都蓉医生物科技有限公司"
FIRM_EMAIL = "liming@rongyi-bio.example"
OPS_EMAIL = "ops@innospace.example"
SCORES = {k: float(v) for k, v in scores(0.8).items()}


# ---- SMTP ---------------------------------------------------------------------------------------
class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(parsed)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()  # not started: a test brings it up when it wants mail to flow
    yield srv
    srv.stop()


# ---- the database and the CLI -------------------------------------------------------------------
class Cli:
    def __init__(
        self,
        db: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        port: int,
    ) -> None:
        self.url = f"sqlite:///{db}"
        self.capsys, self.tmp = capsys, tmp_path
        for name in (
            "INNOSPACE_NOW",
            "INNOSPACE_DATABASE_URL",
            "INNOSPACE_SMTP_USERNAME",
            "INNOSPACE_SMTP_PASSWORD",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("INNOSPACE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("INNOSPACE_SMTP_PORT", str(port))
        monkeypatch.setenv("INNOSPACE_SMTP_MODE", "plain")
        monkeypatch.setenv("INNOSPACE_SMTP_SENDER", "成都医学城三医创新中心 <noreply@mc3.example>")
        monkeypatch.setenv("INNOSPACE_SMTP_OPERATORS_ADDRESS", OPS_EMAIL)

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            main(["--db", self.url, *args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            if STATE.app is not None:
                STATE.app.engine.dispose()
                STATE.app = None
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert code == 0, f"{args}: exit {code}: {err}"
        return out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, code: int, *args: str) -> str:
        got, _out, err = self(*args)
        assert got == code, f"{args}: exit {got}, wanted {code}: {err}"
        assert err.count("\n") == 1 and err.startswith("错误 ["), err  # one line, titled
        return err

    def file(self, name: str, text: str) -> str:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return str(path)


class World:
    """A firm admitted through the handlers; its notices wait in the outbox."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.clock = FixedClock(local(2024, 3, 4, 9, 0))
        self.service = Service(self.engine, self.clock, HANDLERS)
        self.uscc = make_uscc(random.Random(21))
        self.service.handle(c.CreateSpace(code="MC3", name=SPACE))
        firm = self.service.handle(
            c.RegisterFirm(
                name=FIRM,
                uscc=self.uscc,
                industry="pharma",
                contact_name="李明",
                contact_email=FIRM_EMAIL,
                account_manager="王芳",
            )
        )
        self.firm_id = int(firm["firm"])
        step = self.service.handle(
            c.Apply(
                firm=self.uscc,
                space="MC3",
                requested_area_m2=100,
                profile=good_profile(self.clock.now().date()),
            )
        )
        self.tenancy = t = int(step.tenancy_id)
        self.service.handle(c.Screen(tenancy_id=t))
        for reviewer in ("甲", "乙", "丙"):
            self.service.handle(c.ScoreApplication(tenancy_id=t, reviewer=reviewer, scores=SCORES))
        self.service.handle(c.Approve(tenancy_id=t))
        self.clock.set(local(2024, 3, 18, 9, 0))
        sweep_deadlines(self.service)  # 公示 over: admitted

    def broken_row(self) -> int:
        """A notice whose context lacks what its template needs (as after a bad deploy)."""
        with Session(self.engine) as s:
            row = OutboxMessage(
                dedupe_key="admitted:firm:broken",
                message="admitted",
                tenancy_id=self.tenancy,
                firm_id=self.firm_id,
                context={"firm": {"name": FIRM}},
                next_attempt_at=self.clock.now(),
                created_at=self.clock.now(),
            )
            s.add(row)
            s.commit()
            assert row.id is not None
            return row.id

    def templates(self) -> list[MessageTemplate]:
        with Session(self.engine) as s:
            return list(s.exec(select(MessageTemplate)).all())


@pytest.fixture
def world(tmp_path: Path, sqlite_template: Path) -> Iterator[World]:
    db = tmp_path / "cli.db"
    shutil.copy(sqlite_template, db)
    w = World(f"sqlite:///{db}")
    yield w
    w.engine.dispose()


@pytest.fixture
def cli(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: Server,
) -> Cli:
    return Cli(tmp_path / "cli.db", capsys, monkeypatch, tmp_path, server.port)


FIRST_NOTICES = [
    "application_received",
    "screening_result",
    "scoring_result",
    "publicity_start",
    "admitted",
]


# ---- outbox and inbox ---------------------------------------------------------------------------
def test_outbox_relay_retry_dead_letters_and_the_inbox(
    cli: Cli, world: World, server: Server
) -> None:
    pending = cli.json("outbox", "list", "--status", "pending")
    assert sorted(r["message"] for r in pending) == sorted(FIRST_NOTICES)
    broken = world.broken_row()

    # The mail server is down: in-app delivery goes ahead, e-mail waits for a retry.
    report = cli.json("outbox", "relay")
    assert report == {**report, "claimed": 6, "delivered": 0, "retried": 5, "dead": 1, "smtp": True}
    waiting = cli.json("outbox", "list", "--status", "pending")
    assert len(waiting) == 5
    assert all("ConnectionRefusedError" in r["last_error"] and r["attempts"] == 1 for r in waiting)
    dead = cli.ok("outbox", "list", "--status", "dead")
    assert f"#{broken}" in dead and "last error: template: zh-CN/admitted" in dead
    assert "lacks space, tenancy, sent_on, sign_by, period" in dead
    inbox = cli.json("inbox", world.uscc)
    assert sorted(i["message"] for i in inbox["items"]) == sorted(FIRST_NOTICES)
    assert inbox["firm"] == {"id": world.firm_id, "name": FIRM, "uscc": world.uscc}

    # Operators make the waiting rows due now; with the server up they go out, once each.
    server.start()
    ids = [str(r["id"]) for r in waiting]
    assert "5 message(s) queued" in cli.ok("outbox", "retry", *ids)
    retried = cli.json("timeline", str(world.tenancy))[-1]  # audited on the firm's tenancy
    assert (retried["trigger"], retried["actor"]) == ("notice_retried", cli_actor("operator"))
    assert sorted(n["id"] for n in retried["data"]["notices"]) == sorted(int(i) for i in ids)
    out = cli.ok("outbox", "relay")
    assert out.startswith("领取 5 · 送达 5 · 重试 0 · 放弃 0")
    assert "claimed 5 · delivered 5 · retried 0 · dead 0" in out
    assert len(server.mailbox.messages) == 5
    assert all(m["To"].addresses[0].addr_spec == FIRM_EMAIL for m in server.mailbox.messages)
    subjects = {m["Subject"] for m in server.mailbox.messages}
    assert f"【{SPACE}】准予入驻通知" in subjects
    assert server.mailbox.messages[0]["From"].addresses[0].display_name == SPACE
    sent = cli.json("outbox", "list", "--status", "sent")
    assert len(sent) == 5 and all(r["last_error"] is None and r["attempts"] == 1 for r in sent)
    assert cli.json("outbox", "relay")["claimed"] == 0  # nothing twice
    assert len(cli.json("inbox", world.uscc)["items"]) == 5  # no duplicate inbox item

    # A dead letter retried is tried again (and dies again: its context is still incomplete).
    assert cli.json("outbox", "retry", "--all-dead") == {"queued": 1}
    [again] = cli.json("outbox", "list", "--status", "pending")
    assert again["id"] == broken and again["attempts"] == 0 and again["last_error"]
    assert cli.json("outbox", "relay")["dead"] == 1
    assert len(server.mailbox.messages) == 5
    assert cli.json("audit", "verify")["ok"] is True  # the retries' events chain on

    # Bad input: exit codes and one-line errors naming the field.
    assert "outbox message 99999 not found" in cli.fails(3, "outbox", "retry", "99999")
    assert "already sent" in cli.fails(2, "outbox", "retry", ids[0])
    assert "ids:" in cli.fails(2, "outbox", "retry")
    assert "ids:" in cli.fails(2, "outbox", "retry", ids[0], "--all-dead")
    assert "status:" in cli.fails(2, "outbox", "list", "--status", "lost")
    assert "limit:" in cli.fails(2, "outbox", "list", "--limit", "0")


def test_the_inbox_by_id_or_uscc_unread_and_mark_read(
    cli: Cli, world: World, server: Server
) -> None:
    server.start()
    cli.ok("outbox", "relay")
    by_uscc = cli.json("inbox", world.uscc.lower())
    by_id = cli.json("inbox", str(world.firm_id))
    assert by_uscc == by_id and by_id["unread"] == 5
    newest = by_id["items"][0]
    assert newest["message"] == "admitted" and newest["read_at"] is None
    assert newest["subject"] == f"【{SPACE}】准予入驻通知"
    assert newest["body"].startswith(f"{FIRM}：") and "签订入驻协议" in newest["body"]

    text = cli.ok("inbox", world.uscc, "--unread")
    assert text.splitlines()[0] == (f"{FIRM} ({world.uscc}): 5 条，未读 5 条 / 5 item(s), 5 unread")
    assert "[未读]" in text and "准予入驻通知" in text
    marked = cli.json("inbox", world.uscc, "--unread", "--mark-read")
    assert marked["marked_read"] == 5 and marked["unread"] == 0 and len(marked["items"]) == 5
    assert cli.json("inbox", world.uscc, "--unread")["items"] == []
    assert all(i["read_at"] for i in cli.json("inbox", world.uscc)["items"])
    assert f"{FIRM}：" in cli.ok("inbox", world.uscc, "--body")

    staff = cli.json("inbox", "--staff")
    assert staff["items"] == [] and staff["firm"] == {"staff": "all"}

    assert "firm 91510115MA6000000X not found" in cli.fails(3, "inbox", "91510115MA6000000X")
    assert "firm 4242 not found" in cli.fails(3, "inbox", "4242")
    assert "firm:" in cli.fails(2, "inbox")
    assert "firm:" in cli.fails(2, "inbox", world.uscc, "--staff")
    assert "audience:" in cli.fails(2, "inbox", "--staff", "--audience", "firm")
    assert "audience:" in cli.fails(2, "inbox", world.uscc, "--audience", "manager")


# ---- templates ----------------------------------------------------------------------------------
def test_templates_check_preview_set_and_history(cli: Cli, world: World, server: Server) -> None:
    assert cli.ok("templates", "check").startswith("模板检查通过：")
    assert cli.json("templates", "check")["ok"] is True
    listing = cli.json("templates", "list")
    assert {"name": "exit_notice", "audiences": ["firm"], "legal": "yes"} in listing

    out = cli.ok("templates", "preview", "exit_notice", "--locale", "zh-CN")
    assert out.startswith(f"Subject: 【{SPACE}】退出告知书\n")
    assert all(h in out for h in ("一、事实与理由", "二、依据", "三、期限", "四、救济途径"))
    assert (
        cli.ok("templates", "preview", "admitted", "--locale", "en", "--part", "subject")
        == f"[{SPACE}] You are admitted\n"
    )
    assert cli.ok(
        "templates", "preview", "admitted", "--locale", "en", "--part", "html"
    ).startswith("<!DOCTYPE html>")
    staff = cli.json("templates", "preview", "review_overdue", "--audience", "manager")
    assert set(staff) == {"subject", "text", "html"} and "王芳：" in staff["text"]
    assert "第二十一条" in cli.ok("templates", "preview", "exit_ruling", "--sample", "2")

    assert "locale:" in cli.fails(2, "templates", "preview", "admitted", "--locale", "fr")
    assert "part:" in cli.fails(2, "templates", "preview", "admitted", "--part", "body")
    assert "message nope not found" in cli.fails(3, "templates", "preview", "nope")
    assert "audience:" in cli.fails(2, "templates", "preview", "admitted", "--audience", "ops")
    assert "message audience admitted/manager" in cli.fails(
        3, "templates", "preview", "admitted", "--audience", "manager"
    )
    assert "sample:" in cli.fails(2, "templates", "preview", "admitted", "--sample", "9")

    # A valid override is stored as revision 1 and used by preview and by the relay.
    subject = cli.file("subject.j2", "准予入驻：{{ firm.name }}（请于{{ sign_by|date }}前签约）")
    assert "revision 1" in cli.ok(
        "templates",
        "set",
        "admitted",
        "--locale",
        "zh-CN",
        "--part",
        "subject",
        "--file",
        subject,
        "--author",
        "王芳",
    )
    assert (
        cli.ok("templates", "preview", "admitted", "--part", "subject")
        == f"准予入驻：{FIRM}（请于2027年1月20日前签约）\n"
    )
    server.start()
    cli.ok("outbox", "relay")
    [admitted] = [i for i in cli.json("inbox", world.uscc)["items"] if i["message"] == "admitted"]
    assert admitted["subject"] == f"准予入驻：{FIRM}（请于2024年4月1日前签约）"
    assert admitted["subject"] in {m["Subject"] for m in server.mailbox.messages}

    # Refused, nothing stored: Python internals, an unknown name, a legal notice without its
    # sections, a syntax error, an unreadable file, a bad locale or part, an unknown message.
    def refused(code: int, message: str, source: str | None, *extra: str) -> str:
        path = cli.file("candidate.j2", source) if source is not None else str(cli.tmp / "no")
        err = cli.fails(
            code,
            "templates",
            "set",
            message,
            "--locale",
            "zh-CN",
            "--part",
            "text",
            "--file",
            path,
            *extra,
        )
        assert len(world.templates()) == 1
        return err

    assert "unsafe" in refused(2, "admitted", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    assert "unsafe" in refused(2, "admitted", "{{ cycler.__init__.__globals__.os }}")
    assert "has no attribute 'nickname'" in refused(2, "admitted", "{{ firm.nickname }}")
    assert "'sign_on' is undefined" in refused(2, "admitted", "{{ sign_on|date }}")
    assert "lacks section" in refused(2, "exit_notice", "请于期限内腾退。")
    assert "line 2" in refused(2, "admitted", "ok\n{% if %}")
    assert "file: 无法读取文件：" in refused(2, "admitted", None)
    assert "locale:" in refused(2, "admitted", "x", "--locale", "fr")
    assert "message nope not found" in refused(3, "nope", "x")
    err = cli.fails(
        2, "templates", "set", "admitted", "--locale", "zh-CN", "--part", "body", "--file", subject
    )
    assert "part:" in err and len(world.templates()) == 1

    # Previewing an unsaved candidate stores nothing either.
    candidate = cli.file("try.j2", "试用 {{ firm.name }}")
    assert (
        cli.ok("templates", "preview", "admitted", "--part", "subject", "--file", candidate)
        == f"试用 {FIRM}\n"
    )
    assert len(world.templates()) == 1

    cli.ok(
        "templates",
        "set",
        "admitted",
        "--locale",
        "zh-CN",
        "--part",
        "subject",
        "--file",
        candidate,
    )
    history = cli.json("templates", "history", "admitted")
    assert [(h["revision"], h["current"], h["author"]) for h in history] == [
        (2, True, "operator"),
        (1, False, "王芳"),
    ]
    text = cli.ok("templates", "history", "admitted", "--source")
    assert "zh-CN/admitted.subject.j2 r2 (current) by operator" in text and "试用" in text
    assert "no overrides stored" in cli.ok("templates", "history", "exit_notice")
    assert "message nope not found" in cli.fails(3, "templates", "history", "nope")


def test_templates_check_reports_an_override_broken_after_it_was_stored(
    cli: Cli, world: World
) -> None:
    with Session(world.engine) as s:  # e.g. written by an older version that allowed it
        s.add(
            MessageTemplate(
                name="admitted",
                locale="en",
                part="text",
                revision=1,
                source="{{ sign_on }}",
                author="legacy",
                created_at=datetime(2024, 1, 1, tzinfo=UTC),
            )
        )
        s.commit()
    code, out, err = cli("templates", "check")
    assert code == 2 and "templates: 发现 1 个问题 / 1 problem(s) found" in err
    assert out.splitlines() == [
        "admitted [en, firm, sample 1]: en/admitted.txt.j2 "
        "(override r1): 模板渲染出错：'sign_on' is undefined（UndefinedError） / "
        "UndefinedError: 'sign_on' is undefined"
    ]
    code, out, _ = cli("templates", "check", "--json")
    report = json.loads(out)
    assert code == 2 and report["ok"] is False and report["checked"]["overrides"] == 1
    assert len(report["problems"]) == 1 and "sign_on" in report["problems"][0]
