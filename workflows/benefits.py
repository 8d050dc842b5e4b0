"""Benefits granted to a resident firm (rent-free months, rent reductions, subsidies).

Each benefit is an audited, record-only event on the tenancy (``record_benefit``): it is part
of the hash chain, so it cannot be edited away before an exit. At handover the settlement
claws them back in full, pro rata for the unserved part of the commitment, or not at all, as
the exit's rulebook says (RULEBOOK §6; ``lifecycle.rulebook.settlement``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from db.effects import TenancyRow
from db.tables import AuditEvent
from lifecycle import rulebook as rbook
from lifecycle.errors import InvalidInput
from lifecycle.table import RESIDENT_STATES
from workflows import rules
from workflows.commands import RecordBenefit
from workflows.core import Work

TRIGGER = "record_benefit"


def record_benefit(w: Work, tenancy_id: int, **fields: Any) -> dict[str, Any]:
    """Record a benefit granted to a resident firm (run in a unit of work), given the
    :class:`RecordBenefit` command's fields as keywords."""
    return record_benefit_cmd(w, RecordBenefit(tenancy_id=tenancy_id, **fields))


def record_benefit_cmd(w: Work, cmd: RecordBenefit) -> dict[str, Any]:
    """The :class:`RecordBenefit` command's handler."""
    tenancy = w.load_for(cmd, TRIGGER, RESIDENT_STATES)
    granted_on = cmd.granted_on
    if granted_on > w.today:
        raise InvalidInput("granted_on", "must not be in the future", granted_on.isoformat())
    if tenancy.term_start is not None and granted_on < tenancy.term_start:
        raise InvalidInput(
            "granted_on",
            f"must not be before the term starts ({tenancy.term_start.isoformat()})",
            granted_on.isoformat(),
        )
    rb = rules.for_tenancy(w, tenancy)
    item = rbook.check_benefit(
        rb, rbook.Benefit(cmd.kind, _amount(cmd.amount_yuan), granted_on, cmd.commitment_months)
    )
    data = {
        "kind": item.kind,
        "amount_yuan": str(item.amount_yuan),
        "granted_on": granted_on,
        "commitment_months": item.commitment_months,
    }
    return w.record(tenancy, TRIGGER, by=cmd, data=data).to_dict()


def _amount(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise InvalidInput("benefit.amount_yuan", "must be a number", value) from None


def recorded(w: Work, tenancy: TenancyRow) -> list[rbook.Benefit]:
    """The benefits recorded for the tenancy, oldest first (for the settlement)."""
    events = w.session.exec(
        select(AuditEvent)
        .where(AuditEvent.tenancy_id == tenancy.id, AuditEvent.trigger == TRIGGER)
        .order_by(col(AuditEvent.seq))
    ).all()
    return [
        rbook.Benefit(
            e.data["kind"],
            Decimal(e.data["amount_yuan"]),
            date.fromisoformat(e.data["granted_on"]),
            int(e.data.get("commitment_months", 0)),
        )
        for e in events
    ]
