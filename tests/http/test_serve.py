"""``innospace serve``: the secret key, a real uvicorn process, the demo's accounts."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_support import World

from entrypoints.bootstrap import bootstrap
from entrypoints.cli.serve import ROLES, demo_accounts
from entrypoints.http.serving import secret_key
from entrypoints.settings import Settings
from lifecycle.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("form", ["url", "bare path"])
def test_on_sqlite_a_key_is_generated_once_in_a_0600_file(tmp_path: Path, form: str) -> None:
    # `innospace --db innospace-demo.db serve`: the README's bare path, as well as a URL.
    db = tmp_path / "x.db"
    app = bootstrap(settings=Settings(database_url=f"sqlite:///{db}" if form == "url" else str(db)))
    first = secret_key(app)
    path = tmp_path / "x.db.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(app) == first and len(first) >= 32
    app.engine.dispose()


def test_on_postgresql_the_key_must_be_set() -> None:
    settings = Settings(database_url="postgresql+psycopg://u@127.0.0.1:1/none")
    app = bootstrap(settings=settings)
    with pytest.raises(InvalidInput) as err:
        secret_key(app)
    assert err.value.field == "INNOSPACE_SECRET_KEY"
    app.engine.dispose()


def test_the_demo_accounts_log_in_one_per_role(world: World) -> None:
    logins = demo_accounts(world.app)
    assert sorted(logins) == sorted(ROLES)
    for role, (username, password) in logins.items():
        response = world.client().post(
            "/api/session", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        assert response.json()["account"]["role"] == role


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _first_answer(proc: subprocess.Popen[str], url: str) -> httpx.Response:
    """The first response of the server ``proc`` to ``url`` (within 90 s of its start)."""
    deadline = time.monotonic() + 90
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.3)


def _innospace(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    code = f"from entrypoints.cli import main; main({list(args)!r})"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_serve_answers_over_http_and_stops_on_sigterm(
    tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "served.db"
    db.write_bytes(sqlite_template.read_bytes())
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INNOSPACE_SECRET_KEY": "k" * 40}
    proc = _innospace("--db", str(db), "serve", "--port", str(port), "--no-scheduler", env=env)
    try:
        response = _first_answer(proc, f"http://127.0.0.1:{port}/api/openapi.json")
        assert response.status_code == 200
        assert response.json()["info"]["title"] == "innospace API"
        assert httpx.get(f"http://127.0.0.1:{port}/api/tenancies").status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    # uvicorn shuts down cleanly, then re-raises the signal it caught (exit by SIGTERM).
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "Application shutdown complete" in out


def test_several_workers_on_sqlite_are_refused(tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "served.db"
    db.write_bytes(sqlite_template.read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INNOSPACE_SECRET_KEY": "k" * 40}
    proc = _innospace("--db", str(db), "serve", "--workers", "2", env=env)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    assert "workers" in out


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_workers_on_postgresql_share_the_database(db_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INNOSPACE_SECRET_KEY": "k" * 40}
    proc = _innospace(
        "--db", db_url, "serve", "--port", str(port), "--workers", "2", "--no-scheduler", env=env
    )
    try:
        # each worker builds the app from the environment serve prepared
        assert _first_answer(proc, f"http://127.0.0.1:{port}/api/spaces").status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert out.count("Application startup complete") == 2, out


@pytest.mark.parametrize("given", [None, "10.0.0.5,10.0.0.6"])
def test_serve_passes_the_trusted_proxies_to_uvicorn(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch, given: str | None
) -> None:
    """``--forwarded-allow-ips`` reaches uvicorn; unset, uvicorn's own default holds
    (``FORWARDED_ALLOW_IPS``, else 127.0.0.1 and ::1)."""
    import uvicorn

    from entrypoints.cli import main

    db = tmp_path / "served.db"
    db.write_bytes(sqlite_template.read_bytes())
    monkeypatch.setenv("INNOSPACE_SECRET_KEY", "k" * 40)
    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    extra = [] if given is None else ["--forwarded-allow-ips", given]
    try:
        main(["--db", str(db), "serve", "--no-scheduler", *extra])
    except SystemExit as exit_:
        assert not exit_.code
    assert seen["forwarded_allow_ips"] == given
