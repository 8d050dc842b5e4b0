"""Accounts, API tokens and reviewer assignments through the operator's CLI, on SQLite and
PostgreSQL: a password never on the command line, a token shown once and stored hashed, an
account disabled, a reviewer assigned on the tenancy's audit chain."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

import pytest
from e2e.cli_support import NOW, Cli, snapshot
from e2e.test_cli_engine_rules import evaluating

from db.engine import make_engine
from entrypoints.bootstrap import HANDLERS
from lifecycle.clock import FixedClock
from lifecycle.errors import Unauthorized
from workflows import credentials, logins
from workflows.identity import Login, cli_actor
from workflows.service import Service

PASSWORD = "a long enough password"


@pytest.fixture
def space(cli: Cli) -> str:
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    return "MC3"


def add(cli: Cli, name: str, *args: str) -> int:
    pw = cli.file(f"{name}.pw", PASSWORD + "\n")
    return int(cli.json("user", "add", name, *args, "--password-file", pw)["id"])


def test_the_first_admin_and_an_operator_are_added_listed_and_disabled(
    cli: Cli, space: str
) -> None:
    assert "尚无账户" in cli.ok("user", "list")
    add(cli, "admin", "--role", "admin", "--display-name", "系统管理员")
    add(cli, "wang", "--role", "operator", "--space", space, "--display-name", "王芳")
    users = {u["username"]: u for u in cli.json("user", "list")}
    assert users["admin"]["role"] == "admin" and users["admin"]["status"] == "active"
    assert users["wang"]["spaces"] == [space] and users["wang"]["display_name"] == "王芳"
    table = cli.ok("user", "list")
    assert "wang | 王芳 | operator | MC3 | — | 正常 / active | —" in table
    assert PASSWORD not in str(snapshot(cli.db))  # only the argon2 hash is stored
    assert "已停用" in cli.ok("user", "disable", "wang")
    assert {u["username"]: u["status"] for u in cli.json("user", "list")}["wang"] == "disabled"
    assert "已停用 / disabled" in cli.ok("user", "list")
    cli.ok("user", "enable", "wang")
    assert {u["username"]: u["status"] for u in cli.json("user", "list")}["wang"] == "active"


def test_bad_account_input_is_refused_and_nothing_is_written(cli: Cli, space: str) -> None:
    add(cli, "wang", "--role", "operator")
    short = cli.file("short.pw", "short\n")
    assert "12" in cli.refused(2, "user", "add", "li", "--role", "viewer", "--password-file", short)
    pw = cli.file("pw", PASSWORD)
    refused = cli.refused(2, "user", "add", "li", "--role", "manager", "--password-file", pw)
    # The roles there are, each by its name (not "must be one of: these").
    assert "role: 角色须为 admin（管理员）、operator（运营人员）" in refused
    assert "these" not in refused
    assert "already exists" in cli.refused(
        6, "user", "add", "wang", "--role", "viewer", "--password-file", pw
    )
    assert "NOPE" in cli.refused(
        3, "user", "add", "li", "--role", "viewer", "--space", "NOPE", "--password-file", pw
    )
    # No password source and no terminal: refused, never a default password.
    assert "--password-stdin" in cli.refused(2, "user", "add", "li", "--role", "viewer")
    assert "user" in cli.refused(3, "user", "disable", "nobody")


def test_a_password_comes_from_standard_input(
    cli: Cli, space: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    class Stdin(io.TextIOWrapper):
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(f"{PASSWORD}\n".encode())))
    cli.ok("user", "add", "wang", "--role", "operator", "--password-stdin")
    assert [u["username"] for u in cli.json("user", "list")] == ["wang"]


def test_a_token_is_shown_once_stored_hashed_and_revoked(cli: Cli, space: str) -> None:
    add(cli, "wang", "--role", "operator", "--space", space)
    text = cli.ok("token", "create", "--user", "wang", "--label", "财务系统", "--space", space)
    token = next(line for line in text.splitlines() if line.startswith("isp_"))
    assert "不会再次显示" in text and "not be shown again" in text
    assert token not in str(snapshot(cli.db))
    listed = cli.json("token", "list")
    assert [(t["user"], t["label"], t["status"], t["spaces"]) for t in listed] == [
        ("wang", "财务系统", "active", [space])
    ]
    assert token not in cli.ok("token", "list")
    made = cli.json("token", "create", "--user", "wang", "--label", "平台", "--role", "viewer")
    assert made["token"].startswith("isp_") and made["token"] != token
    assert "role" in cli.refused(
        2, "token", "create", "--user", "wang", "--label", "x", "--role", "admin"
    )
    assert "已吊销" in cli.ok("token", "revoke", str(listed[0]["id"]))
    statuses = {t["label"]: t["status"] for t in cli.json("token", "list", "--user", "wang")}
    assert statuses == {"财务系统": "revoked", "平台": "active"}
    assert "已吊销 / revoked" in cli.ok("token", "list")
    cli.refused(3, "token", "revoke", "99")


def test_a_token_expiry_is_shown_as_the_last_valid_day_the_operator_gave(
    cli: Cli, space: str
) -> None:
    add(cli, "wang", "--role", "operator", "--space", space)
    text = cli.ok(
        "token", "create", "--user", "wang", "--label", "财务系统", "--expires", "2026-12-31"
    )
    assert "有效期至 / valid through: 2026-12-31（含当日）" in text
    listed = cli.ok("token", "list")
    assert "2026-12-31（含当日）" in listed and "2027-01-01" not in listed
    [row] = cli.json("token", "list")
    # stored: the exclusive end, 00:00 Asia/Shanghai after the last valid day
    assert (row["expires_on"], row["expires_at"]) == ("2026-12-31", "2026-12-31T16:00:00+00:00")
    cli.ok("token", "create", "--user", "wang", "--label", "平台")
    assert "长期有效 / no expiry" in cli.ok("token", "list")


def test_a_reviewer_is_assigned_by_a_named_operator(cli: Cli, space: str) -> None:
    add(cli, "expert", "--role", "reviewer")
    t = evaluating(cli, random.Random(5))
    out = cli.ok("reviewer", "assign", str(t), "expert", "--actor", "王芳")
    assert "reviewer assign" in out
    assert cli.json("reviewer", "list", str(t)) == ["expert"]
    [event] = [e for e in cli.json("timeline", str(t)) if e["trigger"] == "assign_reviewer"]
    assert event["actor"] == cli_actor("王芳") and cli_actor("王芳").startswith("cli:")
    assert event["data"]["reviewer"] == "expert"
    cli.refused(6, "reviewer", "assign", str(t), "expert")
    cli.ok("reviewer", "unassign", str(t), "expert")
    assert "尚未分配" in cli.ok("reviewer", "list", str(t))


def test_an_admin_unlocks_an_account_locked_out_from_an_address(cli: Cli, space: str) -> None:
    add(cli, "wang", "--role", "operator")
    assert "没有登录锁定" in cli.ok("user", "unlock", "wang")
    clock = FixedClock(datetime.fromisoformat(NOW))
    service = Service(make_engine(cli.db), clock, HANDLERS)
    attempt = Login(username="wang", password="a wrong password!", address="203.0.113.9")
    for _ in range(credentials.MAX_FAILURES):
        with pytest.raises(Unauthorized):
            logins.log_in(service, attempt)
    right = replace(attempt, password=PASSWORD)
    with pytest.raises(Unauthorized):
        logins.log_in(service, right)
    lifted = cli.ok("user", "unlock", "wang")
    assert lifted == "已解除 wang 的 1 项登录锁定 / 1 lockout of wang lifted\n"
    assert logins.log_in(service, right).principal.username == "wang"
    assert "not locked out" in cli.ok("user", "unlock", "wang")
    assert "未找到账户 nobody" in cli.refused(3, "user", "unlock", "nobody")
    service.engine.dispose()
