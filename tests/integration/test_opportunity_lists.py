"""The city opportunity lists and the district view through the real service, on SQLite and
PostgreSQL: a firm's need and another's supply submitted, reviewed, listed, published frozen
(the hash in the list's chain, the firms' notices queued, the public view without hidden
contacts), a supply suggested for the need, an introduction ending in a deal; land parcels
and the district's figures for the year. Refusals write nothing."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from db.tables import ALL_TABLES
from entrypoints.demo_data import good_profile, make_uscc
from lifecycle import checkpoint as cp
from lifecycle import opportunities as opp
from lifecycle.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows import attachments, audit, checkpoints
from workflows import commands as c
from workflows import queries_district as qd
from workflows import queries_opportunities as qo
from workflows.opportunity_commands import (
    AcceptEntry,
    AddParcel,
    ArrangeList,
    AttachToEntry,
    CreateList,
    EditEntry,
    Introduce,
    PublishList,
    RecordOutcome,
    ReturnEntry,
    SubmitEntry,
)
from workflows.service import Service

TABLES = (
    "opportunity_entries",
    "opportunity_lists",
    "opportunity_events",
    "outbox",
    "introductions",
)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(
                conn.execute(select(func.count()).select_from(ALL_TABLES.tables[t])).scalar_one()
            )
            for t in TABLES
        }


@pytest.fixture
def firms(service: Service) -> dict[str, int]:
    """峰际生物 and 君健万峰, each applied to MC3 (an open stay there)."""
    rng = random.Random(18)
    service.handle(c.CreateSpace(code="MC3", name="成都医学城三医创新中心"))
    out = {}
    for name in ("峰际生物", "君健万峰"):
        uscc = make_uscc(rng)
        out[name] = service.handle(c.RegisterFirm(name=name, uscc=uscc, industry="pharma"))["firm"]
        service.handle(c.Apply(firm=uscc, space="MC3", profile=good_profile(date(2024, 3, 4))))
    return out


def need(firm: int, **kw: Any) -> SubmitEntry:
    values: dict[str, Any] = {
        "space": "MC3",
        "firm": str(firm),
        "kind": "need",
        "title": "寻求与医院开展失眠临床技术合作",
        "description": "峰际生物寻求与三甲医院睡眠医学科合作，"
        "开展失眠干预设备的临床验证（示例数据）。",
        "field": "medical_devices",
        "sought": "医院睡眠科临床合作、失眠治疗设备",
        "contact_name": "张敏",
        "contact_phone": "028-6000 0001",
        "valid_until": date(2024, 12, 31),
        "as_firm": firm,
        "actor": "fengji",
    }
    return SubmitEntry(**{**values, **kw})


def supply(firm: int, **kw: Any) -> SubmitEntry:
    values: dict[str, Any] = {
        "kind": "supply",
        "title": "多功能失眠治疗仪",
        "description": "君健万峰自主研发的多功能失眠治疗仪，已取得注册证，"
        "可与医院睡眠科开展临床合作（示例数据）。",
        "sought": "失眠治疗设备，寻找医院睡眠科与省外代理",
        "contact_name": "李华",
        "contact_public": True,
        "as_firm": firm,
        "actor": "junjian",
    }
    return need(firm, **{**values, **kw})


def test_a_need_is_published_matched_and_introduced(
    service: Service, engine: Engine, firms: dict[str, int]
) -> None:
    fengji, junjian = firms["峰际生物"], firms["君健万峰"]
    n = service.handle(need(fengji))["entry_id"]
    s = service.handle(supply(junjian))["entry_id"]
    other = service.handle(
        supply(
            junjian,
            title="区块链知识产权交易平台",
            description="知识产权登记、评估与交易撮合服务，面向高校院所（示例数据）。",
            sought="知识产权交易服务",
            field="medical_big_data",
        )
    )["entry_id"]
    service.handle(ReturnEntry(entry_id=n, reason="请写明合作医院的级别"))
    service.handle(
        EditEntry(entry_id=n, sought="三甲医院睡眠科临床合作、失眠治疗设备", as_firm=fengji)
    )
    for e in (n, s, other):
        service.handle(AcceptEntry(entry_id=e))

    suggested = service.query(qo.suggestions, entry_id=n)
    assert [x["id"] for x in suggested][0] == s
    assert "失眠" in suggested[0]["shared_words"]
    assert service.query(qo.suggestions, entry_id=s)[0]["id"] == n

    service.handle(CreateList(title="温江区第5期城市机会清单", number=5, actor="district"))
    service.handle(ArrangeList(number=5, entry_ids=(s, n), actor="district"))
    with pytest.raises(NotFound):  # a draft is not public
        service.query(qo.public_list, number=5)
    done = service.handle(PublishList(number=5, actor="district"))
    public = service.query(qo.public_list, number=5)
    assert public["content_hash"] == done["content_hash"]
    assert [(i["n"], i["title"]) for i in public["items"]] == [
        (1, "多功能失眠治疗仪"),
        (2, "寻求与医院开展失眠临床技术合作"),
    ]
    assert public["items"][0]["contact"] == {"name": "李华", "phone": "028-6000 0001"}
    assert public["items"][1]["contact"] is None
    assert "张敏" not in str(public)
    assert service.query(qo.verify_list, number=5) == {"number": 5, "ok": True, "problems": []}

    with engine.connect() as conn:
        outbox = ALL_TABLES.tables["outbox"]
        sent = conn.execute(
            select(outbox.c.message, outbox.c.firm_id)
            .where(outbox.c.message.like("opportunity_%"))
            .order_by(outbox.c.id)
        ).all()
    assert [tuple(r) for r in sent] == [
        ("opportunity_returned", fengji),
        ("opportunity_accepted", fengji),
        ("opportunity_accepted", junjian),
        ("opportunity_accepted", junjian),
        ("opportunity_published", junjian),
        ("opportunity_published", fengji),
    ]

    i = service.handle(Introduce(need_id=n, supply_id=s, note="运营方牵线"))["introduction_id"]
    service.handle(RecordOutcome(introduction_id=i, outcome="contacted"))
    service.handle(RecordOutcome(introduction_id=i, outcome="deal"))
    shown = service.query(qo.introductions, firm_id=fengji)
    assert [(x["need_firm"], x["supply_firm"], x["outcome"]) for x in shown] == [
        ("峰际生物", "君健万峰", "deal")
    ]
    assert service.query(qo.introductions, firm_id=junjian) == shown
    assert service.query(qo.cooperation, firm_id=junjian, year=2024) == {
        "published_entries": 1,
        "deals": 1,
    }
    detail = service.query(qo.entry, entry_id=n)
    assert [t["action"] for t in detail["timeline"]] == [
        "submit",
        "return",
        "resubmit",
        "accept",
        "list",
        "publish",
    ]


def test_refusals_write_nothing(service: Service, engine: Engine, firms: dict[str, int]) -> None:
    fengji, junjian = firms["峰际生物"], firms["君健万峰"]
    service.handle(CreateList(title="第1期城市机会清单"))
    before = counts(engine)
    refused: list[tuple[Any, type[Exception]]] = [
        (need(fengji, title=""), InvalidInput),
        (need(fengji, description="长" * 2001), InvalidInput),
        (need(junjian, as_firm=fengji), Forbidden),
        (PublishList(number=1), InvalidInput),
        (ArrangeList(number=1, entry_ids=(999,)), InvalidInput),
        (EditEntry(entry_id=999, title="不存在的条目"), NotFound),
    ]
    for command, error in refused:
        with pytest.raises(error):
            service.handle(command)
    assert counts(engine) == before
    e = service.handle(need(fengji))["entry_id"]
    service.handle(AcceptEntry(entry_id=e))
    service.handle(ArrangeList(number=1, entry_ids=(e,)))
    # An account granted spaces other than MC3 may not publish a list holding MC3's entry.
    before = counts(engine)
    with pytest.raises(Forbidden, match="第1期清单含有 1 条您无权查看的空间的条目"):
        service.handle(PublishList(number=1, as_spaces=frozenset({10**6})))
    assert counts(engine) == before
    mc3 = service.read(lambda w: w.uow.registry.space("MC3").id)
    service.handle(PublishList(number=1, as_spaces=frozenset({mc3})))
    before = counts(engine)
    for command in (
        ArrangeList(number=1, entry_ids=()),
        PublishList(number=1),
        EditEntry(entry_id=e, title="发布后再改"),
    ):
        with pytest.raises(Conflict):
            service.handle(command)
    assert counts(engine) == before


def test_the_district_view_divides_tax_by_let_area_and_land(
    service: Service, firms: dict[str, int]
) -> None:
    service.handle(
        AddParcel(
            space="MC3",
            parcel_code="WJ-M0-01",
            land_use="M0",
            land_area_m2=6666.7,
            floor_area_m2=20000,
        )
    )
    service.handle(c.AddUnit(space="MC3", code="A101", kind="office", area_m2=400))
    view = service.query(qd.district, year=2024)
    [mc3] = view["spaces"]
    assert (mc3["land_area_mu"], mc3["plot_ratio"], mc3["land_uses"]) == (10.0, 3.0, ["M0"])
    assert (mc3["lettable_area_m2"], mc3["leased_area_m2"], mc3["occupancy"]) == (400.0, 0.0, 0.0)
    assert mc3["tax_per_m2"] is None  # nothing let: nothing to divide by
    assert view["total"]["land_area_m2"] == 6666.7
    assert view["total"]["grades"] == {"A": 0, "B": 0, "C": 0, "D": 0}


def test_an_edited_published_list_or_event_is_caught(
    service: Service, engine: Engine, firms: dict[str, int]
) -> None:
    e = service.handle(need(firms["峰际生物"]))["entry_id"]
    service.handle(AcceptEntry(entry_id=e))
    service.handle(CreateList(title="第5期城市机会清单", number=5))
    service.handle(ArrangeList(number=5, entry_ids=(e,)))
    service.handle(PublishList(number=5))
    lists, events = ALL_TABLES.tables["opportunity_lists"], ALL_TABLES.tables["opportunity_events"]
    with engine.begin() as conn:
        content = conn.execute(select(lists.c.content)).scalar_one()
        content["items"][0]["title"] = "被篡改的标题"
        conn.execute(lists.update().values(content=content))
    report = service.query(qo.verify_list, number=5)
    assert not report["ok"] and "content does not match" in report["problems"][0]
    with engine.begin() as conn:
        conn.execute(
            events.update()
            .where(events.c.subject == "entry", events.c.action == "accept")
            .values(actor="someone else")
        )
    problems = service.query(qo.verify_list, number=5)["problems"]
    assert any("altered" in p for p in problems)


def test_an_entry_carries_files_recorded_in_its_chain(
    service: Service, engine: Engine, firms: dict[str, int]
) -> None:
    fengji, junjian = firms["峰际生物"], firms["君健万峰"]
    brochure = attachments.check("产品手册.pdf", b"%PDF-1.7 brochure")
    picture = attachments.check("样机.png", b"\x89PNG\r\n\x1a\n picture")
    e = service.handle(need(fengji, attachments=(brochure,)))["entry_id"]
    done = service.handle(
        AttachToEntry(entry_id=e, attachments=(picture, brochure), as_firm=fengji)
    )
    assert done["attachments"] == 2  # the same file twice is one file
    shown = service.query(qo.entry, entry_id=e)
    assert [a["name"] for a in shown["attachments"]] == ["产品手册.pdf", "样机.png"]
    assert [t["action"] for t in shown["timeline"]] == ["submit", "attach"]
    assert service.query(qo.entry_attachment, entry_id=e, sha256=picture.sha256)["size"] == (
        picture.size
    )
    assert service.query(qo.verify_chains)["ok"]

    before = counts(engine)
    many = tuple(
        attachments.check(f"{i}.pdf", b"%PDF-" + bytes([i])) for i in range(4)
    )  # 2 + 4 > 5
    refused: list[tuple[Any, type[Exception]]] = [
        (AttachToEntry(entry_id=e, attachments=many), InvalidInput),
        (AttachToEntry(entry_id=e, attachments=()), InvalidInput),
        (AttachToEntry(entry_id=e, attachments=(picture,), as_firm=junjian), NotFound),
        (need(fengji, attachments=many + many[:2]), InvalidInput),
    ]
    for command, error in refused:
        with pytest.raises(error) as info:
            service.handle(command)
        if error is InvalidInput:
            assert info.value.field == "attachments"  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        service.query(qo.entry_attachment, entry_id=e, sha256="0" * 64)
    assert counts(engine) == before
    service.handle(AcceptEntry(entry_id=e))
    before = counts(engine)
    with pytest.raises(Conflict):  # the firm's files go in before it is accepted
        service.handle(AttachToEntry(entry_id=e, attachments=(picture,), as_firm=fengji))
    assert counts(engine) == before


def test_a_checkpoint_signs_the_lists_chains_so_a_rehashed_list_is_caught(
    service: Service, engine: Engine, firms: dict[str, int]
) -> None:
    """Someone with write access rewrites a published list's content, its stored hash and its
    publish event, and recomputes that event's hash: every chain still verifies on its own,
    but the signed checkpoint taken before still names the old head."""
    e = service.handle(need(firms["峰际生物"]))["entry_id"]
    service.handle(AcceptEntry(entry_id=e))
    service.handle(CreateList(title="第5期城市机会清单", number=5))
    service.handle(ArrangeList(number=5, entry_ids=(e,)))
    service.handle(PublishList(number=5))
    key = cp.new_private_key()
    signed = checkpoints.take(service, key)
    assert signed.checkpoint.version == 2 and len(signed.checkpoint.chains) == 2  # entry, list
    again = cp.from_dict(signed.to_dict())
    assert again == signed and cp.check_file(again, key.public_key()) == []
    assert checkpoints.verify(service, signed, key.public_key()).ok
    # a version-1 file (tenancy chains only, from before) is still read and checked
    old = replace(signed.checkpoint, version=1, chains=(), chains_root="")
    v1 = cp.from_dict(cp.sign(old, key).to_dict())
    assert "opportunity_root" not in v1.to_dict() and cp.check_file(v1, key.public_key()) == []
    assert checkpoints.verify(service, v1, key.public_key()).ok

    lists, events = ALL_TABLES.tables["opportunity_lists"], ALL_TABLES.tables["opportunity_events"]
    with engine.begin() as conn:
        content = conn.execute(select(lists.c.content)).scalar_one()
        content["items"][0]["title"] = "被篡改的标题"
        digest = opp.content_hash(content)
        conn.execute(lists.update().values(content=content, content_hash=digest))
        row = dict(
            conn.execute(
                select(events).where(events.c.subject == "list", events.c.action == "publish")
            )
            .one()
            ._mapping
        )
        row["data"] = {**row["data"], "content_hash": digest}
        rehashed = opp.event_hash(**{k: row[k] for k in opp.HASHED})
        conn.execute(
            events.update().where(events.c.id == row["id"]).values(data=row["data"], hash=rehashed)
        )
    plain = service.read(lambda w: audit.verify(w.session))
    assert plain.ok  # consistent on its own: only the signed head tells
    report = checkpoints.verify(service, signed, key.public_key())
    assert not report.ok and report.opportunities is not None
    (problem,) = report.opportunities.problems
    assert problem.startswith("list ") and "检查点签名的事件" in problem and "rehashed" in problem
