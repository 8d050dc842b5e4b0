"""One pass of every sweep: what `innospace tick` runs and the scheduler's jobs call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from entrypoints.bootstrap import App
from lifecycle.clock import FixedClock
from workflows.service import Service
from workflows.sweeps import sweep_deadlines


def run_ticks(app: App, *, until: datetime | None = None) -> dict[str, Any]:
    """Run the sweeps once, as of ``until`` (a simulated instant) or now.

    Deadlines first (they queue notices), then the outbox relay delivers what is due.
    """
    clock = app.clock if until is None else FixedClock(until)
    service = app.service if until is None else Service(app.engine, clock)
    deadlines = sweep_deadlines(service)
    relay = app.relay(clock).run_once()
    return {"deadlines": deadlines.to_dict(), "relay": relay.to_dict()}
