"""A firm's text in an Excel export is text, never a formula: an opportunity entry titled
``=HYPERLINK(...)`` (formula injection) reaches the console's list export and the published
list's workbook, opened by staff, the district and every firm on the list."""

from __future__ import annotations

import io

from api_support import World
from openpyxl import load_workbook
from web_support import signed_in

TITLE = '=HYPERLINK("https://evil.example/x","点此查看详情")'
SOUGHT = "+cmd|' /C calc'!A0"


def _cells(content: bytes) -> dict[str, tuple[object, str]]:
    """Every non-empty cell of the first sheet: its value and its type."""
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return {
        str(cell.coordinate): (cell.value, str(cell.data_type))
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    }


def test_a_firms_formula_is_exported_as_text(world: World) -> None:
    made = world.client("firm").post(
        "/api/opportunity-entries",
        json={
            "space": "MC3",
            "kind": "need",
            "title": TITLE,
            "description": "=1+2 本企业寻求与三甲医院开展临床验证合作（测试数据）。",
            "field": "medical_devices",
            "sought": SOUGHT,
            "contact_name": "@SUM(1)",
            "contact_phone": "028-1234 5678",
            "contact_public": True,
            "valid_until": "2024-12-31",
        },
    )
    assert made.status_code == 201, made.text
    entry = made.json()["entry_id"]

    console = signed_in(world, "operator").get("/console/opportunities", params={"format": "xlsx"})
    assert console.status_code == 200
    cells = _cells(console.content)
    assert (TITLE, "s") in cells.values()
    assert not [c for c, (_, kind) in cells.items() if kind == "f"]

    admin = world.client("admin")
    assert admin.post(f"/api/opportunity-entries/{entry}/accept", json={}).status_code == 200
    assert admin.post("/api/opportunity-lists", json={"title": "第1期"}).status_code == 201
    put = admin.put("/api/opportunity-lists/1/entries", json={"entry_ids": [entry]})
    assert put.status_code == 200, put.text
    assert admin.post("/api/opportunity-lists/1/publish").status_code == 200
    book = world.client("firm").get("/api/opportunity-lists/1/export.xlsx")
    assert book.status_code == 200
    cells = _cells(book.content)
    assert {(TITLE, "s"), (SOUGHT, "s"), ("@SUM(1)", "s")} <= set(cells.values())
    assert not [c for c, (_, kind) in cells.items() if kind == "f"]
