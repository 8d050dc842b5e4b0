"""Corrections: an operator's slip put right — a firm's particulars, a unit, an agreement.

Each is a command with a required reason, recorded as an audit event (``correct_firm``,
``correct_unit``, ``amend_agreement``) on every tenancy it affects, so the timeline shows who
changed what, from what to what, and why. A correction that would contradict a decision already
taken is refused: an agreement is amended only while the firm is resident, a let unit is not
retired and its area is corrected through its agreement.

Decide, then write: the handlers load (through ``uow.registry`` and ``uow.cases``), the pure
functions of :mod:`workflows.correction_rules` decide, and the rows and the audit events are
written once.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from db.effects import Rows
from db.repositories import UnitRow
from lifecycle.errors import InvalidInput
from lifecycle.table import RESIDENT_STATES
from workflows import correction_rules as rules_of
from workflows import inputs, rules
from workflows.commands import Command, TenancyCommand, UnitKey
from workflows.core import Step, Work
from workflows.correction_rules import FIRM_FIELDS

__all__ = ["FIRM_FIELDS", "AmendAgreement", "EditFirm", "EditUnit", "RetireUnit"]

log = logging.getLogger("innospace.corrections")


class EditFirm(Command):
    firm: str  # id or 统一社会信用代码
    changes: dict[str, Any]


class EditUnit(UnitKey, Command):
    kind: str | None = None
    area_m2: float | None = None


class RetireUnit(UnitKey, Command):
    """Take a unit out of use (never one that is let)."""


class AmendAgreement(TenancyCommand):
    term_start: date | None = None
    term_end: date | None = None
    deposit_yuan: int | None = None
    area_m2: float | None = None
    units: tuple[str, ...] | None = None


def _reason(cmd: Command) -> str:
    if cmd.reason is None or not cmd.reason.strip():
        raise InvalidInput("reason", "更正须说明理由 / a correction needs --reason")
    return inputs.check_text("reason", cmd.reason.strip())


def edit_firm(w: Work, cmd: EditFirm) -> dict[str, Any]:
    reason = _reason(cmd)
    firm = w.firm(cmd.firm)
    rows, changes = rules_of.edit_firm(firm, cmd.changes, w.today)
    data = {"firm": firm.id, "uscc": firm.uscc, "changes": changes}
    tenancies = w.uow.registry.tenancies_of_firm(firm.id)
    recorded = _record(w, rows, tenancies, "correct_firm", data, cmd, reason)
    return {"firm": firm.id, "changes": changes, "recorded_on": recorded}


def _record(
    w: Work,
    rows: Rows,
    tenancy_ids: list[int],
    what: str,
    data: dict[str, Any],
    cmd: Command,
    reason: str,
) -> list[int]:
    """Write ``rows`` with an audit event on each tenancy of ``tenancy_ids`` not closed (or,
    when all are closed, on each); with none at all, the correction is logged (who, why,
    what)."""
    loaded = [w.tenancy(i, lock=True) for i in tenancy_ids]
    chosen = rules_of.recorded_on(loaded)
    effects = [w.effects(t) for t in chosen]
    for e in effects:
        e.record(what, actor=cmd.actor, reason=reason, data=data)
    w.apply_rows(rows, *effects)
    if not chosen:
        log.warning("%s by %s (%s): %s", what, cmd.actor, reason, data)
    return [t.id for t in chosen]


def _unit(w: Work, space: str, code: str) -> UnitRow:
    unit = w.uow.registry.unit(w.space_row(space).id, code)
    if unit is None:
        raise InvalidInput(
            "unit", f"空间 {space} 没有单元 {code} / no unit {code} in {space}", code
        )
    return unit


def edit_unit(w: Work, cmd: EditUnit) -> dict[str, Any]:
    reason = _reason(cmd)
    unit = _unit(w, cmd.space, cmd.code)
    holder = w.uow.registry.holder(unit.id)
    rows, changes = rules_of.edit_unit(unit, holder, kind=cmd.kind, area_m2=cmd.area_m2)
    data = {"space": cmd.space, "unit": cmd.code, "changes": changes}
    held_by = [] if holder is None else [holder]
    recorded = _record(w, rows, held_by, "correct_unit", data, cmd, reason)
    return {"unit": cmd.code, "space": cmd.space, "changes": changes, "recorded_on": recorded}


def retire_unit(w: Work, cmd: RetireUnit) -> dict[str, Any]:
    reason = _reason(cmd)
    unit = _unit(w, cmd.space, cmd.code)
    w.apply_rows(rules_of.retire_unit(unit, w.uow.registry.holder(unit.id)))
    log.warning("retire_unit %s/%s by %s (%s)", cmd.space, cmd.code, cmd.actor, reason)
    return {"unit": cmd.code, "space": cmd.space, "from": unit.status, "to": "retired"}


def amend_agreement(w: Work, cmd: AmendAgreement) -> Step:
    from workflows.exits import _deposit

    reason = _reason(cmd)
    tenancy = w.load_for(cmd, "amend_agreement", RESIDENT_STATES)
    firm = w.firm(tenancy.firm_id)
    held = w.uow.registry.held_units(tenancy.id)
    held_codes = {h.unit.code for h in held}
    asked = {
        code: w.uow.registry.unit(tenancy.space_id, code)
        for code in cmd.units or ()
        if code not in held_codes
    }
    agreement = rules_of.Agreement(
        rulebook=rules.for_tenancy(w, tenancy),
        industry=firm.industry,
        deposit_yuan=_deposit(w, tenancy),
        held=held,
        asked=asked,
    )
    ask = rules_of.Amendment(
        term_start=cmd.term_start,
        term_end=cmd.term_end,
        deposit_yuan=cmd.deposit_yuan,
        area_m2=cmd.area_m2,
        units=cmd.units,
    )
    return w.decide(
        tenancy,
        rules_of.amend_agreement,
        ask,
        agreement,
        w.calendar,
        actor=cmd.actor,
        reason=reason,
    )
