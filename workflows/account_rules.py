"""The identity commands decided as data: what an account, a grant, an API token, a login's
outcome, a logout or a touch writes.

Each function here is pure: it takes what the command loaded through ``uow.identity`` (the
account, its grants, its open sessions, the token, ...), the secrets the handler made (a
password's hash, a token's digest) and the time, and returns the :class:`~db.effects.Rows`
to write, or adds them to the effects of the tenancy a reviewer is assigned to. The handlers
in :mod:`workflows.accounts` and :mod:`workflows.logins` load, call one of these, and hand
the rows to the one writer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from db.effects import Effects, Ref, Rows, StepResult
from db.identity import SessionRow, TokenRow, UserRow
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound
from workflows import credentials
from workflows.identity import TOUCH_EVERY

#: Roles that are scoped by granted spaces.
SPACE_ROLES = ("operator", "viewer", "reviewer")
#: The roles a token of an account may carry (never more than the account's own).
TOKEN_ROLES: dict[str, tuple[str, ...]] = {
    "admin": ("admin", "operator", "viewer"),
    "operator": ("operator", "viewer"),
    "reviewer": ("reviewer",),
    "firm": ("firm",),
    "viewer": ("viewer",),
}


# ---- accounts -------------------------------------------------------------------------------
def new_user(
    account: Mapping[str, Any],
    *,
    password_hash: str,
    spaces: Sequence[int],
    now: datetime,
) -> tuple[Rows, Ref]:
    """A new account (``account``: its name, display name, role, firm and e-mail, checked by
    the caller) and its grants; the Ref names its row. It starts enabled, never logged in."""
    rows = Rows()
    never = dict.fromkeys(("disabled_at", "locked_until", "last_login_at"))
    user = rows.insert(
        "users", **account, **never, created_at=now, password_hash=password_hash, failed_logins=0
    )
    for space in spaces:
        rows.insert("user_spaces", user_id=user, space_id=space)
    return rows, user


def end_sessions(rows: Rows, sessions: Sequence[int], now: datetime) -> int:
    """End these sessions (an account's open ones) now; how many."""
    for session_id in sessions:
        rows.update("sessions", session_id, revoked_at=now)
    return len(sessions)


def new_password(
    user: UserRow, password_hash: str, sessions: Sequence[int], now: datetime
) -> tuple[Rows, int]:
    """The account's new password; its open ``sessions`` end. (rows, sessions ended)"""
    rows = Rows()
    rows.update("users", user.id, password_hash=password_hash)
    return rows, end_sessions(rows, sessions, now)


def disable(user: UserRow, sessions: Sequence[int], now: datetime) -> tuple[Rows, int]:
    """The account disabled (if it was not) and its open ``sessions`` ended."""
    rows = Rows()
    if user.disabled_at is None:
        rows.update("users", user.id, disabled_at=now)
    return rows, end_sessions(rows, sessions, now)


def enable(user: UserRow) -> Rows:
    """The account allowed again, its lockout lifted."""
    rows = Rows()
    rows.update("users", user.id, disabled_at=None, failed_logins=0, locked_until=None)
    return rows


def check_space_role(role: str) -> None:
    """Refuse granting spaces to a role that is not scoped by them."""
    if role not in SPACE_ROLES:
        raise InvalidInput(
            "space", f"{role} 角色不按空间授权 / the {role} role is not granted spaces"
        )


def grant(user: UserRow, space_id: int, granted: frozenset[int]) -> Rows | None:
    """A space granted to the account; None when ``granted`` (its spaces) has it already."""
    check_space_role(user.role)
    if space_id in granted:
        return None
    rows = Rows()
    rows.insert("user_spaces", user_id=user.id, space_id=space_id)
    return rows


# ---- tokens ---------------------------------------------------------------------------------
def check_token_role(user: UserRow, role: str) -> None:
    """Refuse a token role above its account's own."""
    if role not in TOKEN_ROLES[user.role]:
        raise InvalidInput(
            "role",
            f"令牌角色不得超出账户角色 {user.role}（可选 {', '.join(TOKEN_ROLES[user.role])}）"
            f" / a token's role is at most its account's ({user.role})",
            role,
        )


def credential(
    digest: str, user_id: int, now: datetime, expires_at: datetime | None
) -> dict[str, Any]:
    """The columns a login session and an API token share: the account, the secret's SHA-256
    (never the secret), when it was made and until when it holds, not revoked."""
    return {
        "user_id": user_id,
        "token_sha256": digest,
        "created_at": now,
        "expires_at": expires_at,
        "revoked_at": None,
    }


def new_token(
    user: UserRow,
    granted: frozenset[int],
    *,
    label: str,
    role: str,
    spaces: dict[str, int],
    expires_on: date | None,
    digest: str,
    tz: str,
    now: datetime,
    today: date,
) -> tuple[Rows, Ref, datetime | None]:
    """An API token of the account (``granted``: its spaces; ``spaces``: the token's, by
    code), stored as its ``digest``: (rows, its Ref, when it expires). Refused when it would
    carry more than the account (a role above its own, a space it was not granted)."""
    if user.disabled_at is not None:
        raise InvalidInput("user", "账户已停用 / the account is disabled", user.username)
    check_token_role(user, role)
    if spaces and role not in SPACE_ROLES:
        raise InvalidInput("space", f"{role} 令牌不按空间限定 / a {role} token has no spaces")
    if user.role != "admin":
        outside = [code for code, space_id in spaces.items() if space_id not in granted]
        if outside:
            raise InvalidInput(
                "space",
                "令牌只能限定在账户已获授权的空间 / a token is limited to its account's spaces",
                ", ".join(outside),
            )
    elif role in SPACE_ROLES and not spaces:
        raise InvalidInput(
            "space", f"{role} 令牌须指定空间 / a {role} token of an admin needs --space"
        )
    expires_at = None
    if expires_on is not None:
        if expires_on < today:
            raise InvalidInput(
                "expires", f"不得早于今天 {today} / must not be before today", expires_on
            )
        # Valid through the whole day named, in the spaces' time zone.
        end = datetime.combine(expires_on + timedelta(days=1), time(), ZoneInfo(tz))
        expires_at = end.astimezone(now.tzinfo)
    rows = Rows()
    held = credential(digest, user.id, now, expires_at)
    token = rows.insert("api_tokens", **held, label=label, role=role, last_used_at=None)
    for space_id in dict.fromkeys(spaces.values()):
        rows.insert("api_token_spaces", token_id=token, space_id=space_id)
    return rows, token, expires_at


def revoke(token: TokenRow, now: datetime) -> Rows:
    """The token revoked now (a token revoked already keeps its time)."""
    rows = Rows()
    if token.revoked_at is None:
        rows.update("api_tokens", token.id, revoked_at=now)
    return rows


def touch_token(token: TokenRow | None, now: datetime) -> Rows:
    """The token marked used now, unless it was within :data:`TOUCH_EVERY`."""
    rows = Rows()
    used = None if token is None else token.last_used_at
    if token is not None and (used is None or used <= now - TOUCH_EVERY):
        rows.update("api_tokens", token.id, last_used_at=now)
    return rows


# ---- sessions -------------------------------------------------------------------------------
def touch_session(session: SessionRow | None, now: datetime) -> Rows:
    """An open session marked used now, unless it was within :data:`TOUCH_EVERY`."""
    rows = Rows()
    stale = session is not None and session.last_seen_at <= now - TOUCH_EVERY
    if session is not None and session.revoked_at is None and stale:
        rows.update("sessions", session.id, last_seen_at=now)
    return rows


def logout(session: SessionRow | None, now: datetime) -> Rows:
    """An open session ended now (a token that names none changes nothing)."""
    rows = Rows()
    if session is not None and session.revoked_at is None:
        rows.update("sessions", session.id, revoked_at=now)
    return rows


def login_opened(
    user: UserRow,
    *,
    rehash: str | None,
    digest: str,
    address: str,
    idle_minutes: int,
    max_hours: int,
    now: datetime,
) -> tuple[Rows, datetime]:
    """A login that succeeded: the account's counters reset (its hash replaced by ``rehash``
    when given) and a new session, stored as its token's ``digest``. (rows, its expiry)"""
    rows = Rows()
    values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if rehash is not None:
        values["password_hash"] = rehash
    rows.update("users", user.id, **values)
    expires_at = now + timedelta(hours=max_hours)
    held = credential(digest, user.id, now, expires_at)
    rows.insert(
        "sessions", **held, address=address, last_seen_at=now, idle_seconds=idle_minutes * 60
    )
    return rows, expires_at


def login_failed(
    user: UserRow | None, address: str, forgotten: Sequence[int], now: datetime
) -> tuple[Rows, datetime | None]:
    """A failed login from ``address``: counted against ``user`` (read under its lock, so
    concurrent failures are all counted; None: none to count), which locks at
    :data:`~workflows.credentials.MAX_FAILURES`; the failures that no longer count
    (``forgotten``, from any address) go: the table holds one window's worth.
    (rows, the end of the lockout it starts)"""
    rows = Rows()
    locked_until = None
    if user is not None:
        failed, locked_until = credentials.after_failure(user.failed_logins, now)
        values: dict[str, object] = {"failed_logins": failed}
        if locked_until is not None:
            values["locked_until"] = locked_until
        rows.update("users", user.id, **values)
    for failure_id in forgotten:
        rows.delete("login_failures", id=failure_id)
    rows.insert("login_failures", address=address, at=now)
    return rows, locked_until


# ---- reviewer assignments -------------------------------------------------------------------
def assignment(
    e: Effects,
    reviewer: UserRow,
    *,
    assigned: bool,
    at: datetime | None,
    actor: str,
    reason: str | None,
) -> StepResult:
    """A reviewer assigned to an application (``at``: when; the row is added) or taken off it
    (``at`` None; the row goes), audited on the tenancy. ``assigned``: whether it is now."""
    what = "assign_reviewer" if at is not None else "unassign_reviewer"
    who = f"{reviewer.username} for tenancy {e.tenancy.id}"
    if at is not None:
        if assigned:
            raise AlreadyExists("reviewer assignment", who)
        e.insert(
            "reviewer_assignments",
            tenancy_id=e.tenancy.id,
            user_id=reviewer.id,
            assigned_at=at,
            assigned_by=actor,
        )
    else:
        if not assigned:
            raise NotFound("reviewer assignment", who)
        e.delete("reviewer_assignments", tenancy_id=e.tenancy.id, user_id=reviewer.id)
    data = {"reviewer": reviewer.username, "account_id": reviewer.id}
    return e.record(what, actor=actor, reason=reason, data=data)
