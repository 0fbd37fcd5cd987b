"""Facts about the stocks a dataset holds, for its card. Pure.

`meta/stocks` lists every stock ever seen in the selected markets, delisted ones included, so it
also holds stocks delisted before the first published day, which have no price rows. The card
names both counts, and takes its example code from the stocks that do have rows, so its snippets
return rows on any market (the demo market has no 600000.SH).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from sync.fetch.listed_on_day import DATE_DTYPE, listed_days_per_code

PREFERRED_EXAMPLE = "600000.SH"  # the real dataset's first main-board code: the card's example there


def listed_days(stocks: pa.Table, trading_days: Sequence[dt.date]) -> pd.Series:
    """Per code of `stocks`, on how many of the published `trading_days` it is listed (its rows)."""
    if not trading_days or stocks.num_rows == 0:
        return pd.Series(dtype="int64")
    frame = stocks.select(["code", "list_date", "delist_date"]).to_pandas()
    frame = frame.astype({"list_date": DATE_DTYPE, "delist_date": DATE_DTYPE})
    return listed_days_per_code(frame, trading_days)


def priced_codes(stocks: pa.Table, trading_days: Sequence[dt.date]) -> int:
    """How many codes the price table holds: the stocks listed on at least one published trading day."""
    return int((listed_days(stocks, trading_days) > 0).sum())


def example_code(stocks: pa.Table, trading_days: Sequence[dt.date]) -> str:
    """A code with rows on the newest published day: 600000.SH when it has them, else the first such code."""
    days = listed_days(stocks, trading_days[-1:])
    listed = sorted(days[days > 0].index)
    if PREFERRED_EXAMPLE in listed or not listed:
        return PREFERRED_EXAMPLE
    return str(listed[0])
