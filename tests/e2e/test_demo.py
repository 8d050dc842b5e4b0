"""`innospace demo`: three simulated years through the real handlers, sweeps and relay."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.cli import main
from entrypoints.demo import run_demo


def test_the_demo_drives_every_kind_of_story_and_prints_its_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    summary = run_demo(db)
    out = capsys.readouterr().out
    assert "完整 verified" in out and str(db.resolve()) in out
    assert summary["firms"] >= 30
    # the README's quick start says how many firms the demo makes (it said 36 for 38)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f", {summary['firms']} firms, three simulated years" in readme
    assert set(summary["exits"]) == {"graduation", "term_expiry", "voluntary", "forced"}
    assert {"active", "exited", "rejected", "withdrawn"} <= set(summary["states"])
    assert summary["audit_ok"] and summary["events"] > 300
    assert summary["notices_delivered"] == summary["notices_queued"] > 0

    with pytest.raises(SystemExit) as listed:
        main(["--db", str(db), "list", "--state", "exited", "--json"])
    assert listed.value.code == 0
    assert '"state": "exited"' in capsys.readouterr().out
    with pytest.raises(SystemExit) as verified:
        main(["--db", str(db), "audit", "verify"])
    assert verified.value.code == 0
