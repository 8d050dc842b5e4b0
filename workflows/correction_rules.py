"""What a correction changes, decided from what its handler loaded (no I/O here).

Each function checks a correction against the rows as they are (a firm, a unit and who holds
it, the units a tenancy holds) and returns, or fills in, the rows to write: a firm's or a
unit's row updated (:class:`~db.effects.Rows`), or for an amended agreement the tenancy's
:class:`~db.effects.Effects` (the term, the units let and released, the audit event and the
term's deadlines). :mod:`workflows.corrections` loads, calls these and writes once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from db.effects import Effects, Rows, StepResult, TenancyRow
from db.registry import HeldUnit
from db.repositories import FirmRow, UnitRow
from lifecycle import rulebook as rbook
from lifecycle.calendar import WorkCalendar
from lifecycle.errors import Conflict, GuardFailed, InvalidInput
from lifecycle.table import TERMINAL
from workflows import admittance, inputs
from workflows.registry import _EMAIL, UNIT_KINDS

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
#: (old, new) of each field a correction changed, as its audit event records them
Changes = dict[str, list[object]]
TERM_DEADLINES = ("term_expiry_warning", "term_end")


def shown(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def recorded_on(tenancies: Sequence[TenancyRow]) -> list[TenancyRow]:
    """The tenancies a correction's audit event goes on: those not closed, or, when all are
    closed, each of them."""
    return [t for t in tenancies if t.state not in TERMINAL] or list(tenancies)


# ---- a firm's particulars ---------------------------------------------------------------------
def firm_value(field: str, value: Any, today: date) -> Any:
    """A corrected particular, checked as registering the firm checks it."""
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
        if not isinstance(value, date) or value > today:
            raise InvalidInput(
                field, "须为不晚于今天的日期 / must be a date not in the future", shown(value)
            )
        return value
    raise InvalidInput(
        "field", f"可更正的字段 / correctable fields: {', '.join(FIRM_FIELDS)}", field
    )


def edit_firm(firm: FirmRow, given: Mapping[str, Any], today: date) -> tuple[Rows, Changes]:
    """The firm's row with the corrected particulars, and what changed (from, to)."""
    if not given:
        raise InvalidInput("changes", "没有要更正的字段 / nothing to correct")
    changes: Changes = {}
    values: dict[str, Any] = {}
    for name, raw in given.items():
        value = firm_value(name, raw, today)
        old = getattr(firm, name)
        if old != value:
            changes[name] = [shown(old), shown(value)]
            values[name] = value
    if not changes:
        raise InvalidInput("changes", "与现有内容相同 / the same as recorded")
    rows = Rows()
    rows.update("firms", firm.id, **values)
    return rows, changes


# ---- a unit -------------------------------------------------------------------------------------
def edit_unit(
    unit: UnitRow, holder: int | None, *, kind: str | None, area_m2: float | None
) -> tuple[Rows, Changes]:
    """The unit's row with its kind or area corrected (a let unit's area is corrected through
    its agreement), and what changed."""
    if unit.status == "retired":
        raise Conflict(f"单元 {unit.code} 已停用 / unit {unit.code} is retired")
    changes: Changes = {}
    values: dict[str, Any] = {}
    if kind is not None and kind != unit.kind:
        if kind not in UNIT_KINDS:
            raise InvalidInput("kind", f"须为 / must be one of {', '.join(UNIT_KINDS)}", kind)
        changes["kind"] = [unit.kind, kind]
        values["kind"] = kind
    if area_m2 is not None:
        area = inputs.check_area("area_m2", area_m2)
        if area != unit.area_m2:
            if holder is not None:
                raise GuardFailed(
                    holder,
                    "correct_unit",
                    f"单元 {unit.code} 已出租，面积须通过 `agreement amend {holder} --area` 更正 / "
                    f"unit {unit.code} is let: correct its area with `agreement amend`",
                )
            changes["area_m2"] = [unit.area_m2, area]
            values["area_m2"] = float(area)
    if not changes:
        raise InvalidInput("changes", "没有要更正的内容 / nothing to correct")
    rows = Rows()
    rows.update("units", unit.id, **values)
    return rows, changes


def retire_unit(unit: UnitRow, holder: int | None) -> Rows:
    """The unit's row retired; a let unit is not."""
    if holder is not None or unit.status == "let":
        raise GuardFailed(
            holder,
            "retire_unit",
            f"单元 {unit.code} 已出租，不能停用 / unit {unit.code} is let and cannot be retired",
        )
    if unit.status == "retired":
        raise Conflict(f"单元 {unit.code} 已停用 / unit {unit.code} is retired already")
    rows = Rows()
    rows.update("units", unit.id, status="retired")
    return rows


# ---- an agreement -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Amendment:
    """What an amendment asks for (``None``: left as it is)."""

    term_start: date | None = None
    term_end: date | None = None
    deposit_yuan: int | None = None
    area_m2: float | None = None
    units: tuple[str, ...] | None = None


@dataclass(slots=True)
class Agreement:
    """What an amendment is checked against, as the handler loaded it: the rulebook the
    tenancy was admitted under, the firm's industry, the deposit recorded so far, the units
    the tenancy holds, and the space's units it asks for that it does not hold (by code)."""

    rulebook: rbook.Rulebook
    industry: str
    deposit_yuan: int
    held: list[HeldUnit]
    asked: Mapping[str, UnitRow | None] = field(default_factory=dict)


@dataclass(slots=True)
class _Let:
    """A unit the tenancy will hold: an allocation kept (its id) or made (its values)."""

    area_m2: float
    allocation_id: int | None = None
    values: dict[str, Any] | None = None


def amend_agreement(
    e: Effects,
    ask: Amendment,
    agreement: Agreement,
    calendar: WorkCalendar,
    *,
    actor: str,
    reason: str,
) -> StepResult:
    """Amend a resident's agreement: its term (the term's deadlines moved with it), its
    deposit, its units (released ones available again, new ones let) or its one unit's area,
    each checked against the rulebook; recorded as ``amend_agreement`` with what changed."""
    t, rb = e.tenancy, agreement.rulebook
    changes: Changes = {}
    start = ask.term_start or t.term_start
    end = ask.term_end or t.term_end
    assert start is not None and end is not None
    term_moved = (start, end) != (t.term_start, t.term_end)
    if term_moved:
        inputs.check_term(start, end, e.today)
        rbook.check_lease(
            rb, track=t.track, industry=agreement.industry, term_start=start, term_end=end
        )
        changes["term"] = [
            f"{t.term_start}..{t.term_end}",
            f"{start.isoformat()}..{end.isoformat()}",
        ]
    if ask.deposit_yuan is not None:
        inputs.check_amount("deposit_yuan", ask.deposit_yuan)
        changes["deposit_yuan"] = [agreement.deposit_yuan, ask.deposit_yuan]
    lets = [_Let(h.area_m2, allocation_id=h.allocation_id) for h in agreement.held]
    if ask.units is not None:
        lets = _move_units(e, agreement, ask.units, changes)
    if ask.area_m2 is not None:
        area = inputs.check_area("area_m2", ask.area_m2)
        if len(lets) != 1:
            raise InvalidInput(
                "area_m2",
                "协议含多个单元：请先更正各单元面积 / the agreement lets several units: "
                "correct each unit's area",
            )
        rbook.check_area(rb, track=t.track, area_m2=area)
        changes["area_m2"] = [lets[0].area_m2, area]
        lets[0].area_m2 = area
    if not changes:
        raise InvalidInput("changes", "没有要更正的内容 / nothing to amend")
    if ask.units is not None and ask.area_m2 is None:
        area_total = round(sum(let.area_m2 for let in lets), 2)
        rbook.check_area(rb, track=t.track, area_m2=area_total)
    for let in lets:
        if let.values is not None:
            e.insert("allocations", **let.values, area_m2=let.area_m2)
        elif ask.area_m2 is not None:
            assert let.allocation_id is not None
            e.update("allocations", let.allocation_id, area_m2=let.area_m2)
    if term_moved:
        e.set(term_start=start, term_end=end)
    data: dict[str, Any] = {"changes": changes}
    if ask.deposit_yuan is not None:
        data["deposit_yuan"] = ask.deposit_yuan
    step = e.record("amend_agreement", actor=actor, reason=reason, data=data)
    if term_moved:
        e.cancel(*TERM_DEADLINES)
        admittance.term_deadlines(e, rb, calendar)
    return step


def _move_units(
    e: Effects, agreement: Agreement, codes: tuple[str, ...], changes: Changes
) -> list[_Let]:
    """The units the tenancy will hold: those it keeps, then those newly let (each checked
    available); the ones it gives up are released."""
    if not codes or len(set(codes)) != len(codes):
        raise InvalidInput("units", "须列出各不相同的单元 / list distinct units", ",".join(codes))
    wanted = set(codes)
    held_codes = {h.unit.code for h in agreement.held}
    kept = [
        _Let(h.area_m2, allocation_id=h.allocation_id)
        for h in agreement.held
        if h.unit.code in wanted
    ]
    for h in agreement.held:
        if h.unit.code not in wanted:
            e.update("allocations", h.allocation_id, end_on=e.today)
            e.update("units", h.unit.id, status="available")
    for code in codes:
        if code in held_codes:
            continue
        unit = agreement.asked.get(code)
        if unit is None:
            raise InvalidInput(
                "units", f"本空间没有单元 {code} / no unit {code} in this space", code
            )
        if unit.status != "available":
            raise GuardFailed(
                e.tenancy.id,
                "amend_agreement",
                f"单元 {code} 状态为 {unit.status}，不可出租 / unit {code} is not available",
            )
        e.update("units", unit.id, status="let")
        values = {"tenancy_id": e.tenancy.id, "unit_id": unit.id, "start_on": e.today}
        kept.append(_Let(unit.area_m2, values=values))
    changes["units"] = [sorted(held_codes), list(codes)]
    return kept
