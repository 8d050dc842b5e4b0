"""Named queries of the city opportunity lists: entries, lists (drafts for staff, published
ones for everyone), the public view of a published list, suggested matches, introductions,
each chain verified, land parcels.

Like ``workflows.queries``: each takes the unit of work's :class:`Work` first and keyword
arguments after, returns plain data (no Python ``None`` / ``True`` is worded for a person
here: entry points do that), and is run by ``Service.query`` (never committed).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select

from db import opportunities as db_opportunities
from db import repositories
from db.opportunities import OPPORTUNITY_TABLES
from db.tables import ALL_TABLES
from lifecycle import opportunities as opp
from lifecycle.errors import InvalidInput, NotFound
from workflows import audit, matching, veto_facts
from workflows.core import Work
from workflows.land import MU_M2
from workflows.opportunities import industries

_E, _L, _I, _EV, _P, _S = OPPORTUNITY_TABLES
_F = ALL_TABLES.tables["firms"]
_ENTRY_VIEW = (
    select(_E, _S.c.code.label("space"), _S.c.name.label("space_name"), _F.c.name.label("firm"))
    .join(_S, _S.c.id == _E.c.space_id)
    .outerjoin(_F, _F.c.id == _E.c.firm_id)
)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _entry(row: Any, labels: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    out = {k: _iso(v) for k, v in row._mapping.items()}
    kind_zh, kind_en = opp.KINDS[out["kind"]]
    out["kind_zh"], out["kind_en"] = kind_zh, kind_en
    out["status_label"] = opp.STATUS_LABELS.get(out["status"], out["status"])
    if labels is not None:
        out["field_zh"] = labels.get(out["space_id"], {}).get(out["field"], out["field"])
    return out


def _labels(w: Work, space_ids: Collection[int]) -> dict[int, dict[str, str]]:
    return {s: industries(w, s) for s in set(space_ids)}


def entries(
    w: Work,
    *,
    space: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    firm_id: int | None = None,
    space_ids: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """Entries, newest first, narrowed by space code, status, kind, firm, or to the spaces an
    account may see (``space_ids``; None: all)."""
    stmt = _ENTRY_VIEW.order_by(_E.c.id.desc())
    if space is not None:
        stmt = stmt.where(_S.c.code == space)
    if status is not None:
        stmt = stmt.where(_E.c.status == status)
    if kind is not None:
        stmt = stmt.where(_E.c.kind == opp.kind_of(kind))
    if firm_id is not None:
        stmt = stmt.where(_E.c.firm_id == firm_id)
    if space_ids is not None:
        stmt = stmt.where(_E.c.space_id.in_(list(space_ids)))
    rows = list(w.connection.execute(stmt))
    labels = _labels(w, {r.space_id for r in rows})
    return [_entry(r, labels) for r in rows]


def entry_scope(w: Work, *, entry_id: int) -> tuple[int, int | None] | None:
    """(space id, firm id) of an entry, for the API's scope check; None: no such entry."""
    row = w.connection.execute(
        select(_E.c.space_id, _E.c.firm_id).where(_E.c.id == entry_id)
    ).first()
    return None if row is None else (int(row[0]), row[1])


def entries_outside(
    w: Work, *, entry_ids: Collection[int], space_ids: Collection[int] | None
) -> list[int]:
    """Of ``entry_ids``, those of a space outside ``space_ids`` (None: every space is in),
    in the order given: what an account granted those spaces may not put on a list."""
    if space_ids is None or not entry_ids:
        return []
    rows = w.connection.execute(
        select(_E.c.id).where(_E.c.id.in_(list(entry_ids)), _E.c.space_id.not_in(list(space_ids)))
    )
    outside = {int(r[0]) for r in rows}
    return [i for i in entry_ids if i in outside]


def entries_in_spaces(
    w: Work, *, entry_ids: Collection[int], space_ids: Collection[int]
) -> set[int]:
    """Of ``entry_ids``, those of an entry in one of ``space_ids``."""
    if not entry_ids or not space_ids:
        return set()
    rows = w.connection.execute(
        select(_E.c.id).where(_E.c.id.in_(list(entry_ids)), _E.c.space_id.in_(list(space_ids)))
    )
    return {int(r[0]) for r in rows}


def introduction_entries(w: Work, *, introduction_id: int) -> tuple[int, int] | None:
    """(need id, supply id) of an introduction; None: no such introduction. An introduction
    belongs to the spaces of its two entries."""
    row = w.connection.execute(
        select(_I.c.need_id, _I.c.supply_id).where(_I.c.id == introduction_id)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def refuse_outside(outside: Sequence[int]) -> None:
    """An entry outside the account's spaces is refused as if it did not exist (the same
    error as an id no entry has: a list is no way to learn of another space's entries)."""
    if outside:
        first = outside[0]
        raise InvalidInput("entry_ids", f"条目 {first} 不存在 / no entry {first}", first)


def _events(w: Work, subject: str, subject_id: int) -> list[dict[str, Any]]:
    rows = w.connection.execute(
        select(_EV)
        .where(_EV.c.subject == subject, _EV.c.subject_id == subject_id)
        .order_by(_EV.c.seq)
    )
    return [dict(r._mapping) for r in rows]


def _timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("seq", "action", "from_status", "to_status", "actor", "reason", "data")
    return [{**{k: e[k] for k in keys}, "at": e["occurred_at"].isoformat()} for e in events]


def entry(w: Work, *, entry_id: int) -> dict[str, Any]:
    """One entry with its timeline, the files it carries and its introductions."""
    row = w.connection.execute(_ENTRY_VIEW.where(_E.c.id == entry_id)).first()
    if row is None:
        raise NotFound("opportunity_entry", entry_id)
    out = _entry(row, _labels(w, {row.space_id}))
    events = _events(w, "entry", entry_id)
    out["timeline"] = _timeline(events)
    out["attachments"] = db_opportunities.carried_files([e["data"] for e in events])
    out["introductions"] = introductions(w, entry_id=entry_id)
    return out


def entry_attachment(w: Work, *, entry_id: int, sha256: str) -> dict[str, Any]:
    """One file an entry carries (name, type, size, SHA-256): only a file its chain recorded
    is ever served, whatever else the file store holds."""
    for item in db_opportunities.carried_files([e["data"] for e in _events(w, "entry", entry_id)]):
        if item["sha256"] == sha256:
            return item
    raise NotFound("attachment", sha256)


def introductions(
    w: Work, *, entry_id: int | None = None, firm_id: int | None = None
) -> list[dict[str, Any]]:
    """Introductions of an entry, or of any entry of a firm (both sides), newest first."""
    need, supply = _E.alias("need"), _E.alias("supply")
    fn, fs = _F.alias("need_firm"), _F.alias("supply_firm")
    stmt = (
        select(
            _I,
            need.c.title.label("need_title"),
            supply.c.title.label("supply_title"),
            fn.c.name.label("need_firm"),
            fs.c.name.label("supply_firm"),
        )
        .join(need, need.c.id == _I.c.need_id)
        .join(supply, supply.c.id == _I.c.supply_id)
        .outerjoin(fn, fn.c.id == need.c.firm_id)
        .outerjoin(fs, fs.c.id == supply.c.firm_id)
        .order_by(_I.c.id.desc())
    )
    if entry_id is not None:
        stmt = stmt.where((_I.c.need_id == entry_id) | (_I.c.supply_id == entry_id))
    if firm_id is not None:
        stmt = stmt.where((need.c.firm_id == firm_id) | (supply.c.firm_id == firm_id))
    out = []
    for r in w.connection.execute(stmt):
        item = {k: _iso(v) for k, v in r._mapping.items()}
        item["outcome_label"] = opp.OUTCOMES.get(item["outcome"], item["outcome"])
        out.append(item)
    return out


def lists(w: Work, *, published_only: bool = False) -> list[dict[str, Any]]:
    """The numbered lists, newest first, with how many entries each holds."""
    counted = select(_E.c.list_id, func.count()).where(_E.c.list_id.is_not(None))
    counts: dict[int, int] = {
        int(list_id): int(n) for list_id, n in w.connection.execute(counted.group_by(_E.c.list_id))
    }
    stmt = select(_L).order_by(_L.c.number.desc())
    if published_only:
        stmt = stmt.where(_L.c.status == opp.LIST_PUBLISHED)
    out = []
    for r in w.connection.execute(stmt):
        row = dict(r._mapping)
        out.append(
            {
                "number": row["number"],
                "title": row["title"],
                "status": row["status"],
                "entries": counts.get(row["id"], 0),
                "content_hash": row["content_hash"],
                "published_at": None
                if row["published_at"] is None
                else row["published_at"].isoformat(),
            }
        )
    return out


def _list_row(w: Work, number: int) -> dict[str, Any]:
    row = w.connection.execute(select(_L).where(_L.c.number == number)).first()
    if row is None:
        raise NotFound("opportunity_list", number)
    return dict(row._mapping)


def list_detail(
    w: Work, *, number: int, space_ids: Collection[int] | None = None
) -> dict[str, Any]:
    """A list for staff: a draft's entries in order (contact details included), or a
    published list's frozen content; its timeline either way. ``space_ids``: an account
    granted those spaces only sees a draft's entries of its own spaces (a draft carries every
    entry's contact details, published or not); None: every entry (an admin)."""
    row = _list_row(w, number)
    out = {
        "number": row["number"],
        "title": row["title"],
        "status": row["status"],
        "content_hash": row["content_hash"],
        "published_at": None if row["published_at"] is None else row["published_at"].isoformat(),
        "timeline": _timeline(_events(w, "list", row["id"])),
    }
    if row["status"] == opp.LIST_PUBLISHED:
        out["items"] = row["content"]["items"]
    else:
        found = list(
            w.connection.execute(
                _ENTRY_VIEW.where(_E.c.list_id == row["id"]).order_by(_E.c.position)
            )
        )
        labels = _labels(w, {r.space_id for r in found})
        out["items"] = [
            {**_entry(r, labels), "n": n}
            for n, r in enumerate(found, start=1)
            if space_ids is None or r.space_id in space_ids
        ]
    return out


def with_unseen(
    w: Work, *, number: int, entry_ids: Sequence[int], space_ids: Collection[int] | None
) -> tuple[int, ...]:
    """A draft as an account granted ``space_ids`` arranged it (``entry_ids``), then the
    draft's entries of other spaces, in their order: it was not shown them
    (:func:`list_detail`), so it cannot have left them out knowingly. A published list or an
    account granted every space (None): ``entry_ids`` as they are."""
    ids = tuple(entry_ids)
    if space_ids is None:
        return ids
    row = _list_row(w, number)
    if row["status"] == opp.LIST_PUBLISHED:
        return ids
    kept = w.connection.execute(
        select(_E.c.id)
        .where(_E.c.list_id == row["id"], _E.c.space_id.not_in(list(space_ids)))
        .order_by(_E.c.position)
    ).scalars()
    return ids + tuple(i for i in kept if i not in ids)


def public_list(w: Work, *, number: int) -> dict[str, Any]:
    """A published list as anyone may see it (a draft, or no list, is not found): its frozen
    content, whose items carry contact details only where the entry allowed them."""
    row = w.connection.execute(
        select(_L).where(_L.c.number == number, _L.c.status == opp.LIST_PUBLISHED)
    ).first()
    if row is None:
        raise NotFound("opportunity_list", number)
    content = dict(row.content)
    return {**content, "content_hash": row.content_hash}


def verify_list(w: Work, *, number: int) -> dict[str, Any]:
    """Whether a list's chain holds and, once published, whether its content still hashes to
    what its publish event recorded."""
    row = _list_row(w, number)
    events = _events(w, "list", row["id"])
    problems = opp.verify_chain(events)
    if row["status"] == opp.LIST_PUBLISHED:
        problems += audit.published_list_problems(row, events)
    for entry_id in w.connection.execute(
        select(_E.c.id).where(_E.c.list_id == row["id"])
    ).scalars():
        problems += opp.verify_chain(_events(w, "entry", int(entry_id)))
    return {"number": number, "ok": not problems, "problems": problems}


def verify_chains(w: Work) -> dict[str, Any]:
    """Every opportunity chain (entries, lists, introductions) recomputed, and every published
    list's content checked against the hash its publish event recorded (``audit verify``
    runs the same check)."""
    return audit.verify_opportunities(w.connection).to_dict()


# ---- matching ---------------------------------------------------------------------------------
def suggestions(w: Work, *, entry_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """For a need, the supplies that match it best (for a supply, the needs): accepted, listed
    or published entries still valid, of other firms, ranked by BM25 over jieba's words."""
    me = entry(w, entry_id=entry_id)
    other = opp.SUPPLY if me["kind"] == opp.NEED else opp.NEED
    stmt = _ENTRY_VIEW.where(
        _E.c.kind == other,
        _E.c.status.in_([opp.ACCEPTED, opp.LISTED, opp.PUBLISHED]),
        _E.c.valid_until >= w.today,
    )
    found = list(w.connection.execute(stmt))
    labels = _labels(w, {r.space_id for r in found} | {me["space_id"]})
    candidates = {
        r.id: _entry(r, labels)
        for r in found
        if me["firm_id"] is None or r.firm_id != me["firm_id"]
    }
    docs = {i: matching.tokens(matching.document(e, e["field_zh"])) for i, e in candidates.items()}
    query = matching.tokens(matching.document(me, me["field_zh"]))
    ranked = matching.rank(query, docs, limit)
    keys = ("id", "kind", "kind_zh", "title", "space", "firm", "field_zh", "status")
    return [
        {**{k: candidates[i][k] for k in keys}, "score": score, "shared_words": shared}
        for i, score, shared in ranked
    ]


# ---- the review metric ------------------------------------------------------------------------
def cooperation(w: Work, *, firm_id: int, year: int) -> dict[str, int]:
    """A firm's part in the opportunity lists in a year (the review's ``cooperation`` fact):
    its entries on lists published that year, and its introductions that ended in a deal that
    year (both sides count)."""
    read = repositories.cooperation(w.connection, [firm_id], *veto_facts.period_bounds(year))
    return read[firm_id]


# ---- land -------------------------------------------------------------------------------------
def parcels(w: Work, *, space: str | None = None) -> list[dict[str, Any]]:
    stmt = (
        select(_P, _S.c.code.label("space"))
        .join(_S, _S.c.id == _P.c.space_id)
        .order_by(_S.c.code, _P.c.parcel_code)
    )
    if space is not None:
        stmt = stmt.where(_S.c.code == space)
    out = []
    for r in w.connection.execute(stmt):
        row = {k: _iso(v) for k, v in r._mapping.items() if k not in ("created_at", "updated_at")}
        row["land_area_mu"] = round(row["land_area_m2"] / MU_M2, 2)
        out.append(row)
    return out
