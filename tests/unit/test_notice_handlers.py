"""The commands on what notices are rendered with and read in, through their registered
handlers on the in-memory unit of work: inbox items marked read, template overrides stored
revision by revision (``tests/fakes.py``: no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakes import FakeDatabase, FakeService

from lifecycle.clock import FixedClock
from lifecycle.errors import InvalidTemplate
from workflows import commands as c

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def service(db: FakeDatabase) -> FakeService:
    return FakeService(db, FixedClock(NOW))


def item(db: FakeDatabase, firm_id: int | None, outbox_id: int) -> int:
    return int(
        db.add(
            "inbox",
            firm_id=firm_id,
            audience="firm" if firm_id else "operators",
            outbox_id=outbox_id,
            message="admitted",
            subject="准入通知",
            body="……",
            created_at=NOW,
            read_at=None,
        )
    )


def test_inbox_items_are_marked_read_once_and_only_the_firms_own(
    db: FakeDatabase, service: FakeService
) -> None:
    mine, other, staff = item(db, 1, 1), item(db, 2, 2), item(db, None, 3)
    assert service.handle(c.MarkInboxRead(item_ids=(mine, other, mine), firm_id=1)) == 1
    assert [i["read_at"] for i in db.rows("inbox")] == [NOW, None, None]
    assert service.handle(c.MarkInboxRead(item_ids=(mine, other, staff))) == 2
    assert service.handle(c.MarkInboxRead(item_ids=(mine, other, staff))) == 0
    assert service.handle(c.MarkInboxRead(item_ids=())) == 0


def test_a_template_override_is_stored_revision_by_revision_once_valid(
    db: FakeDatabase, service: FakeService
) -> None:
    def save(source: str, part: str = "subject") -> int:
        revision = service.handle(
            c.SaveTemplate(name="admitted", locale="zh-CN", part=part, source=source, author="op")
        )
        assert isinstance(revision, int)
        return revision

    assert save("旧版 {{ firm.name }}") == 1
    assert save("准入通知：{{ firm.name }}") == 2
    with pytest.raises(InvalidTemplate, match="unsafe"):
        save("{{ ''.__class__ }}")
    with pytest.raises(InvalidTemplate, match="sign_on"):
        save("{{ sign_on }}", part="text")
    rows = db.rows("message_templates")
    assert [(r["revision"], r["source"], r["author"]) for r in rows] == [
        (1, "旧版 {{ firm.name }}", "op"),
        (2, "准入通知：{{ firm.name }}", "op"),
    ]
    assert save("正文 {{ firm.name }}", part="text") == 1  # each part has its own revisions
