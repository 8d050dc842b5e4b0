"""A stored attachment sent back (the API's and the pages' downloads share it)."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Path
from fastapi.responses import Response

from workflows.attachments import FileStore, named_as

#: A stored file's name in a URL: its SHA-256.
Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


def file_response(directory: FilePath, meta: dict[str, Any]) -> Response:
    """The file ``meta`` names (as its record lists it: name, type, SHA-256) as a download,
    with the type its content was checked to be; never cached."""
    data = FileStore(directory).read(str(meta["sha256"]))
    # As named when checked (and so for a file kept before that was done).
    name = named_as(str(meta["name"]), str(meta["type"]))
    return Response(
        data,
        media_type=str(meta["type"]),
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )
