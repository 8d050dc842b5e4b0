"""Limits on rendering operator-edited templates, so that no override can halt the outbox.

An override is untrusted input that runs every time a notice of its message is rendered: by the
relay for each queued row and by ``templates set`` / ``templates check``. Each limit below turns
a runaway template into an ``InvalidTemplate`` for that one render (the relay then marks that
one row dead with the reason; the rest of the batch goes on):

* **Time** — a render involving an override runs in a separate worker process
  (``notifications.render_worker``) that the parent stops (SIGKILL) when it has not answered
  within ``RenderLimits.seconds`` (2 s by default; a notice normally renders in about a
  millisecond). This is the only limit that catches every kind of loop, including nested
  ``{% for %}`` loops over a list literal, which run without calling anything the sandbox sees.
* **Memory** — the worker runs under ``RLIMIT_AS`` (``memory_bytes``, 1 GiB); an allocation past
  it is a ``MemoryError`` in the worker, reported as a template error.
* **Output size** — each part (subject, text, HTML) of an override is rendered as a stream and
  refused as soon as it passes ``output_chars`` (256 Ki characters: a notice is a few KB).
* **Amplifying operations** — the sandbox (:class:`LimitedSandbox`) refuses, before computing
  them, ``*``/``+`` results longer than ``output_chars`` (``{{ "a"*10**7 }}``), ``**`` results
  beyond ``max_int_bits`` bits, and ``str`` method calls whose result could pass
  ``output_chars`` (``"a".center(10**9)``); any call's or built-in filter's result longer than
  that is refused too. ``range`` is already capped by Jinja2's sandbox (``MAX_RANGE``).
* **Recursion** — a ``RecursionError`` (a macro that calls itself) is a template error, never a
  crash of the process; so is a template too deeply nested to compile.

Overrides are also refused above ``source_chars`` (64 Ki characters) when saved.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import TemplateRuntimeError
from jinja2.filters import FILTERS as BUILTIN_FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

OUTPUT_CHARS = 256 * 1024


@dataclass(frozen=True)
class RenderLimits:
    """What one render of an operator override may use (see the module docstring)."""

    seconds: float = 2.0
    output_chars: int = OUTPUT_CHARS
    memory_bytes: int = 1024 * 1024 * 1024
    max_int_bits: int = 4096
    source_chars: int = 64 * 1024


DEFAULT_LIMITS = RenderLimits()


class LimitExceeded(TemplateRuntimeError):
    """A render went past one of the limits; a template error like any other."""


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


def _check_result(value: Any, limit: int, what: str) -> Any:
    if isinstance(value, (str, bytes, list, tuple, dict)) and len(value) > limit:
        raise LimitExceeded(f"{what} produced {len(value):,} items (limit {limit:,})")
    return value


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox that refuses amplifying operations before they allocate.

    Uses only the sandbox's documented extension points: ``intercepted_binops`` with
    ``call_binop``, and ``call`` (every call made by template code goes through it)."""

    intercepted_binops = frozenset({"*", "**", "+"})
    limits: RenderLimits = DEFAULT_LIMITS

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        cap = self.limits.output_chars
        if operator == "*":
            n = right if _size(left) else left if _size(right) else None
            if isinstance(n, int) and max(_size(left), _size(right)) * n > cap:
                raise LimitExceeded(
                    f"'*' would build {max(_size(left), _size(right)) * n:,} items (limit {cap:,})"
                )
        elif operator == "+":
            if _size(left) + _size(right) > cap:
                raise LimitExceeded(f"'+' would build {_size(left) + _size(right):,} items")
        elif (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right > 0
            and right * math.log2(abs(left)) > self.limits.max_int_bits
        ):
            raise LimitExceeded(
                f"'**' result would exceed {self.limits.max_int_bits} bits ({left}**{right})"
            )
        return _BINOPS[operator](left, right)

    def call(
        __self,  # noqa: N805 - the sandbox's own signature (keyword names stay free)
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_str_method(owner, args, kwargs, __self.limits.output_chars)
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_result(result, __self.limits.output_chars, "a call")


_BINOPS: Mapping[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "**": operator.pow,
    "+": operator.add,
}


def _check_str_method(owner: str, args: Iterable[Any], kwargs: Mapping[str, Any], cap: int) -> None:
    """A conservative bound on what a ``str`` method can return: ``len(s)`` times every sized
    argument (``replace``, ``join``), plus any integer argument (``center``, ``ljust``,
    ``zfill``)."""
    values = [*args, *kwargs.values()]
    estimate = len(owner) + 1
    for v in values:
        estimate *= 1 + _size(v)
    estimate += sum(v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0)
    if estimate > cap:
        raise LimitExceeded(f"str method call could build {estimate:,} characters (limit {cap:,})")


def guard_filters(filters: dict[str, Any], limits: RenderLimits) -> None:
    """Wrap Jinja2's built-in filters so that a result longer than the limit is refused
    (``functools.wraps`` keeps their ``pass_context``/``pass_eval_context`` markers)."""
    for name, fn in list(filters.items()):
        builtin: Callable[..., Any] | None = BUILTIN_FILTERS.get(name)
        if builtin is not None and builtin is fn:
            filters[name] = _guarded(builtin, name, limits.output_chars)


def _guarded(fn: Callable[..., Any], name: str, cap: int) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _check_result(fn(*args, **kwargs), cap, f"filter {name}")

    return wrapper


def capped_join(chunks: Iterable[str], limit: int, label: str) -> str:
    """Join a template's output stream, stopping as soon as it passes ``limit`` characters."""
    out: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise LimitExceeded(f"output of {label} passed {limit:,} characters")
        out.append(chunk)
    return "".join(out)
