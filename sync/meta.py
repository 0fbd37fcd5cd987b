"""Meta tables (`meta/stocks.parquet`, `meta/calendar.parquet`) from Tushare frames. Pure."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

from dataset_script.schema import CALENDAR_SCHEMA, STOCKS_SCHEMA


def stocks_table(stocks: pd.DataFrame) -> pa.Table:
    """Selected stocks (output of `transform.select_stocks`), sorted by code."""
    frame = stocks.sort_values("code", ignore_index=True)
    return pa.Table.from_pandas(frame[STOCKS_SCHEMA.names], schema=STOCKS_SCHEMA, preserve_index=False)


def calendar_table(trade_cal: pd.DataFrame, start: dt.date) -> pa.Table:
    """SSE calendar days from `start` on (future pre-announced days included), sorted by date."""
    frame = trade_cal.rename(columns={"cal_date": "date", "pretrade_date": "prev_trade_date"})
    frame = frame.astype({"date": "datetime64[us]", "prev_trade_date": "datetime64[us]"})
    frame = frame[frame["date"] >= pd.Timestamp(start)].drop_duplicates("date")
    frame = frame.assign(is_open=frame["is_open"].astype(int) == 1).sort_values("date", ignore_index=True)
    return pa.Table.from_pandas(frame[CALENDAR_SCHEMA.names], schema=CALENDAR_SCHEMA, preserve_index=False)


def trading_days(trade_cal: pd.DataFrame, start: dt.date, end: dt.date) -> list[dt.date]:
    """Open SSE days in [start, end], ascending."""
    days = pd.to_datetime(trade_cal.loc[trade_cal["is_open"].astype(int) == 1, "cal_date"])
    days = sorted({d.date() for d in days})
    return [d for d in days if start <= d <= end]
