"""Signing in in a real browser: the console opens in Chinese with no script blocked by the
content security policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page


def test_an_operator_signs_in_and_sees_the_console(
    as_user: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    page = as_user("operator")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/console")
    assert page.locator("h1").first.inner_text() == "仪表盘"
    assert page.evaluate("typeof window.htmx") == "object"
    assert not problems, problems
    shot(page, "console")
