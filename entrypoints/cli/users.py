"""Accounts, API tokens and reviewer assignments: ``user``, ``token`` and ``reviewer``.

A password is never an argument (it would sit in the shell's history and in ``ps``): it is
typed twice at a hidden prompt, or read from ``--password-file`` / ``--password-stdin`` by a
script. The first admin is made here (``user add NAME --role admin``); there is no default.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.common import (
    MAX_INPUT_BYTES,
    Actor,
    Json,
    Reason,
    Version,
    app,
    emit,
    get_app,
    parse_date,
    read_file,
)
from entrypoints.cli.wording import last_valid_day, local_time, step_line, valid_through
from entrypoints.decoding import decode_input
from entrypoints.lazy import lazy
from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from workflows import identity
else:
    identity = lazy("workflows.identity")

user_app = typer.Typer(help="账户 / accounts", no_args_is_help=True)
token_app = typer.Typer(help="API 令牌 / API tokens for other systems", no_args_is_help=True)
reviewer_app = typer.Typer(help="评审专家分配 / reviewers assigned to applications")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(reviewer_app, name="reviewer", no_args_is_help=True)

ROLE_HELP = "角色 / role: admin | operator | reviewer | firm | viewer"
Username = Annotated[str, typer.Argument(help="用户名 / user name")]
Spaces = Annotated[
    list[str] | None,
    typer.Option("--space", help="授权空间代码，可重复 / a space granted (repeatable)"),
]
PasswordFile = Annotated[
    str | None,
    typer.Option("--password-file", help="从文件首行读密码 / read the password from a file"),
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="从标准输入首行读密码 / read it from standard input"),
]
STATUS = {"active": "正常 / active", "locked": "已锁定 / locked", "disabled": "已停用 / disabled"}
TOKEN_STATUS = {
    "active": "有效 / active",
    "expired": "已过期 / expired",
    "revoked": "已吊销 / revoked",
}


def read_password(path: str | None, from_stdin: bool) -> str:
    """The new password: from a file's first line, standard input's first line, or typed
    twice at a hidden prompt (only on a terminal)."""
    if path is not None and from_stdin:
        raise InvalidInput("password", "--password-file 与 --password-stdin 只能选一 / not both")
    if path is not None:
        return _first_line(read_file(path, "password-file"))
    if from_stdin:
        stream = getattr(sys.stdin, "buffer", None)
        try:
            raw = stream.read(MAX_INPUT_BYTES + 1) if stream is not None else b""
        except OSError as err:  # closed, or not readable (a detached or captured stdin)
            raise InvalidInput(
                "password-stdin", f"无法读取标准输入 / cannot read standard input: {err}"
            ) from None
        return _first_line(decode_input(raw, "password-stdin", "stdin"))
    if not sys.stdin.isatty():
        raise InvalidInput(
            "password",
            "非交互运行须用 --password-file 或 --password-stdin / not a terminal: "
            "use --password-file or --password-stdin",
        )
    value: str = typer.prompt(
        "密码 / password",
        hide_input=True,
        confirmation_prompt="再次输入密码 / repeat the password",
    )
    return value


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    if not line:
        raise InvalidInput("password", "密码为空 / the password is empty")
    return line


# ---- user -------------------------------------------------------------------------------------
@user_app.command("add")
def user_add(
    username: Username,
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    space: Spaces = None,
    firm: Annotated[
        str | None, typer.Option("--firm", help="企业用户所属企业信用代码 / the firm user's USCC")
    ] = None,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="姓名 / display name (default: NAME)")
    ] = None,
    email: Annotated[str | None, typer.Option("--email", help="电子邮箱 / e-mail")] = None,
    password_file: PasswordFile = None,
    password_stdin: PasswordStdin = False,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """新建账户 / add an account (the first admin too); the password is asked for."""
    password = read_password(password_file, password_stdin)
    user_id = get_app().service.handle(
        identity.AddUser(
            username=username,
            display_name=display_name or username,
            role=role,
            password=password,
            space_codes=tuple(space or ()),
            firm_uscc=firm,
            email=email,
            actor=actor,
        )
    )
    emit(
        {"id": user_id, "username": username.strip().lower(), "role": role},
        as_json,
        f"已新建账户 {username.strip().lower()}（{role}，编号 {user_id}） / account added",
    )


@user_app.command("passwd")
def user_passwd(
    username: Username,
    password_file: PasswordFile = None,
    password_stdin: PasswordStdin = False,
    actor: Actor = "operator",
) -> None:
    """设置新密码 / set a new password (the account's sessions end)."""
    password = read_password(password_file, password_stdin)
    get_app().service.handle(
        identity.SetPassword(username=username, password=password, actor=actor)
    )
    typer.echo(f"已设置 {username} 的新密码，其会话均已结束 / password set, sessions ended")


@user_app.command("disable")
def user_disable(username: Username, actor: Actor = "operator") -> None:
    """停用账户 / disable an account: no login, its sessions and tokens stop working."""
    get_app().service.handle(identity.DisableUser(username=username, actor=actor))
    typer.echo(f"已停用账户 {username} / account disabled")


@user_app.command("enable")
def user_enable(username: Username, actor: Actor = "operator") -> None:
    """启用账户并解除锁定 / enable an account and lift its lockouts."""
    get_app().service.handle(identity.EnableUser(username=username, actor=actor))
    typer.echo(f"已启用账户 {username}（锁定已解除） / account enabled, lockouts lifted")


@user_app.command("unlock")
def user_unlock(username: Username, actor: Actor = "operator") -> None:
    """解除账户的登录锁定（任一地址及全部地址） / lift an account's login lockouts."""
    lifted = get_app().service.handle(identity.UnlockUser(username=username, actor=actor))
    if lifted:
        lockouts = "1 lockout" if lifted == 1 else f"{lifted} lockouts"
        typer.echo(f"已解除 {username} 的 {lifted} 项登录锁定 / {lockouts} of {username} lifted")
    else:
        typer.echo(f"{username} 当前没有登录锁定 / {username} is not locked out")


@user_app.command("grant")
def user_grant(
    username: Username,
    space: Annotated[list[str], typer.Option("--space", help="空间代码，可重复 / space code")],
    actor: Actor = "operator",
) -> None:
    """授权空间 / grant spaces to an operator, viewer or reviewer account."""
    service = get_app().service
    for code in space:
        added = service.handle(identity.GrantSpace(username=username, space_code=code, actor=actor))
        typer.echo(
            f"{username}: {code} " + ("已授权 / granted" if added else "原已授权 / already granted")
        )


@user_app.command("list")
def user_list(as_json: Json = False) -> None:
    """账户列表 / accounts: role, spaces, firm, status (locked, disabled), last login."""
    users = get_app().service.query(identity.list_users)
    rows = [_user_row(u) for u in users]
    if as_json:
        emit(rows, True)
        return
    if not rows:
        typer.echo("尚无账户：innospace user add NAME --role admin / no accounts yet")
        return
    lines = [
        "用户名 user | 姓名 name | 角色 role | 空间 spaces | 企业 firm | 状态 status"
        " | 最近登录 last login"
    ]
    for u in users:
        status = STATUS[u.status]
        if u.locked_until is not None:
            status += f" 至 until {local_time(u.locked_until)}"
        if u.locked_addresses:
            status += (
                f"（{len(u.locked_addresses)} 个地址被锁定 / locked out from"
                f" {', '.join(u.locked_addresses)}）"
            )
        lines.append(
            f"{u.username} | {u.display_name} | {u.role} | {'、'.join(u.spaces) or '—'} | "
            f"{u.firm_uscc or '—'} | {status} | {local_time(u.last_login_at)}"
        )
    typer.echo("\n".join(lines))


def _user_row(u: identity.UserView) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "spaces": list(u.spaces),
        "firm": u.firm_uscc,
        "email": u.email,
        "status": u.status,
        "locked_until": _iso(u.locked_until),
        "locked_addresses": list(u.locked_addresses),
        "last_login_at": _iso(u.last_login_at),
        "created_at": _iso(u.created_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ---- token ------------------------------------------------------------------------------------
@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", help="令牌所属账户 / the account")],
    label: Annotated[str, typer.Option("--label", help="用途说明 / what the token is for")],
    role: Annotated[
        str | None, typer.Option("--role", help="令牌角色，不超出账户角色 / at most the account's")
    ] = None,
    space: Spaces = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="最后有效日 YYYY-MM-DD / last valid day")
    ] = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """新建 API 令牌 / create an API token: shown once, only its hash is kept."""
    new = get_app().service.handle(
        identity.CreateToken(
            username=user,
            label=label,
            role=role,
            space_codes=tuple(space or ()),
            expires_on=parse_date(expires, "expires") if expires else None,
            actor=actor,
        )
    )
    data = {
        "id": new.token_id,
        "token": new.token,
        "expires_at": _iso(new.expires_at),  # the exclusive end: 00:00 after the last day
        "expires_on": last_valid_day(new.expires_at),  # the last valid day, as given
    }
    emit(
        data,
        as_json,
        f"令牌 {new.token_id} / token {new.token_id}:\n{new.token}\n"
        f"有效期至 / valid through: {valid_through(new.expires_at)}\n"
        "请立即妥善保存：此令牌不会再次显示 / store it now: it will not be shown again",
    )


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="只看此账户 / one account")] = None,
    as_json: Json = False,
) -> None:
    """API 令牌列表（不含令牌本身） / API tokens (never the secret)."""
    a = get_app()
    tokens = a.service.query(identity.list_tokens, user)
    now = a.clock.now()
    rows = [
        {
            "id": t.id,
            "user": t.username,
            "label": t.label,
            "role": t.role,
            "spaces": list(t.spaces),
            "status": t.status(now),
            "created_at": _iso(t.created_at),
            "expires_at": _iso(t.expires_at),
            "expires_on": last_valid_day(t.expires_at),
            "last_used_at": _iso(t.last_used_at),
        }
        for t in tokens
    ]
    if as_json:
        emit(rows, True)
        return
    lines = [
        "编号 id | 账户 user | 用途 label | 角色 role | 空间 spaces | 状态 status"
        " | 有效期至 valid through | 最近使用 last used"
    ]
    for t, r in zip(tokens, rows, strict=True):
        lines.append(
            f"{t.id} | {t.username} | {t.label} | {t.role} | {'、'.join(t.spaces) or '—'} | "
            f"{TOKEN_STATUS[str(r['status'])]} | {valid_through(t.expires_at)} | "
            f"{local_time(t.last_used_at)}"
        )
    typer.echo("\n".join(lines) if rows else "尚无令牌 / no tokens")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="令牌编号（token list） / token id")],
    actor: Actor = "operator",
) -> None:
    """吊销 API 令牌 / revoke an API token (it stops working at once)."""
    get_app().service.handle(identity.RevokeToken(token_id=token_id, actor=actor))
    typer.echo(f"令牌 {token_id} 已吊销 / token {token_id} revoked")


# ---- reviewer -------------------------------------------------------------------------------
def _assignment(name: str, command: str, doc: str) -> None:
    """Register ``reviewer NAME TENANCY USER``: assign or unassign (``command``, a class of
    ``workflows.identity``, looked up when it runs: the CLI starts without the engine)."""

    def run(
        tenancy: Annotated[int, typer.Argument(help="入驻记录编号 / tenancy id")],
        user: Annotated[str, typer.Argument(help="评审专家账户 / reviewer account")],
        actor: Actor = "operator",
        version: Version = None,
        reason: Reason = None,
        as_json: Json = False,
    ) -> None:
        cls: type[identity.AssignReviewer | identity.UnassignReviewer] = getattr(identity, command)
        step = get_app().service.handle(
            cls(
                tenancy_id=tenancy,
                username=user,
                actor=actor,
                expected_version=version,
                reason=reason,
            )
        )
        emit(step.to_dict(), as_json, step_line(step.to_dict()))

    run.__doc__ = doc
    reviewer_app.command(name)(run)


_assignment("assign", "AssignReviewer", "为申请分配评审专家 / assign a reviewer to an application.")
_assignment(
    "unassign", "UnassignReviewer", "取消评审专家分配 / take a reviewer off an application."
)


@reviewer_app.command("list")
def reviewer_list(
    tenancy: Annotated[int, typer.Argument(help="入驻记录编号 / tenancy id")],
    as_json: Json = False,
) -> None:
    """已分配的评审专家 / the reviewers assigned to an application."""
    names = get_app().service.query(identity.assigned_reviewers, tenancy)
    emit(names, as_json, "\n".join(names) if names else "尚未分配 / none assigned")
