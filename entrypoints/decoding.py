"""A text file as an operator saves it, read the same way by every entry point: the CLI's
``@FILE``, standard input and file arguments, and the console's uploads (rulebooks,
templates). Notepad and Excel on Chinese Windows save UTF-16 with a BOM or GB18030/GBK."""

from __future__ import annotations

import codecs

from lifecycle.errors import InvalidInput


def decode_input(raw: bytes, field: str, where: str) -> str:
    """``raw`` as text: UTF-8 (a BOM dropped), UTF-16 with a BOM, else GB18030 (GBK's
    superset); anything else is an InvalidInput naming ``field``."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        field,
        "须为 UTF-8（可带 BOM）、带 BOM 的 UTF-16 或 GB18030/GBK 编码的文本 / must be UTF-8 "
        "(with or without a BOM), UTF-16 with a BOM, or GB18030/GBK text",
        where,
    )
