"""Delivery channels: the in-app inbox (rows in ``inbox``) and SMTP email.

Inbox writes are insert-if-absent on the unique ``outbox_id``, so a relay that crashed after
delivering but before marking its rows can simply run again: the firm never sees a notice
twice. Email gets a deterministic Message-ID derived from the outbox row, so a re-sent mail
is recognisably the same message to the recipient's client and to anyone reading logs.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from types import TracebackType
from typing import Any, Literal

from sqlalchemy import Table, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from db.tables import InboxItem
from lifecycle.errors import InvalidInput
from notifications.render import RenderedMessage

SmtpMode = Literal["plain", "starttls", "ssl"]
INBOX: Table = InboxItem.__table__  # type: ignore[attr-defined]


# ---- inbox -------------------------------------------------------------------------------
def insert_inbox(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert inbox items, skipping any whose outbox row already has one (one statement)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(INBOX).on_conflict_do_nothing(index_elements=["outbox_id"])
    elif dialect == "sqlite":
        stmt = sqlite_insert(INBOX).on_conflict_do_nothing(index_elements=["outbox_id"])
    else:  # pragma: no cover - make_engine only builds these two
        raise InvalidInput("database", "inbox delivery supports sqlite and postgresql", dialect)
    session.connection().execute(stmt, list(rows))


def inbox_for(
    session: Session,
    firm_id: int | None,
    *,
    audience: str | None = None,
    unread_only: bool = False,
    limit: int = 200,
) -> list[InboxItem]:
    """A firm's inbox (``firm_id``), or the staff inbox (``firm_id=None``, optional audience),
    newest first."""
    stmt = select(InboxItem)
    if firm_id is not None:
        stmt = stmt.where(InboxItem.firm_id == firm_id, InboxItem.audience == "firm")
    else:
        stmt = stmt.where(col(InboxItem.firm_id).is_(None))
        if audience is not None:
            stmt = stmt.where(InboxItem.audience == audience)
    if unread_only:
        stmt = stmt.where(col(InboxItem.read_at).is_(None))
    return list(session.exec(stmt.order_by(col(InboxItem.id).desc()).limit(limit)).all())


def mark_read(
    session: Session, item_ids: Iterable[int], now: datetime, *, firm_id: int | None = None
) -> int:
    """Mark items read (only unread ones; only the firm's own when ``firm_id`` is given)."""
    ids = list(item_ids)
    if not ids:
        return 0
    stmt = update(INBOX).where(INBOX.c.id.in_(ids), INBOX.c.read_at.is_(None)).values(read_at=now)
    if firm_id is not None:
        stmt = stmt.where(INBOX.c.firm_id == firm_id)
    return int(session.exec(stmt).rowcount)


# ---- email -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail. ``manager_addresses`` maps an account manager's name (as in
    ``Firm.account_manager``) to an address; unknown managers fall back to users with that
    name, then to ``operators_address``."""

    host: str
    port: int = 25
    mode: SmtpMode = "plain"
    username: str | None = None
    password: str | None = None
    sender: str = "innospace <noreply@innospace.local>"
    operators_address: str | None = None
    timeout: float = 30.0
    manager_addresses: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in ("plain", "starttls", "ssl"):
            raise InvalidInput("smtp mode", "must be plain, starttls or ssl", self.mode)
        if "@" not in self.sender_address:
            raise InvalidInput("smtp sender", "must contain an email address", self.sender)

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2] or "innospace.local"


def message_id(outbox_id: int, dedupe_key: str, domain: str) -> str:
    """The same outbox row always gets the same Message-ID, however often it is re-sent."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:16]
    return f"<outbox-{outbox_id}.{digest}@{domain}>"


def build_email(
    settings: SmtpSettings,
    *,
    outbox_id: int,
    dedupe_key: str,
    to: str,
    to_name: str | None,
    rendered: RenderedMessage,
    now: datetime,
) -> EmailMessage:
    """multipart/alternative (text + HTML). ``policy=SMTP`` RFC 2047-encodes the Chinese
    subject and display names and uses CRLF line ends."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = settings.sender
    if "@" not in to:
        raise ValueError(f"not an email address: {to!r}")
    msg["To"] = Address(display_name=to_name or "", addr_spec=to)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(outbox_id, dedupe_key, settings.domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to system notices
    msg["X-Innospace-Outbox-Id"] = str(outbox_id)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    return msg


class ConnectionFailed(Exception):
    """The server cannot be reached or dropped the connection: the rest of the batch waits."""


class MessageRefused(Exception):
    """The server refused this one message or recipient; other messages may still go out."""


class SmtpChannel:
    """One SMTP connection for one relay batch, opened on the first send and closed on exit."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self.broken: str | None = None

    def __enter__(self) -> SmtpChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.mode == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.mode == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage, to: str) -> None:
        """Send one message; raise ``MessageRefused`` or ``ConnectionFailed``."""
        if self.broken is not None:
            raise ConnectionFailed(self.broken)
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            refused = self._smtp.send_message(
                msg, from_addr=self.settings.sender_address, to_addrs=[to]
            )
        except smtplib.SMTPRecipientsRefused as err:
            code, reply = next(iter(err.recipients.values()))
            raise MessageRefused(f"recipient {to} refused: {code} {_text(reply)}") from err
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
            raise MessageRefused(
                f"message refused: {err.smtp_code} {_text(err.smtp_error)}"
            ) from err
        except (smtplib.SMTPException, OSError) as err:
            self.broken = (
                f"smtp {self.settings.host}:{self.settings.port}: {type(err).__name__}: {err}"
            )
            self.close()
            raise ConnectionFailed(self.broken) from err
        if refused:
            code, reply = refused.get(to, (0, b""))
            raise MessageRefused(f"recipient {to} refused: {code} {_text(reply)}")

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
