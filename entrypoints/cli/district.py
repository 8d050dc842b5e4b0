"""The district's view on the command line.

innospace report district --year Y [--format table|json|xlsx] [--out FILE] [--space S ...]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.common import app, emit, get_app

if TYPE_CHECKING:
    from workflows import queries_district as qd
else:
    from entrypoints.lazy import lazy

    qd = lazy("workflows.queries_district")

report_app = typer.Typer(help="报表 / reports for the district", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _yuan(value: object) -> str:
    """An amount the view gives as a decimal string (``"2747836.00"``), grouped like the
    figures beside it: ``2,747,836.00``."""
    from decimal import Decimal, InvalidOperation

    if value is None:
        return "—"
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def table(view: dict[str, Any]) -> str:
    """The view as aligned text: one block per space, then the total."""
    lines = [f"{view['year']} 年度区县视图 / district view (截至 / as of {view['as_of']})"]
    for s in [*view["spaces"], view["total"]]:
        exits = s["exits"]
        grades = " ".join(f"{g} {n}" for g, n in s["grades"].items())
        lines += [
            "",
            f"[{s['space']}] {s['name']}",
            f"  土地 / land: {s['parcels']} 宗 {'、'.join(s['land_uses']) or '—'} · "
            f"{_num(s['land_area_m2'])} ㎡（{_num(s['land_area_mu'])} 亩） · 建筑 / floor "
            f"{_num(s['floor_area_m2'])} ㎡ · 容积率 / plot ratio {_num(s['plot_ratio'])}",
            f"  出租率 / occupancy: {_pct(s['occupancy'])}（{_num(s['leased_area_m2'])} / "
            f"{_num(s['lettable_area_m2'])} ㎡）",
            f"  税收 / tax: {_yuan(s['tax_yuan'])} 元 · 每㎡ / per m² {_num(s['tax_per_m2'])} · "
            f"亩均 / per mu {_num(s['tax_per_mu'])}",
            f"  营收 / revenue: {_yuan(s['revenue_yuan'])} 元 · 每㎡ / per m² "
            f"{_num(s['revenue_per_m2'])} · 亩均 / per mu {_num(s['revenue_per_mu'])}",
            f"  入驻 / admitted {s['admitted']} · 毕业 / graduated {exits['graduation']} · "
            f"期满 / term expiry {exits['term_expiry']} · 自愿 / voluntary {exits['voluntary']} · "
            f"强制 / forced {exits['forced']}",
            f"  腾退单元 / units released {s['released_units']} · 已再出租 / let again "
            f"{s['relet_units']} · 平均天数 / average days {_num(s['avg_days_to_relet'], 1)}",
            f"  考核等级 / grades: {grades}",
        ]
    return "\n".join(lines)


@report_app.command("district")
def district(
    year: Annotated[int, typer.Option("--year", help="年度 / the calendar year")],
    to_year: Annotated[
        int | None,
        typer.Option("--to-year", help="至某年，逐年列出 / through this year, year by year"),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="输出格式 / table | json | xlsx", show_default=True)
    ] = "table",
    out: Annotated[
        str | None, typer.Option("--out", help="输出文件（xlsx 必填） / output file")
    ] = None,
    space: Annotated[
        list[str] | None, typer.Option("--space", help="只看这些空间 / only these spaces")
    ] = None,
) -> None:
    """区县视图 / per space and in total: land use, occupancy, tax and revenue per m² and per
    mu, admissions and exits, re-letting, grades."""
    from lifecycle.errors import InvalidInput

    if fmt not in ("table", "json", "xlsx"):
        raise InvalidInput(
            "--format", "须为 table、json 或 xlsx / must be table, json or xlsx", fmt
        )
    if fmt == "xlsx" and out is None:
        raise InvalidInput("--out", "xlsx 格式须指定输出文件 / --format xlsx needs --out FILE")
    last = year if to_year is None else to_year
    if not 0 <= last - year <= 20:
        raise InvalidInput(
            "--to-year", "须不早于 --year，且最多 20 年 / from --year, at most 20 years"
        )
    views = [
        get_app().service.query(qd.district, year=y, spaces=space or None)
        for y in range(year, last + 1)
    ]
    if fmt == "xlsx":
        assert out is not None
        from workflows import excel, opportunity_excel

        excel.save(opportunity_excel.district_book(views), out)
        typer.echo(f"已写出 / written: {out}（{len(views)} 年 / years）")
        return
    data = views[0] if to_year is None else {"years": views}
    emit(data, fmt == "json", "\n\n".join(table(v) for v in views))
