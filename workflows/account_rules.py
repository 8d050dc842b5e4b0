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

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from db.effects import Effects, Ref, Rows, StepResult
from db.identity import LockoutRow, SessionRow, TokenRow, UserRow
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound
from workflows import credentials
from workflows.identity import TOUCH_EVERY

SHANGHAI = ZoneInfo("Asia/Shanghai")

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


def enable(user: UserRow, unlocked: Rows) -> Rows:
    """The account allowed again: ``unlocked`` (its lockouts lifted, :func:`unlock`) and,
    if it was disabled, no longer."""
    if user.disabled_at is not None:
        unlocked.update("users", user.id, disabled_at=None)
    return unlocked


def unlock(
    user: UserRow,
    lockouts: Sequence[LockoutRow],
    counted: Sequence[int],
    *,
    actor: str,
    now: datetime,
) -> tuple[Rows, int]:
    """An admin's lifting of the account's lockouts: those still running (of ``lockouts``, its
    recent ones) are marked lifted now by ``actor`` (kept: the record of every lockout), the
    lockout of every address ends, and the failures ``counted`` against it count no more (the
    counts start again; the addresses' own throttling keeps them). (rows, lockouts lifted)"""
    rows = Rows()
    lifted = 0
    for lockout in lockouts:
        if lockout.lifted_at is None and now < lockout.locked_until:
            rows.update("login_lockouts", lockout.id, lifted_at=now, lifted_by=actor[:100])
            lifted += 1
    if user.locked_until is not None and now < user.locked_until and lifted == 0:
        lifted = 1  # a lockout of every address older than the record of lockouts
    rows.update("users", user.id, failed_logins=0, locked_until=None)
    for failure_id in counted:
        rows.update("login_failures", failure_id, user_id=None)
    return rows, lifted


def locked_until(
    user: UserRow,
    lockouts: Sequence[LockoutRow],
    address: str,
    now: datetime,
    *,
    known: Collection[str] = (),
) -> datetime | None:
    """When the account's lockout from ``address`` (a source) ends (None: it is not locked
    from there): its lockout of every address, or of this one (of ``lockouts``, its recent
    ones), whichever ends last. A lockout from another address is not this one's, and the
    lockout of every address spares ``known``, the sources the account logged in from
    successfully of late, and an unknown one
    (:func:`~workflows.credentials.ceiling_holds`)."""
    ends = []
    if user.locked_until is not None and credentials.ceiling_holds(address, known):
        ends.append(user.locked_until)
    ends += [
        lockout.locked_until
        for lockout in lockouts
        if lockout.address == address and lockout.lifted_at is None
    ]
    return max((end for end in ends if now < end), default=None)


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
    source: str,
    counted: Sequence[tuple[int, str, datetime]],
    idle_minutes: int,
    max_hours: int,
    now: datetime,
) -> tuple[Rows, datetime]:
    """A login that succeeded from ``address`` (kept with the session), of ``source``: the
    account's failures from that source (of ``counted``, its counted ones) count no more —
    those from other sources still do, so its owner's login never wipes out a guesser's count
    — its shown count resets (its hash replaced by ``rehash`` when given) and a new session,
    stored as its token's ``digest``.
    (rows, its expiry)"""
    rows = Rows()
    values: dict[str, object] = {"failed_logins": 0, "last_login_at": now}
    if rehash is not None:
        values["password_hash"] = rehash
    rows.update("users", user.id, **values)
    for failure_id, failed_from, _ in counted:
        if failed_from == source:
            rows.update("login_failures", failure_id, user_id=None)
    expires_at = now + timedelta(hours=max_hours)
    held = credential(digest, user.id, now, expires_at)
    rows.insert(
        "sessions", **held, address=address, last_seen_at=now, idle_seconds=idle_minutes * 60
    )
    return rows, expires_at


def login_failed(
    user: UserRow | None,
    address: str,
    *,
    counted: Sequence[tuple[int, str, datetime]] = (),
    lockouts: Sequence[LockoutRow] = (),
    forgotten: Sequence[int],
    now: datetime,
) -> tuple[Rows, credentials.Lockout | None]:
    """A failed login from ``address``, counted against ``user`` (None: none to count) and
    recorded for the address's throttling. ``counted``: the failures already counted against
    the account within :data:`~workflows.credentials.ACCOUNT_WINDOW` (id, address, when) and
    ``lockouts`` its recent lockouts, both read under the account's lock, so concurrent
    failures are all counted. When it starts a lockout
    (:func:`~workflows.credentials.lockout_after`: of this address, or of every address),
    the lockout is recorded, and kept. The failures that no longer count (``forgotten``) go.
    (rows, the lockout it starts)"""
    rows = Rows()
    lockout = None
    if user is not None:
        restarts: dict[str | None, datetime] = {}
        for past in lockouts:
            if past.address not in restarts or restarts[past.address] < past.locked_at:
                restarts[past.address] = past.locked_at
        failures = [(failed_from, at) for _, failed_from, at in counted] + [(address, now)]
        lockout = credentials.lockout_after(failures, address, restarts, now)
        values: dict[str, object] = {"failed_logins": user.failed_logins + 1}
        if lockout is not None:
            rows.insert(
                "login_lockouts",
                locked_at=now,
                user_id=user.id,
                address=lockout.address,
                failures=lockout.failures,
                locked_until=lockout.until,
                lifted_at=None,
                lifted_by=None,
            )
            if lockout.address is None:
                values["locked_until"] = lockout.until
        rows.update("users", user.id, **values)
    for failure_id in forgotten:
        rows.delete("login_failures", id=failure_id)
    rows.insert(
        "login_failures", address=address, at=now, user_id=None if user is None else user.id
    )
    return rows, lockout


def ceiling_notice(
    user: UserRow, lockout: credentials.Lockout, sources: int, now: datetime
) -> tuple[str, dict[str, Any]]:
    """The admins' notice of a lockout of every address (the per-account ceiling) that a
    failure from one of ``sources`` addresses started: its dedupe key and the context of an
    ``operator_digest`` notice about no space (one item, as the audit checkpoint's)."""
    until = lockout.until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    days = credentials.KNOWN_WINDOW.days
    title = (
        f"账户 {user.username} 一小时内自 {sources} 个地址登录失败 {lockout.failures} 次，"
        f"已对其 {days} 天内未成功登录过的地址锁定至 {until}（北京时间）；如非本人所为，"
        f"可能是分布式猜测密码，可用 innospace user unlock {user.username} 解除 / "
        f"account {user.username}: {lockout.failures} failed logins from {sources} addresses "
        f"within an hour; locked until {until} (Beijing time) from every address it has not "
        f"logged in from within {days} days — likely distributed password guessing "
        f"(innospace user unlock {user.username} lifts it)"
    )
    sent_on = now.astimezone(SHANGHAI).date().isoformat()
    key = f"login_ceiling:{user.id}:{now.isoformat()}"
    return key, {"sent_on": sent_on, "counts": {}, "items": [{"title": title}]}


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
