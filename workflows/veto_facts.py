"""Facts of a review period the engine reads itself: veto facts (issue 14, item 4) and the
counted metrics (``Metric.fact``, issue 18: the firm's cooperation through the city
opportunity lists).

A violation whose code is also one of the rulebook's review vetoes (a major accident, fraud, a
失信 listing) is a veto fact: recorded during the period reviewed, it vetoes that period's
grade by itself, without the operator raising it again, and the review's trace names it. The
per-tenancy decision (through the unit of work's review repository) and the batch decision of
a cycle (on its connection) read it with the same query.

A counted metric is read the same way by both paths (``db.opportunities.cooperation``, through
``uow.opportunities`` or on the cycle's connection) and only when the rulebook declares one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from db import repositories as repo
from db.opportunities import Cooperation
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


#: tenancy id -> counted metric -> its parts, as ``rbook.score_review`` takes ``facts``
Counted = dict[int, dict[str, dict[str, int]]]


def counted(
    read: Callable[[Sequence[int], datetime, datetime], Cooperation],
    rb: rbook.Rulebook,
    tenancies: Sequence[tuple[int, int]],
    period: int,
) -> Counted:
    """For each ``(tenancy id, firm id)``, the parts of every metric the rulebook counts
    (``rb.facts``) over ``period``; ``read`` is ``db.opportunities.cooperation`` bound to a
    connection. A rulebook that counts nothing reads nothing."""
    if not rb.facts:
        return {}
    by_firm = read(sorted({firm for _, firm in tenancies}), *period_bounds(period))
    return {
        tenancy: {name: dict(by_firm[firm]) for name in rb.facts} for tenancy, firm in tenancies
    }
