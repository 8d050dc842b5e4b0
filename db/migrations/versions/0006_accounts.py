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

import sqlalchemy as sa
from alembic import op

from db.migrations import columns
from db.migrations.columns import at, fk, indexes, integer, keyed_table, string

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(string("password_hash", 200, nullable=True))
        batch_op.add_column(at("disabled_at", nullable=True))
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(at("locked_until", nullable=True))
        batch_op.add_column(at("last_login_at", nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("failed_logins", server_default=None)
    op.execute("UPDATE users SET role = 'operator' WHERE role = 'manager'")

    op.create_table(
        "user_spaces",
        integer("user_id"),
        integer("space_id"),
        fk("space_id", "spaces.id"),
        fk("user_id", "users.id"),
        sa.PrimaryKeyConstraint("user_id", "space_id"),
    )
    columns.credential_table(
        "api_tokens",
        integer("user_id"),
        string("label", 100),
        columns.token_hash(),
        string("role", 16),
        at("created_at"),
        at("expires_at", nullable=True),
        at("revoked_at", nullable=True),
        at("last_used_at", nullable=True),
    )
    op.create_table(
        "api_token_spaces",
        integer("token_id"),
        integer("space_id"),
        fk("space_id", "spaces.id"),
        fk("token_id", "api_tokens.id"),
        sa.PrimaryKeyConstraint("token_id", "space_id"),
    )
    columns.credential_table(
        "sessions",
        columns.token_hash(),
        integer("user_id"),
        string("address", 64),
        at("created_at"),
        at("last_seen_at"),
        at("expires_at"),
        integer("idle_seconds"),
        at("revoked_at", nullable=True),
    )
    op.create_table(
        "reviewer_assignments",
        integer("tenancy_id"),
        integer("user_id"),
        *columns.when_who("assigned_at", "assigned_by"),
        fk("tenancy_id", "tenancies.id"),
        fk("user_id", "users.id"),
        sa.PrimaryKeyConstraint("tenancy_id", "user_id"),
    )
    indexes("reviewer_assignments", {"ix_reviewer_assignments_user_id": ["user_id"]})
    keyed_table(
        "login_failures",
        string("address", 64),
        at("at"),
        wide=True,
        index={"ix_login_failures_address_at": ["address", "at"]},
    )


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
