"""Admission commands: apply, screen, request-info, resubmit, score, approve, reject, 公示, sign."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

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
    parse_date,
    parse_pairs,
    shown,
)
from entrypoints.cli.wording import code_words, step_line
from entrypoints.lazy import lazy

if TYPE_CHECKING:
    from workflows import commands as c
    from workflows.core import Step
else:
    c = lazy("workflows.commands")


def _done(step: Step | dict[str, object], as_json: bool = False) -> None:
    data = step if isinstance(step, dict) else step.to_dict()
    if as_json:
        emit(data, True)
        return
    typer.echo(step_line(data))
    failures: Any = data.get("failures") or []
    for failure in failures:
        typer.echo(f"  ✗ {failure['id']} {failure['label_zh']} / {failure['label_en']}")
    if data.get("grade"):
        typer.echo(
            f"  得分 score {shown(data.get('score'))} 等级 grade {data.get('grade')} → "
            f"{code_words('CONSEQUENCES', data.get('consequence'))}"
        )


@app.command("apply")
def apply_cmd(
    firm: Annotated[str, typer.Argument(help="企业ID或统一社会信用代码 / firm id or USCC")],
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    track: Annotated[str, typer.Option(help="incubation | acceleration")] = "incubation",
    area: Annotated[float, typer.Option("--area", help="申请面积 m² / requested area")] = 0,
    profile: Annotated[str | None, typer.Option(help="申请资料 JSON 文件 / profile JSON")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="profile key=value")] = None,
    actor: Actor = "operator",
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """提交入驻申请 / file an application."""
    data = load_json_file(profile, "profile") if profile else {}
    data.update(parse_pairs(set_, "set"))
    step = get_app().service.handle(
        c.Apply(
            firm=firm, space=space, track=track, requested_area_m2=area, profile=data, actor=actor
        )
    )
    _done(step, as_json)


@app.command("screen")
def screen_cmd(
    tenancy: int,
    reject: Annotated[
        bool,
        typer.Option("--reject", help="以规则外理由驳回 / reject on grounds outside the rulebook"),
    ] = False,
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """形式审查（按硬性条件） / screen against the hard requirements."""
    _done(
        get_app().service.handle(
            c.Screen(
                tenancy_id=tenancy,
                reject=reject,
                actor=actor,
                expected_version=version,
                reason=reason,
            )
        ),
        as_json,
    )


@app.command("request-info")
def request_info_cmd(
    tenancy: int,
    items: Annotated[str, typer.Option(help="需补充的材料 / what is missing")],
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """要求补充材料 / request more information."""
    _done(
        get_app().service.handle(
            c.RequestInfo(tenancy_id=tenancy, items=items, actor=actor, expected_version=version)
        ),
        as_json,
    )


@app.command("resubmit")
def resubmit_cmd(
    tenancy: int,
    set_: Annotated[list[str] | None, typer.Option("--set", help="profile key=value")] = None,
    actor: Actor = "firm",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """补充材料后重新提交 / resubmit after an information request."""
    _done(
        get_app().service.handle(
            c.Resubmit(
                tenancy_id=tenancy,
                profile=parse_pairs(set_, "set"),
                actor=actor,
                expected_version=version,
            )
        ),
        as_json,
    )


@app.command("score")
def score_cmd(
    tenancy: int,
    reviewer: Annotated[str, typer.Option(help="评审专家 / reviewer")],
    score: Annotated[list[str], typer.Option("--score", help="criterion=points, repeat")],
    conflict: Annotated[
        bool, typer.Option("--conflict", help="申报利益冲突 / declared conflict")
    ] = False,
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """录入专家评分 / record one reviewer's scores."""
    scores = parse_pairs(score, "score")
    _done(
        get_app().service.handle(
            c.ScoreApplication(
                tenancy_id=tenancy,
                reviewer=reviewer,
                scores=scores,
                conflict_of_interest=conflict,
                actor=actor,
                expected_version=version,
            )
        ),
        as_json,
    )


@app.command("object")
def object_cmd(
    tenancy: int,
    by: Annotated[str | None, typer.Option(help="实名或单位盖章 / real name or seal")] = None,
    grounds: Annotated[str, typer.Option(help="理由 / grounds" + TEXT_HELP)] = "",
    evidence: Annotated[str | None, typer.Option(help="证据 / evidence" + TEXT_HELP)] = None,
    oral: Annotated[bool, typer.Option("--oral", help="非书面 / not in writing")] = False,
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """登记公示异议或陈述申辩 / lodge a publicity objection or an exit defence."""
    result = get_app().service.handle(
        c.LodgeObjection(
            tenancy_id=tenancy,
            by=by,
            written=not oral,
            grounds=long_input(grounds, "grounds"),
            evidence=None if evidence is None else long_input(evidence, "evidence"),
            actor=actor,
            expected_version=version,
        )
    )
    if as_json:
        emit(result, True)
    elif result["accepted"]:
        typer.echo(f"tenancy {tenancy}: 异议已受理 / objection accepted")
    else:
        typer.echo(f"tenancy {tenancy}: 异议不予受理 / objection not accepted: {result['refusal']}")


@app.command("rule")
def rule_cmd(
    tenancy: int,
    upheld: Annotated[
        bool,
        typer.Option(
            "--upheld/--dismissed", help="异议成立/不成立 / objection upheld or dismissed"
        ),
    ],
    reason: Annotated[str, typer.Option(help="决定理由 / reasons")],
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """对异议或申辩作出决定 / rule on an objection or a defence."""
    _done(
        get_app().service.handle(
            c.RuleOnObjection(
                tenancy_id=tenancy,
                upheld=upheld,
                reason=reason,
                actor=actor,
                expected_version=version,
            )
        ),
        as_json,
    )


@app.command("sign")
def sign_cmd(
    tenancy: int,
    unit: Annotated[list[str], typer.Option("--unit", help="单元代码，可重复 / unit code, repeat")],
    start: Annotated[str, typer.Option("--from", help="起租日 YYYY-MM-DD / term start")],
    end: Annotated[str, typer.Option("--to", help="到期日 YYYY-MM-DD / term end")],
    deposit: Annotated[int, typer.Option(help="押金（元） / deposit in yuan")] = 0,
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """签订入驻协议并分配单元 / sign the agreement and let units."""
    _done(
        get_app().service.handle(
            c.Sign(
                tenancy_id=tenancy,
                units=tuple(unit),
                term_start=parse_date(start, "from"),
                term_end=parse_date(end, "to"),
                deposit_yuan=deposit,
                actor=actor,
                expected_version=version,
            )
        ),
        as_json,
    )


def tenancy_command(
    typer_app: typer.Typer,
    name: str,
    command_name: str,
    doc: str,
    *,
    actor_default: str = "operator",
) -> None:
    """Register a command that needs only the tenancy (and who acts, why, which version):
    ``command_name`` is its class in ``workflows.commands``, imported when it runs."""

    def run(
        tenancy: int,
        actor: Actor = actor_default,
        version: Version = None,
        reason: Reason = None,
        as_json: Json = False,
    ) -> None:
        command_type: type[c.TenancyCommand] = getattr(c, command_name)
        command = command_type(
            tenancy_id=tenancy, actor=actor, expected_version=version, reason=reason
        )
        _done(get_app().service.handle(command), as_json)

    run.__doc__ = doc
    typer_app.command(name)(run)


tenancy_command(
    app, "approve", "Approve", "评审通过，进入公示 / approve and start the public notice."
)


@app.command("reject")
def reject(
    tenancy: int,
    without_panel: Annotated[
        bool,
        typer.Option(
            "--without-panel",
            help="未组成有效评审小组时由运营方具名决定不予通过（须 --actor 姓名与 --grounds） / "
            "reject without a valid panel: a named operator's decision (needs --actor, --grounds)",
        ),
    ] = False,
    grounds: Annotated[
        str | None, typer.Option(help="决定理由（写入通知） / grounds, stated in the notice")
    ] = None,
    actor: Actor = "operator",
    version: Version = None,
    reason: Reason = None,
    as_json: Json = False,
) -> None:
    """评审不通过（须有效评审小组） / reject after evaluation by a valid panel."""
    command: c.TenancyCommand
    if without_panel:
        command = c.RejectWithoutPanel(
            tenancy_id=tenancy,
            grounds=grounds or "",
            actor=actor,
            expected_version=version,
            reason=reason,
        )
    else:
        if grounds is not None:
            raise typer.BadParameter(
                "--grounds 仅用于 --without-panel / --grounds goes with --without-panel",
                param_hint="--grounds",
            )
        command = c.Reject(tenancy_id=tenancy, actor=actor, expected_version=version, reason=reason)
    _done(get_app().service.handle(command), as_json)


tenancy_command(
    app, "end-publicity", "EndPublicity", "公示期满，准予入驻 / close the public notice and admit."
)
tenancy_command(
    app, "withdraw", "Withdraw", "撤回申请 / withdraw the application.", actor_default="firm"
)
