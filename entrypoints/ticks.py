"""One pass of every sweep: what `innospace tick` runs and the scheduler's jobs call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from entrypoints.bootstrap import App
from lifecycle.clock import FixedClock
from workflows.service import Service
from workflows.sweeps import sweep_deadlines


def run_ticks(app: App, *, until: datetime | None = None) -> dict[str, Any]:
    """Run the sweeps once, as of ``until`` (a simulated instant) or now."""
    service = app.service if until is None else Service(app.engine, FixedClock(until))
    report = sweep_deadlines(service)
    return {"deadlines": report.to_dict()}
