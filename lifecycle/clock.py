"""Time is an input: the domain and workflows take a Clock, never read the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

#: Every date innospace takes (an option, a form, INNOSPACE_NOW, a calendar day) lies in this
#: range, so that terms, windows and working-day counts never leave the calendar (years 1 and
#: 9999 overflow ``date`` arithmetic).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class FixedClock:
    """A clock that moves only when told to (tests, the demo, simulations)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = instant.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now
