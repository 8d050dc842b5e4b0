"""`innospace quarterly`: a firm's quarter filed from a JSON file or inline JSON, and the
quarter's filings listed per space (filed, late, not yet, missing), on SQLite and PostgreSQL."""

from __future__ import annotations

import random

from e2e.cli_support import Cli
from e2e.test_cli_lifecycle import AFTER_PUBLICITY, admitted_firm, space  # noqa: F401

FIGURES = {"revenue_yuan": 900000, "tax_paid_yuan": 45000, "headcount": 12, "rd_spend_yuan": 80000}


def residents(cli: Cli, rng: random.Random, *units: str) -> list[int]:
    """Firms admitted together, then each signed for a unit from April 2024."""
    ids = [admitted_firm(cli, rng)[1] for _ in units]
    cli.at(AFTER_PUBLICITY)
    cli.ok("tick")
    for t, unit in zip(ids, units, strict=True):
        cli.ok(
            "sign", str(t), "--unit", unit, "--from", "2024-04-01", "--to", "2027-03-31",
            "--deposit", "20000",
        )  # fmt: skip
    return ids


def test_a_quarter_is_filed_and_listed_as_filed_late_and_missing(cli: Cli, space: str) -> None:  # noqa: F811
    rng = random.Random(5)
    early, late, silent = residents(cli, rng, "A-101", "A-102", "L-201")
    cli.at("2024-07-03T10:00+08:00")
    path = cli.file("q2.json", FIGURES)
    step = cli.json(
        "quarterly", "submit", str(early), "--year", "2024", "--quarter", "2", "--figures", path
    )
    assert step["trigger"] == "submit_quarterly_report"
    again = cli.ok(
        "quarterly", "submit", str(early), "--year", "2024", "--quarter", "2", "--figures", path
    )
    assert (
        "2024 年第 2 季度：按时报送（更正此前的报送" in again and "on time (a correction" in again
    )
    before = cli.json("quarterly", "list", "--space", "MC3", "--year", "2024", "--quarter", "2")
    assert before[0]["counts"] == {"filed": 1, "late": 0, "awaiting": 2, "missing": 0}

    cli.at("2024-07-30T10:00+08:00")  # after the due date
    text = cli.ok(
        "quarterly", "submit", str(late), "--year", "2024", "--quarter", "2",
        "--figures", '{"revenue_yuan": 1, "tax_paid_yuan": 0, "headcount": 3, "rd_spend_yuan": 0}',
    )  # fmt: skip
    assert "quarterly submit" in text or str(late) in text
    assert "2024 年第 2 季度：逾期报送（首次报送）" in text and "2024 Q2: late, due" in text
    [listed] = cli.json("quarterly", "list", "--space", "MC3", "--year", "2024", "--quarter", "2")
    assert {f["tenancy_id"]: f["status"] for f in listed["filings"]} == {
        early: "filed",
        late: "late",
        silent: "missing",
    }
    words = cli.ok("quarterly", "list", "--year", "2024", "--quarter", "2")
    assert "逾期未报送 / missing (overdue)" in words and "已按时报送 / filed on time" in words
    assert "None" not in words


def test_bad_quarters_and_figures_are_refused_naming_the_field(cli: Cli, space: str) -> None:  # noqa: F811
    rng = random.Random(6)
    [t] = residents(cli, rng, "A-101")
    cli.at("2024-07-03T10:00+08:00")
    not_over = cli.refused(
        2, "quarterly", "submit", str(t), "--year", "2024", "--quarter", "3",
        "--figures", '{"revenue_yuan": 1}',
    )  # fmt: skip
    assert "quarter" in not_over and "尚未结束" in not_over
    bad = cli.refused(
        2, "quarterly", "submit", str(t), "--year", "2024", "--quarter", "2",
        "--figures", '{"revenue_yuan": -5, "headcount": 1.5}',
    )  # fmt: skip
    assert "figures.revenue_yuan" in bad and "figures.headcount" in bad
    assert "figures" in cli.refused(
        2, "quarterly", "submit", str(t), "--year", "2024", "--quarter", "2", "--figures", "{oops"
    )


def test_a_quarter_due_in_a_year_not_published_is_filed_and_listed_provisionally(
    cli: Cli,
    space: str,  # noqa: F811
) -> None:
    """No 2027 holiday schedule: 2026 Q4 is still filed and listed, its due date the unrolled
    calendar date (31 December + 15 days), said to be provisional."""
    rng = random.Random(7)
    filer, silent = residents(cli, rng, "A-101", "A-102")
    cli.at("2027-01-12T10:00+08:00")
    cli.ok("quarterly", "submit", str(filer), "--year", "2026", "--quarter", "4",
           "--figures", cli.file("q4.json", FIGURES))  # fmt: skip
    [listed] = cli.json("quarterly", "list", "--space", "MC3", "--year", "2026", "--quarter", "4")
    assert (listed["due_on"], listed["due_provisional"]) == ("2027-01-15", True)
    assert {f["tenancy_id"]: f["status"] for f in listed["filings"]} == {
        filer: "filed",
        silent: "awaiting",
    }
    words = cli.ok("quarterly", "list")
    assert "2027 年放假安排未公布，截止日暂按日历日计" in words and "None" not in words
