"""city opportunity lists (城市机会清单) and the land a space stands on

``opportunity_entries`` (needs and supplies firms or spaces submit), ``opportunity_lists``
(第N期, frozen once published), ``introductions`` (a need put in touch with a supply, and how
it went), ``opportunity_events`` (their hash chains, one per subject) and ``land_parcels``.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0011"
down_revision: str | None = "0010"


def upgrade() -> None:
    op.create_table(
        "opportunity_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("occurred_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "subject_id", "seq"),
    )
    op.create_table(
        "opportunity_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_table(
        "land_parcels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("parcel_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("land_use", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("land_area_m2", sa.Float(), nullable=False),
        sa.Column("floor_area_m2", sa.Float(), nullable=False),
        sa.Column("plot_ratio", sa.Float(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("parcel_code"),
    )
    with op.batch_alter_table("land_parcels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_land_parcels_space_id"), ["space_id"], unique=False)

    op.create_table(
        "opportunity_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sought", sa.Text(), nullable=False),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("contact_public", sa.Boolean(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["opportunity_lists.id"],
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("opportunity_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunity_entries_firm_id"), ["firm_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_opportunity_entries_list_id"), ["list_id"], unique=False
        )
        batch_op.create_index("ix_opportunity_entries_status", ["status", "space_id"], unique=False)

    op.create_table(
        "introductions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("supply_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["opportunity_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supply_id"],
            ["opportunity_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("need_id", "supply_id"),
    )
    with op.batch_alter_table("introductions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_introductions_supply_id"), ["supply_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("introductions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_introductions_supply_id"))

    op.drop_table("introductions")
    with op.batch_alter_table("opportunity_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunity_entries_status")
        batch_op.drop_index(batch_op.f("ix_opportunity_entries_list_id"))
        batch_op.drop_index(batch_op.f("ix_opportunity_entries_firm_id"))

    op.drop_table("opportunity_entries")
    with op.batch_alter_table("land_parcels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_land_parcels_space_id"))

    op.drop_table("land_parcels")
    op.drop_table("opportunity_lists")
    op.drop_table("opportunity_events")
