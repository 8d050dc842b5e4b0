"""Per-亩 figures use the 亩 exactly (10,000 / 15 m²): a space on 40,000 m² stands on 60 亩,
and 1,000,000 元 of revenue there is 16,666.67 元 per 亩, the figure a reader checks by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from workflows.queries_district import _blank, _finish


def test_per_mu_figures_divide_by_the_exact_mu() -> None:
    s: dict[str, Any] = _blank("HXP", "华西片区")
    s["land_area_m2"] = 40_000.0
    s["revenue_yuan"] = Decimal("1000000")
    s["tax_yuan"] = Decimal("340000")
    done = _finish(s)
    assert done["land_area_mu"] == 60.0
    assert done["revenue_per_mu"] == 16666.67  # not 16,666.75 (÷ 666.67 m²)
    assert done["tax_per_mu"] == 5666.67
