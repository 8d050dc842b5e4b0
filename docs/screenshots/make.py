"""Make the README's screenshots from the demo: the dashboard, a tenancy page, the firm's
inbox (and the portal on a phone).

    .venv/bin/python docs/screenshots/make.py            # writes docs/screenshots/*.png

Builds the demo in a temporary folder exactly as ``innospace serve --demo`` does, serves it on
a loopback port and photographs it with Debian's Chromium (``/usr/bin/chromium``; install it
with ``apt-get install -y chromium``) through Playwright.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def main() -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from entrypoints.bootstrap import ShiftedClock, bootstrap
    from entrypoints.cli.serve import DEMO_NOW, demo_accounts
    from entrypoints.demo import run_demo
    from entrypoints.http import create_app
    from workflows import queries_core

    folder = Path(tempfile.mkdtemp(prefix="innospace-shots-"))
    path = folder / "demo.db"
    run_demo(path)
    app = bootstrap(
        database_url=f"sqlite:///{path}",
        clock=ShiftedClock(datetime.fromisoformat(DEMO_NOW)),
        create=False,
    )
    logins = demo_accounts(app)
    active = app.service.query_core(queries_core.list_tenancies, state="active", limit=1)
    tenancy = active[0]["id"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app, secret_key="screenshots-" + "0" * 40),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    shots = [
        ("operator", "/console", "dashboard.png", (1366, 768)),
        ("operator", f"/console/tenancies/{tenancy}", "tenancy.png", (1366, 768)),
        ("firm", "/portal/inbox", "inbox.png", (1366, 768)),
        ("firm", "/portal", "portal-phone.png", (390, 844)),
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        for role, url, name, (width, height) in shots:
            context = browser.new_context(
                base_url=base,
                viewport={"width": width, "height": height},
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
            )
            page = context.new_page()
            username, password = logins[role]
            page.goto("/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(url)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(600)  # charts animate in
            page.screenshot(path=str(HERE / name), full_page=False)
            print(f"{name}: {url} as {role}")
            context.close()
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
