"""Tables of the review-cycle board and the firm portal's figures form.

- ``cycle_jobs``: long cycle work (opening or deciding a space's cycle) requested from the
  console and run outside the request. The row is the durable state the board polls; a job
  whose runner died (a restart) is taken up again once its lease has passed.
- ``figure_drafts``: a firm's annual figures saved before submitting, as typed.

Kept apart from ``db.tables`` (one concept per module); registered on the same metadata when
imported — the Alembic environment and ``workflows.cycle_pages`` import it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.types import JSONType, UTCDateTime


class CycleJob(SQLModel, table=True):
    """``kind``: open | decide; ``status``: queued | running | done | failed. ``done`` of
    ``total``: the progress shown (deciding is one transaction: 0 until it commits)."""

    __tablename__ = "cycle_jobs"
    __table_args__ = (Index("ix_cycle_jobs_space_period", "space_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="spaces.id")
    period: int
    kind: str = Field(max_length=16)
    status: str = Field(default="queued", max_length=16)
    total: int = 0
    done: int = 0
    attempts: int = 0
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=Text)
    requested_by: str = Field(max_length=200)
    created_at: datetime = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class FigureDraft(SQLModel, table=True):
    """The figures form of one review as the firm left it (field code -> text typed)."""

    __tablename__ = "figure_drafts"
    __table_args__ = (UniqueConstraint("tenancy_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    tenancy_id: int = Field(foreign_key="tenancies.id")
    period: int
    values: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    saved_by: str = Field(max_length=200)
    saved_at: datetime = Field(default=None, sa_type=UTCDateTime)
