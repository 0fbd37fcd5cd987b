"""The Xet bytes-per-delta replay (benchmarks/xet_delta.py) counts what hf_xet really uploads:
a file it already holds costs nothing, and a layout that keeps earlier bytes costs less per day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from benchmarks.xet_delta import replay
from dataset_script.schema import PRICE_SCHEMA
from sync.tables import shards


def month(stocks: int = 2000) -> pa.Table:
    """Random-walk prices for `stocks` codes over March 2024's trading days, other columns null."""
    days = [dt.date(2024, 3, d) for d in (1, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18)]
    rng = np.random.default_rng(1)
    rows = {name: [None] * (len(days) * stocks) for name in PRICE_SCHEMA.names}
    rows["code"] = [f"{600000 + i}.SH" for _ in days for i in range(stocks)]
    rows["date"] = [d for d in days for _ in range(stocks)]
    for name in ("open", "close", "volume", "turnover", "pe", "total_mv"):
        rows[name] = list(np.round(rng.lognormal(3, 1, len(days) * stocks), 2))
    rows["is_paused"] = [False] * (len(days) * stocks)
    return pa.table(rows, schema=PRICE_SCHEMA)


def test_the_same_bytes_twice_upload_nothing_new(tmp_path):
    table = month(50)
    same = replay("same", lambda t: shards.to_parquet(table), table, tmp_path / "cas")
    assert same.new[0] == same.sizes[0] > 0, "the first upload is all new"
    assert same.daily == [0] * (len(same.sizes) - 1)


def test_weekly_row_groups_upload_less_per_day_than_one_row_group(tmp_path):
    table = month()
    one = replay("one", shards.to_parquet, table, tmp_path / "one")
    weekly = replay("weekly", shards.shard_to_parquet, table, tmp_path / "weekly")
    assert sum(weekly.daily) < 0.7 * sum(one.daily)  # the shard is ~8 Xet chunks here: a rough cut only
    assert all(0 < n <= size for n, size in zip(weekly.daily, weekly.sizes[1:], strict=True))
    assert all(0 < grown for grown in weekly.daily_sent), "each day's new chunks and shard reached the CAS"
