"""The agreement: signing lets units for a term and starts residency."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from db.effects import TenancyRow
from db.tables import Allocation, Unit
from lifecycle import rulebook as rbook
from lifecycle.errors import GuardFailed, InvalidInput
from lifecycle.machine import Facts
from workflows import inputs, rules
from workflows.admission import _application
from workflows.commands import Sign
from workflows.core import Step, Work


def sign(w: Work, cmd: Sign) -> Step:
    tenancy = w.load(cmd, "sign")
    inputs.check_term(cmd.term_start, cmd.term_end, w.today)
    inputs.check_amount("deposit_yuan", cmd.deposit_yuan)
    if len(set(cmd.units)) != len(cmd.units):
        raise InvalidInput("units", "a unit is listed twice", ",".join(cmd.units))
    rb = rules.for_tenancy(w, tenancy)
    application = _application(w, tenancy.id)
    firm = w.firm(tenancy.firm_id)
    rbook.check_lease(
        rb,
        track=tenancy.track,
        industry=firm.industry,
        term_start=cmd.term_start,
        term_end=cmd.term_end,
    )
    units = []
    for code in cmd.units:
        unit = w.session.exec(
            select(Unit).where(Unit.space_id == tenancy.space_id, Unit.code == code)
        ).first()
        if unit is None:
            raise InvalidInput("units", f"no unit {code} in this space", code)
        if unit.status != "available":
            raise GuardFailed(
                tenancy.id,
                "sign",
                f"unit {code} is {unit.status}, not available (a unit cannot be let twice)",
            )
        overlap = w.session.exec(
            select(Allocation).where(
                Allocation.unit_id == unit.id,
                col(Allocation.start_on) < cmd.term_end,
                (col(Allocation.end_on).is_(None)) | (col(Allocation.end_on) > cmd.term_start),
            )
        ).first()
        if overlap is not None:
            raise GuardFailed(
                tenancy.id,
                "sign",
                f"unit {code} is let to tenancy {overlap.tenancy_id} for an overlapping term",
            )
        units.append(unit)
    area = round(sum(u.area_m2 for u in units), 2)
    rbook.check_area(rb, track=tenancy.track, area_m2=area)
    for unit in units:
        unit.status = "let"
        w.session.add(unit)
        w.session.add(
            Allocation(
                tenancy_id=tenancy.id,
                unit_id=unit.id,  # type: ignore[arg-type]
                area_m2=unit.area_m2,
                start_on=cmd.term_start,
            )
        )
    w.session.flush()
    tenancy.term_start, tenancy.term_end = cmd.term_start, cmd.term_end
    tenancy.rulebook_version = rb.version
    w.cancel_deadlines(tenancy.id, "agreement_lapse")
    step = w.transition(
        tenancy,
        "sign",
        by=cmd,
        facts=Facts(tenancy.state, unit_count=len(units)),
        data={
            "units": list(cmd.units),
            "area_m2": area,
            "term_start": cmd.term_start,
            "term_end": cmd.term_end,
            "deposit_yuan": cmd.deposit_yuan,
            "requested_area_m2": application.requested_area_m2,
        },
    )
    _term_deadlines(w, tenancy, rb)
    w.notify(
        tenancy,
        "agreement_signed",
        context={
            "units": list(cmd.units),
            "area_m2": area,
            "term_start": cmd.term_start,
            "term_end": cmd.term_end,
        },
    )
    return step


def _term_deadlines(w: Work, tenancy: TenancyRow, rb: rbook.Rulebook) -> None:
    assert tenancy.term_end is not None
    for days in rb.term.expiry_alert_days:
        on = tenancy.term_end - timedelta(days=days)
        if on > w.today:
            w.deadline(
                tenancy,
                "term_expiry_warning",
                on,
                key=f"{tenancy.term_end}:{days}",
                payload={"days_left": days, "term_end": tenancy.term_end},
            )
    w.deadline(tenancy, "term_end", tenancy.term_end, key=str(tenancy.term_end))
