"""Jinja2 filters for Chinese notice conventions (dates, yuan amounts, grade and code labels).

Context values arrive as JSON (dates are ISO strings), so every filter accepts the ISO form as
well as the Python object. Filters read the message locale from the template context, which
the renderer always sets, so a template writes ``{{ due_on | date }}`` in either language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context

LOCALES: tuple[str, ...] = ("zh-CN", "en")
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")  # instants are shown as the space's local date
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EMPTY = "—"

GRADE_LABELS: dict[str, tuple[str, str]] = {
    "A": ("优秀", "Excellent"),
    "B": ("良好", "Good"),
    "C": ("合格", "Satisfactory"),
    "D": ("不合格", "Unsatisfactory"),
}

# Codes that reach notices; an unknown code is shown as is rather than failing the message.
# Exit types and consequences read as on every page (workflows.vocabulary, which this layer
# cannot import; tests/unit/test_words_vocabulary.py holds the two alike).
CODE_LABELS: dict[str, tuple[str, str]] = {
    "graduation": ("毕业退出", "graduation"),
    "term_expiry": ("期满退出", "term expiry"),
    "voluntary": ("自愿退出", "voluntary exit"),
    "forced": ("强制退出", "forced exit"),
    "none": ("无", "none"),
    "renewal_priority": ("续租优先", "renewal priority"),
    "rectification": ("限期整改", "rectification"),
    "forced_exit": ("强制退出", "forced exit"),
    "incubation": ("孵化", "incubation"),
    "acceleration": ("加速", "acceleration"),
    "deposit_yuan": ("押金", "deposit"),
    "prepaid_rent_yuan": ("预付租金", "prepaid rent"),
    "arrears_yuan": ("欠缴租金及费用", "arrears"),
    "damage_yuan": ("损坏赔偿", "damage"),
    "clawback_yuan": ("追回优惠", "benefits clawed back"),
    "refund_yuan": ("应退金额", "refund due"),
    "payable_yuan": ("应补缴金额", "amount payable"),
    # operator_digest counts
    "pending_decisions": ("待决事项", "decisions pending"),
    "overdue_reviews": ("逾期未报考核", "reviews overdue"),
    "dead_messages": ("投递失败消息", "undeliverable messages"),
    "due_today": ("今日到期", "due today"),
}


def normalize_locale(locale: str | None) -> str:
    """Map whatever a firm row says (``en-US``, ``zh``, ``None``) to a shipped locale."""
    return "en" if (locale or "").lower().startswith("en") else "zh-CN"


def _is_en(ctx: Context) -> bool:
    return str(ctx.get("locale", "zh-CN")).startswith("en")


def to_date(value: Any) -> date | None:
    """An ISO string, date or aware datetime as a local date (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(DISPLAY_TZ).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return to_date(datetime.fromisoformat(text))


def format_date(value: Any, locale: str) -> str:
    if isinstance(value, str):
        return _format_iso_date(value, locale.startswith("en"))
    return _format_day(to_date(value), locale.startswith("en"))


@lru_cache(maxsize=4096)
def _format_iso_date(value: str, en: bool) -> str:
    # A cohort's notices share a handful of dates: parse each ISO string once per process.
    return _format_day(to_date(value), en)


def _format_day(day: date | None, en: bool) -> str:
    if day is None:
        return EMPTY
    if en:
        return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def format_amount(value: Any, locale: str) -> str:
    if value is None or value == "":
        return EMPTY
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    sign, digits = ("-", -amount) if amount < 0 else ("", amount)
    text = f"{digits:,.2f}"
    return f"{sign}{text} yuan" if locale.startswith("en") else f"{sign}{text}元"


def format_number(value: Any, places: int = 1) -> str:
    if value is None or value == "":
        return EMPTY
    return f"{Decimal(str(value)).quantize(Decimal(1).scaleb(-places)):,}"


def _pick(table: dict[str, tuple[str, str]], code: Any, en: bool) -> str:
    if code is None:
        return EMPTY
    pair = table.get(str(code))
    return str(code) if pair is None else pair[1 if en else 0]


@pass_context
def date_filter(ctx: Context, value: Any) -> str:
    return format_date(value, "en" if _is_en(ctx) else "zh-CN")


@pass_context
def yuan_filter(ctx: Context, value: Any) -> str:
    return format_amount(value, "en" if _is_en(ctx) else "zh-CN")


@pass_context
def grade_filter(ctx: Context, code: Any) -> str:
    return _pick(GRADE_LABELS, code, _is_en(ctx))


@pass_context
def label_filter(ctx: Context, code: Any) -> str:
    return _pick(CODE_LABELS, code, _is_en(ctx))


@pass_context
def state_filter(ctx: Context, state: Any) -> str:
    from lifecycle.table import STATE_LABELS

    return _pick(STATE_LABELS, state, _is_en(ctx))


@pass_context
def pick_filter(ctx: Context, zh: Any, en: Any) -> str:
    """``{{ label_zh | pick(label_en) }}``: the text for the message language."""
    chosen = en if _is_en(ctx) and en not in (None, "") else zh
    return EMPTY if chosen is None else str(chosen)


@pass_context
def field_filter(ctx: Context, value: Any, key: str = "") -> str:
    """Show one value of a free-form dict (a settlement): amounts by key, yes/no, lists."""
    en = _is_en(ctx)
    if key.endswith("_yuan"):
        return format_amount(value, "en" if en else "zh-CN")
    if isinstance(value, bool):
        return ("yes" if value else "no") if en else ("是" if value else "否")
    if value is None:
        return EMPTY
    if isinstance(value, (list, tuple)):
        return (", " if en else "、").join(str(v) for v in value) or EMPTY
    return str(value)


FILTERS: dict[str, Callable[..., str]] = {
    "date": date_filter,
    "yuan": yuan_filter,
    "grade": grade_filter,
    "label": label_filter,
    "state": state_filter,
    "pick": pick_filter,
    "num": format_number,
    "field": field_filter,
}
