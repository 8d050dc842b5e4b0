"""Facts of a review period the engine reads itself: veto facts (issue 14, item 4) and the
metrics it establishes (``Metric.fact``: issue 18, the firm's cooperation through the city
opportunity lists; and whether the figures were submitted by the review's due date).

A violation whose code is also one of the rulebook's review vetoes (a major accident, fraud, a
失信 listing) is a veto fact: recorded during the period reviewed, it vetoes that period's
grade by itself, without the operator raising it again, and the review's trace names it. The
per-tenancy decision (``uow.reviews.decision_facts``, one read with its cooperation and area)
and the batch decision of a cycle (``db.repositories.veto_facts`` on its connection) read it
with the same filters.

A counted metric is read the same way by both paths (the cooperation branch of
``decision_facts``, or ``db.repositories.cooperation`` on the cycle's connection); it is
counted only when the rulebook declares one.
Whether the figures came in on time is read from the review itself (``submitted_at`` as a
day in :data:`PERIOD_TZ`, ``due_on``), the same review row both paths score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from db.repositories import Cooperation
from lifecycle import rulebook as rbook

# Where a review period (a calendar year) begins and ends.
PERIOD_TZ = ZoneInfo("Asia/Shanghai")


def codes(rb: rbook.Rulebook) -> list[str]:
    return [v.code for v in rb.review.vetoes]


def period_bounds(period: int) -> tuple[datetime, datetime]:
    """The first instant of ``period`` and of the year after, in the space's time zone."""
    return datetime(period, 1, 1, tzinfo=PERIOD_TZ), datetime(period + 1, 1, 1, tzinfo=PERIOD_TZ)


#: tenancy id -> established metric -> its parts, as ``rbook.score_review`` takes ``facts``
Counted = dict[int, dict[str, dict[str, object]]]


class Submission(Protocol):
    """What a review says of its figures' arrival: when they came in, when they were due."""

    @property
    def submitted_at(self) -> datetime | None: ...
    @property
    def due_on(self) -> date | None: ...


#: A review to establish facts for: its tenancy id, the tenancy's firm id and the review.
Member = tuple[int, int, Submission]


def on_time(review: Submission) -> dict[str, object]:
    """The parts of ``submitted_on_time``: the day the figures arrived in the space's time
    zone (None when they have not) and the day they were due."""
    at = review.submitted_at
    return {
        "submitted_on": at.astimezone(PERIOD_TZ).date() if at is not None else None,
        "due_on": review.due_on,
    }


def counted(
    read: Callable[[Sequence[int], datetime, datetime], Cooperation],
    rb: rbook.Rulebook,
    members: Sequence[Member],
    period: int,
) -> Counted:
    """For each ``(tenancy id, firm id, review)``, the parts of every metric the rulebook
    establishes (``rb.facts``) for ``period``: cooperation over the period (``read`` is
    ``db.repositories.cooperation`` bound to a connection), the review's submission against
    its due date. A rulebook that establishes nothing reads nothing; one without
    ``cooperation`` reads no opportunity lists."""
    if not rb.facts:
        return {}
    sources = {name: metric.fact for name, metric in rb.facts.items()}
    by_firm: Cooperation = {}
    if "cooperation" in sources.values():
        by_firm = read(sorted({firm for _, firm, _ in members}), *period_bounds(period))
    return {
        tenancy: {
            name: dict(by_firm[firm]) if source == "cooperation" else on_time(review)
            for name, source in sources.items()
        }
        for tenancy, firm, review in members
    }
