"""``core_repository``: a Protocol's methods bound to a module's read functions, run on the
unit of work's connection asked for at each call; a function that does not fit the protocol
is refused when the repository is made (mypy does not see through the binding)."""

from __future__ import annotations

from typing import Any, Protocol

import pytest

from db.repositories import core_repository


class Notes(Protocol):
    def note(self, note_id: int, *, lock: bool = False) -> str | None: ...
    def count(self) -> int: ...


def note(conn: Any, note_id: int, *, lock: bool = False) -> str | None:
    """A note by id."""
    return f"{conn}:{note_id}:{lock}"


def note_count(conn: Any) -> int:
    return len(conn)


def test_each_method_runs_its_function_on_the_connection_asked_for_at_each_call() -> None:
    connections = iter(["first", "second"])
    notes = core_repository(Notes, {"note": note}, count=note_count)(lambda: next(connections))
    assert notes.note(7, lock=True) == "first:7:True"
    assert notes.count() == len("second")
    assert type(notes).__name__ == "CoreNotes"
    assert type(notes).note.__doc__ == "A note by id."


def test_a_method_without_a_function_is_refused() -> None:
    with pytest.raises(TypeError, match=r"CoreNotes\.count: no function count\(\)"):
        core_repository(Notes, {"note": note})


def test_a_function_for_no_method_of_the_protocol_is_refused() -> None:
    with pytest.raises(TypeError, match=r"Notes has no \['size'\]"):
        core_repository(Notes, {"note": note}, count=note_count, size=note_count)


def test_a_function_whose_parameters_differ_from_the_protocols_is_refused() -> None:
    def other_note(conn: Any, note_id: int, lock: bool = False) -> str | None:
        return None

    with pytest.raises(TypeError, match=r"CoreNotes\.note: other_note"):
        core_repository(Notes, {"note": other_note}, count=note_count)


def test_a_function_whose_return_differs_from_the_protocols_is_refused() -> None:
    def count(conn: Any) -> float:
        return 0.0

    with pytest.raises(TypeError, match=r"count\(\) -> 'float' is not count\(\) -> 'int'"):
        core_repository(Notes, {"note": note, "count": count})
