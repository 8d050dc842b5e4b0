"""Secrets and files (issue 15 §4), with the installed console script as a real process:
passwords never printed, no clear-text SMTP login by default, SQLite files 0600."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import make_engine, redact, redact_passwords

EXE = shutil.which("innospace", path=str(Path(sys.executable).parent)) or "innospace"
PASSWORD = "pw%40x"  # "pw@x", percent-escaped as a URL needs it: Alembic's parser choked on "%"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INNOSPACE_")}
    done = subprocess.run(
        [EXE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **(env or {})},
        cwd=cwd,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def assert_no_secret(output: str, *secrets: str) -> None:
    assert "Traceback" not in output, output
    for secret in secrets:
        assert secret not in output, output


def test_a_percent_in_the_password_reaches_the_server_and_is_never_printed() -> None:
    # Nothing listens on port 1: the URL must get through Alembic's config to the driver.
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/nonexistent"
    for args in (["init"], ["db", "upgrade"], ["list"]):
        code, output = run("--db", url, *args, env={"INNOSPACE_LOG_LEVEL": "DEBUG"})
        assert code == 10, output
        assert "database unavailable" in output
        assert "postgresql+psycopg://postgres:***@127.0.0.1:1/nonexistent" in output
        assert_no_secret(output, PASSWORD, "pw@x")


@pytest.mark.postgres
def test_init_on_a_missing_postgres_database_is_unavailable_and_redacted() -> None:
    base = os.environ.get("INNOSPACE_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs INNOSPACE_TEST_POSTGRES_URL")
    url = make_url(base).set(password="pw@x", database="innospace_nonexistent_db")
    shown = url.render_as_string(hide_password=False)
    assert PASSWORD in shown  # SQLAlchemy escapes the "@" as %40
    code, output = run("--db", shown, "init", env={"INNOSPACE_LOG_LEVEL": "DEBUG"})
    assert code == 10, output
    assert "database unavailable" in output and ":***@" in output
    assert_no_secret(output, PASSWORD, "pw@x")


def test_an_unsupported_database_url_is_refused_without_its_password() -> None:
    code, output = run("--db", "mysql://u:secret@h/db", "init")
    assert code == 2, output
    assert "only sqlite and postgresql" in output and "mysql://u:***@h/db" in output
    assert_no_secret(output, "secret")


def test_redaction_helpers() -> None:
    assert redact("postgresql+psycopg://a:b%25c@h:5/d") == "postgresql+psycopg://a:***@h:5/d"
    assert redact("sqlite:///x.db") == "sqlite:///x.db"
    refused = "at postgresql://u:p@ss@h/d: refused"
    assert redact_passwords(refused) == "at postgresql://u:***@h/d: refused"
    assert redact_passwords("postgresql://u@h:5432/d and sqlite:///a:b") == (
        "postgresql://u@h:5432/d and sqlite:///a:b"
    )


def test_a_database_never_initialised_is_named_with_exit_3(tmp_path: Path) -> None:
    code, output = run("--db", str(tmp_path / "empty.db"), "list")
    assert code == 3, output
    assert "no innospace database at" in output and "innospace init" in output
    assert_no_secret(output)


@pytest.mark.postgres
def test_list_on_a_postgres_database_never_initialised_is_exit_3() -> None:
    base = os.environ.get("INNOSPACE_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs INNOSPACE_TEST_POSTGRES_URL")
    from sqlalchemy import create_engine

    name = f"innospace_empty_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        for args in (["list"], ["show", "1"], ["outbox", "list"], ["audit", "verify"]):
            code, output = run("--db", url, *args)
            assert code == 3, (args, output)
            assert "no innospace database at" in output and "run `innospace init`" in output
            assert_no_secret(output)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---- SMTP: no clear-text login unless allowed ---------------------------------------------
SMTP_ENV = {
    "INNOSPACE_SMTP_HOST": "127.0.0.1",
    "INNOSPACE_SMTP_PORT": "1",
    "INNOSPACE_SMTP_USERNAME": "notice@mc3.example",
    "INNOSPACE_SMTP_PASSWORD": "smtp-secret",
}


def test_a_plain_smtp_login_is_refused_at_startup_naming_the_variables(tmp_path: Path) -> None:
    db = str(tmp_path / "ops.db")
    assert run("--db", db, "init")[0] == 0
    before = (tmp_path / "ops.db").read_bytes()
    for args in (["outbox", "relay"], ["tick"], ["list"]):
        code, output = run("--db", db, *args, env=SMTP_ENV)
        assert code == 2, output
        assert "INNOSPACE_SMTP_MODE" in output
        assert "INNOSPACE_SMTP_ALLOW_PLAINTEXT_AUTH=1" in output
        assert_no_secret(output, "smtp-secret")
    assert (tmp_path / "ops.db").read_bytes() == before  # nothing claimed, nothing burned


@pytest.mark.parametrize(
    "extra", [{"INNOSPACE_SMTP_MODE": "starttls"}, {"INNOSPACE_SMTP_ALLOW_PLAINTEXT_AUTH": "1"}]
)
def test_an_encrypted_or_explicitly_allowed_login_starts(
    tmp_path: Path, extra: dict[str, str]
) -> None:
    db = str(tmp_path / "ops.db")
    assert run("--db", db, "init")[0] == 0
    code, output = run("--db", db, "outbox", "relay", env={**SMTP_ENV, **extra})
    assert code == 0, output  # nothing queued: no connection is made
    assert_no_secret(output, "smtp-secret")


def test_the_smtp_settings_refuse_a_plain_login_too() -> None:
    from lifecycle.errors import InvalidInput
    from notifications.channels import SmtpSettings

    with pytest.raises(InvalidInput, match="INNOSPACE_SMTP_ALLOW_PLAINTEXT_AUTH"):
        SmtpSettings(host="h", username="u", password="p")
    SmtpSettings(host="h", username="u", password="p", allow_plaintext_auth=True)
    SmtpSettings(host="h", mode="ssl", username="u", password="p")
    SmtpSettings(host="h")  # no login, nothing to protect


# ---- SQLite files 0600 ----------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_the_sqlite_file_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    code, output = run(
        "--db", "ops.db", "init", cwd=tmp_path, env={"PATH": os.environ.get("PATH", "")}
    )
    assert code == 0, output
    assert mode(tmp_path / "ops.db") == 0o600
    # the default database, in the working directory
    code, output = run("init", cwd=tmp_path)
    assert code == 0, output
    assert mode(tmp_path / "innospace.db") == 0o600


def test_the_wal_and_shared_memory_files_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
            conn.commit()
            wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
            assert wal.exists() and shm.exists()
            assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
        engine.dispose()
    finally:
        os.umask(old)


def test_an_existing_file_keeps_the_permissions_its_operator_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch()
    path.chmod(0o640)
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o640


def test_the_scheduler_lock_file_beside_the_database_is_0600(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from workflows.leadership import FileLock

    old = os.umask(0o022)
    try:
        lock = FileLock(tmp_path / "ops.db", wall_clock=lambda: datetime.now(UTC))
        assert lock.try_acquire()
        lock.release()
    finally:
        os.umask(old)
    assert mode(tmp_path / "ops.db.scheduler.lock") == 0o600
