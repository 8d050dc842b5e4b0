"""Peak memory of W1, measured in a child process so no other workload's heap counts.

The child imports the engine, notes its resident set, runs ``open_cycle_batch`` over the
whole space and reports the high-water mark (``VmHWM``): what a scheduler process opening a
city's cycle needs. Run as ``python -m bench.memory DB_PATH``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.harness import Context, Result

TARGET_MB = 300.0


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def child(db_path: str) -> dict[str, float]:
    from bench import fixtures
    from db.engine import make_engine
    from lifecycle.calendar import WorkCalendar
    from lifecycle.clock import FixedClock
    from workflows.batch import open_cycle_batch

    engine = make_engine(fixtures.sqlite_url(Path(db_path)))
    baseline = _status_kb("VmRSS")
    report = open_cycle_batch(
        engine,
        FixedClock(fixtures.OPEN_AT),
        WorkCalendar(),
        space_code=fixtures.SPACE,
        period=fixtures.PERIOD,
    )
    engine.dispose()
    return {
        "opened": report.written,
        "seconds": report.seconds,
        "baseline_mb": baseline / 1024,
        "peak_mb": _status_kb("VmHWM") / 1024,
    }


def run(ctx: Context, n: int) -> Result:
    db = ctx.copy(ctx.base(n), "mem")
    with ctx.step(f"memory: W1 at {n:,} in a child process"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.memory", str(db)],
            check=True,
            capture_output=True,
            text=True,
        )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if figures["opened"] != n:
        raise AssertionError(f"memory run opened {figures['opened']} of {n}")
    peak = float(figures["peak_mb"])
    return Result(
        f"Memory: W1 peak RSS, N={n:,}",
        figure=f"{peak:.0f} MB peak ({figures['baseline_mb']:.0f} MB after imports)",
        target=f"≤ {TARGET_MB:g} MB" + ("" if n >= 100_000 else " (set for 100,000)"),
        ok=peak <= TARGET_MB,
    )


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1])))
