"""Veto facts recorded during a review period (issue 14, item 4).

A violation whose code is also one of the rulebook's review vetoes (a major accident, fraud, a
失信 listing) is a veto fact: recorded during the period reviewed, it vetoes that period's
grade by itself, without the operator raising it again, and the review's trace names it. The
per-tenancy decision (through the unit of work's review repository) and the batch decision of
a cycle (on its connection) read it with the same query.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from db import repositories as repo
from lifecycle import rulebook as rbook

# Where a review period (a calendar year) begins and ends.
PERIOD_TZ = ZoneInfo("Asia/Shanghai")


def codes(rb: rbook.Rulebook) -> list[str]:
    return [v.code for v in rb.review.vetoes]


def period_bounds(period: int) -> tuple[datetime, datetime]:
    """The first instant of ``period`` and of the year after, in the space's time zone."""
    return datetime(period, 1, 1, tzinfo=PERIOD_TZ), datetime(period + 1, 1, 1, tzinfo=PERIOD_TZ)


def recorded(
    reviews: repo.Reviews, rb: rbook.Rulebook, ids: Sequence[int], period: int
) -> repo.VetoFacts:
    """For each tenancy, the veto facts recorded during ``period`` (oldest first)."""
    return reviews.veto_facts(ids, codes(rb), *period_bounds(period))
