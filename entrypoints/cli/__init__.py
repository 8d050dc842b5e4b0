"""``innospace``: the operators' command line (Typer).

Each command parses its input, calls one handler through the service and prints the result;
errors are mapped to exit codes in ``entrypoints.errors`` and printed as one line.
"""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import OperationalError

from entrypoints.cli import (  # noqa: F401  (importing registers the commands)
    admin,
    admission,
    checkpoint_ops,
    notify,
    ops,
    reads,
    residency,
    rules_ops,
)
from entrypoints.cli.common import STATE, app, echo_error
from entrypoints.errors import EXIT_DATABASE_UNAVAILABLE, exit_code
from lifecycle.errors import InnospaceError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="innospace")
    except InnospaceError as err:
        echo_error(err)
        raise SystemExit(exit_code(err)) from None
    except OperationalError as err:
        reason = str(err.orig).splitlines()[0] if err.orig is not None else str(err)
        typer.echo(f"错误 [数据库不可用 / database unavailable]: {reason}", err=True)
        raise SystemExit(EXIT_DATABASE_UNAVAILABLE) from None
    finally:
        if STATE.app is not None:
            STATE.app.engine.dispose()
            STATE.app = None


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
