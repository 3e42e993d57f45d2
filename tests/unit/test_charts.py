"""The dashboard's chart geometry: stacked bars add up, scale to a round peak, skip empty days."""

from __future__ import annotations

from datetime import date

from api.web.charts import HEIGHT, TOP, day_range, stacked_bars


def test_bars_stack_per_day_and_scale_to_a_round_peak() -> None:
    days = day_range(date(2026, 3, 10), 3)
    assert days == [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)]
    chart = stacked_bars(
        "c", "Opt-ins", days, {"a · email": {days[0]: 3, days[2]: 1}, "b · sms": {days[0]: 4}}
    )
    assert chart.total == 8
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10"]  # peak 7 rounds up to 10
    first_day = [b for b in chart.bars if b.label.startswith("2026-03-08")]
    assert [b.series for b in first_day] == [0, 1]
    top, bottom = first_day[1], first_day[0]
    assert abs(bottom.y + bottom.height - chart.bottom) < 1e-9  # the first segment sits on the axis
    assert abs(top.y + top.height - bottom.y) < 1e-9  # the next one on top of it
    assert abs((top.height + bottom.height) / (chart.bottom - TOP) - 0.7) < 1e-9
    assert not [b for b in chart.bars if b.label.startswith("2026-03-09")]
    assert all(0 <= b.y <= HEIGHT for b in chart.bars)


def test_an_empty_period_draws_an_axis_and_no_bars() -> None:
    chart = stacked_bars("c", "Opt-outs", day_range(date(2026, 1, 31), 30), {})
    assert chart.bars == [] and chart.total == 0
    assert [t.label for t in chart.y_ticks] == ["0", "1"]
    assert len(chart.x_ticks) == 6
