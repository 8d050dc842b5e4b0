"""Lists on pages: one page at a time, filters, a sort the page allows, and the same rows as
an Excel file.

A page's list reads its parameters with :func:`list_params` (``page``, ``size``, ``sort``,
``dir``, ``format``): ``sort`` must be one of the columns the page names, anything else falls
back to the default; ``size`` is capped. ``?format=xlsx`` returns every row matching the
filters (capped at :data:`EXPORT_MAX`) as a workbook with the page's column headings in the
page's language, built by :func:`xlsx_response` with openpyxl.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from workflows.excel import DATETIME_FORMAT, local_instant, no_formula
from workflows.paging import Paging

PAGE_SIZE = 50
PAGE_MAX = 200
EXPORT_MAX = 100_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """A column of a list: its key in the row, its headings, whether it may be sorted by."""

    key: str
    zh: str
    en: str
    sortable: bool = False
    numeric: bool = False

    def heading(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class ListParams:
    page: int
    size: int
    sort: str
    descending: bool
    export: bool

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def limit(self) -> int:
        """Rows to read: one page (plus one, to know there is a next page), or the export."""
        return EXPORT_MAX if self.export else self.size + 1

    @property
    def paging(self) -> Paging:
        """What the named query reads: this page, or every row from the first for the export."""
        return Paging(self.sort, self.descending, 0 if self.export else self.offset, self.limit)


def list_params(
    query: Mapping[str, str], columns: Sequence[Column], default_sort: str
) -> ListParams:
    def number(name: str, default: int, high: int) -> int:
        raw = query.get(name, "")
        return min(max(int(raw), 1), high) if raw.isdigit() and len(raw) < 9 else default

    allowed = {c.key for c in columns if c.sortable}
    sort = query.get("sort", "")
    return ListParams(
        page=number("page", 1, 10**6),
        size=number("size", PAGE_SIZE, PAGE_MAX),
        sort=sort if sort in allowed else default_sort,
        descending=query.get("dir", "") == "desc",
        export=query.get("format", "") == "xlsx",
    )


@dataclass(frozen=True)
class Paged:
    """One page of rows and the links around it."""

    rows: list[Any]
    params: ListParams
    has_next: bool

    def link(self, query: Mapping[str, str], **changes: object) -> str:
        """The current query string with ``changes`` (e.g. ``page=2``, ``sort="name"``)."""
        merged = {k: v for k, v in query.items() if v != ""}
        merged.update({k: str(v) for k, v in changes.items()})
        return "?" + urlencode(merged)


def paged(rows: list[Any], params: ListParams) -> Paged:
    return Paged(rows=rows[: params.size], params=params, has_next=len(rows) > params.size)


def _cell(value: object) -> Any:
    value = local_instant(value)  # an instant, or its ISO text: Asia/Shanghai wall time
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | int | float | str):
        return value
    return str(value)


def _written(cell: Any) -> Any:
    if isinstance(cell.value, datetime):
        cell.number_format = DATETIME_FORMAT
    return no_formula(cell)


def xlsx_response(
    filename: str,
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    lang: str,
    *,
    sheet: str = "list",
) -> Response:
    """The rows as one worksheet, headings in ``lang``, as a download named ``filename``."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(12, len(column.zh) * 2 + 4)
    ws.append([c.heading(lang) for c in columns])
    for row in rows:
        # Text as text, never a formula: a firm's "=HYPERLINK(…)" stays what it typed.
        ws.append([_written(WriteOnlyCell(ws, value=_cell(row.get(c.key)))) for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    name = filename if filename.endswith(".xlsx") else f"{filename}.xlsx"
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )
