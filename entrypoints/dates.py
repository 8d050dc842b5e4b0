"""The dates innospace computes with (no imports: the CLI reads them at start)."""

from __future__ import annotations

from datetime import date

#: Every date option and INNOSPACE_NOW must lie in this range, so that terms, windows and
#: working-day counts never leave the calendar (years 1 and 9999 overflow ``date`` arithmetic).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)
