"""Forms and Excel: ``forms profile|figures`` (templates), ``review import`` (a cohort's
figures from a sheet) and ``export tenancies|reviews|exits`` (the ledgers as workbooks)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.common import Actor, Json, Reason, app, emit, get_app
from entrypoints.cli.residency import review_app
from entrypoints.lazy import lazy
from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from lifecycle.rulebook import Rulebook
    from workflows import excel, forms, ledgers, queries
    from workflows.forms import FormName
else:
    excel, forms = lazy("workflows.excel"), lazy("workflows.forms")
    ledgers, queries = lazy("workflows.ledgers"), lazy("workflows.queries")

forms_app = typer.Typer(
    help="填报模板：字段、中文名称、单位与规则 / form templates: every field, label, unit and rule",
    no_args_is_help=True,
)
export_app = typer.Typer(
    help="导出台账（Excel） / export the ledgers as Excel workbooks", no_args_is_help=True
)
app.add_typer(forms_app, name="forms")
app.add_typer(export_app, name="export")

Format = Annotated[
    str, typer.Option("--format", help="输出格式 / output format: json | xlsx", show_default=True)
]
Out = Annotated[
    str | None,
    typer.Option(
        "--out",
        help="输出文件 / output file (json: the example, with the field description beside it "
        "as NAME.fields.json; without --out the example goes to standard output)",
    ),
]
Space = Annotated[
    str | None,
    typer.Option("--space", help="按该空间当前规则 / under this space's active rulebook"),
]
FormPeriod = Annotated[
    int | None,
    typer.Option(
        "--period",
        help="考核年度 / the year reviewed (figures: with --space, one row per firm under review)",
    ),
]
Describe = Annotated[
    bool,
    typer.Option(
        "--describe", help="输出字段说明而非示例 / print the field description, not the example"
    ),
]


@forms_app.command("profile")
def forms_profile(
    period: FormPeriod = None,
    fmt: Format = "json",
    out: Out = None,
    space: Space = None,
    describe: Describe = False,
) -> None:
    """入驻申请企业信息模板（apply --profile） / the application profile template."""
    _form("profile", period, fmt, out, space, describe)


@forms_app.command("figures")
def forms_figures(
    period: FormPeriod = None,
    fmt: Format = "json",
    out: Out = None,
    space: Space = None,
    describe: Describe = False,
) -> None:
    """年度考核数据模板（review submit / review import） / the review figures template."""
    _form("figures", period, fmt, out, space, describe)


def _rulebook(space: str | None) -> Rulebook:
    if space:
        found: Rulebook = get_app().service.query(queries.space_rulebook, space=space)
        return found
    return queries.shipped_rulebook()


def _form(
    form: FormName, period: int | None, fmt: str, out: str | None, space: str | None, describe: bool
) -> None:
    if fmt not in ("json", "xlsx"):
        raise InvalidInput("--format", "须为 json 或 xlsx / must be json or xlsx", fmt)
    rb = _rulebook(space)
    specs = forms.fields(rb, form)
    if fmt == "json":
        example, description = forms.example(rb, form), forms.description(rb, form, period)
        if out is None:
            typer.echo(forms.dumps(description if describe else example), nl=False)
            return
        described = _beside(out)
        _write(out, forms.dumps(example))
        _write(described, forms.dumps(description))
        typer.echo(
            f"已写出 / written: {out}（示例 / example），{described}（字段说明 / "
            f"{len(specs)} fields described）"
        )
        return
    if out is None:
        raise InvalidInput("--out", "xlsx 格式须指定输出文件 / --format xlsx needs --out FILE")
    rows: list[dict[str, Any]] = []
    if form == "profile":
        rows = [{**forms.EXAMPLE_FIRM, **forms.example(rb, form)}]
    elif space and period is not None:
        cohort = get_app().service.query(ledgers.figures_cohort, space=space, period=period)
        rows = [{"uscc": uscc, "name": name} for uscc, name in cohort]
    notes = [
        f"规则 / rulebook: {rb.meta.name_zh} ({rb.version[:12]})",
        *([f"考核年度 / period: {period}"] if period is not None else []),
        "第 1 行为字段代码（导入时读取，请勿修改），第 2 行为名称与单位，数据自第 3 行起 / "
        "row 1: field codes (read by the import, keep them), row 2: labels and units, "
        "data from row 3",
    ]
    excel.save(excel.template(form, specs, rows=rows, notes=notes), out)
    typer.echo(
        f"已写出 / written: {out}（{len(specs)} 个字段 / fields"
        + (f"，{len(rows)} 行 / rows" if rows else "")
        + "）"
    )


def _beside(out: str) -> str:
    path = Path(out)
    return str(path.with_name(f"{path.stem}.fields.json"))


def _write(path: str, text: str) -> None:
    try:
        with Path(path).open("w", encoding="utf-8") as out:
            out.write(text)
    except (OSError, ValueError) as err:
        raise InvalidInput("--out", f"无法写入 / cannot write: {err}", path) from None


@review_app.command("import")
def review_import(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    file: Annotated[
        str, typer.Argument(help="考核数据表（forms figures --format xlsx 生成） / figures sheet")
    ],
    period: Annotated[int, typer.Option("--period", help="考核年度 / the year reviewed")],
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="有错误时仍导入无误的行 / store the good rows even when others have errors",
        ),
    ] = False,
    actor: Actor = "operator",
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """从 Excel 导入一批企业的考核数据 / import a cohort's review figures from a sheet.

    Every row is checked first and every bad cell reported (row, column, field, what was
    expected with its unit); with any error nothing is stored unless --partial is given, then
    exactly the good rows are (each one an audited review submission)."""
    columns, rows = excel.read_figures(file, "file")
    result = get_app().service.handle(
        forms.ImportFigures(
            space=space,
            period=period,
            rows=tuple(rows),
            columns=columns,
            source=Path(file).name,
            partial=partial,
            actor=actor,
            reason=reason,
        )
    )
    stored, problems, skipped = result["stored"], result["problem_lines"], result["skipped"]
    lines = [
        f"第 {s['row']} 行 {s['uscc']} → 入驻 #{s['tenancy_id']}：已报送 / submitted"
        for s in stored
    ]
    lines.append(
        f"{space} {period} 年度：导入 {len(stored)} 家，{len(problems)} 处错误 / "
        f"imported {len(stored)} firm(s), {len(problems)} problem(s)"
    )
    if skipped:
        numbers = "、".join(str(s["row"]) for s in skipped)
        lines.append(
            f"未填写数据、跳过 {len(skipped)} 家（第 {numbers} 行），可待其填写后再导入 / "
            f"{len(skipped)} blank row(s) skipped (not reported yet; import them later)"
        )
    if kept := result["kept"]:
        numbers = "、".join(str(k["row"]) for k in kept)
        lines.append(
            f"已报送、保留其已报送的数据 {len(kept)} 家（第 {numbers} 行），导入不覆盖；"
            "如需更正请逐家提交（review submit）/ "
            f"{len(kept)} row(s) of firms that have submitted already left as submitted "
            "(an import never replaces figures; correct one firm with review submit)"
        )
    if problems:
        lines.append("以下行未导入 / rows not imported:")
        lines.extend(f"  {line}" for line in problems)
    emit({k: v for k, v in result.items() if k != "problem_lines"}, as_json, "\n".join(lines))


@export_app.command("tenancies")
def export_tenancies(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    out: Annotated[str, typer.Option("--out", help="输出文件 / output .xlsx file")],
    fmt: Format = "xlsx",
) -> None:
    """入驻台账 / the tenancy ledger."""
    _export("tenancies", space, out, fmt)


@export_app.command("reviews")
def export_reviews(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    out: Annotated[str, typer.Option("--out", help="输出文件 / output .xlsx file")],
    fmt: Format = "xlsx",
    period: Annotated[
        int | None, typer.Option("--period", help="仅该考核年度 / only this year")
    ] = None,
) -> None:
    """考核台账（含考核数据） / the review ledger, figures included."""
    _export("reviews", space, out, fmt, period=period)


@export_app.command("exits")
def export_exits(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    out: Annotated[str, typer.Option("--out", help="输出文件 / output .xlsx file")],
    fmt: Format = "xlsx",
) -> None:
    """退出台账（含结算金额） / the exit ledger, settlements included."""
    _export("exits", space, out, fmt)


def _export(name: str, space: str, out: str, fmt: str, **kwargs: Any) -> None:
    if fmt != "xlsx":
        raise InvalidInput("--format", "须为 xlsx / must be xlsx", fmt)
    service = get_app().service
    if name == "tenancies":
        ledger = service.query(ledgers.tenancy_ledger, space=space)
    elif name == "reviews":
        ledger = service.query(ledgers.review_ledger, space=space, **kwargs)
    else:
        ledger = service.query(ledgers.exit_ledger, space=space)
    excel.save(excel.ledger_book(ledger), out)
    typer.echo(f"已写出 / written: {out}（{ledger.title}，{len(ledger.rows)} 行 / rows）")
