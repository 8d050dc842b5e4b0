"""Checks of what an operator types, applied by the handler that takes it (never later).

Each refusal is an :class:`InvalidInput` naming the field and the rule, Chinese first.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, TypeVar

from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from workflows.commands import Command

C = TypeVar("C", bound="Command")

#: The longest name (a firm, a space, a contact, an industry) and the longest free text (the
#: facts of a violation, the grounds of an objection, a plan, a reason), in characters.
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 20_000
#: The largest amount in 元 (a deposit, arrears, damages): 1,000 亿 — more is a typing slip.
MAX_AMOUNT_YUAN = Decimal("100000000000")
#: The largest area of one unit or one agreement, in m².
MAX_AREA_M2 = 1_000_000.0


def _emoji(ch: str) -> bool:
    code = ord(ch)
    return (
        0x1F000 <= code <= 0x1FAFF  # pictographs, emoticons, transport, symbols
        or 0x2600 <= code <= 0x27BF  # miscellaneous symbols and dingbats
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or code == 0x200D  # zero-width joiner of emoji sequences
    )


def check_name(field: str, value: str, *, limit: int = MAX_NAME_CHARS) -> str:
    """A name trimmed; refused when empty, longer than ``limit`` characters, or holding a
    control character, a line break or an emoji."""
    text = value.strip()
    if not text:
        raise InvalidInput(field, "不得为空 / must not be empty")
    if len(text) > limit:
        raise InvalidInput(
            field, f"不得超过 {limit} 个字符 / at most {limit} characters", f"{text[:20]}…"
        )
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and not _emoji(ch):
            raise InvalidInput(
                field, "不得含控制字符或换行 / must not contain control characters", text
            )
        if _emoji(ch):
            raise InvalidInput(field, "不得含表情符号 / must not contain emoji", text)
    return text


def check_optional_name(field: str, value: str | None) -> str | None:
    return None if value is None else check_name(field, value)


#: Characters that reorder how the text around them is shown (bidirectional controls): with
#: U+202E a text can read other than what it says.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: The control characters a free text may hold: tab and line breaks.
TEXT_CONTROLS = frozenset("\t\n\r")


def check_text(field: str, value: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    """A free text (facts, grounds, a plan, a description): at most ``limit`` characters, no
    NUL, no control character but tab and line breaks, no bidirectional control."""
    if len(value) > limit:
        raise InvalidInput(
            field,
            f"不得超过 {limit:,} 个字符 / at most {limit:,} characters",
            f"{len(value):,} chars",
        )
    if "\x00" in value:
        raise InvalidInput(field, "不得含 NUL 字符 / must not contain a NUL character")
    for ch in value:
        if ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and ch not in TEXT_CONTROLS):
            raise InvalidInput(
                field,
                "不得含控制字符（可以换行） / must not contain control characters "
                "(line breaks are fine)",
                f"U+{ord(ch):04X}",
            )
    return value


#: An amount is kept to the fen: ``1e3`` is stored and shown as ``1000.00``, not ``1E+3``.
CENT = Decimal("0.01")


def check_amount(field: str, value: object) -> Decimal:
    """An amount in 元: a finite number, >= 0, at most 2 decimals, at most MAX_AMOUNT_YUAN;
    returned as written plainly with its 2 decimals (``1e3`` → ``1000.00``)."""
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise InvalidInput(field, "须为有限数值（元） / must be a finite amount in yuan", value)
    if amount < 0:
        raise InvalidInput(field, "不得为负数 / must be >= 0 (yuan)", value)
    if amount > MAX_AMOUNT_YUAN:
        raise InvalidInput(
            field, f"不得超过 {MAX_AMOUNT_YUAN:,} 元 / at most {MAX_AMOUNT_YUAN:,} yuan", value
        )
    if amount != amount.quantize(CENT):
        raise InvalidInput(field, "最多两位小数 / at most 2 decimals (fen)", value)
    return amount.copy_abs().quantize(CENT)  # -0 is 0.00


def check_area(field: str, value: float) -> float:
    """An area in m²: finite, > 0, at most MAX_AREA_M2; rounded to 0.01."""
    if not math.isfinite(value):
        raise InvalidInput(field, "须为有限数值（m²） / must be a finite area in m²", value)
    if not round(value, 2) > 0:  # 0.004 m² would be stored as 0
        raise InvalidInput(field, "须大于 0 / must be greater than 0 (m²)", value)
    if value > MAX_AREA_M2:
        raise InvalidInput(
            field, f"不得超过 {MAX_AREA_M2:,.0f} m² / at most {MAX_AREA_M2:,.0f} m²", value
        )
    return round(value, 2)


def check_term(start: date, end: date, today: date) -> None:
    """An agreement term ends after it starts and is not wholly in the past."""
    if end <= start:
        raise InvalidInput(
            "term_end", "到期日须晚于起租日 / must be after term_start", end.isoformat()
        )
    if end < today:
        raise InvalidInput(
            "term_end",
            f"租期已全部过去（今天 {today}） / the term lies wholly in the past (today {today})",
            end.isoformat(),
        )


#: The free texts and the names a command may carry, by field name: checked for every
#: command when it is handled, whichever entry point sent it (CLI, HTTP, a form import).
TEXT_FIELDS = frozenset(
    {"reason", "items", "grounds", "plan", "facts", "evidence", "proof_of_service"}
)
#: A name's field and its longest length: who acts (the audit log keeps 100 characters), a
#: reviewer, who lodged an objection, a document's reference.
NAME_FIELDS: dict[str, int] = {"actor": 100, "reviewer": 100, "by": 100, "document": 200}


def checked_command(command: C) -> C:
    """``command`` with its names trimmed; an :class:`InvalidInput` naming the first field
    that breaks its rule (a text too long or holding a NUL; a name empty, too long, or
    holding a control character or an emoji)."""
    changes: dict[str, str] = {}
    for f in dataclass_fields(command):
        value = getattr(command, f.name)
        if not isinstance(value, str):
            continue
        if f.name in TEXT_FIELDS:
            check_text(f.name, value)
        elif f.name in NAME_FIELDS:
            name = check_name(f.name, value, limit=NAME_FIELDS[f.name])
            if name != value:
                changes[f.name] = name
    return replace(command, **changes) if changes else command


def check_in_term(
    field: str,
    value: object,
    span: tuple[date, date],
    term: tuple[date | None, date | None],
    *,
    what: tuple[str, str],
    refused_zh: str,
) -> None:
    """Refuse ``value`` of ``field`` (a year or a quarter: the days ``span``) unless the
    tenancy's ``term`` (start, end: None for none) covers some day of it; ``what`` names it
    (``2025 年第 3 季度``, ``2025 Q3 is not a quarter``), ``refused_zh`` says what follows."""
    (first, last), (start, end) = span, term
    if start is not None and start <= last and (end is None or end >= first):
        return
    if start is None:
        zh, en = "尚未开始", "has not begun"
    elif start > last:
        zh, en = f"始于 {start}", f"began on {start}"
    else:
        zh, en = f"止于 {end}", f"ended on {end}"
    raise InvalidInput(
        field,
        f"入驻期{zh}，{what[0]}不在租期内，{refused_zh} / the term {en}: {what[1]} of the tenancy",
        value,
    )
