"""The handlers of the identity commands (``workflows.identity``): accounts, grants, API
tokens, logins and sessions, reviewer assignments.

Each handler loads through ``uow.identity``, lets a pure function of
:mod:`workflows.account_rules` decide, and hands the rows to the writer. Account changes
touch no tenancy and leave a log line; assigning a reviewer is recorded on the tenancy's
audit chain. Logins are ``workflows.logins``.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from db.effects import TenancyRow
from db.identity import LockoutRow, UserRow
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound
from lifecycle.table import APPLIED, EVALUATING, INFO_REQUESTED
from workflows import account_rules, credentials, identity, inputs, vocabulary
from workflows.core import DEFAULT_TZ, Step, Work
from workflows.identity import ROLES, after_commit_forget, find_user, user_by_name

log = logging.getLogger("innospace.accounts")

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: The application states in which reviewers are assigned (before the panel decides).
ASSIGNABLE = (APPLIED, INFO_REQUESTED, EVALUATING)


# ---- accounts -------------------------------------------------------------------------------
def add_user(w: Work, cmd: identity.AddUser) -> int:
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
    if spaces:
        account_rules.check_space_role(role)
    account = {"username": username, "display_name": display, "role": role}
    rows, user = account_rules.new_user(
        {**account, "firm_id": firm_id, "email": email},
        password_hash=credentials.hash_password(cmd.password),
        spaces=list(spaces.values()),
        now=w.now,
    )
    w.apply_rows(rows)
    assert user.id is not None
    log.info("account %s (%s) added by %s", username, role, cmd.actor)
    return user.id


def set_password(w: Work, cmd: identity.SetPassword) -> None:
    after_commit_forget(w)
    # Locked: a login recording its outcome meanwhile opens no session this does not end.
    user = user_by_name(w, cmd.username, lock=True)
    credentials.check_password(cmd.password, user.username)
    rows, ended = account_rules.new_password(
        user,
        credentials.hash_password(cmd.password),
        w.uow.identity.open_sessions(user.id),
        w.now,
    )
    w.apply_rows(rows)
    log.info("password of %s set by %s; %d sessions ended", user.username, cmd.actor, ended)


def disable_user(w: Work, cmd: identity.DisableUser) -> None:
    after_commit_forget(w)
    user = user_by_name(w, cmd.username, lock=True)
    sessions = w.uow.identity.open_sessions(user.id)
    rows, ended = account_rules.disable(user, sessions, w.now)
    w.apply_rows(rows)
    log.warning("account %s disabled by %s; %d sessions ended", user.username, cmd.actor, ended)


def enable_user(w: Work, cmd: identity.EnableUser) -> None:
    after_commit_forget(w)
    user, lockouts, counted = _lockouts(w, cmd.username)
    rows, lifted = account_rules.unlock(user, lockouts, counted, actor=cmd.actor, now=w.now)
    w.apply_rows(account_rules.enable(user, rows))
    log.warning("account %s enabled (%d lockouts lifted) by %s", user.username, lifted, cmd.actor)


def unlock_user(w: Work, cmd: identity.UnlockUser) -> int:
    """Lift the account's lockouts; how many were running."""
    user, lockouts, counted = _lockouts(w, cmd.username)
    rows, lifted = account_rules.unlock(user, lockouts, counted, actor=cmd.actor, now=w.now)
    w.apply_rows(rows)
    log.warning("account %s unlocked (%d lockouts lifted) by %s", user.username, lifted, cmd.actor)
    return lifted


def _lockouts(w: Work, username: str) -> tuple[UserRow, list[LockoutRow], list[int]]:
    """The account (locked for the transaction: a login recording its outcome meanwhile is
    seen or sees this), its running lockouts and the ids of the failures counted against it."""
    user = user_by_name(w, username, lock=True)
    lockouts = w.uow.identity.lockouts(user.id, w.now)
    since = w.now - credentials.ACCOUNT_WINDOW
    counted = [failure_id for failure_id, _, _ in w.uow.identity.account_failures(user.id, since)]
    return user, lockouts, counted


def grant_space(w: Work, cmd: identity.GrantSpace) -> bool:
    """Grant a space; False when the account had it already."""
    after_commit_forget(w)
    user = user_by_name(w, cmd.username)
    account_rules.check_space_role(user.role)  # refused before the space is looked up
    (space_id,) = _spaces(w, (cmd.space_code,)).values()
    rows = account_rules.grant(user, space_id, w.uow.identity.user_spaces(user.id))
    if rows is None:
        return False
    w.apply_rows(rows)
    log.info("space %s granted to %s by %s", cmd.space_code, user.username, cmd.actor)
    return True


# ---- tokens ---------------------------------------------------------------------------------
def create_token(w: Work, cmd: identity.CreateToken) -> identity.NewToken:
    user = user_by_name(w, cmd.username)
    if user.disabled_at is not None:
        raise InvalidInput("user", "账户已停用 / the account is disabled", user.username)
    label = inputs.check_name("label", cmd.label, limit=100)
    role = check_role("role", cmd.role or user.role)
    account_rules.check_token_role(user, role)  # refused before the spaces are looked up
    spaces = _spaces(w, cmd.space_codes)
    granted = w.uow.identity.user_spaces(user.id) if user.role != "admin" else frozenset()
    token = credentials.new_token(credentials.TOKEN_PREFIX)
    rows, ref, expires_at = account_rules.new_token(
        user,
        granted,
        label=label,
        role=role,
        spaces=spaces,
        expires_on=cmd.expires_on,
        digest=credentials.digest(token),
        tz=DEFAULT_TZ,
        now=w.now,
        today=w.today,
    )
    w.apply_rows(rows)
    assert ref.id is not None
    log.info("token %d (%s) for %s created by %s", ref.id, role, user.username, cmd.actor)
    return identity.NewToken(token_id=ref.id, token=token, expires_at=expires_at)


def revoke_token(w: Work, cmd: identity.RevokeToken) -> None:
    after_commit_forget(w)
    row = w.uow.identity.token(cmd.token_id)
    if row is None:
        raise NotFound("token", cmd.token_id)
    rows = account_rules.revoke(row, w.now)
    if rows.updates:
        w.apply_rows(rows)
        log.warning("token %d revoked by %s", cmd.token_id, cmd.actor)


def touch_token(w: Work, cmd: identity.TouchToken) -> None:
    w.apply_rows(account_rules.touch_token(w.uow.identity.token(cmd.token_id), w.now))


# ---- reviewer assignments -------------------------------------------------------------------
def assign_reviewer(w: Work, cmd: identity.AssignReviewer) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "assign_reviewer", ASSIGNABLE)
    return _assignment(w, cmd, tenancy, _reviewer(w, cmd.username), at=w.now)


def unassign_reviewer(w: Work, cmd: identity.UnassignReviewer) -> Step:
    tenancy = w.tenancy(cmd.tenancy_id, cmd.expected_version)
    w.require_state(tenancy, "unassign_reviewer", ASSIGNABLE)
    return _assignment(w, cmd, tenancy, user_by_name(w, cmd.username), at=None)


def _assignment(
    w: Work,
    cmd: identity.AssignReviewer | identity.UnassignReviewer,
    tenancy: TenancyRow,
    user: UserRow,
    *,
    at: datetime | None,
) -> Step:
    """Assign (``at`` the time) or unassign (``at`` None) ``user`` on ``tenancy``."""
    return w.decide(
        tenancy,
        account_rules.assignment,
        user,
        assigned=w.uow.identity.assigned(tenancy.id, user.id),
        at=at,
        actor=cmd.actor,
        reason=cmd.reason,
    )


def _reviewer(w: Work, username: str) -> UserRow:
    user = user_by_name(w, username)
    if user.role != "reviewer":
        zh, en = vocabulary.words(vocabulary.ROLES, user.role)
        raise InvalidInput(
            "user",
            f"须为评审专家账户（现为{zh}账户） / must be a reviewer account (it is {en})",
            username,
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
        zh = "、".join(f"{role}（{vocabulary.ROLES[role][0]}）" for role in ROLES)
        raise InvalidInput(field, f"角色须为 {zh} 之一 / must be {' | '.join(ROLES)}", value)
    return value


def _check_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    email = value.strip()
    if len(email) > 200 or not _EMAIL.match(email):
        raise InvalidInput("email", "电子邮箱格式无效 / not an e-mail address", value)
    return email


def _spaces(w: Work, codes: tuple[str, ...]) -> dict[str, int]:
    """The ids of the spaces named, by code, in order, each once; NotFound for an unknown
    code."""
    return {code: w.space_row(code).id for code in dict.fromkeys(codes)}
