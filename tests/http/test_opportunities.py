"""The city opportunity lists, the land ledger and the district view over HTTP, on SQLite and
PostgreSQL: a firm submits and edits only its own entries (another firm's is 404), staff
review within their spaces, the district publishes; the public URL needs no login and never
shows an unpublished list or entry, nor a contact the entry kept private; the Excel exports;
bad input refused with nothing written."""

from __future__ import annotations

import io
from typing import Any

import pytest
from api_support import World
from openpyxl import load_workbook
from sqlalchemy import func, select

from db.tables import ALL_TABLES
from workflows import identity as i

TABLES = ("opportunity_entries", "opportunity_lists", "opportunity_events", "outbox")


def counts(world: World) -> dict[str, int]:
    with world.app.engine.connect() as conn:
        return {
            t: int(
                conn.execute(select(func.count()).select_from(ALL_TABLES.tables[t])).scalar_one()
            )
            for t in TABLES
        }


def entry(**kw: Any) -> dict[str, Any]:
    return {
        "space": "MC3",
        "kind": "need",
        "title": "寻求与医院开展临床技术合作",
        "description": "本企业寻求与三甲医院开展医疗器械临床验证合作（示例数据）。",
        "field": "medical_devices",
        "sought": "医院临床合作",
        "contact_name": "赵联系",
        "contact_phone": "028-1234 5678",
        "valid_until": "2024-12-31",
        **kw,
    }


@pytest.fixture
def entries(world: World) -> dict[str, int]:
    """The own firm's need (by its firm account), the other firm's supply in HX (by admin)."""
    firm, admin = world.client("firm"), world.client("admin")
    own = firm.post("/api/opportunity-entries", json=entry())
    assert own.status_code == 201, own.text
    other = admin.post(
        "/api/opportunity-entries",
        json=entry(
            space="HX",
            firm=world.other_firm,
            kind="supply",
            title="医疗器械临床合作服务",
            sought="临床合作医院对接",
            contact_public=True,
        ),
    )
    assert other.status_code == 201, other.text
    return {"own": own.json()["entry_id"], "other": other.json()["entry_id"]}


def test_a_firm_submits_and_edits_only_its_own_entries(
    world: World, entries: dict[str, int]
) -> None:
    firm = world.client("firm")
    before = counts(world)
    refused = firm.post("/api/opportunity-entries", json=entry(firm=world.other_firm))
    assert refused.status_code == 403
    assert "本企业" in refused.json()["detail"]
    other = entries["other"]
    for response in (
        firm.get(f"/api/opportunity-entries/{other}"),
        firm.patch(f"/api/opportunity-entries/{other}", json={"title": "改别人的条目"}),
        firm.get(f"/api/opportunity-entries/{other}/suggestions"),
    ):
        assert response.status_code in (403, 404)
    missing = firm.get("/api/opportunity-entries/987654")
    assert firm.get(f"/api/opportunity-entries/{other}").json()["title"] == missing.json()["title"]
    assert counts(world) == before
    listed = firm.get("/api/opportunity-entries").json()
    assert [e["id"] for e in listed] == [entries["own"]]
    edited = firm.patch(
        f"/api/opportunity-entries/{entries['own']}", json={"title": "寻求医院合作"}
    )
    assert edited.status_code == 200 and edited.json()["changes"]["title"][1] == "寻求医院合作"
    assert (
        firm.post(f"/api/opportunity-entries/{entries['own']}/accept", json={}).status_code == 403
    )


def test_staff_review_within_their_spaces(world: World, entries: dict[str, int]) -> None:
    operator = world.client("operator")
    assert (
        operator.post(f"/api/opportunity-entries/{entries['other']}/accept", json={}).status_code
        == 404
    )
    assert [e["id"] for e in operator.get("/api/opportunity-entries").json()] == [entries["own"]]
    no_reason = operator.post(f"/api/opportunity-entries/{entries['own']}/return", json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    returned = operator.post(
        f"/api/opportunity-entries/{entries['own']}/return", json={"reason": "请写明医院级别"}
    )
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    firm = world.client("firm")
    assert (
        firm.patch(
            f"/api/opportunity-entries/{entries['own']}", json={"sought": "三甲医院临床合作"}
        ).json()["status"]
        == "submitted"
    )
    assert (
        operator.post(f"/api/opportunity-entries/{entries['own']}/accept", json={}).status_code
        == 200
    )
    shown = firm.get(f"/api/opportunity-entries/{entries['own']}").json()
    assert [t["action"] for t in shown["timeline"]] == [
        "submit",
        "return",
        "resubmit",
        "accept",
    ]


def test_the_district_publishes_and_the_public_sees_only_published_lists(
    world: World, entries: dict[str, int]
) -> None:
    admin, viewer, anonymous = world.client("admin"), world.client("viewer"), world.client()
    for e in entries.values():
        assert admin.post(f"/api/opportunity-entries/{e}/accept", json={}).status_code == 200
    waiting = world.client("firm").post(
        "/api/opportunity-entries", json=entry(title="尚未审核的需求")
    )
    assert waiting.status_code == 201
    assert (
        world.client("operator").post("/api/opportunity-lists", json={"title": "x"}).status_code
        == 403
    )
    created = viewer.post(
        "/api/opportunity-lists", json={"title": "温江区第5期城市机会清单", "number": 5}
    )
    assert created.status_code == 201, created.text
    before = counts(world)
    assert viewer.post("/api/opportunity-lists/5/publish").status_code == 422  # empty
    assert counts(world) == before
    # HX's entry too: the admin (this world's viewer is granted MC3 only)
    arranged = admin.put(
        "/api/opportunity-lists/5/entries", json={"entry_ids": [entries["other"], entries["own"]]}
    )
    assert arranged.status_code == 200, arranged.text
    assert anonymous.get("/api/public/opportunity-lists/5").status_code == 404  # a draft
    assert world.client("firm").get("/api/opportunity-lists/5").status_code == 404
    # The district viewer granted every space publishes what the admin arranged.
    world.do(i.GrantSpace(username="viewer", space_code="HX"))
    published = viewer.post("/api/opportunity-lists/5/publish")
    assert published.status_code == 200, published.text

    public = anonymous.get("/api/public/opportunity-lists/5")
    assert public.status_code == 200
    body = public.json()
    assert body["content_hash"] == published.json()["content_hash"]
    assert [i["title"] for i in body["items"]] == [
        "医疗器械临床合作服务",
        "寻求与医院开展临床技术合作",
    ]
    assert body["items"][0]["contact"] == {"name": "赵联系", "phone": "028-1234 5678"}
    assert body["items"][1]["contact"] is None
    assert "尚未审核的需求" not in public.text and "028" not in str(body["items"][1])
    assert anonymous.get("/api/public/opportunity-lists/6").status_code == 404
    assert anonymous.get("/api/opportunity-lists/5").status_code == 401

    before = counts(world)
    frozen = viewer.put("/api/opportunity-lists/5/entries", json={"entry_ids": []})
    assert frozen.status_code == 409 and "已发布" in frozen.json()["detail"]
    assert (
        admin.patch(
            f"/api/opportunity-entries/{entries['own']}", json={"title": "发布后修改"}
        ).status_code
        == 409
    )
    assert counts(world) == before

    export = world.client("firm").get("/api/opportunity-lists/5/export.xlsx")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[4] for r in rows[1:]] == ["医疗器械临床合作服务", "寻求与医院开展临床技术合作"]

    suggested = admin.get(f"/api/opportunity-entries/{entries['own']}/suggestions").json()
    assert [s["id"] for s in suggested] == [entries["other"]]
    intro = admin.post(
        "/api/introductions", json={"need_id": entries["own"], "supply_id": entries["other"]}
    )
    assert intro.status_code == 201
    done = admin.post(
        f"/api/introductions/{intro.json()['introduction_id']}/outcome", json={"outcome": "deal"}
    )
    assert done.status_code == 200
    mine = world.client("firm").get("/api/introductions").json()
    assert [(i["need_firm"], i["supply_firm"], i["outcome"]) for i in mine] == [
        ("本企业医疗科技", "他企业生物科技", "deal")
    ]


def test_only_the_district_assembles_a_list_and_it_spans_every_space(
    world: World, entries: dict[str, int]
) -> None:
    """An operator (granted MC3) cannot start, arrange or publish a list, not even with its
    own space's entry, let alone HX's; a firm cannot either. The district assembles: a viewer
    the accepted entries of the spaces granted to it (here MC3 only: HX's entry is refused as
    if it did not exist), the admin those of every space."""
    admin, viewer = world.client("admin"), world.client("viewer")
    for e in entries.values():
        assert admin.post(f"/api/opportunity-entries/{e}/accept", json={}).status_code == 200
    assert viewer.post("/api/opportunity-lists", json={"title": "第1期"}).status_code == 201
    before = counts(world)
    for role in ("operator", "firm"):
        client = world.client(role)
        for ids in ([entries["own"]], [entries["other"]], [entries["own"], entries["other"]]):
            refused = client.put("/api/opportunity-lists/1/entries", json={"entry_ids": ids})
            assert refused.status_code == 403, (role, ids, refused.text)
        assert client.post("/api/opportunity-lists", json={"title": "第2期"}).status_code == 403
        assert client.post("/api/opportunity-lists/1/publish").status_code == 403
    assert counts(world) == before
    both = [entries["own"], entries["other"]]  # MC3's and HX's
    beyond = viewer.put("/api/opportunity-lists/1/entries", json={"entry_ids": both})
    assert beyond.status_code == 422 and f"条目 {entries['other']} 不存在" in beyond.text
    assert counts(world) == before
    mine = viewer.put("/api/opportunity-lists/1/entries", json={"entry_ids": [entries["own"]]})
    assert mine.status_code == 200, mine.text
    arranged = admin.put("/api/opportunity-lists/1/entries", json={"entry_ids": both})
    assert arranged.status_code == 200, arranged.text
    assert [i["id"] for i in admin.get("/api/opportunity-lists/1").json()["items"]] == both


def test_a_viewer_cannot_publish_a_list_holding_another_spaces_entry(
    world: World, entries: dict[str, int]
) -> None:
    """The admin put HX's entry on the draft: the viewer granted MC3 only is not shown it, so
    it cannot publish the list (HX's entry would go public and its firm be told on its
    word); nothing is written. The admin can, and so can the viewer once granted HX."""
    admin, viewer = world.client("admin"), world.client("viewer")
    for e in entries.values():
        assert admin.post(f"/api/opportunity-entries/{e}/accept", json={}).status_code == 200
    created = viewer.post("/api/opportunity-lists", json={"title": "第6期", "number": 6})
    assert created.status_code == 201, created.text
    both = [entries["own"], entries["other"]]
    arranged = admin.put("/api/opportunity-lists/6/entries", json={"entry_ids": both})
    assert arranged.status_code == 200, arranged.text
    shown = viewer.get("/api/opportunity-lists/6").json()["items"]
    assert [i["id"] for i in shown] == [entries["own"]]
    before = counts(world)
    refused = viewer.post("/api/opportunity-lists/6/publish")
    assert refused.status_code == 403, refused.text
    detail = refused.json()["detail"]
    assert detail.startswith("第6期清单含有 1 条您无权查看的空间的条目，不能发布")
    assert "outside your grant" in detail
    assert counts(world) == before
    assert world.client().get("/api/public/opportunity-lists/6").status_code == 404
    assert viewer.get("/api/opportunity-lists/6").json()["status"] == "draft"
    world.do(i.GrantSpace(username="viewer", space_code="HX"))
    published = viewer.post("/api/opportunity-lists/6/publish")
    assert published.status_code == 200, published.text
    assert published.json()["entries"] == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "标" * 81}, "title"),
        ({"description": "长" * 20001}, "description"),
        ({"kind": "offer"}, "kind"),
        ({"valid_until": "2020-01-01"}, "valid_until"),
        ({"field": "software"}, "field"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_entries_are_refused_with_nothing_written(
    world: World, change: dict[str, Any], field: str
) -> None:
    before = counts(world)
    refused = world.client("firm").post("/api/opportunity-entries", json=entry(**change))
    assert refused.status_code == 422, refused.text
    assert field in refused.text
    assert counts(world) == before


def test_land_and_the_district_view(world: World) -> None:
    operator, viewer = world.client("operator"), world.client("viewer")
    added = operator.post(
        "/api/spaces/MC3/land",
        json={
            "parcel_code": "WJ-M0-7",
            "land_use": "M0",
            "land_area_m2": 6666.7,
            "floor_area_m2": 13333.4,
        },
    )
    assert added.status_code == 201, added.text
    assert operator.post("/api/spaces/HX/land", json={}).status_code == 404
    assert viewer.get("/api/spaces/MC3/land").json()[0]["land_area_mu"] == 10.0
    edited = operator.patch("/api/spaces/MC3/land/WJ-M0-7", json={"land_use": "M1"})
    assert edited.status_code == 200 and edited.json()["changes"] == {"land_use": ["M0", "M1"]}
    view = viewer.get("/api/district", params={"year": 2024}).json()
    assert [s["space"] for s in view["spaces"]] == ["MC3"]  # the viewer's spaces only
    assert view["spaces"][0]["plot_ratio"] == 2.0
    trend = (
        world.client("admin").get("/api/district", params={"year": 2023, "to_year": 2024}).json()
    )
    assert [v["year"] for v in trend["years"]] == [2023, 2024]
    assert [s["space"] for s in trend["years"][1]["spaces"]] == ["HX", "MC3"]
    export = viewer.get("/api/district/export.xlsx", params={"year": 2024})
    assert export.status_code == 200
    assert world.client("firm").get("/api/district", params={"year": 2024}).status_code == 403


def test_a_retried_submission_with_an_idempotency_key_acts_once(world: World) -> None:
    firm = world.client("firm")
    headers = {"Idempotency-Key": "entry-submit-1"}
    first = firm.post("/api/opportunity-entries", json=entry(), headers=headers)
    again = firm.post("/api/opportunity-entries", json=entry(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(firm.get("/api/opportunity-entries").json()) == 1


PDF = b"%PDF-1.7\n% a product brochure (test data)\n%%EOF\n"


def stored_files(world: World) -> list[str]:
    root = world.app.settings.files_directory()
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_entry_files_over_the_api_with_their_access(world: World, entries: dict[str, int]) -> None:
    firm, admin = world.client("firm"), world.client("admin")
    own, other = entries["own"], entries["other"]
    url = f"/api/opportunity-entries/{own}/attachments"
    sent = firm.post(url, files=[("attachments", ("产品手册.pdf", PDF, "application/pdf"))])
    assert sent.status_code == 200, sent.text
    assert sent.json()["attachments"] == 1
    (meta,) = firm.get(f"/api/opportunity-entries/{own}").json()["attachments"]
    assert meta["name"] == "产品手册.pdf" and meta["type"] == "application/pdf"
    got = firm.get(f"{url}/{meta['sha256']}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    for role in ("operator", "viewer", "admin"):  # MC3's staff, the district, the admin
        assert world.client(role).get(f"{url}/{meta['sha256']}").content == PDF

    assert (
        admin.post(
            f"/api/opportunity-entries/{other}/attachments",
            files=[("attachments", ("brochure.pdf", PDF, "application/pdf"))],
        ).status_code
        == 200
    )
    elsewhere = f"/api/opportunity-entries/{other}/attachments/{meta['sha256']}"
    assert admin.get(elsewhere).status_code == 200
    for role in ("firm", "operator", "viewer"):  # another firm's entry, in HX
        assert world.client(role).get(elsewhere).status_code == 404, role
    assert firm.get(f"{url}/{'0' * 64}").status_code == 404  # not a file of this entry

    before, files = counts(world), stored_files(world)
    named = firm.post("/api/opportunity-entries", json=entry(attachments=[meta]))
    assert named.status_code == 422 and "attachments" in named.text  # files are uploaded
    refused = firm.post(
        f"/api/opportunity-entries/{other}/attachments",
        files=[("attachments", ("a.pdf", PDF + b"x", "application/pdf"))],
    )
    assert refused.status_code == 404  # another firm's entry
    wrong = firm.post(url, files=[("attachments", ("手册.pdf", b"MZ\x90\x00", "application/pdf"))])
    assert wrong.status_code == 422
    assert "附件" in wrong.json()["detail"] and "PDF、PNG 或 JPEG" in wrong.json()["detail"]
    too_many = [
        ("attachments", (f"{i}.pdf", PDF + bytes([i]), "application/pdf")) for i in range(5)
    ]
    assert firm.post(url, files=too_many).status_code == 422  # 1 + 5 > 5 per entry
    assert counts(world) == before and stored_files(world) == files


def test_a_retried_upload_with_an_idempotency_key_acts_once(
    world: World, entries: dict[str, int]
) -> None:
    firm = world.client("firm")
    url = f"/api/opportunity-entries/{entries['own']}/attachments"
    files = [("attachments", ("产品手册.pdf", PDF, "application/pdf"))]
    one = firm.post(url, files=files, headers={"Idempotency-Key": "upload-1"})
    assert one.status_code == 200, one.text
    before = counts(world)
    two = firm.post(url, files=files, headers={"Idempotency-Key": "upload-1"})
    assert two.status_code == 200 and two.headers.get("Idempotent-Replayed") == "true"
    assert two.json() == one.json() and counts(world) == before


def test_an_entry_edit_takes_true_or_false_only(world: World, entries: dict[str, int]) -> None:
    """``"yes"`` is no JSON boolean: refused naming the field, the entry unchanged."""
    firm = world.client("firm")
    url = f"/api/opportunity-entries/{entries['own']}"
    for given in ("yes", 1):
        refused = firm.patch(url, json={"contact_public": given})
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == "contact_public"
        assert error["message"].startswith("须为 true 或 false")
    assert firm.get(url).json()["contact_public"] is False
    assert firm.patch(url, json={"contact_public": True}).status_code == 200


def test_a_derived_plot_ratio_out_of_bounds_is_refused(world: World) -> None:
    operator = world.client("operator")
    refused = operator.post(
        "/api/spaces/MC3/land",
        json={
            "parcel_code": "M13",
            "land_use": "M0",
            "land_area_m2": 0.01,
            "floor_area_m2": 10_000_000,
        },
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "floor_area_m2"
    assert error["message"].startswith("建筑面积 10,000,000.00 m² ÷ 用地面积 0.01 m²")
    assert operator.get("/api/spaces/MC3/land").json() == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"contact_name": "\u202e李四"}, "不得含控制字符或换行"),
        ({"title": "👍👍👍"}, "不得含表情符号"),
        ({"description": "本企业寻求与三甲医院\u202e开展临床验证合作"}, "不得含控制字符"),
    ],
)
def test_an_entry_text_that_could_disguise_itself_is_refused(
    world: World, entries: dict[str, int], change: dict[str, str], words: str
) -> None:
    """On the public list a right-to-left override would turn the text around: refused on
    submission and on an edit, naming the field, Chinese first."""
    firm = world.client("firm")
    (field,) = change
    before = counts(world)
    for refused in (
        firm.post("/api/opportunity-entries", json=entry(**change)),
        firm.patch(f"/api/opportunity-entries/{entries['own']}", json=change),
    ):
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == field and error["message"].startswith(words), error
    assert counts(world) == before
    assert firm.get(f"/api/opportunity-entries/{entries['own']}").json()[field] == entry()[field]
