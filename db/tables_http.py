"""Tables of the HTTP API: the responses kept for ``Idempotency-Key`` retries.

Kept apart from ``db.tables`` (one concept per module); registered on the same metadata
(``SQLModel.metadata``, which is ``db.tables.ALL_TABLES``) when imported — the Alembic
environment and ``workflows.idempotency`` import it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from db.types import JSONType, UTCDateTime


class IdempotencyKey(SQLModel, table=True):
    """The first response to a POST sent with an ``Idempotency-Key``: a retry with the same
    key (by the same account) gets it back instead of acting twice. ``request``: method and
    path; ``body_sha256``: the body's hash, so the same key with another body is refused."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=100)
    key: str = Field(max_length=200)
    request: str = Field(max_length=300)
    body_sha256: str = Field(max_length=64)
    status: int
    response: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = Field(default=None, sa_type=UTCDateTime, index=True)
