"""What every command handler shares: loading, firing a trigger, auditing, deadlines, notices.

A handler runs inside one :class:`~db.uow.UnitOfWork`; the state change, the version bump,
the audit event, the outbox rows and the deadline rows it adds are committed together or not
at all (DESIGN.md decision 2).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import SQLModel, col, select

from db.tables import (
    Allocation,
    AuditEvent,
    Deadline,
    Firm,
    OutboxMessage,
    Space,
    Tenancy,
)
from db.uow import UnitOfWork
from lifecycle.audit import event_hash
from lifecycle.calendar import WorkCalendar
from lifecycle.clock import Clock
from lifecycle.errors import NotFound, StaleTenancy, TransitionNotAllowed
from lifecycle.machine import Facts, fire
from lifecycle.periods import Period
from lifecycle.table import allowed_triggers

T = TypeVar("T", bound=SQLModel)


@dataclass
class Step:
    """What one command did to one tenancy (returned to entry points)."""

    tenancy_id: int
    trigger: str
    from_state: str | None
    to_state: str
    version: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenancy_id": self.tenancy_id,
            "trigger": self.trigger,
            "from": self.from_state,
            "to": self.to_state,
            "version": self.version,
            **self.data,
        }


class Work:
    """One command's view of the world: the unit of work, the clock, the calendar."""

    def __init__(self, uow: UnitOfWork, clock: Clock, calendar: WorkCalendar) -> None:
        self.uow = uow
        self.session = uow.session
        self.clock = clock
        self.calendar = calendar
        self.now: datetime = clock.now()
        self.today: date = calendar.local_date(self.now)

    # ---- loading -------------------------------------------------------------------------
    def get(self, model: type[T], key: object, kind: str | None = None) -> T:
        row = self.session.get(model, key)
        if row is None:
            raise NotFound(kind or model.__name__.lower(), key)
        return row

    def tenancy(
        self, tenancy_id: int, expected_version: int | None = None, *, lock: bool = True
    ) -> Tenancy:
        stmt = select(Tenancy).where(Tenancy.id == tenancy_id)
        if lock and self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = self.session.exec(stmt).first()
        if row is None:
            raise NotFound("tenancy", tenancy_id)
        if expected_version is not None and row.version != expected_version:
            raise StaleTenancy(tenancy_id, expected_version, row.version)
        return row

    def get_space(self, space_id: int) -> Space:
        return self.get(Space, space_id, "space")

    def space_by_code(self, code: str) -> Space:
        row = self.session.exec(select(Space).where(Space.code == code)).first()
        if row is None:
            raise NotFound("space", code)
        return row

    def firm(self, ref: str | int) -> Firm:
        """A firm by id or by 统一社会信用代码."""
        if isinstance(ref, int) or str(ref).isdigit() and len(str(ref)) < 18:
            return self.get(Firm, int(ref), "firm")
        row = self.session.exec(select(Firm).where(Firm.uscc == str(ref).upper())).first()
        if row is None:
            raise NotFound("firm", ref)
        return row

    def unit_count(self, tenancy_id: int) -> int:
        rows = self.session.exec(
            select(Allocation.id).where(
                Allocation.tenancy_id == tenancy_id, Allocation.end_on.is_(None)
            )
        ).all()
        return len(rows)

    # ---- the one way a tenancy changes state --------------------------------------------
    def require(self, tenancy: Tenancy, *triggers: str) -> None:
        """Refuse early, before any lookup, when none of ``triggers`` is allowed here."""
        allowed = allowed_triggers(tenancy.state)
        if not any(t in allowed for t in triggers):
            raise TransitionNotAllowed(tenancy.id, triggers[0], tenancy.state, allowed)

    def require_state(self, tenancy: Tenancy, action: str, states: Collection[str]) -> None:
        """For record-only actions (a score, a submission): which states accept them."""
        if tenancy.state not in states:
            raise TransitionNotAllowed(
                tenancy.id, action, tenancy.state, allowed_triggers(tenancy.state)
            )

    def transition(
        self,
        tenancy: Tenancy,
        trigger: str,
        *,
        actor: str,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
        facts: Facts | None = None,
    ) -> Step:
        facts = facts or Facts(state=tenancy.state)
        facts.state = tenancy.state
        before = tenancy.state
        assert tenancy.id is not None
        after = fire(facts, trigger, tenancy_id=tenancy.id)
        tenancy.state = after
        tenancy.updated_at = self.now
        self.session.add(tenancy)
        self.audit(tenancy, trigger, before, after, actor=actor, reason=reason, data=data)
        self._flush(tenancy)
        return Step(tenancy.id, trigger, before, after, tenancy.version, dict(data or {}))

    def record(
        self,
        tenancy: Tenancy,
        what: str,
        *,
        actor: str,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Step:
        """An audited fact that does not change the state (a score, a submission, ...).

        It still bumps the version: whoever decides next must have seen it.
        """
        assert tenancy.id is not None
        tenancy.updated_at = self.now
        self.session.add(tenancy)
        self.audit(
            tenancy, what, tenancy.state, tenancy.state, actor=actor, reason=reason, data=data
        )
        self._flush(tenancy)
        return Step(
            tenancy.id, what, tenancy.state, tenancy.state, tenancy.version, dict(data or {})
        )

    def _flush(self, tenancy: Tenancy) -> None:
        """Write now, so a concurrent change surfaces as StaleTenancy naming this tenancy."""
        tenancy_id, seen = tenancy.id, tenancy.version
        try:
            self.uow.flush()
        except StaleTenancy as err:
            assert tenancy_id is not None
            raise StaleTenancy(tenancy_id, seen, None) from err

    def audit(
        self,
        tenancy: Tenancy,
        trigger: str,
        before: str | None,
        after: str,
        *,
        actor: str,
        reason: str | None,
        data: Mapping[str, Any] | None,
    ) -> AuditEvent:
        assert tenancy.id is not None
        seq = tenancy.audit_seq + 1
        payload = _json_safe(dict(data or {}))
        digest = event_hash(
            prev_hash=tenancy.audit_head,
            tenancy_id=tenancy.id,
            seq=seq,
            actor=actor,
            trigger=trigger,
            from_state=before,
            to_state=after,
            reason=reason,
            data=payload,
            rulebook_version=tenancy.rulebook_version,
            occurred_at=self.now,
        )
        event = AuditEvent(
            tenancy_id=tenancy.id,
            seq=seq,
            actor=actor,
            trigger=trigger,
            from_state=before,
            to_state=after,
            reason=reason,
            data=payload,
            rulebook_version=tenancy.rulebook_version,
            occurred_at=self.now,
            prev_hash=tenancy.audit_head,
            hash=digest,
        )
        tenancy.audit_seq = seq
        tenancy.audit_head = digest
        self.session.add(event)
        return event

    # ---- deadlines ----------------------------------------------------------------------
    def due(self, start: date, period: Period) -> date:
        return self.calendar.due_date(start, period)

    def deadline(
        self,
        tenancy: Tenancy,
        kind: str,
        due_on: date,
        *,
        subject_id: int | None = None,
        key: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Deadline:
        """Add a deadline row; the dedupe key makes re-adding the same deadline a no-op."""
        assert tenancy.id is not None
        dedupe = f"{kind}:{tenancy.id}:{key or subject_id or due_on.isoformat()}"
        existing = self.session.exec(select(Deadline).where(Deadline.dedupe_key == dedupe)).first()
        if existing is not None:
            return existing
        row = Deadline(
            kind=kind,
            tenancy_id=tenancy.id,
            subject_id=subject_id,
            due_on=due_on,
            due_at=self.calendar.due_instant(due_on),
            dedupe_key=dedupe,
            payload=_json_safe(dict(payload or {})),
            created_at=self.now,
        )
        self.session.add(row)
        return row

    def pending_due_on(self, tenancy_id: int, kind: str) -> date | None:
        """The day the newest pending deadline of ``kind`` falls due, if there is one."""
        row = self.session.exec(
            select(Deadline)
            .where(
                Deadline.tenancy_id == tenancy_id,
                Deadline.kind == kind,
                Deadline.status == "pending",
            )
            .order_by(col(Deadline.id).desc())
        ).first()
        return row.due_on if row is not None else None

    def cancel_deadlines(self, tenancy_id: int, *kinds: str) -> int:
        """Cancel pending deadlines of these kinds (the step they guarded is moot)."""
        stmt = (
            update(Deadline)
            .where(
                Deadline.tenancy_id == tenancy_id,
                Deadline.status == "pending",
                Deadline.kind.in_(kinds),
            )
            .values(status="cancelled", done_at=self.now)
        )
        return int(self.session.exec(stmt).rowcount)

    # ---- notices ------------------------------------------------------------------------
    def notify(
        self,
        tenancy: Tenancy,
        message: str,
        *,
        context: Mapping[str, Any] | None = None,
        audience: str = "firm",
        key: str | None = None,
    ) -> OutboxMessage:
        """Queue a notice in the outbox (sent by the relay after commit, never from here)."""
        firm = self.get(Firm, tenancy.firm_id, "firm")
        space = self.get(Space, tenancy.space_id, "space")
        dedupe = f"{message}:{audience}:{tenancy.id}:{key or tenancy.audit_seq}"
        ctx = {
            "firm": {
                "id": firm.id,
                "name": firm.name,
                "uscc": firm.uscc,
                "contact_name": firm.contact_name,
                "email": firm.contact_email,
                "account_manager": firm.account_manager,
            },
            "space": {"code": space.code, "name": space.name},
            "tenancy": {"id": tenancy.id, "state": tenancy.state},
            "sent_on": self.today.isoformat(),
            **_json_safe(dict(context or {})),
        }
        row = OutboxMessage(
            dedupe_key=dedupe,
            message=message,
            tenancy_id=tenancy.id,
            firm_id=firm.id,
            audience=audience,
            locale=firm.locale,
            context=ctx,
            next_attempt_at=self.now,
            created_at=self.now,
        )
        self.session.add(row)
        return row


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "to_dict"):
        return _json_safe(value.to_dict())
    return str(value)


json_safe = _json_safe
