"""a login lockout is per account and address: failures from elsewhere no longer lock the
owner out; every lockout is kept

``login_failures.user_id``: the account a failure counts against (NULL: none — an unknown
name, a disabled or locked account, or one no longer counted), indexed with ``at``. The
lockout after ``MAX_FAILURES`` failures is now of the account from that address only, so
anyone who knows a user name can no longer keep its owner out; ``users.locked_until`` is the
longer lockout of every address once failures from many addresses pass the per-account
ceiling (``workflows.credentials``). ``login_lockouts`` records each lockout of either kind,
and when an admin lifted it (``user unlock``). A lockout running when this migration runs
(``users.locked_until``) runs on, as a lockout of every address.
"""

from __future__ import annotations

from alembic import op

from db.migrations.columns import USER, at, fk, indexes, integer, keyed_table, string

revision: str = "0015"
down_revision: str | None = "0014"


def upgrade() -> None:
    USER.add_to("login_failures")  # fk_login_failures_user_id_users
    indexes("login_failures", {"ix_login_failures_user_id_at": ["user_id", "at"]})
    keyed_table(
        "login_lockouts",
        integer("user_id"),
        string("address", 64, nullable=True),
        integer("failures"),
        at("locked_at"),
        at("locked_until"),
        at("lifted_at", nullable=True),
        string("lifted_by", 100, nullable=True),
        fk("user_id", "users.id"),
        index={"ix_login_lockouts_user_id": ["user_id"]},
    )


def downgrade() -> None:
    op.drop_table("login_lockouts")  # its index goes with it
    USER.drop_from("login_failures", indexes=("ix_login_failures_user_id_at",))
