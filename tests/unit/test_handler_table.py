"""The one handler table (``entrypoints.bootstrap.HANDLERS``): every command has a handler,
named there and imported only when a command of its type is first dispatched (issue 13: one
explicit table, not registration as an import side effect; issue 14 item 18: a fast start).
The Core stand-ins the fast reads (``workflows.queries_core``, ``db.meta``) name their columns
with match the table models."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator

import pytest
from sqlalchemy import TableClause

import workflows
from db import meta
from db.tables import ALL_TABLES
from entrypoints.bootstrap import HANDLERS
from entrypoints.lazy import LazyHandlers, resolve
from workflows import queries_core
from workflows.commands import Command, TenancyCommand


def _subclasses(cls: type[Command]) -> Iterator[type[Command]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _every_command() -> set[type[Command]]:
    """Every command class the workflows define (a command may live beside its handler)."""
    for module in pkgutil.iter_modules(workflows.__path__):
        importlib.import_module(f"workflows.{module.name}")
    return set(_subclasses(Command)) - {TenancyCommand}


def test_every_command_has_a_handler_and_every_handler_a_command() -> None:
    commands = _every_command()
    assert commands, "no command found"
    assert sorted(c.__qualname__ for c in commands - set(HANDLERS)) == []
    assert set(HANDLERS) <= commands
    assert len(HANDLERS) == len(commands)


def test_every_entry_names_a_command_class_and_a_function() -> None:
    assert isinstance(HANDLERS, LazyHandlers)
    for command_name, handler_name in HANDLERS.names().items():
        command_type = resolve(command_name)
        assert inspect.isclass(command_type) and issubclass(command_type, Command), command_name
        handler = resolve(handler_name)
        assert inspect.isfunction(handler), handler_name
        assert HANDLERS[command_type] is handler
        assert len(inspect.signature(handler).parameters) == 2, handler_name  # (work, command)


def test_a_command_not_in_the_table_has_no_handler() -> None:
    class Unlisted(Command):
        pass

    assert HANDLERS.get(Unlisted) is None
    assert Unlisted not in HANDLERS
    with pytest.raises(KeyError):
        HANDLERS[Unlisted]


def test_a_handler_is_imported_when_its_command_is_first_looked_up() -> None:
    table = LazyHandlers({"workflows.commands:Apply": "tests.unit.no_such_module:apply"})
    from workflows.commands import Apply

    assert len(table) == 1  # naming the table imports nothing
    with pytest.raises(ModuleNotFoundError):
        table[Apply]


@pytest.mark.parametrize(
    "stand_in", [*queries_core.STAND_INS, *meta.STAND_INS], ids=lambda t: str(t.name)
)
def test_the_core_stand_ins_match_the_table_models(stand_in: TableClause) -> None:
    model = ALL_TABLES.tables[stand_in.name]
    for column in stand_in.columns:
        assert column.name in model.columns, f"{stand_in.name}.{column.name}"
        real = model.columns[column.name].type
        real = getattr(real, "impl_instance", real)  # a TypeDecorator (SQLModel's AutoString)
        assert isinstance(real, type(column.type)), f"{stand_in.name}.{column.name}: {real!r}"
