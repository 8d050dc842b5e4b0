"""The reads of the identity commands and of the principal queries: accounts, their grants,
API tokens, login sessions, failed logins and lockouts, reviewer assignments, and the responses kept
for an account's ``Idempotency-Key`` retries.

Like :mod:`db.repositories`, each read is a Core statement built once that returns plain
records: a command changes them through :class:`~db.effects.Rows`, never by assignment.
Handlers reach them as ``uow.identity``; ``tests/fakes.py`` keeps the same rows in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Row, bindparam, select

from db import tables_http  # noqa: F401 - registers idempotency_keys on ALL_TABLES
from db.repositories import _OnConnection as OnConnection
from db.tables import ALL_TABLES


@dataclass(slots=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: str
    firm_id: int | None
    email: str | None
    created_at: datetime
    password_hash: str | None
    disabled_at: datetime | None
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None


@dataclass(slots=True)
class TokenRow:
    id: int
    user_id: int
    label: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(slots=True)
class SessionRow:
    id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    idle_seconds: int
    revoked_at: datetime | None


@dataclass(slots=True)
class LockoutRow:
    """A lockout of an account from one address (``address`` None: from every address)."""

    id: int
    address: str | None
    failures: int
    locked_at: datetime
    locked_until: datetime
    lifted_at: datetime | None
    lifted_by: str | None


@dataclass(slots=True)
class KeyRow:
    """An ``Idempotency-Key`` claimed by an account, and the response stored with it."""

    id: int
    request: str
    body_sha256: str
    status: int
    response: dict[str, Any]
    created_at: datetime


_NAMES = ("users", "user_spaces", "api_tokens", "api_token_spaces", "sessions")
_U, _US, _TK, _TS, _SE = (ALL_TABLES.tables[name] for name in _NAMES)
_LF, _RA = ALL_TABLES.tables["login_failures"], ALL_TABLES.tables["reviewer_assignments"]
_LL = ALL_TABLES.tables["login_lockouts"]
_IK = ALL_TABLES.tables["idempotency_keys"]
USER_COLUMNS = tuple(UserRow.__dataclass_fields__)
TOKEN_COLUMNS = tuple(TokenRow.__dataclass_fields__)
SESSION_COLUMNS = tuple(SessionRow.__dataclass_fields__)
_USER_COLS = [_U.c[n] for n in USER_COLUMNS]
_TOKEN_COLS = [_TK.c[n] for n in TOKEN_COLUMNS]
_SESSION_COLS = [_SE.c[n] for n in SESSION_COLUMNS]
_TOKEN_WIDTH, _SESSION_WIDTH = len(TOKEN_COLUMNS), len(SESSION_COLUMNS)
R = TypeVar("R")
_KEY = select(*(_IK.c[n] for n in KeyRow.__dataclass_fields__)).where(
    _IK.c.owner == bindparam("owner"), _IK.c.key == bindparam("key")
)
_KEYS_UNTIL = select(_IK.c.id).where(_IK.c.created_at <= bindparam("until")).order_by(_IK.c.id)

_USER = select(*_USER_COLS).where(_U.c.username == bindparam("username"))
_USER_LOCKED = _USER.with_for_update()
_USER_SPACES = select(_US.c.space_id).where(_US.c.user_id == bindparam("user_id"))
_TOKEN = select(*_TOKEN_COLS).where(_TK.c.id == bindparam("token_id"))
_TOKEN_USER = (
    select(*_TOKEN_COLS, *_USER_COLS)
    .join(_U, _U.c.id == _TK.c.user_id)
    .where(_TK.c.token_sha256 == bindparam("digest"))
)
_TOKEN_SPACES = select(_TS.c.space_id).where(_TS.c.token_id == bindparam("token_id"))
_SESSION_USER = (
    select(*_SESSION_COLS, *_USER_COLS)
    .join(_U, _U.c.id == _SE.c.user_id)
    .where(_SE.c.token_sha256 == bindparam("digest"))
)
_OPEN_SESSIONS = (
    select(_SE.c.id)
    .where(_SE.c.user_id == bindparam("user_id"), _SE.c.revoked_at.is_(None))
    .order_by(_SE.c.id)
)
_LOGIN_ADDRESSES = (
    select(_SE.c.address)
    .where(_SE.c.user_id == bindparam("user_id"), _SE.c.created_at > bindparam("since"))
    .distinct()
)
_FAILURES_SINCE = select(_LF.c.at).where(
    _LF.c.address == bindparam("address"), _LF.c.at > bindparam("since")
)
_FAILURES_UNTIL = (
    select(_LF.c.id)
    .where(
        (_LF.c.at <= bindparam("account_until"))
        | (_LF.c.user_id.is_(None) & (_LF.c.at <= bindparam("until")))
    )
    .order_by(_LF.c.id)
)
_ACCOUNT_FAILURES = (
    select(_LF.c.id, _LF.c.address, _LF.c.at)
    .where(_LF.c.user_id == bindparam("user_id"), _LF.c.at > bindparam("since"))
    .order_by(_LF.c.id)
)
_LOCKOUTS = (
    select(*(_LL.c[n] for n in LockoutRow.__dataclass_fields__))
    .where(_LL.c.user_id == bindparam("user_id"), _LL.c.locked_until > bindparam("since"))
    .order_by(_LL.c.id)
)
_ASSIGNED = select(_RA.c.user_id).where(
    _RA.c.tenancy_id == bindparam("tenancy_id"), _RA.c.user_id == bindparam("user_id")
)


class Identity(Protocol):
    """The identity reads as a unit of work hands them out (``uow.identity``)."""

    def user(self, username: str, *, lock: bool = False) -> UserRow | None: ...
    def user_spaces(self, user_id: int) -> frozenset[int]: ...
    def token(self, token_id: int) -> TokenRow | None: ...
    def token_user(self, digest: str) -> tuple[TokenRow, UserRow] | None: ...
    def token_spaces(self, token_id: int) -> frozenset[int]: ...
    def session_user(self, digest: str) -> tuple[SessionRow, UserRow] | None: ...
    def open_sessions(self, user_id: int) -> list[int]: ...
    def login_addresses(self, user_id: int, since: datetime) -> list[str]: ...
    def failures_since(self, address: str, since: datetime) -> list[datetime]: ...
    def failures_until(self, until: datetime, account_until: datetime) -> list[int]: ...
    def account_failures(
        self, user_id: int, since: datetime
    ) -> list[tuple[int, str, datetime]]: ...
    def lockouts(self, user_id: int, since: datetime) -> list[LockoutRow]: ...
    def assigned(self, tenancy_id: int, user_id: int) -> bool: ...
    def idempotency_key(self, owner: str, key: str) -> KeyRow | None: ...
    def keys_until(self, until: datetime) -> list[int]: ...


class CoreIdentity(OnConnection):
    """The identity reads (:class:`Identity`) over the unit of work's connection (asked for
    at each call)."""

    __slots__ = ()

    def _one(self, stmt: Any, make: Callable[[Row[Any]], R], **params: Any) -> R | None:
        row = self.connection().execute(stmt, params).first()
        return None if row is None else make(row)

    def _ids(self, stmt: Any, **params: Any) -> list[int]:
        return [int(i) for i in self.connection().execute(stmt, params).scalars()]

    def user(self, username: str, *, lock: bool = False) -> UserRow | None:
        """The account named ``username`` (as stored: lower case), locked for the
        transaction (``FOR UPDATE`` on PostgreSQL) if ``lock``."""
        return self._one(_USER_LOCKED if lock else _USER, _user, username=username)

    def user_spaces(self, user_id: int) -> frozenset[int]:
        """The spaces granted to the account."""
        return frozenset(self._ids(_USER_SPACES, user_id=user_id))

    def token(self, token_id: int) -> TokenRow | None:
        return self._one(_TOKEN, lambda row: TokenRow(*row), token_id=token_id)

    def token_spaces(self, token_id: int) -> frozenset[int]:
        """The spaces an API token is limited to (none: its account's)."""
        return frozenset(self._ids(_TOKEN_SPACES, token_id=token_id))

    def token_user(self, digest: str) -> tuple[TokenRow, UserRow] | None:
        """The API token whose SHA-256 is ``digest``, and its account."""
        return self._one(_TOKEN_USER, _token_user, digest=digest)

    def session_user(self, digest: str) -> tuple[SessionRow, UserRow] | None:
        """The login session whose token's SHA-256 is ``digest`` (ended or not), and its
        account."""
        return self._one(_SESSION_USER, _session_user, digest=digest)

    def open_sessions(self, user_id: int) -> list[int]:
        """The ids of the account's sessions not ended."""
        return self._ids(_OPEN_SESSIONS, user_id=user_id)

    def login_addresses(self, user_id: int, since: datetime) -> list[str]:
        """The addresses the account logged in from (its sessions opened) after ``since``."""
        params = {"user_id": user_id, "since": since}
        return [str(a) for a in self.connection().execute(_LOGIN_ADDRESSES, params).scalars()]

    def failures_since(self, address: str, since: datetime) -> list[datetime]:
        """When the failed logins from ``address`` after ``since`` were."""
        params = {"address": address, "since": since}
        return list(self.connection().execute(_FAILURES_SINCE, params).scalars())

    def failures_until(self, until: datetime, account_until: datetime) -> list[int]:
        """The ids of the failed logins (from any address) no longer kept: counted against no
        account and at or before ``until``, or at or before ``account_until``."""
        return self._ids(_FAILURES_UNTIL, until=until, account_until=account_until)

    def account_failures(self, user_id: int, since: datetime) -> list[tuple[int, str, datetime]]:
        """The failed logins counted against the account after ``since``: (id, address,
        when), oldest first."""
        params = {"user_id": user_id, "since": since}
        found = self.connection().execute(_ACCOUNT_FAILURES, params)
        return [(int(i), str(address), at) for i, address, at in found]

    def lockouts(self, user_id: int, since: datetime) -> list[LockoutRow]:
        """The account's lockouts that end after ``since`` (lifted or not), oldest first."""
        found = self.connection().execute(_LOCKOUTS, {"user_id": user_id, "since": since})
        return [LockoutRow(*row) for row in found]

    def assigned(self, tenancy_id: int, user_id: int) -> bool:
        return self._one(_ASSIGNED, bool, tenancy_id=tenancy_id, user_id=user_id) is not None

    def idempotency_key(self, owner: str, key: str) -> KeyRow | None:
        """The key ``owner`` claimed (expired or not), with its stored response."""
        return self._one(_KEY, lambda row: KeyRow(*row), owner=owner, key=key)

    def keys_until(self, until: datetime) -> list[int]:
        """The ids of the keys claimed at or before ``until`` (any owner's)."""
        return self._ids(_KEYS_UNTIL, until=until)


def _user(row: Sequence[Any]) -> UserRow:
    return UserRow(*row)


def _token_user(row: Sequence[Any]) -> tuple[TokenRow, UserRow]:
    return TokenRow(*row[:_TOKEN_WIDTH]), UserRow(*row[_TOKEN_WIDTH:])


def _session_user(row: Sequence[Any]) -> tuple[SessionRow, UserRow]:
    return SessionRow(*row[:_SESSION_WIDTH]), UserRow(*row[_SESSION_WIDTH:])
