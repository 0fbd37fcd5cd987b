"""Pure transform: Tushare frames for some trading days → canonical price rows.

No HTTP, no files, no clock: every input is passed in. Frames are the typed frames of
`TushareClient.query` (dates as datetime64, numbers as float64).

Row rule (docs/dataset.md#row-rule): for every trading day and every selected stock listed on that day, one
row. A stock without a daily bar that day is paused: its prices are the last close before the
day, its volume, turnover and quote_rate are 0. A stock that has never traded in our data yet
has no paused rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from dataset_script.schema import DAILY_BASIC_COLUMNS, PRICE_SCHEMA
from sync.fetch.frames import DayFrames
from sync.fetch.listed_on_day import listed_pairs

ST_PREFIXES = ("ST", "*ST", "SST", "S*ST")
STOCK_ATTRIBUTES = ("area", "industry", "market", "exchange", "list_date")
CARRY_COLUMNS = ("code", "close", "adj_factor")
FLOAT_COLUMNS = tuple(f.name for f in PRICE_SCHEMA if f.type == pa.float64())


def point_in_time_names(rows: pd.DataFrame, names: pd.DataFrame, current: pd.Series) -> pd.Series:
    """The short name in force on each row's date.

    namechange rows are (code, name, start_date, ...); the name with the latest start_date on or
    before the date wins (ties: the latest announcement). Before any recorded change the current
    stock_basic name is used.
    """
    history = names.rename(columns={"ts_code": "code"})[["code", "name", "start_date", "ann_date"]]
    history = history.dropna(subset=["start_date"]).sort_values(["start_date", "ann_date"])
    history = history.drop_duplicates(["code", "start_date"], keep="last")
    history = history.astype({"start_date": rows["date"].dtype, "code": "str", "name": "str"})
    left = rows[["code", "date"]].astype({"code": "str"}).reset_index().sort_values("date")
    matched = pd.merge_asof(
        left, history, left_on="date", right_on="start_date", by="code", direction="backward"
    ).set_index("index")["name"]
    fallback = rows["code"].map(current)
    return matched.reindex(rows.index).fillna(fallback)


def canonical_rows(
    days: Sequence[dt.date], stocks: pd.DataFrame, names: pd.DataFrame, frames: DayFrames, carry: pd.DataFrame
) -> pd.DataFrame:
    """Canonical rows for `days`, sorted by (date, code), columns as PRICE_SCHEMA.

    `stocks` is the output of `universe.select_stocks`; `carry` holds (code, close, adj_factor) as of the
    trading day before `days[0]` (empty for the very first day of the dataset).
    """
    rows = listed_pairs(days, stocks)
    rows = rows.merge(_bars(frames.daily), on=["code", "date"], how="left")
    rows["is_paused"] = rows["close"].isna()
    rows = rows.merge(_limits(frames.stk_limit), on=["code", "date"], how="left")
    rows = rows.merge(_basics(frames.daily_basic), on=["code", "date"], how="left")
    rows = rows.merge(_factors(frames.adj_factor), on=["code", "date"], how="left")
    rows = _fill_paused(rows, carry)
    rows = rows.astype({c: "float64" for c in FLOAT_COLUMNS if c in rows.columns})
    attributes = stocks.set_index("code")
    for column in STOCK_ATTRIBUTES:
        rows[column] = rows["code"].map(attributes[column])
    rows["name"] = point_in_time_names(rows, names, attributes["name"])
    rows["is_st"] = rows["name"].fillna("").str.startswith(ST_PREFIXES).astype(bool)
    # turnover is in 千元 and volume in 手 (100 shares): CNY per share = turnover * 1000 / (volume * 100).
    rows["avg_price"] = (rows["turnover"] * 10 / rows["volume"]).where(rows["volume"] > 0)
    rows = rows.sort_values(["date", "code"], ignore_index=True)
    return rows[PRICE_SCHEMA.names]


def carry_from(rows: pd.DataFrame) -> pd.DataFrame:
    """(code, close, adj_factor) of each code's last row: what the next batch carries forward."""
    last = rows.sort_values(["code", "date"]).drop_duplicates("code", keep="last")
    return last[list(CARRY_COLUMNS)].reset_index(drop=True)


def to_table(rows: pd.DataFrame) -> pa.Table:
    """Canonical rows → an Arrow table with exactly PRICE_SCHEMA."""
    return pa.Table.from_pandas(rows, schema=PRICE_SCHEMA, preserve_index=False)


def empty_carry() -> pd.DataFrame:
    return pd.DataFrame(
        {"code": pd.Series(dtype=str), "close": pd.Series(dtype=float), "adj_factor": pd.Series(dtype=float)}
    )


def _fill_paused(rows: pd.DataFrame, carry: pd.DataFrame) -> pd.DataFrame:
    """Carry the last close (and adj_factor) into paused rows; drop never-traded rows."""
    seed = carry[carry["code"].isin(rows["code"])].assign(date=pd.Timestamp.min, seed=True)
    seed = seed.astype({"date": rows["date"].dtype})
    both = pd.concat([seed, rows.assign(seed=False)], ignore_index=True)
    both = both.sort_values(["code", "date"], kind="stable", ignore_index=True)
    by_code = both.groupby("code", sort=False)
    last_close = by_code["close"].ffill()
    both["adj_factor"] = by_code["adj_factor"].ffill()
    paused = both["is_paused"].eq(True)
    for column in ("open", "high", "low", "close", "prev_close"):
        both.loc[paused, column] = last_close[paused]
    for column in ("volume", "turnover", "quote_rate"):
        both.loc[paused, column] = 0.0
    keep = ~both["seed"].astype(bool) & both["close"].notna()
    return both[keep].drop(columns="seed").reset_index(drop=True)


def _bars(daily: pd.DataFrame) -> pd.DataFrame:
    renamed = daily.rename(
        columns={
            "ts_code": "code",
            "trade_date": "date",
            "pre_close": "prev_close",
            "pct_chg": "quote_rate",
            "vol": "volume",
            "amount": "turnover",
        }
    )
    columns = ["code", "date", "open", "high", "low", "close", "prev_close", "quote_rate", "volume", "turnover"]
    return _unique(renamed[columns])


def _limits(stk_limit: pd.DataFrame) -> pd.DataFrame:
    renamed = stk_limit.rename(
        columns={"ts_code": "code", "trade_date": "date", "up_limit": "high_limit", "down_limit": "low_limit"}
    )
    return _unique(renamed[["code", "date", "high_limit", "low_limit"]])


def _basics(daily_basic: pd.DataFrame) -> pd.DataFrame:
    renamed = daily_basic.rename(columns={"ts_code": "code", "trade_date": "date"})
    return _unique(renamed[["code", "date", *DAILY_BASIC_COLUMNS]])


def _factors(adj_factor: pd.DataFrame) -> pd.DataFrame:
    renamed = adj_factor.rename(columns={"ts_code": "code", "trade_date": "date"})
    return _unique(renamed[["code", "date", "adj_factor"]])


def _unique(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (code, date): the API can repeat a row across pages if data moves under it."""
    frame = frame.astype({"date": "datetime64[us]"})
    return frame.drop_duplicates(["code", "date"], keep="last")
