"""Read commands: show, list, timeline, audit verify, deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.common import Json, app, emit, get_app, parse_instant, shown
from entrypoints.cli.wording import code_words, state_label, trace_line
from entrypoints.lazy import lazy
from lifecycle.errors import IntegrityError
from lifecycle.table import STATE_LABELS, STATES

if TYPE_CHECKING:
    from workflows import queries, queries_core
else:
    queries = lazy("workflows.queries")
    queries_core = lazy("workflows.queries_core")

audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)
deadlines_app = typer.Typer(help="期限 / deadlines", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(deadlines_app, name="deadlines")


@app.command("show")
def show_cmd(tenancy: int, as_json: Json = False) -> None:
    """查看入驻记录 / show one tenancy."""
    data = get_app().service.query(queries.show_tenancy, tenancy_id=tenancy)
    if as_json:
        emit(data, True)
        return
    track = (
        get_app()
        .service.query(queries.tenancy_rulebook, tenancy_id=tenancy)
        .tracks.get(data["track"])
    )
    lines = [
        f"#{data['id']} {data['firm']} ({data['uscc']}) @ {data['space']}",
        f"  状态 state: {data['state_zh']} / {data['state']}  version {data['version']}",
        f"  入驻通道 track: {track.label_zh if track else data['track']}（{data['track']}）  "
        f"租期 term: {shown(data['term_start'])} → "
        f"{shown(data['term_end'])}",
        f"  评审得分 score: {shown(data['score'])}  规则书 rulebook: "
        f"{(data['rulebook_version'] or '—')[:12]}",
    ]
    for u in data["units"]:
        until = u["to"] or "至今 / ongoing"
        lines.append(
            f"  单元 unit {u['code']}（{code_words('UNIT_KINDS', u['kind'])}，{u['area_m2']} m²）"
            f"{u['from']} → {until}"
        )
    for r in data["reviews"]:
        lines.append(
            f"  考核 review {r['period']}: {code_words('REVIEW_STATUS', r['status'])} "
            f"score={shown(r['score'])} "
            f"grade={shown(r['grade'])} → {code_words('CONSEQUENCES', r['consequence'])}"
        )
        for step in (r["trace"] or {}).get("steps", []):
            lines.append(f"      · {_trace_line(step)}")
    for e in data["exit_cases"]:
        lines.append(
            f"  退出案件 exit case {e['id']}: {code_words('EXIT_TYPES', e['type'])} "
            f"{e['grounds'] or ''} [{code_words('EXIT_STATUS', e['status'])}] "
            f"申辩截止 objection by {shown(e['objection_due_on'])} "
            f"腾退期限 vacate by {shown(e['vacate_due_on'])}"
        )
    for d in data["deadlines"]:
        lines.append(f"  期限 deadline {code_words('DEADLINES', d['kind'])} {d['due_on']}")
    typer.echo("\n".join(lines))


def _local(instant: str) -> str:
    """UTC ISO instant -> wall-clock time in the space's zone (what operators read)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return (
        datetime.fromisoformat(instant)
        .astimezone(ZoneInfo("Asia/Shanghai"))
        .strftime("%Y-%m-%d %H:%M")
    )


def _trace_line(step: dict[str, Any]) -> str:
    return trace_line(step)


@app.command("list")
def list_cmd(
    space: Annotated[str | None, typer.Option(help="空间代码 / space code")] = None,
    state: Annotated[str | None, typer.Option(help="状态 / state")] = None,
    firm: Annotated[str | None, typer.Option(help="企业名称或信用代码 / firm name or USCC")] = None,
    limit: int = 1000,
    as_json: Json = False,
) -> None:
    """列出入驻记录 / list tenancies."""
    if state is not None and state not in STATES:
        from lifecycle.errors import InvalidInput

        raise InvalidInput("state", f"must be one of {', '.join(STATES)}", state)
    rows = get_app().service.query_core(
        queries_core.list_tenancies, space=space, state=state, firm=firm, limit=limit
    )
    if as_json:
        emit(rows, True)
        return
    for r in rows:
        typer.echo(
            f"#{r['id']:<5} {r['state']:<15} {STATE_LABELS[r['state']][0]:<10} "
            f"{r['space']:<10} {r['firm']}"
        )
    typer.echo(f"（共 {len(rows)} 条入驻记录 / {len(rows)} tenancies）")


@app.command("timeline")
def timeline_cmd(tenancy: int, as_json: Json = False) -> None:
    """查看全过程记录 / the tenancy's audited history."""
    events = get_app().service.query(queries.timeline, tenancy_id=tenancy)
    if as_json:
        emit(events, True)
        return
    for e in events:
        move = (
            f"{state_label(e['from'])} → {state_label(e['to'])}"
            if e["from"] != e["to"]
            else f"（{state_label(e['to'])}）"
        )
        typer.echo(
            f"{e['seq']:>3}  {_local(e['at'])}  {e['trigger']:<20} {move:<32} "
            f"{e['actor']}{'  — ' + e['reason'] if e['reason'] else ''}"
        )
        trace = (e["data"] or {}).get("trace")
        if isinstance(trace, dict):
            for step in trace.get("steps", []):
                typer.echo(f"       · {_trace_line(step)}")


@audit_app.command("verify")
def audit_verify(
    tenancy: Annotated[int | None, typer.Option(help="只校验一个 / only this tenancy")] = None,
    checkpoint: Annotated[
        str | None,
        typer.Option("--checkpoint", help="签名检查点文件 / also prove this signed checkpoint"),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", help="检查点公钥 / its public key (default: of the key)"),
    ] = None,
    as_json: Json = False,
) -> None:
    """校验审计哈希链 / verify every audit chain (exit 8 on any problem)."""
    if checkpoint is not None:
        from entrypoints.cli.checkpoint_ops import verify_against

        report = verify_against(checkpoint, public_key, tenancy)
    else:
        report = get_app().service.query(queries.audit_report, tenancy_id=tenancy)
    if as_json:
        emit(report.to_dict(), True)
    else:
        _verdict(
            f"{report.tenancies} 个入驻记录，{report.events} 条事件 / {report.tenancies} "
            f"tenancies, {report.events} events",
            "审计链完整 / audit chain intact",
            report.problems,
        )
        if (opportunities := report.opportunities) is not None:
            _verdict(
                f"{opportunities.chains} opportunity-list chains, {opportunities.events} events",
                "机会清单审计链完整 / opportunity-list chains intact",
                opportunities.problems,
            )
    if not report.ok:
        count = report.problem_count
        raise IntegrityError(f"审计链有 {count} 处断裂 / audit chain broken in {count} place(s)")


def _verdict(counted: str, intact: str, problems: Sequence[object]) -> None:
    """One verified part of the database: what was counted and whether it is intact, then
    each problem indented."""
    typer.echo(f"{counted}: " + (f"{len(problems)} problem(s)" if problems else intact))
    for problem in problems:
        typer.echo(f"  {problem}")


DEADLINE_STATUSES = ("pending", "done", "moot", "cancelled", "failed")


@deadlines_app.command("list")
def deadlines_list(
    due_before: Annotated[
        str | None,
        typer.Option(
            "--due-before",
            help="此时刻前到期 / lapsing by this ISO date or instant (a date means "
            "its start, Asia/Shanghai)",
        ),
    ] = None,
    space: Annotated[str | None, typer.Option(help="空间代码 / space code")] = None,
    status: Annotated[
        str, typer.Option(help="pending | done | moot | cancelled | failed")
    ] = "pending",
    limit: int = 200,
    as_json: Json = False,
) -> None:
    """即将到期的事项 / what is coming due, soonest first."""
    if status not in DEADLINE_STATUSES:
        from lifecycle.errors import InvalidInput

        raise InvalidInput("status", f"must be one of {', '.join(DEADLINE_STATUSES)}", status)
    until = parse_instant(due_before, "due-before") if due_before else None

    rows = get_app().service.query(
        queries.deadlines, status=status, due_by=until, space=space, limit=limit
    )
    if as_json:
        emit(rows, True)
        return
    for r in rows:
        typer.echo(
            f"{r['due_on']}  {code_words('DEADLINES', r['kind'])}  {r['space']:<10} "
            f"入驻记录 {r['tenancy_id']}  [{code_words('DEADLINE_STATUS', r['status'])}]"
            + (f"  {r['error']}" if "error" in r else "")
            + (f"  {r['moot_reason']}" if "moot_reason" in r else "")
        )
    typer.echo(f"（共 {len(rows)} 个期限 / {len(rows)} deadlines）")
