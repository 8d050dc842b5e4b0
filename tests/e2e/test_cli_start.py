"""CLI start (issue 14, item 18): ``innospace --help`` and ``innospace list`` import only what
they need.

The start time itself is a bench line (``python -m bench --only CLI``), not a timed test; these
tests hold the cause: the database layer, the engine's workflows, the rulebook and the
notifications are imported when a command runs, never to print the help; ``list`` reads
through SQLAlchemy Core alone (no ORM, no table models, no workflow, no handler).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date
from typing import Any

from e2e.cli_support import Cli

from entrypoints.bootstrap import HANDLERS
from entrypoints.demo_data import good_profile, make_uscc

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "pydantic_settings",
    "db.tables",
    "entrypoints.bootstrap",
    "entrypoints.settings",
    "workflows.core",
    "workflows.queries",
    "lifecycle.rulebook",
    "notifications",
    "openpyxl",
    "jinja2",
)

PROBE = """
import contextlib, io, json, sys
from entrypoints.cli import main
for argv in (["--help"], ["list", "--help"], ["audit", "keygen", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit:
            pass
print(json.dumps(sorted(sys.modules)))
"""


def test_help_does_not_import_the_engine() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert not [m for m in HEAVY if m in loaded], sorted(m for m in HEAVY if m in loaded)


#: What ``innospace list`` must not import: the ORM and the table models, pydantic-settings,
#: the unit of work, the engine's core, the command classes and every handler's module, the
#: rulebook, the calendar, the notifications, Excel, templates, migrations, the rich help.
LIST_HEAVY = (
    "sqlmodel",
    "sqlalchemy.orm",
    "pydantic_settings",
    "db.tables",
    "db.uow",
    "db.migrate",
    "alembic",
    "workflows.core",
    "workflows.queries",
    "workflows.commands",
    # every handler's module (the table's own, which runs an Idempotency-Key's command, aside)
    *sorted(
        {name.partition(":")[0] for name in HANDLERS.names().values()} - {"entrypoints.bootstrap"}
    ),
    "lifecycle.rulebook",
    "lifecycle.calendar",
    "holidays",
    "notifications",
    "openpyxl",
    "jinja2",
    "rich",
)

LIST_PROBE = """
import contextlib, io, json, sys
from entrypoints.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:])
    except SystemExit as exit_:
        assert not exit_.code, exit_.code
print(json.dumps({"out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _list(db: str, *args: str) -> tuple[list[dict[str, Any]], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", LIST_PROBE, "--db", db, "list", "--json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=dict(os.environ),  # INNOSPACE_NOW as the test set it: a training database's clock
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return json.loads(result["out"]), set(result["modules"])


def test_list_reads_through_core_without_the_engine(cli: Cli) -> None:
    cli.ok("space", "create", "MC3", "成都医学城三医创新中心")
    cli.ok("unit", "add", "MC3", "A-101", "--kind", "office", "--area", "120")
    uscc = make_uscc(random.Random(18))
    cli.ok("firm", "add", "--name", "峰际生物", "--uscc", uscc, "--industry", "pharma")
    profile = cli.file("profile.json", good_profile(date(2024, 3, 4)))
    tenancy = cli.json("apply", uscc, "MC3", "--area", "120", "--profile", profile)
    rows, loaded = _list(cli.db, "--state", "applied", "--firm", uscc.lower())
    assert [(r["id"], r["firm"], r["uscc"], r["space"], r["state"]) for r in rows] == [
        (tenancy["tenancy_id"], "峰际生物", uscc, "MC3", "applied")
    ]
    assert rows == cli.json("list", "--state", "applied")  # the same rows as in-process
    assert not [m for m in LIST_HEAVY if m in loaded], sorted(m for m in LIST_HEAVY if m in loaded)
