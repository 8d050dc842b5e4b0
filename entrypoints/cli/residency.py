"""Residency and exit commands: reviews, rectification, violations, exit, handover."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from entrypoints.cli.admission import _done, tenancy_command
from entrypoints.cli.common import (
    TEXT_HELP,
    Actor,
    Json,
    Reason,
    Version,
    app,
    emit,
    get_app,
    load_json_file,
    long_input,
    parse_pairs,
)
from entrypoints.cli.wording import code_words
from entrypoints.lazy import lazy

if TYPE_CHECKING:
    from workflows import commands as c
else:
    c = lazy("workflows.commands")


class _ReportByDefault(TyperGroup):
    """``innospace violation TENANCY --code …`` records a violation as it always has (the
    ``report`` subcommand, named or not); ``innospace violation cure ID --on DATE`` records
    that the firm cured one."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # ``ctx`` is the Context of the click that typer vendors (typer._click): not imported.
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["report", *args]
        return super().parse_args(ctx, args)


review_app = typer.Typer(help="年度考核 / periodic reviews", no_args_is_help=True)
rectify_app = typer.Typer(help="整改 / rectification", no_args_is_help=True)
exit_app = typer.Typer(help="退出 / exit", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(rectify_app, name="rectify")
app.add_typer(exit_app, name="exit")
violation_app = typer.Typer(
    cls=_ReportByDefault,
    help="违规：登记（innospace violation TENANCY --code CODE --facts …）、登记已纠正"
    "（innospace violation cure ID --on DATE） / violations: record one, record its cure",
    no_args_is_help=True,
)
app.add_typer(violation_app, name="violation")

Period = Annotated[int, typer.Option("--period", help="考核年度 / the year reviewed")]


@review_app.command("open")
def review_open(
    tenancy: int,
    period: Period,
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """启动考核 / open a review."""
    _done(
        get_app().service.handle(
            c.OpenReview(tenancy_id=tenancy, period=period, actor=actor, expected_version=version)
        ),
        as_json,
    )


@review_app.command("submit")
def review_submit(
    tenancy: int,
    period: Period,
    figures: Annotated[str | None, typer.Option(help="考核数据 JSON 文件 / figures JSON")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="metric=value, repeat")] = None,
    actor: Actor = "firm",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """报送考核数据 / submit the review figures."""
    data = load_json_file(figures, "figures") if figures else {}
    data.update(parse_pairs(set_, "set"))
    _done(
        get_app().service.handle(
            c.SubmitReview(
                tenancy_id=tenancy,
                period=period,
                figures=data,
                actor=actor,
                expected_version=version,
            )
        ),
        as_json,
    )


@review_app.command("decide")
def review_decide(
    tenancy: int,
    period: Period,
    veto: Annotated[
        list[str] | None, typer.Option("--veto", help="一票否决事项 / veto code")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(help="pass | rectify | fail — override the rulebook (needs --reason)"),
    ] = None,
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """评定考核结果 / grade the review and apply its consequence."""
    _done(
        get_app().service.handle(
            c.DecideReview(
                tenancy_id=tenancy,
                period=period,
                vetoes=tuple(veto or ()),
                outcome=outcome,
                actor=actor,
                expected_version=version,
                reason=reason,
            )
        ),
        as_json,
    )


@rectify_app.command("plan")
def rectify_plan(
    tenancy: int,
    plan: Annotated[str, typer.Option(help="整改方案 / the plan" + TEXT_HELP)],
    actor: Actor = "firm",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """提交整改方案 / file the rectification plan."""
    _done(
        get_app().service.handle(
            c.FileRectificationPlan(
                tenancy_id=tenancy,
                plan=long_input(plan, "plan"),
                actor=actor,
                expected_version=version,
            )
        ),
        as_json,
    )


@rectify_app.command("extend")
def rectify_extend(
    tenancy: int,
    days: Annotated[int, typer.Option(help="延期天数 / days")],
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """整改延期（仅一次） / extend the rectification period (once)."""
    _done(
        get_app().service.handle(
            c.ExtendRectification(
                tenancy_id=tenancy, days=days, actor=actor, expected_version=version, reason=reason
            )
        ),
        as_json,
    )


@app.command("reinspect")
def reinspect_cmd(
    tenancy: int,
    passed: Annotated[bool, typer.Option("--pass/--fail", help="复查结果")],
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """整改复查 / re-inspection result."""
    _done(
        get_app().service.handle(
            c.Reinspect(
                tenancy_id=tenancy,
                passed=passed,
                actor=actor,
                expected_version=version,
                reason=reason,
            )
        ),
        as_json,
    )


@violation_app.command("report")
def violation_cmd(
    tenancy: int,
    code: Annotated[str, typer.Option(help="退出情形代码 / trigger code")],
    facts: Annotated[str, typer.Option(help="事实 / facts" + TEXT_HELP)],
    evidence: Annotated[str | None, typer.Option(help="证据 / evidence" + TEXT_HELP)] = None,
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """登记违规事实 / report a violation (starts a cure period where the rulebook says so)."""
    result = get_app().service.handle(
        c.ReportViolation(
            tenancy_id=tenancy,
            code=code,
            facts=long_input(facts, "facts"),
            evidence=None if evidence is None else long_input(evidence, "evidence"),
            actor=actor,
            expected_version=version,
        )
    )
    emit(
        result,
        as_json,
        f"入驻记录 {tenancy}：已登记违规 #{result['violation']}"
        f"（{code_words('HANDLING', result['handling'])}"
        + (
            f"，限期至 {result['cure_due_on']}）"
            if result["cure_due_on"]
            else "，可即送达退出告知 `innospace exit notice`）"
        )
        + f" / tenancy {tenancy}: violation #{result['violation']} recorded "
        f"({result['handling']}"
        + (
            f", cure by {result['cure_due_on']})"
            if result["cure_due_on"]
            else ", serve an exit notice now)"
        ),
    )


@violation_app.command("cure")
def violation_cure_cmd(
    violation: Annotated[int, typer.Argument(help="违规记录编号 / the violation's id")],
    on: Annotated[str, typer.Option("--on", help="纠正日期 YYYY-MM-DD / the day it was cured")],
    note: Annotated[
        str | None,
        typer.Option(help="纠正情况（收据、复查、移出名录文书） / how it was cured" + TEXT_HELP),
    ] = None,
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """登记违规已纠正 / record that the firm cured a violation (its deadline is cancelled;
    it no longer backs an exit notice).
    仅限设改正期限、未据此送达退出告知书的违规，纠正日期在期限内 / only one with a cure
    period, on a day within it, not one an exit notice was served on."""
    from entrypoints.cli.common import parse_date
    from workflows import queries

    service = get_app().service
    tenancy = service.query(queries.violation_tenancy, violation_id=violation)
    result = service.handle(
        c.CureViolation(
            tenancy_id=tenancy,
            violation=violation,
            cured_on=parse_date(on, "on"),
            note=None if note is None else long_input(note, "note"),
            actor=actor,
            expected_version=version,
            reason=reason,
        )
    )
    emit(
        result,
        as_json,
        f"入驻记录 {tenancy}：违规 #{violation} 已登记纠正（{result['cured_on']}），"
        f"其改正期限已撤销，不再作为退出依据 / tenancy {tenancy}: violation #{violation} "
        f"cured on {result['cured_on']}; its deadline is cancelled and it is no longer "
        "grounds for an exit notice",
    )


@exit_app.command("notice")
def exit_notice(
    tenancy: int,
    grounds: Annotated[str, typer.Option(help="退出情形代码 / trigger code")],
    facts: Annotated[str, typer.Option(help="事实与证据 / facts and evidence" + TEXT_HELP)],
    proof: Annotated[str, typer.Option("--proof", help="送达证明 / proof of service")],
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """送达退出告知书 / serve a forced-exit notice (opens the 陈述申辩 window)."""
    _done(
        get_app().service.handle(
            c.ServeExitNotice(
                tenancy_id=tenancy,
                grounds=grounds,
                facts=long_input(facts, "facts"),
                proof_of_service=proof,
                actor=actor,
                expected_version=version,
                reason=reason,
            )
        ),
        as_json,
    )


@exit_app.command("request")
def exit_request(
    tenancy: int,
    leave_on: Annotated[
        str, typer.Option("--leave-on", help="企业申请退出的日期 YYYY-MM-DD / the day to leave")
    ],
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """登记企业的书面退出申请（须提前通知期） / record the firm's written request to leave
    (as the portal does; the notice period counts from today)."""
    from entrypoints.cli.common import parse_date
    from workflows.answers import RequestVoluntaryExit

    _done(
        get_app().service.handle(
            RequestVoluntaryExit(
                tenancy_id=tenancy,
                leave_on=parse_date(leave_on, "leave_on"),
                actor=actor,
                expected_version=version,
                reason=reason,
            )
        ),
        as_json,
    )


@exit_app.command("begin")
def exit_begin(
    tenancy: int,
    exit_type: Annotated[str, typer.Option("--type", help="graduation | term_expiry | voluntary")],
    unapproved: Annotated[
        bool, typer.Option("--unapproved", help="未经批准 / not approved")
    ] = False,
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """办理毕业、到期或自愿退出 / start a graduation, term-end or voluntary exit."""
    _done(
        get_app().service.handle(
            c.BeginExit(
                tenancy_id=tenancy,
                exit_type=exit_type,
                approved=not unapproved,
                actor=actor,
                expected_version=version,
                reason=reason,
            )
        ),
        as_json,
    )


@exit_app.command("handover")
def exit_handover(
    tenancy: int,
    check: Annotated[
        list[str],
        typer.Option("--check", help="meters | keys | access_cards | premises_restored, repeat"),
    ],
    arrears: Annotated[int, typer.Option(help="欠费（元） / arrears in yuan")] = 0,
    damage: Annotated[int, typer.Option(help="损坏赔偿（元） / damage in yuan")] = 0,
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """交接验收并结算 / sign off the handover and settle."""
    _done(
        get_app().service.handle(
            c.HandOver(
                tenancy_id=tenancy,
                checklist={k: True for k in check},
                arrears_yuan=arrears,
                damage_yuan=damage,
                actor=actor,
                expected_version=version,
            )
        ),
        as_json,
    )


tenancy_command(
    exit_app,
    "confirm",
    "ConfirmExit",
    "申辩期满作出退出决定 / decide the exit after the defence window.",
)


@app.command("waive")
def waive_cmd(
    tenancy: int,
    window: Annotated[
        str,
        typer.Option(
            help="objection（陈述申辩期） | cure（限期改正期） | plan（整改方案期限） | "
            "rectification（整改期）"
        ),
    ],
    on: Annotated[str, typer.Option("--on", help="企业书面放弃的日期 YYYY-MM-DD / waiver date")],
    document: Annotated[
        str, typer.Option(help="书面放弃文件编号 / reference of the written waiver")
    ],
    violation: Annotated[
        int | None, typer.Option(help="违规记录编号（多个改正期时） / violation id, for cure")
    ] = None,
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """登记企业书面放弃期限（期限届满前方可作出决定） / record the firm's written waiver of a
    window, so that the decision it protects may be taken before the window ends."""
    from entrypoints.cli.common import parse_date

    _done(
        get_app().service.handle(
            c.WaiveWindow(
                tenancy_id=tenancy,
                window=window,
                waived_on=parse_date(on, "on"),
                document=document,
                violation=violation,
                actor=actor,
                expected_version=version,
                reason=reason,
            )
        ),
        as_json,
    )
