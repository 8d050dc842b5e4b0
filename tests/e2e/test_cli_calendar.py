"""Operators load a year's official schedule in one go; a bad line loads nothing."""

from __future__ import annotations

from pathlib import Path

from e2e.cli_support import Cli, snapshot

SCHEDULE = """# 2027 放假和调休安排 (as an operator would type it in)
2027-01-01,holiday,元旦
2027-02-05,holiday,春节
2027-02-06,workday,春节调休上班
2027-02-10,holiday,春节
"""


def test_a_schedule_file_becomes_overrides_and_deadlines_use_it(cli: Cli, tmp_path: Path) -> None:
    cli.ok("init")
    assert cli("calendar", "add-workdays", "2027-02-04", "2")[0] == 7  # 2027 unpublished
    schedule = tmp_path / "2027.txt"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    assert cli.json("calendar", "import", str(schedule)) == {
        "days": 4,
        "years": [2027],
        "workdays": 1,
        "holidays": 3,
    }
    listed = cli.json("calendar", "list", "--year", "2027")
    assert [(d["day"], d["workday"]) for d in listed] == [
        ("2027-01-01", False),
        ("2027-02-05", False),
        ("2027-02-06", True),
        ("2027-02-10", False),
    ]
    # Thu 02-04 + 2 working days: 02-05 is off, Saturday 02-06 is a make-up working day.
    assert cli.ok("calendar", "add-workdays", "2027-02-04", "1").strip() == "2027-02-06"


def test_a_bad_line_names_the_line_and_nothing_is_stored(
    cli: Cli, tmp_path: Path, db_url: str
) -> None:
    cli.ok("init")
    schedule = tmp_path / "bad.txt"
    schedule.write_text("2027-02-06,workday\n2027-02-31,holiday\n", encoding="utf-8")
    before = snapshot(db_url)
    code, _, err = cli("calendar", "import", str(schedule))
    assert code == 2 and "bad.txt:2" in err and "YYYY-MM-DD" in err
    assert snapshot(db_url) == before
