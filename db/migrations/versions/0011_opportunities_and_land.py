"""city opportunity lists (城市机会清单) and the land a space stands on

``opportunity_entries`` (needs and supplies firms or spaces submit), ``opportunity_lists``
(第N期, frozen once published), ``introductions`` (a need put in touch with a supply, and how
it went), ``opportunity_events`` (their hash chains, one per subject) and ``land_parcels``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations import columns
from db.migrations.columns import at, drop, fk, integer, json, keyed_table, string, text

revision: str = "0011"
down_revision: str | None = "0010"


def upgrade() -> None:
    columns.chained_events(
        "opportunity_events",
        per=[string("subject", 16), integer("subject_id")],
        verb=string("action", 32),
        states=("from_status", "to_status", 16),
    )
    keyed_table(
        "opportunity_lists",
        integer("number"),
        string("title", 120),
        string("status", 16),
        json("content"),
        string("content_hash", 64, nullable=True),
        *columns.who_when("created_by", "created_at"),
        at("published_at", nullable=True),
        unique=("number",),
    )
    columns.SPACE.table(
        "land_parcels",
        string("parcel_code", 64),
        string("land_use", 8),
        sa.Column("land_area_m2", sa.Float(), nullable=False),
        sa.Column("floor_area_m2", sa.Float(), nullable=False),
        sa.Column("plot_ratio", sa.Float(), nullable=False),
        *columns.timestamps(),
        unique=("parcel_code",),
    )

    columns.SPACE.table(
        "opportunity_entries",
        integer("firm_id", nullable=True),
        string("kind", 8),
        string("title", 80),
        text("description"),
        string("field", 64),
        text("sought"),
        string("contact_name", 50),
        string("contact_phone", 40, nullable=True),
        sa.Column("contact_public", sa.Boolean(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        string("status", 16),
        text("return_reason", nullable=True),
        integer("list_id", nullable=True),
        integer("position", nullable=True),
        string("submitted_by", 100),
        *columns.timestamps(),
        fk("firm_id", "firms.id"),
        fk("list_id", "opportunity_lists.id"),
        index={
            "ix_opportunity_entries_firm_id": ["firm_id"],
            "ix_opportunity_entries_list_id": ["list_id"],
            "ix_opportunity_entries_status": ["status", "space_id"],
        },
        indexed=False,
    )

    keyed_table(
        "introductions",
        integer("need_id"),
        integer("supply_id"),
        string("outcome", 16),
        text("note", nullable=True),
        string("created_by", 100),
        *columns.timestamps(),
        fk("need_id", "opportunity_entries.id"),
        fk("supply_id", "opportunity_entries.id"),
        unique=("need_id", "supply_id"),
        index={"ix_introductions_supply_id": ["supply_id"]},
    )


def downgrade() -> None:
    drop("introductions", "ix_introductions_supply_id")
    drop(
        "opportunity_entries",
        "ix_opportunity_entries_status",
        "ix_opportunity_entries_list_id",
        "ix_opportunity_entries_firm_id",
    )
    drop("land_parcels", "ix_land_parcels_space_id")
    op.drop_table("opportunity_lists")
    op.drop_table("opportunity_events")
