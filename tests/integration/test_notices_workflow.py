"""Every lifecycle step produces its notices, and the relay delivers each exactly once.

A tenancy is driven through the real handlers and deadline sweeps (admission → annual review
→ rectification → forced exit → handover), on SQLite and PostgreSQL, with a fixed clock that
the test moves forward. The outbox relay then delivers to the in-app inbox and to a real SMTP
server (aiosmtpd on loopback). What the firm and the staff received is checked message by
message; legal notices must state grounds, rule, deadline and remedy.
"""

from __future__ import annotations

import email
import random
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from conftest import local
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.tables import ExitCase, InboxItem, OutboxMessage, Rectification
from entrypoints.demo_data import HANDOVER, figures, good_profile, make_uscc, scores
from lifecycle import rulebook as rbook
from lifecycle.clock import FixedClock
from notifications.catalog import LEGAL_SECTIONS
from notifications.channels import SmtpSettings
from notifications.formatting import format_date
from notifications.relay import Relay, RelayReport
from notifications.render import Renderer
from workflows import commands as c
from workflows import rules
from workflows.service import Service
from workflows.sweeps import sweep_deadlines

SPACE = "成都医学城三医创新中心"
FIRM = "成都蓉医生物科技有限公司"
FIRM_EMAIL = "liming@rongyi-bio.example"
MANAGER_EMAIL = "wangfang@innospace.example"
OPS_EMAIL = "ops@innospace.example"
SCORES = {k: float(v) for k, v in scores(0.8).items()}
ZH_SECTIONS = LEGAL_SECTIONS["zh-CN"]
EN_SECTIONS = LEGAL_SECTIONS["en"]


# ---- a real SMTP server on loopback -----------------------------------------------------------
class Mailbox:
    """aiosmtpd handler keeping every message it accepted, per recipient."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def relay_for(engine: Engine, clock: FixedClock, port: int) -> Relay:
    settings = SmtpSettings(
        host="127.0.0.1",
        port=port,
        operators_address=OPS_EMAIL,
        manager_addresses={"王芳": MANAGER_EMAIL},
        timeout=5,
    )
    return Relay(engine, Renderer(), settings, clock, rng=random.Random(5))


# ---- driving a tenancy ------------------------------------------------------------------------
class Tenant:
    """One firm in one space, moved along by commands and by the deadline sweeps."""

    def __init__(
        self,
        service: Service,
        clock: FixedClock,
        *,
        name: str,
        email_address: str,
        locale: str = "zh-CN",
        seed: int = 11,
    ) -> None:
        self.service, self.clock = service, clock
        self.rng = random.Random(seed)
        self.uscc = make_uscc(self.rng)
        self.do(c.CreateSpace(code="MC3", name=SPACE))
        self.do(c.AddUnit(space="MC3", code="A-301", kind="office", area_m2=120))
        self.firm_id = int(
            self.do(
                c.RegisterFirm(
                    name=name,
                    uscc=self.uscc,
                    industry="pharma",
                    contact_name="李明",
                    contact_email=email_address,
                    account_manager="王芳",
                    locale=locale,
                )
            )["firm"]
        )
        self.tenancy = 0

    def do(self, command: c.Command) -> Any:
        return self.service.handle(command)

    def at(self, when: datetime) -> None:
        """Move the clock and run the deadline sweeps, as the scheduler would."""
        self.clock.set(when)
        sweep_deadlines(self.service)

    def admitted_and_signed(self) -> None:
        step = self.do(
            c.Apply(
                firm=self.uscc,
                space="MC3",
                requested_area_m2=120,
                profile=good_profile(self.clock.now().date()),
            )
        )
        self.tenancy = t = int(step.tenancy_id)
        self.do(c.Screen(tenancy_id=t))
        for reviewer in ("甲", "乙", "丙"):
            self.do(c.ScoreApplication(tenancy_id=t, reviewer=reviewer, scores=SCORES))
        self.do(c.Approve(tenancy_id=t))
        self.at(local(2024, 3, 18, 9, 0))  # 公示 is over: the sweep admits
        self.do(
            c.Sign(
                tenancy_id=t,
                units=("A-301",),
                term_start=date(2024, 4, 1),
                term_end=date(2027, 3, 31),
                deposit_yuan=20_000,
            )
        )

    def read(self, fn: Any) -> Any:
        with Session(self.service.engine) as s:
            return fn(s)

    def inbox(self, firm: bool = True) -> list[InboxItem]:
        def q(s: Session) -> list[InboxItem]:
            stmt = select(InboxItem).order_by(col(InboxItem.id))
            stmt = (
                stmt.where(InboxItem.firm_id == self.firm_id)
                if firm
                else stmt.where(col(InboxItem.firm_id).is_(None))
            )
            return list(s.exec(stmt).all())

        return self.read(q)  # type: ignore[no-any-return]

    def exit_case(self) -> ExitCase:
        def q(s: Session) -> ExitCase:
            return s.exec(select(ExitCase).where(ExitCase.tenancy_id == self.tenancy)).one()

        return self.read(q)  # type: ignore[no-any-return]


def one(items: list[InboxItem], message: str) -> InboxItem:
    [item] = [i for i in items if i.message == message]
    return item


def mail_for(mails: list[EmailMessage], subject: str) -> tuple[str, str]:
    [mail] = [m for m in mails if m["Subject"] == subject]
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and html is not None
    crlf = str.maketrans({"\r": None})  # policy=SMTP sends CRLF line ends
    return plain.get_content().translate(crlf), html.get_content().translate(crlf)


def assert_legal(text: str, html: str, sections: tuple[str, ...], *needles: str) -> None:
    for heading in sections:
        assert heading in text and heading in html, heading
    positions = [text.index(h) for h in sections]
    assert positions == sorted(positions)  # grounds, rule, deadline, remedy — in that order
    for needle in needles:
        assert needle in text, needle


FIRM_KEYS = [
    "application_received",
    "screening_result",
    "scoring_result",
    "publicity_start",
    "admitted",
    "agreement_signed",
    "review_opened",
    "review_reminder",
    "review_received",
    "review_result",
    "rectification_notice",
    "reinspection_result",
    "exit_notice",
    "exit_ruling",
    "vacate_overdue",
    "handover_settlement",
    # the light report of 2024 Q4, opened on 2 January (its reminder fell in a gap of the
    # clock and was stale by then; 2025 Q1 was planned after its due date: no opening notice)
    "quarterly_report_opened",
]
STAFF_KEYS = [
    ("rectification_notice", "manager"),
    ("reinspection_result", "operators"),
    ("vacate_overdue", "manager"),
    ("quarterly_report_overdue", "operators"),  # 2024 Q4
    ("quarterly_report_overdue", "operators"),  # 2025 Q1
]


def test_admission_review_rectification_forced_exit_and_handover_are_all_notified(
    service: Service, clock: FixedClock, engine: Engine, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    relay = relay_for(engine, clock, port)
    tenant = Tenant(service, clock, name=FIRM, email_address=FIRM_EMAIL)
    reports: list[RelayReport] = []

    tenant.admitted_and_signed()
    t = tenant.tenancy
    reports.append(relay.run_once())  # the scheduler's relay tick, mid-way

    tenant.clock.set(local(2025, 1, 2, 9, 0))
    tenant.do(c.OpenReview(tenancy_id=t, period=2024))  # due on the 10th working day
    tenant.at(local(2025, 1, 10, 18, 0))  # the "5 working days before" reminder is due
    tenant.do(
        c.SubmitReview(
            tenancy_id=t, period=2024, figures=figures("weak", year=2024, rng=tenant.rng)
        )
    )
    tenant.do(c.DecideReview(tenancy_id=t, period=2024))  # grade D: rectification
    tenant.at(local(2025, 2, 10, 18, 0))  # the plan is overdue: the manager hears of it
    tenant.do(c.FileRectificationPlan(tenancy_id=t, plan="加大研发投入，按季度报送数据"))
    tenant.at(local(2025, 4, 20, 18, 0))  # rectification ended: operators must re-inspect
    tenant.do(c.Reinspect(tenancy_id=t, passed=False, reason="研发投入仍未达标"))
    reports.append(relay.run_once())
    case = tenant.exit_case()
    tenant.at(local(2025, 5, 10, 18, 0))  # no 陈述申辩 in time: the exit is confirmed
    tenant.at(local(2025, 6, 20, 18, 0))  # not vacated in time: escalated
    tenant.do(c.HandOver(tenancy_id=t, checklist=HANDOVER, arrears_yuan=1_500))
    reports.append(relay.run_once())

    # Every row went out on its first attempt, none died.
    rows = tenant.read(lambda s: s.exec(select(OutboxMessage)).all())
    assert all(r.status == "sent" and r.attempts == 1 and r.last_error is None for r in rows)
    assert sum(r.delivered for r in reports) == len(rows) == len(FIRM_KEYS) + len(STAFF_KEYS)
    assert all(r.dead == 0 and r.retried == 0 for r in reports)

    # The firm's inbox: each step exactly once, in Chinese, addressed to the firm.
    items = tenant.inbox()
    assert Counter(i.message for i in items) == Counter(FIRM_KEYS)
    for item in items:
        assert item.subject.startswith(f"【{SPACE}】"), item.subject
        assert item.body.startswith(f"{FIRM}："), item.message
        assert "特此通知。" in item.body and item.read_at is None
    staff = tenant.inbox(firm=False)
    assert sorted((i.message, i.audience) for i in staff) == sorted(STAFF_KEYS)
    assert all(FIRM in i.subject for i in staff)  # staff subjects name the firm concerned

    # E-mail: one per firm notice to the firm's contact; staff copies to manager and operators.
    firm_mails = mailbox.to(FIRM_EMAIL)
    assert sorted(m["Subject"] for m in firm_mails) == sorted(i.subject for i in items)
    assert len({m["Message-ID"] for m in firm_mails}) == len(FIRM_KEYS)
    assert all(m["To"].addresses[0].display_name == "李明" for m in firm_mails)
    assert len(mailbox.to(MANAGER_EMAIL)) == 2 and len(mailbox.to(OPS_EMAIL)) == 3
    assert len(mailbox.messages) == len(rows)

    # Legal notices: grounds, rule, deadline, remedy — with this tenancy's facts and dates.
    rb = tenant.service.read(lambda w: rules.for_tenancy(w, w.tenancy(t, lock=False)))
    trig = rbook.exit_trigger(rb, "failed_rectification")
    notice = one(items, "exit_notice")
    text, html = mail_for(firm_mails, notice.subject)
    assert text.strip() == notice.body.strip()
    assert case.objection_due_on is not None
    assert_legal(
        text,
        html,
        ZH_SECTIONS,
        f"{trig.label_zh}：研发投入仍未达标",  # grounds
        f"《{rb.meta.name_zh}》",
        "exit.triggers.failed_rectification",  # rule
        rb.version[:12],
        f"陈述申辩期限：{format_date(case.objection_due_on, 'zh-CN')}前",  # deadline
        "陈述和申辩",
        "行政复议",
        "行政诉讼",
    )
    assert "exit.triggers.failed_rectification" in html and trig.label_zh in html

    closed = tenant.exit_case()
    assert closed.vacate_due_on is not None and closed.status == "closed"
    ruling = one(items, "exit_ruling")
    text, html = mail_for(firm_mails, ruling.subject)
    assert_legal(
        text,
        html,
        ZH_SECTIONS,
        f"退出情形：{trig.label_zh}",
        "研发投入仍未达标",
        "exit.triggers.failed_rectification",
        f"腾退期限：{format_date(closed.vacate_due_on, 'zh-CN')}",
        "行政复议",
    )

    rect = tenant.read(lambda s: s.exec(select(Rectification)).one())
    notice = one(items, "rectification_notice")
    assert_legal(
        notice.body,
        mail_for(firm_mails, notice.subject)[1],
        ZH_SECTIONS,
        "（rectification）",
        f"整改计划提交期限：{format_date(rect.plan_due_on, 'zh-CN')}",
        f"整改完成期限：{format_date(rect.due_on, 'zh-CN')}",
        "陈述和申辩",
    )
    result = one(items, "review_result")
    assert_legal(
        result.body,
        mail_for(firm_mails, result.subject)[1],
        ZH_SECTIONS,
        "考核等级为不合格（D）",
        "评分说明",
        "考核结论：限期整改",
        "review.consequences",
    )
    assert "2024年度考核" in result.subject
    for plain in ("admitted", "agreement_signed", "handover_settlement"):
        assert ZH_SECTIONS[0] not in one(items, plain).body  # not a legal notice
    assert "18,500.00元" in one(items, "handover_settlement").body  # deposit less arrears

    # Running the relay again, later, delivers nothing new.
    clock.advance(timedelta(days=1))
    again = relay.run_once()
    assert (again.claimed, again.delivered) == (0, 0)
    assert len(mailbox.messages) == len(rows) and len(tenant.inbox()) == len(FIRM_KEYS)


def test_an_english_firm_hears_of_its_cure_notice_defence_and_ruling(
    service: Service, clock: FixedClock, engine: Engine, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    address = "ceo@cdbio.example"
    tenant = Tenant(
        service, clock, name="Chengdu Biotech Ltd", email_address=address, locale="en", seed=12
    )
    tenant.admitted_and_signed()
    t = tenant.tenancy
    tenant.clock.set(local(2024, 5, 6, 10, 0))
    tenant.do(
        c.ReportViolation(
            tenancy_id=t,
            code="change_of_use",
            facts="Unit A-301 used as a staff dormitory (inspection 6 May)",
        )
    )
    tenant.at(local(2024, 5, 22, 10, 0))  # not cured in time: the exit notice is served
    tenant.do(
        c.LodgeObjection(
            tenancy_id=t,
            by="Li Ming",
            written=True,
            grounds="The beds were removed on 20 May; see photos",
        )
    )
    tenant.at(local(2024, 6, 12, 10, 0))  # window over, a defence awaits a ruling
    tenant.do(
        c.RuleOnObjection(
            tenancy_id=t, upheld=False, reason="Re-inspection on 10 June found the beds back in use"
        )
    )
    report = relay_for(engine, clock, port).run_once()
    assert report.dead == 0 and report.retried == 0

    items = tenant.inbox()
    keys = Counter(i.message for i in items)
    assert keys == Counter(
        [
            "application_received",
            "screening_result",
            "scoring_result",
            "publicity_start",
            "admitted",
            "agreement_signed",
            "cure_notice",
            "exit_notice",
            "exit_ruling",
        ]
    )
    assert all(i.body.startswith("Dear 李明,") and "Yours faithfully," in i.body for i in items)
    assert [(i.message, i.audience) for i in tenant.inbox(firm=False)] == [
        ("exit_ruling", "operators")
    ]
    mails = mailbox.to(address)
    assert len(mails) == len(items)

    cure = one(items, "cure_notice")
    text, html = mail_for(mails, cure.subject)
    assert_legal(
        text,
        html,
        EN_SECTIONS,
        "used as a staff dormitory",
        "forced-exit ground",
        "exit.triggers.change_of_use",
    )
    ruling = one(items, "exit_ruling")
    text, html = mail_for(mails, ruling.subject)
    case = tenant.exit_case()
    assert case.vacate_due_on is not None
    assert_legal(
        text,
        html,
        EN_SECTIONS,
        "Your statement and defence: The beds were removed",
        "Reasons for the decision: Re-inspection on 10 June",
        "exit.triggers.change_of_use",
        f"Vacate by: {format_date(case.vacate_due_on, 'en')}",
        "administrative reconsideration",
    )
    assert "《" not in text.split(EN_SECTIONS[1])[1].split(EN_SECTIONS[2])[0]  # English rule
