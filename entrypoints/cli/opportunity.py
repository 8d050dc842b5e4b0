"""城市机会清单 and the land ledger on the command line.

innospace opportunity submit SPACE --kind need|supply --title T --description D
    --field F --sought S --contact-name N --valid-until DATE [--firm FIRM] [--contact-phone P]
    [--contact-public]
innospace opportunity entries [--space S] [--status S] [--kind K] [--json]
innospace opportunity show ID | edit ID [--title ...] | return ID --reason R | accept ID
innospace opportunity suggest ID [--limit N]
innospace opportunity introduce NEED SUPPLY [--note N] | outcome INTRO OUTCOME [--note N]
innospace opportunity list all | create --title T [--number N] | arrange N ID ... |
    publish N | show N | export N --out FILE.xlsx | verify N
innospace land add SPACE PARCEL --use M0 --land-area M2 --floor-area M2 [--plot-ratio R]
innospace land edit PARCEL [--use ...] [--land-area ...] [--floor-area ...] [--plot-ratio ...]
innospace land list [--space S] [--json]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints.cli.common import Actor, Json, Reason, app, emit, get_app, parse_date, shown

if TYPE_CHECKING:
    from workflows import opportunity_commands as oc
    from workflows import queries_opportunities as qo
else:
    from entrypoints.lazy import lazy

    oc = lazy("workflows.opportunity_commands")
    qo = lazy("workflows.queries_opportunities")

opportunity_app = typer.Typer(
    help="城市机会清单 / city opportunity lists: needs (新场景) and supplies (新产品)",
    no_args_is_help=True,
)
list_app = typer.Typer(
    help="第N期清单 / numbered lists: assemble, publish (frozen), export", no_args_is_help=True
)
land_app = typer.Typer(help="土地台账 / the land a space stands on", no_args_is_help=True)
app.add_typer(opportunity_app, name="opportunity")
opportunity_app.add_typer(list_app, name="list")
app.add_typer(land_app, name="land")

EntryArg = Annotated[int, typer.Argument(help="条目编号 / entry id")]
NumberArg = Annotated[int, typer.Argument(help="期数 / list number (第N期)")]
Text = Annotated[str | None, typer.Option()]


def _entry_line(e: dict[str, Any]) -> str:
    who = e["firm"] or f"{e['space_name']}（空间 / space）"
    return (
        f"#{e['id']:<4} [{e['space']}] {e['kind_zh']} {e['title']} — {who} · {e['field_zh']} · "
        f"{e['status_label']} · 有效期至 / valid until {e['valid_until']}"
    )


@opportunity_app.command("submit")
def submit(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    kind: Annotated[str, typer.Option("--kind", help="need（新场景）| supply（新产品）")],
    title: Annotated[str, typer.Option("--title", help="名称 / title")],
    description: Annotated[str, typer.Option("--description", help="内容简介 / description")],
    field: Annotated[str, typer.Option("--field", help="领域（规则中的行业代码） / industry")],
    sought: Annotated[
        str, typer.Option("--sought", help="所需或可提供 / what is sought or offered")
    ],
    contact_name: Annotated[str, typer.Option("--contact-name", help="联系人 / contact person")],
    valid_until: Annotated[str, typer.Option("--valid-until", help="有效期至 / YYYY-MM-DD")],
    firm: Annotated[
        str | None, typer.Option("--firm", help="企业编号或信用代码；缺省为空间自身 / firm")
    ] = None,
    contact_phone: Annotated[
        str | None, typer.Option("--contact-phone", help="联系电话 / phone")
    ] = None,
    contact_public: Annotated[
        bool, typer.Option("--contact-public", help="公开联系方式 / show the contact publicly")
    ] = False,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """提交条目 / submit a need or a supply (it waits for the operators' review)."""
    done = get_app().service.handle(
        oc.SubmitEntry(
            space=space,
            firm=firm,
            kind=kind,
            title=title,
            description=description,
            field=field,
            sought=sought,
            contact_name=contact_name,
            contact_phone=contact_phone,
            contact_public=contact_public,
            valid_until=parse_date(valid_until, "--valid-until"),
            actor=actor,
        )
    )
    emit(done, as_json, f"已提交 / submitted: 条目 #{done['entry_id']}（待审核 / submitted）")


@opportunity_app.command("entries")
def entries(
    space: Annotated[str | None, typer.Option("--space", help="空间代码 / space")] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="submitted | returned | accepted | listed | published"),
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="need | supply")] = None,
    as_json: Json = False,
) -> None:
    """列出条目 / list entries, newest first."""
    rows = get_app().service.query(qo.entries, space=space, status=status, kind=kind)
    emit(rows, as_json, "\n".join(map(_entry_line, rows)) if rows else "(没有条目 / no entries)")


@opportunity_app.command("show")
def show(entry: EntryArg, as_json: Json = False) -> None:
    """条目详情与时间线 / an entry, its timeline and introductions."""
    e = get_app().service.query(qo.entry, entry_id=entry)
    lines = [
        _entry_line(e),
        f"  简介 / description: {e['description']}",
        f"  所需或可提供 / sought or offered: {e['sought']}",
        f"  联系人 / contact: {e['contact_name']} {shown(e['contact_phone'])}"
        f"（{'公开 / public' if e['contact_public'] else '不公开 / not public'}）",
    ]
    if e["return_reason"]:
        lines.append(f"  退回理由 / returned because: {e['return_reason']}")
    for t in e["timeline"]:
        lines.append(
            f"  {t['seq']:>2}. {t['at'][:16]} {t['action']} {shown(t['from_status'])} → "
            f"{t['to_status']} by {t['actor']}" + (f" — {t['reason']}" if t["reason"] else "")
        )
    for f in e["attachments"]:
        lines.append(
            f"  附件 / file: {f['name']}（{f['type']}，{f['size']:,} B，{f['sha256'][:12]}）"
        )
    for i in e["introductions"]:
        lines.append(
            f"  对接 / introduction #{i['id']}: {i['need_title']} ↔ {i['supply_title']} · "
            f"{i['outcome_label']}"
        )
    emit(e, as_json, "\n".join(lines))


@opportunity_app.command("edit")
def edit(
    entry: EntryArg,
    title: Annotated[str | None, typer.Option("--title", help="名称 / title")] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="内容简介 / description")
    ] = None,
    field: Annotated[str | None, typer.Option("--field", help="领域 / industry code")] = None,
    sought: Annotated[
        str | None, typer.Option("--sought", help="所需或可提供 / sought or offered")
    ] = None,
    contact_name: Annotated[
        str | None, typer.Option("--contact-name", help="联系人 / contact person")
    ] = None,
    contact_phone: Annotated[
        str | None, typer.Option("--contact-phone", help="联系电话 / phone")
    ] = None,
    contact_public: Annotated[
        bool | None,
        typer.Option("--contact-public/--contact-private", help="是否公开联系方式 / public?"),
    ] = None,
    valid_until: Annotated[
        str | None, typer.Option("--valid-until", help="有效期至 / YYYY-MM-DD")
    ] = None,
    reason: Reason = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """修改条目 / edit an entry (not once it is on a list)."""
    done = get_app().service.handle(
        oc.EditEntry(
            entry_id=entry,
            title=title,
            description=description,
            field=field,
            sought=sought,
            contact_name=contact_name,
            contact_phone=contact_phone,
            contact_public=contact_public,
            valid_until=None if valid_until is None else parse_date(valid_until, "--valid-until"),
            reason=reason,
            actor=actor,
        )
    )
    changed = "、".join(done["changes"]) or "—"
    emit(done, as_json, f"已修改 / edited: 条目 #{entry}（{changed}）")


@opportunity_app.command("attach")
def attach(
    entry: EntryArg,
    files: Annotated[list[Path], typer.Argument(help="文件 / files (PDF, PNG, JPEG)")],
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """上传附件 / add files to an entry: PDF, PNG or JPEG by content, 10 MiB each, 5 per entry
    (not once it is on a list)."""
    from lifecycle.errors import InvalidInput
    from workflows import attachments

    named = []
    for path in files:
        try:
            with open(path, "rb") as fh:
                named.append((path.name, fh.read(attachments.MAX_FILE_BYTES + 1)))
        except OSError as err:
            raise InvalidInput(
                "attachments", f"无法读取文件 / cannot read the file: {err.strerror}", str(path)
            ) from None
    a = get_app()
    store = attachments.FileStore(a.settings.files_directory())
    with attachments.storing(store, named, most=attachments.MAX_ENTRY_FILES) as metas:
        done = a.service.handle(oc.AttachToEntry(entry_id=entry, attachments=metas, actor=actor))
    emit(done, as_json, f"已上传 / attached: 条目 #{entry} 共 {done['attachments']} 个附件 / files")


@opportunity_app.command("return")
def return_(
    entry: EntryArg,
    reason: Annotated[str, typer.Option("--reason", help="退回理由 / why (the firm is told)")],
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """退回条目 / return an entry to its submitter with the reason."""
    done = get_app().service.handle(oc.ReturnEntry(entry_id=entry, reason=reason, actor=actor))
    emit(done, as_json, f"已退回 / returned: 条目 #{entry}")


@opportunity_app.command("accept")
def accept(entry: EntryArg, actor: Actor = "operator", as_json: Json = False) -> None:
    """采纳条目 / accept an entry: it waits for the next list."""
    done = get_app().service.handle(oc.AcceptEntry(entry_id=entry, actor=actor))
    emit(done, as_json, f"已采纳 / accepted: 条目 #{entry}")


@opportunity_app.command("suggest")
def suggest(
    entry: EntryArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=50, help="条数 / how many")] = 5,
    as_json: Json = False,
) -> None:
    """推荐匹配 / the other side's entries that match best (BM25 over the words)."""
    rows = get_app().service.query(qo.suggestions, entry_id=entry, limit=limit)
    text = "\n".join(
        f"#{r['id']:<4} {r['kind_zh']} {r['title']} — {r['firm'] or r['space']} · 相关度 / score "
        f"{r['score']:.2f} · 共同词 / shared: {'、'.join(r['shared_words'])}"
        for r in rows
    )
    emit(rows, as_json, text or "(没有匹配 / no match)")


@opportunity_app.command("introduce")
def introduce(
    need: Annotated[int, typer.Argument(help="新场景条目 / the need's entry id")],
    supply: Annotated[int, typer.Argument(help="新产品条目 / the supply's entry id")],
    note: Annotated[str | None, typer.Option("--note", help="备注 / note")] = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """记录对接 / record that a need was introduced to a supply."""
    done = get_app().service.handle(
        oc.Introduce(need_id=need, supply_id=supply, note=note, actor=actor)
    )
    emit(done, as_json, f"已对接 / introduced: #{done['introduction_id']}")


@opportunity_app.command("outcome")
def outcome(
    introduction: Annotated[int, typer.Argument(help="对接编号 / introduction id")],
    result: Annotated[
        str,
        typer.Argument(
            help="结果：已联系、洽谈中、已合作、未成 / contacted | in_talks | deal | closed"
        ),
    ],
    note: Annotated[str | None, typer.Option("--note", help="备注 / note")] = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """记录对接结果 / record how an introduction went."""
    done = get_app().service.handle(
        oc.RecordOutcome(introduction_id=introduction, outcome=result, note=note, actor=actor)
    )
    emit(done, as_json, f"已记录 / recorded: #{introduction} → {result}")


@opportunity_app.command("verify")
def verify_all(as_json: Json = False) -> None:
    """核验全部审计链 / recompute every entry's, list's and introduction's hash chain and each
    published list's content hash."""
    from lifecycle.errors import IntegrityError

    report = get_app().service.query(qo.verify_chains)
    text = (
        f"{report['chains']} 条链 / chains, {report['events']} 个事件 / events: 完整 / verified"
        if report["ok"]
        else "\n".join(report["problems"])
    )
    emit(report, as_json, text)
    if not report["ok"]:
        count = len(report["problems"])
        raise IntegrityError(
            f"机会清单审计链有 {count} 处断裂 / opportunity chains broken in {count} place(s)"
        )


# ---- numbered lists ---------------------------------------------------------------------------
def _owner(item: dict[str, Any]) -> str:
    """Who an item is from: its firm, or its space (a published item holds the space as a
    mapping, a draft's entry its name)."""
    if item["firm"]:
        return str(item["firm"])
    space = item["space"]
    return str(space["name"] if isinstance(space, dict) else item["space_name"])


@list_app.command("all")
def lists(as_json: Json = False) -> None:
    """所有清单 / every numbered list."""
    rows = get_app().service.query(qo.lists)
    text = "\n".join(
        f"第{r['number']}期 {r['title']} · {r['entries']} 条 / entries · "
        + (f"已发布 / published {r['published_at'][:10]}" if r["published_at"] else "草稿 / draft")
        for r in rows
    )
    emit(rows, as_json, text or "(没有清单 / no lists)")


@list_app.command("create")
def create(
    title: Annotated[str, typer.Option("--title", help="标题 / title")],
    number: Annotated[int | None, typer.Option("--number", help="期数 / number")] = None,
    actor: Actor = "district",
    as_json: Json = False,
) -> None:
    """新建清单草稿 / a new draft list (number: one more than the last unless given)."""
    done = get_app().service.handle(oc.CreateList(title=title, number=number, actor=actor))
    emit(done, as_json, f"已新建 / created: 第{done['number']}期（草稿 / draft）")


@list_app.command("arrange")
def arrange(
    number: NumberArg,
    entry_ids: Annotated[list[int], typer.Argument(help="条目编号，按顺序 / entry ids in order")],
    actor: Actor = "district",
    as_json: Json = False,
) -> None:
    """编排清单 / the draft's entries in order (entries left out wait for another list)."""
    done = get_app().service.handle(
        oc.ArrangeList(number=number, entry_ids=tuple(entry_ids), actor=actor)
    )
    emit(done, as_json, f"第{number}期：{len(done['entries'])} 条 / entries")


@list_app.command("publish")
def publish(number: NumberArg, actor: Actor = "district", as_json: Json = False) -> None:
    """发布清单 / publish a list: frozen, its content hash in its audit chain."""
    done = get_app().service.handle(oc.PublishList(number=number, actor=actor))
    emit(
        done,
        as_json,
        f"已发布 / published: 第{number}期，{done['entries']} 条 / entries，"
        f"内容摘要 / content SHA-256 {done['content_hash']}",
    )


@list_app.command("show")
def show_list(number: NumberArg, as_json: Json = False) -> None:
    """清单内容 / a list's items (a published list as frozen)."""
    found = get_app().service.query(qo.list_detail, number=number)
    status = {"published": "已发布 / published", "draft": "草稿 / draft"}.get(
        str(found["status"]), str(found["status"])
    )
    lines = [f"第{found['number']}期 {found['title']} · {status}"]
    for kind, label in (("need", "新场景 / needs"), ("supply", "新产品 / supplies")):
        items = [i for i in found["items"] if i["kind"] == kind]
        if items:
            lines.append(f"{label}（{len(items)}）")
            lines += [f"  {i['n']:>3}. {i['title']} — {_owner(i)}" for i in items]
    emit(found, as_json, "\n".join(lines))


@list_app.command("export")
def export(
    number: NumberArg,
    out: Annotated[str, typer.Option("--out", help="输出文件 / output .xlsx file")],
) -> None:
    """导出已发布清单 / a published list as an Excel workbook."""
    from workflows import excel, opportunity_excel

    content = get_app().service.query(qo.public_list, number=number)
    excel.save(opportunity_excel.list_book(content), out)
    typer.echo(f"已写出 / written: {out}（{len(content['items'])} 条 / items）")


@list_app.command("verify")
def verify(number: NumberArg, as_json: Json = False) -> None:
    """核验清单 / check a list's chain and its published content against its hash."""
    from lifecycle.errors import IntegrityError

    report = get_app().service.query(qo.verify_list, number=number)
    emit(report, as_json, "完整 / verified" if report["ok"] else "\n".join(report["problems"]))
    if not report["ok"]:
        count = len(report["problems"])
        raise IntegrityError(f"清单 {number}：{count} 处问题 / list {number}: {count} problem(s)")


# ---- land -------------------------------------------------------------------------------------
def _parcel_line(p: dict[str, Any]) -> str:
    return (
        f"{p['parcel_code']} [{p['space']}] {p['land_use']} · "
        f"用地 / land {p['land_area_m2']:,.2f} ㎡"
        f"（{p['land_area_mu']:,.2f} 亩） · 建筑 / floor {p['floor_area_m2']:,.2f} ㎡ · "
        f"容积率 / plot ratio {p['plot_ratio']}"
    )


Use = Annotated[str | None, typer.Option("--use", help="用地性质 / land use: M0 | M1 | ...")]
LandArea = Annotated[float | None, typer.Option("--land-area", help="用地面积 / land area, ㎡")]
FloorArea = Annotated[float | None, typer.Option("--floor-area", help="建筑面积 / floor area, ㎡")]
PlotRatio = Annotated[
    float | None, typer.Option("--plot-ratio", help="容积率（缺省按面积计算） / plot ratio")
]


@land_app.command("add")
def land_add(
    space: Annotated[str, typer.Argument(help="空间代码 / space code")],
    parcel: Annotated[str, typer.Argument(help="地块编号 / parcel id")],
    use: Use = None,
    land_area: LandArea = None,
    floor_area: FloorArea = None,
    plot_ratio: PlotRatio = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """登记地块 / record a land parcel of a space."""
    from lifecycle.errors import InvalidInput

    if land_area is None or floor_area is None:
        raise InvalidInput(
            "--land-area" if land_area is None else "--floor-area", "不能为空 / required"
        )
    done = get_app().service.handle(
        oc.AddParcel(
            space=space,
            parcel_code=parcel,
            land_use=use or "",
            land_area_m2=land_area,
            floor_area_m2=floor_area,
            plot_ratio=plot_ratio,
            actor=actor,
        )
    )
    emit(done, as_json, f"已登记 / recorded: {done['parcel_code']} ({done['land_use']})")


@land_app.command("edit")
def land_edit(
    parcel: Annotated[str, typer.Argument(help="地块编号 / parcel id")],
    use: Use = None,
    land_area: LandArea = None,
    floor_area: FloorArea = None,
    plot_ratio: PlotRatio = None,
    actor: Actor = "operator",
    as_json: Json = False,
) -> None:
    """修改地块 / correct a parcel's use, areas or plot ratio."""
    done = get_app().service.handle(
        oc.EditParcel(
            parcel_code=parcel,
            land_use=use,
            land_area_m2=land_area,
            floor_area_m2=floor_area,
            plot_ratio=plot_ratio,
            actor=actor,
        )
    )
    emit(done, as_json, f"已修改 / edited: {parcel}（{'、'.join(done['changes'])}）")


@land_app.command("list")
def land_list(
    space: Annotated[str | None, typer.Option("--space", help="空间代码 / space")] = None,
    as_json: Json = False,
) -> None:
    """地块台账 / the parcels of every space (or one)."""
    rows = get_app().service.query(qo.parcels, space=space)
    emit(rows, as_json, "\n".join(map(_parcel_line, rows)) or "(没有地块 / no parcels)")
