"""`innospace tick`, `deadlines list|retry`, `cycle open` and the scheduler's refusals, via the
CLI entry point in-process (the clock frozen with INNOSPACE_NOW), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from integration.test_sweeps_seed import (
    CAL,
    bulk_tenancies,
    bulk_vacate_due,
    create_space,
    table,
)
from sqlalchemy import Engine, insert
from sqlalchemy.exc import OperationalError

from db.tables import Deadline
from entrypoints.bootstrap import bootstrap
from entrypoints.cli import main
from entrypoints.scheduler import SchedulerProcess
from entrypoints.ticks import TickSettings, digest_trigger
from workflows import rules
from workflows.identity import cli_actor
from workflows.service import Service

NOW = "2025-01-02T09:00+08:00"


class Cli:
    def __init__(
        self, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.db, self.capsys, self.monkeypatch = db_url, capsys, monkeypatch
        monkeypatch.setenv("INNOSPACE_NOW", NOW)

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            main(["--db", self.db, *args])
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, f"{args}: exit {code}: {err}"
        return json.loads(out)


@pytest.fixture
def cli(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    level = logging.getLogger("innospace").level
    yield Cli(db_url, capsys, monkeypatch)
    logging.getLogger("innospace").setLevel(level)  # `scheduler` raises it to INFO


@pytest.fixture
def seeded(service: Service, engine: Engine) -> dict[str, list[int]]:
    space_id, version = create_space(service)
    vacating = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=2,
        state="vacating",
        term_start=date(2023, 1, 1),
        term_end=date(2024, 12, 1),
    )
    bulk_vacate_due(engine, vacating, version, date(2025, 1, 10))
    active = bulk_tenancies(
        engine,
        space_id=space_id,
        rulebook_version=version,
        n=3,
        state="active",
        term_start=date(2024, 1, 1),
        term_end=date(2027, 1, 1),
        seed=9,
    )
    return {"vacating": vacating, "active": active}


def test_tick_runs_every_sweep_as_of_now_or_a_simulated_instant_never_the_past(
    cli: Cli, seeded: dict[str, list[int]]
) -> None:
    listed = cli.json("deadlines", "list", "--due-before", "2025-01-11", "--space", "MC3")
    assert [(d["kind"], d["due_on"], d["space"]) for d in listed] == [
        ("vacate_due", "2025-01-10", "MC3")
    ] * 2
    assert cli.json("deadlines", "list", "--due-before", "2025-01-10") == []  # holds all day

    def ours(kinds: dict[str, int]) -> dict[str, int]:
        """What was handled but the quarterly light report (tests/e2e/test_cli_quarterly)."""
        return {k: n for k, n in kinds.items() if not k.startswith("quarterly_")}

    first = cli.json("tick")
    assert first["cycles"]["opened"] == 3  # 2 January 2025: the 2024 cycle opens
    # Nothing waits for the operators yet (the cycle just opened): no digest is sent.
    assert ours(first["deadlines"]["by_kind"]) == {} and first["digest"]["sent"] is False
    code, _, err = cli("tick", "--until", "2025-01-01T09:00")
    assert code == 2 and "until: 不得早于当前时间" in err and "must not be in the past" in err
    later = cli.json("tick", "--until", "2025-01-11T09:00+08:00")
    assert ours(later["deadlines"]["by_kind"]) == {"review_reminder": 3, "vacate_due": 2}  # -5 wd
    assert later["digest"] == later["digest"] | {"sent": True, "sent_on": "2025-01-11"}
    code, out, _ = cli("tick", "--until", "2025-01-11T09:00+08:00")
    assert code == 0 and "deadlines: handled 0" in out and "already sent" in out
    assert [
        (d["kind"], d["due_on"])
        for d in cli.json("deadlines", "list", "--status", "done")
        if not d["kind"].startswith("quarterly_")
    ] == [("review_reminder", "2025-01-08")] * 3 + [("vacate_due", "2025-01-10")] * 2


def test_deadlines_list_and_retry_refuse_bad_input(
    cli: Cli, seeded: dict[str, list[int]], engine: Engine
) -> None:
    assert cli("deadlines", "list", "--space", "NOPE")[0] == 3
    code, _, err = cli("deadlines", "list", "--status", "late")
    assert code == 2 and "status" in err
    assert cli("deadlines", "list", "--due-before", "soon")[0] == 2
    with engine.begin() as conn:
        conn.execute(
            insert(table(Deadline)).values(
                kind="mystery",
                tenancy_id=seeded["active"][0],
                due_on=date(2025, 1, 1),
                due_at=CAL.due_instant(date(2025, 1, 1)),
                status="failed",
                dedupe_key="mystery:1",
                payload={"error": "no sweep action handles this kind"},
                created_at=CAL.due_instant(date(2025, 1, 1)),
            )
        )
    failed = cli.json("deadlines", "list", "--status", "failed")
    assert [(d["kind"], d["error"]) for d in failed] == [
        ("mystery", "no sweep action handles this kind")
    ]
    assert cli("deadlines", "retry")[0] == 2  # ids or --all-failed
    assert cli.json("deadlines", "retry", "--all-failed", "--actor", "值班员") == {"requeued": 1}
    # The tenancy's audit chain says who put which deadline back, and why it had failed.
    retried = cli.json("timeline", str(seeded["active"][0]))[-1]
    assert (retried["trigger"], retried["actor"]) == ("deadline_retried", cli_actor("值班员"))
    assert [(d["kind"], d["previous_error"]) for d in retried["data"]["deadlines"]] == [
        ("mystery", "no sweep action handles this kind")
    ]
    assert cli.json("deadlines", "list", "--status", "failed") == []
    assert [d["kind"] for d in cli.json("deadlines", "list")] == [
        "mystery",
        "vacate_due",
        "vacate_due",
    ]


def test_cycle_open_opens_each_eligible_tenancy_once(
    cli: Cli, seeded: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = cli.json("cycle", "open", "MC3", "--period", "2024", "--chunk", "2")
    assert (report["opened"], report["chunks"], report["skipped_by_state"]) == (
        3,
        2,
        {"vacating": 2},
    )
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # the progress-bar path
    code, out, _ = cli("cycle", "open", "MC3", "--period", "2024")
    assert code == 0 and "opened 0, already open 3" in out
    assert "MC3 2024 年度考核：启动 0 家，已启动 3 家" in out  # Chinese first
    assert cli("cycle", "open", "MC3", "--period", "2031")[0] == 2
    assert cli("cycle", "open", "NOPE", "--period", "2024")[0] == 3


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_scheduler_refuses_bad_configuration_before_anything_runs(
    cli: Cli, service: Service, tmp_path: Path
) -> None:
    create_space(service)
    cli.monkeypatch.setenv("INNOSPACE_DIGEST_CRON", "30 8 * *")
    code, _, err = cli("scheduler")
    assert code == 9 and "INNOSPACE_DIGEST_CRON '30 8 * *' is not a valid crontab" in err
    cli.monkeypatch.setenv("INNOSPACE_DIGEST_CRON", "30 8 * * *")
    cli.monkeypatch.setenv("INNOSPACE_CYCLE_INTERVAL_SECONDS", "0")
    code, _, err = cli("scheduler")
    assert code == 9 and "INNOSPACE_CYCLE_INTERVAL_SECONDS" in err
    cli.monkeypatch.delenv("INNOSPACE_CYCLE_INTERVAL_SECONDS")

    broken = tmp_path / "broken.toml"
    broken.write_text(
        rules.default_rulebook_text().replace("due_workday = 10 ", "due_workday = 30 "),
        encoding="utf-8",
    )
    assert cli("rules", "load", str(broken), "--space", "MC3")[0] == 0  # valid as data
    code, _, err = cli("scheduler")
    assert code == 9
    assert "space MC3: the rulebook's review.calendar cannot be applied to 2025" in err
    assert "has only" in err and "not 30" in err

    fresh = tmp_path / "fresh.db"
    code, _, err = cli("--db", f"sqlite:///{fresh}", "scheduler")
    assert code == 3 and f"no innospace database at {fresh} — run `innospace init`" in err
    assert not fresh.exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://postgres@127.0.0.1:1/none", "sqlite:////nonexistent-dir/x.db"]
)
def test_an_unreachable_database_at_start_exits_10_with_a_clear_message(cli: Cli, url: str) -> None:
    code, _, err = cli("--db", url, "scheduler")
    if url.startswith("sqlite"):  # a SQLite file whose directory is missing: named, exit 3
        assert code == 3 and "no innospace database at /nonexistent-dir/x.db" in err
        assert "目录 /nonexistent-dir 不存在" in err
    else:
        assert code == 10 and "database unavailable" in err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_job_retries_a_lost_connection_with_backoff_then_resumes(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = bootstrap(database_url=db_url)
    process = SchedulerProcess(app, TickSettings(retry_max_seconds=0.01))
    attempts: list[int] = []

    def flaky() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    with caplog.at_level(logging.WARNING, logger="innospace.scheduler"):
        process._guarded("sweep-deadlines", flaky)()
    assert len(attempts) == 3
    assert "retry 1" in caplog.text and "retry 2" in caplog.text
    assert "server closed the connection" in caplog.text
    process.halt.set()  # halted jobs give up instead of retrying
    attempts.clear()
    process._guarded("sweep-deadlines", flaky)()
    assert attempts == []
    app.engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_jobs_have_fixed_ids_coalesce_one_instance_and_live_in_memory(db_url: str) -> None:
    app = bootstrap(database_url=db_url)
    process = SchedulerProcess(app, TickSettings())
    scheduler = process._build(digest_trigger("30 8 * * *"))
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert sorted(jobs) == [
            "audit-checkpoint",
            "catch-up",  # cycles, deadlines, digest, then the relay: once, at start
            "open-review-cycles",
            "operator-digest",
            "purge-idempotency-keys",
            "relay-outbox",
            "sweep-deadlines",
        ]
        for job in jobs.values():
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 3600)
            assert job.next_run_time is not None
        assert jobs["sweep-deadlines"].trigger.interval.total_seconds() == 60
        assert jobs["relay-outbox"].trigger.interval.total_seconds() == 30
        assert str(jobs["operator-digest"].trigger) == str(digest_trigger("30 8 * * *"))
        assert type(scheduler._lookup_jobstore("default")).__name__ == "MemoryJobStore"
    finally:
        scheduler.shutdown(wait=False)
        app.engine.dispose()
