"""Delivery channels: the in-app inbox (rows in ``inbox``) and SMTP email.

Inbox writes are insert-if-absent on the unique ``outbox_id``, so a relay that crashed after
delivering but before marking its rows can simply run again: the firm never sees a notice
twice. Email gets a deterministic Message-ID derived from the outbox row, so a re-sent mail
is recognisably the same message to the recipient's client and to anyone reading logs.

Exactly one e-mail per outbox row: :meth:`SmtpChannel.send` takes a ``commit`` callback, called
after the whole message body has reached the server and before the end-of-data line
(``.``) that makes the server accept it. The relay marks the row sent there, fenced by its
lease (see ``notifications.relay``). If the process dies before the callback commits, the
server never saw the end of data and discards the message: the row is sent again later. If
the callback finds the row taken by another relay, the message is abandoned the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from types import TracebackType
from typing import Any, Literal

from sqlalchemy import Connection, Table
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
    insert_inbox_rows(session.connection(), rows)


def insert_inbox_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """``insert_inbox`` on a Core connection."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(INBOX).on_conflict_do_nothing(index_elements=["outbox_id"])
    elif dialect == "sqlite":
        stmt = sqlite_insert(INBOX).on_conflict_do_nothing(index_elements=["outbox_id"])
    else:  # pragma: no cover - make_engine only builds these two
        raise InvalidInput("database", "inbox delivery supports sqlite and postgresql", dialect)
    conn.execute(stmt, list(rows))


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
    #: Log in even over an unencrypted connection (a relay on the loopback interface).
    allow_plaintext_auth: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("plain", "starttls", "ssl"):
            raise InvalidInput("smtp mode", "must be plain, starttls or ssl", self.mode)
        problem = plaintext_auth_problem(self.mode, self.username, self.allow_plaintext_auth)
        if problem is not None:
            raise InvalidInput(*problem)
        if "@" not in self.sender_address:
            raise InvalidInput("smtp sender", "must contain an email address", self.sender)

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2] or "innospace.local"


def plaintext_auth_problem(
    mode: str, username: str | None, allowed: bool
) -> tuple[str, str] | None:
    """(field, rule) when a login would send the credentials in clear text, else None."""
    if mode != "plain" or not username or allowed:
        return None
    return (
        "INNOSPACE_SMTP_MODE",
        "plain sends INNOSPACE_SMTP_USERNAME and INNOSPACE_SMTP_PASSWORD unencrypted: use "
        "starttls or ssl, or set INNOSPACE_SMTP_ALLOW_PLAINTEXT_AUTH=1 for a relay on this "
        "host (loopback)",
    )


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
    """The server cannot be reached or dropped the connection: the rest of the batch waits.
    ``committed``: the ``commit`` callback had run (the row is marked sent)."""

    committed = False


class ReplyLost(ConnectionFailed):
    """The end of data was sent but no reply came: the server has most likely accepted the
    message (RFC 1047); the row stays sent rather than risk a second copy."""

    committed = True


class MessageRefused(Exception):
    """The server refused this one message or recipient; other messages may still go out.
    ``committed``: refused after the ``commit`` callback ran (the caller undoes its mark)."""

    def __init__(self, message: str, *, committed: bool = False) -> None:
        super().__init__(message)
        self.committed = committed


class Abandoned(Exception):
    """The ``commit`` callback declined (the row is no longer ours): the message was dropped
    before its end of data, so the server discards it."""


_EOL = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _payload(msg: EmailMessage) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled (RFC 5321 4.5.2), ending in
    CRLF, without the final ``.`` line."""
    data = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", msg.as_bytes(policy=SMTP)))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


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
        # No Nagle: the end-of-data line is a 3-byte write sent after the mark commits, right
        # behind the body; held back until the server acknowledged the body (which it delays,
        # ~40 ms on Linux), every e-mail waited that long for nothing.
        if smtp.sock is not None:
            with contextlib.suppress(OSError):
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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

    def send(self, msg: EmailMessage, to: str, commit: Callable[[], bool] | None = None) -> None:
        """Send one message; raise ``MessageRefused``, ``ConnectionFailed`` (``ReplyLost``) or
        ``Abandoned``.

        ``commit`` runs once the body has been transmitted and before the end of data: return
        True to let the message go (the server accepts it on the final ``.``), False to drop
        it (the connection is closed without the ``.``, so the server discards the message)."""
        if self.broken is not None:
            raise ConnectionFailed(self.broken)
        committed = False
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            smtp = self._smtp
            code, reply = smtp.mail(self.settings.sender_address)
            if code != 250:
                self._reset(code)
                raise MessageRefused(f"message refused: {code} {_text(reply)}")
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                self._reset(code)
                raise MessageRefused(f"recipient {to} refused: {code} {_text(reply)}")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                self._reset(code)
                raise MessageRefused(f"message refused: {code} {_text(reply)}")
            smtp.send(_payload(msg))
            if commit is not None and not commit():
                self._abort(None)  # reconnect for the next message
                raise Abandoned(to)
            committed = True
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
        except (MessageRefused, Abandoned):
            raise
        except (smtplib.SMTPException, OSError) as err:
            self.broken = (
                f"smtp {self.settings.host}:{self.settings.port}: {type(err).__name__}: {err}"
            )
            self.close()
            if committed:
                raise ReplyLost(self.broken) from err
            raise ConnectionFailed(self.broken) from err
        except BaseException:
            self._abort("interrupted")  # never let a half-sent message be completed
            raise
        if code != 250:
            if code == 421:
                self._abort(f"{code} {_text(reply)}")
            raise MessageRefused(f"message refused: {code} {_text(reply)}", committed=True)

    def _reset(self, code: int) -> None:
        """After a refused command: RSET to start the next message clean (421: the server is
        closing the connection)."""
        assert self._smtp is not None
        if code == 421:
            self._abort("421 service closing")
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._abort("RSET failed")

    def _abort(self, why: str | None) -> None:
        """Drop the connection without QUIT (mid-DATA, a QUIT would be part of the message);
        with a reason, the channel is broken for the rest of the batch."""
        smtp, self._smtp = self._smtp, None
        if why is not None:
            self.broken = self.broken or f"smtp {self.settings.host}:{self.settings.port}: {why}"
        if smtp is not None:
            smtp.close()

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
