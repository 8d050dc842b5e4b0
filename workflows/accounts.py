"""The handlers of the identity commands (``workflows.identity``): accounts, grants, API
tokens, logins and sessions, reviewer assignments.

Account changes touch no tenancy and leave a log line; assigning a reviewer is recorded on
the tenancy's audit chain. Logins are ``workflows.logins``.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update

from db.effects import Effects
from db.tables import (
    ApiToken,
    ApiTokenSpace,
    ReviewerAssignment,
    User,
    UserSpace,
)
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound
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
    NewToken,
    RevokeToken,
    SetPassword,
    TouchToken,
    UnassignReviewer,
    after_commit_forget,
    find_user,
    user_by_name,
)
from workflows.logins import end_sessions

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
    if find_user(w, username) is not None:
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
    after_commit_forget(w)
    user = user_by_name(w, cmd.username)
    credentials.check_password(cmd.password, user.username)
    user.password_hash = credentials.hash_password(cmd.password)
    w.session.add(user)
    ended = end_sessions(w, user)
    log.info("password of %s set by %s; %d sessions ended", user.username, cmd.actor, ended)


def disable_user(w: Work, cmd: DisableUser) -> None:
    after_commit_forget(w)
    user = user_by_name(w, cmd.username)
    if user.disabled_at is None:
        user.disabled_at = w.now
        w.session.add(user)
    ended = end_sessions(w, user)
    log.warning("account %s disabled by %s; %d sessions ended", user.username, cmd.actor, ended)


def enable_user(w: Work, cmd: EnableUser) -> None:
    after_commit_forget(w)
    user = user_by_name(w, cmd.username)
    user.disabled_at = None
    user.failed_logins = 0
    user.locked_until = None
    w.session.add(user)
    log.warning("account %s enabled (lockout lifted) by %s", user.username, cmd.actor)


def grant_space(w: Work, cmd: GrantSpace) -> bool:
    """Grant a space; False when the account had it already."""
    after_commit_forget(w)
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
    after_commit_forget(w)
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


# ---- reviewer assignments -------------------------------------------------------------------
def assign_reviewer(w: Work, cmd: AssignReviewer) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "assign_reviewer", ASSIGNABLE)
    user = _reviewer(w, cmd.username)
    assert user.id is not None
    if w.session.get(ReviewerAssignment, (tenancy.id, user.id)) is not None:
        raise AlreadyExists("reviewer assignment", f"{user.username} for tenancy {tenancy.id}")
    return w.decide(tenancy, assignment, cmd, user.username, user.id, at=w.now)


def unassign_reviewer(w: Work, cmd: UnassignReviewer) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "unassign_reviewer", ASSIGNABLE)
    user = user_by_name(w, cmd.username)
    assert user.id is not None
    row = w.session.get(ReviewerAssignment, (tenancy.id, user.id))
    if row is None:
        raise NotFound("reviewer assignment", f"{user.username} for tenancy {tenancy.id}")
    w.session.delete(row)
    return w.decide(tenancy, assignment, cmd, user.username, user.id, at=None)


def assignment(
    e: Effects,
    cmd: AssignReviewer | UnassignReviewer,
    username: str,
    account_id: int,
    *,
    at: datetime | None,
) -> Step:
    """A reviewer assigned to an application (``at``: when; the row is added) or taken off it
    (``at`` None), audited on the tenancy."""
    what = "assign_reviewer" if at is not None else "unassign_reviewer"
    if at is not None:
        e.insert(
            "reviewer_assignments",
            tenancy_id=e.tenancy.id,
            user_id=account_id,
            assigned_at=at,
            assigned_by=cmd.actor,
        )
    data = {"reviewer": username, "account_id": account_id}
    return e.record(what, actor=cmd.actor, reason=cmd.reason, data=data)


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


def _spaces(w: Work, codes: tuple[str, ...]) -> list[int]:
    """The ids of the spaces named, in order, each once; NotFound for an unknown code."""
    ids: list[int] = []
    for code in dict.fromkeys(codes):
        space_id = w.space_by_code(code).id
        assert space_id is not None
        ids.append(space_id)
    return ids
