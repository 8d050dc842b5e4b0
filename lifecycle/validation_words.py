"""pydantic's validation errors said Chinese first: ``须为整数 / Input should be a valid integer``.

pydantic words its errors in English only. Each error carries a stable ``type`` (``missing``,
``int_parsing``, ``greater_than_equal`` …) and the limits in ``ctx``; the Chinese is chosen by
that type, never by matching the English text, and pydantic's own message follows it. A type
not listed keeps pydantic's message alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lifecycle.errors import rule_words

_CJK = re.compile(r"[\u4e00-\u9fff]")

#: The Chinese for an error type; ``{name}`` is a value of the error's ``ctx``.
ZH: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不认识的字段（拼写错误或多余）",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "int_from_float": "须为整数，不能有小数",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "int_type_not_text": "须为整数（JSON 数值，不加引号）",
    "float_type_not_text": "须为数字（JSON 数值，不加引号）",
    "decimal_parsing": "须为数字",
    "decimal_type": "须为数字",
    "decimal_max_places": "小数位数过多（最多 {decimal_places} 位）",
    "finite_number": "须为有限数值",
    "bool_parsing": "须为 true 或 false（是/否）",
    "bool_type": "须为 true 或 false（是/否）",
    "string_type": "须为文字",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "至多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符合要求",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须不大于 {le}",
    "multiple_of": "须为 {multiple_of} 的倍数",
    "literal_error": "须为以下之一：{expected}",
    "enum": "须为以下之一：{expected}",
    "date_parsing": "须为日期，格式 YYYY-MM-DD",
    "date_from_datetime_parsing": "须为日期，格式 YYYY-MM-DD",
    "date_type": "须为日期，格式 YYYY-MM-DD",
    "datetime_parsing": "须为带时区的时间，如 2024-03-04T09:00+08:00",
    "datetime_from_date_parsing": "须为带时区的时间，如 2024-03-04T09:00+08:00",
    "datetime_type": "须为带时区的时间，如 2024-03-04T09:00+08:00",
    "timezone_aware": "须带时区，如 +08:00",
    "too_short": "至少 {min_length} 项",
    "too_long": "至多 {max_length} 项",
    "list_type": "须为列表",
    "dict_type": "须为对象（键值对）",
    "model_type": "须为对象（键值对）",
    "model_attributes_type": "须为对象（键值对）",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "url_parsing": "不是有效的网址",
    "value_error": "取值无效",  # the validator's own rule, when RULE_WORDS has it
    "assertion_error": "取值无效",
}


def said(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as ``中文 / English``."""
    english = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    template = ZH.get(str(error.get("type", "")))
    if template is None or _CJK.search(english):  # unknown, or our own words already
        return english
    if template == ZH["value_error"] and (ours := rule_words(english)):  # a validator's rule
        return f"{ours} / {english}"
    ctx = {k: _shown(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        zh = template.format(**ctx)
    except (KeyError, IndexError):  # a limit pydantic did not give: the words without it
        zh = template.split("{", 1)[0].rstrip("（：( ") or template
    return f"{zh} / {english}"


def _shown(value: object) -> str:
    """A limit as a person writes it: ``0`` (not ``0.0``), ``'a' or 'b'`` → ``a、b``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if " or " in text or "," in text:
        parts = [p.strip().strip("'\"") for p in text.replace(" or ", ",").split(",")]
        return "、".join(p for p in parts if p)
    return text.strip("'\"")
