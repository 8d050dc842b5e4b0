"""Logins and sessions: :func:`log_in`, and the handlers of
:class:`~workflows.identity.RecordLogin`, ``Logout`` and ``TouchSession``.

A login is three steps, so that the slow password check (argon2, 50-100 ms) holds no write
lock — on SQLite every command is ``BEGIN IMMEDIATE``, and a check inside one would stall
every writer for its duration:

1. a named query (:func:`login_attempt`) refuses an address with too many recent failures
   before any password is looked at, and reads the account's hash and whether it is locked
   *from this address*;
2. the password is checked outside any transaction — against a dummy hash when there is no
   such account, so an unknown name answers no faster than a wrong password; the password of
   an account locked from this address is not checked either (the dummy hash is, for the
   same time);
3. :class:`~workflows.identity.RecordLogin` records the outcome in one short transaction,
   deciding again on the account's row read under its lock (``FOR UPDATE`` on PostgreSQL;
   SQLite's writers take turns), and on its recent failures and lockouts read after it:
   a success opens a session (a new token every time) unless the account was locked from
   this address, disabled or given another password meanwhile, and its failures from this
   address count no more; a failure is counted against the account from this address
   (so concurrent failures are all counted) and may start a lockout — of this address after
   :data:`~workflows.credentials.MAX_FAILURES`, or of every address once failures from many
   pass :data:`~workflows.credentials.ACCOUNT_MAX_FAILURES` — which is recorded
   (``login_lockouts``) and logged (and the latter told to the admins). What it writes is
   decided by
   :mod:`workflows.account_rules`. A refusal is the command's successful result
   (:class:`~workflows.identity.LoginRefused`), so what it counted is committed; then
   :func:`log_in` raises its error.

A lockout is never of an account alone (OWASP): failures from one address lock the account
from that address only, so whoever knows a user name cannot keep its owner out by guessing
— the owner logs in from elsewhere as before. Only guessing spread over many addresses
(no single address counts more than ``MAX_FAILURES`` towards the ceiling) locks every
address, for a time — but those the account logged in from within
:data:`~workflows.credentials.KNOWN_WINDOW` (its sessions' addresses), so its owner's usual
ones stay open; an admin lifts any lockout (``innospace user unlock``). "An address" is the
source :func:`~workflows.credentials.source_of` makes of the client's (an IPv6 address's
/64: one host commonly holds a whole /64); the session keeps the address itself. A login
with no client address (``unknown``, shared by all of them) is throttled, never locked out.

A locked account is refused exactly as a wrong password or an unknown name is (Unauthorized,
as slow): a distinct answer (429 "locked") would tell anyone who tries five passwords that
the name is an account's. Only an address's throttling answers TooManyAttempts, whatever
the names tried.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from db.identity import LockoutRow, SessionRow, UserRow
from lifecycle.errors import InvalidInput, TooManyAttempts, Unauthorized
from workflows import account_rules, credentials
from workflows.core import Work
from workflows.cycles import queue_operator_digest
from workflows.identity import (
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
    address, source, username = _who(attempt)
    found = service.query(login_attempt, username=username, address=source)
    locked = found.locked_until is not None and service.clock.now() < found.locked_until
    ok, rehash = False, None
    if locked:
        # As long as a real check takes (the dummy hash never matches): a locked account
        # answers no faster than an unknown name or a wrong password.
        credentials.verify_password(None, attempt.password)
    else:
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


def _who(login: Login | RecordLogin) -> tuple[str, str, str]:
    """The login's address (as a session keeps it), its source (as failures and lockouts
    count it: :func:`~workflows.credentials.source_of`) and its user name as it is looked up
    (a name too long to be anybody's as ""), once its session limits are checked."""
    if not 1 <= login.idle_minutes <= 24 * 60:
        raise InvalidInput("idle_minutes", "须在 1 到 1440 之间 / between 1 and 1440")
    if not 1 <= login.max_hours <= 24 * 30:
        raise InvalidInput("max_hours", "须在 1 到 720 之间 / between 1 and 720")
    address = login.address.strip()[: credentials.MAX_ADDRESS_CHARS] or credentials.UNKNOWN
    source = credentials.source_of(address)
    return address, source, login.username if len(login.username) <= USERNAME_MAX else ""


# ---- the query ------------------------------------------------------------------------------
def login_attempt(w: Work, *, username: str, address: str) -> LoginAttempt:
    """What checking a login needs before the password: TooManyAttempts when ``address`` (a
    source) has too many recent failures; the account's hash and lockout (all None: no such
    account)."""
    _check_address(w, address)
    user = find_user(w, username) if username else None
    if user is None:
        return LoginAttempt(password_hash=None, locked_until=None)
    lockouts = w.uow.identity.lockouts(user.id, w.now)
    known = _known_sources(w, user)
    locked = account_rules.locked_until(user, lockouts, address, w.now, known=known)
    return LoginAttempt(password_hash=user.password_hash, locked_until=locked)


def _known_sources(w: Work, user: UserRow) -> frozenset[str]:
    """The sources the account logged in from successfully within
    :data:`~workflows.credentials.KNOWN_WINDOW` (its sessions'), which its lockout of every
    address spares; read only while such a lockout lasts."""
    if user.locked_until is None or w.now >= user.locked_until:
        return frozenset()
    since = w.now - credentials.KNOWN_WINDOW
    found = w.uow.identity.login_addresses(user.id, since)
    return frozenset(credentials.source_of(address) for address in found)


def _check_address(w: Work, address: str) -> None:
    times = w.uow.identity.failures_since(address, w.now - credentials.ADDRESS_WINDOW)
    retry = credentials.address_retry_after(times, w.now)
    if retry is not None:
        log.warning("login from %s throttled: %d recent failures", address, len(times))
        raise TooManyAttempts(retry)


# ---- the command ----------------------------------------------------------------------------
def record_login(w: Work, cmd: RecordLogin) -> LoginResult | LoginRefused:
    address, source, username = _who(cmd)
    # Locked for the transaction: the outcome is decided on the account's row as it is now.
    user = find_user(w, username, lock=True) if username else None
    if user is None:
        return _failed(w, None, source, Unauthorized())
    # Read after the account's lock: what concurrent logins recorded before is seen.
    since = w.now - credentials.ACCOUNT_WINDOW
    lockouts = w.uow.identity.lockouts(user.id, since)
    known = _known_sources(w, user)
    if account_rules.locked_until(user, lockouts, source, w.now, known=known) is not None:
        # Refused as an unknown name is (not TooManyAttempts): the answer never tells
        # whether a name is an account's. The lockout itself is unchanged.
        return _failed(w, None, source, Unauthorized())
    counted = w.uow.identity.account_failures(user.id, since)
    if not cmd.password_ok:
        if user.disabled_at is not None:
            return _failed(w, None, source, Unauthorized())
        return _failed(w, user, source, Unauthorized(), counted=counted, lockouts=lockouts)
    if user.disabled_at is not None or user.password_hash != cmd.verified_hash:
        # Disabled, or given another password since the check: no session.
        return LoginRefused(Unauthorized())
    token = credentials.new_token()  # a new session, a new token: nothing fixed beforehand
    rows, expires_at = account_rules.login_opened(
        user,
        rehash=cmd.rehash,
        digest=credentials.digest(token),
        address=address,
        source=source,
        counted=counted,
        idle_minutes=cmd.idle_minutes,
        max_hours=cmd.max_hours,
        now=w.now,
    )
    w.apply_rows(rows)
    principal = principal_of(w, user, via="session", seen_at=w.now)
    log.info("account %s logged in from %s", user.username, address)
    return LoginResult(session_token=token, principal=principal, expires_at=expires_at)


def _failed(
    w: Work,
    user: UserRow | None,
    address: str,
    error: Unauthorized,
    *,
    counted: Sequence[tuple[int, str, datetime]] = (),
    lockouts: Sequence[LockoutRow] = (),
) -> LoginRefused:
    """Record a failed login from ``address`` (a source; counted against ``user``, if given,
    whose ``counted`` failures and ``lockouts`` were read under its lock), and the refusal to
    return. A lockout it starts is recorded, and logged; a lockout of every address is also
    told to the admins (a notice to the operators about no space, which only an account that
    sees every space is shown, as the audit checkpoint is)."""
    forgotten = w.uow.identity.failures_until(
        w.now - credentials.ADDRESS_WINDOW, w.now - credentials.ACCOUNT_WINDOW
    )
    rows, lockout = account_rules.login_failed(
        user, address, counted=counted, lockouts=lockouts, forgotten=forgotten, now=w.now
    )
    w.apply_rows(rows)
    if user is not None and lockout is not None:
        log.warning(
            "account %s locked from %s until %s after %d failed logins (last from %s)",
            user.username,
            "every address (but those it logged in from within 30 days)"
            if lockout.address is None
            else lockout.address,
            lockout.until.isoformat(),
            lockout.failures,
            address,
        )
        if lockout.address is None:
            sources = len({failed_from for _, failed_from, _ in counted} | {address})
            key, context = account_rules.ceiling_notice(user, lockout, sources, w.now)
            queue_operator_digest(w, key, "zh-CN", context)
    return LoginRefused(error)


def logout(w: Work, cmd: Logout) -> None:
    w.apply_rows(account_rules.logout(_session(w, cmd.session_token), w.now))


def touch_session(w: Work, cmd: TouchSession) -> None:
    w.apply_rows(account_rules.touch_session(_session(w, cmd.session_token), w.now))


def _session(w: Work, token: str) -> SessionRow | None:
    """The session of ``token`` (None: a token no session has, or too long to be one)."""
    if len(token) > credentials.MAX_TOKEN_CHARS:
        return None
    found = w.uow.identity.session_user(credentials.digest(token))
    return None if found is None else found[0]
