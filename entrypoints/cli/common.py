"""Shared CLI plumbing: the app, global options, the lazily built application, output."""

from __future__ import annotations

import gc
import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.dates import EARLIEST_DATE, LATEST_DATE
from entrypoints.decoding import decode_input
from entrypoints.errors import exit_code
from lifecycle.errors import InnospaceError, InvalidInput

if TYPE_CHECKING:
    from entrypoints.bootstrap import App

app = typer.Typer(
    help="innospace — 科创空间入驻企业全生命周期管理 / tenant lifecycle engine for "
    "sci-tech innovation spaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class State:
    db: str | None = None
    app: App | None = None
    collection_paused: bool = False


STATE = State()


def pause_collection() -> None:
    """No garbage collection while the process starts (``main`` for its own command line):
    the start only imports modules and builds the application, long-lived objects all, and
    the collector walking them again and again costs 0.01–0.03 s of ``innospace list``."""
    if gc.isenabled():
        gc.disable()
        STATE.collection_paused = True


def started() -> None:
    """The command has started (its modules imported, its application built): collect
    garbage again, if :func:`pause_collection` paused it."""
    if STATE.collection_paused:
        STATE.collection_paused = False
        gc.enable()


@app.callback()
def _global(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="INNOSPACE_DATABASE_URL",
            help="数据库 / database: a SQLite path or URL, or postgresql+psycopg://… "
            "(default: sqlite:///innospace.db in the working directory)",
        ),
    ] = None,
) -> None:
    STATE.db = db
    STATE.app = None


def get_app(*, create: bool = False, frozen_clock_check: bool = True) -> App:
    """The application for this command. ``create``: the command may create the database
    (``init``, ``db upgrade``); any other refuses a SQLite file that does not exist (exit 3)
    rather than leave an empty one behind. A clock frozen by ``INNOSPACE_NOW`` is refused
    on a production database (exit 2)."""
    if STATE.app is None:
        from entrypoints.bootstrap import bootstrap

        STATE.app = bootstrap(database_url=STATE.db, create=create)
        if frozen_clock_check and STATE.app.settings.now is not None:
            require_training(STATE.app, "INNOSPACE_NOW")
        started()
    return STATE.app


def require_training(a: App, what: str) -> None:
    """Refuse ``what`` (a frozen or future clock) unless the database is a training one."""
    from db import meta

    with a.engine.connect() as conn:
        kind = meta.kind(conn)
    if kind != meta.TRAINING:
        raise InvalidInput(
            what,
            "生产数据库不允许模拟时钟，只有培训/模拟数据库（`innospace init --training`、"
            "演示库）可以 / a production database refuses a simulated clock: only a training "
            "database (`innospace init --training`, the demo's) may move time",
        )


TITLES = {
    "not_found": "不存在 / not found",
    "invalid_input": "输入无效 / invalid input",
    "invalid_rulebook": "规则文件无效 / invalid rulebook",
    "invalid_template": "模板无效 / invalid template",
    "transition_not_allowed": "当前状态不允许此操作 / not allowed in this state",
    "guard_failed": "规则不允许 / refused by a rule",
    "stale_tenancy": "已被他人修改 / changed by someone else",
    "already_exists": "已存在 / already exists",
    "conflict": "冲突 / conflict",
    "schedule_not_published": "节假日安排未公布 / holiday schedule not published",
    "calendar_error": "日期无法计算 / calendar error",
    "integrity_error": "数据完整性错误 / integrity error",
    "scheduler_error": "调度器错误 / scheduler error",
    "unauthorized": "未登录或凭据无效 / unauthorized",
    "too_many_attempts": "尝试过多 / too many attempts",
    "forbidden": "无权操作 / forbidden",
}


def echo_error(err: InnospaceError) -> None:
    from db.engine import redact_passwords
    from entrypoints.cli.wording import guard_refused, transition_refused
    from lifecycle.errors import GuardFailed, TransitionNotAllowed

    title = TITLES.get(err.code, err.code)
    message = err.message
    if isinstance(err, TransitionNotAllowed):
        message = transition_refused(err)
    elif isinstance(err, GuardFailed):
        message = guard_refused(err)
    field, rule = getattr(err, "field", None), getattr(err, "rule", None)
    if isinstance(err, InvalidInput) and isinstance(field, str) and isinstance(rule, str):
        from entrypoints.cli.wording import choice_refused

        message = choice_refused(field, rule, err.got) or message
    typer.echo(f"错误 [{title}] (exit {exit_code(err)}): {redact_passwords(message)}", err=True)


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(text if text is not None else _plain(data))


def _plain(data: Any) -> str:
    if isinstance(data, dict):
        return "\n".join(f"{k}: {shown(v)}" for k, v in data.items())
    return shown(data)


def shown(value: object) -> str:
    """A value as an operator reads it: nothing as "—", yes/no for a flag."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    from entrypoints.cli.wording import readable

    return readable(value)  # no dict, list or Decimal reaches a person as Python writes it


def parse_date(value: str, field: str) -> date:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            field, "须为日期，格式 YYYY-MM-DD / must be a date written YYYY-MM-DD", value
        ) from None
    return _in_range(parsed, field, value)


def parse_instant(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            field,
            "须为日期或日期时间，如 2026-01-31T09:00+08:00 / must be an ISO date or date-time, "
            "e.g. 2026-01-31T09:00+08:00",
            value,
        ) from None
    _in_range(parsed.date(), field, value)
    if parsed.tzinfo is None:
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return parsed.astimezone(UTC)


def _in_range(day: date, field: str, value: str) -> date:
    """Dates outside EARLIEST_DATE..LATEST_DATE are refused before any arithmetic on them."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise InvalidInput(
            field,
            f"须在 {EARLIEST_DATE} 至 {LATEST_DATE} 之间 / "
            f"must lie between {EARLIEST_DATE} and {LATEST_DATE}",
            value,
        )
    return day


def parse_pairs(values: list[str] | None, field: str) -> dict[str, Any]:
    """``key=value`` pairs; values become int, float, bool or stay text."""
    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(field, "每项须写成 键=值 / each item must be key=value", item)
        out[key.strip()] = _scalar(raw.strip())
    return out


def _scalar(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low in ("", "null", "none"):
        return None
    for kind in (_bounded_int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


#: The largest file a command reads (rulebooks, JSON profiles and figures, calendars,
#: templates): each is a few kilobytes; a bigger one is refused before it is read.
MAX_INPUT_BYTES = 1_048_576
#: How deep the arrays and objects of a JSON input file may nest.
MAX_JSON_DEPTH = 32


def read_file(path: str, field: str) -> str:
    """A text file's content: UTF-8 with or without a BOM, UTF-16 with a BOM, or GB18030/GBK
    (what Excel and Notepad save on Chinese Windows); a file that cannot be read is an
    InvalidInput naming ``field``."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as err:
        raise InvalidInput(field, f"cannot read file: {err.strerror or err}", path) from None
    except ValueError:  # a NUL in the path
        raise InvalidInput(field, "not a file name", path) from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InvalidInput(field, f"larger than the limit of {MAX_INPUT_BYTES:,} bytes", path)
    return decode_input(raw, field, path)


#: The longest free text an option takes (facts, grounds, a plan, evidence), in characters.
MAX_TEXT_CHARS = 20_000
#: Said in the help of every option :func:`long_input` reads.
TEXT_HELP = (
    "; @文件 读文件、- 读标准输入，至多 20,000 字 / @FILE reads a file, - stdin; "
    "at most 20,000 characters"
)


def long_input(value: str, field: str, limit: int = MAX_TEXT_CHARS) -> str:
    """A long text option: ``@FILE`` reads the file (encodings as :func:`read_file`), ``-``
    reads standard input, ``@@…`` is a text that starts with ``@``; at most ``limit``
    characters."""
    import sys

    if value == "-":
        stream = getattr(sys.stdin, "buffer", None)
        raw = stream.read(MAX_INPUT_BYTES + 1) if stream is not None else b""
        text = decode_input(raw, field, "stdin")
    elif value.startswith("@@"):
        text = value[1:]
    elif value.startswith("@"):
        text = read_file(value[1:], field)
    else:
        text = value
    text = text.strip()
    if len(text) > limit:
        raise InvalidInput(
            field,
            f"不得超过 {limit:,} 个字符 / at most {limit:,} characters",
            f"{len(text):,} characters",
        )
    return text


def load_json_file(path: str, field: str) -> dict[str, Any]:
    text = read_file(path, field)
    try:
        data = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as err:
        raise InvalidInput(
            field, f"not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}", path
        ) from None
    except RecursionError:
        raise InvalidInput(field, f"nested deeper than {MAX_JSON_DEPTH} levels", path) from None
    except ValueError as err:  # an integer of more than 4,300 digits
        raise InvalidInput(field, f"not valid JSON: {err}", path) from None
    if not isinstance(data, dict):
        raise InvalidInput(field, "must contain a JSON object", path)
    if _json_depth(data) > MAX_JSON_DEPTH:
        raise InvalidInput(field, f"nested deeper than {MAX_JSON_DEPTH} levels", path)
    return data


def _bounded_int(text: str) -> int:
    """A JSON or ``key=value`` integer; one beyond 64 bits cannot be stored (ValueError)."""
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"integer {text[:20]}… is out of the 64-bit range")
    return value


def _json_depth(value: object) -> int:
    """How deep ``value``'s lists and dicts nest (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _cli_actor(value: str) -> str:
    """``--actor NAME`` as the audit log records it: ``cli:<os user> NAME`` (the command line
    is run on the server by an operator; accounts act through the HTTP API)."""
    from workflows.identity import cli_actor

    return cli_actor(value)


# Options shared by every command that changes a tenancy.
Actor = Annotated[
    str,
    typer.Option(
        "--actor",
        help="操作人 / who acts (recorded in the audit log as cli:<os user> NAME)",
        callback=_cli_actor,
    ),
]
Version = Annotated[
    int | None,
    typer.Option(
        "--version", help="你看到的版本号 / the version you saw; refused if it changed since"
    ),
]
Reason = Annotated[str | None, typer.Option("--reason", help="理由 / reason (recorded)")]
Json = Annotated[bool, typer.Option("--json", help="JSON output")]
