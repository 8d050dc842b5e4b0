"""Operations: the scheduler process, opening a review cycle by hand, retrying deadlines."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from entrypoints.cli.common import Actor, Json, Reason, app, emit, get_app
from entrypoints.cli.reads import deadlines_app
from entrypoints.lazy import lazy
from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from workflows import commands as c
else:
    c = lazy("workflows.commands")

cycle_app = typer.Typer(help="考核周期 / review cycles", no_args_is_help=True)
app.add_typer(cycle_app, name="cycle")


@app.command("scheduler")
def scheduler_cmd(
    log_level: Annotated[
        str,
        typer.Option("--log-level", help="日志级别 / DEBUG | INFO | WARNING (logs go to stderr)"),
    ] = "INFO",
) -> None:
    """运行调度器 / run the scheduler until SIGTERM: deadlines, review cycles, digest, outbox.

    Timing: INNOSPACE_SWEEP_, _RELAY_, _CYCLE_INTERVAL_SECONDS and INNOSPACE_DIGEST_CRON.

    One per database: PostgreSQL standbys wait; SQLite refuses a second one (exit 9).
    """
    from entrypoints.scheduler import SchedulerProcess
    from entrypoints.ticks import load_settings

    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise InvalidInput("log-level", "must be DEBUG, INFO, WARNING or ERROR", log_level)
    a = get_app()
    logging.getLogger("innospace").setLevel(level)
    process = SchedulerProcess(a, load_settings())
    with _stop_on_signals(process.request_stop):
        process.run()


@contextmanager
def _stop_on_signals(stop: Callable[[str], None]) -> Iterator[None]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@cycle_app.command("open")
def cycle_open(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    period: Annotated[int, typer.Option("--period", help="考核年度 / the year reviewed")],
    chunk: Annotated[int, typer.Option(help="每个事务的企业数 / tenancies per transaction")] = 500,
    as_json: Json = False,
) -> None:
    """为空间内全部在孵企业启动年度考核 / open the period's review for every active tenancy.

    Idempotent and resumable: tenancies that already have the review are skipped.
    """
    from workflows.cycles import open_cycle

    a = get_app()
    if as_json or not sys.stdout.isatty():
        report = open_cycle(a.service, space, period, chunk=chunk)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(f"{space} {period}", total=None)

            def advance(n: int, total: int) -> None:
                bar.update(task, advance=n, total=total)

            report = open_cycle(a.service, space, period, chunk=chunk, progress=advance)
    from entrypoints.cli.wording import state_label

    data = report.to_dict()
    by_state = data["skipped_by_state"].items()
    skipped_zh = "、".join(f"{state_label(k)} {v} 家" for k, v in by_state) or "无"
    skipped = ", ".join(f"{k} {v}" for k, v in by_state) or "none"
    emit(
        data,
        as_json,
        f"{space} {period} 年度考核：启动 {report.opened} 家，已启动 {report.already_open} 家，"
        f"租期尚未开始 {report.not_started} 家，因状态跳过：{skipped_zh}，"
        f"失败 {len(report.failed)} 家（{report.seconds:.1f} 秒） / "
        f"{space} {period}: opened {report.opened}, already open {report.already_open}, "
        f"term not started {report.not_started}, skipped by state: {skipped}, "
        f"failed {len(report.failed)} ({report.seconds:.1f}s)"
        + "".join(f"\n  入驻记录 / tenancy {k}: {v}" for k, v in report.failed.items()),
    )


@deadlines_app.command("retry")
def deadlines_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="期限编号 / deadline ids")] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="全部失败的 / every failed one")
    ] = False,
    actor: Actor = "operator",
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """重新处理失败的期限 / put failed deadlines back in the queue (the next sweep takes them)."""
    if bool(ids) == all_failed:
        raise InvalidInput("ids", "give deadline ids or --all-failed, not both or neither")
    count: int = get_app().service.handle(
        c.RetryDeadlines(ids=tuple(ids or ()), all_failed=all_failed, actor=actor, reason=reason)
    )
    said = f"已将 {count} 项期限放回队列 / {count} deadline(s) back in the queue"
    emit({"requeued": count}, as_json, said)
