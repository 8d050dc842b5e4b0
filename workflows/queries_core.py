"""Named queries in SQLAlchemy Core on a bare connection: the reads that must start fast.

``innospace list`` runs one of these through :meth:`Service.query_core`. They name their
tables here, as light Core stand-ins for the columns they read (``sqlalchemy.table``), so
that running them imports neither the table models (``db.tables``, SQLModel) nor the ORM,
the rulebook or the workflows (issue 14, item 18: ``innospace list`` in ≤ 0.35 s). A unit test
holds every stand-in column to the table model's name and type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Date, Float, Integer, String, column, select, table

from lifecycle.table import STATE_LABELS

SPACES = table("spaces", column("id", Integer), column("code", String))
FIRMS = table("firms", column("id", Integer), column("name", String), column("uscc", String))
TENANCIES = table(
    "tenancies",
    column("id", Integer),
    column("firm_id", Integer),
    column("space_id", Integer),
    column("state", String),
    column("version", Integer),
    column("track", String),
    column("term_start", Date),
    column("term_end", Date),
    column("score", Float),
    column("rulebook_version", String),
)
#: Every stand-in (checked against ``db.tables.ALL_TABLES`` by the unit tests).
STAND_INS = (SPACES, FIRMS, TENANCIES)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def tenancy_summary(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A tenancy as ``list`` and ``show`` print it; ``row`` holds the tenancy's columns and
    its firm's ``firm`` (name) and ``uscc`` and its space's ``space`` (code)."""
    return {
        "id": row["id"],
        "firm": row["firm"],
        "uscc": row["uscc"],
        "space": row["space"],
        "state": row["state"],
        "state_zh": STATE_LABELS[row["state"]][0],
        "version": row["version"],
        "track": row["track"],
        "term_start": _iso(row["term_start"]),
        "term_end": _iso(row["term_end"]),
        "score": row["score"],
        "rulebook_version": row["rulebook_version"],
    }


def list_tenancies(
    conn: Connection,
    *,
    space: str | None = None,
    state: str | None = None,
    firm: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Tenancies in id order, at most ``limit``: of the space with code ``space``, in
    ``state``, of the firm whose USCC is ``firm`` (any case) or whose name contains it."""
    t, f, s = TENANCIES.c, FIRMS.c, SPACES.c
    stmt = (
        select(
            t.id,
            f.name.label("firm"),
            f.uscc,
            s.code.label("space"),
            t.state,
            t.version,
            t.track,
            t.term_start,
            t.term_end,
            t.score,
            t.rulebook_version,
        )
        .select_from(TENANCIES.join(FIRMS, f.id == t.firm_id).join(SPACES, s.id == t.space_id))
        .order_by(t.id)
    )
    if space:
        stmt = stmt.where(s.code == space)
    if state:
        stmt = stmt.where(t.state == state)
    if firm:
        stmt = stmt.where((f.uscc == firm.upper()) | f.name.contains(firm))
    return [tenancy_summary(row) for row in conn.execute(stmt.limit(limit)).mappings()]
