"""ECharts options for the dashboard (``<div class="chart" data-option='…'>``, drawn by
``static/app.js``): plain bars and a pie, in the console's colours. Each chart is shown with
its numbers in a table beside it, so nothing depends on the chart being drawn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PALETTE = ["#0b5cad", "#9fb3c8", "#1f7a3a", "#a15c00", "#b42318", "#616e7c"]


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    second: Sequence[float] | None = None,
    names: tuple[str, str] = ("", ""),
    horizontal: bool = False,
    stacked: bool = False,
) -> dict[str, Any]:
    category = {"type": "category", "data": list(labels), "axisLabel": {"interval": 0}}
    value = {"type": "value", "minInterval": 1}
    series: list[dict[str, Any]] = [
        {"type": "bar", "name": names[0], "data": list(values), "barMaxWidth": 36}
    ]
    if second is not None:
        series.append({"type": "bar", "name": names[1], "data": list(second), "barMaxWidth": 36})
    if stacked:
        for s in series:
            s["stack"] = "total"
    option: dict[str, Any] = {
        "color": PALETTE,
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 16, "top": 24, "bottom": 8, "containLabel": True},
        "xAxis": value if horizontal else category,
        "yAxis": category if horizontal else value,
        "series": series,
    }
    if second is not None:
        option["legend"] = {"top": 0}
    return option


def pie(parts: Sequence[tuple[str, int]]) -> dict[str, Any]:
    return {
        "color": [PALETTE[1], PALETTE[0], PALETTE[2]],
        "animation": False,
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["40%", "70%"],
                "data": [{"name": n, "value": v} for n, v in parts],
                "label": {"formatter": "{b}: {c}"},
            }
        ],
    }
