"""Named queries of the opportunity pages (console, portal, the public list, the district view):
the spaces a firm may submit in with their industry lists, a sorted and paged list of entries
narrowed to an account's scope, an entry for the page with its suggestions and industries.

Each takes :class:`Work` first, returns plain data and never writes; the heavy lifting is in
:mod:`workflows.queries_opportunities` and :mod:`workflows.queries_district`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypedDict, Unpack

from sqlalchemy import select

from db.tables import ALL_TABLES
from lifecycle import opportunities as opp
from lifecycle.table import TERMINAL
from workflows import queries_opportunities as qo
from workflows.core import Work
from workflows.opportunities import industries
from workflows.paging import Paging, Reach, Wanted

_S, _T = (ALL_TABLES.tables[n] for n in ("spaces", "tenancies"))

#: The sorts the entry list allows.
ENTRY_SORTS = ("id", "title", "space", "kind", "status", "valid_until", "updated_at")


#: The filters of the list of entries.
class EntryFilters(TypedDict, total=False):
    space: Wanted
    status: Wanted
    kind: Wanted
    text: Wanted


def firm_spaces(w: Work, *, firm_id: int) -> list[dict[str, Any]]:
    """The spaces the firm has a stay in (not closed), each with its rulebook's industries
    (code, Chinese label) — where the firm may submit an entry."""
    stmt = (
        select(_S.c.id, _S.c.code, _S.c.name)
        .join(_T, _T.c.space_id == _S.c.id)
        .where(_T.c.firm_id == firm_id, _T.c.state.not_in(list(TERMINAL)))
        .distinct()
        .order_by(_S.c.code)
    )
    return [
        {
            "code": code,
            "name": name,
            "industries": sorted(industries(w, int(space_id)).items()),
        }
        for space_id, code, name in w.connection.execute(stmt)
    ]


def entry_rows(
    w: Work, *, reach: Reach, paging: Paging, **filters: Unpack[EntryFilters]
) -> list[dict[str, Any]]:
    """Entries within ``reach`` (its spaces, or its firm's own), filtered (``space`` code,
    ``status``, ``kind``; ``text``: part of the title or the firm's name), one page as
    ``paging`` says (sorted by a key of :data:`ENTRY_SORTS`)."""
    status, kind, text = filters.get("status"), filters.get("kind"), filters.get("text")
    rows = qo.entries(
        w,
        space=filters.get("space"),
        status=status if status in opp.STATUS_LABELS else None,
        kind=kind if kind in opp.KINDS else None,
        firm_id=reach.firm_id,
        space_ids=reach.space_ids,
    )
    if text:
        needle = text.lower()
        rows = [
            r
            for r in rows
            if needle in r["title"].lower() or needle in str(r.get("firm") or "").lower()
        ]
    key = paging.sort if paging.sort in ENTRY_SORTS else "id"
    rows.sort(key=lambda r: (r.get(key) is None, str(r.get(key) or "")) if key != "id" else r["id"])
    if paging.descending:
        rows.reverse()
    return paging.cut(rows)


def status_counts(w: Work, *, space_ids: Collection[int] | None = None) -> dict[str, int]:
    """How many entries are in each status (within ``space_ids``; None: all)."""
    counts = dict.fromkeys(opp.STATUS_LABELS, 0)
    for row in qo.entries(w, space_ids=space_ids):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def entry_page(w: Work, *, entry_id: int, suggestions: bool = True) -> dict[str, Any]:
    """One entry with its timeline, introductions, its space's industries and (for staff) the
    suggested matches."""
    found = qo.entry(w, entry_id=entry_id)
    found["industries"] = sorted(industries(w, int(found["space_id"])).items())
    found["suggestions"] = qo.suggestions(w, entry_id=entry_id, limit=10) if suggestions else []
    return found


def candidates(w: Work, *, space_ids: Collection[int] | None = None) -> list[dict[str, Any]]:
    """Accepted entries waiting for a list (within ``space_ids``; None: all), oldest first."""
    rows = qo.entries(w, status=opp.ACCEPTED, space_ids=space_ids)
    return sorted(rows, key=lambda r: r["id"])
