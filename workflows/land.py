"""The land a space stands on (运营土地): parcels with their use class, land and floor area and
plot ratio (容积率). The district view divides a space's tax and revenue by them.

Decide, then write: :func:`parcel_values` checks a parcel from what the handler loaded and
the handler writes its row once. A parcel change leaves a log line (like an account change:
it touches no tenancy).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from db.effects import Rows
from lifecycle.errors import AlreadyExists, InvalidInput, NotFound
from workflows.core import Work
from workflows.opportunity_commands import AddParcel, EditParcel

log = logging.getLogger("innospace.land")

#: Land use classes (城市用地分类) a parcel may have; M0 is the "new industry" class the
#: exit mechanism exists to use well.
LAND_USES: dict[str, str] = {
    "M0": "新型产业用地 / new-type industrial",
    "M1": "一类工业用地 / class 1 industrial",
    "M2": "二类工业用地 / class 2 industrial",
    "M3": "三类工业用地 / class 3 industrial",
    "B1": "商业用地 / commercial",
    "B2": "商务用地 / business",
    "B29": "其他商务用地 / other business",
    "A35": "科研用地 / scientific research",
    "W1": "一类物流仓储用地 / logistics and storage",
}
MU_M2 = 10_000 / 15  # 1 亩 = 1/15 公顷 = 666.67 m² (exactly 666⅔)
MAX_AREA_M2 = 10_000_000.0
MAX_PLOT_RATIO = 20.0
#: What a parcel's command gives and :func:`parcel_values` checks.
FIGURES = ("land_use", "land_area_m2", "floor_area_m2", "plot_ratio")


def _area(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
        raise InvalidInput(name, "须为数字 / must be a number", value)
    if not (round(float(value), 2) > 0 and value <= MAX_AREA_M2):  # 0.004 m² would be 0
        raise InvalidInput(
            name,
            f"须至少 0.01 且不超过 {MAX_AREA_M2:,.0f} m² / 0.01 to {MAX_AREA_M2:,.0f} m²",
            value,
        )
    return round(float(value), 2)


def parcel_values(
    given: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A parcel's checked values (``current``: the parcel as it is, for an edit). The plot
    ratio defaults to floor area / land area; a given one must agree with them within 5 %."""
    values: dict[str, Any] = dict(current or {})
    if given.get("land_use") is not None:
        use = str(given["land_use"]).strip().upper()
        if use not in LAND_USES:
            raise InvalidInput(
                "land_use", "须为用地分类之一 / must be one of " + ", ".join(LAND_USES), use
            )
        values["land_use"] = use
    for name in ("land_area_m2", "floor_area_m2"):
        if given.get(name) is not None:
            values[name] = _area(name, given[name])
    derived = round(values["floor_area_m2"] / values["land_area_m2"], 2)
    ratio = given.get("plot_ratio")
    if ratio is None:
        if not 0 < derived <= MAX_PLOT_RATIO:  # the bound a given ratio has
            floor, land = f"{values['floor_area_m2']:,.2f}", f"{values['land_area_m2']:,.2f}"
            raise InvalidInput(
                "floor_area_m2",
                f"建筑面积 {floor} m² ÷ 用地面积 {land} m² 得出容积率 {derived:,.2f}，须大于 0 "
                f"且不超过 {MAX_PLOT_RATIO:g} / floor area {floor} m² over land area {land} m² "
                f"gives a plot ratio of {derived:,.2f}; it must be above 0 and at most "
                f"{MAX_PLOT_RATIO:g}",
            )
        values["plot_ratio"] = derived
    else:
        if not 0 < float(ratio) <= MAX_PLOT_RATIO:
            raise InvalidInput(
                "plot_ratio", f"须大于 0 且不超过 {MAX_PLOT_RATIO:g} / out of range", ratio
            )
        if abs(float(ratio) - derived) > 0.05 * derived + 0.01:
            raise InvalidInput(
                "plot_ratio",
                f"与建筑面积/用地面积（{derived}）不符 / does not match floor area / land area",
                ratio,
            )
        values["plot_ratio"] = round(float(ratio), 2)
    return values


def add_parcel(w: Work, cmd: AddParcel) -> dict[str, Any]:
    space = w.space_row(cmd.space)
    code = cmd.parcel_code.strip()
    if not code or len(code) > 64 or "\x00" in code:
        raise InvalidInput("parcel_code", "须为 1 至 64 个字 / 1 to 64 characters", code)
    if w.uow.opportunities.parcel(code) is not None:
        raise AlreadyExists("land_parcel", code)
    if cmd.land_use is None:
        raise InvalidInput("land_use", "不能为空 / must not be empty")
    values = parcel_values({k: getattr(cmd, k) for k in FIGURES})
    new = {"space_id": space.id, "parcel_code": code, "created_at": w.now, "updated_at": w.now}
    rows = Rows()
    ref = rows.insert("land_parcels", **new, **values)
    w.apply_rows(rows)
    log.info("parcel %s added to %s by %s", code, space.code, cmd.actor)
    return {"parcel_id": ref.id, "parcel_code": code, "space": space.code, **values}


def edit_parcel(w: Work, cmd: EditParcel) -> dict[str, Any]:
    parcel = w.uow.opportunities.parcel(cmd.parcel_code.strip())
    if parcel is None:
        raise NotFound("land_parcel", cmd.parcel_code)
    given = {k: getattr(cmd, k) for k in FIGURES}
    if all(v is None for v in given.values()):
        raise InvalidInput("changes", "没有要修改的内容 / nothing to change")
    if given["plot_ratio"] is None and (given["land_area_m2"] or given["floor_area_m2"]):
        given["plot_ratio"] = None  # derived again from the new areas
    values = parcel_values(given, {k: parcel[k] for k in FIGURES})
    changes = {k: [parcel[k], v] for k, v in values.items() if parcel[k] != v}
    if not changes:
        raise InvalidInput("changes", "与现有内容相同 / the same as recorded")
    rows = Rows()
    rows.update("land_parcels", parcel["id"], **{k: values[k] for k in changes}, updated_at=w.now)
    w.apply_rows(rows)
    log.info("parcel %s edited by %s: %s", parcel["parcel_code"], cmd.actor, changes)
    return {"parcel_code": parcel["parcel_code"], "changes": changes}
