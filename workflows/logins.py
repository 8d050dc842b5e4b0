"""Logins and sessions: :func:`log_in`, and the handlers of
:class:`~workflows.identity.RecordLogin`, ``Logout`` and ``TouchSession``.

A login is three steps, so that the slow password check (argon2, 50-100 ms) holds no write
lock — on SQLite every command is ``BEGIN IMMEDIATE``, and a check inside one would stall
every writer for its duration:

1. a named query (:func:`login_attempt`) refuses an address with too many recent failures
   before any password is looked at, and reads the account's hash and lockout;
2. the password is checked outside any transaction — against a dummy hash when there is no
   such account, so an unknown name answers no faster than a wrong password; a locked
   account's password is not checked at all;
3. :class:`~workflows.identity.RecordLogin` records the outcome in one short transaction,
   deciding again on the account's row under its lock: a success opens a session (a new
   token every time) unless the account was locked, disabled or given another password
   meanwhile; a failure adds one to ``failed_logins`` in the database
   (``SET failed_logins = failed_logins + 1``, so concurrent failures are all counted),
   locks the account at :data:`~workflows.credentials.MAX_FAILURES` and records the
   address's failure. A refusal is the command's successful result
   (:class:`~workflows.identity.LoginRefused`), so what it counted is committed; then
   :func:`log_in` raises its error.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement
from sqlmodel import col, delete, select, update

from db.tables import LoginFailure, LoginSession, User
from lifecycle.errors import InvalidInput, TooManyAttempts, Unauthorized
from workflows import credentials
from workflows.core import Work
from workflows.identity import (
    TOUCH_EVERY,
    Login,
    LoginAttempt,
    LoginRefused,
    LoginResult,
    Logout,
    RecordLogin,
    TouchSession,
    find_user,
    principal_of,
)

if TYPE_CHECKING:
    from workflows.service import Service

log = logging.getLogger("innospace.accounts")

#: The longest user name an account has: a longer one is nobody's (not sent to the database).
USERNAME_MAX = 64


def log_in(service: Service, attempt: Login) -> LoginResult:
    """Check ``attempt``'s password and open a session; Unauthorized (any wrong part, never
    saying which) or TooManyAttempts. The password is checked outside any transaction."""
    if not 1 <= attempt.idle_minutes <= 24 * 60:
        raise InvalidInput("idle_minutes", "须在 1 到 1440 之间 / between 1 and 1440")
    if not 1 <= attempt.max_hours <= 24 * 30:
        raise InvalidInput("max_hours", "须在 1 到 720 之间 / between 1 and 720")
    address = _address(attempt.address)
    username = attempt.username if len(attempt.username) <= USERNAME_MAX else ""
    found = service.query(login_attempt, username=username, address=address)
    locked = found.locked_until is not None and service.clock.now() < found.locked_until
    ok, rehash = False, None
    if not locked:
        ok = credentials.verify_password(found.password_hash, attempt.password)
        if ok and found.password_hash is not None and credentials.needs_rehash(found.password_hash):
            rehash = credentials.hash_password(attempt.password)
    outcome = service.handle(
        RecordLogin(
            username=username,
            address=address,
            password_ok=ok,
            verified_hash=found.password_hash if ok else None,
            rehash=rehash,
            idle_minutes=attempt.idle_minutes,
            max_hours=attempt.max_hours,
            actor=attempt.actor,
        )
    )
    if isinstance(outcome, LoginRefused):
        raise outcome.error
    assert isinstance(outcome, LoginResult)
    return outcome


def _address(address: str) -> str:
    return address.strip()[:64] or "unknown"


# ---- the query ------------------------------------------------------------------------------
def login_attempt(w: Work, *, username: str, address: str) -> LoginAttempt:
    """What checking a login needs before the password: TooManyAttempts when ``address`` has
    too many recent failures; the account's hash and lockout (all None: no such account)."""
    _check_address(w, address)
    user = find_user(w, username) if username else None
    if user is None:
        return LoginAttempt(password_hash=None, locked_until=None)
    return LoginAttempt(password_hash=user.password_hash, locked_until=user.locked_until)


def _check_address(w: Work, address: str) -> None:
    since = w.now - credentials.ADDRESS_WINDOW
    times = w.session.exec(
        select(LoginFailure.at).where(
            col(LoginFailure.address) == address, col(LoginFailure.at) > since
        )
    ).all()
    retry = credentials.address_retry_after(list(times), w.now)
    if retry is not None:
        log.warning("login from %s throttled: %d recent failures", address, len(times))
        raise TooManyAttempts(retry)


# ---- the command ----------------------------------------------------------------------------
def record_login(w: Work, cmd: RecordLogin) -> LoginResult | LoginRefused:
    if not 1 <= cmd.idle_minutes <= 24 * 60:
        raise InvalidInput("idle_minutes", "须在 1 到 1440 之间 / between 1 and 1440")
    if not 1 <= cmd.max_hours <= 24 * 30:
        raise InvalidInput("max_hours", "须在 1 到 720 之间 / between 1 and 720")
    address = _address(cmd.address)
    username = cmd.username if len(cmd.username) <= USERNAME_MAX else ""
    user = find_user(w, username, lock=True) if username else None
    if user is None:
        return _failed(w, address, Unauthorized())
    assert user.id is not None
    if user.locked_until is not None and w.now < user.locked_until:
        retry = credentials.seconds_until(user.locked_until, w.now)
        return _failed(w, address, TooManyAttempts(retry))
    if not cmd.password_ok:
        if user.disabled_at is None:
            _count_failure(w, user, address)
        return _failed(w, address, Unauthorized())
    if user.disabled_at is not None or user.password_hash != cmd.verified_hash:
        # Disabled, or given another password since the check: no session.
        return LoginRefused(Unauthorized())
    if cmd.rehash is not None:
        user.password_hash = cmd.rehash
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, w.now
    w.session.add(user)
    token = credentials.new_token()  # a new session, a new token: nothing fixed beforehand
    session = LoginSession(
        token_sha256=credentials.digest(token),
        user_id=user.id,
        address=address,
        created_at=w.now,
        last_seen_at=w.now,
        expires_at=w.now + timedelta(hours=cmd.max_hours),
        idle_seconds=cmd.idle_minutes * 60,
    )
    w.session.add(session)
    w.session.flush()
    principal = principal_of(w, user, via="session", seen_at=w.now)
    log.info("account %s logged in from %s", user.username, address)
    return LoginResult(session_token=token, principal=principal, expires_at=session.expires_at)


def _count_failure(w: Work, user: User, address: str) -> None:
    """One more consecutive failure, counted in the database (never a read-modify-write of a
    value read earlier); at :data:`~workflows.credentials.MAX_FAILURES` the account locks
    and the count starts again."""
    by_id = col(User.id) == user.id
    w.execute(update(User).where(by_id).values(failed_logins=col(User.failed_logins) + 1))
    failed = int(w.connection.execute(select(User.failed_logins).where(by_id)).scalar_one())
    if failed < credentials.MAX_FAILURES:
        return
    until = w.now + timedelta(minutes=credentials.LOCK_MINUTES)
    w.execute(update(User).where(by_id).values(failed_logins=0, locked_until=until))
    log.warning(
        "account %s locked until %s after %d failed logins (last from %s)",
        user.username,
        until.isoformat(),
        credentials.MAX_FAILURES,
        address,
    )


def _failed(w: Work, address: str, error: Unauthorized) -> LoginRefused:
    """Record a failed login from ``address``, and the refusal to return. Failures that no
    longer count (from any address) are forgotten: the table holds one window's worth."""
    w.execute(
        delete(LoginFailure).where(col(LoginFailure.at) <= w.now - credentials.ADDRESS_WINDOW)
    )
    w.session.add(LoginFailure(address=address, at=w.now))
    return LoginRefused(error)


def logout(w: Work, cmd: Logout) -> None:
    _set_on_open_session(w, cmd.session_token, revoked_at=w.now)


def touch_session(w: Work, cmd: TouchSession) -> None:
    stale = col(LoginSession.last_seen_at) <= w.now - TOUCH_EVERY
    _set_on_open_session(w, cmd.session_token, stale, last_seen_at=w.now)


def _set_on_open_session(
    w: Work, token: str, *where: ColumnElement[bool], **values: datetime
) -> None:
    """Set ``values`` on the open session of ``token`` (if ``where`` holds for it); a token
    that names no open session changes nothing."""
    if len(token) > credentials.MAX_TOKEN_CHARS:
        return
    w.execute(
        update(LoginSession)
        .where(col(LoginSession.token_sha256) == credentials.digest(token))
        .where(col(LoginSession.revoked_at).is_(None), *where)
        .values(**values)
    )


def end_sessions(w: Work, user: User) -> int:
    result = w.execute(
        update(LoginSession)
        .where(col(LoginSession.user_id) == user.id, col(LoginSession.revoked_at).is_(None))
        .values(revoked_at=w.now)
    )
    return int(result.rowcount or 0)
