"""Set-up and operations: init, db, spaces, units, firms, rules, calendar, tick, demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from entrypoints.cli.common import (
    Actor,
    Json,
    app,
    emit,
    get_app,
    parse_date,
    parse_instant,
    read_file,
    require_training,
    started,
)
from entrypoints.cli.wording import local_time
from entrypoints.lazy import lazy
from lifecycle.errors import InvalidInput

if TYPE_CHECKING:
    from lifecycle.rulebook import Rulebook
    from workflows import commands as c
    from workflows import queries, queries_ops, rules, vocabulary
else:
    queries, queries_ops = lazy("workflows.queries"), lazy("workflows.queries_ops")
    rules = lazy("workflows.rules")
    c = lazy("workflows.commands")
    vocabulary = lazy("workflows.vocabulary")

db_app = typer.Typer(help="数据库 / database schema", no_args_is_help=True)
space_app = typer.Typer(help="空间 / spaces", no_args_is_help=True)
unit_app = typer.Typer(help="单元 / units", no_args_is_help=True)
firm_app = typer.Typer(help="企业 / firms", no_args_is_help=True)
rules_app = typer.Typer(help="规则 / rulebooks", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日历 / working-day calendar", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (space_app, "space"),
    (unit_app, "unit"),
    (firm_app, "firm"),
    (rules_app, "rules"),
    (calendar_app, "calendar"),
):
    app.add_typer(sub, name=name)


@app.command("init")
def init_cmd(
    training: Annotated[
        bool,
        typer.Option(
            "--training",
            help="培训/模拟数据库：允许 INNOSPACE_NOW 与未来的 tick --until / a training "
            "(simulation) database: INNOSPACE_NOW and a future tick --until are allowed",
        ),
    ] = False,
) -> None:
    """创建或升级数据库 / create (or upgrade) the database schema.

    A new database is a production one unless --training; an existing one keeps its kind.
    """
    from db import meta, migrate  # Alembic is heavy; only these commands need it

    a = get_app(create=True, frozen_clock_check=False)
    new = migrate.current(a.engine) is None
    rev = migrate.upgrade(a.engine)
    with a.engine.begin() as conn:
        kind = meta.kind(conn)
        if training and kind != meta.TRAINING:
            if not new and meta.holds_data(conn):
                raise InvalidInput(
                    "--training",
                    "已有数据的生产数据库不能改为培训数据库 / a production database that holds "
                    "data cannot become a training one",
                )
            kind = meta.TRAINING
        if new or kind == meta.TRAINING:
            meta.put(conn, "kind", kind)
    label = "培训/模拟 training" if kind == meta.TRAINING else "生产 production"
    typer.echo(
        f"数据库已就绪 / database ready: 版本 revision {rev}（{label}）: "
        f"{a.engine.url.render_as_string(hide_password=True)}"
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """运行迁移 / apply Alembic migrations."""
    from db import migrate  # Alembic is heavy; only these commands need it

    a = get_app(create=True, frozen_clock_check=False)
    typer.echo(f"at revision {migrate.upgrade(a.engine, revision)}")


@db_app.command("current")
def db_current() -> None:
    """当前版本 / the schema revision of the database."""
    from db import migrate  # Alembic is heavy; only these commands need it

    a = get_app()
    typer.echo(f"{migrate.current(a.engine)} (head {migrate.head()})")


@space_app.command("create")
def space_create(
    code: str,
    name: str,
    rulebook: Annotated[str | None, typer.Option(help="规则 TOML 文件 / rulebook file")] = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """新建空间 / create a space (with the default rulebook unless --rulebook)."""
    content, source = (
        (None, "default") if rulebook is None else (read_file(rulebook, "rulebook"), rulebook)
    )
    result = get_app().service.handle(
        c.CreateSpace(
            code=code, name=name, rulebook_text=content, rulebook_source=source, actor=actor
        )
    )
    emit(
        result,
        as_json,
        f"已新建空间 / space created: {code}（规则 rulebook {result['rulebook_version'][:12]}）",
    )


@space_app.command("list")
def space_list(as_json: Json = False) -> None:
    """列出空间 / list the spaces: code and name."""
    rows = get_app().service.query(queries.spaces)
    emit(rows, as_json, "\n".join(f"{r['code']:<12} {r['name']}" for r in rows))


@unit_app.command("add")
def unit_add(
    space: str,
    code: str,
    kind: Annotated[str, typer.Option(help="office | lab | wet_lab | production | desk")],
    area: Annotated[float, typer.Option(help="面积 m² / area")],
    as_json: Json = False,
) -> None:
    """新增单元 / add a lettable unit."""
    result = get_app().service.handle(c.AddUnit(space=space, code=code, kind=kind, area_m2=area))
    emit(result, as_json, f"已添加单元 / unit added: {space}/{code}")


@unit_app.command("list")
def unit_list(space: str, as_json: Json = False) -> None:
    """列出空间的单元 / list a space's units: code, kind, area."""
    rows = get_app().service.query(queries.units, space=space)
    emit(
        rows,
        as_json,
        "\n".join(
            f"{r['code']:<10} {r['kind']:<10} {r['area_m2']:>8.2f} m²  {r['status']}" for r in rows
        ),
    )


@firm_app.command("add")
def firm_add(
    name: Annotated[str, typer.Option(help="企业名称 / firm name")],
    uscc: Annotated[str, typer.Option(help="统一社会信用代码 / unified social credit code")],
    industry: Annotated[str, typer.Option(help="行业 / industry code")],
    founded: Annotated[str | None, typer.Option(help="成立日期 YYYY-MM-DD")] = None,
    contact: Annotated[str | None, typer.Option(help="联系人 / contact")] = None,
    email: Annotated[str | None, typer.Option(help="邮箱 / e-mail")] = None,
    phone: Annotated[str | None, typer.Option(help="电话 / phone")] = None,
    manager: Annotated[str | None, typer.Option(help="客户经理 / account manager")] = None,
    locale: Annotated[str, typer.Option(help="zh-CN | en")] = "zh-CN",
    as_json: Json = False,
) -> None:
    """登记企业 / register a firm."""
    result = get_app().service.handle(
        c.RegisterFirm(
            name=name,
            uscc=uscc,
            industry=industry,
            founded_on=parse_date(founded, "founded") if founded else None,
            contact_name=contact,
            contact_email=email,
            contact_phone=phone,
            account_manager=manager,
            locale=locale,
        )
    )
    emit(
        result,
        as_json,
        f"已登记企业 / firm added: #{result['firm']} {result['name']}（{result['uscc']}）",
    )


@firm_app.command("list")
def firm_list(as_json: Json = False) -> None:
    """列出企业 / list the firms: id, USCC, name."""
    rows = get_app().service.query(queries.firms)
    emit(rows, as_json, "\n".join(f"#{r['id']:<5} {r['uscc']}  {r['name']}" for r in rows))


@rules_app.command("check")
def rules_check(file: str) -> None:
    """校验规则文件 / validate a rulebook file (nothing is stored)."""
    rb = rules.parse(read_file(file, "file"), file)
    typer.echo(f"{file}：校验通过，版本 {rb.version[:12]} / OK — version {rb.version[:12]}")


@rules_app.command("show")
def rules_show(
    space: Annotated[str | None, typer.Option(help="空间代码 / space code")] = None,
    file: Annotated[str | None, typer.Option(help="规则文件 / a rulebook file")] = None,
    locale: Annotated[str, typer.Option(help="zh-CN | en")] = "zh-CN",
    triggers: Annotated[
        bool,
        typer.Option(
            "--triggers",
            help="只列出退出情形代码（violation --code、exit notice --grounds 所用） / list only "
            "the trigger codes that violation --code and exit notice --grounds take",
        ),
    ] = False,
) -> None:
    """以可读形式显示规则 / show a rulebook readably (default: the shipped one)."""
    from lifecycle.rulebook import describe

    if file:
        rb = rules.parse(read_file(file, "file"), file)
    elif space:
        rb = get_app().service.query(queries.space_rulebook, space=space)
    else:
        rb = queries.shipped_rulebook()
    typer.echo(_trigger_table(rb, locale) if triggers else describe(rb, locale))


def _trigger_table(rb: Rulebook, locale: str) -> str:
    """The rulebook's forced-exit trigger codes: code, label, handling."""
    zh = not locale.lower().startswith("en")
    head = (
        "退出情形代码（innospace violation --code CODE；innospace exit notice --grounds CODE）"
        if zh
        else "Trigger codes (innospace violation --code CODE; innospace exit notice --grounds CODE)"
    )
    lines = [head]
    for trig in rb.exit.triggers:
        label = trig.label_zh if zh else trig.label_en
        handling = vocabulary.words(vocabulary.HANDLING, trig.handling)
        lines.append(f"  {trig.code:<22} {label} — {handling[0 if zh else 1]}")
    return "\n".join(lines)


@rules_app.command("load")
def rules_load(
    file: str,
    space: Annotated[
        str | None, typer.Option(help="启用于此空间 / activate for this space")
    ] = None,
    as_json: Json = False,
) -> None:
    """存储规则并可启用 / store a rulebook (and activate it for a space)."""
    result = get_app().service.handle(
        c.LoadRulebook(text=read_file(file, "file"), source=file, space=space)
    )
    emit(
        result,
        as_json,
        f"rulebook {result['rulebook_version'][:12]} stored"
        + (f", active for {space}" if space else ""),
    )


@calendar_app.command("set")
def calendar_set(
    day: str,
    kind: Annotated[str, typer.Argument(help="workday | holiday")],
    note: str | None = None,
) -> None:
    """设置调休/假日 / override one day."""
    if kind not in ("workday", "holiday"):
        raise InvalidInput("kind", "must be workday or holiday", kind)
    get_app().service.handle(
        c.SetCalendarDay(day=parse_date(day, "date"), workday=kind == "workday", note=note)
    )
    zh = "工作日" if kind == "workday" else "休息日"
    typer.echo(f"{day}：{zh} / {kind}")


@calendar_app.command("import")
def calendar_import(
    file: Annotated[str, typer.Argument(help="每行 YYYY-MM-DD,workday|holiday[,备注]")],
    complete: Annotated[
        bool,
        typer.Option(
            "--complete",
            help="文件含所列年份的全部安排，标记为已公布 / the file holds each year's whole "
            "schedule: mark those years published",
        ),
    ] = False,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """导入国务院放假调休安排 / load a year's official schedule (all lines or none).

    One day per line: ``2027-02-06,workday,春节调休上班`` or ``2027-02-11,holiday,春节``.
    Blank lines and lines starting with ``#`` are skipped.
    """
    days = []
    for number, line in enumerate(read_file(file, "file").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split(",", 2)]
        if len(cells) < 2 or cells[1] not in ("workday", "holiday"):
            raise InvalidInput(f"{file}:{number}", "each line is DATE,workday|holiday[,note]", line)
        days.append(
            c.SetCalendarDay(
                day=parse_date(cells[0], f"{file}:{number}"),
                workday=cells[1] == "workday",
                note=cells[2] if len(cells) > 2 else None,
            )
        )
    result = get_app().service.handle(
        c.ImportCalendar(days=tuple(days), complete=complete, actor=actor)
    )
    years = ", ".join(str(y) for y in result["years"])
    emit(
        result,
        as_json,
        f"已导入 {result['days']} 天（{years} 年；上班 {result['workdays']} 天，休息 "
        f"{result['holidays']} 天）/ {result['days']} days imported for {years} "
        f"({result['workdays']} workdays, {result['holidays']} holidays)"
        + (
            f"\n{years} 年安排已标记为已公布 / marked published"
            if complete
            else "\n未标记为已公布：全部录入后运行 `innospace calendar publish YEAR` / "
            "not marked published: once the whole schedule is in, run "
            "`innospace calendar publish YEAR`"
        ),
    )


@calendar_app.command("publish")
def calendar_publish(
    year: Annotated[int, typer.Argument(help="年份 / year")],
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """确认某年放假调休安排已全部录入 / confirm that YEAR's whole schedule is entered.

    From then on, days of YEAR without an override follow the statutory holidays of the
    `holidays` package; before, a deadline in YEAR is refused (exit 7).
    """
    result = get_app().service.handle(c.PublishCalendarYear(year=year, actor=actor))
    emit(result, as_json, f"{year} 年节假日安排已公布 / {year} schedule published")


@calendar_app.command("list")
def calendar_list(
    year: Annotated[int | None, typer.Option(help="年份 / only this year")] = None,
    as_json: Json = False,
) -> None:
    """已设置的调休/假日 / the operator's overrides."""
    rows = get_app().service.query(queries.calendar_overrides, year=year)
    emit(
        rows,
        as_json,
        "\n".join(
            f"{r['day']}  {'workday 上班' if r['workday'] else 'holiday 休息'}  {r['note'] or ''}"
            for r in rows
        )
        or "(no overrides)",
    )


@calendar_app.command("add-workdays")
def calendar_add(
    day: str,
    n: int,
    inclusive: Annotated[bool, typer.Option(help="首日计入 / count the first day")] = False,
) -> None:
    """计算 N 个工作日后的日期 / the date N working days after DATE."""
    start = parse_date(day, "date")
    due = get_app().service.query(
        queries_ops.add_working_days, start=start, n=n, inclusive=inclusive
    )
    typer.echo(due.isoformat())


@app.command("tick")
def tick_cmd(
    until: Annotated[
        str | None,
        typer.Option(
            help="模拟时钟：按此时刻处理 / act as of this "
            "instant, a simulated clock (default: now; "
            "ISO date or date-time, Asia/Shanghai if "
            "no offset)"
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """运行一次全部定时任务 / run every sweep once: review cycles, deadlines, digest, outbox.

    The same sweeps as `innospace scheduler`, for system cron, operators and tests.
    """
    from entrypoints.ticks import run_ticks

    a = get_app()
    when = parse_instant(until, "until") if until else None
    now = a.clock.now().replace(microsecond=0)
    if when is not None and when < now:
        raise InvalidInput(
            "until",
            f"不得早于当前时间（现在是 {local_time(now)}，北京时间），逾期事项用 `innospace tick` "
            f"处理 / must not be in the past (now is {now.isoformat()}); "
            "what is overdue is handled by a plain `innospace tick`",
            until,
        )
    if when is not None and when > now:
        require_training(a, "--until")
    report = run_ticks(a, until=when)
    if as_json:
        emit(report, True)
        return
    d, cy, dg, r = report["deadlines"], report["cycles"], report["digest"], report["relay"]
    typer.echo(
        f"年度考核：启动 {cy['opened']} 家 / review cycles: opened {cy['opened']}\n"
        f"期限：已处理 {d['handled']}，无需处理 {d['moot']}，失败 {d['failed']}，"
        f"留待下次 {d['retry']} / deadlines: handled {d['handled']}, moot {d['moot']}, "
        f"failed {d['failed']}, left for later {d['retry']}\n"
        + (
            "每日摘要：已发送 / digest: sent\n"
            if dg["sent"]
            else "每日摘要：未发送（未到时间、今日已发送或各空间均无待办） / digest: none sent "
            "(not due, already sent, or nothing waits in any space)\n"
        )
        + f"通知：已送达 {r['delivered']}，待重试 {r['retried']}，发送失败 {r['dead']} / "
        f"outbox: delivered {r['delivered']}, retrying {r['retried']}, dead {r['dead']}"
    )


@app.command("demo")
def demo_cmd(
    db: Annotated[
        str, typer.Option("--out", help="演示数据库文件 / where to write the demo")
    ] = "innospace-demo.db",
    firms: Annotated[int, typer.Option(help="企业数 / number of firms")] = 36,
    seed: int = 2022,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="覆盖已有的非演示文件 / replace an existing file the demo did not create",
        ),
    ] = False,
) -> None:
    """演示：三年模拟 / build a demo space and simulate three years (a training database).

    An existing --out file is replaced only if the demo created it, or with --overwrite.
    """
    from entrypoints.demo import run_demo

    started()  # thirty seconds of simulation: collect garbage as usual
    run_demo(Path(db), firms=firms, seed=seed, overwrite=overwrite)
