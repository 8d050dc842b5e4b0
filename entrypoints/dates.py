"""The dates innospace computes with (light: the CLI reads them at start)."""

from __future__ import annotations

from lifecycle.clock import EARLIEST_DATE as EARLIEST_DATE
from lifecycle.clock import LATEST_DATE as LATEST_DATE
