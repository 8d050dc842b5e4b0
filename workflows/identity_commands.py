"""The identity commands (handled in ``workflows.accounts`` and ``workflows.logins``) and
what they and the queries return; ``workflows.identity`` re-exports every name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from workflows.commands import Command, TenancyCommand


class AddUser(Command):
    """A new account; returns its id."""

    username: str
    display_name: str
    role: str
    password: str
    space_codes: tuple[str, ...] = ()
    firm_uscc: str | None = None
    email: str | None = None


class SetPassword(Command):
    username: str
    password: str


class DisableUser(Command):
    """Refuse the account's logins and end its sessions (its tokens stop working too)."""

    username: str


class EnableUser(Command):
    """Allow the account again and lift its lockouts."""

    username: str


class UnlockUser(Command):
    """Lift the account's lockouts (of any address, and of every address): an admin's."""

    username: str


class GrantSpace(Command):
    username: str
    space_code: str


class CreateToken(Command):
    """An API token for a system; returns :class:`NewToken` (the plaintext, shown once).
    ``role``: at most the user's own (None: the user's); ``space_codes``: a subset of the
    user's spaces (empty: the user's); ``expires_on``: last day it works (None: no expiry)."""

    username: str
    label: str
    role: str | None = None
    space_codes: tuple[str, ...] = ()
    expires_on: date | None = None


class RevokeToken(Command):
    token_id: int


@dataclass(frozen=True, kw_only=True)
class Login:
    """A login attempt (not a command: :func:`workflows.logins.log_in` checks the password
    outside any write transaction, then sends :class:`RecordLogin`). Its result is
    :class:`~workflows.identity.LoginResult`; it raises Unauthorized (any wrong part, never
    saying which) or TooManyAttempts."""

    username: str
    password: str
    address: str
    idle_minutes: int = 30
    max_hours: int = 12
    actor: str = "login"


class RecordLogin(Command):
    """The outcome of a password check (made before this command, outside its transaction):
    on success opens a session and resets the account's counters; on failure counts it
    against the account (atomically) and the address. Returns
    :class:`~workflows.identity.LoginResult` or :class:`~workflows.identity.LoginRefused` —
    a refusal is a successful command, so what it counted is committed.

    ``verified_hash``: the hash the password was checked against (None: no account, or not
    checked); a success whose hash changed meanwhile is refused. ``rehash``: a new hash of
    the password, when the stored one's parameters are outdated."""

    username: str
    address: str
    password_ok: bool
    verified_hash: str | None = None
    rehash: str | None = None
    idle_minutes: int = 30
    max_hours: int = 12


class Logout(Command):
    session_token: str


class TouchSession(Command):
    """Mark a session used now (its idle expiry starts again); a no-op within a minute."""

    session_token: str


class TouchToken(Command):
    """Mark an API token used now; a no-op within a minute."""

    token_id: int


class AssignReviewer(TenancyCommand):
    """An operator assigns a reviewer account to an application (audited on the tenancy)."""

    username: str


class UnassignReviewer(TenancyCommand):
    username: str


@dataclass(frozen=True)
class NewToken:
    token_id: int
    token: str  # the plaintext: shown once, never stored
    expires_at: datetime | None


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    role: str
    spaces: tuple[str, ...]
    firm_uscc: str | None
    email: str | None
    disabled: bool
    locked_until: datetime | None  # set while a lockout of every address lasts
    last_login_at: datetime | None
    created_at: datetime
    #: The addresses the account is locked out from now (its owner, elsewhere, is not).
    locked_addresses: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """``disabled``, ``locked`` or ``active`` (as of when the view was read)."""
        if self.disabled:
            return "disabled"
        return "locked" if self.locked_until is not None else "active"


@dataclass(frozen=True)
class TokenView:
    id: int
    username: str
    label: str
    role: str
    spaces: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"
