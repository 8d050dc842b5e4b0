"""Sending a command from a route: ``Idempotency-Key``, ``If-Match``, and request bodies
derived from the command dataclasses (unknown fields refused, values bounded)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
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


def _no_flag(kind: str, english: str) -> BeforeValidator:
    """Refuses ``true``/``false`` where a number is asked for (pydantic's lax mode takes
    ``true`` as 1): the error has pydantic's type, so it is said like pydantic's own."""

    def refuse(value: object) -> object:
        if isinstance(value, bool):
            raise PydanticCustomError(kind, english)
        return value

    return BeforeValidator(refuse)


NOT_INT = _no_flag("int_type", "Input should be a valid integer, not true or false")
NOT_FLOAT = _no_flag("float_type", "Input should be a valid number, not true or false")
Int64 = Annotated[int, NOT_INT, Field(ge=-(2**63), le=2**63 - 1)]
Year = Annotated[int, NOT_INT, Field(ge=EARLIEST_DATE.year, le=LATEST_DATE.year)]
Number = Annotated[float, NOT_FLOAT, Field(ge=-1e15, le=1e15, allow_inf_nan=False)]
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
ENVELOPE = frozenset({"actor", "tenancy_id", "expected_version"})


def bounded(tp: Any, name: str = "") -> Any:
    """``tp`` with the API's bounds: text, 64-bit integers, years, finite numbers, dates."""
    origin = get_origin(tp)
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
        if f.default is not dataclasses.MISSING:
            fields[f.name] = (tp, Field(default=f.default))
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (tp, Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (tp, ...)
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
