"""Issue 14, items 6, 7, 8 and 13: a year counts as published only when the operators say
so, time travel only on training databases, the demo deletes only what it made, and a
mistyped --db creates nothing."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from e2e.cli_support import Cli
from sqlalchemy import create_engine, text

from db.engine import normalize_url
from db.tables import ALL_TABLES
from entrypoints.cli import main
from entrypoints.demo_data import good_profile, make_uscc

SCHEDULE_2027 = """# 2027 放假和调休安排
2027-01-01,holiday,元旦
2027-02-05,holiday,春节
2027-02-06,workday,春节调休上班
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def sql(db_url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(query))]
    engine.dispose()
    return rows


# ---- 6: the unpublished year ----------------------------------------------------------------
def test_one_override_does_not_publish_a_year_import_complete_or_publish_does(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("init")
    cli.ok("calendar", "set", "2027-02-06", "workday")
    line = cli.refused(7, "calendar", "add-workdays", "2027-03-01", "5")
    assert line.startswith("错误 [节假日安排未公布") and "calendar publish 2027" in line
    schedule = tmp_path / "2027.txt"
    schedule.write_text(SCHEDULE_2027, encoding="utf-8")
    out = cli.ok("calendar", "import", str(schedule))  # not marked complete: still unpublished
    assert "calendar publish YEAR" in out
    cli.refused(7, "calendar", "add-workdays", "2027-03-01", "5")
    out = cli.ok("calendar", "import", str(schedule), "--complete")
    assert "已公布" in out
    assert cli.ok("calendar", "add-workdays", "2027-03-01", "5").strip() == "2027-03-08"
    # 2028: confirmed explicitly.
    cli.refused(7, "calendar", "add-workdays", "2028-03-01", "5")
    assert "2028" in cli.ok("calendar", "publish", "2028")
    assert cli.ok("calendar", "add-workdays", "2028-03-01", "5").strip() == "2028-03-08"


def test_from_december_the_digest_warns_that_next_years_schedule_is_missing(
    cli: Cli, db_url: str
) -> None:
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    cli.at("2026-11-30T09:00+08:00")
    cli.ok("tick")
    query = "SELECT context FROM outbox WHERE message = 'operator_digest' ORDER BY id"
    assert sql(db_url, query) == []  # November: nothing waits in MC3, so no digest at all
    cli.at("2026-12-01T09:00+08:00")
    cli.ok("tick")
    (digest,) = sql(db_url, query)  # December: the missing schedule is something to report
    context = digest[0] if isinstance(digest[0], dict) else json.loads(str(digest[0]))
    assert context["sent_on"] == "2026-12-01"
    warning = context["items"][0]["title"]
    assert "2027 年放假调休安排尚未录入" in warning and "1 月的年度考核周期" in warning
    assert "MC3" in warning and "0 个期限" in warning
    cli.ok("calendar", "publish", "2027")
    cli.at("2026-12-02T09:00+08:00")
    cli.ok("tick")
    assert len(sql(db_url, query)) == 1  # published: nothing to report again, no new digest


# ---- 7: time travel only on a training database ---------------------------------------------
def test_a_production_database_refuses_a_frozen_or_future_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "prod.db")
    monkeypatch.delenv("INNOSPACE_NOW", raising=False)
    code, out, _ = run(capsys, "--db", db, "init")
    assert code == 0 and "生产 production" in out
    code, _, err = run(capsys, "--db", db, "tick", "--until", "2999-01-01")
    assert code == 2 and err.startswith("错误 [") and "生产数据库不允许模拟时钟" in err
    assert "--until" in err
    monkeypatch.setenv("INNOSPACE_NOW", "2020-01-02T09:00+08:00")
    code, _, err = run(capsys, "--db", db, "list")
    assert code == 2 and "INNOSPACE_NOW" in err and "生产数据库不允许模拟时钟" in err
    assert "Traceback" not in err
    # A training database lets the clock move; an existing database keeps its kind.
    training = str(tmp_path / "training.db")
    code, out, _ = run(capsys, "--db", training, "init", "--training")
    assert code == 0 and "培训/模拟 training" in out
    assert run(capsys, "--db", training, "list")[0] == 0
    code, out, _ = run(capsys, "--db", training, "init")
    assert code == 0 and "training" in out
    monkeypatch.delenv("INNOSPACE_NOW")
    assert run(capsys, "--db", training, "tick", "--until", "2999-01-01")[0] == 0


def test_a_production_database_with_data_cannot_become_a_training_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "prod.db")
    monkeypatch.delenv("INNOSPACE_NOW", raising=False)
    assert run(capsys, "--db", db, "init")[0] == 0
    assert run(capsys, "--db", db, "space", "create", "MC3", "三医创新中心")[0] == 0
    code, _, err = run(capsys, "--db", db, "init", "--training")
    assert code == 2 and "不能改为培训数据库" in err
    assert run(capsys, "--db", db, "tick", "--until", "2999-01-01")[0] == 2


def test_no_event_is_dated_before_the_tenancys_last_one(cli: Cli, db_url: str) -> None:
    cli.ok("init")
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    uscc = make_uscc(random.Random(14))
    cli.ok("firm", "add", "--name", "蓉创生物", "--uscc", uscc, "--industry", "pharma")
    profile = cli.file("p.json", good_profile(date(2020, 5, 6)))
    tenancy = str(
        cli.json("apply", uscc, "MC3", "--area", "120", "--profile", profile)["tenancy_id"]
    )
    cli.at("2024-03-01T09:00+08:00")  # three days before the application
    line = cli.refused(4, "screen", tenancy)
    assert "早于该租约上一事件" in line and "2024-03-01" in line
    # in Beijing time, as every page and command shows time (it read 2024-03-01T01:00:00+00:00)
    assert "事件时间 2024-03-01 09:00:00 早于" in line and "（北京时间）" in line, line
    cli.at("2024-03-05T09:00+08:00")
    cli.ok("screen", tenancy)
    assert "审计链完整" in cli.ok("audit", "verify")
    # A chain written out of time order (before this rule) is reported by audit verify.
    events = ALL_TABLES.tables["audit_events"]
    engine = create_engine(normalize_url(db_url))
    with engine.begin() as conn:
        conn.execute(
            events.update()
            .where(events.c.seq == 2)
            .values(occurred_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    engine.dispose()
    code, out, _ = cli("audit", "verify")
    assert code == 8 and "time_order" in out


# ---- 8: the demo deletes only what it made --------------------------------------------------
def test_the_demo_refuses_a_file_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INNOSPACE_NOW", raising=False)
    real = tmp_path / "innospace.db"
    assert run(capsys, "--db", str(real), "init")[0] == 0
    assert run(capsys, "--db", str(real), "space", "create", "MC3", "三医创新中心")[0] == 0
    before = real.read_bytes()
    code, _, err = run(capsys, "demo", "--out", str(real))
    assert code == 6 and "不是演示程序创建的数据库" in err and "--overwrite" in err
    assert real.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("运营记录", encoding="utf-8")
    assert run(capsys, "demo", "--out", str(notes))[0] == 6
    assert notes.read_text(encoding="utf-8") == "运营记录"


def test_the_demo_replaces_its_own_database_and_builds_a_training_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INNOSPACE_NOW", raising=False)
    out = tmp_path / "notes.db"
    out.write_text("not a database", encoding="utf-8")
    assert run(capsys, "demo", "--out", str(out), "--overwrite")[0] == 0
    assert run(capsys, "demo", "--out", str(out))[0] == 0  # its own: replaced without asking
    url = f"sqlite:///{out}"
    assert sql(url, "SELECT key, value FROM database_meta ORDER BY key") == [
        ("kind", "training"),
        ("made_by", "demo"),
    ]
    assert run(capsys, "--db", str(out), "tick", "--until", "2999-01-01")[0] == 0


# ---- 13: a mistyped --db creates nothing ----------------------------------------------------
def test_a_mistyped_db_path_creates_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INNOSPACE_NOW", raising=False)
    code, _, err = run(capsys, "--db", "nothere.db", "list")
    assert code == 3 and "no innospace database at nothere.db — run `innospace init`" in err
    assert err.startswith("错误 [不存在 / not found] (exit 3): 没有 innospace 数据库")
    assert not (tmp_path / "nothere.db").exists()
    assert list(tmp_path.iterdir()) == []
    code, _, err = run(capsys, "--db", "missing/dir/x.db", "list")
    assert code == 3 and "missing/dir/x.db" in err and "missing/dir" in err
    code, _, err = run(capsys, "--db", "missing/dir/x.db", "init")
    assert code == 2 and "missing/dir" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_database_never_initialised_says_so(
    backend: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.delenv("INNOSPACE_NOW", raising=False)
    if backend == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()
        url = str(path)
    else:
        admin, _template = request.getfixturevalue("pg_admin")
        name = "innospace_empty_" + uuid.uuid4().hex[:10]
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        request.addfinalizer(drop)
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    for args in (("list",), ("space", "list"), ("calendar", "publish", "2027")):
        code, _, err = run(capsys, "--db", url, *args)
        assert code == 3, (args, err)
        assert "no innospace database at" in err and "run `innospace init`" in err
        assert "Traceback" not in err
