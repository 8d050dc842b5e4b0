"""Shared building blocks of the rulebook package: the frozen model base, constrained types,
key-path formatting, exact numbers and plain month arithmetic. No I/O, no clock."""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from lifecycle.errors import InvalidInput
from lifecycle.periods import Period

# Structural constants (not policy numbers): scores are out of 100 and percentages of 100.
FULL_SCORE = 100
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class Model(BaseModel):
    """Base of every rulebook model: unknown keys are errors and values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
NonNegDecimal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Percent = Annotated[int, Field(ge=0, le=100)]
Label = Annotated[str, Field(min_length=1)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
RuleId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


def key_path(loc: Sequence[int | str]) -> str:
    """``("review", "categories", 0, "items")`` -> ``"review.categories[0].items"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def to_decimal(value: object, field: str) -> Decimal:
    """An exact Decimal from an int, Decimal, float (via its repr) or numeric string.

    Booleans, NaN and infinities are refused with :class:`InvalidInput` naming ``field``.
    """
    if isinstance(value, bool):
        raise InvalidInput(field, "must be a number, not a yes/no value", value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(field, "must be a finite number", value)
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidInput(field, "must be a number", value) from None
    else:
        raise InvalidInput(field, "must be a number", value)
    if not result.is_finite():
        raise InvalidInput(field, "must be a finite number", value)
    return result


def plain(value: Decimal) -> Decimal:
    """``value`` written plainly, as a person reads a figure: a whole number without an
    exponent or decimals (``1E+3``, ``100000.0`` and ``3.00`` as ``1000``, ``100000`` and
    ``3``), a fraction without trailing zeros (``1.50`` as ``1.5``). Values beyond the decimal
    context's 28 digits (far past the figures' bound) are returned as they are."""
    if value.adjusted() >= 28:
        return value
    if not value:
        return Decimal(0)  # -0 and 0.00 alike
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def quantize(value: Decimal, step: Decimal = CENT) -> Decimal:
    """Round half up (the rounding of Chinese forms) to ``step``."""
    return value.quantize(step, rounding=ROUND_HALF_UP)


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of a shorter month (plain calendar)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def whole_months_between(start: date, end: date) -> int:
    """Completed calendar months from ``start`` to ``end`` (``end`` >= ``start``)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


def jsonable(value: Any) -> Any:
    """JSON-safe copy with a stable key order: Decimals become exact strings, dates ISO text,
    sets sorted lists, mappings sorted by key, pydantic models their JSON dump."""
    kind = type(value)  # the exact types a trace is made of first, without isinstance
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is Decimal:
        return str(value)
    if kind is dict:
        out: dict[str, Any] = {}
        for k in sorted(value, key=str):
            v = value[k]
            t = type(v)  # the leaves of a trace's figures, inline (most of its values)
            if t is str or t is int or t is bool or v is None:
                out[str(k)] = v
            elif t is Decimal:
                out[str(k)] = str(v)
            else:
                out[str(k)] = jsonable(v)
        return out
    if kind is list or kind is tuple:
        return [jsonable(v) for v in value]
    if kind is float:
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="json"))
    return str(value)
