"""The old calendar.csv from meta/calendar.parquet, and the span of days a run keeps in the calendar."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sync.tables.meta import calendar_csv, calendar_span, calendar_table

D = dt.date


def trade_cal(days: dict[str, int]) -> pd.DataFrame:
    """trade_cal wire rows, newest first as Tushare sends them."""
    rows = [{"exchange": "SSE", "cal_date": d, "is_open": o, "pretrade_date": None} for d, o in days.items()]
    return pd.DataFrame(rows[::-1])


CAL = trade_cal(
    {
        "20041231": 1,
        "20050101": 0,
        "20050103": 0,  # a holiday Monday
        "20050104": 1,
        "20250102": 1,
        "20251231": 1,
    }
)


def test_calendar_csv_is_the_old_flow_s_format_from_2005_on():
    data = calendar_csv(calendar_table(CAL, D(2004, 12, 1)))
    assert data == b"cal_date\n2005-01-04\n2025-01-02\n2025-12-31\n"  # no 2004 day, no closed day, LF


def test_calendar_span_runs_to_the_end_of_the_current_year_and_from_2005_for_calendar_csv():
    assert calendar_span(D(2024, 1, 2), D(2025, 1, 1)) == (D(2024, 1, 2), D(2025, 12, 31))
    assert calendar_span(D(2024, 1, 2), D(2025, 1, 1), calendar_csv=True) == (D(2005, 1, 1), D(2025, 12, 31))
    assert calendar_span(D(2000, 1, 4), D(2024, 6, 3), calendar_csv=True) == (D(2000, 1, 4), D(2024, 12, 31))
    # a pinned clock before the watermark (a replay) still covers the watermark's year
    assert calendar_span(D(2024, 1, 2), D(2024, 12, 30), D(2025, 1, 2)) == (D(2024, 1, 2), D(2025, 12, 31))
