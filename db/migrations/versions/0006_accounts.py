"""accounts: passwords, lockout, space grants, API tokens, sessions, reviewer assignments

``users`` gains an argon2 ``password_hash`` (NULL: the account cannot log in),
``disabled_at``, the count of consecutive ``failed_logins``, ``locked_until`` (a lockout's
end) and ``last_login_at``. Roles are now admin | operator | reviewer | firm | viewer: a user
recorded as ``manager`` (never written by innospace) becomes an ``operator``.

``user_spaces`` grants spaces to accounts; ``api_tokens`` (with ``api_token_spaces``, its
scope) and ``sessions`` store only the SHA-256 of their secrets; ``reviewer_assignments``
records which reviewer accounts an operator assigned to an application; ``login_failures``
feeds the per-address throttle.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, db.types.UTCDateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def _int(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _index(table: str, name: str, columns: list[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(name, columns, unique=False)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(_str("password_hash", 200, nullable=True))
        batch_op.add_column(_at("disabled_at", nullable=True))
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(_at("locked_until", nullable=True))
        batch_op.add_column(_at("last_login_at", nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("failed_logins", server_default=None)
    op.execute("UPDATE users SET role = 'operator' WHERE role = 'manager'")

    op.create_table(
        "user_spaces",
        _int("user_id"),
        _int("space_id"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "space_id"),
    )
    op.create_table(
        "api_tokens",
        _int("id"),
        _int("user_id"),
        _str("label", 100),
        _str("token_sha256", 64),
        _str("role", 16),
        _at("created_at"),
        _at("expires_at", nullable=True),
        _at("revoked_at", nullable=True),
        _at("last_used_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    _index("api_tokens", "ix_api_tokens_user_id", ["user_id"])
    op.create_table(
        "api_token_spaces",
        _int("token_id"),
        _int("space_id"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"]),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"]),
        sa.PrimaryKeyConstraint("token_id", "space_id"),
    )
    op.create_table(
        "sessions",
        _int("id"),
        _str("token_sha256", 64),
        _int("user_id"),
        _str("address", 64),
        _at("created_at"),
        _at("last_seen_at"),
        _at("expires_at"),
        _int("idle_seconds"),
        _at("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    _index("sessions", "ix_sessions_user_id", ["user_id"])
    op.create_table(
        "reviewer_assignments",
        _int("tenancy_id"),
        _int("user_id"),
        _at("assigned_at"),
        _str("assigned_by", 100),
        sa.ForeignKeyConstraint(["tenancy_id"], ["tenancies.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("tenancy_id", "user_id"),
    )
    _index("reviewer_assignments", "ix_reviewer_assignments_user_id", ["user_id"])
    op.create_table(
        "login_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _str("address", 64),
        _at("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("login_failures", "ix_login_failures_address_at", ["address", "at"])


def downgrade() -> None:
    op.drop_table("login_failures")  # its indexes go with it
    op.drop_table("reviewer_assignments")
    op.drop_table("sessions")
    op.drop_table("api_token_spaces")
    op.drop_table("api_tokens")
    op.drop_table("user_spaces")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("password_hash")
