"""``innospace serve --demo``, for real, then the README's curl block as each role.

The block marked ``<!-- serve-demo -->`` in README.md (the same one in docs/http-api.md) is
run as it stands by bash (``-e``, ``pipefail``) with curl and jq, against a ``serve --demo``
subprocess on a free port, with the passwords that process printed. Then the server gets
SIGTERM and must shut down cleanly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
MARK = "<!-- serve-demo -->"
BLOCK = re.compile(r"^" + re.escape(MARK) + r"\n```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
LOGIN = re.compile(r"^\s+(admin|operator|reviewer|firm|viewer)\s+demo-\1\s+(\S+)\s*$", re.M)


def demo_block(path: Path) -> str:
    (block,) = BLOCK.findall(path.read_text(encoding="utf-8"))
    return str(block)


def test_the_readme_and_the_doc_show_the_same_block() -> None:
    assert demo_block(ROOT / "README.md") == demo_block(ROOT / "docs" / "http-api.md")


def _json_values(text: str) -> list[object]:
    """The JSON values printed one after another (jq's output, curl's status code)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return values
        value, at = decoder.raw_decode(text, at)
        values.append(value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(proc: subprocess.Popen[str], url: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError("serve --demo did not come up")
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_serve_demo_then_the_readme_as_each_role(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOSPACE_")}
    env["PYTHONPATH"] = str(ROOT)
    env["INNOSPACE_RELAY_INTERVAL_SECONDS"] = "1"  # the scheduler relays every second
    code = f"from entrypoints.cli import main; main(['serve', '--demo', '--port', '{port}'])"
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, f"{base}/api/openapi.json")
        printed = (tmp_path / "serve.log").read_text(encoding="utf-8")
        passwords = dict(LOGIN.findall(printed))
        assert sorted(passwords) == ["admin", "firm", "operator", "reviewer", "viewer"], printed
        assert f"{base}/api/session" in printed  # the hint names the port it serves on

        script = demo_block(ROOT / "README.md").replace("B=http://127.0.0.1:8000", f"B={base}", 1)
        run_env = {
            **env,
            **{f"{role.upper()}_PW": password for role, password in passwords.items()},
        }
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=tmp_path,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        answers = _json_values(run.stdout)
        assert len(answers) == 8, run.stdout
        op_list, screened, firm_one, inbox, rev_list, rev_one, view_list, refused = answers
        # operator: MC3's active tenancies; the application screened with its If-Match
        assert op_list["items"] and {t["state"] for t in op_list["items"]} == {"active"}
        assert screened["trigger"] == "screen_in" and screened["to"] == "evaluating"
        # firm: its own tenancy and inbox, nobody else's
        assert firm_one["uscc"] == inbox["firm"]["uscc"]
        assert {n["firm_id"] for n in inbox["items"]} == {inbox["firm_id"]}
        # reviewer: the application assigned, without its reviews or timeline
        assert [t["id"] for t in rev_list["items"]] == [screened["tenancy_id"]]
        assert rev_one["id"] == screened["tenancy_id"] and "timeline" not in rev_one
        # viewer: reads the same list as the operator; its write is refused
        assert view_list == op_list
        assert refused == 403

        # What the block did, seen by the operator: the application was screened once.
        with httpx.Client(base_url=base) as operator:
            body = {"username": "demo-operator", "password": passwords["operator"]}
            assert operator.post("/api/session", json=body).status_code == 200
            shown = operator.get(f"/api/tenancies/{screened['tenancy_id']}").json()
            assert shown["state"] != "applied"
            assert [e["trigger"] for e in shown["timeline"]].count("screen_in") <= 1

        # The scheduler runs in the demo too: the screening result reaches the applicant.
        with httpx.Client(base_url=base) as admin:
            body = {"username": "demo-admin", "password": passwords["admin"]}
            assert admin.post("/api/session", json=body).status_code == 200
            deadline = time.monotonic() + 60
            while True:
                sent = admin.get("/api/outbox", params={"status": "sent", "limit": 20}).json()
                found = [
                    n
                    for n in sent
                    if n["tenancy_id"] == screened["tenancy_id"]
                    and n["message"] == "screening_result"
                ]
                if found or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert found, sent
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (tmp_path / "serve.log").read_text(encoding="utf-8")
