"""The commands on what notices are rendered with, read in and delivered to, through their
registered handlers on the in-memory unit of work: inbox items marked read, template
overrides stored revision by revision, webhooks added, rotated and disabled
(``tests/fakes.py``: no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakes import FakeDatabase, FakeService

from lifecycle.clock import FixedClock
from lifecycle.errors import Conflict, InvalidTemplate, NotFound
from workflows import commands as c
from workflows.integrations import AddEndpoint, DisableEndpoint, RotateSecret

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


def test_a_webhook_is_added_with_its_key_shown_once_rotated_and_disabled(
    db: FakeDatabase, service: FakeService
) -> None:
    db.add("spaces", code="MC3", name="三医创新中心", timezone="Asia/Shanghai", created_at=NOW)
    added = service.handle(
        AddEndpoint(space="MC3", kind="webhook", url="https://hooks.example.cn/in?key=s3")
    )
    (row,) = db.rows("integration_endpoints")
    assert added["id"] == row["id"] and added["space"] == "MC3"
    assert added["signing_key"] == row["secret"] and added["signed"]
    assert "s3" not in added["url"]  # the query string is redacted

    rotated = service.handle(RotateSecret(endpoint_id=row["id"]))
    assert rotated["signing_key"] == db.rows("integration_endpoints")[0]["secret"] != row["secret"]
    disabled = service.handle(DisableEndpoint(endpoint_id=row["id"]))
    assert disabled["disabled_at"] == NOW.isoformat()
    with pytest.raises(Conflict):
        service.handle(DisableEndpoint(endpoint_id=row["id"]))
    with pytest.raises(Conflict):
        service.handle(RotateSecret(endpoint_id=row["id"]))
    with pytest.raises(NotFound):
        service.handle(RotateSecret(endpoint_id=99))
