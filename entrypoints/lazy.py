"""Modules a command imports when it first uses them, so that ``innospace --help`` and a
light command start without loading the engine, the rulebook and the notifications.

A CLI module writes ``queries = lazy("workflows.queries")`` (with the real import under
``TYPE_CHECKING`` for the type checker); the first attribute read imports the module. The
composition root's handler table names its handlers the same way (:class:`LazyHandlers`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.commands import Command
    from workflows.service import Handler


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


def resolve(path: str) -> Any:
    """The object ``path`` names, ``"package.module:attribute"``; imports the module."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


class LazyHandlers(Mapping["type[Command]", "Handler"]):
    """The handler table (command type -> handler) written as names, ``"module:attribute"``
    on both sides. A handler's module is imported when a command of that type is first
    looked up, so that a command which dispatches nothing (``innospace list``) loads no
    workflow; iterating the table imports every command's module (the handlers stay lazy
    until looked up)."""

    __slots__ = ("_names", "_handlers")

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = dict(names)
        self._handlers: dict[type[Command], Handler] = {}

    def __getitem__(self, command_type: type[Command]) -> Handler:
        handler = self._handlers.get(command_type)
        if handler is None:
            module = getattr(command_type, "__module__", "")
            name = f"{module}:{getattr(command_type, '__qualname__', '')}"
            if name not in self._names or resolve(name) is not command_type:
                raise KeyError(command_type)
            handler = self._handlers[command_type] = resolve(self._names[name])
        return handler

    def __iter__(self) -> Iterator[type[Command]]:
        return (resolve(name) for name in self._names)

    def __len__(self) -> int:
        return len(self._names)

    def names(self) -> Mapping[str, str]:
        """The table as written: command -> handler, both ``"module:attribute"``."""
        return dict(self._names)
