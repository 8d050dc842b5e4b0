"""The PostgreSQL workloads, in scratch databases created and dropped by the run.

The floor is the same replay as on SQLite with ``psycopg`` (``executemany``, pipelined by the
driver) instead of ``sqlite3``: JSON travels as text both ways, so the floor serializes
nothing. The scratch databases are copies (``CREATE DATABASE … TEMPLATE``) of one built base.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import fixtures, floor, footprint, http_api, pg_parallel, w1_open, w3_commands
from bench.harness import Context, Result


class Scratch:
    """Databases named ``innospace_bench_<run>_<name>`` on the server of ``url``."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.run = uuid.uuid4().hex[:8]
        self.made: list[str] = []

    def name(self, label: str) -> str:
        return f"innospace_bench_{self.run}_{label}"

    def create(self, label: str, template: str | None = None) -> str:
        name = self.name(label)
        with self.admin.connect() as conn:
            conn.execute(
                text(
                    f'CREATE DATABASE "{name}"'
                    + (f' TEMPLATE "{self.name(template)}"' if template else "")
                )
            )
        self.made.append(name)
        return self.url_of(label)

    def url_of(self, label: str) -> str:
        return self.url.set(database=self.name(label)).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.made):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()

    def version(self) -> str:
        with self.admin.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())


@contextmanager
def scratch(url: str) -> Iterator[Scratch]:
    s = Scratch(url)
    try:
        yield s
    finally:
        s.drop_all()


def run(
    ctx: Context, url: str, n: int, firms: int, only: frozenset[str] = frozenset({"PG"})
) -> list[Result]:
    """The PostgreSQL parts of ``only``: PG (W1 and W3 on one process), W3PG and W4PG (1 and
    4 processes, :mod:`bench.pg_parallel`), BYTES (:mod:`bench.footprint`), HTTPPG
    (:mod:`bench.http_api`, its own database). One built base of ``n`` active tenancies
    serves the others; W4PG relays the notices W1 queued."""
    results: list[Result] = []
    with scratch(url) as pg:
        if only & {"PG", "W3PG", "W4PG"}:
            pg.create("base")
            with ctx.step(f"PostgreSQL set-up: {n:,} active tenancies"):
                fixtures.build(pg.url_of("base"), n)
        if only & {"PG", "W4PG"}:
            results += _w1(ctx, pg, n, floor="PG" in only)
        if "PG" in only:
            w3_url = pg.create("w3", "base")
            with ctx.step(f"PostgreSQL W3 engine, {firms * 3:,} commands"):
                w3_seconds, latencies = w3_commands.measure(w3_url, firms)
            results += w3_commands.summarize(
                "W3 single commands", "postgresql", w3_seconds, latencies, None
            )
        if "W3PG" in only:
            results += pg_parallel.w3(ctx, pg, "base", n, firms)
        if "W4PG" in only:
            results += pg_parallel.w4(ctx, pg, "w1", n)
        if "BYTES" in only:
            results += footprint.run_postgres(ctx, pg.create)
        if "HTTPPG" in only:
            results += http_api.run_postgres(ctx, pg, n)
    return results


def _w1(ctx: Context, pg: Scratch, n: int, *, floor: bool) -> list[Result]:
    """W1 on a copy of the base (labelled "w1": W4PG copies it), with its floor if asked."""
    engine_url = pg.create("w1", "base")
    with ctx.step(f"PostgreSQL W1 engine, {n:,} tenancies"):
        seconds, report = w1_open.open_cycle(ctx, engine_url, f"W1 open {n:,} (PostgreSQL)")
    if report.written != n:
        raise AssertionError(f"PostgreSQL W1 opened {report.written} of {n}")
    if not floor:
        return []
    floor_url = pg.create("w1floor", "base")
    with ctx.step("PostgreSQL W1 floor"):
        floor_s = _replay(engine_url, floor_url)
    w1_open.spot_check(engine_url, n)
    return [
        Result(
            f"W1 cycle opening, N={n:,}",
            backend="postgresql",
            engine_s=seconds,
            floor_s=floor_s,
            figure=f"{n / seconds:,.0f} tenancies/s; {seconds / n * 1e6:.0f} µs each",
            notes=[f"PostgreSQL {pg.version()}"],
        )
    ]


def _replay(engine_url: str, floor_url: str) -> float:
    source, target = floor.PostgresDriver(engine_url), floor.PostgresDriver(floor_url)
    try:
        before = floor.max_ids(target, list(floor.WRITTEN_BY_OPEN.inserted))
        return floor.replay(
            source, target, floor.WRITTEN_BY_OPEN, before=before, now=fixtures.OPEN_AT, chunk=5000
        )
    finally:
        source.close()
        target.close()


def server_version(url: str) -> Any:
    s = Scratch(url)
    try:
        return s.version()
    finally:
        s.admin.dispose()
