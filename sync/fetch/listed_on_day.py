"""Which stocks a dataset holds, and on which trading days each one is listed. Pure.

The listed-on-day rule lives here and nowhere else: a stock is listed on `day` when
`list_date <= day` and, once delisted, `day < delist_date`. The fetch planner counts calls with
it, the transform builds rows with it, and the full sync seeds paused closes with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sync.tushare.apis import board_of

DATE_DTYPE = "datetime64[us]"


def select_stocks(stocks: pd.DataFrame, markets: Sequence[str]) -> pd.DataFrame:
    """stock_basic rows of the selected markets, one per code, with the column names we publish.

    The market is normalised first (`中小板` → `主板`; an empty or unknown label derived from the
    code prefix and exchange), so a legacy label never drops a stock from its board.
    """
    frame = stocks.rename(columns={"ts_code": "code"})
    normalised = [board_of(c, e, m) for c, e, m in zip(frame["code"], frame["exchange"], frame["market"], strict=True)]
    frame = frame.assign(market=pd.Series(normalised, index=frame.index, dtype=frame["market"].dtype))
    chosen = frame[frame["market"].isin(markets)]
    chosen = chosen.astype({"list_date": DATE_DTYPE, "delist_date": DATE_DTYPE})
    return chosen.drop_duplicates("code", keep="last").reset_index(drop=True)


def listed_span(stocks: pd.DataFrame, days: Sequence[dt.date]) -> tuple[np.ndarray, np.ndarray]:
    """Per stock, the index range [first, stop) of the sorted `days` on which it is listed."""
    when = _day_index(days)
    listed = stocks["list_date"].to_numpy(dtype=DATE_DTYPE)
    delisted = stocks["delist_date"].to_numpy(dtype=DATE_DTYPE)
    first = np.searchsorted(when, listed, side="left")  # first day >= list_date
    stop = np.where(np.isnat(delisted), len(when), np.searchsorted(when, delisted, side="left"))  # days < delist
    first = np.where(np.isnat(listed), len(when), first)  # no list date: never listed
    return first, np.maximum(stop, first)


def listed_pairs(days: Sequence[dt.date], stocks: pd.DataFrame) -> pd.DataFrame:
    """(code, date) for every stock listed on each of `days`, ordered by code then date."""
    first, stop = listed_span(stocks, days)
    counts = stop - first
    when = _day_index(days)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return pd.DataFrame(
        {
            "code": np.repeat(stocks["code"].to_numpy(), counts),
            "date": pd.Series(when[np.repeat(first, counts) + offsets], dtype=DATE_DTYPE),
        }
    )


def listed_days_per_code(stocks: pd.DataFrame, days: Sequence[dt.date]) -> pd.Series:
    """Per code, how many of `days` it is listed on."""
    first, stop = listed_span(stocks, days)
    return pd.Series(stop - first, index=stocks["code"].to_numpy())


def listed_codes_per_day(stocks: pd.DataFrame, days: Sequence[dt.date]) -> list[int]:
    """Per day, how many of `stocks` are listed: the rows of one per-day call for the whole market."""
    first, stop = listed_span(stocks, days)
    steps = np.bincount(first, minlength=len(days) + 1) - np.bincount(stop, minlength=len(days) + 1)
    return np.cumsum(steps)[: len(days)].tolist()


def listed_on(stocks: pd.DataFrame, day: dt.date) -> pd.Series:
    """Boolean mask of the stocks listed on `day`."""
    first, stop = listed_span(stocks, [day])
    return pd.Series((first == 0) & (stop == 1), index=stocks.index)


def _day_index(days: Sequence[dt.date]) -> np.ndarray:
    return np.array(pd.to_datetime(list(days)), dtype=DATE_DTYPE)
