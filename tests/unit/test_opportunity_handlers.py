"""The city opportunity-list commands through their registered handlers, on the in-memory
unit of work (``tests/fakes.py``): an entry submitted, returned, edited, accepted, listed and
published (frozen, its hash on the list's chain, its firm told at each step); introductions
and their outcomes; land parcels — and every refusal writing nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fakes import FakeDatabase, FakeService
from test_review_handlers import RB, resident

from lifecycle import opportunities as opp
from lifecycle.clock import FixedClock
from lifecycle.errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound
from workflows import attachments
from workflows.opportunity_commands import (
    AcceptEntry,
    AddParcel,
    ArrangeList,
    AttachToEntry,
    CreateList,
    EditEntry,
    EditParcel,
    Introduce,
    PublishList,
    RecordOutcome,
    ReturnEntry,
    SubmitEntry,
)

NOW = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)
TODAY = date(2025, 1, 2)
FENGJI = "91510100MA6C000001"
JUNJIAN = "91510100MA6C000002"

NEED = SubmitEntry(
    space="MC3",
    firm=FENGJI,
    kind="need",
    title="寻求与三甲医院开展临床技术合作",
    description="峰际生物寻求与医院开展基因检测技术的临床验证合作，示例数据。",
    field="pharma",
    sought="临床合作医院、伦理审批支持",
    contact_name="张敏",
    contact_phone="028-8888 0000",
    valid_until=date(2025, 12, 31),
    actor="firm:fengji",
)
SUPPLY = replace(
    NEED,
    firm=JUNJIAN,
    kind="新产品",
    title="多功能失眠治疗仪",
    description="君健万峰的多功能失眠治疗仪，可与医院睡眠科开展临床技术合作，示例数据。",
    field="医疗器械",
    sought="医院睡眠科、经销代理",
    contact_public=True,
)


@pytest.fixture
def db() -> FakeDatabase:
    database = FakeDatabase()
    resident(database)  # 峰际生物 in MC3, the default rulebook
    return database


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def firm_id(db: FakeDatabase, uscc: str) -> int:
    return int(db.rows("firms", uscc=uscc)[0]["id"])


def chain(db: FakeDatabase, subject: str, subject_id: int) -> list[str]:
    """The subject's actions, after checking every link and hash of its chain."""
    events = sorted(
        db.rows("opportunity_events", subject=subject, subject_id=subject_id),
        key=lambda e: e["seq"],
    )
    assert opp.verify_chain(events) == []
    return [e["action"] for e in events]


def notices(db: FakeDatabase) -> list[tuple[str, int | None]]:
    return [(n["message"], n["firm_id"]) for n in db.rows("outbox")]


def snapshot(db: FakeDatabase) -> dict[str, Any]:
    return {
        t: db.rows(t)
        for t in (
            "opportunity_entries",
            "opportunity_lists",
            "opportunity_events",
            "outbox",
            "introductions",
        )
    }


def test_an_entry_goes_from_submitted_to_published_with_its_firm_told(
    db: FakeDatabase, service: FakeService
) -> None:
    done = service.handle(NEED)
    e = done["entry_id"]
    assert done == {"entry_id": e, "status": "submitted"}
    row = db.row("opportunity_entries", e)
    assert (row["kind"], row["firm_id"], row["contact_public"]) == (
        "need",
        firm_id(db, FENGJI),
        False,
    )

    service.handle(ReturnEntry(entry_id=e, reason="请补充合作方式"))
    assert db.row("opportunity_entries", e)["return_reason"] == "请补充合作方式"
    service.handle(
        EditEntry(entry_id=e, sought="临床合作医院（三甲）", as_firm=firm_id(db, FENGJI))
    )
    assert db.row("opportunity_entries", e)["status"] == "submitted"  # resubmitted
    service.handle(AcceptEntry(entry_id=e))
    service.handle(CreateList(title="温江区第5期城市机会清单", number=5, actor="district"))
    service.handle(ArrangeList(number=5, entry_ids=(e,), actor="district"))
    assert db.row("opportunity_entries", e)["status"] == "listed"
    published = service.handle(PublishList(number=5, actor="district"))

    the_list = db.rows("opportunity_lists", number=5)[0]
    assert the_list["status"] == "published"
    assert (
        published["content_hash"]
        == the_list["content_hash"]
        == opp.content_hash(the_list["content"])
    )
    [item] = the_list["content"]["items"]
    assert (item["n"], item["title"], item["firm"], item["contact"]) == (
        1,
        "寻求与三甲医院开展临床技术合作",
        "峰际生物",
        None,
    )
    assert item["field_zh"] == "医药"
    assert chain(db, "entry", e) == ["submit", "return", "resubmit", "accept", "list", "publish"]
    assert chain(db, "list", the_list["id"]) == ["create", "arrange", "publish"]
    publish_event = db.rows("opportunity_events", subject="list", action="publish")[0]
    assert publish_event["data"]["content_hash"] == the_list["content_hash"]
    fengji = firm_id(db, FENGJI)
    assert notices(db) == [
        ("opportunity_returned", fengji),
        ("opportunity_accepted", fengji),
        ("opportunity_published", fengji),
    ]
    published_notice = db.rows("outbox")[-1]
    assert published_notice["context"]["list"] == {
        "number": 5,
        "title": "温江区第5期城市机会清单",
        "n": 1,
    }


def test_a_published_list_is_frozen_and_an_empty_one_is_not_published(
    db: FakeDatabase, service: FakeService
) -> None:
    service.handle(CreateList(title="第5期城市机会清单", number=5))
    before = snapshot(db)
    with pytest.raises(InvalidInput) as empty:
        service.handle(PublishList(number=5))
    assert "清单为空" in empty.value.message
    assert snapshot(db) == before
    e = service.handle(NEED)["entry_id"]
    service.handle(AcceptEntry(entry_id=e))
    service.handle(ArrangeList(number=5, entry_ids=(e,)))
    service.handle(PublishList(number=5))
    before = snapshot(db)
    for command in (PublishList(number=5), ArrangeList(number=5, entry_ids=())):
        with pytest.raises(Conflict) as frozen:
            service.handle(command)
        assert "已发布" in frozen.value.message
    with pytest.raises(Conflict):
        service.handle(EditEntry(entry_id=e, title="改一个标题"))
    with pytest.raises(Conflict):
        service.handle(CreateList(title="重复的一期", number=5))
    assert snapshot(db) == before
    assert service.handle(CreateList(title="第6期城市机会清单"))["number"] == 6


def test_a_firm_submits_and_edits_only_its_own_entries(
    db: FakeDatabase, service: FakeService
) -> None:
    db.add_resident(
        now=NOW,
        rulebook=RB,
        name="君健万峰",
        uscc=JUNJIAN,
    )
    fengji, junjian = firm_id(db, FENGJI), firm_id(db, JUNJIAN)
    before = snapshot(db)
    with pytest.raises(Forbidden):
        service.handle(replace(SUPPLY, as_firm=fengji))  # 峰际 submitting for 君健万峰
    with pytest.raises(Forbidden):
        service.handle(replace(NEED, firm=None, as_firm=fengji))  # as the space itself
    assert snapshot(db) == before
    theirs = service.handle(replace(SUPPLY, as_firm=junjian))["entry_id"]
    before = snapshot(db)
    with pytest.raises(NotFound):
        service.handle(EditEntry(entry_id=theirs, title="被别人改了", as_firm=fengji))
    assert snapshot(db) == before
    service.handle(AcceptEntry(entry_id=theirs))
    with pytest.raises(Conflict):  # an accepted entry: only operators edit it
        service.handle(EditEntry(entry_id=theirs, title="自己再改", as_firm=junjian))
    assert (
        service.handle(EditEntry(entry_id=theirs, title="多功能失眠治疗仪（二代）"))["status"]
        == "accepted"
    )


def test_files_go_on_the_entrys_chain_until_it_may_no_longer_change(
    db: FakeDatabase, service: FakeService
) -> None:
    fengji = firm_id(db, FENGJI)
    pdf = attachments.check("产品手册.pdf", b"%PDF-1.7 brochure")
    png = attachments.check("样机.png", b"\x89PNG\r\n\x1a\n picture")
    e = service.handle(replace(NEED, as_firm=fengji, attachments=(pdf,)))["entry_id"]
    assert service.handle(AttachToEntry(entry_id=e, attachments=(png,), as_firm=fengji)) == {
        "entry_id": e,
        "attachments": 2,
    }
    assert chain(db, "entry", e) == ["submit", "attach"]
    with service.uow() as uow:
        carried = uow.opportunities.attachments(e)
    assert [a["sha256"] for a in carried] == [pdf.sha256, png.sha256]
    before = snapshot(db)
    many = tuple(attachments.check(f"{i}.pdf", b"%PDF-" + bytes([i])) for i in range(4))
    with pytest.raises(InvalidInput) as info:  # 2 + 4 > 5 per entry
        service.handle(AttachToEntry(entry_id=e, attachments=many))
    assert info.value.field == "attachments" and "最多上传 5 个附件" in info.value.rule
    assert snapshot(db) == before
    service.handle(AcceptEntry(entry_id=e))
    service.handle(CreateList(title="第1期城市机会清单"))
    service.handle(ArrangeList(number=1, entry_ids=(e,)))
    before = snapshot(db)
    for as_firm in (fengji, None):  # on a list: neither the firm nor staff add files
        with pytest.raises(Conflict):
            service.handle(AttachToEntry(entry_id=e, attachments=(png,), as_firm=as_firm))
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 81}, "title"),
        ({"description": "太短"}, "description"),
        ({"description": "长" * 2001}, "description"),
        ({"field": "software"}, "field"),
        ({"kind": "offer"}, "kind"),
        ({"contact_name": ""}, "contact_name"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"valid_until": TODAY}, "valid_until"),
        ({"valid_until": date(2030, 1, 1)}, "valid_until"),
        # one-line texts follow the rules of a name; a free text keeps its line breaks only
        ({"title": "\u202e寻求医院合作"}, "title"),
        ({"title": "👍👍👍"}, "title"),
        ({"title": "寻求\n医院合作"}, "title"),
        ({"contact_name": "\u202e李四"}, "contact_name"),
        ({"contact_name": "李四😀"}, "contact_name"),
        ({"description": "本企业寻求与三甲医院开展\u202e临床验证合作"}, "description"),
        ({"description": "本企业寻求与三甲医院开展\x1b[2J临床验证合作"}, "description"),
        ({"sought": "医院\u2066临床合作"}, "sought"),
    ],
)
def test_bad_entries_are_refused_naming_the_field_and_nothing_is_written(
    db: FakeDatabase, service: FakeService, change: dict[str, Any], field: str
) -> None:
    before = snapshot(db)
    with pytest.raises(InvalidInput) as refused:
        service.handle(replace(NEED, **change))
    assert refused.value.field == field
    assert refused.value.message.split(":")[0] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.rule)  # Chinese first
    assert snapshot(db) == before


def test_a_firm_without_a_stay_in_the_space_cannot_submit_there(
    db: FakeDatabase, service: FakeService
) -> None:
    db.add(
        "firms", name="外部企业", uscc=JUNJIAN, industry="pharma", locale="zh-CN", created_at=NOW
    )
    with pytest.raises(InvalidInput) as refused:
        service.handle(replace(SUPPLY))
    assert refused.value.field == "firm"
    with pytest.raises(NotFound):
        service.handle(replace(NEED, space="NOPE"))


def test_returning_needs_a_reason_and_accepting_a_returned_entry_is_refused(
    db: FakeDatabase, service: FakeService
) -> None:
    e = service.handle(NEED)["entry_id"]
    with pytest.raises(InvalidInput) as no_reason:
        service.handle(ReturnEntry(entry_id=e))
    assert no_reason.value.field == "reason"
    service.handle(ReturnEntry(entry_id=e, reason="缺少预算"))
    with pytest.raises(Conflict):
        service.handle(AcceptEntry(entry_id=e))
    with pytest.raises(Conflict):  # not yet accepted: cannot go on a list
        service.handle(CreateList(title="第1期城市机会清单"))
        service.handle(ArrangeList(number=1, entry_ids=(e,)))
    assert db.rows("opportunity_entries")[0]["list_id"] is None


def test_arranging_orders_the_draft_and_takes_entries_off_it(
    db: FakeDatabase, service: FakeService
) -> None:
    ids = [
        service.handle(replace(NEED, title=f"寻求合作伙伴第{i}项"))["entry_id"] for i in range(3)
    ]
    for e in ids:
        service.handle(AcceptEntry(entry_id=e))
    service.handle(CreateList(title="第1期城市机会清单"))
    service.handle(ArrangeList(number=1, entry_ids=tuple(ids)))
    service.handle(ArrangeList(number=1, entry_ids=(ids[2], ids[0])))
    rows = {r["id"]: r for r in db.rows("opportunity_entries")}
    assert [(rows[i]["status"], rows[i]["position"]) for i in ids] == [
        ("listed", 2),
        ("accepted", None),
        ("listed", 1),
    ]
    assert chain(db, "entry", ids[1]) == ["submit", "accept", "list", "unlist"]
    service.handle(PublishList(number=1))
    content = db.rows("opportunity_lists")[0]["content"]
    assert [i["entry_id"] for i in content["items"]] == [ids[2], ids[0]]


def test_introductions_and_their_outcomes_are_chained(
    db: FakeDatabase, service: FakeService
) -> None:
    db.add_resident(
        now=NOW,
        rulebook=RB,
        name="君健万峰",
        uscc=JUNJIAN,
    )
    need = service.handle(NEED)["entry_id"]
    supply = service.handle(SUPPLY)["entry_id"]
    with pytest.raises(Conflict):  # not reviewed yet
        service.handle(Introduce(need_id=need, supply_id=supply))
    for e in (need, supply):
        service.handle(AcceptEntry(entry_id=e))
    with pytest.raises(InvalidInput):
        service.handle(Introduce(need_id=supply, supply_id=need))
    i = service.handle(Introduce(need_id=need, supply_id=supply, note="运营方牵线"))[
        "introduction_id"
    ]
    with pytest.raises(Conflict):
        service.handle(Introduce(need_id=need, supply_id=supply))
    service.handle(RecordOutcome(introduction_id=i, outcome="in_talks"))
    service.handle(RecordOutcome(introduction_id=i, outcome="deal", note="签订合作协议"))
    with pytest.raises(Conflict):
        service.handle(RecordOutcome(introduction_id=i, outcome="closed"))
    with pytest.raises(InvalidInput):
        service.handle(RecordOutcome(introduction_id=i, outcome="married"))
    assert db.row("introductions", i)["outcome"] == "deal"
    assert chain(db, "introduction", i) == ["introduce", "outcome", "outcome"]


def test_land_parcels_are_checked_and_their_plot_ratio_derived(
    db: FakeDatabase, service: FakeService
) -> None:
    done = service.handle(
        AddParcel(
            space="MC3",
            parcel_code="WJ-2019-07",
            land_use="m0",
            land_area_m2=20000,
            floor_area_m2=50000,
        )
    )
    assert (done["land_use"], done["plot_ratio"]) == ("M0", 2.5)
    with pytest.raises(AlreadyExists):
        service.handle(
            AddParcel(
                space="MC3",
                parcel_code="WJ-2019-07",
                land_use="M0",
                land_area_m2=1,
                floor_area_m2=1,
            )
        )
    for bad, field in (
        ({"land_use": "X9"}, "land_use"),
        ({"land_area_m2": 0}, "land_area_m2"),
        ({"land_area_m2": 0.0000001}, "land_area_m2"),  # 0 once kept to the 0.01 m²
        ({"floor_area_m2": 0.004}, "floor_area_m2"),
        ({"land_area_m2": float("inf")}, "land_area_m2"),
        ({"plot_ratio": 4.0}, "plot_ratio"),
    ):
        command = AddParcel(
            space="MC3", parcel_code="P2", land_use="M1", land_area_m2=1000, floor_area_m2=2000
        )
        with pytest.raises(InvalidInput) as refused:
            service.handle(replace(command, **bad))
        assert refused.value.field == field
    assert len(db.rows("land_parcels")) == 1
    with pytest.raises(InvalidInput) as refused:
        service.handle(EditParcel(parcel_code="WJ-2019-07", land_area_m2=0.001))
    assert refused.value.field == "land_area_m2"
    edited = service.handle(EditParcel(parcel_code="WJ-2019-07", floor_area_m2=60000))
    assert edited["changes"] == {"floor_area_m2": [50000.0, 60000.0], "plot_ratio": [2.5, 3.0]}


def test_a_derived_plot_ratio_has_the_bound_a_given_one_has(
    db: FakeDatabase, service: FakeService
) -> None:
    """0.01 m² of land under 10,000,000 m² of floor: a ratio of a billion, refused naming the
    areas; an edit that would derive one out of bounds likewise."""
    with pytest.raises(InvalidInput) as refused:
        service.handle(
            AddParcel(
                space="MC3",
                parcel_code="M13",
                land_use="M0",
                land_area_m2=0.01,
                floor_area_m2=10_000_000,
            )
        )
    assert refused.value.field == "floor_area_m2"
    assert refused.value.message.startswith(
        "floor_area_m2: 建筑面积 10,000,000.00 m² ÷ 用地面积 0.01 m² 得出容积率 "
        "1,000,000,000.00，须大于 0 且不超过 20 / "
    )
    assert db.rows("land_parcels") == []
    service.handle(
        AddParcel(
            space="MC3", parcel_code="M9", land_use="M0", land_area_m2=1000, floor_area_m2=20000
        )
    )
    with pytest.raises(InvalidInput) as refused:
        service.handle(EditParcel(parcel_code="M9", land_area_m2=999))
    assert refused.value.field == "floor_area_m2"
    with pytest.raises(InvalidInput):  # rounds to a ratio of 0
        service.handle(EditParcel(parcel_code="M9", land_area_m2=1_000_000, floor_area_m2=1))
    assert [p["plot_ratio"] for p in db.rows("land_parcels")] == [20.0]


def test_a_description_keeps_its_line_breaks(db: FakeDatabase, service: FakeService) -> None:
    done = service.handle(
        replace(NEED, description="第一段：寻求临床合作。\r\n第二段：\t周期六个月。")
    )
    entry = next(r for r in db.rows("opportunity_entries") if r["id"] == done["entry_id"])
    assert entry["description"] == "第一段：寻求临床合作。\r\n第二段：\t周期六个月。"
