"""A refusal names the command an operator types: every trigger a guard can refuse has a
command in ``TRIGGER_COMMANDS``, and every command named there exists in the CLI."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import typer.main

from entrypoints.cli import app
from entrypoints.cli.wording import TRIGGER_COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def _guarded_triggers() -> set[str]:
    """The literal triggers of every ``GuardFailed(tenancy, "trigger", rule)`` in workflows."""
    found: set[str] = set()
    for path in (ROOT / "workflows").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "GuardFailed"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                found.add(node.args[1].value)
    return found


def test_every_guarded_trigger_names_a_command() -> None:
    triggers = _guarded_triggers()
    assert {"retire_unit", "correct_unit", "decide_review"} <= triggers
    assert sorted(triggers - set(TRIGGER_COMMANDS)) == []


def test_every_named_command_exists() -> None:
    root: Any = typer.main.get_command(app)  # a group: its subcommands by name
    for trigger, typed in TRIGGER_COMMANDS.items():
        words = typed.split("（")[0].split(" / ")[0].split()
        command = root
        for word in words:
            if word.startswith("--"):
                break
            assert hasattr(command, "commands"), (trigger, typed)
            found = command.commands.get(word)
            assert found is not None, f"{trigger}: `innospace {typed}` is not a command"
            command = found
