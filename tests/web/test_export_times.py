"""An Excel export shows a time as a person reads it: Asia/Shanghai wall time, never the UTC
ISO text a JSON-ready row carries (the opportunities export's 更新时间 read
"2022-12-20T01:00:00+00:00")."""

from __future__ import annotations

import io
import re
from datetime import datetime

from api_support import START, World
from openpyxl import load_workbook
from web_support import signed_in

from workflows.excel import ledger_book, local_instant
from workflows.ledgers import Column, Ledger

ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
EXPORTS = (
    "/console/applications",
    "/console/publicity",
    "/console/tenancies",
    "/console/cycles",
    "/console/exits",
    "/console/opportunities",
    "/console/ops/outbox",
    "/console/ops/deadlines",
    "/console/ops/accounts",
    "/console/ops/rulebooks",
    "/console/ops/templates",
)


def _sheet(content: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _entry(world: World) -> None:
    made = world.client("firm").post(
        "/api/opportunity-entries",
        json={
            "space": "MC3",
            "kind": "need",
            "title": "寻求临床验证合作",
            "description": "本企业寻求与三甲医院开展临床验证合作（测试数据）。",
            "field": "medical_devices",
            "sought": "三甲医院临床验证",
            "contact_name": "张三",
            "contact_phone": "028-1234 5678",
            "contact_public": True,
            "valid_until": "2024-12-31",
        },
    )
    assert made.status_code == 201, made.text


def test_the_opportunities_export_shows_the_update_time_in_local_time(world: World) -> None:
    _entry(world)
    response = signed_in(world, "operator").get("/console/opportunities?format=xlsx")
    assert response.status_code == 200
    header, *rows = _sheet(response.content)
    column = header.index("更新时间")
    # written at START, 09:00 in Shanghai (01:00 UTC): a date-time cell showing 09:00
    assert [row[column] for row in rows] == [START.replace(tzinfo=None)]
    cell = load_workbook(io.BytesIO(response.content)).worksheets[0].cell(2, column + 1)
    assert cell.number_format == "yyyy-mm-dd hh:mm"


def test_no_export_carries_the_iso_text_of_an_instant(world: World) -> None:
    _entry(world)
    admin = signed_in(world, "admin")
    for path in EXPORTS:
        response = admin.get(path, params={"format": "xlsx"})
        assert response.status_code == 200, path
        iso = [
            value
            for row in _sheet(response.content)
            for value in row
            if isinstance(value, str) and ISO_INSTANT.match(value)
        ]
        assert iso == [], path


def test_the_shared_writer_makes_every_instant_local_and_leaves_the_rest() -> None:
    assert local_instant("2022-12-20T01:00:00+00:00") == datetime(2022, 12, 20, 9, 0)
    assert local_instant(datetime.fromisoformat("2022-12-20T01:00:00+00:00")) == datetime(
        2022, 12, 20, 9, 0
    )
    assert local_instant("2022-12-20T01:00Z") == datetime(2022, 12, 20, 9, 0)
    for kept in ("2022-12-20", "2022-12-20T01:00:00 备注", "=1+2", 3, None):
        assert local_instant(kept) == kept
    # the ledgers' workbooks (CLI ledgers, the opportunity list, the district view) too
    at = datetime.fromisoformat("2022-12-20T01:00:00+00:00")
    columns = (Column("at", "时间"), Column("note", "备注"))
    ledger = Ledger("t", "测试", columns, [{"at": at, "note": "2022-12-20T01:00:00+00:00"}])
    sheet = ledger_book(ledger).worksheets[0]
    assert [sheet.cell(2, n).value for n in (1, 2)] == [datetime(2022, 12, 20, 9, 0)] * 2
