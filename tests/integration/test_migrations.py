"""The Alembic history creates exactly the schema the models declare, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

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


def test_the_accounts_step_adds_its_tables_and_keeps_a_user(engine: Engine) -> None:
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert "sessions" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, display_name, role, created_at) "
                "VALUES ('wang', '王芳', 'manager', :at)"
            ),
            {"at": datetime(2024, 1, 2, tzinfo=UTC).replace(tzinfo=None)},
        )
    assert migrate.upgrade(engine) == migrate.head()
    tables = set(inspect(engine).get_table_names())
    assert {"sessions", "api_tokens", "api_token_spaces", "user_spaces"} <= tables
    assert {"reviewer_assignments", "login_failures"} <= tables
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT role, failed_logins, password_hash FROM users WHERE username = 'wang'")
        ).one()
    assert tuple(row) == ("operator", 0, None)


def test_deadlines_are_indexed_by_tenancy_kind_and_subject(engine: Engine) -> None:
    """Planning a quarter and cancelling its deadlines look them up by these three (0017)."""
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("deadlines")}
    assert indexes["ix_deadlines_tenancy_kind_subject"] == ["tenancy_id", "kind", "subject_id"]
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016")
    names = {i["name"] for i in inspect(engine).get_indexes("deadlines")}
    assert "ix_deadlines_tenancy_kind_subject" not in names
    assert migrate.upgrade(engine) == migrate.head() == "0017"
