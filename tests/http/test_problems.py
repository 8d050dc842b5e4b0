"""Bad input gets an RFC 9457 problem (application/problem+json) and writes nothing."""

from __future__ import annotations

import pytest
from api_support import World
from starlette.testclient import TestClient

from entrypoints.http.middleware import MAX_BODY_BYTES
from workflows import queries

PROBLEM = "application/problem+json"


def _tenancy_count(world: World) -> int:
    return len(world.app.service.query(queries.tenancy_states))


def test_malformed_json_is_400_and_nothing_is_written(world: World) -> None:
    before = _tenancy_count(world)
    response = world.client("admin").post(
        "/api/applications",
        content=b'{"firm": "x", ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("malformed_json")
    assert body["title"] == "JSON 格式错误 / Malformed JSON"
    assert body["instance"] == "/api/applications"
    assert _tenancy_count(world) == before


def test_a_wrong_type_names_the_field_path(world: World) -> None:
    response = world.client("admin").post(
        "/api/applications",
        json={"firm": world.own_firm, "space": "MC3", "requested_area_m2": "lots"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["requested_area_m2"]
    # Said Chinese first, pydantic's English after: in the field's message and the detail.
    message = response.json()["errors"][0]["message"]
    assert message.startswith("须为数字 / ") and "number" in message
    assert "requested_area_m2: 须为数字 / " in response.json()["detail"]


def test_a_nested_wrong_type_names_its_path(world: World) -> None:
    response = world.client("admin").post("/api/inbox/read", json={"ids": [1, "two"]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["ids[1]"]


def test_unknown_fields_are_refused(world: World) -> None:
    before = _tenancy_count(world)
    response = world.client("admin").post(
        "/api/applications",
        json={"firm": world.own_firm, "space": "MC3", "approved": True},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "approved"
    assert response.json()["errors"][0]["message"].startswith("不认识的字段")
    assert _tenancy_count(world) == before


def test_an_oversized_body_is_413_with_the_limit(world: World) -> None:
    before = _tenancy_count(world)
    payload = b'{"profile": {"x": "' + b"a" * MAX_BODY_BYTES + b'"}}'
    response = world.client("admin").post(
        "/api/applications", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["limit"] == MAX_BODY_BYTES
    assert _tenancy_count(world) == before


def test_only_the_routes_that_take_files_accept_more_than_the_limit(world: World) -> None:
    """The body is read before anyone is authenticated: an anonymous edit or return of an
    opportunity entry with 2 MiB of JSON is 413, not read to the 56 MiB an upload may have;
    the upload routes keep their larger limit for a request that names a credential (then
    401 when it is not valid), and hold one that names none to the ordinary limit."""
    from entrypoints.http.middleware import ENTRY_UPLOAD_BYTES, UPLOAD_BODY_BYTES

    anonymous = world.client()
    forged = world.client()
    forged.headers["Authorization"] = "Bearer not-a-token"
    payload = b'{"title": "' + b"a" * (2 * MAX_BODY_BYTES) + b'"}'
    json_type = {"content-type": "application/json"}
    for method, path in (
        ("PATCH", "/api/opportunity-entries/1"),
        ("POST", "/api/opportunity-entries/1/return"),
        ("POST", "/api/opportunity-entries/1/accept"),
        ("POST", "/console/opportunities/1/return"),
        ("POST", "/portal/opportunities/1"),
        ("POST", "/portal/answer/1/x"),
    ):
        response = anonymous.request(method, path, content=payload, headers=json_type)
        assert response.status_code == 413, (method, path, response.status_code)
    for path, limit in (
        ("/api/opportunity-entries/1/attachments", ENTRY_UPLOAD_BYTES),
        ("/console/opportunities/1/attachments", ENTRY_UPLOAD_BYTES),
        ("/portal/opportunities/1/attachments", ENTRY_UPLOAD_BYTES),
        ("/portal/opportunities", ENTRY_UPLOAD_BYTES),
        ("/portal/answer/1", UPLOAD_BODY_BYTES),
    ):
        assert anonymous.post(path, content=payload, headers=json_type).status_code == 413, path
        response = forged.post(path, content=payload, headers=json_type)
        assert response.status_code != 413, path
        too_big = forged.post(path, content=b"a" * (limit + 1), headers=json_type)
        assert too_big.status_code == 413, path


def test_an_oversized_streamed_body_is_413(world: World) -> None:
    def chunks() -> object:
        for _ in range(20):
            yield b"a" * 100_000

    response = world.client("admin").post(
        "/api/applications", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_a_domain_error_carries_its_status_and_context(world: World) -> None:
    response = world.client("admin").get("/api/tenancies/999999")
    assert response.status_code == 404
    body = response.json()
    assert body["title"] == "不存在 / Not found"
    assert body["kind"] == "tenancy"


def test_an_invalid_input_names_its_field(world: World) -> None:
    response = world.client("admin").post(
        "/api/firms", json={"name": "某企业", "uscc": "123", "industry": "pharma"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "uscc"


def test_an_unexpected_exception_is_a_500_problem_without_a_traceback(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from workflows import queries_http

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("secret internals at line 42")

    monkeypatch.setattr(queries_http, "tenancy_page", broken)
    response = world.client("admin").get("/api/tenancies")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert "secret internals" in caplog.text  # logged for the operators


def test_an_unreachable_database_is_503_with_retry_after(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import OperationalError

    from workflows import queries_http

    def down(*args: object, **kwargs: object) -> object:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(queries_http, "tenancy_page", down)
    response = world.client("admin").get("/api/tenancies")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"


def test_an_unknown_path_is_a_404_problem(world: World) -> None:
    response = world.client("admin").get("/api/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "没有这个地址 / Not Found"


def test_a_method_a_path_does_not_take_is_a_405_problem_in_chinese_first(world: World) -> None:
    response = world.client("admin").delete("/api/firms")
    assert response.status_code == 405 and response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "此地址不接受该请求方法 / Method Not Allowed"
    assert "GET" in response.headers["allow"]


def test_a_body_nested_too_deep_to_parse_is_refused_chinese_first(world: World) -> None:
    response = world.client("operator").post(
        f"/api/tenancies/{world.own_tenancy}/actions/record_benefit",
        content=b"[" * 100_000,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    assert response.json()["detail"].startswith("无法解析请求体 / ")


def test_security_headers_and_no_store(world: World) -> None:
    response = world.client("admin").get("/api/spaces")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain http: meaningless


def test_over_https_browsers_are_told_to_keep_to_it(world: World) -> None:
    client = TestClient(world.api, base_url="https://testserver", raise_server_exceptions=False)
    response = client.get("/login")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_cors_is_closed(world: World) -> None:
    response = world.client().options(
        "/api/spaces",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_an_invalid_input_says_its_rule_in_chinese_first(world: World) -> None:
    """A state that does not exist: the detail and the field's message give the rule in
    Chinese, then in English (the rule was English only)."""
    response = world.client("admin").get("/api/tenancies", params={"state": "flying"})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("state: 须为以下之一：applied、")
    assert body["detail"].endswith(" (got 'flying')")
    assert " / must be one of applied, " in body["detail"]
    [error] = body["errors"]
    assert error["field"] == "state"
    assert error["message"].startswith("须为以下之一：applied、")
    assert error["message"].count("须为以下之一") == 1
    assert " / must be one of applied, " in error["message"]


def _evaluating(world: World) -> int:
    """The own tenancy screened: its reviewer may score it."""
    t = world.own_tenancy
    screened = world.client("operator").post(
        f"/api/tenancies/{t}/actions/screen",
        json={},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert screened.status_code == 200, screened.text
    return t


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        (
            "/api/spaces/MC3/units",
            {"code": "L9", "kind": "lab", "area_m2": True},
            "area_m2",
            "须为数字",
        ),
        (
            "/api/spaces/MC3/land",
            {"parcel_code": "M9", "land_use": "M0", "land_area_m2": True, "floor_area_m2": 100},
            "land_area_m2",
            "须为数字",
        ),
        (
            "/api/opportunity-entries",
            {"space": "MC3", "contact_public": "yes"},
            "contact_public",
            "须为 true 或 false",
        ),
        (
            "/api/opportunity-entries",
            {"space": "MC3", "contact_public": 1},
            "contact_public",
            "须为 true 或 false",
        ),
        ("/api/inbox/read", {"ids": [True]}, "ids[0]", "须为整数"),
    ],
)
def test_a_yes_no_value_is_no_number_and_a_number_no_yes_no(
    world: World, path: str, body: dict[str, object], field: str, words: str
) -> None:
    """pydantic's lax mode would take ``true`` as 1 and ``"yes"`` as true: refused, naming
    the field, Chinese first."""
    response = world.client("admin").post(path, json=body)
    assert response.status_code == 422, response.text
    [error] = [e for e in response.json()["errors"] if e["field"] == field]
    assert error["message"].startswith(words) and " / " in error["message"], error


def test_a_score_of_true_is_refused_and_whole_numbers_are_taken(world: World) -> None:
    from entrypoints.demo_data import scores

    t = _evaluating(world)
    reviewer = world.client("reviewer")
    given: dict[str, object] = dict(scores(0.8))
    first = next(iter(given))
    refused = reviewer.post(
        f"/api/applications/{t}/scores",
        json={"scores": {**given, first: True}},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == f"scores.{first}"
    assert error["message"].startswith("须为数字 / ")
    assert reviewer.get(f"/api/applications/{t}/scores").json()["scores"] == []
    taken = reviewer.post(
        f"/api/applications/{t}/scores",
        json={"scores": {k: int(v) for k, v in scores(0.8).items()}},
        headers={"If-Match": f'"{world.version(t)}"'},
    )
    assert taken.status_code == 201, taken.text
