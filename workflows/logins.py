"""Logins and sessions: the handlers of :class:`~workflows.identity.Login`, ``Logout`` and
``TouchSession``.

A login is checked in this order: the address's recent failures (throttled: refused before
any password is looked at), the account (unknown: as slow as a real check, and the same
answer as a wrong password), its lockout, the password, whether it is disabled. A failure is
committed although the command fails (:class:`~workflows.service.Refusal`): it counts
towards the account's lockout and the address's throttle.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import col, delete, select, update

from db.tables import LoginFailure, LoginSession, User
from lifecycle.errors import InvalidInput, TooManyAttempts, Unauthorized
from workflows import credentials
from workflows.core import Work
from workflows.identity import (
    TOUCH_EVERY,
    Login,
    LoginResult,
    Logout,
    TouchSession,
    find_user,
    principal_of,
)
from workflows.service import Refusal

log = logging.getLogger("innospace.accounts")


def login(w: Work, cmd: Login) -> LoginResult:
    if not 1 <= cmd.idle_minutes <= 24 * 60:
        raise InvalidInput("idle_minutes", "须在 1 到 1440 之间 / between 1 and 1440")
    if not 1 <= cmd.max_hours <= 24 * 30:
        raise InvalidInput("max_hours", "须在 1 到 720 之间 / between 1 and 720")
    address = cmd.address.strip()[:64] or "unknown"
    _check_address(w, address)
    # A name longer than any account's is nobody's (and is not sent to the database).
    user = find_user(w, cmd.username, lock=True) if len(cmd.username) <= 64 else None
    if user is None:
        credentials.verify_password(None, cmd.password)  # as slow as a real check
        raise _failed(w, address, Unauthorized())
    if user.locked_until is not None and w.now < user.locked_until:
        retry = credentials.seconds_until(user.locked_until, w.now)
        raise _failed(w, address, TooManyAttempts(retry))
    if not credentials.verify_password(user.password_hash, cmd.password):
        if user.disabled_at is None:
            user.failed_logins, user.locked_until = credentials.after_failure(
                user.failed_logins, w.now
            )
            w.session.add(user)
            if user.locked_until is not None:
                log.warning(
                    "account %s locked until %s after %d failed logins (last from %s)",
                    user.username,
                    user.locked_until.isoformat(),
                    credentials.MAX_FAILURES,
                    address,
                )
        raise _failed(w, address, Unauthorized())
    if user.disabled_at is not None:
        raise Unauthorized()
    assert user.password_hash is not None and user.id is not None
    if credentials.needs_rehash(user.password_hash):
        user.password_hash = credentials.hash_password(cmd.password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, w.now
    w.session.add(user)
    token = credentials.new_token()
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


def _failed(w: Work, address: str, error: Unauthorized) -> Refusal:
    """Record a failed login from ``address``, and the refusal that commits it. Failures that
    no longer count (from any address) are forgotten: the table holds one window's worth."""
    w.execute(
        delete(LoginFailure).where(col(LoginFailure.at) <= w.now - credentials.ADDRESS_WINDOW)
    )
    w.session.add(LoginFailure(address=address, at=w.now))
    return Refusal(error)


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
