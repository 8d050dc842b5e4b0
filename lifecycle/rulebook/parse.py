"""TOML text -> validated :class:`Rulebook`, every problem named by file and key path.

``parse_rulebook`` takes text, never a path: reading files is the workflows' business. The
result carries its own version (sha256 of the UTF-8 text) and the text itself
(``Rulebook.version``, ``Rulebook.source_text``), so the workflows can store both.
"""

from __future__ import annotations

import re
import tomllib

from pydantic import ValidationError

from lifecycle.errors import InvalidRulebook
from lifecycle.rulebook._base import key_path
from lifecycle.rulebook.model import Rulebook

_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")


def parse_rulebook(text: str, source: str = "<text>") -> Rulebook:
    """Parse and validate a rulebook; :class:`InvalidRulebook` lists every problem found as
    ``(key.path[index].field, what was expected)``, or the enclosing table for TOML syntax
    errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRulebook(source, [_syntax_problem(text, str(exc))]) from None
    try:
        rulebook = Rulebook.model_validate(data)
    except ValidationError as exc:
        raise InvalidRulebook(source, _validation_problems(exc)) from None
    except InvalidRulebook as exc:
        raise InvalidRulebook(source, exc.problems) from None
    rulebook._source_text = text
    return rulebook


def _syntax_problem(text: str, message: str) -> tuple[str, str]:
    """TOML syntax errors carry only a line: name the table the line is in."""
    match = _POSITION.search(message)
    table = "<top level>"
    if match:
        line = int(match.group(1))
        for candidate in reversed(text.splitlines()[: line - 1]):
            header = _HEADER.match(candidate)
            if header:
                table = header.group(1)
                break
    return table, f"TOML syntax error: {message}"


def _validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if isinstance(part, (int, str))]
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = error.get("input")
        if error["type"] not in ("missing", "extra_forbidden") and not isinstance(
            shown, (dict, list)
        ):
            message += f" (got {shown!r})"
        out.append((key_path(loc), message))
    return out
