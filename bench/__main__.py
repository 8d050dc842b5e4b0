"""``python -m bench [--quick] [--n N] [--only W1,W2,...] [--pg URL]``.

Builds its own data in a scratch directory, runs the workloads, prints the figures table
(engine time, raw-SQL floor, ratio, the workload's own measure, its target) and exits 1 if a
target was missed, so the figures cannot quietly regress. Not part of the test suite: timing
on a shared machine is a measurement, not an assertion.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import (
    cli_start,
    console_pages,
    footprint,
    http_api,
    memory,
    postgres,
    w1_open,
    w2_decide,
    w3_commands,
    w4_relay,
)
from bench.harness import Context, Result

WORKLOADS = (
    "W1",
    "W2",
    "W3",
    "W4",
    "MEM",
    "PG",
    "SCALE",
    "W3PG",
    "W4PG",
    "BYTES",
    "CLI",
    "HTTP",
    "HTTPPG",
    "CONSOLE",
)
PG_ONLY = {"PG", "W3PG", "W4PG", "HTTPPG"}  # BYTES measures SQLite, and PostgreSQL when given
PG_ENV = "INNOSPACE_TEST_POSTGRES_URL"
QUICK_N, DEFAULT_N = 20_000, 100_000


def machine(pg_url: str | None) -> list[str]:
    """The machine the figures were measured on (for bench/RESULTS.md)."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")
            )
        )
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    pg = "not measured"
    if pg_url:
        try:
            pg = postgres.server_version(pg_url)
        except Exception as err:  # noqa: BLE001 - a header line, the PG run reports properly
            pg = f"unreachable ({type(err).__name__})"
    return [
        f"CPU: {cpu}, {os.cpu_count()} cores (nproc); RAM {ram}",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {pg}; {platform.system()} {platform.release()}",
    ]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"N = {QUICK_N:,} (under a minute)")
    p.add_argument("--n", type=int, default=None, help=f"tenancies (default {DEFAULT_N:,})")
    p.add_argument("--only", default=None, help=f"comma-separated subset of {','.join(WORKLOADS)}")
    p.add_argument("--pg", default=None, help=f"PostgreSQL URL (default ${PG_ENV})")
    p.add_argument(
        "--commands",
        type=int,
        default=None,
        help="W3: firms whose review is run command by command (x3 commands)",
    )
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("--verbose", "-v", action="store_true", help="say what is running")
    args = p.parse_args(argv)
    only = {w.strip().upper() for w in (args.only or ",".join(WORKLOADS)).split(",") if w}
    if unknown := only - set(WORKLOADS):
        p.error(f"--only: unknown workload(s) {', '.join(sorted(unknown))}")
    args.only = only
    args.n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    if args.n < 100:
        p.error("--n: at least 100 tenancies")
    args.commands = args.commands or (150 if args.quick else 500)
    args.pg = args.pg or os.environ.get(PG_ENV)
    return args


def run(args: argparse.Namespace, ctx: Context) -> list[Result]:
    n, only = args.n, args.only
    results: list[Result] = []
    opened = None
    w1: dict[int, Result] = {}
    if only & {"W1", "W4", "SCALE"}:
        result, opened = w1_open.run_sqlite(ctx, n)
        w1[n] = result
        if "W1" in only:
            results.append(result)
    if "SCALE" in only:
        sizes = sorted({max(100, n // 10), max(100, n // 2), n})
        results += w1_open.scaling(ctx, sizes, w1)
    if "MEM" in only:
        results.append(memory.run(ctx, n))
    if "W2" in only:
        results.append(w2_decide.run_sqlite(ctx, n))
    if "W3" in only:
        results += w3_commands.run_sqlite(ctx, args.commands)
    if "W4" in only and opened is not None:
        results.append(w4_relay.run_sqlite(ctx, opened, n))
    if "BYTES" in only:
        results += footprint.run_sqlite(ctx)
    if only & (PG_ONLY | {"BYTES"}):
        if args.pg:
            results += postgres.run(ctx, args.pg, n, args.commands, frozenset(only))
        elif only & PG_ONLY:
            results.append(
                Result(
                    "PostgreSQL (" + ", ".join(sorted(only & PG_ONLY)) + ")",
                    backend="postgresql",
                    figure=f"skipped: give --pg URL or set {PG_ENV}",
                )
            )
    if "CLI" in only:
        results += cli_start.run(ctx)
    if "HTTP" in only:
        results += http_api.run_sqlite(ctx, n)
    if "CONSOLE" in only:
        results += console_pages.run_sqlite(ctx, n)
    return results


def table(results: list[Result], header: list[str], seconds: float) -> Table:
    t = Table(
        title="innospace benchmarks",
        caption="\n".join(
            [
                *header,
                f"whole run {seconds:.0f} s; ratio = engine / raw-SQL floor (same rows, "
                'same chunks, bare driver executemany); met "no (goal)": a goal, reported '
                "but not failing the run",
            ]
        ),
        caption_justify="left",
    )
    for name, justify in (
        ("workload", "left"),
        ("db", "left"),
        ("engine s", "right"),
        ("floor s", "right"),
        ("ratio", "right"),
        ("measure", "left"),
        ("target", "left"),
        ("met", "center"),
    ):
        t.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in results:
        t.add_row(
            r.workload,
            r.backend,
            "" if r.engine_s is None else f"{r.engine_s:.2f}",
            "" if r.floor_s is None else f"{r.floor_s:.2f}",
            "" if r.ratio is None else f"{r.ratio:.2f}",
            r.figure + ("; " + "; ".join(r.notes) if r.notes else ""),
            r.target,
            {True: "yes", False: "NO" if r.enforced else "no (goal)", None: ""}[r.ok],
        )
    return t


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="innospace-bench-"))
    ctx = Context(root, args.n, args.quick, args.pg, verbose=args.verbose)
    try:
        results = run(args, ctx)
    finally:
        if args.keep:
            print(f"scratch directory kept: {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    console = Console(width=max(160, Console().width))
    console.print(table(results, machine(args.pg), time.perf_counter() - started))
    missed = [r.workload.strip() for r in results if r.ok is False and r.enforced]
    goals = [r.workload.strip() for r in results if r.ok is False and not r.enforced]
    if goals:
        console.print(f"goals not met (reported, not enforced): {', '.join(goals)}")
    if missed:
        console.print(f"targets missed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
