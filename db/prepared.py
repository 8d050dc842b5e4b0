"""Statements compiled once, run on the connection's driver: the single-command hot path.

A command runs the same dozen small statements every time (load the tenancy, append the audit
event, queue the notice, ...). Through ``Connection.execute`` each costs SQLAlchemy's
per-execution work — cache-key generation, an execution context, parameter and result objects —
which on SQLite is ten times the statement itself (about 40 µs against 3 µs here). A
:class:`Prepared` statement keeps everything SQLAlchemy decides once: the SQL it compiles for
the engine's dialect (from the table metadata, so no SQL is written by hand), the order of the
parameters, each column type's bind and result processors and the columns' Python defaults.
Running it hands ready parameters to the driver's cursor through the dialect's ``do_execute``,
inside the same transaction as the session's ORM work, at about twice the bare statement's
cost. SQLAlchemy's exception types still apply (a driver error is wrapped as
``exec_driver_sql`` would wrap it), and whenever something watches statements — SQL echo, or
listeners on statements or their errors — the statement goes through
``Connection.exec_driver_sql`` instead, so that they see it.

Only what a compiled statement can hold is supported: no expanding ``IN`` and no
literal-rendered parameters (both are rendered per execution).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary, ref

from sqlalchemy import Connection, CursorResult, Dialect, Insert, Update, exc, inspect
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeDecorator

Processor = Callable[[Any], Any]
_Processing = tuple[tuple[int, Processor], ...]  # (position, processor) where there is one


@dataclass(frozen=True)
class _Form:
    """A statement as compiled for one dialect, with what running it needs."""

    sql: str
    names: tuple[str, ...]  # the bound parameters, in the order the SQL takes them
    positional: bool
    processors: tuple[Processor | None, ...]  # per name
    fixed: Mapping[str, Any]  # values compiled into the statement's own binds (LIMIT 1)
    defaults: Mapping[str, Callable[[], Any]]  # INSERT: column defaults for absent keys
    columns: tuple[Any, ...]  # SELECT/RETURNING: the result columns (for their types)
    processed: tuple[tuple[int, Processor], ...] = ()  # (position, processor) where there is one

    def __post_init__(self) -> None:
        processed = tuple((i, p) for i, p in enumerate(self.processors) if p is not None)
        object.__setattr__(self, "processed", processed)


class Prepared:
    """A Core statement compiled once per dialect (and, for INSERT/UPDATE, per set of given
    keys), executed with the parameters already in the driver's form.

    ``execute`` returns the driver-level result (``rowcount``); ``first`` and ``all`` return
    rows as tuples, each value processed by its column type as SQLAlchemy would.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._dml = isinstance(statement, (Insert, Update))
        self._forms: dict[tuple[str, frozenset[str] | None], _Form] = {}
        # (position, processor) of each result column whose type processes values
        self._results: dict[tuple[str, frozenset[str] | None], _Processing] = {}

    def form(self, dialect: Dialect, keys: Sequence[str] = ()) -> _Form:
        key = (dialect.name, frozenset(keys) if self._dml else None)
        found = self._forms.get(key)
        if found is None:
            found = self._forms[key] = _compile(self.statement, dialect, key[1])
        return found

    def execute(self, connection: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """Run the statement; the driver-level result (``rowcount``, ``fetchone()``,
        ``description``) comes back.

        Inside a transaction it runs with :func:`driver_execute`: on the driver's cursor,
        unless something watches statements. Outside one, ``Connection.exec_driver_sql``
        begins a transaction first, as SQLAlchemy always does.
        """
        params = params or {}
        dialect = connection.dialect
        form = self.form(dialect, tuple(params))
        values = _bind(form, params)
        if not connection.in_transaction():  # SQLAlchemy begins one
            return connection.exec_driver_sql(form.sql, values)
        return driver_execute(connection, form.sql, values)

    def all(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list[tuple]:
        result = self.execute(connection, params)
        processors = self._result_processors(connection.dialect, result, params)
        rows = result.fetchall()
        result.close()
        if not processors:
            return [tuple(row) for row in rows]
        return [_processed(row, processors) for row in rows]

    def first(
        self, connection: Connection, params: Mapping[str, Any] | None = None
    ) -> tuple | None:
        result = self.execute(connection, params)
        processors = self._result_processors(connection.dialect, result, params)
        row = result.fetchone()
        result.close()
        return None if row is None else _processed(row, processors)

    def _result_processors(
        self, dialect: Dialect, result: Any, params: Mapping[str, Any] | None
    ) -> _Processing:
        key = (dialect.name, frozenset(params or ()) if self._dml else None)
        found = self._results.get(key)
        if found is None:
            # The driver's type codes are known once a cursor has run (PostgreSQL's numeric
            # processors depend on them); SQLite gives none.
            form = self._forms[key]
            cursor = result.cursor if isinstance(result, CursorResult) else result
            processors = (
                column.type.dialect_impl(dialect).result_processor(dialect, description[1])
                for column, description in zip(form.columns, cursor.description, strict=True)
            )
            found = self._results[key] = tuple(
                (i, p) for i, p in enumerate(processors) if p is not None
            )
        return found


def driver_execute(connection: Connection, sql: str, params: Any = ()) -> Any:
    """Run ``sql`` on the connection's driver cursor and return the cursor, unless something
    watches statements: with SQL echo on, or listeners on statements or their errors, it goes
    through ``Connection.exec_driver_sql`` instead (whose result then comes back).

    A driver error is raised as SQLAlchemy's exception type (``IntegrityError``,
    ``OperationalError``, ...), as ``exec_driver_sql`` would, and a lost or interrupted
    connection is invalidated (the pool's other connections are checked on their next
    checkout: ``pool_pre_ping`` on PostgreSQL).
    """
    if _watched(connection):
        return connection.exec_driver_sql(sql, params)
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None  # checked out, so connected
    cursor = None
    try:
        cursor = dbapi_connection.cursor()
        dialect.do_execute(cursor, sql, params, None)
    except dialect.loaded_dbapi.Error as err:
        if cursor is not None:
            cursor.close()
        disconnected = dialect.is_disconnect(err, dbapi_connection, cursor)
        wrapped = exc.DBAPIError.instance(
            sql,
            params,
            err,
            dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,
            dialect=dialect,
            ismulti=False,
            connection_invalidated=disconnected,
        )
        if disconnected:
            connection.invalidate(err)
        raise wrapped from err
    except BaseException as interrupt:
        if not isinstance(interrupt, Exception):
            # Interrupted mid-statement (Ctrl-C, a timeout): the connection's state is
            # unknown, so it is not reused, as SQLAlchemy does.
            connection.invalidate(interrupt)
        raise
    return cursor


def _watched(connection: Connection) -> bool:
    """Whether anything watches the statements run on ``connection``: SQL echo, or listeners
    on statements, their execution or their errors. Asked once per checked-out connection (a
    command's), so a listener added while a connection is in use applies from its next
    checkout."""
    global _LAST_WATCHED
    last, flag = _LAST_WATCHED
    if last() is connection:  # the same command's connection as the statement before
        return flag
    found = _WATCHED.get(connection)
    if found is None:
        dispatch = connection.dispatch
        found = _WATCHED[connection] = bool(
            connection.engine.logger.isEnabledFor(logging.INFO)
            or dispatch.before_execute
            or dispatch.before_cursor_execute
            or dispatch.after_cursor_execute
            or dispatch.after_execute
            or connection.dialect.dispatch.do_execute
            or connection.dialect.dispatch.handle_error
        )
    _LAST_WATCHED = (ref(connection), found)  # one assignment: safe to share between threads
    return found


_WATCHED: WeakKeyDictionary[Connection, bool] = WeakKeyDictionary()
_LAST_WATCHED: tuple[Callable[[], Connection | None], bool] = (lambda: None, False)


def _compile(statement: ClauseElement, dialect: Dialect, keys: frozenset[str] | None) -> _Form:
    kw: dict[str, Any] = {}
    if keys is not None:
        kw["column_keys"] = sorted(keys)
    compiled = statement.compile(dialect=dialect, **kw)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a prepared statement cannot hold parameters rendered per execution")
    binds = compiled.binds
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(binds)
    processors = tuple(_bind_processor(binds[name].type, dialect) for name in names)
    fixed = {name: bp.value for name, bp in binds.items() if not bp.required}
    defaults: dict[str, Callable[[], Any]] = {}
    if isinstance(statement, Insert) and keys is not None:
        for column in statement.table.c:  # type: ignore[attr-defined]
            default = column.default
            if column.key in keys or default is None or column.key not in binds:
                continue
            if default.is_scalar:
                defaults[column.key] = (lambda v: lambda: v)(default.arg)
            elif default.is_callable:
                defaults[column.key] = (lambda fn: lambda: fn(None))(default.arg)
    if isinstance(statement, (Insert, Update)):
        columns = tuple(compiled.effective_returning or ())
    else:
        columns = tuple(getattr(statement, "selected_columns", ()))
    return _Form(
        sql=compiled.string,
        names=names,
        positional=compiled.positional,
        processors=processors,
        fixed=fixed,
        defaults=defaults,
        columns=columns,
    )


def _bind_processor(type_: Any, dialect: Dialect) -> Processor | None:
    processor = type_.dialect_impl(dialect).bind_processor(dialect)
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    try:
        instants = issubclass(base.python_type, datetime)
    except NotImplementedError:  # a type that does not say
        instants = False
    return _instants_memoized(processor) if instants else processor


def _instants_memoized(processor: Processor | None) -> Processor | None:
    """``processor``, remembering its last datetime: a command stamps most of its rows with
    the same instant (its clock's ``now``), converted once instead of once per statement.
    Datetimes are immutable, so the same object always converts to the same value."""
    if processor is None:
        return None
    last: list[tuple[Any, Any]] = [(None, None)]

    def process(value: Any) -> Any:
        seen, converted = last[0]
        if value is seen and value is not None:
            return converted
        converted = processor(value)
        if type(value) is datetime:
            last[0] = (value, converted)  # one assignment: safe to share between threads
        return converted

    return process


def _bind(form: _Form, params: Mapping[str, Any]) -> Any:
    try:
        values = [params[name] for name in form.names]
    except KeyError:
        values = [_default(form, name, params) for name in form.names]
    for i, processor in form.processed:
        values[i] = processor(values[i])
    if form.positional:
        return tuple(values)
    return dict(zip(form.names, values, strict=True))


def _default(form: _Form, name: str, params: Mapping[str, Any]) -> Any:
    if name in params:
        return params[name]
    if name in form.defaults:
        return form.defaults[name]()
    if name in form.fixed:
        return form.fixed[name]
    raise exc.ArgumentError(f"prepared statement: no value for {name!r}")


def _processed(row: Sequence[Any], processors: _Processing) -> tuple:
    out = list(row)
    for i, processor in processors:
        if out[i] is not None:
            out[i] = processor(out[i])
    return tuple(out)


def attach(session: Session, model: type[Any], values: Mapping[str, Any]) -> Any:
    """The persistent object for a row read with a prepared statement (keyed by column name).

    As the ORM's loader does: the object already in the session's identity map wins (it may
    hold this command's changes); otherwise a new instance gets the values as its loaded
    state, with no history, and joins the session as persistent.
    """
    mapper = _mapper(model)
    identity = session.identity_map.get(
        mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    )
    if identity is not None:
        return identity
    obj = _loaded(mapper, values)
    session.add(obj)
    return obj


def detached(loaded: dict[Any, Any], model: type[Any], values: Mapping[str, Any]) -> Any:
    """:func:`attach` without a session: ``loaded`` (identity key -> object) stands in for its
    identity map. The object is detached, with the values as its loaded state; adding it to
    a session later makes it persistent, with whatever was changed on it since."""
    mapper = _mapper(model)
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    obj = loaded.get(key)
    if obj is None:
        obj = loaded[key] = _loaded(mapper, values)
    return obj


def _mapper(model: type[Any]) -> Any:
    mapper = _CONFIGURED.get(model)
    if mapper is None:  # the ORM configures mappers on first query; no query ran
        configure_mappers()
        mapper = _CONFIGURED[model] = inspect(model)
    return mapper


def _loaded(mapper: Any, values: Mapping[str, Any]) -> Any:
    obj = mapper.class_manager.new_instance()
    instance_state(obj).dict.update(values)
    make_transient_to_detached(obj)
    return obj


_CONFIGURED: dict[type[Any], Any] = {}  # model -> its mapper, once configured
