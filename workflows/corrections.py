"""Corrections: an operator's slip put right — a firm's particulars, a unit, an agreement.

Each is a command with a required reason, recorded as an audit event (``correct_firm``,
``correct_unit``, ``amend_agreement``) on every tenancy it affects, so the timeline shows who
changed what, from what to what, and why. A correction that would contradict a decision already
taken is refused: an agreement is amended only while the firm is resident, a let unit is not
retired and its area is corrected through its agreement.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlmodel import col, select

from db.tables import Allocation, Tenancy, Unit
from lifecycle import rulebook as rbook
from lifecycle.errors import Conflict, GuardFailed, InvalidInput
from lifecycle.table import RESIDENT, TERMINAL
from workflows import inputs, rules
from workflows.commands import Command, TenancyCommand
from workflows.core import Step, Work
from workflows.registry import _EMAIL, UNIT_KINDS

log = logging.getLogger("innospace.corrections")

#: The firm particulars ``firm edit`` corrects (the 统一社会信用代码 identifies the firm: a
#: wrong one is a different firm, registered anew).
FIRM_FIELDS = (
    "name",
    "industry",
    "founded_on",
    "contact_name",
    "contact_email",
    "contact_phone",
    "account_manager",
    "locale",
)
RESIDENT_STATES = tuple(RESIDENT.split())


class EditFirm(Command):
    firm: str  # id or 统一社会信用代码
    changes: dict[str, Any]


class EditUnit(Command):
    space: str
    code: str
    kind: str | None = None
    area_m2: float | None = None


class RetireUnit(Command):
    space: str
    code: str


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


def _shown(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _firm_value(w: Work, field: str, value: Any) -> Any:
    if field in ("name",):
        return inputs.check_name(field, str(value))
    if field == "industry":
        return inputs.check_name(field, str(value), limit=64)
    if field in ("contact_name", "account_manager", "contact_phone"):
        return None if value is None else inputs.check_name(field, str(value), limit=100)
    if field == "contact_email":
        if value is not None and not _EMAIL.match(str(value)):
            raise InvalidInput(field, "须为电子邮件地址 / must be an e-mail address", value)
        return value
    if field == "locale":
        if value not in ("zh-CN", "en"):
            raise InvalidInput(field, "须为 zh-CN 或 en / must be zh-CN or en", value)
        return value
    if field == "founded_on":
        if not isinstance(value, date) or value > w.today:
            raise InvalidInput(
                field, "须为不晚于今天的日期 / must be a date not in the future", _shown(value)
            )
        return value
    raise InvalidInput(
        "field", f"可更正的字段 / correctable fields: {', '.join(FIRM_FIELDS)}", field
    )


def edit_firm(w: Work, cmd: EditFirm) -> dict[str, Any]:
    reason = _reason(cmd)
    firm = w.firm(cmd.firm)
    if not cmd.changes:
        raise InvalidInput("changes", "没有要更正的字段 / nothing to correct")
    changes: dict[str, list[object]] = {}
    for field, raw in cmd.changes.items():
        value = _firm_value(w, field, raw)
        old = getattr(firm, field)
        if old != value:
            changes[field] = [_shown(old), _shown(value)]
            setattr(firm, field, value)
    if not changes:
        raise InvalidInput("changes", "与现有内容相同 / the same as recorded")
    w.session.add(firm)
    assert firm.id is not None
    tenancies = _record_on_tenancies(
        w,
        select(Tenancy.id).where(Tenancy.firm_id == firm.id),
        "correct_firm",
        {"firm": firm.id, "uscc": firm.uscc, "changes": changes},
        cmd,
        reason,
    )
    return {"firm": firm.id, "changes": changes, "recorded_on": tenancies}


def _record_on_tenancies(
    w: Work, ids: Any, what: str, data: dict[str, Any], cmd: Command, reason: str
) -> list[int]:
    """An audit event on each tenancy of ``ids`` not closed (or, when all are closed, on each);
    with none at all, the correction is logged (who, why, what)."""
    rows = [w.tenancy(int(i), lock=True) for i in w.session.exec(ids).all()]
    open_rows = [t for t in rows if t.state not in TERMINAL] or rows
    for tenancy in open_rows:
        w.record(tenancy, what, data=data, actor=cmd.actor, reason=reason)
    if not open_rows:
        log.warning("%s by %s (%s): %s", what, cmd.actor, reason, data)
    return [t.id for t in open_rows]


def _unit(w: Work, space: str, code: str) -> Unit:
    row = w.space_by_code(space)
    unit = w.session.exec(select(Unit).where(Unit.space_id == row.id, Unit.code == code)).first()
    if unit is None:
        raise InvalidInput(
            "unit", f"空间 {space} 没有单元 {code} / no unit {code} in {space}", code
        )
    return unit


def _holder(w: Work, unit: Unit) -> int | None:
    row = w.session.exec(
        select(Allocation.tenancy_id).where(
            Allocation.unit_id == unit.id, col(Allocation.end_on).is_(None)
        )
    ).first()
    return int(row) if row is not None else None


def edit_unit(w: Work, cmd: EditUnit) -> dict[str, Any]:
    reason = _reason(cmd)
    unit = _unit(w, cmd.space, cmd.code)
    if unit.status == "retired":
        raise Conflict(f"单元 {cmd.code} 已停用 / unit {cmd.code} is retired")
    changes: dict[str, list[object]] = {}
    if cmd.kind is not None and cmd.kind != unit.kind:
        if cmd.kind not in UNIT_KINDS:
            raise InvalidInput("kind", f"须为 / must be one of {', '.join(UNIT_KINDS)}", cmd.kind)
        changes["kind"] = [unit.kind, cmd.kind]
    holder = _holder(w, unit)
    if cmd.area_m2 is not None:
        area = inputs.check_area("area_m2", cmd.area_m2)
        if area != unit.area_m2:
            if holder is not None:
                raise GuardFailed(
                    holder,
                    "correct_unit",
                    f"单元 {cmd.code} 已出租，面积须通过 `agreement amend {holder} --area` 更正 / "
                    f"unit {cmd.code} is let: correct its area with `agreement amend`",
                )
            changes["area_m2"] = [unit.area_m2, area]
    if not changes:
        raise InvalidInput("changes", "没有要更正的内容 / nothing to correct")
    if "kind" in changes:
        unit.kind = str(cmd.kind)
    if "area_m2" in changes:
        unit.area_m2 = float(str(changes["area_m2"][1]))
    w.session.add(unit)
    data = {"space": cmd.space, "unit": cmd.code, "changes": changes}
    recorded = (
        _record_on_tenancies(
            w, select(Tenancy.id).where(Tenancy.id == holder), "correct_unit", data, cmd, reason
        )
        if holder is not None
        else []
    )
    if holder is None:
        log.warning("correct_unit by %s (%s): %s", cmd.actor, reason, data)
    return {"unit": cmd.code, "space": cmd.space, "changes": changes, "recorded_on": recorded}


def retire_unit(w: Work, cmd: RetireUnit) -> dict[str, Any]:
    reason = _reason(cmd)
    unit = _unit(w, cmd.space, cmd.code)
    holder = _holder(w, unit)
    if holder is not None or unit.status == "let":
        raise GuardFailed(
            holder,
            "retire_unit",
            f"单元 {cmd.code} 已出租，不能停用 / unit {cmd.code} is let and cannot be retired",
        )
    if unit.status == "retired":
        raise Conflict(f"单元 {cmd.code} 已停用 / unit {cmd.code} is retired already")
    before = unit.status
    unit.status = "retired"
    w.session.add(unit)
    log.warning("retire_unit %s/%s by %s (%s)", cmd.space, cmd.code, cmd.actor, reason)
    return {"unit": cmd.code, "space": cmd.space, "from": before, "to": "retired"}


def amend_agreement(w: Work, cmd: AmendAgreement) -> Step:
    from workflows.agreement import _term_deadlines

    reason = _reason(cmd)
    tenancy = w.load_for(cmd, "amend_agreement", RESIDENT_STATES)
    rb = rules.for_tenancy(w, tenancy)
    firm = w.firm(tenancy.firm_id)
    changes: dict[str, list[object]] = {}
    start = cmd.term_start or tenancy.term_start
    end = cmd.term_end or tenancy.term_end
    assert start is not None and end is not None
    term_moved = (start, end) != (tenancy.term_start, tenancy.term_end)
    if term_moved:
        inputs.check_term(start, end, w.today)
        rbook.check_lease(
            rb, track=tenancy.track, industry=firm.industry, term_start=start, term_end=end
        )
        changes["term"] = [
            f"{tenancy.term_start}..{tenancy.term_end}",
            f"{start.isoformat()}..{end.isoformat()}",
        ]
    if cmd.deposit_yuan is not None:
        inputs.check_amount("deposit_yuan", cmd.deposit_yuan)
        from workflows.exits import _deposit

        changes["deposit_yuan"] = [_deposit(w, tenancy), cmd.deposit_yuan]
    allocations = list(
        w.session.exec(
            select(Allocation).where(
                Allocation.tenancy_id == tenancy.id, col(Allocation.end_on).is_(None)
            )
        ).all()
    )
    if cmd.units is not None:
        allocations = _move_units(w, tenancy, allocations, cmd.units, changes)
    if cmd.area_m2 is not None:
        area = inputs.check_area("area_m2", cmd.area_m2)
        if len(allocations) != 1:
            raise InvalidInput(
                "area_m2",
                "协议含多个单元：请先更正各单元面积 / the agreement lets several units: "
                "correct each unit's area",
            )
        rbook.check_area(rb, track=tenancy.track, area_m2=area)
        changes["area_m2"] = [allocations[0].area_m2, area]
        allocations[0].area_m2 = area
        w.session.add(allocations[0])
    if not changes:
        raise InvalidInput("changes", "没有要更正的内容 / nothing to amend")
    if cmd.units is not None and cmd.area_m2 is None:
        area_total = round(sum(a.area_m2 for a in allocations), 2)
        rbook.check_area(rb, track=tenancy.track, area_m2=area_total)
    tenancy.term_start, tenancy.term_end = start, end
    data: dict[str, Any] = {"changes": changes}
    if cmd.deposit_yuan is not None:
        data["deposit_yuan"] = cmd.deposit_yuan
    w.session.flush()
    step = w.record(tenancy, "amend_agreement", data=data, actor=cmd.actor, reason=reason)
    if term_moved:
        w.cancel_deadlines(tenancy.id, "term_expiry_warning", "term_end")
        _term_deadlines(w, tenancy, rb)
    return step


def _move_units(
    w: Work,
    tenancy: Any,
    allocations: list[Allocation],
    codes: tuple[str, ...],
    changes: dict[str, list[object]],
) -> list[Allocation]:
    if not codes or len(set(codes)) != len(codes):
        raise InvalidInput("units", "须列出各不相同的单元 / list distinct units", ",".join(codes))
    held = [(w.session.get(Unit, a.unit_id), a) for a in allocations]
    held_codes = {u.code for u, _ in held if u is not None}
    wanted = set(codes)
    kept = [a for u, a in held if u is not None and u.code in wanted]
    for unit, allocation in held:
        if unit is not None and unit.code not in wanted:
            allocation.end_on = w.today
            unit.status = "available"
            w.session.add_all([allocation, unit])
    for code in codes:
        if code in held_codes:
            continue
        unit = w.session.exec(
            select(Unit).where(Unit.space_id == tenancy.space_id, Unit.code == code)
        ).first()
        if unit is None:
            raise InvalidInput(
                "units", f"本空间没有单元 {code} / no unit {code} in this space", code
            )
        if unit.status != "available":
            raise GuardFailed(
                tenancy.id,
                "amend_agreement",
                f"单元 {code} 状态为 {unit.status}，不可出租 / unit {code} is not available",
            )
        unit.status = "let"
        allocation = Allocation(
            tenancy_id=tenancy.id,
            unit_id=unit.id,  # type: ignore[arg-type]
            area_m2=unit.area_m2,
            start_on=w.today,
        )
        w.session.add_all([unit, allocation])
        kept.append(allocation)
    changes["units"] = [sorted(held_codes), list(codes)]
    return kept
