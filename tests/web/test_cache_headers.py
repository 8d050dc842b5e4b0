"""Pages and exports are never kept by a browser or a proxy (``Cache-Control: no-store``): a
shared computer's browser must not show a firm's notices or a space's tenancies after
logout. Only the pages' static assets may be cached."""

from __future__ import annotations

from api_support import World
from web_support import signed_in


def test_pages_and_exports_are_not_stored_and_static_assets_may_be(world: World) -> None:
    firm, operator = signed_in(world, "firm"), signed_in(world, "operator")
    for client, path in (
        (firm, "/portal"),
        (firm, "/portal/inbox"),
        (operator, "/console/tenancies"),
        (operator, "/console/tenancies?format=xlsx"),
        (world.client(), "/login"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.get("cache-control") == "no-store", path
    asset = world.client().get("/static/app.js")
    assert asset.status_code == 200
    assert "no-store" not in asset.headers.get("cache-control", "")
