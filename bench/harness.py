"""What every workload shares: the scratch directory, database copies, progress, results."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import fixtures

Callback = Callable[[int, int], None]


@dataclass
class Result:
    """One line of the figures table."""

    workload: str
    backend: str = "sqlite"
    engine_s: float | None = None
    floor_s: float | None = None
    figure: str = ""  # the workload's own measure: throughput, latency, memory
    target: str = ""
    ok: bool | None = None  # None: no target for this line
    enforced: bool = True  # False: a goal, printed with its "met" but no exit status 1
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.engine_s is None or not self.floor_s:
            return None
        return self.engine_s / self.floor_s


@dataclass
class Context:
    """The scratch directory and the options of one ``python -m bench`` run."""

    root: Path
    n: int
    quick: bool
    pg_url: str | None
    verbose: bool = False
    _bases: dict[tuple[int, bool, bool], Path] = field(default_factory=dict)

    def base(self, n: int, *, reviewed: bool = False, opened: bool = False) -> Path:
        """A built database of ``n`` tenancies (built once, then copied per use);
        ``reviewed`` / ``opened``: see :func:`bench.fixtures.build`."""
        key = (n, reviewed, opened)
        if key not in self._bases:
            kind = "w2" if reviewed else "opened" if opened else "w1"
            what = "reviewed" if reviewed else "under review (opened)" if opened else "active"
            path = self.root / f"base-{kind}-{n}.db"
            with self.step(f"set-up: {n:,} {what} tenancies"):
                fixtures.build(fixtures.sqlite_url(path), n, reviewed=reviewed, opened=opened)
            self._bases[key] = path
        return self._bases[key]

    def copy(self, source: Path, name: str) -> Path:
        """A consistent copy: a plain file copy when no connection left a WAL behind (the
        bases are checkpointed, engines disposed), else SQLite's backup API."""
        target = self.root / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        wal = Path(f"{source}-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            shutil.copyfile(source, target)
            return target
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return target

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.perf_counter()
        self.say(f"… {label}")
        yield
        self.say(f"  {label}: {time.perf_counter() - started:.1f} s")

    def say(self, message: str) -> None:
        if self.verbose or sys.stderr.isatty():
            print(message, file=sys.stderr, flush=True)

    @contextmanager
    def progress(self, label: str) -> Iterator[Callback | None]:
        """A rich progress bar fed by a batch ``progress(advance, total)`` callback, when
        stdout is a terminal; None otherwise (batch functions then skip reporting)."""
        if not sys.stdout.isatty():
            yield None
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=None)

            def advance(n: int, total: int) -> None:
                bar.update(task, total=total, advance=n)

            yield advance


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def sqlite_instant(value: datetime) -> str:
    """How SQLAlchemy stores a UTC instant in SQLite (``UTCDateTime``)."""
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]
