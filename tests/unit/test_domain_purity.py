"""Import contract: the domain does no I/O, reads no clock; only lifecycle uses transitions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_ALLOWED = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "functools",
    "itertools",
    "typing",
    "zoneinfo",
    "hashlib",
    "json",
    "orjson",
    "cryptography",  # Ed25519 sign/verify of audit checkpoints (no I/O)
    "math",
    "re",
    "calendar",
    "tomllib",
    "pydantic",
    "transitions",
    "stdnum",
    "chinese_calendar",
    "holidays",
    "lifecycle",
}
CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", _modules("lifecycle"), ids=lambda p: p.name)
def test_the_domain_imports_nothing_that_does_io(path: Path) -> None:
    assert _imports(path) <= DOMAIN_ALLOWED, _imports(path) - DOMAIN_ALLOWED


@pytest.mark.parametrize(
    "path", _modules("lifecycle") + _modules("workflows"), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_domain_and_workflows_never_read_the_wall_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and (owner.id, node.func.attr) in CLOCK_READS:
                pytest.fail(
                    f"{path.name}:{node.lineno} reads the clock: {owner.id}.{node.func.attr}()"
                )


def test_only_the_machine_module_imports_transitions() -> None:
    users = [
        p
        for pkg in ("lifecycle", "workflows", "notifications", "db", "entrypoints")
        for p in _modules(pkg)
        if "transitions" in _imports(p)
    ]
    assert [p.name for p in users] == ["machine.py"]
