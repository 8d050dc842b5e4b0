"""The operator's command line, driven in-process, and a whole-database snapshot.

Shared by the end-to-end CLI tests (the `cli` fixture in tests/conftest.py builds a `Cli`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.pool import NullPool

from db.engine import normalize_url
from entrypoints.cli import main

NOW = "2024-03-04T09:00+08:00"


def snapshot(db_url: str) -> dict[str, Any]:
    """Every table's full content: 'nothing half-written' means this does not change.

    Read through the driver's own cursor (the rows as the driver gives them, as an untyped
    ``text()`` query does, without building a result object per table) on an engine kept per
    database (no pool: every snapshot opens a connection of its own): the CLI fuzz takes one
    around each of its 1,500 runs."""
    engine = _snapshot_engine(normalize_url(db_url))
    with engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        cursor = conn.connection.cursor()
        out = {}
        for t in tables:
            cursor.execute(f'SELECT * FROM "{t}"')
            out[t] = sorted(repr(tuple(r)) for r in cursor.fetchall())
        cursor.close()
    return out


@cache
def _snapshot_engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


class Cli:
    def __init__(
        self,
        db_url: str,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        self.db, self.capsys, self.monkeypatch, self.tmp = db_url, capsys, monkeypatch, tmp_path
        self.at(NOW)

    def at(self, instant: str) -> None:
        """Run the next commands as if the clock read ``instant`` (INNOSPACE_NOW)."""
        self.monkeypatch.setenv("INNOSPACE_NOW", instant)

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            main(["--db", self.db, *args])
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert code == 0, f"{args}: exit {code}: {err}"
        return out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def refused(self, code: int, *args: str) -> str:
        """Run a command that must fail with ``code``: one error line, nothing written."""
        before = snapshot(self.db)
        got, _out, err = self(*args)
        assert got == code, f"{args}: exit {got}: {err}"
        lines = [line for line in err.splitlines() if "WARNING" not in line]
        # One error line, then (indented) every problem it lists.
        assert lines and lines[0].startswith("错误 ["), err
        assert all(line.startswith("  ") for line in lines[1:]), err
        assert snapshot(self.db) == before, args
        return "\n".join(lines)

    def file(self, name: str, content: Any) -> str:
        """Write ``content`` (text as it is, anything else as JSON) and return the path."""
        path = self.tmp / name
        text_ = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        path.write_text(text_, encoding="utf-8")
        return str(path)
