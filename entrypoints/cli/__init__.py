"""``innospace``: the operators' command line (Typer).

Each command parses its input, calls one handler through the service and prints the result;
errors are mapped to exit codes in ``entrypoints.errors`` and printed as one line.
"""

from __future__ import annotations

import atexit
import copy
import functools
import gc
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
import typer.main
from typer._click import Command, Context, Parameter
from typer.models import CommandInfo, TyperInfo

from entrypoints.cli import (  # noqa: F401  (importing registers the commands)
    admin,
    admission,
    checkpoint_ops,
    corrections,
    district,
    forms_ops,
    integrations,
    notify,
    opportunity,
    ops,
    quarterly,
    reads,
    residency,
    rules_ops,
    serve,
    users,
)
from entrypoints.cli.common import STATE, app, echo_error, pause_collection, started
from entrypoints.dates import EARLIEST_DATE, LATEST_DATE
from entrypoints.errors import EXIT_DATABASE_UNAVAILABLE, EXIT_INTERNAL_ERROR, exit_code
from lifecycle.errors import InnospaceError

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

__all__ = ["app", "command", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the command line ``argv`` (default: this process's, ``sys.argv``)."""
    if argv is None:
        # The process's own command line (the console script): the process ends when this
        # returns. No collection until the command has started (``common.started``); and
        # Python's last one would walk every object the imports made (0.06 s once SQLAlchemy
        # is loaded): frozen, they are left to the process's exit.
        pause_collection()
        atexit.register(gc.freeze)
    try:
        args = sys.argv[1:] if argv is None else argv
        # Not standalone: Click's usage errors come back here, to be said Chinese first
        # (Typer's own box is English only). The exit is still always SystemExit, as it
        # is standalone: a command's own exit code, else 0.
        done = command(named_command(args)).main(
            args=args, prog_name="innospace", standalone_mode=False
        )
        raise SystemExit(done if isinstance(done, int) else 0)
    except typer.Abort:
        typer.echo("已中止 / aborted", err=True)
        raise SystemExit(1) from None
    except InnospaceError as err:
        echo_error(err)
        raise SystemExit(exit_code(err)) from None
    except Exception as err:  # a bug: one line and exit 1, never a traceback
        if _usage_error(err):
            raise SystemExit(USAGE_EXIT) from None
        from sqlalchemy.exc import DBAPIError  # imported when needed: a fast start

        if isinstance(err, DBAPIError):
            raise SystemExit(_database_error(err)) from None
        raise SystemExit(_internal_error(err)) from None
    finally:
        started()
        if STATE.app is not None:
            STATE.app.engine.dispose()
            STATE.app = None


@functools.cache
def command(only: str | None = None) -> Command:
    """The command Typer builds from ``app``, its integers bounded: a year (``--period``,
    ``--year``) to the supported dates, any other integer to what the database stores (64
    bits); no text holds a NUL. Out of range is a usage error naming the parameter (exit 2),
    for every command.

    ``only``: the top-level command (or group) the command line names; the others are left
    out. Typer inspects every parameter of every command it builds (about 0.1 s for all of
    them): a command line that runs one command builds only that one (:func:`named_command`).
    """
    built = typer.main.get_command(app if only is None else _only(only))
    from entrypoints.cli.wording import complete_help

    complete_help(built)
    pending: list[Command] = [built]
    while pending:
        cmd = pending.pop()
        pending.extend(getattr(cmd, "commands", {}).values())
        for param in cmd.params:
            years = param.name in ("period", "year")
            param.callback = _bounded(param.callback, *(_YEARS if years else _STORED))
    return built


def _names(typer_app: typer.Typer) -> dict[str, CommandInfo | TyperInfo]:
    """``typer_app``'s top-level commands and groups by the name they are typed as."""
    names: dict[str, CommandInfo | TyperInfo] = {}
    for info in typer_app.registered_commands:
        callback = info.callback
        assert callback is not None
        names[info.name or typer.main.get_command_name(callback.__name__)] = info
    for group in typer_app.registered_groups:
        name = typer.main.solve_typer_info_defaults(group).name
        if name:
            names[name] = group
    return names


def named_command(args: list[str]) -> str | None:
    """The top-level command ``args`` run, if it names one (after the global ``--db``);
    None for the root's help, no command, or a name that is not a command (whose error
    lists them all)."""
    at = 0
    while at < len(args):
        arg = args[at]
        if arg == "--db":
            at += 2
        elif arg.startswith("--db="):
            at += 1
        elif arg.startswith("-"):
            return None  # --help, or an option the root refuses: the whole tree answers
        else:
            return arg if arg in _names(app) else None
    return None


def _only(name: str) -> typer.Typer:
    """``app`` with its callback (the global options) and the command or group ``name``."""
    info = _names(app)[name]
    pruned = copy.copy(app)
    pruned.registered_commands = [info] if isinstance(info, CommandInfo) else []
    pruned.registered_groups = [info] if isinstance(info, TyperInfo) else []
    return pruned


_YEARS = (EARLIEST_DATE.year, LATEST_DATE.year)
_STORED = (-(2**63), 2**63 - 1)
Callback = Callable[[Context, Parameter, Any], Any]


def _bounded(inner: Callback | None, low: int, high: int) -> Callback:
    def check(ctx: Context, param: Parameter, value: Any) -> Any:
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, int) and not isinstance(item, bool) and not low <= item <= high:
                raise typer.BadParameter(f"{item} is not in the range {low}..{high}")
            if isinstance(item, str) and "\x00" in item:  # no file name or text holds one
                raise typer.BadParameter("must not contain a NUL character")
        return inner(ctx, param, value) if inner is not None else value

    return check


#: Click's exit code for a command line it refuses (a usage error).
USAGE_EXIT = 2


def _usage_error(err: Exception) -> bool:
    """Say a command line Click refused Chinese first, if ``err`` is that: Click's usage
    errors (an unknown option or command, a missing or invalid parameter) carry exit code 2
    and ``format_message()`` (Click's documented ``ClickException`` interface; Typer keeps
    the classes to itself). The parameter is named, Click's own words follow."""
    message = getattr(err, "format_message", None)
    if getattr(err, "exit_code", None) != USAGE_EXIT or not callable(message):
        return False
    from db.engine import redact_passwords

    param = getattr(err, "param", None)
    hint = " / ".join(getattr(param, "opts", None) or [getattr(param, "name", "") or ""])
    if isinstance(err, typer.BadParameter) and param is not None:
        missing = "Missing" in type(err).__name__
        zh = f"缺少参数 {hint}" if missing else f"参数 {hint} 的值无效"
    elif type(err).__name__ == "NoSuchOption":
        zh = f"没有选项 {getattr(err, 'option_name', '')}"
    else:
        zh = "命令用法有误"
    ctx = getattr(err, "ctx", None)
    where = getattr(ctx, "command_path", None) or "innospace"
    typer.echo(
        f"错误 [用法 / usage] (exit {USAGE_EXIT}): {zh} / {redact_passwords(str(message()))}\n"
        f"  用法说明 / help: {where} --help",
        err=True,
    )
    return True


def _database_error(err: DBAPIError) -> int:
    """The driver's error: the database cannot be reached (exit 10), holds no innospace schema
    or an older one (exit 3), or, on a current schema, a bug (exit 1)."""
    from sqlalchemy.exc import OperationalError

    from db.engine import redact, redact_passwords

    where = redact(STATE.app.engine.url) if STATE.app is not None else "the database"
    schema = _schema_problem(where)
    if schema is not None:
        typer.echo(f"错误 [不存在 / not found] (exit 3): {schema}", err=True)
        return 3
    if isinstance(err, OperationalError) or err.connection_invalidated:
        reason = str(err.orig).strip().splitlines()[0] if err.orig is not None else str(err)
        typer.echo(
            f"错误 [数据库不可用 / database unavailable] (exit {EXIT_DATABASE_UNAVAILABLE}): "
            f"{where}: {redact_passwords(reason)}",
            err=True,
        )
        return EXIT_DATABASE_UNAVAILABLE
    return _internal_error(err)


def _schema_problem(where: str) -> str | None:
    """Why the database is not one innospace can use, if that is the reason; None when the
    schema is current or the database cannot be asked."""
    if STATE.app is None:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    from db import migrate

    try:
        revision = migrate.current(STATE.app.engine)
    except SQLAlchemyError:
        return None
    if revision is None:
        return f"no innospace database at {where} — run `innospace init`"
    expected = migrate.head()
    if revision != expected:
        return (
            f"the innospace database at {where} is at revision {revision}, this version needs "
            f"{expected} — run `innospace init`"
        )
    return None


def _internal_error(err: BaseException) -> int:
    """An exception no code path expected: a bug. Say which, in one line (the traceback with
    INNOSPACE_LOG_LEVEL=DEBUG), and exit 1."""
    from db.engine import redact_passwords

    detail = redact_passwords(" ".join(str(err).split()))
    if len(detail) > 300:
        detail = detail[:299] + "…"
    log = logging.getLogger("innospace")
    log.debug("internal error", exc_info=err)
    typer.echo(
        f"错误 [内部错误 / internal error] (exit {EXIT_INTERNAL_ERROR}): "
        f"{type(err).__name__}: {detail or '(no message)'} — a bug; please report it "
        "(INNOSPACE_LOG_LEVEL=DEBUG shows where)",
        err=True,
    )
    return EXIT_INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
