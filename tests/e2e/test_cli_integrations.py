"""``innospace webhook …`` and ``innospace robot …`` end to end, on SQLite and PostgreSQL.

A webhook's secret is printed once, by ``add`` (and a new one by ``rotate``); a robot's key
(in its URL's query) and DingTalk secret are never printed after they were typed. Deliveries
go out on ``innospace outbox relay`` to a local receiver (``tests/http_receiver.py``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from e2e.cli_support import Cli
from http_receiver import Receiver, receiver_fixture  # noqa: F401  (the fixture)

from notifications.integrations import verify_webhook

KEY = "d6b0c2f4-robot-key-77aa"
SECRET = "SEC0f1e2d3c4b5a69788796a5b4c3d2e1f0"
USCC = "91510115MA6CX1A2B2"


@pytest.fixture
def space(cli: Cli) -> str:
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    return "MC3"


def _secret(out: str) -> str:
    found = re.search(r"(whsec_\S+)", out)
    assert found, out
    return found.group(1)


def test_webhook_add_shows_the_secret_once_then_list_disable_rotate(cli: Cli, space: str) -> None:
    out = cli.ok("webhook", "add", space, "https://erp.example.cn/innospace/hook?token=abc123")
    secret = _secret(out)
    assert "只显示这一次" in out and "#1" in out
    assert "abc123" not in out  # the URL is shown without its query
    assert "https" in out and "生产环境请使用 https" not in out

    out = cli.ok(
        "webhook", "add", space, "http://10.0.0.5:8080/hook", "--events", "exit_notice,admitted"
    )
    assert "生产环境请使用 https" in out  # plain http: warned

    listed = cli.ok("webhook", "list")
    assert secret not in listed and "whsec_" not in listed and "abc123" not in listed
    assert "https://erp.example.cn/innospace/hook?***" in listed
    assert "exit_notice、admitted" in listed
    rows = cli.json("webhook", "list", "--space", space)
    assert [r["id"] for r in rows] == [1, 2] and all("secret" not in r for r in rows)
    assert rows[1]["events"] == ["exit_notice", "admitted"] and rows[1]["plain_http"]

    out = cli.ok("webhook", "disable", "2")
    assert "已停用" in out
    [_, second] = cli.json("webhook", "list")
    assert second["disabled_at"] is not None
    cli.refused(4, "webhook", "disable", "2")  # disabled already
    cli.refused(4, "webhook", "rotate", "2")

    rotated = _secret(cli.ok("webhook", "rotate", "1"))
    assert rotated != secret
    assert rotated not in cli.ok("webhook", "list")


def test_bad_webhook_input_is_refused_without_echoing_a_key(cli: Cli, space: str) -> None:
    err = cli.refused(2, "webhook", "add", space, f"ftp://files.example.cn/in?key={KEY}")
    assert "http" in err and KEY not in err
    cli.refused(2, "webhook", "add", space, "javascript:alert(1)")
    cli.refused(2, "webhook", "add", space, "https:///no-host")
    cli.refused(2, "webhook", "add", space, "https://erp.example.cn/hook", "--events", "nonsense")
    cli.refused(3, "webhook", "add", "NOPE", "https://erp.example.cn/hook")
    cli.refused(3, "webhook", "disable", "99")
    cli.refused(2, "robot", "add", space, "--kind", "slack", "https://hooks.example/x")


def test_robot_add_and_list_never_show_the_key_or_the_secret(cli: Cli, space: str) -> None:
    ding = f"https://oapi.dingtalk.com/robot/send?access_token={KEY}"
    wecom = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    outputs = [
        cli.ok("robot", "add", space, "--kind", "dingtalk", ding, "--secret", SECRET),
        cli.ok("robot", "add", space, "--kind", "wecom", wecom),
        cli.ok("robot", "list"),
        cli.ok("robot", "list", "--json"),
        cli.ok("robot", "add", space, "--kind", "wecom", wecom, "--json"),
    ]
    for out in outputs:
        assert KEY not in out and SECRET not in out, out
    assert "https://oapi.dingtalk.com/robot/send?***" in outputs[2]
    assert "加签" in outputs[2]
    assert cli.ok("webhook", "list").strip() == "(没有 Webhook / no webhooks)"
    err = cli.refused(2, "robot", "add", space, "--kind", "wecom", wecom, "--secret", SECRET)
    assert KEY not in err and SECRET not in err
    cli.refused(3, "webhook", "disable", "1")  # a robot is not a webhook
    assert "已停用" in cli.ok("robot", "disable", "1")


def test_a_webhook_gets_the_notices_of_the_spaces_tenancies_on_outbox_relay(
    cli: Cli, space: str, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    secret = _secret(cli.ok("webhook", "add", space, receiver.url("/hook")))
    cli.ok("robot", "add", space, "--kind", "wecom", receiver.url(f"/wecom?key={KEY}"))
    cli.ok(
        "firm", "add", "--name", "峰际生物", "--uscc", USCC, "--industry", "pharma",
        "--email", "ops@fengji.example",
    )  # fmt: skip
    profile = str(Path(__file__).resolve().parents[2] / "examples" / "profile.json")
    cli.ok("apply", USCC, space, "--area", "120", "--profile", profile)
    caplog.set_level(logging.DEBUG)

    report = cli.json("outbox", "relay")

    assert report["queued"] == 1 and report["dead"] == 0
    [req] = receiver.requests  # the firm's notice: the webhook, not the operators' robot
    assert req.path == "/hook"
    headers = req.headers
    assert verify_webhook(
        secret, headers["X-Innospace-Timestamp"], req.body, headers["X-Innospace-Signature"]
    )
    body = req.json()
    assert body["event"] == "application_received"
    assert body["firm"]["uscc"] == USCC and body["space"]["code"] == space
    assert b"ops@fengji.example" not in req.body
    rows = cli.json("outbox", "list")
    hook_row = next(r for r in rows if r["audience"] == "webhook")
    assert headers["X-Innospace-Delivery"] == str(hook_row["id"]) and hook_row["status"] == "sent"
    assert KEY not in caplog.text and secret not in caplog.text
