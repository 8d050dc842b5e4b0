"""Benefits granted to a resident firm (rent-free months, rent reductions, subsidies).

Each benefit is an audited, record-only event on the tenancy (``record_benefit``): it is part
of the hash chain, so it cannot be edited away before an exit. At handover the settlement
claws them back in full, pro rata for the unserved part of the commitment, or not at all, as
the exit's rulebook says (RULEBOOK §6; ``lifecycle.rulebook.settlement``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Unpack

from db.cases import EventRow
from db.effects import Effects, StepResult, TenancyRow
from lifecycle import rulebook as rbook
from lifecycle.errors import InvalidInput
from lifecycle.table import RESIDENT_STATES
from workflows import rules
from workflows.commands import RecordBenefit
from workflows.core import Who, Work, acting
from workflows.inputs import check_amount

TRIGGER = "record_benefit"


def record_benefit(w: Work, tenancy_id: int, **fields: Any) -> dict[str, Any]:
    """Record a benefit granted to a resident firm (run in a unit of work), given the
    :class:`RecordBenefit` command's fields as keywords."""
    return record_benefit_cmd(w, RecordBenefit(tenancy_id=tenancy_id, **fields))


def record_benefit_cmd(w: Work, cmd: RecordBenefit) -> dict[str, Any]:
    """The :class:`RecordBenefit` command's handler."""
    tenancy = w.load_for(cmd, TRIGGER, RESIDENT_STATES)
    check_granted_on(tenancy, cmd.granted_on, w.today)
    rb = rules.for_tenancy(w, tenancy)
    step = w.decide(
        tenancy,
        decide,
        rb,
        kind=cmd.kind,
        amount_yuan=cmd.amount_yuan,
        granted_on=cmd.granted_on,
        commitment_months=cmd.commitment_months,
        by=cmd,
    )
    return step.to_dict()


def check_granted_on(tenancy: TenancyRow, granted_on: date, today: date) -> None:
    """A benefit is granted by today, within the term."""
    if granted_on > today:
        raise InvalidInput("granted_on", "must not be in the future", granted_on.isoformat())
    if tenancy.term_start is not None and granted_on < tenancy.term_start:
        raise InvalidInput(
            "granted_on",
            f"must not be before the term starts ({tenancy.term_start.isoformat()})",
            granted_on.isoformat(),
        )


def decide(
    e: Effects,
    rb: rbook.Rulebook,
    *,
    kind: str,
    amount_yuan: object,
    granted_on: date,
    commitment_months: int,
    **who: Unpack[Who],
) -> StepResult:
    """Record a benefit the rulebook allows (its kind, amount and commitment checked)."""
    actor, reason = acting(who)
    check_granted_on(e.tenancy, granted_on, e.today)
    item = rbook.check_benefit(
        rb,
        rbook.Benefit(
            kind, check_amount("benefit.amount_yuan", amount_yuan), granted_on, commitment_months
        ),
    )
    data = {
        "kind": item.kind,
        "amount_yuan": str(item.amount_yuan),
        "granted_on": granted_on,
        "commitment_months": item.commitment_months,
    }
    return e.record(TRIGGER, actor=actor, reason=reason, data=data)


def recorded(w: Work, tenancy: TenancyRow) -> list[rbook.Benefit]:
    """The benefits recorded for the tenancy, oldest first (for the settlement)."""
    return benefits_of(w.uow.cases.events(tenancy.id, (TRIGGER,)))


def benefits_of(events: Sequence[EventRow]) -> list[rbook.Benefit]:
    """The benefits recorded by these ``record_benefit`` events, in their order."""
    return [
        rbook.Benefit(
            ev.data["kind"],
            Decimal(ev.data["amount_yuan"]),
            date.fromisoformat(ev.data["granted_on"]),
            int(ev.data.get("commitment_months", 0)),
        )
        for ev in events
    ]
