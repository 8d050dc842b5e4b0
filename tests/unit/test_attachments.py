"""Attached files are recognised by their content, never by their name; stored once under
their SHA-256, beside the database unless the setting says otherwise."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from entrypoints.settings import Settings
from lifecycle.errors import InvalidInput, NotFound
from workflows.attachments import FileStore, check, clean_name, from_dicts, named_as, sniff

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"MZ\x90\x00" + b"\x00" * 60, None),  # a Windows executable
        (b"\x7fELF\x02\x01", None),
        (b"PK\x03\x04", None),  # a zip (docx, xlsx)
        (b"<html><script>", None),
        (b"GIF89a", None),
    ],
)
def test_a_file_is_recognised_by_its_first_bytes(data: bytes, mime: str | None) -> None:
    assert sniff(data) == mime


def test_an_executable_named_pdf_is_refused_with_the_reason_in_chinese() -> None:
    with pytest.raises(InvalidInput) as err:
        check("合同.pdf", b"MZ\x90\x00" + b"\x00" * 60)
    assert "合同.pdf" in err.value.rule and "按文件内容识别" in err.value.rule


def test_a_pdf_named_png_is_taken_as_the_pdf_it_is_and_named_so() -> None:
    item = check("scan.png", PDF)
    assert item.type == "application/pdf" and item.name == "scan.pdf"
    assert item.sha256 == hashlib.sha256(PDF).hexdigest() and item.size == len(PDF)


@pytest.mark.parametrize(
    ("raw", "data", "name"),
    [
        ("页面中文.html", PNG + b"<html><script>", "页面中文.png"),  # never saved as a page
        ("照片.JPEG", JPEG, "照片.JPEG"),
        ("照片.jpg", JPEG, "照片.jpg"),
        ("营业执照", PDF, "营业执照.pdf"),
        ("archive.tar.gz", PDF, "archive.tar.pdf"),
        ("x" * 300 + ".svg", PNG, "x" * 116 + ".png"),
    ],
)
def test_a_file_is_named_with_the_ending_of_the_type_its_content_is(
    raw: str, data: bytes, name: str
) -> None:
    """Whoever downloads a file and opens it opens what it was checked to be: a PNG that
    also holds a script, uploaded as ``.html``, is kept and served as ``.png``."""
    assert check(raw, data).name == name
    assert named_as(raw, sniff(data) or "") == name  # a record kept before, on download


def test_empty_and_oversized_files_are_refused() -> None:
    with pytest.raises(InvalidInput, match="空文件"):
        check("a.pdf", b"")
    with pytest.raises(InvalidInput, match="上限"):
        check("a.pdf", PDF + b"0" * 100, limit=50)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\李\\报告.pdf", "报告.pdf"),
        ("a\x00b\r\n.pdf", "ab.pdf"),
        ("", "附件"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),  # 120 characters, the type kept
    ],
)
def test_a_files_name_keeps_its_last_part_without_control_characters(raw: str, name: str) -> None:
    assert clean_name(raw) == name


def test_the_store_names_files_by_hash_and_never_overwrites(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    sha = hashlib.sha256(PDF).hexdigest()
    assert store.put(PDF, sha) is True
    assert store.put(PDF, sha) is False  # already there: not written again
    assert (tmp_path / sha[:2] / sha).read_bytes() == PDF
    assert store.read(sha) == PDF
    with pytest.raises(InvalidInput):
        store.put(PNG, sha)  # content that does not match its name
    with pytest.raises(NotFound):
        store.read("../" + sha[3:])
    with pytest.raises(NotFound):
        store.read(hashlib.sha256(b"absent").hexdigest())
    store.discard(sha)
    assert not (tmp_path / sha[:2] / sha).exists()


def test_recorded_attachments_are_read_back_skipping_malformed_entries() -> None:
    sha = hashlib.sha256(PDF).hexdigest()
    items = from_dicts(
        [{"name": "a.pdf", "type": "application/pdf", "size": 5, "sha256": sha}, {"x": 1}, 3]
    )
    assert [i.sha256 for i in items] == [sha]
    assert from_dicts(None) == []


def test_files_live_beside_a_sqlite_database_unless_the_setting_says(tmp_path: Path) -> None:
    db = tmp_path / "data" / "innospace.db"
    assert Settings(database_url=f"sqlite:///{db}").files_directory() == (
        tmp_path / "data" / "innospace-files"
    )
    chosen = tmp_path / "elsewhere"
    settings = Settings.from_env(
        {"INNOSPACE_DATABASE_URL": f"sqlite:///{db}", "INNOSPACE_FILES_DIR": str(chosen)}
    )
    assert settings.files_directory() == chosen
    pg = Settings(database_url="postgresql+psycopg://u@h/db").files_directory()
    assert pg == Path("innospace-files").resolve()
