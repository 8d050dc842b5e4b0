"""A firm's timeline never names who of the panel scored its application: neither in the
score event's data (its reviewer, a conflict of interest) nor as the event's actor, which is
the reviewer's account when they score in their own name. A reviewer does not even see the
others' scores while the panel is scoring; the firm must not learn who they are."""

from __future__ import annotations

from api_support import World

from entrypoints.demo_data import scores


def test_a_firm_is_not_told_who_scored_its_application(world: World) -> None:
    operator, reviewer, firm = (world.client(r) for r in ("operator", "reviewer", "firm"))
    t = world.own_tenancy
    screened = operator.post(
        f"/api/tenancies/{t}/actions/screen", json={}, headers={"If-Match": f'"{world.version(t)}"'}
    )
    assert screened.json()["to"] == "evaluating", screened.text
    mine = reviewer.post(
        f"/api/applications/{t}/scores",
        json={"scores": scores(0.8)},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert mine.status_code == 201, mine.text
    named = operator.post(
        f"/api/applications/{t}/scores",
        json={"scores": scores(0.6), "reviewer": "王专家"},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert named.status_code == 201, named.text

    for response in (
        firm.get(f"/api/tenancies/{t}/timeline"),
        firm.get(f"/api/tenancies/{t}"),
    ):
        assert response.status_code == 200
        assert "reviewer 测试" not in response.text and "王专家" not in response.text
    events = firm.get(f"/api/tenancies/{t}/timeline").json()
    scored = [e for e in events if e["trigger"] == "score"]
    assert len(scored) == 2
    assert {e["actor"] for e in scored} == {"评审专家 / a reviewer"}
    staff = operator.get(f"/api/tenancies/{t}/timeline").json()
    assert "account:3 reviewer 测试" in {e["actor"] for e in staff if e["trigger"] == "score"}
