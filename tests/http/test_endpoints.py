"""Every endpoint through HTTP against the real app: an application carried from applying to
its first review decision, then the registry, rulebooks, templates, calendar, outbox,
deadlines, inbox and audit routes."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from api_support import START, World
from fastapi.testclient import TestClient

from entrypoints.demo_data import HANDOVER, figures, good_profile, make_uscc, scores
from lifecycle.clock import FixedClock
from workflows import commands as c
from workflows import identity as i
from workflows import rules


def act(
    client: TestClient, world: World, tenancy: int, trigger: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    version = world.version(tenancy)
    response = client.post(
        f"/api/tenancies/{tenancy}/actions/{trigger}",
        json=body or {},
        headers={"If-Match": f'"{version}"'},
    )
    assert response.status_code == 200, (trigger, response.text)
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    result: dict[str, Any] = response.json()
    return result


def test_an_application_goes_from_apply_to_a_decided_review(world: World) -> None:
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    admin, operator = world.client("admin"), world.client("operator")
    reviewer, firm = world.client("reviewer"), world.client("firm")
    uscc = make_uscc(random.Random(99))
    registered = admin.post(
        "/api/firms", json={"name": "新申请企业", "uscc": uscc, "industry": "pharma"}
    )
    assert registered.status_code == 201, registered.text
    # registered, of no space yet: any operator finds it to apply for it
    assert uscc in {f["uscc"] for f in operator.get("/api/firms").json()}
    applied = operator.post(
        "/api/applications",
        json={
            "firm": uscc,
            "space": "MC3",
            "requested_area_m2": 100,
            "profile": good_profile(START.date()),
        },
    )
    assert applied.status_code == 201, applied.text
    t = applied.json()["tenancy_id"]
    assert act(operator, world, t, "screen")["to"] == "evaluating"

    world.do(i.AssignReviewer(tenancy_id=t, username="reviewer"))
    mine = reviewer.post(
        f"/api/applications/{t}/scores",
        json={"scores": scores(0.8)},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert mine.status_code == 201, mine.text
    for name in ("乙", "丙"):
        other = operator.post(
            f"/api/applications/{t}/scores",
            json={"scores": scores(0.75), "reviewer": name},
            headers={"If-Match": f'"{world.version(t)}"'},
        )
        assert other.status_code == 201, other.text
    seen = reviewer.get(f"/api/applications/{t}/scores").json()
    assert [s["reviewer"] for s in seen["scores"]] == ["reviewer"]  # not the others' yet
    assert len(operator.get(f"/api/applications/{t}/scores").json()["scores"]) == 3

    assert act(operator, world, t, "approve")["to"] == "publicity"
    seen = reviewer.get(f"/api/applications/{t}/scores").json()
    assert seen["panel_complete"] and len(seen["scores"]) == 3
    clock.advance(timedelta(days=14))
    assert act(operator, world, t, "end_publicity")["to"] == "admitted"
    today = clock.now().date()
    signed = act(
        operator,
        world,
        t,
        "sign",
        {
            "units": ["U0"],
            "term_start": today.isoformat(),
            "term_end": today.replace(year=today.year + 3).isoformat(),
        },
    )
    assert signed["to"] == "active"
    clock.set(START.replace(year=2025, month=1, day=6))
    assert act(operator, world, t, "open_review", {"period": 2024})["to"] == "under_review"

    firm_user = world.do(
        i.AddUser(
            username="firm2",
            display_name="新企业",
            role="firm",
            password="another long password",
            firm_uscc=uscc,
        )
    )
    assert firm_user
    firm2 = world.client()
    firm2.headers["Authorization"] = (
        "Bearer " + world.do(i.CreateToken(username="firm2", label="t")).token
    )
    submitted = act(
        firm2,
        world,
        t,
        "submit_review",
        {"period": 2024, "figures": figures("steady", year=2024, rng=random.Random(1))},
    )
    assert submitted["trigger"] == "submit_review"
    # The other firm's user cannot reach this review at all.
    refused = firm.post(
        f"/api/tenancies/{t}/actions/submit_review",
        json={"period": 2024, "figures": {}},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert refused.status_code == 404
    decided = act(operator, world, t, "decide_review", {"period": 2024})
    assert decided["to"] in ("active", "rectifying", "exit_notice")
    cycle = operator.post("/api/spaces/MC3/review-cycles/2024/decide", json={"vetoes": {}})
    assert cycle.status_code == 200, cycle.text
    assert [d["tenancy_id"] for d in cycle.json()["already_decided"]] == [t]

    shown = firm2.get(f"/api/tenancies/{t}")
    assert shown.status_code == 200
    assert [e["trigger"] for e in shown.json()["timeline"]][:2] == ["apply", "screen_in"]
    events = firm2.get(f"/api/tenancies/{t}/timeline").json()
    scored = [e["data"] for e in events if e["trigger"] == "score"]
    assert len(scored) == 3 and all("reviewer" not in d for d in scored)  # the panel's own
    assert "reviewer" in operator.get(f"/api/tenancies/{t}/timeline").json()[2]["data"]
    verified = admin.get("/api/audit/verify", params={"tenancy": t})
    assert verified.json()["ok"] is True
    assert HANDOVER  # the exit path is covered by the CLI and cell tests


def test_the_registry_routes(world: World) -> None:
    admin, operator, viewer = (
        world.client("admin"),
        world.client("operator"),
        world.client("viewer"),
    )
    assert [s["code"] for s in admin.get("/api/spaces").json()] == ["MC3", "HX"]
    assert [s["code"] for s in viewer.get("/api/spaces").json()] == ["MC3"]
    created = admin.post("/api/spaces", json={"code": "NEW", "name": "新空间"})
    assert created.status_code == 201, created.text
    added = operator.post(
        "/api/spaces/MC3/units", json={"code": "L1", "kind": "lab", "area_m2": 80}
    )
    assert added.status_code == 201, added.text
    assert "L1" in [u["code"] for u in viewer.get("/api/spaces/MC3/units").json()]
    assert operator.get("/api/spaces/HX/units").status_code == 404
    # The operator (MC3) lists its own firm, not HX's (a firm of another space is no business
    # of it); the admin lists both.
    listed = {f["uscc"] for f in operator.get("/api/firms").json()}
    assert world.own_firm in listed and world.other_firm not in listed
    assert {world.own_firm, world.other_firm} <= {f["uscc"] for f in admin.get("/api/firms").json()}
    me = world.client("firm").get("/api/firms/me")
    assert me.json()["uscc"] == world.own_firm


def test_the_rulebook_routes(world: World) -> None:
    admin = world.client("admin")
    text = rules.default_rulebook_text()
    assert admin.post("/api/rulebooks/check", json={"text": text}).json()["ok"] is True
    bad = admin.post("/api/rulebooks/check", json={"text": "[nope"})
    assert bad.status_code == 422
    loaded = admin.post("/api/rulebooks", json={"text": text, "source": "api-test"})
    assert loaded.status_code == 201, loaded.text
    active = admin.put("/api/spaces/HX/rulebook", json={"text": text})
    assert active.status_code == 200 and active.json()["activated_for"] == "HX"
    assert len(admin.get("/api/rulebooks").json()) >= 1
    simulated = world.client("operator").post(
        "/api/spaces/MC3/rulebook/simulate", json={"text": text, "period": 2023}
    )
    assert simulated.status_code == 200, simulated.text
    assert world.client("operator").post("/api/rulebooks", json={"text": text}).status_code == 403


def test_the_operations_routes(world: World) -> None:
    admin, firm = world.client("admin"), world.client("firm")
    saved = admin.put(
        "/api/templates",
        json={
            "name": "application_received",
            "locale": "zh-CN",
            "part": "subject",
            "source": "已收到申请（运营修订）",
        },
    )
    assert saved.status_code == 200, saved.text
    history = admin.get("/api/templates/application_received").json()
    assert history[0]["revision"] == 1
    preview = admin.post("/api/templates/preview", json={"name": "application_received"})
    assert preview.json()["subject"] == "已收到申请（运营修订）"
    tried = admin.post(
        "/api/templates/preview",
        json={"name": "application_received", "part": "subject", "source": "试用 {{ 1 + 1 }}"},
    )
    assert tried.json() == {"subject": "试用 2"}
    broken = admin.post(
        "/api/templates/preview",
        json={"name": "application_received", "part": "text", "source": "{% if %}"},
    )
    assert broken.status_code == 422
    assert admin.get("/api/templates/application_received").json()[0]["revision"] == 1
    day = admin.put("/api/calendar", json={"day": "2024-10-12", "kind": "workday"})
    assert day.status_code == 200, day.text
    assert admin.get("/api/calendar", params={"year": 2024}).json()[0]["day"] == "2024-10-12"
    assert admin.get("/api/outbox").status_code == 200
    assert admin.post("/api/outbox/retry", json={"all": True}).json() == {"count": 0}
    assert admin.post("/api/deadlines/retry", json={"all": True}).json() == {"count": 0}
    own = firm.get("/api/deadlines").json()
    assert {d["tenancy_id"] for d in own} <= {world.own_tenancy}
    # due_before narrows the list as the CLI's --due-before does; a day that is none is 422
    world.do(c.RequestInfo(tenancy_id=world.own_tenancy, items="营业执照"))  # a deadline
    everything = admin.get("/api/deadlines").json()
    assert everything, "the world has pending deadlines"
    first = min(d["due_on"] for d in everything)
    assert admin.get("/api/deadlines", params={"due_before": first}).json() == []
    later = admin.get("/api/deadlines", params={"due_before": "2999-12-31"}).json()
    assert later == everything
    bad = admin.get("/api/deadlines", params={"due_before": "2026-02-30"})
    assert bad.status_code == 422 and "due_before" in bad.text
    assert admin.get("/api/deadlines", params={"status": "moot"}).status_code == 200
    # Notices reach the firm's inbox once the relay has delivered them.
    world.app.relay().run_once()
    inbox = firm.get("/api/inbox").json()
    assert inbox["items"] and all(item["firm_id"] is not None for item in inbox["items"])
    ids = [item["id"] for item in inbox["items"]]
    assert firm.post("/api/inbox/read", json={"ids": ids}).json() == {"count": len(ids)}
    assert firm.get("/api/inbox").json()["unread"] == 0
    staff = admin.get("/api/inbox").json()
    other_firm_ids = [item["id"] for item in staff["items"]]
    assert firm.post("/api/inbox/read", json={"ids": other_firm_ids}).json()["count"] == 0


def test_a_review_cycle_is_decided_over_http(world: World) -> None:
    unopened = world.client("operator").post("/api/spaces/MC3/review-cycles/2023/decide")
    assert unopened.status_code == 404 and unopened.json()["kind"] == "review"
    other = world.client("operator").post("/api/spaces/HX/review-cycles/2023/decide")
    assert other.status_code == 404 and other.json()["kind"] == "space"


def test_a_firm_applies_only_for_itself_and_an_operator_only_in_their_spaces(
    world: World,
) -> None:
    profile = good_profile(START.date())
    applied = world.client("firm").post(
        "/api/applications",
        json={"firm": world.other_firm, "space": "HX", "profile": profile},
    )
    assert applied.status_code == 201, applied.text
    shown = world.client("admin").get(f"/api/tenancies/{applied.json()['tenancy_id']}").json()
    assert shown["uscc"] == world.own_firm  # the firm user's own firm, whatever it named
    elsewhere = world.client("operator").post(
        "/api/applications",
        json={"firm": world.other_firm, "space": "HX", "profile": profile},
    )
    assert elsewhere.status_code == 404
