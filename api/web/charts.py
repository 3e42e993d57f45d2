"""Stacked bar charts as geometry for the dashboard's server-drawn SVG (no script, no inline style).

`stacked_bars` turns counts per day and series into bars, axis ticks and a legend; the template
`console/_chart.html` draws them, with the same numbers as a table for screen readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

WIDTH, HEIGHT = 600, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 14, 34
PALETTE_SIZE = 8  # classes s0…s7 in app.css


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    label: str


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(slots=True)
class Chart:
    id: str
    title: str
    days: list[date]
    series: list[str]
    counts: dict[str, dict[date, int]]
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM

    @property
    def total(self) -> int:
        return sum(sum(per_day.values()) for per_day in self.counts.values())

    def count(self, name: str, day: date) -> int:
        return self.counts.get(name, {}).get(day, 0)


def day_range(last: date, days: int) -> list[date]:
    return [last - timedelta(days=days - 1 - n) for n in range(days)]


def _nice_ceiling(value: int) -> int:
    """1, 2, 5, 10, 20, 50 … at or above `value` (at least 1), so ticks read as round numbers."""
    if value <= 1:
        return 1
    magnitude: int = 10 ** (len(str(value)) - 1)  # the power of ten at or below `value`
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def stacked_bars(chart_id: str, title: str, days: list[date], counts: dict[str, dict[date, int]]) -> Chart:
    """One bar per day, one coloured segment per series (series in the order given)."""
    series = list(counts)
    chart = Chart(chart_id, title, days, series, counts)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = _nice_ceiling(max((sum(counts[s].get(d, 0) for s in series) for d in days), default=0))
    slot = plot_w / max(len(days), 1)
    for n, day in enumerate(days):
        base = float(chart.bottom)
        for index, name in enumerate(series):
            value = counts[name].get(day, 0)
            if not value:
                continue
            height = value / peak * plot_h
            base -= height
            label = f"{day.isoformat()} · {name}: {value}"
            chart.bars.append(
                Bar(LEFT + n * slot + slot * 0.15, base, slot * 0.7, height, index % PALETTE_SIZE, label)
            )
    chart.y_ticks = [Tick(chart.bottom - v / peak * plot_h, str(v)) for v in sorted({0, peak // 2, peak})]
    every = max(1, math.ceil(len(days) / 6))
    chart.x_ticks = [
        Tick(LEFT + n * slot + slot / 2, day.strftime("%m-%d"))
        for n, day in enumerate(days)
        if n % every == 0
    ]
    return chart
