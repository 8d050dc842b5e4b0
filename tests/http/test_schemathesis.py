"""schemathesis against ``/api/openapi.json``, authenticated as each role: no 500, every
response conforms to the schema (problem details included), and no request answered with a
4xx wrote anything. Examples are bounded (a few per
operation) so the whole run stays well under a minute; it runs on SQLite (the matrix and the
endpoint tests cover PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from api_support import ROLES, World
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Engine, text

EXAMPLES = 2
#: What a refused request must leave as it was: every table of the domain and the API.
WATCHED = (
    "spaces", "units", "firms", "tenancies", "allocations", "applications", "reviewer_scores",
    "reviews", "rectifications", "violations", "exit_cases", "deadlines", "audit_events",
    "outbox", "inbox", "rulebooks", "calendar_overrides", "message_templates",
    "idempotency_keys", "reviewer_assignments", "users", "api_tokens",
    "opportunity_entries", "opportunity_lists", "opportunity_events", "introductions",
    "land_parcels",
)  # fmt: skip


def _state(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        counts = tuple(
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in WATCHED
        )
        versions = conn.execute(text("SELECT coalesce(sum(version), 0) FROM tenancies"))
        read = conn.execute(text("SELECT count(*) FROM inbox WHERE read_at IS NOT NULL"))
        return (*counts, versions.scalar_one(), read.scalar_one())


@pytest.fixture
def world_db_url(sqlite_world_db_url: str) -> str:
    return sqlite_world_db_url


def test_the_schema_holds_for_every_role(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", world.api)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    for role in ROLES:
        _fuzz(world, operations, {"Authorization": f"Bearer {world.tokens[role]}"})


def _fuzz(world: World, operations: list[Any], headers: dict[str, str]) -> None:
    checks: list[Any] = [not_a_server_error, response_schema_conformance]
    for operation in operations:
        path_parameters: dict[str, Any] = {}
        if "{tenancy_id}" in operation.path:
            path_parameters["tenancy_id"] = world.own_tenancy
        if "{space}" in operation.path:
            path_parameters["space"] = world.own_space

        @given(case=operation.as_strategy(path_parameters=path_parameters or None))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            sent = dict(headers)
            if "{tenancy_id}" in case.operation.path and case.method.upper() == "POST":
                # The current version, so the command itself runs on the generated body.
                sent["If-Match"] = f'"{world.version(world.own_tenancy)}"'
            before = _state(world.app.engine)
            response = case.call_and_validate(headers=sent, checks=checks)
            if 400 <= response.status_code < 500:
                assert _state(world.app.engine) == before, (
                    f"{case.method} {case.formatted_path} answered {response.status_code} but wrote"
                )

        run()
