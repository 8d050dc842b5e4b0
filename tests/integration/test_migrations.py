"""The Alembic history creates exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from db import migrate
from db.tables import ALL_TABLES


def test_the_migrations_match_the_models(engine: Engine) -> None:
    assert migrate.is_current(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, ALL_TABLES)
    assert diff == [], diff


def test_each_step_of_the_history_goes_down_and_up_again(engine: Engine) -> None:
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert migrate.current(engine) == "0001"
    assert "ix_reviews_tenancy_id" in {i["name"] for i in inspect(engine).get_indexes("reviews")}
    assert "ix_outbox_tenancy_id" in {i["name"] for i in inspect(engine).get_indexes("outbox")}
    assert migrate.upgrade(engine) == migrate.head()
    assert "ix_reviews_tenancy_id" not in {
        i["name"] for i in inspect(engine).get_indexes("reviews")
    }
    assert "ix_outbox_tenancy_id" not in {i["name"] for i in inspect(engine).get_indexes("outbox")}
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, ALL_TABLES) == []
