"""Which rows of a sorted list one page reads.

Every named query that lists for a page (``queries_*``) takes one :class:`Paging` — the sort,
its direction, and ``limit`` rows from ``offset`` — rather than four loose keywords, and
applies it the same way: the sort key from the query's own table of sortable columns (a key
it does not know falls back to its default), then the query's tie-breakers, then the window.
The web's ``list_params`` builds it from the query string.

The API's lists page by id instead, with a cursor: their queries take one :class:`Keyset`.

Every list is narrowed to what the caller may see by one :class:`Reach`, and the console's
lists take their filters as keywords typed by one ``TypedDict`` a list (``Unpack``), each
filter a :data:`Wanted` value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.sql.selectable import GenerativeSelect

S = TypeVar("S", bound=GenerativeSelect)
T = TypeVar("T")


def sort_columns(model: Any, *names: str) -> dict[str, Any]:
    """Sort keys that are ``model``'s columns of the same names, for a query's table of
    sortable columns."""
    return {name: getattr(model, name) for name in names}


@dataclass(frozen=True)
class Paging:
    """Sort by ``sort``, ``descending`` or not; ``limit`` rows from ``offset`` (a page reads
    one row more than it shows, to know there is a next page)."""

    sort: str
    descending: bool = False
    offset: int = 0
    limit: int = 51

    def order(self, column: Any) -> Any:
        """``column`` in the page's direction."""
        return column.desc() if self.descending else column.asc()

    def apply(self, stmt: S, sorts: Mapping[str, Any], default: str, *ties: Any) -> S:
        """``stmt`` ordered by the column ``sorts`` names for the sort (``sorts[default]``
        for one it does not name) in the page's direction, then by ``ties``; one page."""
        key = sorts.get(self.sort, sorts[default])
        return stmt.order_by(self.order(key), *ties).offset(self.offset).limit(self.limit)

    def cut(self, rows: Sequence[T]) -> list[T]:
        """The page of ``rows`` already sorted (lists sorted in Python, not in SQL)."""
        return list(rows[self.offset : self.offset + self.limit])


#: A list filter's value: what was asked for, or None (or absent) for any.
Wanted = str | None


@dataclass(frozen=True)
class Reach:
    """What of a list the caller may see: the spaces ``space_ids`` (None: every space), the
    records of the firm ``firm_id`` (None: every firm's) and, of tenancies, the applications
    assigned to the account ``reviewer_id`` (None: any)."""

    space_ids: frozenset[int] | None = None
    firm_id: int | None = None
    reviewer_id: int | None = None


@dataclass(frozen=True)
class Keyset:
    """The API's page of a list by id: ``limit`` rows after the id ``after`` (the cursor; 0,
    from the first), read with one more to know there is a next page."""

    after: int = 0
    limit: int = 50

    def of(self, rows: Sequence[T], shown: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
        """The first ``limit`` of ``rows`` as ``shown``; ``next``: the last one's id as the
        following page's cursor, None on the last page."""
        items = [shown(row) for row in rows[: self.limit]]
        more = len(rows) > self.limit
        return {"items": items, "next": str(items[-1]["id"]) if more and items else None}
