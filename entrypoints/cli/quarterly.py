"""Quarterly light reports (RULEBOOK §3): file a quarter's figures, list a quarter's filings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.admission import _done
from entrypoints.cli.common import Actor, Json, Version, app, emit, get_app, load_json_file
from entrypoints.lazy import lazy
from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from workflows import commands as c
    from workflows import queries_quarterly
else:
    c = lazy("workflows.commands")
    queries_quarterly = lazy("workflows.queries_quarterly")

quarterly_app = typer.Typer(help="季度报送 / quarterly light reports", no_args_is_help=True)
app.add_typer(quarterly_app, name="quarterly")

Year = Annotated[int, typer.Option("--year", help="年度 / the year")]
Quarter = Annotated[int, typer.Option("--quarter", help="季度 1-4 / the quarter, 1-4")]


def _figures(given: str) -> dict[str, Any]:
    """``--figures``: a JSON object written inline, or the path of a JSON file."""
    if given.lstrip().startswith("{"):
        try:
            data = json.loads(given)
        except json.JSONDecodeError as err:
            raise InvalidInput(
                "figures",
                f"不是有效的 JSON（第 {err.colno} 个字符）/ not valid JSON (column {err.colno}): "
                f"{err.msg}",
            ) from None
        if not isinstance(data, dict):
            raise InvalidInput("figures", "须为 JSON 对象 / must be a JSON object")
        return data
    return load_json_file(given, "figures")


@quarterly_app.command("submit")
def quarterly_submit(
    tenancy: int,
    year: Year,
    quarter: Quarter,
    figures: Annotated[
        str,
        typer.Option("--figures", help="季度数据：JSON 文件或 JSON 文本 / figures file or JSON"),
    ],
    actor: Actor = "firm",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """报送季度数据（营业收入、实缴税收、从业人员、研发投入）/ file a quarter's figures."""
    step = get_app().service.handle(
        c.SubmitQuarterlyReport(
            tenancy_id=tenancy,
            year=year,
            quarter=quarter,
            figures=_figures(figures),
            actor=actor,
            expected_version=version,
        )
    )
    _done(step, as_json)
    if not as_json:
        typer.echo(_standing(step.data))


def _standing(data: Mapping[str, Any]) -> str:
    """Whether the filing was on time or late and whether it corrected an earlier one."""
    on_time, corrected = bool(data.get("in_time")), bool(data.get("corrected"))
    zh = "按时报送" if on_time else "逾期报送"
    en = "on time" if on_time else "late"
    zh += "（更正此前的报送，是否逾期以首次报送为准）" if corrected else "（首次报送）"
    en += " (a correction: lateness is judged on the first filing)" if corrected else ""
    due, note_zh, note_en = data.get("due_on"), "", ""
    if data.get("due_provisional") and isinstance(due, date):
        note_zh = f"（{due.year} 年放假安排未公布，截止日暂按日历日计）"
        note_en = f" (provisional: the {due.year} holidays are not published)"
    return (
        f"  {data.get('year')} 年第 {data.get('quarter')} 季度：{zh}，截止日 {due}{note_zh}"
        f" / {data.get('year')} Q{data.get('quarter')}: {en}, due {due}{note_en}"
    )


@quarterly_app.command("list")
def quarterly_list(
    space: Annotated[str | None, typer.Option("--space", help="空间代码 / space code")] = None,
    year: Annotated[int | None, typer.Option("--year", help="年度 / the year")] = None,
    quarter: Annotated[int | None, typer.Option("--quarter", help="季度 / the quarter")] = None,
    as_json: Json = False,
) -> None:
    """季度报送情况：已报送、逾期、未报送 / a quarter's filings: filed, late, missing."""
    spaces = get_app().service.query(
        queries_quarterly.filings, space=space, year=year, quarter=quarter
    )
    if as_json:
        emit(spaces, True)
        return
    for s in spaces:
        n = s["counts"]
        typer.echo(
            f"{s['space']} {s['space_name']} {s['year']} 年第 {s['quarter']} 季度 / "
            f"{s['year']} Q{s['quarter']}，截止 due {s['due_on']}{s['provisional_zh']}"
            f"{s['provisional_en']}：已按时报送 filed {n['filed']}，"
            f"逾期报送 late {n['late']}，未报送 not yet {n['awaiting']}，"
            f"逾期未报送 missing {n['missing']}"
        )
        for f in s["filings"]:
            filed = (
                f" 首次报送 first filed {f['first_submitted_on']}"
                if f["first_submitted_on"]
                else ""
            )
            typer.echo(
                f"  #{f['tenancy_id']} {f['firm']} {f['status_zh']} / {f['status_en']}{filed}"
            )
