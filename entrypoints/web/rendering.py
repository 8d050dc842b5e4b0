"""The console's Jinja2 environment: bilingual text, Asia/Shanghai times, 元 with separators.

Text in templates is written in both languages at the place it is shown, ``{{ _("仪表盘",
"Dashboard") }}``: the page's language (``zh`` by default, ``en`` by the switch) picks one.
Messages from the engine are ``"中文 / English"`` strings; :func:`pick` takes the half for
the page. No Python value reaches a person: the environment's ``finalize`` turns ``None`` into
"—" and a boolean into 是/否 (Yes/No).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from lifecycle.table import STATE_LABELS
from workflows import identity, vocabulary

TEMPLATES = Path(__file__).parent / "templates"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LANGS = ("zh", "en")

DASH = "—"


def pick(message: object, lang: str) -> str:
    """The ``lang`` half of a ``"中文 / English"`` message (the whole text when it has one
    language only)."""
    text = str(message)
    zh, sep, en = text.partition(" / ")
    if not sep:
        return text
    return zh if lang == "zh" else en


def when(value: object) -> str:
    """A date as ``2024-03-04``; an instant in Asia/Shanghai as ``2024-03-04 09:00``."""
    if value is None or value == "":
        return DASH
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.strftime("%Y-%m-%d %H:%M")
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def day(value: object) -> str:
    """The day only (Asia/Shanghai for an instant)."""
    text = when(value)
    return text[:10] if text != DASH else text


def number(value: object, places: int = 0) -> str:
    """``1234567.5`` → ``1,234,568`` (``places`` decimals)."""
    if value is None or value == "":
        return DASH
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return f"{amount:,.{places}f}"


def size(value: object) -> str:
    """A file's size as a person reads it: ``512 B``, ``12.3 KiB``, ``1.5 MiB``."""
    try:
        count = int(str(value))
    except ValueError:
        return DASH
    if count < 1024:
        return f"{count:,} B"
    if count < 1024 * 1024:
        return f"{count / 1024:,.1f} KiB"
    return f"{count / (1024 * 1024):,.1f} MiB"


def yuan(value: object, lang: str = "zh") -> str:
    """An amount in 元: ``1,234,567.00 元`` (``CNY 1,234,567.00`` in English)."""
    text = number(value, 2)
    if text == DASH:
        return text
    return f"{text} 元" if lang == "zh" else f"CNY {text}"


def area(value: object) -> str:
    text = number(value, 2)
    return text if text == DASH else f"{text} m²"


def percent(value: object, places: int = 1) -> str:
    if value is None:
        return DASH
    return f"{float(str(value)) * 100:.{places}f}%"


def _finalize(value: Any) -> Any:
    if value is None:
        return DASH
    if value is True:
        return "✓"
    if value is False:
        return "✗"
    return value


@pass_context
def _say(context: Context, zh: str, en: str | None = None) -> str:
    if en is None or context.get("lang", "zh") == "zh":
        return zh
    return en


@pass_context
def _word(context: Context, table: Mapping[str, tuple[str, str]], code: object) -> str:
    """The ``lang`` words of ``code`` in a table of :mod:`workflows.vocabulary` (the code
    itself when the table does not know it)."""
    zh, en = vocabulary.words(table, None if code is None else str(code))
    return zh if context.get("lang", "zh") == "zh" else en


@pass_context
def _pick(context: Context, message: object) -> str:
    return pick(message, str(context.get("lang", "zh")))


@pass_context
def _state(context: Context, state: object) -> str:
    labels = STATE_LABELS.get(str(state))
    if labels is None:
        return str(state) if state is not None else DASH
    return labels[0] if context.get("lang", "zh") == "zh" else labels[1]


@pass_context
def _deadline(context: Context, kind: object) -> str:
    labels = vocabulary.DEADLINES.get(str(kind))
    if labels is None:
        return str(kind).replace("_", " ")
    return labels[0] if context.get("lang", "zh") == "zh" else labels[1]


@pass_context
def _yuan(context: Context, value: object) -> str:
    return yuan(value, str(context.get("lang", "zh")))


@pass_context
def _who(context: Context, actor: object) -> str:
    """Who acted, as a person reads it: the engine as 系统 / system, an account or the CLI by
    the name given (``account:7 王芳`` → 王芳), anyone else as recorded."""
    if actor is None:
        return DASH
    if actor == "system":
        return "系统" if context.get("lang", "zh") == "zh" else "system"
    return identity.actor_name(str(actor)) or str(actor)


@pass_context
def _yes_no(context: Context, value: object) -> str:
    zh = context.get("lang", "zh") == "zh"
    if value is None:
        return DASH
    return ("是" if value else "否") if zh else ("Yes" if value else "No")


@cache
def environment() -> Environment:
    """One environment for the process (templates are compiled once and cached)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "j2")),
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["_"] = _say
    env.globals["pick"] = _pick
    env.globals["word"] = _word
    env.globals["vocabulary"] = vocabulary
    env.filters.update(
        when=when,
        day=day,
        number=number,
        size=size,
        area=area,
        percent=percent,
        yuan=_yuan,
        state=_state,
        deadline=_deadline,
        yes_no=_yes_no,
        who=_who,
        pick=_pick,
    )
    return env
