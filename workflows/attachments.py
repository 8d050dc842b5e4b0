"""Files a firm attaches to its answer (陈述申辩, 整改方案) or that an opportunity entry carries
(a product brochure, pictures): checked by their content, kept outside the database, named by
their SHA-256.

Why by content: a file's name and the type its browser declares are the sender's to choose;
a ``.pdf`` that is an executable must be refused, so the first bytes decide (PDF, PNG or
JPEG, nothing else). Why by SHA-256: the audit event of the answer records each file's hash,
name, type and size, so the stored file is named by the hash the hash chain vouches for, and
a file stored twice is one file. The store only ever adds files; it deletes only a file it
has just created for a command that then failed (:meth:`FileStore.discard`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecycle.errors import InvalidInput, NotFound

#: The largest attachment accepted, how many one answer may carry and one entry in all.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 3
MAX_ENTRY_FILES = 5
#: The types accepted, by their first bytes.
MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
)
TYPES = {mime: label for _, mime, label in MAGIC}
#: The name endings of each type accepted (the first: the one a file is given).
EXTENSIONS = {"application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg")}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Attachment:
    """What the audit event records of one file."""

    name: str
    type: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "size": self.size, "sha256": self.sha256}


def sniff(data: bytes) -> str | None:
    """The file's type by its first bytes (``application/pdf``, ``image/png``,
    ``image/jpeg``), or None for anything else."""
    for magic, mime, _ in MAGIC:
        if data.startswith(magic):
            return mime
    return None


def clean_name(filename: str) -> str:
    """The name a file is listed under: its last path part, without control characters,
    at most 120 characters ("附件" when nothing is left)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(kept) > 120:
        stem, dot, ext = kept.rpartition(".")
        kept = (stem[: 119 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else kept[:120]
    return kept or "附件"


def named_as(name: str, mime: str) -> str:
    """``name`` ending as a file of type ``mime`` does: a PNG uploaded as ``x.html`` is
    ``x.png``, so that whoever saves and opens it opens an image, never a page that runs."""
    endings = EXTENSIONS.get(mime)
    if not endings or name.lower().endswith(endings):
        return name
    stem, dot, ext = name.rpartition(".")
    base = stem if dot and stem and len(ext) <= 10 else name
    return base[: 120 - len(endings[0])] + endings[0]


def check(filename: str, data: bytes, *, limit: int = MAX_FILE_BYTES) -> Attachment:
    """One uploaded file as an :class:`Attachment`; refused (InvalidInput, in Chinese first)
    when empty, larger than ``limit`` or not a PDF, PNG or JPEG by its content."""
    name = clean_name(filename)
    if not data:
        raise InvalidInput("attachments", f"附件「{name}」是空文件 / the file {name} is empty")
    if len(data) > limit:
        mib = limit / (1024 * 1024)
        raise InvalidInput(
            "attachments",
            f"附件「{name}」超过 {mib:g} MiB 的上限 / the file {name} exceeds the "
            f"{mib:g} MiB limit",
            f"{len(data):,} bytes",
        )
    mime = sniff(data)
    if mime is None:
        raise InvalidInput(
            "attachments",
            f"附件「{name}」的内容不是 PDF、PNG 或 JPEG 文件（按文件内容识别，而非扩展名），"
            f"不予接收 / the file {name} is not a PDF, PNG or JPEG by its content (its name "
            "does not count); it was refused",
        )
    return Attachment(
        name=named_as(name, mime),
        type=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def check_count(count: int, limit: int = MAX_FILES) -> None:
    if count > limit:
        raise InvalidInput(
            "attachments",
            f"最多上传 {limit} 个附件 / at most {limit} files",
            count,
        )


def from_dicts(items: object) -> list[Attachment]:
    """Attachments as an audit event records them (malformed entries are skipped)."""
    out: list[Attachment] = []
    if not isinstance(items, list):
        return out
    for item in items:
        if isinstance(item, dict) and _SHA256.match(str(item.get("sha256", ""))):
            out.append(
                Attachment(
                    name=str(item.get("name", "")),
                    type=str(item.get("type", "")),
                    size=int(item.get("size", 0)),
                    sha256=str(item["sha256"]),
                )
            )
    return out


class FileStore:
    """A directory of files named by their SHA-256 (``ab/abcdef…``), written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise NotFound("attachment", sha256)
        return self.directory / sha256[:2] / sha256

    def put(self, data: bytes, sha256: str) -> bool:
        """Store ``data`` under its hash; True when this call created the file (False when
        it was there already)."""
        if hashlib.sha256(data).hexdigest() != sha256:
            raise InvalidInput("attachments", "文件校验值不符 / the file's hash does not match")
        target = self.path(sha256)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def discard(self, sha256: str) -> None:
        """Remove a file this process has just created for a command that failed."""
        self.path(sha256).unlink(missing_ok=True)

    def read(self, sha256: str) -> bytes:
        target = self.path(sha256)
        if not target.is_file():
            raise NotFound("attachment", sha256)
        return target.read_bytes()


@contextmanager
def storing(
    store: FileStore, named: Sequence[tuple[str, bytes]], *, most: int = MAX_FILES
) -> Iterator[tuple[Attachment, ...]]:
    """Files sent as ``(name, content)`` checked (at most ``most``; all are checked before
    any is stored) and stored; the body sends the command that records them. If it raises,
    the files this call created are removed again, so nothing is half-written."""
    check_count(len(named), most)
    files = [(check(name, data), data) for name, data in named]
    created = [meta.sha256 for meta, data in files if store.put(data, meta.sha256)]
    try:
        yield tuple(meta for meta, _ in files)
    except BaseException:
        for sha in created:
            store.discard(sha)
        raise
