"""Rulebook operations: a review cycle decided as a cohort (``review decide-cycle``),
graduation candidates, what-if simulation of another rulebook, the stored rulebook versions,
and the benefits a firm received (clawed back on exit)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.admin import rules_app
from entrypoints.cli.common import (
    Actor,
    Json,
    Reason,
    Version,
    app,
    emit,
    get_app,
    parse_date,
    read_file,
)
from entrypoints.cli.residency import review_app
from entrypoints.cli.wording import local_time
from entrypoints.lazy import lazy
from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from workflows import commands as c
    from workflows import decisions, queries, queries_ops, simulate, vocabulary
else:
    decisions, queries = lazy("workflows.decisions"), lazy("workflows.queries")
    queries_ops, simulate = lazy("workflows.queries_ops"), lazy("workflows.simulate")
    c = lazy("workflows.commands")
    vocabulary = lazy("workflows.vocabulary")

graduation_app = typer.Typer(help="毕业 / graduation", no_args_is_help=True)
benefit_app = typer.Typer(
    help="优惠政策 / benefits granted (clawed back on exit)", no_args_is_help=True
)
app.add_typer(graduation_app, name="graduation")
app.add_typer(benefit_app, name="benefit")

Period = Annotated[int, typer.Option("--period", help="考核年度 / the year reviewed")]


def _vetoes(values: list[str] | None) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for item in values or []:
        tenancy, sep, code = item.partition("=")
        if not sep or not tenancy.strip().isdigit() or not code.strip():
            raise InvalidInput("veto", "each veto is TENANCY=CODE, e.g. 12=fraud", item)
        out.setdefault(int(tenancy), []).append(code.strip())
    return out


@review_app.command("decide-cycle")
def cycle_decide(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    period: Period,
    veto: Annotated[
        list[str] | None,
        typer.Option(
            "--veto",
            help="一票否决 TENANCY=CODE，可重复 / a veto raised for a tenancy, repeat",
        ),
    ] = None,
    batch: Annotated[
        bool,
        typer.Option(
            "--batch",
            help="城市级批量路径（结果相同，更快） / the bulk path for city-scale "
            "cohorts: same rows, written in bulk",
        ),
    ] = False,
    actor: Actor = "operator",
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """集中评定年度考核（含优秀比例上限） / decide a space's review cycle with the A cap."""
    vetoes = _vetoes(veto)
    app = get_app()
    if batch:
        from workflows.batch import decide_cycle_batch

        with _progress("评定 / deciding") as bar:
            report = decide_cycle_batch(
                app.engine,
                app.clock,
                app.service.query(queries_ops.work_calendar),
                space_code=space,
                period=period,
                actor=actor,
                reason=reason,
                vetoes=vetoes,
                progress=bar,
            )
        summary = {
            **report.to_dict(),
            "graduation_candidates": app.service.query(
                decisions.graduation_candidates, space_code=space
            ),
        }
        emit(
            summary,
            as_json,
            "\n".join(
                [
                    f"{space} {period}: decided {report.written} of {report.selected} "
                    f"({', '.join(f'{k} {v}' for k, v in sorted(report.outcomes.items()))}) "
                    f"in {report.seconds:.1f} s"
                ]
                + _candidate_lines(summary["graduation_candidates"])
            ),
        )
        return
    result = app.service.handle(
        c.DecideCycle(
            space=space,
            period=period,
            vetoes={t: tuple(codes) for t, codes in vetoes.items()},
            actor=actor,
            reason=reason,
        )
    )
    emit(result, as_json, _cycle_report(result))


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when the output is piped."""
    if not sys.stdout.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(n: int, total: int) -> None:
            bar.update(task, advance=n, total=total)

        yield advance


def _cycle_report(r: dict[str, Any]) -> str:
    cap = r["cap"]
    head = (
        f"{r['space']} {r['period']} 年度考核 / review cycle: decided {len(r['decided'])} "
        f"of a cohort of {r['cohort']} (rulebook {r['rulebook_version'][:12]})"
    )
    if cap is not None:
        head += f"; {cap['grade']} capped at {cap['max_percent']}% → at most {cap['allowed']}"
    lines = [head]
    for d in r["decided"]:
        note = "" if d["submitted"] else "  逾期未报送 / not submitted"
        if d["demoted"]:
            was = d["scored_grade"]
            note += f"  超出{was}比例上限 / over the cap: {was}→{d['grade']}"
        lines.append(
            f"  #{d['tenancy_id']:<5} {d['firm']:<20} {d['score']:>6.2f} {d['grade']}  "
            f"{vocabulary.words(vocabulary.CONSEQUENCES, d['consequence'])[0]} "
            f"({d['from']} → {d['to']}){note}"
        )
    for d in r["already_decided"]:
        lines.append(f"  #{d['tenancy_id']:<5} {d['firm']:<20} already decided: {d['grade']}")
    for d in r["not_reviewable"]:
        lines.append(f"  #{d['tenancy_id']:<5} {d['firm']:<20} skipped (state {d['state']})")
    lines.extend(_candidate_lines(r["graduation_candidates"]))
    return "\n".join(lines)


def _candidate_lines(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["毕业候选 / graduation candidates: none"]
    lines = [
        "毕业候选（请核实后办理） / graduation candidates (verify, then "
        "`innospace exit begin TENANCY --type graduation`):"
    ]
    for row in rows:
        met = "；".join(m["label_zh"] for m in row["met"]) or "—"
        lines.append(f"  #{row['tenancy_id']:<5} {row['firm']:<20} {row['uscc']}  {met}")
    return lines


@graduation_app.command("candidates")
def graduation_candidates(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    show_all: Annotated[
        bool, typer.Option("--all", help="列出全部在孵企业 / every resident firm, eligible or not")
    ] = False,
    as_json: Json = False,
) -> None:
    """符合毕业条件的企业（仅提示，不自动办理） / firms eligible to graduate (offered only)."""
    rows = get_app().service.query(
        decisions.graduation_candidates, space_code=space, include_ineligible=show_all
    )
    if as_json:
        emit(rows, True)
        return
    if show_all:
        for row in rows:
            met = "；".join(m["label_zh"] for m in row["met"]) or "未满足 / not eligible"
            typer.echo(f"#{row['tenancy_id']:<5} {row['firm']:<20} {row['uscc']}  {met}")
        return
    typer.echo("\n".join(_candidate_lines(rows)))


@rules_app.command("simulate")
def rules_simulate(
    file: str,
    space: Annotated[str, typer.Option(help="空间代码 / space code")],
    period: Period,
    as_json: Json = False,
) -> None:
    """模拟：按另一规则重新评定已记录的考核（不写入） / what-if: re-evaluate recorded
    reviews under another rulebook and list the firms whose grade or consequence changes."""
    result = get_app().service.query(
        simulate.simulate,
        text=read_file(file, "file"),
        source=file,
        space_code=space,
        period=period,
    )
    emit(result, as_json, _simulation_report(result))


def _simulation_report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['space']} {r['period']}: {r['active_rulebook'][:12]} → "
        f"{r['candidate_rulebook'][:12]} ({r['source']}); cohort {r['cohort']}, "
        f"{len(r['changes'])} would change, {r['unchanged']} unchanged — 未写入 / nothing "
        "written"
    ]
    for change in r["changes"]:
        b, a = change["before"], change["after"]
        lines.append(
            f"  #{change['tenancy_id']:<5} {change['firm']:<20} {b['score']:>6.2f} {b['grade']} "
            f"{b['consequence']} → {a['score']:>6.2f} {a['grade']} {a['consequence']}"
            f"{'  (cap)' if a['demoted'] else ''}  [{change['basis']}]"
        )
    for e in r["errors"]:
        who = f"#{e['tenancy_id']} " if "tenancy_id" in e else ""
        lines.append(f"  ! {who}{e['rulebook']}: {e['error']}")
    return "\n".join(lines)


@rules_app.command("versions")
def rules_versions(as_json: Json = False) -> None:
    """已存储的规则版本 / stored rulebook versions, where active, how much they decided."""

    rows = get_app().service.query(queries.rulebook_versions)
    emit(
        rows,
        as_json,
        "\n".join(
            f"{r['version'][:12]}  {local_time(r['loaded_at'], seconds=True)}  "
            f"适用空间 {'、'.join(r['active_for']) or '—'}  入驻记录 {r['tenancies']} 条  "
            f"已决定考核 {r['reviews_decided']} 项  {r['name']}"
            for r in rows
        ),
    )


@benefit_app.command("record")
def benefit_record(
    tenancy: int,
    kind: Annotated[str, typer.Option(help="rent_free | rent_reduction | subsidy")],
    amount: Annotated[str, typer.Option(help="金额（元） / amount in yuan")],
    granted: Annotated[str, typer.Option(help="给予日期 YYYY-MM-DD / granted on")],
    commitment_months: Annotated[
        int, typer.Option(help="承诺入驻月数（按比例追回用） / months the firm committed to stay")
    ] = 0,
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """登记给予企业的优惠（退出时按规则追回） / record a benefit granted to a firm."""
    on = parse_date(granted, "granted")
    result = get_app().service.handle(
        c.RecordBenefit(
            tenancy_id=tenancy,
            kind=kind,
            amount_yuan=amount,
            granted_on=on,
            commitment_months=commitment_months,
            actor=actor,
            reason=reason,
            expected_version=version,
        )
    )
    zh, en = _benefit_words(kind)
    amount = _yuan(result["amount_yuan"])
    emit(
        result,
        as_json,
        f"入驻记录 {tenancy}：已登记优惠 {zh} {amount} 元（版本 {result['version']}） / "
        f"tenancy {tenancy}: benefit {en} of {amount} yuan recorded "
        f"(version {result['version']})",
    )


def _benefit_words(kind: object) -> tuple[str, str]:
    """A benefit's kind as words, ``("免租", "rent free")`` (a kind without words as it is)."""
    return vocabulary.words(vocabulary.BENEFITS, str(kind))


def _yuan(value: object) -> str:
    """An amount as a person reads it: ``1,000.00`` (never ``1E+3``)."""
    from decimal import Decimal

    return f"{Decimal(str(value)):,.2f}"


def _benefit_line(row: dict[str, Any]) -> str:
    """``2024-01-01  免租  1,000.00 元  承诺入驻 3 个月 / rent free, 1,000.00 yuan, committed
    for 3 months``."""
    zh, en = _benefit_words(row["kind"])
    amount, months = _yuan(row["amount_yuan"]), row["commitment_months"]
    return (
        f"{row['granted_on']}  {zh}  {amount} 元  承诺入驻 {months} 个月 / {en}, "
        f"{amount} yuan, committed for {months} months"
    )


@benefit_app.command("list")
def benefit_list(tenancy: int, as_json: Json = False) -> None:
    """已登记的优惠 / the benefits recorded for a tenancy."""
    rows = get_app().service.query(queries.benefits_of, tenancy_id=tenancy)
    emit(
        rows,
        as_json,
        "\n".join(_benefit_line(r) for r in rows) or "（尚无优惠记录） / (no benefits)",
    )
