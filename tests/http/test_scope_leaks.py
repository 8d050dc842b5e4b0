"""What the API hands staff is narrowed to their spaces, beyond the records of the path: the
staff inbox (a notice about another space's tenancy is not theirs to read or mark), a firm's
notices are never marked read by staff, introductions (listed and given an outcome) belong
to the spaces of their entries, and a draft list shows an account only its spaces' entries
(a draft carries every entry's contact details, kept private or not) while arranging it
keeps the entries the account does not see.

The world: the operator and the viewer are granted MC3; the "other" firm is in HX."""

from __future__ import annotations

from typing import Any

from api_support import START, World
from sqlmodel import Session, select

from db.tables import Deadline, InboxItem, OutboxMessage, Space
from workflows import identity


def _notice(
    world: World,
    *,
    tenancy_id: int | None,
    firm_id: int | None,
    audience: str,
    key: str,
    space_id: int | None = None,
) -> int:
    """An inbox item (and the outbox row it came from), written directly."""
    with Session(world.app.engine) as session:
        out = OutboxMessage(
            dedupe_key=key,
            message="exit_ruling",
            tenancy_id=tenancy_id,
            firm_id=firm_id,
            space_id=space_id,
            audience=audience,
            status="sent",
            next_attempt_at=START,
            created_at=START,
        )
        session.add(out)
        session.flush()
        assert out.id is not None
        item = InboxItem(
            firm_id=firm_id,
            audience=audience,
            outbox_id=out.id,
            message="exit_ruling",
            subject=f"subject {key}",
            body=f"body {key}",
            created_at=START,
        )
        session.add(item)
        session.commit()
        assert item.id is not None
        return item.id


def _firm_id(world: World, uscc: str) -> int:
    firms = world.client("admin").get("/api/firms").json()
    return int(next(f["id"] for f in firms if f["uscc"] == uscc))


def _space_id(world: World, code: str) -> int:
    with Session(world.app.engine) as session:
        return int(session.exec(select(Space.id).where(Space.code == code)).one())  # type: ignore[arg-type]


def test_the_staff_inbox_is_narrowed_to_the_operators_spaces(world: World) -> None:
    own = _notice(world, tenancy_id=world.own_tenancy, firm_id=None, audience="operators", key="a")
    other = _notice(
        world, tenancy_id=world.other_tenancy, firm_id=None, audience="operators", key="b"
    )
    checkpoint = _notice(world, tenancy_id=None, firm_id=None, audience="operators", key="c")
    other_firm = _firm_id(world, world.other_firm)
    firms = _notice(
        world, tenancy_id=world.other_tenancy, firm_id=other_firm, audience="firm", key="d"
    )
    operator, admin = world.client("operator"), world.client("admin")

    seen = operator.get("/api/inbox").json()
    assert {i["id"] for i in seen["items"]} == {own}
    assert seen["unread"] == 1
    assert "subject b" not in str(seen) and "subject c" not in str(seen)
    assert {i["id"] for i in admin.get("/api/inbox").json()["items"]} == {own, other, checkpoint}

    # Marking read: another space's notice, one about no space and a firm's notice are left
    # as they are.
    marked = operator.post("/api/inbox/read", json={"ids": [other, checkpoint, firms, own]})
    assert marked.status_code == 200 and marked.json() == {"count": 1}
    assert admin.post("/api/inbox/read", json={"ids": [firms]}).json() == {"count": 0}
    unread = {i["id"] for i in admin.get("/api/inbox", params={"unread": True}).json()["items"]}
    assert unread == {other, checkpoint}
    with Session(world.app.engine) as session:
        item = session.get(InboxItem, firms)
        assert item is not None and item.read_at is None


def test_an_operator_reads_the_digests_of_its_spaces_only(world: World) -> None:
    """The operators' digest is one per space: an operator granted MC3 sees MC3's (and can
    mark it read), never HX's nor one about no space (the audit checkpoint, or a digest
    queued when it spanned every space); the admin and an operator granted every space see
    them all."""
    mc3, hx = _space_id(world, "MC3"), _space_id(world, "HX")
    mine = _notice(
        world, tenancy_id=None, firm_id=None, audience="operators", key="d-mc3", space_id=mc3
    )
    theirs = _notice(
        world, tenancy_id=None, firm_id=None, audience="operators", key="d-hx", space_id=hx
    )
    anywhere = _notice(world, tenancy_id=None, firm_id=None, audience="operators", key="d-all")
    operator, admin = world.client("operator"), world.client("admin")
    seen = operator.get("/api/inbox").json()
    assert {i["id"] for i in seen["items"]} == {mine} and seen["unread"] == 1
    assert "subject d-hx" not in str(seen) and "subject d-all" not in str(seen)
    everything = {mine, theirs, anywhere}
    assert {i["id"] for i in admin.get("/api/inbox").json()["items"]} == everything
    marked = operator.post("/api/inbox/read", json={"ids": [theirs, anywhere]})
    assert marked.json() == {"count": 0}
    assert operator.post("/api/inbox/read", json={"ids": [mine]}).json() == {"count": 1}
    unread = {i["id"] for i in admin.get("/api/inbox", params={"unread": True}).json()["items"]}
    assert unread == {theirs, anywhere}
    world.do(identity.GrantSpace(username="operator", space_code="HX"))  # now every space
    assert {i["id"] for i in operator.get("/api/inbox").json()["items"]} == everything


def _entry(world: World, *, accept: bool = False, **kw: Any) -> int:
    body = {
        "space": "HX",
        "firm": world.other_firm,
        "kind": "need",
        "title": "寻求医疗器械临床验证合作",
        "description": "他企业寻求与医院开展医疗器械临床验证合作（测试数据）。",
        "field": "medical_devices",
        "sought": "医院临床合作",
        "contact_name": "钱私密",
        "contact_phone": "139-0000-1111",
        "contact_public": False,
        "valid_until": "2024-12-31",
        **kw,
    }
    if body["firm"] is None:
        del body["firm"]  # the space's own entry
    made = world.client("admin").post("/api/opportunity-entries", json=body)
    assert made.status_code == 201, made.text
    entry_id = int(made.json()["entry_id"])
    if accept:
        done = world.client("admin").post(f"/api/opportunity-entries/{entry_id}/accept", json={})
        assert done.status_code == 200, done.text
    return entry_id


def test_introductions_of_another_space_are_neither_listed_nor_changed(world: World) -> None:
    need = _entry(world, accept=True)
    supply = _entry(world, accept=True, firm=None, kind="supply", title="医疗器械临床合作服务")
    admin, operator = world.client("admin"), world.client("operator")
    made = admin.post("/api/introductions", json={"need_id": need, "supply_id": supply})
    assert made.status_code == 201, made.text
    intro = made.json()["introduction_id"]

    assert operator.get("/api/introductions").json() == []
    assert world.client("viewer").get("/api/introductions").json() == []
    refused = operator.post(f"/api/introductions/{intro}/outcome", json={"outcome": "closed"})
    assert refused.status_code == 404, refused.text
    nothing = operator.post("/api/introductions/999999/outcome", json={"outcome": "closed"})
    assert nothing.status_code == 404
    assert [i["outcome"] for i in admin.get("/api/introductions").json()] == ["introduced"]


def test_an_introduction_with_an_entry_of_ones_space_is_seen_and_recorded(
    world: World,
) -> None:
    supply = _entry(
        world, accept=True, kind="supply", title="医疗器械临床合作服务", contact_public=True
    )
    own = _entry(world, accept=True, space="MC3", firm=world.own_firm)
    made = world.client("admin").post(
        "/api/introductions", json={"need_id": own, "supply_id": supply}
    )
    intro = made.json()["introduction_id"]
    operator = world.client("operator")
    assert [i["id"] for i in operator.get("/api/introductions").json()] == [intro]
    done = operator.post(f"/api/introductions/{intro}/outcome", json={"outcome": "deal"})
    assert done.status_code == 200, done.text


def test_a_draft_list_shows_an_account_only_its_spaces_entries(world: World) -> None:
    private = _entry(world, accept=True)  # HX, contact kept private
    own = _entry(
        world, accept=True, space="MC3", firm=world.own_firm, contact_phone="028-5555 6666"
    )
    admin = world.client("admin")
    assert admin.post("/api/opportunity-lists", json={"title": "第1期"}).status_code == 201
    arranged = admin.put("/api/opportunity-lists/1/entries", json={"entry_ids": [private, own]})
    assert arranged.status_code == 200, arranged.text
    assert [i["id"] for i in admin.get("/api/opportunity-lists/1").json()["items"]] == [
        private,
        own,
    ]
    for role in ("operator", "viewer"):
        shown = world.client(role).get("/api/opportunity-lists/1")
        assert shown.status_code == 200
        assert [i["id"] for i in shown.json()["items"]] == [own], role
        assert "139-0000-1111" not in shown.text
    # Arranging what it sees keeps what it does not: another space's entry stays on the list.
    viewer = world.client("viewer")
    again = viewer.put("/api/opportunity-lists/1/entries", json={"entry_ids": [own]})
    assert again.status_code == 200, again.text
    assert [i["id"] for i in admin.get("/api/opportunity-lists/1").json()["items"]] == [
        own,
        private,
    ]


def test_the_daily_digests_reach_each_space_s_operators_only(world: World) -> None:
    """The scheduler's digests, through the relay to the staff inbox: the operator granted
    MC3 reads MC3's digest, not HX's (which names HX's firm and what waits there). While
    nothing waits in a space, its operators get no digest at all."""
    from workflows.cycles import send_digest

    assert send_digest(world.app.service, START.date()) is None  # nothing waits anywhere
    world.app.relay().run_once()
    everything = world.client("admin").get("/api/inbox").json()["items"]
    assert [i for i in everything if i["message"] == "operator_digest"] == []
    with Session(world.app.engine) as session:  # a failed deadline of each space's tenancy
        for tenancy, key in (
            (world.own_tenancy, "mystery:mc3"),
            (world.other_tenancy, "mystery:hx"),
        ):
            session.add(
                Deadline(
                    kind="mystery",
                    tenancy_id=tenancy,
                    due_on=START.date(),
                    due_at=START,
                    status="failed",
                    dedupe_key=key,
                    payload={"error": "no action"},
                    created_at=START,
                )
            )
        session.commit()
    sent = send_digest(world.app.service, START.date())
    assert sent is not None and [d["space"] for d in sent["digests"]] == ["MC3", "HX"]
    world.app.relay().run_once()
    everything = world.client("admin").get("/api/inbox").json()["items"]
    digests = [i for i in everything if i["message"] == "operator_digest"]
    assert len(digests) == 2 and any("他企业生物科技" in d["body"] for d in digests)
    seen = world.client("operator").get("/api/inbox").json()["items"]
    (mine,) = [i for i in seen if i["message"] == "operator_digest"]
    assert "成都医学城三医创新中心" in mine["subject"]
    assert "他企业生物科技" not in str(seen) and "海峡中小企业孵化园" not in str(seen)
