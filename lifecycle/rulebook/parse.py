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
from lifecycle.validation_words import said

_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")

#: Limits checked before the TOML parser sees the text: a rulebook is a few kilobytes, and
#: the standard parser is slow or exhausts the stack on pathological input (a 200,000-part
#: dotted key takes a minute and gigabytes; arrays nested a thousand deep overflow the stack).
MAX_RULEBOOK_BYTES = 1_048_576
MAX_NESTING = 32
MAX_KEY_PARTS = 32
MAX_PROBLEMS = 20
_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_- \t")


def parse_rulebook(text: str, source: str = "<text>") -> Rulebook:
    """Parse and validate a rulebook; :class:`InvalidRulebook` lists every problem found as
    ``(key.path[index].field, what was expected)``, or the enclosing table for TOML syntax
    errors."""
    problem = _size_problem(text)
    if problem is not None:
        raise InvalidRulebook(source, [problem])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRulebook(source, [_syntax_problem(text, str(exc))]) from None
    except ValueError as exc:  # an integer longer than Python converts (4,300 digits)
        raise InvalidRulebook(source, [("<top level>", f"TOML value too large: {exc}")]) from None
    except RecursionError:
        raise InvalidRulebook(source, [("<top level>", "nested too deeply")]) from None
    try:
        rulebook = Rulebook.model_validate(data)
    except ValidationError as exc:
        raise InvalidRulebook(source, _validation_problems(exc)) from None
    except InvalidRulebook as exc:
        raise InvalidRulebook(source, exc.problems) from None
    except RecursionError:
        raise InvalidRulebook(source, [("<top level>", "nested too deeply")]) from None
    rulebook._source_text = text
    return rulebook


def _size_problem(text: str) -> tuple[str, str] | None:
    """The first limit ``text`` exceeds: its size, the nesting of its arrays and inline
    tables, the parts of one dotted key or table header. A lexical scan (strings and comments
    skipped), linear in the text."""
    if len(text) > MAX_RULEBOOK_BYTES or len(text.encode("utf-8")) > MAX_RULEBOOK_BYTES:
        return "<file>", f"larger than the limit of {MAX_RULEBOOK_BYTES:,} bytes"
    depth = dots = 0
    line = 1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "\"'":
            i = _skip_string(text, i)
            continue
        if ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return f"line {line}", f"arrays or tables nested deeper than {MAX_NESTING}"
        elif ch in "]}":
            depth = max(0, depth - 1)
        if ch == ".":
            dots += 1
            if dots >= MAX_KEY_PARTS:
                return f"line {line}", f"a dotted key or header of more than {MAX_KEY_PARTS} parts"
        elif ch not in _BARE_KEY:
            dots = 0
        if ch == "\n":
            line += 1
        i += 1
    return None


def _skip_string(text: str, start: int) -> int:
    """The index after the TOML string starting at ``start`` (or after its line, if open)."""
    quote = text[start]
    delimiter = quote * 3 if text.startswith(quote * 3, start) else quote
    escapes = quote == '"'
    i, n = start + len(delimiter), len(text)
    while i < n:
        if escapes and text[i] == "\\":
            i += 2
            continue
        if text.startswith(delimiter, i):
            return i + len(delimiter)
        if len(delimiter) == 1 and text[i] == "\n":
            return i
        i += 1
    return n


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
    errors = exc.errors(include_url=False)
    if len(errors) > MAX_PROBLEMS:
        more = len(errors) - MAX_PROBLEMS
        errors = errors[:MAX_PROBLEMS]
    else:
        more = 0
    for error in errors:
        loc = [part for part in error["loc"] if isinstance(part, (int, str))]
        message = said(error)  # "中文 / English"
        shown = error.get("input")
        if error["type"] not in ("missing", "extra_forbidden") and not isinstance(
            shown, (dict, list)
        ):
            message += f" (got {shown!r})"
        out.append((key_path(loc), message))
    if more:
        out.append(("…", f"and {more} more problem(s)"))
    return out
