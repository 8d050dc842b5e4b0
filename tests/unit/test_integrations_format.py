"""The pure parts of the outbound integrations: URLs shown and refused, the robots' bodies."""

from __future__ import annotations

import pytest

from lifecycle.errors import InvalidInput
from notifications.integrations import check_url, redact_url, robot_body


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://oapi.dingtalk.com/robot/send?access_token=k",
            "https://oapi.dingtalk.com/robot/send?***",
        ),
        ("https://u:pw@erp.example.cn/hook", "https://***@erp.example.cn/hook"),
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
    ],
)
def test_a_url_is_shown_without_its_query_or_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.cn/in?key=k",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https:///no-host",
        "https://erp.example.cn/hook#frag",
        "https://erp.example.cn:99999/hook",
        "https://erp.example.cn/ho ok",
        "//erp.example.cn/hook",
        "https://" + "a" * 2000 + ".cn/",
    ],
)
def test_only_absolute_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_url(url)
    assert "key=k" not in refused.value.message


def test_robot_bodies_keep_to_the_formats_and_the_byte_cap() -> None:
    long = "整改通知" * 2000
    wecom = robot_body("wecom", "【MC3】公示期满", long)
    content = wecom["markdown"]["content"]
    assert wecom["msgtype"] == "markdown" and content.startswith("### 【MC3】公示期满")
    assert len(content.encode()) <= 4000 and content.endswith("…")
    ding = robot_body("dingtalk", "公示期满", "正文")
    assert ding == {
        "msgtype": "markdown",
        "markdown": {"title": "公示期满", "text": "### 公示期满\n\n正文"},
    }
    with pytest.raises(ValueError):
        robot_body("webhook", "s", "t")
