"""Entry points only send commands and read named queries: no SQL, no session, no ad-hoc
``lambda w:`` units of work anywhere under ``entrypoints/`` (CLI, API, console, scheduler,
demo)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "entrypoints"
FORBIDDEN = re.compile(
    r"service\.run\(|service\.read\(|(?<![\w.])select\(|(?<![\w.])text\(|lambda w\b|"
    r"\bw\.session\b|from sqlmodel import|from sqlalchemy import .*\b(select|text)\b"
)


def test_no_sql_or_session_under_entrypoints() -> None:
    found = [
        f"{path.relative_to(ROOT.parent)}:{n}: {line.strip()}"
        for path in sorted(ROOT.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if FORBIDDEN.search(line)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "rows = service.run(lambda w: w.session.exec(x))",
        "stmt = select(Tenancy)",
        'conn.execute(text("DELETE FROM x"))',
        "from sqlmodel import select",
    ],
)
def test_the_scan_sees_sql(line: str) -> None:
    assert FORBIDDEN.search(line)
