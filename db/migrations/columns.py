"""The column groups and table steps the migration scripts share, written as Alembic
generates them (``alembic revision --autogenerate`` against :data:`db.tables.ALL_TABLES`).

The scripts in ``versions/`` import these rather than spell each column out, so that one
table reads as its names, lengths and nullability. A migration that shipped must go on
emitting exactly the schema it did: never change what an existing helper emits (the
migration tests compare the migrated schema with the models on SQLite and PostgreSQL); add
a helper instead.

Past the single columns and the plain table steps come the groups of columns several tables
share (:func:`timestamps`, :func:`who_when`, ...) and the shapes of table that recur: a
table whose rows belong to a firm, a space or a tenancy (:class:`Parent`), a saved draft
(:func:`draft_table`), a user's credentials (:func:`credential_table`) and a hash-chained
event log (:func:`chained_events`). The scripts import the single columns and plain steps by
name and reach these through the module (``columns.timestamps()``,
``columns.TENANCY.table(...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types


def key() -> sa.Column[Any]:
    """``id``, an integer primary key the database assigns."""
    return sa.Column("id", sa.Integer(), nullable=False)


def big_key() -> sa.Column[Any]:
    """``id``, a 64-bit primary key (INTEGER on SQLite, whose rowid is 64-bit)."""
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON, stored as JSONB on PostgreSQL (:data:`db.types.JSONType`)."""
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def json(name: str) -> sa.Column[Any]:
    return sa.Column(name, json_type(), nullable=False)


def string(name: str, length: int, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """An instant (:class:`db.types.UTCDateTime`)."""
    return sa.Column(name, db.types.UTCDateTime(timezone=True), nullable=nullable)


def integer(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def text(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def day(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A calendar date (no time of day)."""
    return sa.Column(name, sa.Date(), nullable=nullable)


def fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    """``column`` references ``target`` (``"table.column"``)."""
    return sa.ForeignKeyConstraint([column], [target])


def indexes(table: str, named: dict[str, list[str]]) -> None:
    """A table's indexes (name: columns), created as Alembic's batch mode does (``f``: the
    name as given)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, columns in named.items():
            batch_op.create_index(batch_op.f(name), columns, unique=False)


def keyed_table(
    name: str,
    *columns: sa.Column[Any] | sa.ForeignKeyConstraint,
    unique: tuple[str, ...] = (),
    index: dict[str, list[str]] | None = None,
    wide: bool = False,
) -> None:
    """Create a table keyed by ``id`` (:func:`key`; :func:`big_key` when ``wide``) with
    ``columns`` and foreign keys, a unique constraint over ``unique`` and its indexes, in the
    order Alembic writes them."""
    constraints = [sa.UniqueConstraint(*unique)] if unique else []
    id_column = big_key() if wide else key()
    op.create_table(name, id_column, *columns, sa.PrimaryKeyConstraint("id"), *constraints)
    if index:
        indexes(name, index)


def drop(table: str, *indexes: str) -> None:
    """Drop a table's indexes, then the table."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name in indexes:
            batch_op.drop_index(batch_op.f(name))
    op.drop_table(table)


def timestamps() -> list[sa.Column[Any]]:
    """``created_at`` then ``updated_at``: when a row was made and when it last changed."""
    return [at("created_at"), at("updated_at")]


def created_then(settled: str) -> list[sa.Column[Any]]:
    """``created_at``, then ``settled``: when the row was settled (a notice sent or read, a
    deadline done, an endpoint disabled), none until it is."""
    return [at("created_at"), at(settled, nullable=True)]


def who_when(who: str, when: str, *, length: int = 100) -> list[sa.Column[Any]]:
    """Who did something (a name of at most ``length``), then when: ``who`` then ``when``."""
    return [string(who, length), at(when)]


def when_who(when: str, who: str, *, length: int = 100) -> list[sa.Column[Any]]:
    """The same pair as :func:`who_when`, in the other order: ``when`` then ``who``."""
    return [at(when), string(who, length)]


def rulebook_version() -> sa.Column[Any]:
    """``rulebook_version``: the version of the rulebook in force (a ``rulebooks.version``),
    none where there was none."""
    return string("rulebook_version", 64, nullable=True)


def token_hash() -> sa.Column[Any]:
    """``token_sha256``: the SHA-256 (hex) of a secret handed out, never the secret."""
    return string("token_sha256", 64)


@dataclass(frozen=True)
class Parent:
    """A table whose rows others belong to: the ``column`` that refers to it (an integer)
    and the ``target`` it references (``"table.column"``)."""

    column: str
    target: str

    def table(
        self,
        name: str,
        *columns: sa.Column[Any] | sa.ForeignKeyConstraint,
        unique: tuple[str, ...] = (),
        index: dict[str, list[str]] | None = None,
        indexed: bool = True,
    ) -> None:
        """A :func:`keyed_table` whose rows each belong to one parent row: the parent's
        column leads (not null), ``columns`` follow, and the parent's foreign key comes after
        any foreign key among ``columns``. A table's constraints are written in the order
        they were made and Alembic writes foreign keys in the order of their columns, so a
        table with a foreign key on a column that sorts after the parent's is not this shape
        (write it with :func:`keyed_table`). Indexed on the parent's column
        (``ix_<name>_<column>``) unless ``indexed`` is false; ``index`` adds more."""
        extra = index or {}
        named = {f"ix_{name}_{self.column}": [self.column], **extra} if indexed else extra
        keyed_table(
            name,
            integer(self.column),
            *columns,
            fk(self.column, self.target),
            unique=unique,
            index=named,
        )

    def add_to(self, table: str) -> None:
        """A nullable column of ``table`` referring to the parent (rows from before have
        none), with its foreign key ``fk_<table>_<column>_<parent table>``."""
        parent, key = self.target.split(".")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(integer(self.column, nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_{self.column}_{parent}", parent, [self.column], [key]
            )

    def drop_from(self, table: str, *, indexes: tuple[str, ...] = ()) -> None:
        """:meth:`add_to` undone, the ``indexes`` on the column dropped first."""
        parent = self.target.split(".")[0]
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in indexes:
                batch_op.drop_index(batch_op.f(name))
            batch_op.drop_constraint(f"fk_{table}_{self.column}_{parent}", type_="foreignkey")
            batch_op.drop_column(self.column)


FIRM = Parent("firm_id", "firms.id")
SPACE = Parent("space_id", "spaces.id")
TENANCY = Parent("tenancy_id", "tenancies.id")
USER = Parent("user_id", "users.id")


def draft_table(
    name: str,
    owner: Parent,
    *keys: sa.Column[Any],
    form: str,
    saved: list[sa.Column[Any]],
) -> None:
    """A form saved before it is sent: one row per ``owner`` row (and ``keys``, which with
    the owner's column make the unique key), the ``form``'s fields as typed (JSON), and who
    saved it when (``saved``: :func:`who_when` or :func:`when_who`). Not indexed beyond
    its unique key."""
    owner.table(
        name,
        *keys,
        json(form),
        *saved,
        unique=(owner.column, *(key.name for key in keys)),
        indexed=False,
    )


def credential_table(name: str, *columns: sa.Column[Any]) -> None:
    """A table of credentials handed to a user (sessions, API tokens): ``columns``, which
    hold ``user_id`` and :func:`token_hash`, then the user's foreign key, the hash unique and
    the user's column indexed (``ix_<name>_user_id``)."""
    keyed_table(
        name,
        *columns,
        fk("user_id", "users.id"),
        unique=("token_sha256",),
        index={f"ix_{name}_user_id": ["user_id"]},
    )


def chained_events(
    name: str,
    *,
    per: Sequence[sa.Column[Any]],
    verb: sa.Column[Any],
    states: tuple[str, str, int],
    detail: Sequence[sa.Column[Any]] = (),
    refs: Sequence[sa.ForeignKeyConstraint] = (),
) -> None:
    """An append-only event log kept as one hash chain per subject (``per``, the columns
    naming it): each event's ``seq`` in its chain, the actor, what happened (``verb``), the
    state it moved from (none at the start) and to (``states``: the two names and their
    length), the reason, its data (JSON) and any ``detail``, when it occurred, and the hashes
    that chain it (``prev_hash``, ``hash``). 64-bit keyed, unique on the subject and ``seq``;
    ``refs`` are its foreign keys."""
    source, target, length = states
    keyed_table(
        name,
        *per,
        integer("seq"),
        string("actor", 100),
        verb,
        string(source, length, nullable=True),
        string(target, length),
        text("reason", nullable=True),
        json("data"),
        *detail,
        at("occurred_at"),
        string("prev_hash", 64),
        string("hash", 64),
        *refs,
        wide=True,
        unique=(*(column.name for column in per), "seq"),
    )
