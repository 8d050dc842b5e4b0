"""Engine factory: SQLite (WAL, foreign keys, BEGIN IMMEDIATE) or PostgreSQL (psycopg 3).

A connection given the execution option :data:`READ_ONLY` (``Service.query``'s units of
work) begins a deferred ``BEGIN`` on SQLite instead: it reads a WAL snapshot and takes no
write lock, so reads neither wait for the writer nor for each other (on PostgreSQL the
option changes nothing).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from lifecycle.errors import InnospaceError, InvalidInput, NotFound


# JSON columns are written and read with orjson (several times faster than the json module on
# the large decision traces the engine stores): compact UTF-8 text, keys as given.
def json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


json_loads = orjson.loads


def normalize_url(url: str) -> str:
    """Accept a bare path or ``sqlite:///...``/``postgresql://...``; pick the psycopg driver."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


#: ``scheme://user:password@`` in any text: what :func:`redact_passwords` hides (up to the last
#: "@" of the word: a password with an unescaped "@" is hidden whole).
#: The scheme is bounded (32 characters): unbounded, a long line without "://" would be
#: scanned again from every position (quadratic time); so is the password (1,024 characters:
#: unbounded, every "a://b:" of a long word without "@" scanned the rest of it again). One
#: slash is enough: a URL taken for a file name comes back with its "//" folded
#: ("postgresql:/u:pw@h/db", from ``Path``).
_PASSWORD_IN_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]{0,31}:/{1,2}[^\s:/@]{0,256}:)\S{0,1024}@")


def redact(url: str | URL) -> str:
    """A database URL as it may be shown or logged: the password as ``***``."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except Exception:  # not a URL SQLAlchemy can parse: hide what looks like a password
        return redact_passwords(str(url))
    return parsed.render_as_string(hide_password=True)


def redact_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it hidden."""
    return _PASSWORD_IN_URL.sub(r"\1***@", text)


class NoDatabase(NotFound):
    """The SQLite file named is not there (``create=False``): nothing is created."""

    def __init__(self, path: str, *, directory: str | None = None) -> None:
        missing = (
            f"（目录 {directory} 不存在 / its directory {directory} does not exist）"
            if directory
            else ""
        )
        InnospaceError.__init__(
            self,
            f"没有 innospace 数据库 / no innospace database at {path}{missing} — run "
            "`innospace init`",
            kind="database",
            key=path,
        )
        self.kind, self.key = "database", path


class NoDirectory(InvalidInput):
    """``init`` for a SQLite file whose directory does not exist."""

    def __init__(self, path: str, directory: str) -> None:
        InnospaceError.__init__(
            self,
            f"数据库目录 {directory} 不存在，无法创建 {path} / the directory {directory} does "
            f"not exist: cannot create {path}",
            field="database",
        )
        self.field, self.rule = "database", "directory must exist"


#: The connection execution option that marks a read-only transaction (see the module's doc).
READ_ONLY = "innospace_read_only"


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5, create: bool = True) -> Engine:
    """An engine for ``url``. ``create=False``: a SQLite file that does not exist is a
    :class:`NoDatabase` (and is not created)."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except Exception:  # SQLAlchemy raises ArgumentError (or ValueError) for garbage
        raise InvalidInput(
            "database url", "must be a path or an SQLAlchemy URL", redact_passwords(url)
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _check_file(parsed.database, create)
        _create_private(parsed.database)
        return _sqlite_engine(url, echo=echo)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
        )
        ping_when_idle(engine)
        return engine
    raise InvalidInput("database url", "only sqlite and postgresql are supported", redact(parsed))


#: A pooled PostgreSQL connection idle at least this long is pinged before it is used again.
IDLE_PING_SECONDS = 5.0
_IDLE_SINCE = "innospace_idle_since"


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Ping a pooled connection on checkout only when it has been idle ``idle_seconds``.

    ``pool_pre_ping`` pings on every checkout: one more round trip for each unit of work,
    a third of a page read's. A busy pool hands out connections used milliseconds ago, which
    a ping tells nothing new about; a connection that sat idle (the server restarted, a
    firewall dropped it) is pinged, and a dead one is replaced before the command sees it
    (SQLAlchemy's documented checkout-event recipe: raising ``DisconnectionError`` makes the
    pool connect afresh). A server that dies while the pool is busy fails that one unit of
    work (503, nothing written); SQLAlchemy then invalidates the pool's older connections.
    """

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < idle_seconds:
            return  # just connected, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error)) from error
        if not alive:
            raise exc.DisconnectionError("ping failed")


def _check_file(database: str | None, create: bool) -> None:
    """Refuse a SQLite file that is not there (unless ``create``) or whose directory is
    missing, naming the path; an in-memory or ``file:`` URI database is not checked."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    directory = path.parent
    if not directory.is_dir():
        if create:
            raise NoDirectory(database, str(directory))
        raise NoDatabase(database, directory=str(directory))
    if not create and not path.exists():
        raise NoDatabase(database)


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600): it holds firms' contact
    data. SQLite gives the WAL, shared-memory and journal files the main file's permissions,
    so they are 0600 too. An existing file keeps the permissions its operator gave it."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # a missing directory and the like: SQLite reports it when it connects
    os.close(fd)


#: Set on every SQLite connection. WAL lets readers run beside the one writer; NORMAL
#: synchronisation in WAL mode is durable across an application crash and syncs only at
#: checkpoints. A checkpoint copies the WAL back into the database inside the commit that
#: crosses ``wal_autocheckpoint`` pages: at 4,000 pages (16 MB of WAL) instead of SQLite's
#: 1,000, a page that commands keep rewriting (an index leaf, a busy table's last page) is
#: copied back once instead of four times, and a command pays for a checkpoint a quarter as
#: often (on the single-command benchmark: commit p99 from 5 ms to 0.2 ms, mean -15 %).
#: ``journal_size_limit`` gives the WAL file back to the disk after a checkpoint past 64 MB.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "foreign_keys=ON",
    "synchronous=NORMAL",
    "busy_timeout=30000",
    "wal_autocheckpoint=4000",
    "journal_size_limit=67108864",
)


#: SQLite connections kept open (and how many more may be open at once, closed after use).
SQLITE_POOL_SIZE = 16
SQLITE_POOL_OVERFLOW = 24


def _file_pool(url: URL) -> dict[str, Any]:
    """The pool's size for a SQLite file (QueuePool); an in-memory database keeps
    SQLAlchemy's own pool (one connection per thread), which takes no such arguments."""
    database = url.database or ""
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return {}
    return {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_OVERFLOW}


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    engine = create_engine(
        url,
        echo=echo,
        # Connections kept between uses: a new one costs the pragmas below. Beyond
        # SQLITE_POOL_SIZE connections in use at once (the API's thread pool at 8 concurrent
        # requests and more), the extra ones are opened and closed per use.
        **_file_pool(make_url(url)),
        connect_args={"timeout": 30},
        json_serializer=json_dumps,
        json_deserializer=json_loads,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the sqlite3 module) decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            # A read that never writes: a snapshot, no write lock (no wait on the writer,
            # none on other readers: the busy handler's sleeps were the tail of 8 readers).
            conn.exec_driver_sql("BEGIN")
            return
        # Take the write lock up front: two writers never deadlock on a lock upgrade
        # (SQLAlchemy's documented recipe for pysqlite's transaction handling).
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
