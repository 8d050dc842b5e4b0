"""Corrections: ``firm edit``, ``unit edit``, ``unit retire``, ``agreement amend``.

Each needs ``--reason``; each is recorded as an audit event on the tenancies it affects
(``timeline`` shows it) and refused where it would contradict a decision already taken.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from entrypoints.cli.admin import firm_app, unit_app
from entrypoints.cli.admission import _done
from entrypoints.cli.common import Actor, Json, Version, app, emit, get_app, parse_date

agreement_app = typer.Typer(help="入驻协议 / agreements", no_args_is_help=True)
app.add_typer(agreement_app, name="agreement")

Why = Annotated[
    str, typer.Option("--reason", help="更正理由（必填，记入审计） / why (required, audited)")
]


def _changes(result: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {old} → {new}" for k, (old, new) in result["changes"].items())


@firm_app.command("edit")
def firm_edit(
    firm: Annotated[str, typer.Argument(help="企业ID或统一社会信用代码 / firm id or USCC")],
    reason: Why,
    name: Annotated[str | None, typer.Option(help="企业名称 / firm name")] = None,
    industry: Annotated[str | None, typer.Option(help="行业 / industry code")] = None,
    founded: Annotated[str | None, typer.Option(help="成立日期 YYYY-MM-DD")] = None,
    contact: Annotated[str | None, typer.Option(help="联系人 / contact")] = None,
    email: Annotated[str | None, typer.Option(help="邮箱 / e-mail")] = None,
    phone: Annotated[str | None, typer.Option(help="电话 / phone")] = None,
    manager: Annotated[str | None, typer.Option(help="客户经理 / account manager")] = None,
    locale: Annotated[str | None, typer.Option(help="zh-CN | en")] = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """更正企业信息 / correct a firm's particulars (audited on its tenancies)."""
    from workflows.corrections import EditFirm

    given = {
        "name": name,
        "industry": industry,
        "founded_on": parse_date(founded, "founded") if founded else None,
        "contact_name": contact,
        "contact_email": email,
        "contact_phone": phone,
        "account_manager": manager,
        "locale": locale,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    result = get_app().service.handle(
        EditFirm(firm=firm, changes=changes, actor=actor, reason=reason)
    )
    emit(result, as_json, f"firm #{result['firm']} 已更正 / corrected: {_changes(result)}")


@unit_app.command("edit")
def unit_edit(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    code: Annotated[str, typer.Argument(help="单元代码 / unit code")],
    reason: Why,
    kind: Annotated[
        str | None, typer.Option(help="office | lab | wet_lab | production | desk")
    ] = None,
    area: Annotated[float | None, typer.Option(help="面积 m² / area")] = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """更正单元信息 / correct a unit (a let unit's area: through `agreement amend`)."""
    from workflows.corrections import EditUnit

    result = get_app().service.handle(
        EditUnit(space=space, code=code, kind=kind, area_m2=area, actor=actor, reason=reason)
    )
    emit(result, as_json, f"unit {space}/{code} 已更正 / corrected: {_changes(result)}")


@unit_app.command("retire")
def unit_retire(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    code: Annotated[str, typer.Argument(help="单元代码 / unit code")],
    reason: Why,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """停用单元（已出租的不可停用） / retire a unit (never one that is let)."""
    from workflows.corrections import RetireUnit

    result = get_app().service.handle(
        RetireUnit(space=space, code=code, actor=actor, reason=reason)
    )
    emit(result, as_json, f"unit {space}/{code} 已停用 / retired")


@agreement_app.command("amend")
def agreement_amend(
    tenancy: Annotated[int, typer.Argument(help="租户ID / tenancy id")],
    reason: Why,
    start: Annotated[
        str | None, typer.Option("--from", help="起租日 YYYY-MM-DD / term start")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="到期日 YYYY-MM-DD / term end")] = None,
    deposit: Annotated[int | None, typer.Option(help="押金（元） / deposit in yuan")] = None,
    unit: Annotated[
        list[str] | None,
        typer.Option("--unit", help="全部单元，可重复 / every unit let, repeat"),
    ] = None,
    area: Annotated[float | None, typer.Option(help="面积 m²（单个单元） / area")] = None,
    actor: Actor = "operator",
    version: Version = None,
    as_json: Json = False,
) -> None:
    """更正入驻协议（租期、押金、单元、面积） / amend an agreement (term, deposit, units, area)."""
    from workflows.corrections import AmendAgreement

    step = get_app().service.handle(
        AmendAgreement(
            tenancy_id=tenancy,
            term_start=parse_date(start, "from") if start else None,
            term_end=parse_date(end, "to") if end else None,
            deposit_yuan=deposit,
            units=tuple(unit) if unit else None,
            area_m2=area,
            actor=actor,
            reason=reason,
            expected_version=version,
        )
    )
    _done(step, as_json)
