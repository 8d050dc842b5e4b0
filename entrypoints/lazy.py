"""Modules a command imports when it first uses them, so that ``innospace --help`` and a
light command start without loading the engine, the rulebook and the notifications.

A CLI module writes ``queries = lazy("workflows.queries")`` (with the real import under
``TYPE_CHECKING`` for the type checker); the first attribute read imports the module.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for the module ``name``; imports it on the first attribute read."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


def lazy(name: str) -> Any:
    return LazyModule(name)
