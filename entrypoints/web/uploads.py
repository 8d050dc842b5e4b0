"""Files sent with a form (an answer's, an opportunity entry's), and stored files sent back.

Each file is read one byte past the limit (enough to know it is too large), checked by its
content (:mod:`workflows.attachments`) and stored under its SHA-256 *before* the command that
records it is sent; if that command fails, the files this request created are discarded, so
nothing is half-written either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.responses import Response
from starlette.datastructures import UploadFile

from entrypoints.http.files import file_response
from entrypoints.web.pages import Page
from workflows import attachments
from workflows.attachments import Attachment


def uploads(page: Page, name: str = "attachments") -> list[UploadFile]:
    """The files the form sent under ``name`` (an empty file input sends none)."""
    getlist = getattr(page.form, "getlist", None)
    values = getlist(name) if getlist is not None else []
    return [v for v in values if isinstance(v, UploadFile) and v.filename]


def limits(files: int = attachments.MAX_FILES) -> dict[str, Any]:
    """What a form's help text says about its files."""
    return {
        "mib": attachments.MAX_FILE_BYTES // (1024 * 1024),
        "files": files,
        "types": "PDF、PNG、JPEG",
    }


@contextmanager
def stored(page: Page, *, most: int = attachments.MAX_FILES) -> Iterator[tuple[Attachment, ...]]:
    """The form's files checked and stored (:func:`workflows.attachments.storing`): a wrong
    type, an empty or oversized file, or more than ``most``, is :class:`InvalidInput` naming
    ``attachments`` and nothing is stored."""
    named = [(u.filename or "", read(u)) for u in uploads(page)]
    store = attachments.FileStore(page.app.settings.files_directory())
    with attachments.storing(store, named, most=most) as files:
        yield files


def read(upload: UploadFile) -> bytes:
    """An uploaded file, read one byte past the limit (enough to know it is too large)."""
    data: bytes = upload.file.read(attachments.MAX_FILE_BYTES + 1)
    return data


def download(page: Page, meta: dict[str, Any]) -> Response:
    """A stored attachment as a download (:func:`entrypoints.http.files.file_response`)."""
    return file_response(page.app.settings.files_directory(), meta)
