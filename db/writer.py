"""The one writer: a command's :class:`~db.effects.Effects`, or a chunk of them, into the tables.

Every effect goes in through SQLAlchemy Core on the unit of work's connection, in the
command's (or the chunk's) transaction, so the state, the version, the audit events, the
rows, the deadlines and the notices are committed together or not at all. Many effects are
written with one ``executemany`` per statement shape; one command's effects are the same
statements with one parameter set. The order is fixed:

1. the tenancies: a versioned UPDATE each (``WHERE version = seen``); a row not matched is
   a concurrent change, :class:`~lifecycle.errors.StaleTenancy`; a tenancy the effects
   create (``Effects.created``) is inserted, with the id it was decided with;
2. new rows (reviews, rectifications, exit cases, ...), ``RETURNING id`` so that later
   effects naming them (a deadline's subject, a dedupe key) get their ids;
3. updates of existing rows by id, then deletions by primary key;
4. deadlines cancelled, then deadlines added (``ON CONFLICT (dedupe_key) DO NOTHING``);
5. audit events (a clash on ``(tenancy_id, seq)`` means someone appended first: stale);
6. notices into the outbox (a clash on the dedupe key: the notice already exists).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from db import (
    tables_cycles,  # noqa: F401 - registers cycle_jobs, figure_drafts
    tables_http,  # noqa: F401 - registers idempotency_keys on ALL_TABLES
)
from db.effects import Effects, Ref, RefKey, Rows
from db.tables import ALL_TABLES
from db.types import UTCDateTime
from lifecycle.errors import AlreadyExists, StaleTenancy


def table(name: str) -> Table:
    return ALL_TABLES.tables[name]


TENANCIES = table("tenancies")
DEADLINES = table("deadlines")
AUDIT = table("audit_events")
OUTBOX = table("outbox")

_DEADLINE_COLUMNS = [c for c in DEADLINES.c if c.name != "id"]
# A deadline's dedupe key makes adding it twice a no-op; ``ON CONFLICT (...) DO NOTHING``
# reads the same on SQLite and PostgreSQL.
INSERT_DEADLINE = text(
    f"INSERT INTO {DEADLINES.name} ({', '.join(c.name for c in _DEADLINE_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c.name for c in _DEADLINE_COLUMNS)}) "
    "ON CONFLICT (dedupe_key) DO NOTHING"
).bindparams(*(bindparam(c.name, type_=c.type) for c in _DEADLINE_COLUMNS))
INSERT_AUDIT = insert(AUDIT)
INSERT_TENANCY = insert(TENANCIES)
INSERT_OUTBOX = insert(OUTBOX)
# Built once: building a statement costs about as much as running it. No SET clause in the
# UPDATEs: Core takes it from the keys of the parameters (the columns written).
UPDATE_TENANCY = update(TENANCIES).where(
    TENANCIES.c.id == bindparam("key_id"), TENANCIES.c.version == bindparam("key_version")
)
INSERT_RETURNING_ID = {
    t.name: insert(t).returning(t.c.id, sort_by_parameter_order=True)
    for t in ALL_TABLES.sorted_tables
    if "id" in t.c
}
# Tables keyed otherwise (a calendar day, a year): inserted without RETURNING, updated by key.
_MAX_ID = {
    t.name: select(func.coalesce(func.max(t.c.id), 0))
    for t in ALL_TABLES.sorted_tables
    if "id" in t.c
}
INSERT_PLAIN = {t.name: insert(t) for t in ALL_TABLES.sorted_tables if "id" not in t.c}
UPDATE_BY_ID = {
    t.name: update(t).where(t.primary_key.columns[0] == bindparam("key_id"))
    for t in ALL_TABLES.sorted_tables
    if len(t.primary_key.columns) == 1
}
DELETE_BY_KEY = {
    t.name: delete(t).where(*(c == bindparam(f"key_{c.name}") for c in t.primary_key.columns))
    for t in ALL_TABLES.sorted_tables
}
CANCEL_DEADLINES = (
    update(DEADLINES)
    .where(
        DEADLINES.c.tenancy_id.in_(bindparam("ids", expanding=True)),
        DEADLINES.c.status == "pending",
        DEADLINES.c.kind.in_(bindparam("kinds", expanding=True)),
    )
    .values(status="cancelled", done_at=bindparam("done_at"))
)

#: One tenancy's (a single command): by id, the kinds as that many plain parameters. An
#: expanding ``IN`` is rendered anew at every execution, which costs more than the UPDATE.
CANCEL_ONE_TENANCY = tuple(
    update(DEADLINES)
    .where(
        DEADLINES.c.tenancy_id == bindparam("key_tenancy_id"),
        DEADLINES.c.status == "pending",
        DEADLINES.c.kind.in_([bindparam(f"kind_{i}") for i in range(n)]),
    )
    .values(status="cancelled", done_at=bindparam("done_at"))
    for n in range(1, 9)
)


def write(conn: Connection, effects: Sequence[Effects]) -> None:
    """Write ``effects`` (one command's, or a chunk's) in the connection's transaction."""
    write_tenancies(conn, [e for e in effects if e.moved])
    write_rows(conn, effects)
    cancels: dict[tuple[str, ...], list[int]] = {}
    for e in effects:
        for kinds in e.cancels:
            cancels.setdefault(kinds, []).append(e.tenancy.id)
    for kinds, ids in cancels.items():
        cancel_deadlines(conn, ids, kinds, effects[0].now)
    add_deadlines(conn, [d for e in effects for d in e.deadlines])
    add_events(conn, [ev for e in effects for ev in e.events])
    add_notices(conn, [n for e in effects for n in e.notices])


def write_rows(conn: Connection, effects: Sequence[Rows]) -> None:
    """The new rows (by table, in the order tables first appear), the updates by id and the
    deletions by primary key."""
    for ref_rows in _by_table(ref for e in effects for ref in e.inserts).values():
        insert_rows(conn, ref_rows)
    updates: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for e in effects:
        for name, row_id, values in e.updates:
            row = {**_resolved(values), "key_id": row_id}
            updates.setdefault((name, tuple(row)), []).append(row)
    for (name, _), rows in updates.items():
        update_rows(conn, name, rows)
    deletes: dict[str, list[dict[str, Any]]] = {}
    for e in effects:
        for name, key in e.deletes:
            deletes.setdefault(name, []).append({f"key_{k}": v for k, v in key.items()})
    for name, keys in deletes.items():
        conn.execute(DELETE_BY_KEY[name], keys)


def _by_table(
    inserts: Iterable[tuple[Ref, dict[str, Any]]],
) -> dict[str, list[tuple[Ref, dict[str, Any]]]]:
    out: dict[str, list[tuple[Ref, dict[str, Any]]]] = {}
    for ref, values in inserts:
        out.setdefault(ref.table, []).append((ref, values))
    return out


def write_tenancies(conn: Connection, effects: Sequence[Effects]) -> None:
    """The versioned UPDATE of each tenancy; StaleTenancy names the first that moved on.
    A created tenancy is inserted."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for e in effects:
        if e.created:
            _create_tenancy(conn, e)
            continue
        values = e.tenancy_values()
        values["key_id"], values["key_version"] = e.tenancy.id, e.seen_version
        groups.setdefault(tuple(values), []).append(values)
    for rows in groups.values():
        if len(rows) >= SHARED_MIN:
            count = _driver_update(conn, TENANCIES, rows, ("id", "version"))
        else:
            count = int(conn.execute(UPDATE_TENANCY, rows).rowcount)
        if count != len(rows):
            _stale(conn, rows)


def _create_tenancy(conn: Connection, effects: Effects) -> None:
    try:
        conn.execute(INSERT_TENANCY, effects.tenancy_row())
    except IntegrityError as err:
        raise AlreadyExists("tenancy", _first_line(err)) from err


def _stale(conn: Connection, rows: list[dict[str, Any]]) -> None:
    # The rows written carry the chain head we wrote; the first one that does not moved on.
    found = conn.execute(
        select(TENANCIES.c.id, TENANCIES.c.version, TENANCIES.c.audit_head).where(
            TENANCIES.c.id.in_([r["key_id"] for r in rows])
        )
    )
    current = {tenancy_id: (version, head) for tenancy_id, version, head in found}
    for r in rows:
        now = current.get(r["key_id"])
        if now is None or now[1] != r["audit_head"] or now[0] != r["version"]:
            raise StaleTenancy(r["key_id"], r["key_version"], None if now is None else now[0])
    raise StaleTenancy(rows[0]["key_id"], rows[0]["key_version"], None)


def insert_rows(conn: Connection, rows: Sequence[tuple[Ref, dict[str, Any]]]) -> None:
    """Insert new rows of one table; each :class:`Ref` gets its row's id."""
    t = table(rows[0][0].table)
    for group in _grouped_refs(rows):
        params = [_resolved(values) for _, values in group]
        try:
            if t.name in INSERT_PLAIN:  # no id to hand back
                conn.execute(INSERT_PLAIN[t.name], params)
                continue
            if (
                len(params) >= SHARED_MIN
                and conn.dialect.name == "sqlite"
                and not t.dialect_options["sqlite"]["autoincrement"]
                and "id" not in group[0][1]
            ):
                _sqlite_insert_with_ids(conn, t, group, params)
                continue
            result = conn.execute(INSERT_RETURNING_ID[t.name], params)
        except IntegrityError as err:
            raise AlreadyExists(t.name, _first_line(err)) from err
        for (ref, _), new_id in zip(group, result.scalars(), strict=True):
            ref.id = int(new_id)


def _sqlite_insert_with_ids(
    conn: Connection,
    t: Table,
    group: Sequence[tuple[Ref, dict[str, Any]]],
    params: Sequence[dict[str, Any]],
) -> None:
    """Many new rows of one table on SQLite, with the ids SQLite would give them.

    SQLite cannot say in which order ``INSERT ... RETURNING`` hands back the ids of many rows,
    so SQLAlchemy inserts them one statement each (``sort_by_parameter_order``). Without
    AUTOINCREMENT a new row gets the largest id plus one, and every write transaction there
    is ``BEGIN IMMEDIATE`` (:mod:`db.engine`), so none can take one meanwhile: the rows get
    those ids here and go in with one ``executemany`` (the same reasoning as
    :class:`db.repositories.CoreIds`)."""
    largest = int(conn.execute(_MAX_ID[t.name]).scalar_one())
    rows = [{"id": largest + i, **p} for i, p in enumerate(params, start=1)]
    _driver_insert(conn, t, rows)
    for (ref, _), row in zip(group, rows, strict=True):
        ref.id = row["id"]


def _grouped_refs(
    rows: Sequence[tuple[Ref, dict[str, Any]]],
) -> list[list[tuple[Ref, dict[str, Any]]]]:
    groups: dict[tuple[str, ...], list[tuple[Ref, dict[str, Any]]]] = {}
    for ref, values in rows:
        groups.setdefault(tuple(values), []).append((ref, values))
    return list(groups.values())


def update_row(conn: Connection, name: str, row_id: int, values: Mapping[str, Any]) -> None:
    update_rows(conn, name, [{**_resolved(dict(values)), "key_id": row_id}])


def update_rows(conn: Connection, name: str, rows: list[dict[str, Any]]) -> None:
    """UPDATE rows of one table by id (``key_id``: its primary key), all with the same
    columns."""
    if len(rows) >= SHARED_MIN and "id" in table(name).c:
        _driver_update(conn, table(name), rows, ("id",))
    else:
        conn.execute(UPDATE_BY_ID[name], rows)


def cancel_deadlines(
    conn: Connection, tenancy_ids: Sequence[int], kinds: Sequence[str], now: Any
) -> int:
    """Cancel the pending deadlines of these kinds of these tenancies; how many were."""
    if len(tenancy_ids) == 1 and 0 < len(kinds) <= len(CANCEL_ONE_TENANCY):
        params: dict[str, Any] = {f"kind_{i}": kind for i, kind in enumerate(kinds)}
        params.update(key_tenancy_id=tenancy_ids[0], done_at=now)
        done = conn.execute(CANCEL_ONE_TENANCY[len(kinds) - 1], params)
    else:
        done = conn.execute(
            CANCEL_DEADLINES, {"ids": list(tenancy_ids), "kinds": list(kinds), "done_at": now}
        )
    return int(done.rowcount)


def add_deadlines(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Add deadlines; one whose dedupe key exists already is left as it is. How many were."""
    if not rows:
        return 0
    keyed = [_keyed(r) for r in rows]
    if len(keyed) < SHARED_MIN:
        return int(conn.execute(INSERT_DEADLINE, keyed).rowcount)
    return _driver_insert(conn, DEADLINES, keyed, " ON CONFLICT (dedupe_key) DO NOTHING")


def add_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    try:
        if len(rows) >= SHARED_MIN:
            _driver_insert(conn, AUDIT, rows)
        else:
            conn.execute(INSERT_AUDIT, list(rows))
    except IntegrityError as err:
        # Someone else appended to this tenancy's chain first: (tenancy_id, seq) is unique.
        raise StaleTenancy(rows[0]["tenancy_id"], None, None) from err


def add_notices(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    try:
        keyed = [_keyed(r) for r in rows]
        if len(keyed) >= SHARED_MIN:
            _driver_insert(conn, OUTBOX, keyed)
        else:
            conn.execute(INSERT_OUTBOX, keyed)
    except IntegrityError as err:
        raise AlreadyExists("notice", _first_line(err)) from err


def _keyed(row: dict[str, Any]) -> dict[str, Any]:
    """A deadline or notice row with its subject and dedupe key resolved (the only columns
    that may name a row the same effects insert)."""
    subject, key = row.get("subject_id"), row["dedupe_key"]
    if type(subject) is not Ref and type(key) is not RefKey:
        return row
    row = dict(row)
    if type(subject) is Ref:
        row["subject_id"] = subject.id
    if type(key) is RefKey:
        row["dedupe_key"] = key.resolve()
    return row


def _resolved(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every :class:`Ref` replaced by its id and every RefKey by its text."""
    out = values
    for key, value in values.items():
        if isinstance(value, Ref):
            out = dict(out) if out is values else out
            out[key] = value.id
        elif isinstance(value, RefKey):
            out = dict(out) if out is values else out
            out[key] = value.resolve()
    return out


def _first_line(err: IntegrityError) -> str:
    return str(err.orig).splitlines()[0] if err.orig is not None else "unique constraint"


# ---- many rows: SQL text rendered once per dialect, rows converted once ---------------------
#: From this many rows on (a chunk of the batch path), a statement runs as SQL text the writer
#: renders for the connection's dialect, with each row's values converted by the columns' own
#: bind processors (``TypeEngine.bind_processor``) and handed to the driver's ``executemany``
#: through ``Connection.exec_driver_sql``: the same values SQLAlchemy would send, without its
#: per-row parameter bookkeeping. One command's few rows take the Core statements above.
SHARED_MIN = 8
_TEMPORAL = (Date, DateTime, UTCDateTime)


def _placeholders(conn: Connection, n: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * n)


def _converted(
    conn: Connection, t: Table, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    dialect = conn.dialect
    procs = [
        _memoized(t.c[k], t.c[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in keys
    ]
    # Column by column: one list per column, converted with ``map``, then zipped into rows;
    # a generator per row costs more than the values it converts.
    columns = []
    for k, p in zip(keys, procs, strict=True):
        values = [r[k] for r in rows]
        columns.append(values if p is None else list(map(p, values)))
    return list(zip(*columns, strict=True)) if columns else [() for _ in rows]


def _memoized(column: Any, proc: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A date or time column's bind processor, remembering its results for this one statement:
    a chunk's timestamps are mostly the same few instants (``now``, a cohort's due dates), and
    converting one (to UTC, then to text on SQLite) costs more than looking it up. Equal
    dates and instants convert alike, so the cache changes no value sent."""
    if proc is None or not isinstance(column.type, _TEMPORAL):
        return proc
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            out = seen[value] = proc(value)
            return out

    return convert


def _insert_text(conn: Connection, t: Table, keys: Sequence[str], tail: str = "") -> str:
    q = conn.dialect.identifier_preparer.quote
    return (
        f"INSERT INTO {q(t.name)} ({', '.join(q(k) for k in keys)}) "
        f"VALUES ({_placeholders(conn, len(keys))}){tail}"
    )


def _driver_insert(
    conn: Connection, t: Table, rows: Sequence[Mapping[str, Any]], tail: str = ""
) -> int:
    keys = list(rows[0])
    done = conn.exec_driver_sql(_insert_text(conn, t, keys, tail), _converted(conn, t, keys, rows))
    return int(done.rowcount)


def _driver_update(
    conn: Connection, t: Table, rows: Sequence[Mapping[str, Any]], where: Sequence[str]
) -> int:
    """UPDATE by the ``key_<column>`` values of each row (``where``: those columns)."""
    q = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    keys = [k for k in rows[0] if not k.startswith("key_")]
    sql = (
        f"UPDATE {q(t.name)} SET {', '.join(f'{q(k)} = {mark}' for k in keys)} "
        f"WHERE {' AND '.join(f'{q(c)} = {mark}' for c in where)}"
    )
    values = _converted(conn, t, keys, rows)
    keyed = [v + tuple(r[f"key_{c}"] for c in where) for v, r in zip(values, rows, strict=True)]
    return int(conn.exec_driver_sql(sql, keyed).rowcount)
