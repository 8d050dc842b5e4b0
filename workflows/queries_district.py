"""The district's view of its spaces in a year: how densely and productively each uses its land
(运营土地), and whether exits free room for better firms.

Per space, and in total:

- land: parcels, land area (m² and 亩, 1 亩 = 666.67 m²), floor area, plot ratio, use classes;
- occupancy: the area let at the year's end (or today, for the current year) over the
  lettable area (units not retired);
- tax and revenue the firms reported for the year (their annual review figures), per m² of
  let area and per 亩 of land;
- firms admitted, graduated and exited in the year, exits by type;
- re-letting: for the units released in the year, the average days until a unit was let again
  (and how many were not let again yet);
- the review grades of the year.

The year is the calendar year in Asia/Shanghai. A ratio with nothing to divide by is None
(the entry point words it).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.tables import ALL_TABLES
from lifecycle.errors import InvalidInput
from lifecycle.rulebook.model_exit import EXIT_TYPES
from lifecycle.table import ADMITTED
from workflows.core import DEFAULT_TZ, Work
from workflows.land import MU_M2

_S, _U, _A, _T, _R, _X, _EV, _P = (
    ALL_TABLES.tables[n]
    for n in (
        "spaces",
        "units",
        "allocations",
        "tenancies",
        "reviews",
        "exit_cases",
        "audit_events",
        "land_parcels",
    )
)
GRADES = ("A", "B", "C", "D")


def _ratio(num: float, den: float, digits: int = 2) -> float | None:
    return round(num / den, digits) if den else None


def _yuan(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _blank(code: str, name: str) -> dict[str, Any]:
    return {
        "space": code,
        "name": name,
        "parcels": 0,
        "land_uses": [],
        "land_area_m2": 0.0,
        "floor_area_m2": 0.0,
        "lettable_area_m2": 0.0,
        "leased_area_m2": 0.0,
        "tax_yuan": Decimal(0),
        "revenue_yuan": Decimal(0),
        "admitted": 0,
        "exits": dict.fromkeys(EXIT_TYPES, 0),
        "released_units": 0,
        "relet_units": 0,
        "relet_days_total": 0,
        "grades": dict.fromkeys(GRADES, 0),
    }


def _finish(s: dict[str, Any]) -> dict[str, Any]:
    land, leased = s["land_area_m2"], s["leased_area_m2"]
    mu = land / MU_M2 if land else 0.0
    tax, revenue = float(s["tax_yuan"]), float(s["revenue_yuan"])
    relet_days_total = s.pop("relet_days_total")
    return {
        **s,
        "land_area_m2": round(land, 2),
        "land_area_mu": round(mu, 2),
        "floor_area_m2": round(s["floor_area_m2"], 2),
        "plot_ratio": _ratio(s["floor_area_m2"], land),
        "lettable_area_m2": round(s["lettable_area_m2"], 2),
        "leased_area_m2": round(leased, 2),
        "occupancy": _ratio(leased, s["lettable_area_m2"], 4),
        "tax_yuan": str(s["tax_yuan"].quantize(Decimal("0.01"))),
        "revenue_yuan": str(s["revenue_yuan"].quantize(Decimal("0.01"))),
        "tax_per_m2": _ratio(tax, leased),
        "revenue_per_m2": _ratio(revenue, leased),
        "tax_per_mu": _ratio(tax, mu),
        "revenue_per_mu": _ratio(revenue, mu),
        "graduated": s["exits"]["graduation"],
        "exited": sum(s["exits"].values()),
        "avg_days_to_relet": _ratio(relet_days_total, s["relet_units"], 1),
    }


def district(
    w: Work,
    *,
    year: int,
    spaces: list[str] | None = None,
    space_ids: Collection[int] | None = None,
) -> dict[str, Any]:
    """The district view of ``year``: one row per space (by code) and the total; only the
    spaces named (by code), or those an account may see (``space_ids``), when given."""
    tz = ZoneInfo(DEFAULT_TZ)
    since, until = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
    year_end = min(date(year, 12, 31), w.today)
    conn = w.connection
    rows: dict[int, dict[str, Any]] = {}
    stmt = select(_S.c.id, _S.c.code, _S.c.name).order_by(_S.c.code)
    if spaces is not None:
        stmt = stmt.where(_S.c.code.in_(spaces))
    if space_ids is not None:
        stmt = stmt.where(_S.c.id.in_(list(space_ids)))
    for space_id, code, name in conn.execute(stmt):
        rows[space_id] = _blank(code, name)
    ids = list(rows)

    for p in conn.execute(select(_P).where(_P.c.space_id.in_(ids))):
        s = rows[p.space_id]
        s["parcels"] += 1
        s["land_area_m2"] += p.land_area_m2
        s["floor_area_m2"] += p.floor_area_m2
        if p.land_use not in s["land_uses"]:
            s["land_uses"].append(p.land_use)

    unit_space: dict[int, int] = {}
    for u in conn.execute(
        select(_U.c.id, _U.c.space_id, _U.c.area_m2, _U.c.status).where(_U.c.space_id.in_(ids))
    ):
        unit_space[u.id] = u.space_id
        if u.status != "retired":
            rows[u.space_id]["lettable_area_m2"] += u.area_m2

    lets: dict[int, list[tuple[date, date | None]]] = {}
    for a in conn.execute(select(_A.c.unit_id, _A.c.area_m2, _A.c.start_on, _A.c.end_on)):
        if a.unit_id not in unit_space:
            continue
        lets.setdefault(a.unit_id, []).append((a.start_on, a.end_on))
        if a.start_on <= year_end and (a.end_on is None or a.end_on > year_end):
            rows[unit_space[a.unit_id]]["leased_area_m2"] += a.area_m2
    for unit_id, spans in lets.items():
        s = rows[unit_space[unit_id]]
        for _, end in spans:
            if end is None or not date(year, 1, 1) <= end <= date(year, 12, 31):
                continue
            s["released_units"] += 1
            later = [start for start, _ in spans if start >= end]
            if later:
                s["relet_units"] += 1
                s["relet_days_total"] += (min(later) - end).days

    tenancy_space: dict[int, int] = {
        int(t): int(sp)
        for t, sp in conn.execute(select(_T.c.id, _T.c.space_id).where(_T.c.space_id.in_(ids)))
    }
    for r in conn.execute(
        select(_R.c.tenancy_id, _R.c.figures, _R.c.grade).where(_R.c.period == year)
    ):
        space_id = tenancy_space.get(r.tenancy_id)
        if space_id is None:
            continue
        s = rows[space_id]
        figures = r.figures or {}
        s["tax_yuan"] += _yuan(figures.get("tax_paid_yuan"))
        s["revenue_yuan"] += _yuan(figures.get("revenue_yuan"))
        if r.grade in s["grades"]:
            s["grades"][r.grade] += 1
    admitted = conn.execute(
        select(_EV.c.tenancy_id).where(
            _EV.c.to_state == ADMITTED, _EV.c.occurred_at >= since, _EV.c.occurred_at < until
        )
    ).scalars()
    for tenancy_id in admitted:
        if tenancy_id in tenancy_space:
            rows[tenancy_space[tenancy_id]]["admitted"] += 1
    for x in conn.execute(
        select(_X.c.tenancy_id, _X.c.exit_type).where(
            _X.c.handed_over_at >= since, _X.c.handed_over_at < until
        )
    ):
        if x.tenancy_id in tenancy_space and x.exit_type in EXIT_TYPES:
            rows[tenancy_space[x.tenancy_id]]["exits"][x.exit_type] += 1

    total = _blank("*", "合计 / total")
    for s in rows.values():
        for key, value in s.items():
            if key in ("space", "name"):
                continue
            if key == "land_uses":
                total[key] = sorted(set(total[key]) | set(value))
            elif isinstance(value, dict):
                for k, v in value.items():
                    total[key][k] = total[key].get(k, 0) + v
            else:
                total[key] += value
    return {
        "year": year,
        "as_of": year_end.isoformat(),
        "spaces": [_finish(s) for s in rows.values()],
        "total": _finish(total),
    }


#: The most years a range of the district view spans after its first.
MAX_YEARS = 20


def years_between(year: int, to_year: int | None) -> list[int]:
    """The years ``year`` through ``to_year`` (``year`` alone when None) the district view is
    asked for, by the API and the console alike: ``to_year`` not before ``year`` and at most
    :data:`MAX_YEARS` after it, else InvalidInput naming ``to_year``."""
    last = year if to_year is None else to_year
    if last < year or last - year > MAX_YEARS:
        raise InvalidInput(
            "to_year",
            f"须不早于起始年份 {year}，且最多晚 {MAX_YEARS} 年 / must not be before the first "
            f"year ({year}), and at most {MAX_YEARS} years after it",
            last,
        )
    return list(range(year, last + 1))


def district_years(
    w: Work, *, years: list[int], space_ids: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """The district view of several years (the trend), oldest first."""
    return [district(w, year=y, space_ids=space_ids) for y in sorted(years)]
