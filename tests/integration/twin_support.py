"""Identical databases for comparing two paths, and a whole-database comparison.

Used by the batch property test (``test_batch_property.py``): a migrated database is built
once per example and cloned (a SQLite online backup, or ``CREATE DATABASE … TEMPLATE`` on
PostgreSQL), one path runs in each copy, then every row of every table is compared. The
clone and comparison rules are those of ``test_batch_equivalence.py``: surrogate ids of the
append-only tables are left out and their rows are ordered by the natural keys that name them.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import db.tables  # noqa: F401  (registers every table on SQLModel.metadata)

# Append-only tables both paths insert into: their ids are surrogate, the rows are ordered and
# compared by what names them (as in test_batch_equivalence.snapshot).
NATURAL_ORDER: dict[str, tuple[str, ...]] = {
    "reviews": ("tenancy_id", "period"),
    "audit_events": ("tenancy_id", "seq"),
    "outbox": ("dedupe_key",),
    "deadlines": ("dedupe_key",),
    "rectifications": ("tenancy_id", "id"),
    "exit_cases": ("tenancy_id", "id"),
}


@dataclass
class Databases:
    """Makes, clones and drops migrated databases on one backend.

    SQLite: files under ``directory`` copied from the migrated template file. PostgreSQL:
    databases made from the migrated template database through ``admin`` (AUTOCOMMIT)."""

    backend: str
    template: str  # SQLite: the template file; PostgreSQL: the template database's name
    directory: Path | None = None
    admin: Engine | None = None
    made: list[str] = field(default_factory=list, repr=False)

    def new(self) -> str:
        """An empty migrated database."""
        if self.admin is None:
            assert self.directory is not None
            path = self.directory / f"db-{uuid.uuid4().hex[:8]}.db"
            shutil.copy(self.template, path)
            url = f"sqlite:///{path}"
        else:
            url = self._pg_copy(self.template)
        self.made.append(url)
        return url

    def clone(self, url: str) -> str:
        """A copy of ``url`` (its engines must be disposed of on PostgreSQL)."""
        if self.admin is None:
            source = make_url(url).database
            assert source is not None
            target = source.replace(".db", f"-{uuid.uuid4().hex[:6]}.db")
            src, dst = sqlite3.connect(source), sqlite3.connect(target)
            try:
                src.backup(dst)  # what is still in the WAL too, unlike a file copy
            finally:
                src.close()
                dst.close()
            copy = f"sqlite:///{target}"
        else:
            copy = self._pg_copy(str(make_url(url).database))
        self.made.append(copy)
        return copy

    def _pg_copy(self, source: str) -> str:
        assert self.admin is not None
        name = f"innospace_prop_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        return (
            make_url(str(self.admin.url)).set(database=name).render_as_string(hide_password=False)
        )

    def drop_all(self) -> None:
        """Drop every database made since the last call."""
        while self.made:
            url = self.made.pop()
            name = make_url(url).database
            if self.admin is not None:
                with self.admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            elif name:
                for suffix in ("", "-wal", "-shm"):
                    Path(name + suffix).unlink(missing_ok=True)


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (the migrations' bookkeeping aside), as dicts: the
    append-only tables without their surrogate ids, ordered by natural keys; the others
    ordered by primary key."""
    tables = SQLModel.metadata.tables
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert present == set(tables), sorted(present ^ set(tables))
        for name in sorted(tables):
            table = tables[name]
            order = NATURAL_ORDER.get(name) or tuple(c.name for c in table.primary_key.columns)
            rows = [
                dict(r._mapping)
                for r in conn.execute(select(table).order_by(*(table.c[o] for o in order)))
            ]
            if name in NATURAL_ORDER:
                for row in rows:
                    row.pop("id")
            out[name] = rows
    return out


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two values differ, as ``path: a != b`` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b), key=str)
            for d in diff(a.get(k), b.get(k), f"{path}.{k}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in diff(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def assert_same_rows(single: Engine, batch: Engine, step: str) -> dict[str, list[dict[str, Any]]]:
    """Every table holds the same rows in both databases; the first differences are named."""
    a, b = snapshot(single), snapshot(batch)
    problems: list[str] = []
    for name in a:
        if len(a[name]) != len(b[name]):
            problems.append(f"{name}: {len(a[name])} rows by commands, {len(b[name])} by batch")
            continue
        for row_a, row_b in zip(a[name], b[name], strict=True):
            problems += [f"{name}{d}" for d in diff(row_a, row_b)]
    assert not problems, f"after {step}, commands != batch:\n" + "\n".join(problems[:12])
    return a
