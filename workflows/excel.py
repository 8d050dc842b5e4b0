"""Excel in and out (openpyxl): the form templates (``forms profile|figures --format xlsx``),
reading a filled figures sheet back row by row, and the ledgers as workbooks.

A template sheet has the field codes in row 1 (what the import reads), the Chinese label and
unit in row 2, a comment with the rule on each code, data validation where Excel has one
(是/否 lists, numbers not below 0, dates, code lists) and one row per firm from row 3 on.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from lifecycle.errors import InvalidInput
from workflows.forms import SHEET_FIELDS, FieldSpec, FigureRow, FormName, shown_value
from workflows.ledgers import SHANGHAI, Ledger

SHEET_TITLES = {"profile": "入驻申请", "figures": "考核数据"}
FIELDS_SHEET = "填写说明"
FIRST_DATA_ROW = 3
#: Data validation and formats reach this many rows below the headers.
TEMPLATE_ROWS = 1000
#: A figures workbook larger than this is refused before it is opened.
MAX_WORKBOOK_BYTES = 20 * 1_048_576
MAX_ROWS = 100_000
#: What a workbook sent through a page may unpack to (the sum of its parts' sizes as the
#: zip declares them; reading never goes past a declared size). A sheet of one space's
#: firms unpacks to well under a megabyte, while a compressed megabyte of repeated cells
#: (a "zip bomb") unpacks to a gigabyte, and openpyxl holds a whole row, and every shared
#: string, in memory: a firm's upload could exhaust the server. The command line, which
#: reads a file the operator chose, has no such limit.
PAGE_UNPACKED_BYTES = 16 * 1_048_576
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
#: A text starting with one of these is what a spreadsheet takes as a formula (or a function
#: call, "@") when it is typed or edited.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
#: The ISO text of an instant, as JSON-ready rows carry one: 2022-12-20T01:00:00+00:00.
_INSTANT_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")


def local_instant(value: Any) -> Any:
    """``value`` as a person reads it in a workbook: an instant (an aware datetime, or the
    ISO text of one) becomes its Asia/Shanghai wall time, without a zone (a spreadsheet has
    none; openpyxl refuses an aware datetime). Anything else, a naive datetime included, is
    returned as it is. Every workbook the product writes puts its values through this."""
    if isinstance(value, str) and _INSTANT_TEXT.fullmatch(value):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(SHANGHAI).replace(tzinfo=None)
    return value


def no_formula(cell: Any) -> Any:
    """``cell`` (a worksheet's, or a write-only one) with its text written as text.

    openpyxl writes a string starting with "=" as a formula: a firm's opportunity entry
    titled ``=HYPERLINK("https://…","…")`` would be a live formula in the console's export,
    the published list's workbook and every copy of it (formula injection). A text is always
    written as text; one a spreadsheet would take as a formula once edited is also
    quote-prefixed (Excel keeps it text). Other values are left as they are."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    return cell


_REQUIRED_FONT = Font(bold=True, color="C00000")


def save(book: Workbook, path: str, field: str = "--out") -> None:
    try:
        book.save(path)
    except OSError as err:
        raise InvalidInput(field, f"无法写入 / cannot write: {err.strerror or err}", path) from None


# ---- templates ---------------------------------------------------------------------------------
def template(
    form: FormName,
    specs: Sequence[FieldSpec],
    *,
    rows: Sequence[dict[str, Any]] = (),
    notes: Sequence[str] = (),
) -> Workbook:
    """The form as a sheet: codes, labels with units, rules as comments and validation, then
    ``rows`` (field code -> value) from row 3; a second sheet describes every field."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_TITLES[form]
    columns = _columns(form, specs)
    for index, spec in enumerate(columns, start=1):
        letter = get_column_letter(index)
        code = sheet.cell(row=1, column=index, value=spec.code)
        code.font = Font(bold=True)
        code.comment = Comment(
            f"{spec.rule_zh}\n{spec.rule_en}", "innospace", width=320, height=160
        )
        label = sheet.cell(row=2, column=index, value=spec.heading)
        label.font = _REQUIRED_FONT if spec.required else Font(bold=True)
        for cell in (code, label):
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[letter].width = max(14, min(36, len(spec.heading) * 2 + 2))
        _validate(sheet, letter, spec)
    sheet.freeze_panes = "B3" if form == "figures" else "A3"
    for offset, values in enumerate(rows):
        for index, spec in enumerate(columns, start=1):
            value = values.get(spec.code)
            if spec.type == "bool" and isinstance(value, bool):
                value = "是" if value else "否"
            elif spec.type == "date" and isinstance(value, str):
                value = date.fromisoformat(value)
            _format(
                no_formula(sheet.cell(row=FIRST_DATA_ROW + offset, column=index, value=value)), spec
            )
    _describe(book, columns, notes)
    return book


def _columns(form: FormName, specs: Sequence[FieldSpec]) -> list[FieldSpec]:
    """A figures sheet starts with the firm: its 统一社会信用代码 (the key) and its name."""
    if form != "figures":
        return list(specs)
    return [*SHEET_FIELDS["figures"], *specs]


def _format(cell: Any, spec: FieldSpec) -> None:
    if spec.code == "uscc":
        cell.number_format = "@"
    elif spec.unit == "yuan":
        cell.number_format = MONEY_FORMAT
    elif spec.type == "date":
        cell.number_format = DATE_FORMAT


def _validate(sheet: Worksheet, letter: str, spec: FieldSpec) -> None:
    area = f"{letter}{FIRST_DATA_ROW}:{letter}{FIRST_DATA_ROW + TEMPLATE_ROWS - 1}"
    rule: DataValidation | None = None
    if spec.type == "bool":
        rule = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    elif spec.type == "choice" and spec.choices and len(",".join(spec.choices)) < 250:
        rule = DataValidation(
            type="list", formula1='"' + ",".join(spec.choices) + '"', allow_blank=True
        )
    elif spec.type == "number" and spec.positive:
        rule = DataValidation(
            type="decimal", operator="greaterThan", formula1="0", allow_blank=True
        )
    elif spec.type in ("number", "integer") and spec.non_negative:
        rule = DataValidation(
            type="whole" if spec.type == "integer" else "decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
        )
    elif spec.type in ("number", "integer"):
        rule = DataValidation(
            type="whole" if spec.type == "integer" else "decimal",
            operator="between",
            formula1="-1E15",
            formula2="1E15",
            allow_blank=True,
        )
    elif spec.type == "date":
        rule = DataValidation(
            type="date", operator="between", formula1="1", formula2="401768", allow_blank=True
        )
    if rule is not None:
        rule.showErrorMessage = True
        rule.errorTitle = spec.label_zh[:32]
        rule.error = _clip(f"{spec.rule_zh} / {spec.rule_en}", 225)
        rule.showInputMessage = True
        rule.promptTitle = spec.label_zh[:32]
        rule.prompt = _clip(spec.rule_zh, 250)
        sheet.add_data_validation(rule)
        rule.add(area)
    if spec.code == "uscc" or spec.unit == "yuan" or spec.type == "date":
        for row in range(FIRST_DATA_ROW, FIRST_DATA_ROW + TEMPLATE_ROWS):
            _format(sheet.cell(row=row, column=_index(letter)), spec)


def _index(letter: str) -> int:
    from openpyxl.utils import column_index_from_string

    return column_index_from_string(letter)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(book: Workbook, specs: Sequence[FieldSpec], notes: Sequence[str]) -> None:
    sheet = book.create_sheet(FIELDS_SHEET)
    headers = ("字段代码", "中文名称", "English", "单位", "必填", "规则", "Rule", "示例")
    for index, text in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=index, value=text)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    for row, spec in enumerate(specs, start=2):
        values = (
            spec.code,
            spec.label_zh,
            spec.label_en,
            spec.unit_zh,
            "是" if spec.required else "否",
            spec.rule_zh,
            spec.rule_en,
            shown_value(spec.example) if spec.example is not None else "",
        )
        for index, value in enumerate(values, start=1):
            sheet.cell(row=row, column=index, value=value).alignment = Alignment(wrap_text=True)
    for letter, width in zip("ABCDEFGH", (26, 24, 28, 14, 6, 60, 60, 20), strict=True):
        sheet.column_dimensions[letter].width = width
    for offset, note in enumerate(notes, start=len(specs) + 3):
        sheet.cell(row=offset, column=1, value=note)


# ---- reading a figures sheet back --------------------------------------------------------------
def _check_unpacked(path: str, field: str, limit: int) -> None:
    """InvalidInput when the workbook's parts unpack to more than ``limit`` bytes (or it is no
    zip at all: not a workbook either way)."""
    try:
        with zipfile.ZipFile(path) as book:
            unpacked = sum(part.file_size for part in book.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidInput(
            field, "不是有效的 xlsx 工作簿 / not a valid xlsx workbook", path
        ) from None
    if unpacked > limit:
        raise InvalidInput(
            field,
            f"工作簿解压后超过 {limit // 1_048_576} MiB / the workbook unpacks to more than "
            f"{limit // 1_048_576} MiB",
            path,
        )


def read_figures(
    path: str, field: str = "file", *, max_unpacked: int | None = None
) -> tuple[dict[str, str], list[FigureRow]]:
    """The field codes of row 1 (code -> column letter) and every non-empty row from row 3,
    values as typed (text, numbers, Excel's TRUE/FALSE, dates); nothing is checked here but
    the sheet's shape. ``max_unpacked``: the most its parts may unpack to (a workbook sent
    through a page: :data:`PAGE_UNPACKED_BYTES`), checked before it is opened."""
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise InvalidInput(field, f"无法读取 / cannot read: {err.strerror or err}", path) from None
    except ValueError:
        raise InvalidInput(field, "不是文件名 / not a file name", path) from None
    if size > MAX_WORKBOOK_BYTES:
        raise InvalidInput(
            field, f"文件超过 / larger than the limit of {MAX_WORKBOOK_BYTES:,} bytes", path
        )
    if max_unpacked is not None:
        _check_unpacked(path, field, max_unpacked)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise InvalidInput(
            field, "不是有效的 xlsx 工作簿 / not a valid xlsx workbook", path
        ) from None
    try:
        title = SHEET_TITLES["figures"]
        sheet = book[title] if title in book.sheetnames else book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, ())
        columns: dict[str, str] = {}
        positions: dict[str, int] = {}
        for index, value in enumerate(header):
            code = str(value).strip() if value is not None else ""
            if code and code not in columns:
                columns[code] = get_column_letter(index + 1)
                positions[code] = index
        if "uscc" not in columns:
            raise InvalidInput(
                field,
                "第 1 行须为字段代码且含 uscc 列（用 `innospace forms figures --format xlsx` "
                "生成模板） / row 1 must hold the field codes, uscc among them (a template "
                "from `innospace forms figures --format xlsx`)",
                path,
            )
        next(lines, None)  # row 2: labels and units
        rows: list[FigureRow] = []
        for number, line in enumerate(lines, start=FIRST_DATA_ROW):
            if number - FIRST_DATA_ROW >= MAX_ROWS:
                raise InvalidInput(field, f"超过 {MAX_ROWS:,} 行 / more than {MAX_ROWS:,} rows")
            cells = {
                code: _cell(line[i]) if i < len(line) else None for code, i in positions.items()
            }
            if all(v is None for v in cells.values()):
                continue
            uscc = cells.pop("uscc")
            cells.pop("name", None)
            rows.append(FigureRow(row=number, uscc=uscc, values=cells))
    finally:
        book.close()
    return columns, rows


def _cell(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


# ---- ledgers -----------------------------------------------------------------------------------
def ledger_book(ledger: Ledger) -> Workbook:
    """A ledger as a sheet: Chinese headers in row 1, dates as dates, amounts as numbers with
    two decimals, yes/no as 是/否, nothing for a missing value."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = ledger.title
    for index, column in enumerate(ledger.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        sheet.column_dimensions[get_column_letter(index)].width = max(
            12, min(30, len(column.header) * 2 + 2)
        )
    for row, values in enumerate(ledger.rows, start=2):
        for index, column in enumerate(ledger.columns, start=1):
            value = local_instant(values.get(column.key))
            if isinstance(value, bool):
                value = "是" if value else "否"
            cell = no_formula(sheet.cell(row=row, column=index, value=value))
            if column.kind == "money" and isinstance(value, Decimal):
                cell.number_format = MONEY_FORMAT
            elif column.kind == "number" and isinstance(value, Decimal):
                exponent = value.as_tuple().exponent
                cell.number_format = "0.00" if isinstance(exponent, int) and exponent < 0 else "0"
            elif column.kind == "date" and isinstance(value, (date, datetime)):
                cell.number_format = DATE_FORMAT
            elif isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
    sheet.freeze_panes = "A2"
    return book
