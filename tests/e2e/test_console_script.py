"""The installed `innospace` console script, run as an operator runs it (a real process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = shutil.which("innospace", path=str(Path(sys.executable).parent)) or "innospace"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_the_console_script_initialises_a_database_and_refuses_bad_input(tmp_path: Path) -> None:
    db = str(tmp_path / "ops.db")
    done = run("--db", db, "init")
    assert done.returncode == 0, done.stderr
    assert "database ready" in done.stdout
    created = run("--db", db, "space", "create", "MC3", "成都医学城三医创新中心")
    assert created.returncode == 0, created.stderr
    listed = run("--db", db, "space", "list", "--json")
    assert '"code": "MC3"' in listed.stdout
    bad = run(
        "--db", db, "firm", "add", "--name", "某公司", "--uscc", "123", "--industry", "pharma"
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("错误 [输入无效 / invalid input]")
    assert "uscc" in bad.stderr and "Traceback" not in bad.stderr


def test_an_unreachable_database_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    done = run("--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "list")
    assert done.returncode == 10
    assert "数据库不可用 / database unavailable" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["--help"], ["exit", "--help"], ["review", "--help"]])
def test_help_is_bilingual(args: list[str]) -> None:
    done = run(*args)
    assert done.returncode == 0
    assert any("\u4e00" <= ch <= "\u9fff" for ch in done.stdout)
