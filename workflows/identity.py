"""Accounts, roles, sessions and API tokens: who acts, and what they may touch.

Roles (DESIGN.md decision 14):

- ``admin``: accounts, rulebooks, templates; sees every space (by role, not by grants:
  an admin's ``space_ids`` is empty and :meth:`Principal.may_see_space` is always true).
- ``operator``: the spaces granted to the account (``user grant``).
- ``reviewer``: the applications assigned to the account (:class:`AssignReviewer`, an
  operator's action, audited on the tenancy); ``space_ids`` holds any spaces granted.
- ``firm``: its own firm's records only (``firm_id``); ``space_ids`` is empty and
  :meth:`Principal.may_see_space` false — a firm's scope is its firm, never a space.
- ``viewer``: read-only across the spaces granted (the district's staff).

Secrets: passwords are argon2 hashes (argon2-cffi, its defaults; rehashed on login when the
parameters change). Session tokens and API tokens are 32 random bytes; only their SHA-256 is
stored (a fast hash is enough for a secret of that entropy), so a database dump logs no one in.
An API token is shown once, when it is created.

Sessions live server-side (table ``sessions``); the browser's cookie carries the token (the
HTTP layer signs it). A session ends at its absolute expiry (``Login.max_hours``, default
12 h), after ``Login.idle_minutes`` (default 30) without use, at logout, or when the account is
disabled. Both limits are fixed in the session's row when it is created (the HTTP layer passes
``INNOSPACE_SESSION_IDLE_MINUTES`` / ``INNOSPACE_SESSION_MAX_HOURS``), so the queries need
no configuration. Queries never write: the HTTP layer sends :class:`TouchSession` (or
:class:`TouchToken`) when :func:`needs_touch` says the principal's ``seen_at`` is a minute old
— at most one write a minute per session.

Login throttling (``workflows.credentials``, after OWASP: a lockout must not let anyone who
knows a user name keep its owner out): an account is locked *from one address* for
``LOCK_MINUTES`` (15) after ``MAX_FAILURES`` (5) failures from that address — it refuses
even the right password from there, while its owner logs in from elsewhere; it is locked
*from every address* for ``ACCOUNT_LOCK_MINUTES`` (60) only when guessing spread over many
addresses passes ``ACCOUNT_MAX_FAILURES`` (50) within ``ACCOUNT_WINDOW`` (1 h), no address
counting more than five — and even then not from the addresses it logged in from within
``KNOWN_WINDOW`` (30 days), and the admins are told. An address is a *source*
(``credentials.source_of``): an IPv6 address counts as its /64; a login with no client
address is throttled, never locked. Each lockout is kept (``login_lockouts``) and logged;
``user unlock`` (or ``user enable``) lifts them. A locked account is refused as a wrong password
is (:class:`~lifecycle.errors.Unauthorized`); an address with ``ADDRESS_MAX_FAILURES`` (20)
failures within ``ADDRESS_WINDOW`` (10 min) is refused before any password is checked, with
:class:`~lifecycle.errors.TooManyAttempts` (``retry_after`` seconds). The password is
checked outside any write transaction, and the outcome recorded by a short command of its
own (``workflows.logins``): a failure is that command's successful result, so it is counted.

Here: the principal and its helpers, and the named queries; the commands and the shapes the
queries return are defined in ``workflows.identity_commands`` and re-exported here; their
handlers are ``workflows.accounts`` (accounts, grants, tokens, reviewer assignments) and
``workflows.logins`` (logins, logouts, session touches).
"""

from __future__ import annotations

import getpass
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlmodel import col, select

from db.identity import UserRow
from db.tables import (
    ApiToken,
    ApiTokenSpace,
    Firm,
    LoginLockout,
    ReviewerAssignment,
    Space,
    User,
    UserSpace,
)
from lifecycle.errors import InnospaceError, NotFound, Unauthorized
from workflows import credentials, inputs
from workflows.core import Work
from workflows.identity_commands import (
    AddUser,
    AssignReviewer,
    CreateToken,
    DisableUser,
    EnableUser,
    GrantSpace,
    Login,
    Logout,
    NewToken,
    RecordLogin,
    RevokeToken,
    SetPassword,
    TokenView,
    TouchSession,
    TouchToken,
    UnassignReviewer,
    UnlockUser,
    UserView,
)

__all__ = [  # what workflows.identity_commands defines, re-exported here
    "AddUser",
    "AssignReviewer",
    "CreateToken",
    "DisableUser",
    "EnableUser",
    "GrantSpace",
    "Login",
    "Logout",
    "NewToken",
    "RecordLogin",
    "RevokeToken",
    "SetPassword",
    "TokenView",
    "TouchSession",
    "TouchToken",
    "UnassignReviewer",
    "UnlockUser",
    "UserView",
]

Role = Literal["admin", "operator", "reviewer", "firm", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)
Via = Literal["session", "token", "cli"]

#: How an actor recorded from the command line on the server starts: ``cli:<os user> NAME``.
CLI_PREFIX = "cli:"
#: How an account's actor starts: ``account:<id> <display name>``.
ACCOUNT_PREFIX = "account:"
#: The longest actor string an audit event holds (``audit_events.actor``).
ACTOR_MAX = 100
#: How often (at most) a session's or token's ``last_seen_at`` / ``last_used_at`` is written.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The account a request acts as. ``space_ids``: the spaces granted (operator, viewer,
    reviewer; for a token, the token's own scope when it names spaces); empty for an admin,
    who sees all spaces by role, and for a firm user, whose scope is ``firm_id``."""

    account_id: int | None
    username: str
    display_name: str
    role: Role
    space_ids: frozenset[int]
    firm_id: int | None
    via: Via
    token_id: int | None = None
    #: When the session or token was last marked used (None for the CLI).
    seen_at: datetime | None = None

    @property
    def actor(self) -> str:
        """What the audit log records as the actor: ``account:<id> <display name>``."""
        if self.account_id is None:
            return self.display_name[:ACTOR_MAX]
        return f"{ACCOUNT_PREFIX}{self.account_id} {self.display_name}"[:ACTOR_MAX]

    @property
    def spaces(self) -> frozenset[int] | None:
        """The spaces the account's lists are narrowed to (None: every space, an admin)."""
        return None if self.role == "admin" else self.space_ids

    def may_see_space(self, space_id: int) -> bool:
        if self.role == "admin":
            return True
        if self.role == "firm":
            return False
        return space_id in self.space_ids


def cli_actor(name: str) -> str:
    """The actor of a CLI command run on the server: ``cli:<os user> <name>``."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's anonymous uid)
        os_user = "unknown"
    os_user = "_".join(os_user.split()) or "unknown"  # the first space ends the user name
    prefix = f"{CLI_PREFIX}{os_user}"
    if not name.strip():
        return prefix[:ACTOR_MAX]
    # The name is checked, never cut: the audit log keeps ACTOR_MAX characters in all.
    limit = max(1, ACTOR_MAX - len(prefix) - 1)
    return f"{prefix} {inputs.check_name('actor', name, limit=limit)}"


def actor_name(actor: str) -> str:
    """The person's name in an actor string: ``NAME`` of ``cli:<os user> NAME`` (empty when
    none was given) or of ``account:<id> NAME``; any other actor as it is."""
    if actor.startswith((CLI_PREFIX, ACCOUNT_PREFIX)):
        return actor.partition(" ")[2]
    return actor


def needs_touch(principal: Principal, now: datetime) -> bool:
    """True when the principal's session or token was last marked used a minute ago or more
    (the HTTP layer then sends :class:`TouchSession` / :class:`TouchToken`)."""
    return principal.seen_at is not None and now - principal.seen_at >= TOUCH_EVERY


@dataclass(frozen=True)
class LoginResult:
    session_token: str
    principal: Principal
    expires_at: datetime


@dataclass(frozen=True)
class LoginAttempt:
    """What a login checks before the password: the account's hash and the end of its lockout
    from the login's address (both None when there is no such account)."""

    password_hash: str | None
    locked_until: datetime | None


@dataclass(frozen=True)
class LoginRefused:
    """A login refused after its failure was recorded: ``error`` is raised to the caller."""

    error: InnospaceError


# ---- the principals of API tokens, cached per process --------------------------------------
#: How long a process trusts an API token's principal without asking the database again.
TOKEN_CACHE_SECONDS = 5.0
#: At most this many tokens' principals are kept per process (the oldest make room).
TOKEN_CACHE_SIZE = 1_000

_generation = 0
_generation_lock = threading.Lock()


def principals_changed() -> None:
    """Every principal cached in this process is stale: an account, a grant or a token was
    changed (called after the commit of the commands that do, :func:`after_commit_forget`)."""
    global _generation
    with _generation_lock:
        _generation += 1


def principals_generation() -> int:
    """Bumped by :func:`principals_changed`; a principal read before a change is not kept."""
    return _generation


def after_commit_forget(w: Work) -> None:
    """Forget the cached principals once this command has committed."""
    w.uow.after_commit.append(principals_changed)


@dataclass(frozen=True)
class CachedPrincipal:
    principal: Principal
    expires_at: datetime | None  # the token's own expiry
    loaded: float  # monotonic seconds
    generation: int


class TokenCache:
    """API tokens' principals for :data:`TOKEN_CACHE_SECONDS` at most, keyed by the token's
    SHA-256, in one process (a uvicorn worker). A token or an account changed by a command
    of this process (revoked, disabled, enabled, granted a space, its password set) is read
    again on its next request: those commands forget every entry when they commit. Changed
    by another process (another worker, the CLI), it takes effect there within
    :data:`TOKEN_CACHE_SECONDS`. A token's expiry is checked on every request; a refused
    token is never cached (a token that starts working is seen at once)."""

    def __init__(
        self,
        seconds: float = TOKEN_CACHE_SECONDS,
        size: int = TOKEN_CACHE_SIZE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.monotonic = monotonic
        self._entries: dict[str, CachedPrincipal] = {}
        self._lock = threading.Lock()

    def get(self, token: str, now: datetime) -> Principal | None:
        key = credentials.digest(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if (
            entry.generation != _generation
            or self.monotonic() - entry.loaded >= self.seconds
            or (entry.expires_at is not None and now >= entry.expires_at)
        ):
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            return None
        return entry.principal

    def put(
        self, token: str, principal: Principal, expires_at: datetime | None, generation: int
    ) -> None:
        """Keep ``principal``, read after :func:`principals_generation` was ``generation``."""
        entry = CachedPrincipal(principal, expires_at, self.monotonic(), generation)
        self._store(credentials.digest(token), entry)

    def seen(self, token: str, at: datetime) -> None:
        """The token was marked used at ``at`` (:class:`TouchToken`)."""
        key = credentials.digest(token)
        entry = self._entries.get(key)
        if entry is not None:
            self._store(key, replace(entry, principal=replace(entry.principal, seen_at=at)))

    def _store(self, key: str, entry: CachedPrincipal) -> None:
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self.size:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = entry


# ---- queries --------------------------------------------------------------------------------
def principal_for_session(w: Work, session_token: str) -> Principal:
    """The account a browser session acts as; Unauthorized when the session is unknown,
    ended, past its absolute expiry or idle too long, or its account disabled."""
    if not session_token or len(session_token) > credentials.MAX_TOKEN_CHARS:
        raise Unauthorized()
    found = w.uow.identity.session_user(credentials.digest(session_token))
    if found is None:
        raise Unauthorized()
    row, user = found
    idle = timedelta(seconds=row.idle_seconds)
    if (
        row.revoked_at is not None
        or w.now >= row.expires_at
        or w.now - row.last_seen_at >= idle
        or user.disabled_at is not None
    ):
        raise Unauthorized("会话已过期，请重新登录 / the session has expired; log in again")
    return principal_of(w, user, via="session", seen_at=row.last_seen_at)


def principal_for_token(w: Work, token: str) -> Principal:
    """The account and scope an API token acts as; Unauthorized when the token is unknown,
    revoked or expired, or its account disabled. Its spaces: the token's own (those its
    account still holds, unless an admin's), else the account's."""
    return token_principal(w, token)[0]


def token_principal(w: Work, token: str) -> tuple[Principal, datetime | None]:
    """:func:`principal_for_token` and the token's expiry (None: it does not expire)."""
    if not token.startswith(credentials.TOKEN_PREFIX) or len(token) > credentials.MAX_TOKEN_CHARS:
        raise Unauthorized()
    found = w.uow.identity.token_user(credentials.digest(token))
    if found is None:
        raise Unauthorized()
    row, user = found
    if (
        row.revoked_at is not None
        or (row.expires_at is not None and w.now >= row.expires_at)
        or user.disabled_at is not None
    ):
        raise Unauthorized()
    account = principal_of(w, user, via="token", seen_at=row.last_used_at or row.created_at)
    scoped = w.uow.identity.token_spaces(row.id)
    spaces = account.space_ids
    if scoped:
        spaces = scoped if user.role == "admin" else scoped & account.space_ids
    role = _role(row.role)
    principal = replace(
        account,
        role=role,
        space_ids=frozenset() if role in ("admin", "firm") else spaces,
        token_id=row.id,
    )
    return principal, row.expires_at


def principal_of(w: Work, user: UserRow, *, via: Via, seen_at: datetime | None) -> Principal:
    """The principal of an account as stored (its role, granted spaces and firm)."""
    spaces = w.uow.identity.user_spaces(user.id)
    return Principal(
        account_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=_role(user.role),
        space_ids=spaces if user.role not in ("admin", "firm") else frozenset(),
        firm_id=user.firm_id if user.role == "firm" else None,
        via=via,
        seen_at=seen_at,
    )


def user_by_name(w: Work, username: str, *, lock: bool = False) -> UserRow:
    row = find_user(w, username, lock=lock)
    if row is None:
        raise NotFound("user", username)
    return row


def find_user(w: Work, username: str, *, lock: bool = False) -> UserRow | None:
    """The account named ``username`` (any case), locked for the transaction if ``lock``."""
    return w.uow.identity.user(username.strip().lower(), lock=lock)


def list_users(w: Work) -> list[UserView]:
    users = w.session.exec(select(User).order_by(col(User.username))).all()
    grants = _space_codes(w, UserSpace.user_id, UserSpace.space_id)
    firms = dict(w.session.exec(select(Firm.id, Firm.uscc).join(User)).all())
    locked_out: dict[int, list[str]] = {}
    running = select(LoginLockout.user_id, LoginLockout.address).where(
        col(LoginLockout.locked_until) > w.now,
        col(LoginLockout.lifted_at).is_(None),
        col(LoginLockout.address).is_not(None),
    )
    for user_id, address in w.session.exec(running.order_by(col(LoginLockout.id))).all():
        locked_out.setdefault(user_id, []).append(address or "")
    return [
        UserView(
            id=u.id or 0,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            spaces=tuple(grants.get(u.id or 0, ())),
            firm_uscc=firms.get(u.firm_id) if u.firm_id is not None else None,
            email=u.email,
            disabled=u.disabled_at is not None,
            locked_until=u.locked_until
            if u.locked_until is not None and w.now < u.locked_until
            else None,
            last_login_at=u.last_login_at,
            created_at=u.created_at,
            locked_addresses=tuple(dict.fromkeys(locked_out.get(u.id or 0, ()))),
        )
        for u in users
    ]


def list_tokens(w: Work, username: str | None = None) -> list[TokenView]:
    stmt = (
        select(ApiToken, User.username)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .order_by(col(ApiToken.id))
    )
    if username is not None:
        stmt = stmt.where(col(User.id) == user_by_name(w, username).id)
    scopes = _space_codes(w, ApiTokenSpace.token_id, ApiTokenSpace.space_id)
    return [
        TokenView(
            id=t.id or 0,
            username=name,
            label=t.label,
            role=t.role,
            spaces=tuple(scopes.get(t.id or 0, ())),
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
            last_used_at=t.last_used_at,
        )
        for t, name in w.session.exec(stmt).all()
    ]


def _space_codes(w: Work, owner: Any, space_id: Any) -> dict[int, list[str]]:
    """The codes of the spaces each owner holds (an account's grants, a token's scope), by
    the owner's id, in code order."""
    codes: dict[int, list[str]] = {}
    for owner_id, code in w.session.exec(
        select(owner, Space.code)
        .join(Space, col(Space.id) == col(space_id))
        .order_by(col(Space.code))
    ):
        codes.setdefault(owner_id, []).append(code)
    return codes


def assigned_reviewers(w: Work, tenancy_id: int) -> list[str]:
    """The user names of the reviewers assigned to a tenancy's application."""
    return list(
        w.session.exec(
            select(User.username)
            .join(ReviewerAssignment, col(ReviewerAssignment.user_id) == col(User.id))
            .where(col(ReviewerAssignment.tenancy_id) == tenancy_id)
            .order_by(col(User.username))
        ).all()
    )


def is_assigned(w: Work, tenancy_id: int, account_id: int) -> bool:
    return w.uow.identity.assigned(tenancy_id, account_id)


def _role(value: str) -> Role:
    if value not in ROLES:  # a row written outside innospace: no rights rather than a guess
        raise Unauthorized()
    return value
