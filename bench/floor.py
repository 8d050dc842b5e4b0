"""The raw-SQL floor: the same rows the engine wrote, written again with the bare driver.

After a workload ran, its database holds exactly what the engine wrote. The floor starts from
a copy of the database as it was before, reads the engine's rows back (untimed) and writes
them with plain ``executemany`` (``sqlite3``, or ``psycopg`` for PostgreSQL), in the same
chunks and transactions as the engine, with the same pragmas, indexes and foreign keys.
Only the writes and commits are timed, so the floor is what the database alone costs; the
engine's ratio to it is everything else (rules, hashing, serialization, SQLAlchemy).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import JSON, Table

from bench.fixtures import table
from db.engine import SQLITE_PRAGMAS
from db.tables import (
    AuditEvent,
    Deadline,
    ExitCase,
    InboxItem,
    OutboxMessage,
    Rectification,
    Review,
    Tenancy,
)


@dataclass
class Replay:
    """What a workload changed: rows inserted (id above ``before``) and rows updated."""

    inserted: Sequence[type[Any]]
    # table -> (columns set, predicate selecting the changed rows, its parameter)
    updated: dict[type[Any], tuple[Sequence[str], str]] = field(default_factory=dict)
    key: str = "tenancy_id"  # inserted rows belong to the chunk whose key they carry
    one_transaction: bool = False
    version_step: int = 1  # how far the engine moved each tenancy's version


WRITTEN_BY_OPEN = Replay(
    inserted=(Review, AuditEvent, Deadline, OutboxMessage),
    updated={
        Tenancy: (
            ("state", "version", "audit_seq", "audit_head", "updated_at"),
            "updated_at = :now",
        )
    },
)
WRITTEN_BY_DECIDE = Replay(
    inserted=(AuditEvent, Rectification, ExitCase, Deadline, OutboxMessage),
    updated={
        Tenancy: (
            ("state", "version", "audit_seq", "audit_head", "updated_at"),
            "updated_at = :now",
        ),
        Review: (
            ("score", "grade", "consequence", "trace", "status", "decided_at", "rulebook_version"),
            "decided_at = :now",
        ),
        Deadline: (("status", "done_at"), "done_at = :now"),
    },
    one_transaction=True,
)
WRITTEN_BY_RELAY = Replay(
    inserted=(InboxItem,),
    updated={
        OutboxMessage: (
            ("status", "attempts", "next_attempt_at", "last_error", "sent_at"),
            "sent_at = :now",
        )
    },
    key="outbox_id",
)


class Driver:
    """The bare DB-API connection, with the engine's settings."""

    placeholder = "?"
    conn: Any

    def json(self, _column: str) -> str:
        return self.placeholder

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, params).fetchall())

    def write(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.cursor().executemany(sql, rows)

    def select_column(self, tbl: Table, name: str) -> str:
        return f'"{name}"'

    def close(self) -> None:
        self.conn.close()


class SqliteDriver(Driver):
    def __init__(self, path: Path) -> None:
        # The pragmas db.engine.make_engine sets on every connection.
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        for pragma in SQLITE_PRAGMAS:
            self.conn.execute(f"PRAGMA {pragma}")


class PostgresDriver(Driver):
    placeholder = "%s"

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))

    def json(self, _column: str) -> str:
        return "%s::jsonb"

    def begin(self) -> None:
        pass  # psycopg opens the transaction on the first statement

    def commit(self) -> None:
        self.conn.commit()

    def read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            rows: list[tuple[Any, ...]] = cur.fetchall()
        self.conn.commit()
        return rows

    def write(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows)

    def select_column(self, tbl: Table, name: str) -> str:
        # JSON read back as text and written back as text: no re-serialization in the floor.
        return f'"{name}"::text' if isinstance(tbl.c[name].type, JSON) else f'"{name}"'


def max_ids(source: Driver, models: Sequence[type[Any]]) -> dict[str, int]:
    """The highest id of each table (rows above it are new)."""
    return {
        table(m).name: int(
            source.read(f"SELECT coalesce(max(id), 0) FROM {table(m).name}", [])[0][0]
        )
        for m in models
    }


def _in(driver: Driver, n: int) -> str:
    return ",".join([driver.placeholder] * n)


def replay(
    source: Driver, target: Driver, spec: Replay, *, before: dict[str, int], now: Any, chunk: int
) -> float:
    """Write into ``target`` what the engine wrote into ``source``; return the seconds the
    writes and commits took."""
    main, (columns, predicate) = next(iter(spec.updated.items()))
    ph = source.placeholder
    keys = [
        r[0]
        for r in source.read(
            f"SELECT id FROM {table(main).name} WHERE {predicate.replace(':now', ph)} ORDER BY id",
            [now],
        )
    ]
    seconds = 0.0
    if spec.one_transaction:
        started = time.perf_counter()
        target.begin()
        seconds += time.perf_counter() - started
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        statements = list(_statements(source, target, spec, before, now, part))
        started = time.perf_counter()
        if not spec.one_transaction:
            target.begin()
        for sql, rows in statements:
            if rows:
                target.write(sql, rows)
        if not spec.one_transaction:
            target.commit()
        seconds += time.perf_counter() - started
    if spec.one_transaction:
        started = time.perf_counter()
        target.commit()
        seconds += time.perf_counter() - started
    return seconds


def _statements(
    source: Driver, target: Driver, spec: Replay, before: dict[str, int], now: Any, keys: list[int]
) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(SQL, rows) for one chunk, in the order the engine writes them."""
    ph, within = source.placeholder, _in(source, len(keys))
    main = next(iter(spec.updated))
    updates = list(spec.updated.items())
    yield _update(
        source, target, main, *updates[0][1], f"id IN ({within})", keys, now, spec.version_step
    )
    for model in spec.inserted:
        tbl = table(model)
        cols = [c.name for c in tbl.c]
        select_cols = ", ".join(source.select_column(tbl, c) for c in cols)
        rows = source.read(
            f"SELECT {select_cols} FROM {tbl.name} WHERE {spec.key} IN ({within}) "
            f"AND id > {ph} ORDER BY id",
            [*keys, before[tbl.name]],
        )
        values = ", ".join(
            target.json(c) if isinstance(tbl.c[c].type, JSON) else target.placeholder for c in cols
        )
        yield (f"INSERT INTO {tbl.name} ({', '.join(_q(c) for c in cols)}) VALUES ({values})", rows)
    for model, (columns, predicate) in updates[1:]:
        yield _update(
            source,
            target,
            model,
            columns,
            predicate,
            f"{spec.key} IN ({within})",
            keys,
            now,
            spec.version_step,
        )


def _update(
    source: Driver,
    target: Driver,
    model: type[Any],
    columns: Sequence[str],
    predicate: str,
    where: str,
    keys: list[int],
    now: Any,
    version_step: int,
) -> tuple[str, list[tuple[Any, ...]]]:
    tbl = table(model)
    select_cols = ", ".join(source.select_column(tbl, c) for c in columns)
    filters = f"{where} AND {predicate.replace(':now', source.placeholder)}"
    rows = source.read(
        f"SELECT {select_cols}, id FROM {tbl.name} WHERE {filters} ORDER BY id", [*keys, now]
    )
    sets = ", ".join(
        f"{_q(c)} = {target.json(c) if isinstance(tbl.c[c].type, JSON) else target.placeholder}"
        for c in columns
    )
    if model is Tenancy:  # the floor checks the version too, as the engine's UPDATE does
        rows = [(*r, r[columns.index("version")] - version_step) for r in rows]
        return (
            f"UPDATE {tbl.name} SET {sets} WHERE id = {target.placeholder} "
            f"AND version = {target.placeholder}",
            rows,
        )
    return f"UPDATE {tbl.name} SET {sets} WHERE id = {target.placeholder}", rows


def _q(name: str) -> str:
    return f'"{name}"'
