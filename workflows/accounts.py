"""The handlers of the identity commands (``workflows.identity``): accounts, grants, API
tokens, logins and sessions, reviewer assignments.

Account changes touch no tenancy and leave a log line; assigning a reviewer is recorded on
the tenancy's audit chain. A failed login is committed although the command fails
(:class:`~workflows.service.Refusal`): the lockout has to count it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlmodel import col, delete, select, update

from db.tables import (
    ApiToken,
    ApiTokenSpace,
    LoginFailure,
    LoginSession,
    ReviewerAssignment,
    User,
    UserSpace,
)
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound, TooManyAttempts, Unauthorized
from lifecycle.table import APPLIED, EVALUATING, INFO_REQUESTED
from workflows import credentials, inputs
from workflows.core import DEFAULT_TZ, Step, Work
from workflows.identity import (
    ROLES,
    TOUCH_EVERY,
    AddUser,
    AssignReviewer,
    CreateToken,
    DisableUser,
    EnableUser,
    GrantSpace,
    Login,
    LoginResult,
    Logout,
    NewToken,
    RevokeToken,
    SetPassword,
    TouchSession,
    TouchToken,
    UnassignReviewer,
    principal_of,
    user_by_name,
)
from workflows.service import Refusal

log = logging.getLogger("innospace.accounts")

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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
#: The application states in which reviewers are assigned (before the panel decides).
ASSIGNABLE = (APPLIED, INFO_REQUESTED, EVALUATING)


# ---- accounts -------------------------------------------------------------------------------
def add_user(w: Work, cmd: AddUser) -> int:
    username = check_username(cmd.username)
    role = check_role("role", cmd.role)
    display = inputs.check_name("display_name", cmd.display_name, limit=100)
    email = _check_email(cmd.email)
    credentials.check_password(cmd.password, username)
    if _find(w, username) is not None:
        raise AlreadyExists("user", username)
    firm_id = None
    if role == "firm":
        if not cmd.firm_uscc:
            raise InvalidInput("firm", "企业用户须指定所属企业 / a firm user needs --firm USCC")
        firm_id = w.firm(cmd.firm_uscc).id
    elif cmd.firm_uscc:
        raise InvalidInput("firm", "仅企业用户可指定企业 / only a firm user belongs to a firm")
    spaces = _spaces(w, cmd.space_codes)
    if spaces and role not in SPACE_ROLES:
        raise InvalidInput(
            "space",
            f"{role} 角色不按空间授权 / the {role} role is not granted spaces",
        )
    user = User(
        username=username,
        display_name=display,
        role=role,
        firm_id=firm_id,
        email=email,
        created_at=w.now,
        password_hash=credentials.hash_password(cmd.password),
    )
    w.session.add(user)
    w.session.flush()
    assert user.id is not None
    for space in spaces:
        w.session.add(UserSpace(user_id=user.id, space_id=space))
    log.info("account %s (%s) added by %s", username, role, cmd.actor)
    return user.id


def set_password(w: Work, cmd: SetPassword) -> None:
    user = user_by_name(w, cmd.username)
    credentials.check_password(cmd.password, user.username)
    user.password_hash = credentials.hash_password(cmd.password)
    w.session.add(user)
    ended = _end_sessions(w, user)
    log.info("password of %s set by %s; %d sessions ended", user.username, cmd.actor, ended)


def disable_user(w: Work, cmd: DisableUser) -> None:
    user = user_by_name(w, cmd.username)
    if user.disabled_at is None:
        user.disabled_at = w.now
        w.session.add(user)
    ended = _end_sessions(w, user)
    log.warning("account %s disabled by %s; %d sessions ended", user.username, cmd.actor, ended)


def enable_user(w: Work, cmd: EnableUser) -> None:
    user = user_by_name(w, cmd.username)
    user.disabled_at = None
    user.failed_logins = 0
    user.locked_until = None
    w.session.add(user)
    log.warning("account %s enabled (lockout lifted) by %s", user.username, cmd.actor)


def grant_space(w: Work, cmd: GrantSpace) -> bool:
    """Grant a space; False when the account had it already."""
    user = user_by_name(w, cmd.username)
    if user.role not in SPACE_ROLES:
        raise InvalidInput(
            "space", f"{user.role} 角色不按空间授权 / the {user.role} role is not granted spaces"
        )
    (space_id,) = _spaces(w, (cmd.space_code,))
    assert user.id is not None
    if w.session.get(UserSpace, (user.id, space_id)) is not None:
        return False
    w.session.add(UserSpace(user_id=user.id, space_id=space_id))
    log.info("space %s granted to %s by %s", cmd.space_code, user.username, cmd.actor)
    return True


# ---- tokens ---------------------------------------------------------------------------------
def create_token(w: Work, cmd: CreateToken) -> NewToken:
    user = user_by_name(w, cmd.username)
    if user.disabled_at is not None:
        raise InvalidInput("user", "账户已停用 / the account is disabled", user.username)
    label = inputs.check_name("label", cmd.label, limit=100)
    role = check_role("role", cmd.role or user.role)
    if role not in TOKEN_ROLES[user.role]:
        raise InvalidInput(
            "role",
            f"令牌角色不得超出账户角色 {user.role}（可选 {', '.join(TOKEN_ROLES[user.role])}）"
            f" / a token's role is at most its account's ({user.role})",
            role,
        )
    spaces = _spaces(w, cmd.space_codes)
    if spaces and role not in SPACE_ROLES:
        raise InvalidInput("space", f"{role} 令牌不按空间限定 / a {role} token has no spaces")
    if user.role != "admin":
        granted = set(
            w.session.exec(
                select(UserSpace.space_id).where(col(UserSpace.user_id) == user.id)
            ).all()
        )
        codes = dict.fromkeys(cmd.space_codes)
        outside = [code for code, sid in zip(codes, spaces, strict=True) if sid not in granted]
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
    if cmd.expires_on is not None:
        if cmd.expires_on < w.today:
            raise InvalidInput(
                "expires", f"不得早于今天 {w.today} / must not be before today", cmd.expires_on
            )
        # Valid through the whole day named, in the spaces' time zone.
        end = datetime.combine(cmd.expires_on + timedelta(days=1), time(), ZoneInfo(DEFAULT_TZ))
        expires_at = end.astimezone(w.now.tzinfo)
    token = credentials.new_token(credentials.TOKEN_PREFIX)
    assert user.id is not None
    row = ApiToken(
        user_id=user.id,
        label=label,
        token_sha256=credentials.digest(token),
        role=role,
        created_at=w.now,
        expires_at=expires_at,
    )
    w.session.add(row)
    w.session.flush()
    assert row.id is not None
    for space in spaces:
        w.session.add(ApiTokenSpace(token_id=row.id, space_id=space))
    log.info("token %d (%s) for %s created by %s", row.id, role, user.username, cmd.actor)
    return NewToken(token_id=row.id, token=token, expires_at=expires_at)


def revoke_token(w: Work, cmd: RevokeToken) -> None:
    row = w.get(ApiToken, cmd.token_id, "token")
    if row.revoked_at is None:
        row.revoked_at = w.now
        w.session.add(row)
        log.warning("token %d revoked by %s", cmd.token_id, cmd.actor)


def touch_token(w: Work, cmd: TouchToken) -> None:
    w.execute(
        update(ApiToken)
        .where(col(ApiToken.id) == cmd.token_id)
        .where(
            col(ApiToken.last_used_at).is_(None)
            | (col(ApiToken.last_used_at) <= w.now - TOUCH_EVERY)
        )
        .values(last_used_at=w.now)
    )


# ---- logins and sessions --------------------------------------------------------------------
def login(w: Work, cmd: Login) -> LoginResult:
    if not 1 <= cmd.idle_minutes <= 24 * 60:
        raise InvalidInput("idle_minutes", "须在 1 到 1440 之间 / between 1 and 1440")
    if not 1 <= cmd.max_hours <= 24 * 30:
        raise InvalidInput("max_hours", "须在 1 到 720 之间 / between 1 and 720")
    address = cmd.address.strip()[:64] or "unknown"
    _check_address(w, address)
    user = _find(w, cmd.username.strip().lower(), lock=True)
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


def _end_sessions(w: Work, user: User) -> int:
    result = w.execute(
        update(LoginSession)
        .where(col(LoginSession.user_id) == user.id, col(LoginSession.revoked_at).is_(None))
        .values(revoked_at=w.now)
    )
    return int(result.rowcount or 0)


# ---- reviewer assignments -------------------------------------------------------------------
def assign_reviewer(w: Work, cmd: AssignReviewer) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "assign_reviewer", ASSIGNABLE)
    user = _reviewer(w, cmd.username)
    assert user.id is not None
    if w.session.get(ReviewerAssignment, (tenancy.id, user.id)) is not None:
        raise AlreadyExists("reviewer assignment", f"{user.username} for tenancy {tenancy.id}")
    w.session.add(
        ReviewerAssignment(
            tenancy_id=tenancy.id, user_id=user.id, assigned_at=w.now, assigned_by=cmd.actor
        )
    )
    data = {"reviewer": user.username, "account_id": user.id}
    return w.record(tenancy, "assign_reviewer", data=data, by=cmd)


def unassign_reviewer(w: Work, cmd: UnassignReviewer) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "unassign_reviewer", ASSIGNABLE)
    user = user_by_name(w, cmd.username)
    assert user.id is not None
    row = w.session.get(ReviewerAssignment, (tenancy.id, user.id))
    if row is None:
        raise NotFound("reviewer assignment", f"{user.username} for tenancy {tenancy.id}")
    w.session.delete(row)
    data = {"reviewer": user.username, "account_id": user.id}
    return w.record(tenancy, "unassign_reviewer", data=data, by=cmd)


def _reviewer(w: Work, username: str) -> User:
    user = user_by_name(w, username)
    if user.role != "reviewer":
        raise InvalidInput(
            "user", f"须为评审专家账户（现为 {user.role}） / must be a reviewer account", username
        )
    if user.disabled_at is not None:
        raise InvalidInput("user", "账户已停用 / the account is disabled", username)
    return user


# ---- checks and lookups ---------------------------------------------------------------------
def check_username(value: str) -> str:
    name = value.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidInput(
            "username",
            "用户名须为 2–64 个小写字母、数字或 _ . @ -，以字母或数字开头 / 2-64 lower-case "
            "letters, digits, '_', '.', '@' or '-', starting with a letter or digit",
            value,
        )
    return name


def check_role(field: str, value: str) -> str:
    if value not in ROLES:
        raise InvalidInput(field, f"角色须为 {' | '.join(ROLES)} / must be one of these", value)
    return value


def _check_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    email = value.strip()
    if len(email) > 200 or not _EMAIL.match(email):
        raise InvalidInput("email", "电子邮箱格式无效 / not an e-mail address", value)
    return email


def _find(w: Work, username: str, *, lock: bool = False) -> User | None:
    stmt = select(User).where(col(User.username) == username)
    return w.session.exec(stmt.with_for_update() if lock else stmt).first()


def _spaces(w: Work, codes: tuple[str, ...]) -> list[int]:
    """The ids of the spaces named, in order, each once; NotFound for an unknown code."""
    ids: list[int] = []
    for code in dict.fromkeys(codes):
        space_id = w.space_by_code(code).id
        assert space_id is not None
        ids.append(space_id)
    return ids
