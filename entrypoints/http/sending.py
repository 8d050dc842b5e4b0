"""Sending a command from a route: ``Idempotency-Key``, ``If-Match``, and request bodies
derived from the command dataclasses (unknown fields refused, values bounded)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
import types
from datetime import date
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from entrypoints.dates import EARLIEST_DATE, LATEST_DATE
from entrypoints.http.deps import Ctx
from entrypoints.http.problems import HttpProblem
from lifecycle.errors import InvalidInput
from workflows.commands import Command
from workflows.idempotency import Idempotent, KeyInUse, Stored, body_of

IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Text fields: at most this many characters, no NUL (no database stores one).
TEXT_MAX = 20_000
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=r"^[^\x00]*$")]
#: A rulebook's or a template's source (the body limit bounds it too).
LongText = Annotated[str, StringConstraints(max_length=500_000, pattern=r"^[^\x00]*$")]


def _json_number(kind: str, english: str) -> BeforeValidator:
    """Refuses ``true``/``false`` and text where a number is asked for: pydantic's lax mode
    takes ``true`` as 1 and ``"80"`` as 80, and a client that sends either has a bug. Only a
    JSON body's numbers are this strict: a query's or a path's come as text (their own types,
    ``QueryYear``), and the console's and portal's HTML forms are read on their own path."""

    def refuse(value: object) -> object:
        if isinstance(value, bool):
            raise PydanticCustomError(kind, english + ", not true or false")
        if isinstance(value, str) and _numeric(value):
            raise PydanticCustomError(f"{kind}_not_text", english + ", not text (no quotes)")
        return value  # other text: pydantic's own "not a number" (``"lots"``)

    return BeforeValidator(refuse)


def _numeric(text: str) -> bool:
    """Whether ``text`` reads as a number (``"80"``, ``" 1e3 "``): a number sent as text."""
    try:
        float(text)
    except ValueError:
        return False
    return True


NOT_INT = _json_number("int_type", "Input should be a valid integer")
NOT_FLOAT = _json_number("float_type", "Input should be a valid number")
Int64 = Annotated[int, NOT_INT, Field(ge=-(2**63), le=2**63 - 1)]
Year = Annotated[int, NOT_INT, Field(ge=EARLIEST_DATE.year, le=LATEST_DATE.year)]
#: A year in a query (``?year=2025``): text by nature, read as a whole number.
QueryYear = Annotated[int, Field(ge=EARLIEST_DATE.year, le=LATEST_DATE.year)]
Number = Annotated[float, NOT_FLOAT, Field(ge=-1e15, le=1e15, allow_inf_nan=False)]


#: An amount as the API itself writes one (``"1000.50"``): plain digits, at most 2 decimals.
AMOUNT_TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")


def _amount_text(value: object) -> object:
    """A JSON number of 元 handed on as its plain decimal text (``1000.5`` → ``"1000.5"``),
    for ``inputs.check_amount`` to keep to the fen. Text is taken only as the API writes an
    amount in its answers (``"1000.50"``: plain digits, at most 2 decimals), so an amount read
    from the API can be sent back as it came; other text (``"1e3"``, ``"1,000"``, ``" 80"``)
    and yes/no are refused as for a number."""
    if isinstance(value, bool):
        raise PydanticCustomError("float_type", "Input should be a valid number, not true or false")
    if isinstance(value, str):
        if AMOUNT_TEXT.fullmatch(value):
            return value
        raise PydanticCustomError(
            "float_type_not_text", "Input should be a valid number, not text (no quotes)"
        )
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same number
    if isinstance(value, int):
        return str(value)
    return value


#: An amount of 元 to the fen: a JSON number (at most 15 significant digits read back exactly;
#: the largest amount, 1,000 亿 to the fen, has 13) or the plain decimal text the API answers
#: with (``"1000.50"``), so a client may send back an amount as it read it.
Amount = Annotated[
    str,
    BeforeValidator(_amount_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 100_000_000_000},
                {"type": "string", "pattern": f"^{AMOUNT_TEXT.pattern}$"},
            ]
        }
    ),
]
#: What each body field with a number says of it in the OpenAPI document (the rule above).
NUMBER_NOTES: dict[str, str] = {
    "amount_yuan": "金额（元），最多两位小数（到分）：JSON 数值（如 1000.5），或与本接口返回的写法"
    '相同的数字文本（如 "1000.50"） / the amount in yuan, at most 2 decimals (fen): a JSON '
    'number (1000.5) or decimal text as the API writes amounts ("1000.50"); not "1e3" or '
    '"1,000"',
    "deposit_yuan": "押金（元，整数），JSON 数值，不加引号 / the deposit in whole yuan, a JSON "
    "integer, not text",
    "arrears_yuan": "欠缴租金及费用（元，整数），JSON 数值，不加引号 / arrears in whole yuan, a "
    "JSON integer, not text",
    "damage_yuan": "损坏赔偿（元，整数），JSON 数值，不加引号 / damages in whole yuan, a JSON "
    "integer, not text",
    "scores": "各评分项得分，JSON 数值，不加引号 / each criterion's score, a JSON number, not text",
    "figures": "年度考核数据：数值字段为 JSON 数值（不加引号，如 1200000），是/否字段为 true 或 "
    'false / the year\'s figures: a number is a JSON number (1200000, not "1200000"), a '
    "yes/no field true or false",
    "profile": "申请资料：数值字段为 JSON 数值（不加引号），是/否字段为 true 或 false，日期为 "
    "YYYY-MM-DD / the application's facts: a number is a JSON number (not text), a yes/no "
    "field true or false, a date YYYY-MM-DD",
}
#: A yes/no field: JSON ``true`` or ``false`` only (not ``"yes"``, ``1`` or ``"on"``).
Flag = Annotated[bool, Strict()]


def _in_range(day: date) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"须在 {EARLIEST_DATE} 至 {LATEST_DATE} 之间 / must lie between "
            f"{EARLIEST_DATE} and {LATEST_DATE}"
        )
    return day


Day = Annotated[date, AfterValidator(_in_range)]
#: The fields the entry point fills, never a body's: who acts, the tenancy and its version,
#: and ``json_typed`` (a JSON body's figures or profile: set by the route, always true).
ENVELOPE = frozenset({"actor", "tenancy_id", "expected_version", "json_typed"})


def bounded(tp: Any, name: str = "") -> Any:
    """``tp`` with the API's bounds: text, 64-bit integers, years, finite numbers, dates."""
    origin = get_origin(tp)
    if tp is str and name == "amount_yuan":
        return Amount
    if tp is str:
        return Text
    if tp is bool:
        return Flag
    if tp is int:
        return Year if name in ("period", "year") else Int64
    if tp is float:
        return Number
    if tp is date:
        return Day
    if origin in (Union, types.UnionType):
        args = tuple(bounded(a, name) for a in get_args(tp))
        return Union[args]  # noqa: UP007 - built from a tuple
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = bounded(args[0], name)
            return tuple[item, ...]  # type: ignore[valid-type]
    if origin is dict:
        key, value = get_args(tp)
        if value is Any:
            return dict[Text, Any]
        return dict[Text, bounded(value, name)]  # type: ignore[misc]
    return tp


def body_model(
    command_type: type[Command], *, exclude: frozenset[str] = frozenset(), name: str = ""
) -> type[BaseModel]:
    """The request body of ``command_type``: its own fields and ``reason``, bounded, with
    unknown fields refused (``extra="forbid"``)."""
    hints = get_type_hints(command_type)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(command_type):
        if f.name in ENVELOPE or f.name in exclude:
            continue
        tp = bounded(hints[f.name], f.name)
        note = NUMBER_NOTES.get(f.name)
        if f.default is not dataclasses.MISSING:
            fields[f.name] = (tp, Field(default=f.default, description=note))
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (tp, Field(default_factory=f.default_factory, description=note))
        else:
            fields[f.name] = (tp, Field(description=note))
    model: type[BaseModel] = create_model(
        name or f"{command_type.__name__}Body",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )
    return model


def if_match(ctx: Ctx) -> int:
    """The version named by ``If-Match`` (``"7"``, ``W/"7"`` or ``7``); 428 when missing."""
    raw = ctx.request.headers.get("if-match")
    if raw is None:
        raise HttpProblem(
            428,
            "precondition_required",
            "修改租户须带 If-Match（GET 返回的 ETag） / changing a tenancy needs If-Match "
            "(the ETag a GET returned)",
        )
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput("If-Match", 'must be an ETag such as "7"', raw)
    return int(value)


def fingerprint(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def send(
    ctx: Ctx,
    command: Command,
    *,
    payload: Any = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Send ``command``; with an ``Idempotency-Key``, once per key (a retry gets the stored
    response, header ``Idempotent-Replayed: true``)."""
    key = ctx.request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or ctx.request.method != "POST":
        result = body_of(ctx.handle(command))
        return _response(result, status, headers)
    wrapped = Idempotent(
        key=key,
        owner=_owner(ctx),
        request=f"{ctx.request.method} {ctx.request.url.path}"[:300],
        body_sha256=fingerprint(payload),
        status=status,
        command=command,
        actor=ctx.actor,
    )
    stored: Stored | None = None
    for attempt in range(5):
        try:
            stored = ctx.handle(wrapped)
            break
        except KeyInUse:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    assert stored is not None
    extra = dict(headers or {})
    if stored.replayed:
        extra["Idempotent-Replayed"] = "true"
        if isinstance(stored.body, dict) and "version" in stored.body and "ETag" in extra:
            extra["ETag"] = f'"{stored.body["version"]}"'
    return _response(stored.body, stored.status, extra)


def _owner(ctx: Ctx) -> str:
    p = ctx.principal
    return f"{p.via}:{p.account_id}:{p.token_id or ''}"[:100]


def _response(body: Any, status: int, headers: dict[str, str] | None) -> JSONResponse:
    out = dict(headers or {})
    if isinstance(body, dict) and "version" in body and "tenancy_id" in body:
        out["ETag"] = f'"{body["version"]}"'
    return JSONResponse(body, status_code=status, headers=out)
