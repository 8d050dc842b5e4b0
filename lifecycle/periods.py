"""Periods as the rulebook states them: an amount, a unit and a counting convention.

A period is data, not code: the rulebook says ``publicity = "5wd inclusive"`` or gives a table,
and :class:`lifecycle.calendar.WorkCalendar` turns it into a date. The counting convention is
part of the period because the law and real notices disagree (RULEBOOK §7): the Civil Code does
not count the day of the triggering event, while a publicity notice counts its first day.
Keeping the convention next to the amount means nobody has to remember it at the call site.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from lifecycle.errors import InvalidInput

__all__ = ["Counting", "Period", "PeriodUnit"]


class PeriodUnit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"


class Counting(StrEnum):
    """How the first day is treated.

    ``CIVIL``: the day of the event is not counted; the period starts the next day
    (民法典 Art. 201).
    ``INCLUSIVE``: the first day counts if it can count at all (a publicity notice published on a
    working day counts that day as day 1).
    """

    CIVIL = "civil"
    INCLUSIVE = "inclusive"


_SHORTHAND = re.compile(r"^\s*(\d+)\s*(wd|d|m)(?:\s+(civil|inclusive))?\s*$", re.IGNORECASE)
_UNIT_CODES = {
    "wd": PeriodUnit.WORKING_DAYS,
    "d": PeriodUnit.CALENDAR_DAYS,
    "m": PeriodUnit.MONTHS,
}

_ZH_UNITS = {
    PeriodUnit.WORKING_DAYS: "个工作日",
    PeriodUnit.CALENDAR_DAYS: "日",
    PeriodUnit.MONTHS: "个月",
}
_EN_UNITS = {
    PeriodUnit.WORKING_DAYS: ("working day", "working days"),
    PeriodUnit.CALENDAR_DAYS: ("calendar day", "calendar days"),
    PeriodUnit.MONTHS: ("month", "months"),
}


def _shorthand_fields(text: str) -> dict[str, Any]:
    """Split ``"5wd inclusive"`` into model fields; ValueError keeps pydantic's error path."""
    match = _SHORTHAND.match(text)
    if match is None:
        raise ValueError(
            f"period {text!r} is not '<amount><wd|d|m>' optionally followed by "
            "'civil' or 'inclusive' (e.g. '5wd', '90d', '6m', '5wd inclusive')"
        )
    amount, unit, counting = match.groups()
    fields: dict[str, Any] = {"amount": int(amount), "unit": _UNIT_CODES[unit.lower()]}
    if counting:
        fields["counting"] = Counting(counting.lower())
    return fields


class Period(BaseModel, frozen=True, extra="forbid"):
    """A rulebook period such as 5 working days, 90 calendar days or 6 months.

    Accepts either a table (``{amount = 5, unit = "working_days"}``) or the shorthand string
    (``"5wd"``, ``"90d"``, ``"6m"``, ``"5wd inclusive"``), so rulebooks stay short and readable.
    Frozen so that it can be shared, hashed and cached freely.
    """

    amount: int = Field(ge=0)
    unit: PeriodUnit
    counting: Counting = Counting.CIVIL
    label_zh: str | None = None
    label_en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return _shorthand_fields(data)
        return data

    @model_validator(mode="after")
    def _counting_fits_unit(self) -> Period:
        # "Inclusive" means "the first day is day 1"; it has no clear meaning for months and
        # an inclusive period of zero days would end before it starts. Refuse both at load time
        # rather than produce a surprising date months later.
        if self.counting is Counting.INCLUSIVE:
            if self.unit is PeriodUnit.MONTHS:
                raise ValueError("inclusive counting applies to day periods, not months")
            if self.amount == 0:
                raise ValueError("an inclusive period needs an amount of at least 1")
        return self

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse the shorthand; raises :class:`InvalidInput` (field ``period``) when malformed."""
        try:
            return cls.model_validate(text)
        except ValidationError as exc:
            reason = "; ".join(
                str(err["msg"]).removeprefix("Value error, ") for err in exc.errors()
            )
            raise InvalidInput("period", reason, text) from exc

    def describe(self, locale: str = "zh-CN") -> str:
        """Human wording for notices and traces; an explicit label wins over the generated one."""
        lang = locale.lower()
        if lang.startswith("zh"):
            if self.label_zh:
                return self.label_zh
            text = f"{self.amount}{_ZH_UNITS[self.unit]}"
            return text + "（含首日）" if self.counting is Counting.INCLUSIVE else text
        if lang.startswith("en"):
            if self.label_en:
                return self.label_en
            singular, plural = _EN_UNITS[self.unit]
            text = f"{self.amount} {singular if self.amount == 1 else plural}"
            return text + " (first day included)" if self.counting is Counting.INCLUSIVE else text
        raise InvalidInput("locale", "must be a zh-* or en-* locale", locale)

    def __str__(self) -> str:
        code = {v: k for k, v in _UNIT_CODES.items()}[self.unit]
        suffix = " inclusive" if self.counting is Counting.INCLUSIVE else ""
        return f"{self.amount}{code}{suffix}"
