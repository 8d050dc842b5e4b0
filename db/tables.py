"""SQLModel tables. States and kinds are plain strings (validated in Python), not SQL enums.

Naming follows ``XBase`` (fields a caller may give) -> table ``X`` where a public shape is
useful; internal tables are declared directly.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.types import JSONType, UTCDateTime


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _json() -> Any:
    return Field(default_factory=dict, sa_type=JSONType)


def _id() -> Any:
    """An integer primary key the database assigns."""
    return Field(default=None, primary_key=True)


def _big_id() -> Any:
    """A 64-bit primary key the database assigns, for the tables that grow with every event
    (INTEGER on SQLite, whose rowid is 64-bit and autoincrements only as INTEGER)."""
    return Field(
        default=None,
        primary_key=True,
        sa_type=BigInteger().with_variant(Integer, "sqlite"),
        sa_column_kwargs={"autoincrement": True},
    )


def _text() -> Any:
    """Free text, optional."""
    return Field(default=None, sa_type=Text)


def _tenancy(**kwargs: Any) -> Any:
    """The tenancy a row belongs to."""
    return Field(foreign_key="tenancies.id", **kwargs)


class _OfTenancy(SQLModel):
    """A table of rows that belong to one tenancy and are looked up by it: its first columns."""

    id: int | None = _id()
    tenancy_id: int = _tenancy(index=True)


class Space(SQLModel, table=True):
    __tablename__ = "spaces"
    id: int | None = _id()
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    rulebook_version: str | None = Field(
        default=None, max_length=64, foreign_key="rulebooks.version"
    )
    created_at: datetime = _ts()


class Unit(SQLModel, table=True):
    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("space_id", "code"),
        Index("ix_units_space_status_area", "space_id", "status", "area_m2"),  # occupancy
    )
    id: int | None = _id()
    space_id: int = Field(foreign_key="spaces.id", index=True)
    code: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # office | lab | wet_lab | production | desk
    area_m2: float
    status: str = Field(default="available", max_length=16)  # available | let | maintenance


class Firm(SQLModel, table=True):
    __tablename__ = "firms"
    id: int | None = _id()
    name: str = Field(max_length=200)
    uscc: str = Field(max_length=18, unique=True)  # 统一社会信用代码
    industry: str = Field(max_length=64)
    founded_on: date | None = None
    contact_name: str | None = Field(default=None, max_length=100)
    contact_email: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=40)
    account_manager: str | None = Field(default=None, max_length=100)
    locale: str = Field(default="zh-CN", max_length=8)
    created_at: datetime = _ts()


# The version column is declared once at module level so the mapper can use it for
# optimistic locking (SQLModel does not pass __mapper_args__ columns through Field()).
tenancy_version = Column("version", Integer, nullable=False, default=1)


class Tenancy(SQLModel, table=True):
    __tablename__ = "tenancies"
    __table_args__ = (Index("ix_tenancies_space_state", "space_id", "state"),)
    __mapper_args__ = {"version_id_col": tenancy_version}
    id: int | None = _id()
    firm_id: int = Field(foreign_key="firms.id", index=True)
    space_id: int = Field(foreign_key="spaces.id")
    state: str = Field(max_length=32)
    version: int = Field(default=1, sa_column=tenancy_version)
    track: str = Field(default="incubation", max_length=32)
    term_start: date | None = None
    term_end: date | None = None
    rulebook_version: str | None = Field(default=None, max_length=64)
    score: float | None = None
    priority: bool = False
    audit_seq: int = 0
    audit_head: str = Field(default="0" * 64, max_length=64)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Allocation(_OfTenancy, table=True):
    """A unit let to a tenancy for a date range (end exclusive, None = until handover)."""

    __tablename__ = "allocations"
    unit_id: int = Field(foreign_key="units.id", index=True)
    area_m2: float
    start_on: date
    end_on: date | None = None


class Application(SQLModel, table=True):
    __tablename__ = "applications"
    id: int | None = _id()
    tenancy_id: int = _tenancy(unique=True)
    track: str = Field(max_length=32)
    requested_area_m2: float = 0
    profile: dict[str, Any] = _json()
    submitted_at: datetime = _ts()
    decision: dict[str, Any] = _json()  # hard-requirement outcome and trace


class ReviewerScore(SQLModel, table=True):
    __tablename__ = "reviewer_scores"
    __table_args__ = (UniqueConstraint("tenancy_id", "reviewer"),)  # also the tenancy index
    id: int | None = _id()
    tenancy_id: int = _tenancy()
    reviewer: str = Field(max_length=100)
    conflict_of_interest: bool = False
    scores: dict[str, Any] = _json()
    total: float = 0
    created_at: datetime = _ts()


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("tenancy_id", "period"),  # also the tenancy index
        Index("ix_reviews_period_status_grade", "period", "status", "grade"),  # cycle counts
    )
    id: int | None = _id()
    tenancy_id: int = _tenancy()
    period: int  # the calendar year reviewed
    status: str = Field(default="open", max_length=16)  # open | submitted | decided
    opened_at: datetime = _ts()
    due_on: date | None = None
    submitted_at: datetime | None = _ts(nullable=True)
    figures: dict[str, Any] = _json()
    score: float | None = None
    grade: str | None = Field(default=None, max_length=2)
    consequence: str | None = Field(default=None, max_length=32)
    rulebook_version: str | None = Field(default=None, max_length=64)
    trace: dict[str, Any] = _json()
    decided_at: datetime | None = _ts(nullable=True)


class QuarterlyReport(SQLModel, table=True):
    """A firm's light quarterly report (RULEBOOK §3): the rulebook's ``quarterly_metrics``
    for one quarter. A correction replaces the figures; ``first_submitted_at`` is kept, and
    lateness is judged on it against ``due_on``."""

    __tablename__ = "quarterly_reports"
    __table_args__ = (UniqueConstraint("tenancy_id", "year", "quarter"),)  # also the tenancy index
    id: int | None = _id()
    tenancy_id: int = _tenancy()
    year: int
    quarter: int  # 1-4
    figures: dict[str, Any] = _json()
    due_on: date
    first_submitted_at: datetime = _ts()
    submitted_at: datetime = _ts()  # the last submission
    submitted_by: str = Field(max_length=100)
    rulebook_version: str | None = Field(default=None, max_length=64)


class Rectification(_OfTenancy, table=True):
    __tablename__ = "rectifications"
    review_id: int | None = Field(default=None, foreign_key="reviews.id")
    defects: str = Field(sa_type=Text)
    plan_due_on: date
    plan: str | None = _text()
    due_on: date
    extended: bool = False
    status: str = Field(default="open", max_length=16)  # open | passed | failed
    created_at: datetime = _ts()


class Violation(_OfTenancy, table=True):
    __tablename__ = "violations"
    code: str = Field(max_length=64)  # forced-exit trigger code from the rulebook
    facts: str = Field(sa_type=Text)
    evidence: str | None = _text()
    cure_due_on: date | None = None
    status: str = Field(default="open", max_length=16)  # open | cured | escalated
    reported_at: datetime = _ts()
    cured_on: date | None = None  # the day the firm cured it, as the operator recorded
    cure_note: str | None = _text()  # how it was cured (receipt, inspection, delisting notice)


class ExitCase(_OfTenancy, table=True):
    __tablename__ = "exit_cases"
    exit_type: str = Field(max_length=16)  # graduation | term_expiry | voluntary | forced
    grounds: str | None = Field(default=None, max_length=64)  # trigger code for forced exits
    facts: str | None = _text()
    proof_of_service: str | None = _text()
    served_at: datetime | None = _ts(nullable=True)
    objection_due_on: date | None = None
    objection: str | None = _text()
    ruling: str | None = _text()
    vacate_due_on: date | None = None
    handed_over_at: datetime | None = _ts(nullable=True)
    checklist: dict[str, Any] = _json()
    settlement: dict[str, Any] = _json()
    status: str = Field(default="open", max_length=16)  # open | withdrawn | closed
    rulebook_version: str | None = Field(default=None, max_length=64)
    created_at: datetime = _ts()


class Deadline(SQLModel, table=True):
    """A durable deadline: written with the transition that creates it, fired by a sweep."""

    __tablename__ = "deadlines"
    __table_args__ = (
        Index("ix_deadlines_due", "status", "due_at"),
        # planning and cancelling look a deadline up by tenancy, kind and subject (0017)
        Index("ix_deadlines_tenancy_kind_subject", "tenancy_id", "kind", "subject_id"),
    )
    id: int | None = _id()
    kind: str = Field(max_length=48)
    tenancy_id: int = _tenancy(index=True)
    subject_id: int | None = None  # review, exit case, violation ... depending on kind
    due_on: date
    due_at: datetime = _ts()
    status: str = Field(default="pending", max_length=16)  # pending | done | cancelled
    dedupe_key: str = Field(max_length=160, unique=True)
    payload: dict[str, Any] = _json()
    created_at: datetime = _ts()
    done_at: datetime | None = _ts(nullable=True)


class _ChainLink(SQLModel):
    """A table of append-only events hash-chained per subject: an event's place in its
    chain (``seq``), who did it and why, its data, when, and the links (``prev_hash``,
    ``hash``) that make any later edit show."""

    id: int | None = _big_id()
    seq: int
    actor: str = Field(max_length=100)
    reason: str | None = _text()
    data: dict[str, Any] = _json()
    occurred_at: datetime = _ts()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditEvent(_ChainLink, table=True):
    """Append-only, hash-chained per tenancy (see lifecycle.audit)."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("tenancy_id", "seq"),)
    tenancy_id: int = _tenancy()
    trigger: str = Field(max_length=48)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    rulebook_version: str | None = Field(default=None, max_length=64)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: int | None = _big_id()
    dedupe_key: str = Field(max_length=200, unique=True)
    message: str = Field(max_length=64)  # catalog key, e.g. "exit_notice"
    # Not indexed: no query looks notices up by tenancy (the relay reads by status and due
    # time, a firm reads its inbox), and every notice would pay a page write for it.
    tenancy_id: int | None = Field(default=None, foreign_key="tenancies.id")
    firm_id: int | None = Field(default=None, foreign_key="firms.id")
    # The space a notice about no tenancy is about (a space's operators' digest); None for a
    # notice about a tenancy (its space is the tenancy's) and for one about no space.
    space_id: int | None = Field(default=None, foreign_key="spaces.id")
    audience: str = Field(default="firm", max_length=16)  # firm | manager | operators
    locale: str = Field(default="zh-CN", max_length=8)
    context: dict[str, Any] = _json()
    status: str = Field(default="pending", max_length=16)  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    last_error: str | None = _text()
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)


class InboxItem(SQLModel, table=True):
    __tablename__ = "inbox"
    id: int | None = _id()
    firm_id: int | None = Field(default=None, foreign_key="firms.id", index=True)
    audience: str = Field(default="firm", max_length=16)
    outbox_id: int = Field(unique=True)  # one inbox item per outbox row, whatever the retries
    message: str = Field(max_length=64)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    created_at: datetime = _ts()
    read_at: datetime | None = _ts(nullable=True)


class User(SQLModel, table=True):
    """An account (``workflows.identity``). ``password_hash``: argon2 (None: cannot log in);
    ``failed_logins``: failures from any address since the last login (shown, not a lock);
    ``locked_until``: the end of a lockout of every address (the per-account ceiling; a
    lockout of one address is a :class:`LoginLockout`)."""

    __tablename__ = "users"
    id: int | None = _id()
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=16)  # admin | operator | reviewer | firm | viewer
    firm_id: int | None = Field(default=None, foreign_key="firms.id")
    email: str | None = Field(default=None, max_length=200)
    created_at: datetime = _ts()
    password_hash: str | None = Field(default=None, max_length=200)
    disabled_at: datetime | None = _ts(nullable=True)
    failed_logins: int = 0
    locked_until: datetime | None = _ts(nullable=True)
    last_login_at: datetime | None = _ts(nullable=True)


class UserSpace(SQLModel, table=True):
    """A space granted to an account (operator, viewer, reviewer)."""

    __tablename__ = "user_spaces"
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    space_id: int = Field(foreign_key="spaces.id", primary_key=True)


class _Credential(SQLModel):
    """A table of secrets an account signs in with: whose, the SHA-256 of the secret (never
    the secret), when it was made and when it was revoked (see
    ``workflows.account_rules.credential``)."""

    id: int | None = _id()
    user_id: int = Field(foreign_key="users.id", index=True)
    token_sha256: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class ApiToken(_Credential, table=True):
    """An API token for a system: only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"
    label: str = Field(max_length=100)
    role: str = Field(max_length=16)
    expires_at: datetime | None = _ts(nullable=True)
    last_used_at: datetime | None = _ts(nullable=True)


class LoginSession(_Credential, table=True):
    """A browser session: the SHA-256 of the cookie's token, its absolute expiry and idle
    limit (fixed at login), when it was last used, and when it was ended (logout)."""

    __tablename__ = "sessions"
    address: str = Field(max_length=64)
    last_seen_at: datetime = _ts()
    expires_at: datetime = _ts()
    idle_seconds: int


class ApiTokenSpace(SQLModel, table=True):
    """A space a token is limited to (none: the spaces of its account)."""

    __tablename__ = "api_token_spaces"
    token_id: int = Field(foreign_key="api_tokens.id", primary_key=True)
    space_id: int = Field(foreign_key="spaces.id", primary_key=True)


class ReviewerAssignment(SQLModel, table=True):
    """A reviewer account assigned to an application (an operator's action, audited)."""

    __tablename__ = "reviewer_assignments"
    tenancy_id: int = Field(foreign_key="tenancies.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    assigned_at: datetime = _ts()
    assigned_by: str = Field(max_length=100)


class LoginFailure(SQLModel, table=True):
    """A failed login from an address (the per-address throttle counts recent rows), and the
    account it counts against (None: an unknown name, a disabled or locked account, or no
    longer counted: its address logged in, or an admin lifted the lockout)."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_address_at", "address", "at"),
        Index("ix_login_failures_user_id_at", "user_id", "at"),
    )
    id: int | None = _big_id()
    address: str = Field(max_length=64)
    at: datetime = _ts()
    user_id: int | None = Field(default=None, foreign_key="users.id")


class LoginLockout(SQLModel, table=True):
    """A lockout, kept once it is over (the record of every one): of an account from one
    ``address`` (None: from every address, the per-account ceiling a distributed guessing
    reaches), after ``failures`` failures, from ``locked_at`` until ``locked_until``, or until
    an admin lifted it (``lifted_at``, ``lifted_by``)."""

    __tablename__ = "login_lockouts"
    id: int | None = _id()
    user_id: int = Field(foreign_key="users.id", index=True)
    address: str | None = Field(default=None, max_length=64)
    failures: int
    locked_at: datetime = _ts()
    locked_until: datetime = _ts()
    lifted_at: datetime | None = _ts(nullable=True)
    lifted_by: str | None = Field(default=None, max_length=100)


class Rulebook(SQLModel, table=True):
    __tablename__ = "rulebooks"
    version: str = Field(primary_key=True, max_length=64)  # sha256 of the TOML text
    name: str = Field(max_length=200)
    content: str = Field(sa_type=Text)
    loaded_at: datetime = _ts()


class CalendarOverride(SQLModel, table=True):
    __tablename__ = "calendar_overrides"
    day: date = Field(primary_key=True)
    workday: bool
    note: str | None = Field(default=None, max_length=200)


class CalendarYear(SQLModel, table=True):
    """A year beyond the ``chinesecalendar`` package whose whole holiday schedule is published:
    imported complete (source ``import``) or confirmed (``publish``)."""

    __tablename__ = "calendar_years"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str = Field(max_length=16)  # import | publish
    actor: str = Field(max_length=100)
    published_at: datetime = _ts()


class DatabaseMeta(SQLModel, table=True):
    """Facts about the database itself; ``kind``: production | training (``init --training``)."""

    __tablename__ = "database_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)


class MessageTemplate(SQLModel, table=True):
    """Operator-edited template overrides, versioned; the newest version wins."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("name", "locale", "part", "revision"),)
    id: int | None = _id()
    name: str = Field(max_length=64)
    locale: str = Field(max_length=8)
    part: str = Field(max_length=16)  # subject | text | html
    revision: int = 1
    source: str = Field(sa_type=Text)
    author: str = Field(max_length=100)
    created_at: datetime = _ts()


class SchedulerLease(SQLModel, table=True):
    """The active scheduler's lease (``workflows.leadership``): who holds it, under which
    fencing ``token`` (one more at every take-over), until when. The holder renews it;
    another scheduler takes it only once it has expired (or, on PostgreSQL, once the holder's
    session ``backend_pid`` is gone); every sweep's transaction checks the token."""

    __tablename__ = "scheduler_lease"
    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(sa_type=String(200))
    heartbeat_at: datetime = _ts()  # the last renewal
    token: int = Field(default=0, sa_type=BigInteger)
    taken_at: datetime = _ts()
    expires_at: datetime = _ts()
    backend_pid: int | None = None


class IntegrationEndpoint(SQLModel, table=True):
    """Where a space's events go besides the firm and the operators' mail
    (``notifications.integrations``): a signed ``webhook``, or a ``wecom`` / ``dingtalk`` group
    robot for the operators' notices. ``secret`` signs the deliveries (a webhook's is
    generated and shown once; a DingTalk robot's 加签 secret is the operator's); it and a
    robot's URL key are never shown or logged after creation. ``events``: the message keys
    delivered, empty for all. A disabled endpoint gets nothing more."""

    __tablename__ = "integration_endpoints"
    id: int | None = _id()
    space_id: int = Field(foreign_key="spaces.id", index=True)
    kind: str = Field(max_length=16)  # webhook | wecom | dingtalk
    url: str = Field(sa_type=Text)
    secret: str | None = Field(default=None, max_length=200)
    events: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = _ts()
    disabled_at: datetime | None = _ts(nullable=True)


class ApplicationDraft(SQLModel, table=True):
    """A firm's application form as last saved in the portal, before it is sent (one per
    firm: the form's fields as typed, text by field name; nothing in it is checked or used
    until the firm submits it as an ``Apply``)."""

    __tablename__ = "application_drafts"
    id: int | None = _id()
    firm_id: int = Field(foreign_key="firms.id", unique=True)
    fields: dict[str, Any] = _json()
    saved_at: datetime = _ts()
    saved_by: str = Field(max_length=100)


class LandParcel(SQLModel, table=True):
    """A land parcel a space stands on (运营土地): its use class (M0 新型产业用地, M1 一类工业用地,
    ...), land area, floor area and plot ratio (容积率)."""

    __tablename__ = "land_parcels"
    id: int | None = _id()
    space_id: int = Field(foreign_key="spaces.id", index=True)
    parcel_code: str = Field(max_length=64, unique=True)
    land_use: str = Field(max_length=8)
    land_area_m2: float
    floor_area_m2: float
    plot_ratio: float
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class OpportunityEntry(SQLModel, table=True):
    """One need (新场景) or supply (新产品) for the city opportunity list (城市机会清单) of a
    space; ``firm_id`` None: the space's own. States: ``lifecycle.opportunities``."""

    __tablename__ = "opportunity_entries"
    __table_args__ = (Index("ix_opportunity_entries_status", "status", "space_id"),)
    id: int | None = _id()
    space_id: int = Field(foreign_key="spaces.id")
    firm_id: int | None = Field(default=None, foreign_key="firms.id", index=True)
    kind: str = Field(max_length=8)  # need | supply
    title: str = Field(max_length=80)
    description: str = Field(sa_type=Text)
    field: str = Field(max_length=64)  # an industry code of the space's rulebook
    sought: str = Field(sa_type=Text)  # what is sought (need) or offered (supply)
    contact_name: str = Field(max_length=50)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_public: bool = False
    valid_until: date
    status: str = Field(max_length=16)
    return_reason: str | None = _text()
    list_id: int | None = Field(default=None, foreign_key="opportunity_lists.id", index=True)
    position: int | None = None
    submitted_by: str = Field(max_length=100)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class OpportunityList(SQLModel, table=True):
    """第N期城市机会清单: a draft the district assembles, then published and frozen
    (``content`` as published, ``content_hash`` its SHA-256, also in the list's audit event)."""

    __tablename__ = "opportunity_lists"
    id: int | None = _id()
    number: int = Field(unique=True)
    title: str = Field(max_length=120)
    status: str = Field(default="draft", max_length=16)  # draft | published
    content: dict[str, Any] = _json()
    content_hash: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=100)
    created_at: datetime = _ts()
    published_at: datetime | None = _ts(nullable=True)


class Introduction(SQLModel, table=True):
    """An operator's introduction of a need to a supply, and how it went (``outcome``)."""

    __tablename__ = "introductions"
    __table_args__ = (UniqueConstraint("need_id", "supply_id"),)
    id: int | None = _id()
    need_id: int = Field(foreign_key="opportunity_entries.id")
    supply_id: int = Field(foreign_key="opportunity_entries.id", index=True)
    outcome: str = Field(max_length=16)  # introduced | contacted | in_talks | deal | closed
    note: str | None = _text()
    created_by: str = Field(max_length=100)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class OpportunityEvent(_ChainLink, table=True):
    """Append-only, hash-chained per subject (an entry, a list, an introduction): see
    ``lifecycle.opportunities``."""

    __tablename__ = "opportunity_events"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "seq"),)
    subject: str = Field(max_length=16)  # entry | list | introduction
    subject_id: int
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)


ALL_TABLES = SQLModel.metadata
