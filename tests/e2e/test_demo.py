"""`innospace demo`: three simulated years through the real handlers, sweeps and relay."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.cli import main


def test_the_demo_drives_every_kind_of_story_and_prints_its_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.db"
    with pytest.raises(SystemExit) as done:
        main(["demo", "--out", str(db)])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "完整 verified" in out and str(db.resolve()) in out

    from entrypoints.demo import run_demo

    summary = run_demo(tmp_path / "again.db")
    capsys.readouterr()
    assert summary["firms"] >= 30
    assert set(summary["exits"]) == {"graduation", "term_expiry", "voluntary", "forced"}
    assert {"active", "exited", "rejected", "withdrawn"} <= set(summary["states"])
    assert summary["audit_ok"] and summary["events"] > 300
    assert summary["notices_delivered"] == summary["notices_queued"] > 0
    assert summary["seconds"] < 30

    with pytest.raises(SystemExit) as listed:
        main(["--db", str(db), "list", "--state", "exited", "--json"])
    assert listed.value.code == 0
    assert '"state": "exited"' in capsys.readouterr().out
