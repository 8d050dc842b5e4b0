"""Browser journeys: the real app served by uvicorn on loopback, driven by Debian's Chromium
through Playwright (``/usr/bin/chromium``, headless; never a browser a test tool downloads).

Each journey ends in a screenshot kept under ``test-artifacts/screenshots/`` (CI keeps the
folder). Without ``/usr/bin/chromium`` the tests fail with the command that installs it:
they are never skipped.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from api_support import PASSWORD, World
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def world_db_url(sqlite_world_db_url: str) -> str:
    """The journeys run on SQLite only: what they test is the pages (the queries under them
    run on both databases in ``tests/web``)."""
    return sqlite_world_db_url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Chromium is missing: apt-get update && apt-get install -y chromium"
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(world: World) -> Iterator[str]:
    """The world's app served on a loopback port; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(world.api, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def as_user(browser: Browser, live: str) -> Iterator[Callable[..., Page]]:
    """``as_user("operator")``: a new browser context signed in through the login form."""
    contexts = []

    def sign_in(
        username: str,
        password: str = PASSWORD,
        *,
        viewport: tuple[int, int] = (1366, 768),
        lang: str = "zh",
    ) -> Page:
        context = browser.new_context(
            base_url=live,
            viewport={"width": viewport[0], "height": viewport[1]},
            locale="zh-CN" if lang == "zh" else "en-US",
            timezone_id="Asia/Shanghai",
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "/login" not in page.url, page.content()[-1000:]
        return page

    yield sign_in
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Save a screenshot named after the test (the journey's artefact)."""

    def take(page: Page, name: str = "end") -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
