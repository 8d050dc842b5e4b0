"""Tenancies over HTTP: cursor pages, filters, the version as ETag, If-Match (412 / 428),
Idempotency-Key (a retry acts once; another body is 422), and both under two concurrent
clients."""

from __future__ import annotations

import random
import threading
from typing import Any

from api_support import START, World

from entrypoints.demo_data import good_profile, make_uscc
from workflows import commands as c
from workflows import queries


def _apply(world: World, n: int) -> list[int]:
    """``n`` more applications in MC3, each by a new firm."""
    rng = random.Random(5)
    profile = good_profile(START.date())
    ids = []
    for k in range(n):
        uscc = make_uscc(rng)
        world.do(c.RegisterFirm(name=f"分页企业{k}", uscc=uscc, industry="pharma"))
        ids.append(world.do(c.Apply(firm=uscc, space="MC3", profile=profile)).tenancy_id)
    return ids


def test_pages_follow_the_cursor_to_the_end(world: World) -> None:
    _apply(world, 5)
    admin = world.client("admin")
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = admin.get("/api/tenancies", params=params).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == 7 == len(set(seen))


def test_filters_by_space_and_state(world: World) -> None:
    admin = world.client("admin")
    hx = admin.get("/api/tenancies", params={"space": "HX"}).json()["items"]
    assert [t["id"] for t in hx] == [world.other_tenancy]
    applied = admin.get("/api/tenancies", params={"state": "applied"}).json()["items"]
    assert len(applied) == 2
    assert admin.get("/api/tenancies", params={"state": "active"}).json()["items"] == []
    bad = admin.get("/api/tenancies", params={"state": "flying"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state"


def test_an_operator_lists_only_their_spaces(world: World) -> None:
    items = world.client("operator").get("/api/tenancies").json()["items"]
    assert [t["id"] for t in items] == [world.own_tenancy]


def test_the_version_is_the_etag_and_if_none_match_is_304(world: World) -> None:
    admin = world.client("admin")
    shown = admin.get(f"/api/tenancies/{world.own_tenancy}")
    assert shown.headers["ETag"] == f'"{shown.json()["version"]}"'
    assert shown.json()["timeline"][0]["trigger"] == "apply"
    again = admin.get(
        f"/api/tenancies/{world.own_tenancy}", headers={"If-None-Match": shown.headers["ETag"]}
    )
    assert again.status_code == 304


def test_a_write_without_if_match_is_428(world: World) -> None:
    response = world.client("operator").post(
        f"/api/tenancies/{world.own_tenancy}/actions/screen", json={}
    )
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"


def test_a_stale_if_match_is_412_naming_the_current_version(world: World) -> None:
    version = world.version(world.own_tenancy)
    response = world.client("operator").post(
        f"/api/tenancies/{world.own_tenancy}/actions/screen",
        json={},
        headers={"If-Match": f'"{version + 5}"'},
    )
    assert response.status_code == 412
    assert response.json()["current_version"] == version
    assert response.headers["ETag"] == f'"{version}"'
    assert world.version(world.own_tenancy) == version


def test_an_idempotency_key_makes_a_retry_act_once(world: World) -> None:
    operator = world.client("operator")
    version = world.version(world.own_tenancy)
    headers = {"If-Match": f'"{version}"', "Idempotency-Key": "screen-1"}
    url = f"/api/tenancies/{world.own_tenancy}/actions/screen"
    first = operator.post(url, json={}, headers=headers)
    retry = operator.post(url, json={}, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    events = world.app.service.query(queries.timeline, tenancy_id=world.own_tenancy)
    assert [e["trigger"] for e in events].count("screen_in") == 1


def test_a_keyed_request_is_checked_like_any_other_and_writes_nothing(world: World) -> None:
    operator = world.client("operator")
    version = world.version(world.own_tenancy)
    headers = {"If-Match": f'"{version}"', "Idempotency-Key": "object-emoji"}
    url = f"/api/tenancies/{world.own_tenancy}/actions/object"
    refused = operator.post(url, json={"by": "张三😀", "grounds": "材料不实"}, headers=headers)
    assert refused.status_code == 422, refused.json()
    assert refused.json()["errors"][0]["field"] == "by"
    assert world.version(world.own_tenancy) == version


def test_the_same_key_with_another_body_is_422_and_acts_not(world: World) -> None:
    admin = world.client("admin")
    headers = {"Idempotency-Key": "firm-1"}
    first = admin.post("/api/spaces", json={"code": "K1", "name": "空间一"}, headers=headers)
    assert first.status_code == 201
    other = admin.post("/api/spaces", json={"code": "K2", "name": "空间二"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    codes = [s["code"] for s in admin.get("/api/spaces").json()]
    assert "K1" in codes and "K2" not in codes


def test_a_key_expires_after_a_day_and_then_acts_anew(world: World) -> None:
    from datetime import timedelta

    from lifecycle.clock import FixedClock
    from workflows.idempotency import KEY_TTL

    admin = world.client("admin")
    headers = {"Idempotency-Key": "daily"}
    first = admin.post("/api/spaces", json={"code": "K1", "name": "空间一"}, headers=headers)
    assert first.status_code == 201
    clock = world.app.service.clock
    assert isinstance(clock, FixedClock)
    clock.advance(KEY_TTL - timedelta(seconds=1))
    replay = admin.post("/api/spaces", json={"code": "K1", "name": "空间一"}, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    clock.advance(timedelta(seconds=1))
    # Expired: the key is free again, for another body too.
    again = admin.post("/api/spaces", json={"code": "K2", "name": "空间二"}, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    codes = [s["code"] for s in admin.get("/api/spaces").json()]
    assert "K1" in codes and "K2" in codes


def test_the_purge_deletes_only_expired_keys(world: World) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from db.tables_http import IdempotencyKey
    from entrypoints.scheduler import purge_idempotency_keys
    from lifecycle.clock import FixedClock
    from workflows.idempotency import KEY_TTL, PurgeIdempotencyKeys

    admin = world.client("admin")
    clock = world.app.service.clock
    assert isinstance(clock, FixedClock)
    for n in range(3):
        body = {"code": f"P{n}", "name": f"空间{n}"}
        headers = {"Idempotency-Key": f"old-{n}"}
        assert admin.post("/api/spaces", json=body, headers=headers).is_success
    clock.advance(KEY_TTL - timedelta(hours=1))
    body = {"code": "P9", "name": "空间九"}
    assert admin.post("/api/spaces", json=body, headers={"Idempotency-Key": "new"}).is_success

    def keys() -> list[str]:
        with world.app.engine.connect() as connection:
            rows = connection.execute(select(IdempotencyKey.key).order_by(IdempotencyKey.key))
            return list(rows.scalars())

    assert world.do(PurgeIdempotencyKeys()) == 0  # none is a day old yet
    clock.advance(timedelta(hours=1))
    assert purge_idempotency_keys(world.app.service) == 3  # the scheduler's job
    assert keys() == ["new"]
    assert world.do(PurgeIdempotencyKeys()) == 0
    with world.app.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(IdempotencyKey)).scalar() == 1


def test_keys_belong_to_their_account(world: World) -> None:
    headers = {"Idempotency-Key": "shared"}
    body = {"code": "U9", "kind": "office", "area_m2": 50}
    first = world.client("admin").post("/api/spaces/MC3/units", json=body, headers=headers)
    assert first.status_code == 201
    second = world.client("operator").post("/api/spaces/MC3/units", json=body, headers=headers)
    assert second.status_code == 409  # acted again (its own key): the unit exists


def _race(world: World, role: str, send: Any) -> list[Any]:
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def run(n: int) -> None:
        client = world.client(role)
        barrier.wait()
        results[n] = send(client)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_clients_with_one_idempotency_key_make_one_effect(world: World) -> None:
    version = world.version(world.own_tenancy)
    url = f"/api/tenancies/{world.own_tenancy}/actions/request_info"
    headers = {"If-Match": f'"{version}"', "Idempotency-Key": "race-1"}
    results = _race(
        world,
        "operator",
        lambda client: client.post(url, json={"items": "营业执照"}, headers=headers),
    )
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    assert results[0].json() == results[1].json()
    events = world.app.service.query(queries.timeline, tenancy_id=world.own_tenancy)
    assert [e["trigger"] for e in events].count("request_info") == 1


def test_two_clients_with_one_if_match_make_one_effect(world: World) -> None:
    version = world.version(world.own_tenancy)
    url = f"/api/tenancies/{world.own_tenancy}/actions/request_info"
    headers = {"If-Match": f'"{version}"'}
    results = _race(
        world,
        "operator",
        lambda client: client.post(url, json={"items": "营业执照"}, headers=headers),
    )
    assert sorted(r.status_code for r in results) == [200, 412], [r.text for r in results]
    stale = next(r for r in results if r.status_code == 412)
    assert stale.json()["current_version"] == version + 1
    assert world.version(world.own_tenancy) == version + 1


def test_an_exit_over_the_api_rests_on_the_records_and_the_firms_request(world: World) -> None:
    """serve_exit_notice on two D grades the reviews never gave is 422 naming ``grounds``;
    begin_exit voluntary needs the firm's written request (request_voluntary_exit, its
    letter recorded), and the firm is then out no earlier than the day it asked for."""
    from web_exit_support import clock_of, make_resident

    t = make_resident(world)
    operator = world.client("operator")

    def act(trigger: str, body: dict[str, Any]) -> Any:
        headers = {"If-Match": f'"{world.version(t)}"'}
        return operator.post(f"/api/tenancies/{t}/actions/{trigger}", json=body, headers=headers)

    notice = {"grounds": "consecutive_d", "facts": "两年考核不合格", "proof_of_service": "EMS"}
    refused = act("serve_exit_notice", notice)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "grounds"
    refused = act("begin_exit", {"exit_type": "voluntary"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "exit_type"
    leave_on = clock_of(world).now().date().replace(month=12, day=31)
    asked = act("request_voluntary_exit", {"leave_on": leave_on.isoformat()})
    assert asked.status_code == 200, asked.json()
    begun = act("begin_exit", {"exit_type": "voluntary"})
    assert begun.status_code == 200, begun.json()
    cases = operator.get("/api/exit-cases").json()["items"]
    (case,) = [x for x in cases if x["tenancy_id"] == t and x["type"] == "voluntary"]
    assert case["vacate_due_on"] == leave_on.isoformat()


def test_a_violation_is_cured_over_the_api_by_the_operator_of_its_space(world: World) -> None:
    """cure_violation beside report_violation: the operator of the space records the cure
    (the violation's status and day read back from /api/violations); a firm is 403; a day in
    the future is 422 naming ``cured_on``, a second cure 409, an engine code reported by
    hand 422 naming ``code``."""
    from web_exit_support import clock_of, make_resident

    t = make_resident(world)
    operator = world.client("operator")
    today = clock_of(world).now().date()

    def act(client: Any, trigger: str, body: dict[str, Any]) -> Any:
        headers = {"If-Match": f'"{world.version(t)}"'}
        return client.post(f"/api/tenancies/{t}/actions/{trigger}", json=body, headers=headers)

    refused = act(operator, "report_violation", {"code": "failed_rectification", "facts": "x"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "code"
    assert "系统依据考核/整改结果自动认定" in refused.text
    reported = act(operator, "report_violation", {"code": "arrears", "facts": "欠缴租金"})
    assert reported.status_code == 200, reported.text
    v = reported.json()["violation"]

    body = {"violation": v, "cured_on": today.isoformat(), "note": "收据 01"}
    assert act(world.client("firm"), "cure_violation", body).status_code == 403
    future = act(operator, "cure_violation", {**body, "cured_on": "2099-01-01"})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "cured_on"
    cured = act(operator, "cure_violation", body)
    assert cured.status_code == 200, cured.text
    assert (cured.json()["status"], cured.json()["cured_on"]) == ("cured", today.isoformat())
    again = act(operator, "cure_violation", body)
    assert again.status_code == 409 and f"违规 #{v}" in again.json()["detail"], again.text
    # grounds with no cure period (immediate) take no cure: 409, in words
    fraud = act(operator, "report_violation", {"code": "fraud", "facts": "虚报材料"})
    assert fraud.status_code == 200 and fraud.json()["cure_due_on"] is None, fraud.text
    uncurable = act(operator, "cure_violation", {**body, "violation": fraud.json()["violation"]})
    assert uncurable.status_code == 409 and "没有改正期限" in uncurable.json()["detail"]

    rows = operator.get("/api/violations", params={"tenancy": t}).json()["items"]
    [row] = [r for r in rows if r["id"] == v]
    assert (row["status"], row["cured_on"], row["cure_note"]) == (
        "cured",
        today.isoformat(),
        "收据 01",
    )
