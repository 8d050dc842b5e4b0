"""CLI start (issue 14, item 18): ``innospace --help`` imports only what the help needs.

The start time itself is a bench line (``python -m bench --only CLI``), not a timed test; this
test holds the cause: the database layer, the engine's workflows, the rulebook and the
notifications are imported when a command runs, never to print the help.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
