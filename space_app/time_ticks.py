"""Tick marks for a time axis whose points may span minutes or years. Pure.

Plotly picks tick positions by itself; a fixed date-only `tickformat` then prints the same day on
every tick when the runs fall within a day or two (ticks every few hours). Here the step is chosen
from the span, and the label says as much as the step needs: the time within a day, the day
beyond, the month beyond a month. Every label differs from its neighbours.

    >>> first = pd.Timestamp("2024-04-12 21:00", tz="Asia/Shanghai")
    >>> time_ticks(first, first + pd.Timedelta(hours=5))[1]
    ['04-12 21:00', '04-12 22:00', '04-12 23:00', '04-13 00:00', '04-13 01:00', '04-13 02:00']
"""

from __future__ import annotations

import pandas as pd

# (step, label format), smallest first
STEPS: tuple[tuple[pd.Timedelta, str], ...] = tuple(
    (pd.Timedelta(step), label)
    for step, label in (
        ("10min", "%m-%d %H:%M"),
        ("30min", "%m-%d %H:%M"),
        ("1h", "%m-%d %H:%M"),
        ("3h", "%m-%d %H:%M"),
        ("6h", "%m-%d %H:%M"),
        ("12h", "%m-%d %H:%M"),
        ("1D", "%Y-%m-%d"),
        ("2D", "%Y-%m-%d"),
        ("7D", "%Y-%m-%d"),
        ("14D", "%Y-%m-%d"),
    )
)
MONTHS = (1, 2, 3, 6, 12)  # month steps beyond two weeks


def time_ticks(first: pd.Timestamp, last: pd.Timestamp, most: int = 8) -> tuple[list[pd.Timestamp], list[str]]:
    """At most `most` tick positions covering [first, last], and their labels."""
    span = last - first
    for step, label in STEPS:
        if span / step > most:
            continue  # far too many
        start = first.floor(step) if step <= pd.Timedelta("1D") else first.floor("1D")
        ticks = _within(list(pd.date_range(start, last + step, freq=step)), first, last)
        if len(ticks) <= most:
            return ticks, [t.strftime(label) for t in ticks]
    months = next((m for m in MONTHS if span <= pd.Timedelta(days=31 * m) * (most - 1)), None)
    if months is None:  # decades: years
        years = max(1, int(span.days / 365 / (most - 1)) + 1)
        ticks = list(pd.date_range(first.floor("1D").replace(month=1, day=1), last, freq=f"{years}YS"))
        return ticks, [t.strftime("%Y") for t in ticks]
    start = first.floor("1D").replace(day=1)
    ticks = list(pd.date_range(start, last, freq=f"{months}MS"))
    return ticks, [t.strftime("%Y-%m") for t in ticks]


def _within(ticks: list[pd.Timestamp], first: pd.Timestamp, last: pd.Timestamp) -> list[pd.Timestamp]:
    """The ticks from the last one at or before `first` to the first one at or after `last`."""
    lo = max([i for i, t in enumerate(ticks) if t <= first], default=0)
    hi = min([i for i, t in enumerate(ticks) if t >= last], default=len(ticks) - 1)
    return ticks[lo : hi + 1]
