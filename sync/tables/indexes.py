"""The index tables (`index/prices.parquet`, `index/weights/YYYY.parquet`): rows, merge, checks. Pure.

Fetched frames become dataset rows (`price_rows`, `weight_rows`); `merge` lays a run's fetch over
what the head publishes (a re-fetched range replaces the head's rows of that code; a code no longer
configured is dropped; a new snapshot replaces that snapshot whole); `index_missing` says which
codes lack a bar on each published day after their first; `problems` are the invariants checked
before publishing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd
import pyarrow as pa

from dataset_script.schema import (
    INDEX_PRICES_PATH,
    INDEX_PRICES_SCHEMA,
    INDEX_PRICES_SORT,
    INDEX_WEIGHTS_SCHEMA,
    INDEX_WEIGHTS_SORT,
    WEIGHT_SUM_TOLERANCE,
    index_weights_path,
)
from sync.tables.shards import sha256, to_parquet

WEIGHTS_COLUMN = "index_weights"  # the `column` of a late snapshot's row in meta/changes


@dataclasses.dataclass(frozen=True)
class IndexTables:
    """What a publish writes under index/, and what it says about it."""

    prices: pa.Table
    weights: pa.Table
    codes: tuple[str, ...]  # SYNC_INDEXES of this run
    note: str = ""  # for the run's message: skipped indexes, odd weight sums, late snapshots

    def files(self) -> dict[str, bytes]:
        """index/prices.parquet and one weights file per snapshot year (none when there are no rows)."""
        out = {INDEX_PRICES_PATH: to_parquet(self.prices)} if self.prices.num_rows else {}
        frame = self.weights.to_pandas()
        if len(frame):
            years = pd.to_datetime(frame["date"]).dt.year
            for year in sorted(years.unique()):
                part = pa.Table.from_pandas(frame[years == year], schema=INDEX_WEIGHTS_SCHEMA, preserve_index=False)
                out[index_weights_path(int(year))] = to_parquet(part)
        return out

    def card_facts(self, files: Mapping[str, bytes]) -> dict:
        """The Coverage fields the card shows (dataset_script.card_facts)."""
        named = self.prices.select(["code", "name"]).to_pandas().drop_duplicates("code", keep="last")
        names = dict(zip(named["code"], named["name"], strict=True))
        digest = sha256("".join(sha256(data) for _, data in sorted(files.items())).encode())[:16]
        return {
            "indexes": tuple((code, str(names[code])) for code in self.codes if code in names),
            "index_rows": (self.prices.num_rows, self.weights.num_rows),
            "index_fingerprint": digest,
        }

    def missing(self, days: Sequence[dt.date]) -> dict[dt.date, list[str]]:
        return index_missing(self.prices.to_pandas(), days)


def price_rows(daily: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """index_daily rows (requested fields) → dataset columns (code, date, name, open ... turnover)."""
    frame = pd.DataFrame(
        {
            "code": daily["ts_code"].astype(str),
            "date": pd.to_datetime(daily["trade_date"]).dt.date,
            "name": daily["ts_code"].map(lambda c: names.get(str(c))),
            "open": daily["open"],
            "high": daily["high"],
            "low": daily["low"],
            "close": daily["close"],
            "prev_close": daily["pre_close"],
            "quote_rate": daily["pct_chg"],
            "volume": daily["vol"],
            "turnover": daily["amount"],
        }
    )
    return frame.astype({n: "float64" for n in INDEX_PRICES_SCHEMA.names[3:]})


def weight_rows(weights: pd.DataFrame) -> pd.DataFrame:
    """index_weight rows → dataset columns (index_code, date, code, weight)."""
    return pd.DataFrame(
        {
            "index_code": weights["index_code"].astype(str),
            "date": pd.to_datetime(weights["trade_date"]).dt.date,
            "code": weights["con_code"].astype(str),
            "weight": weights["weight"].astype("float64"),
        }
    )


def merge_prices(
    old: pd.DataFrame | None,
    new: pd.DataFrame,
    codes: Sequence[str],
    refetched: Mapping[str, tuple[dt.date, dt.date]],
    days: Sequence[dt.date],
) -> pd.DataFrame:
    """The head's bars of configured codes outside their re-fetched range, plus the new bars; only
    published trading days (`days`)."""
    parts = [new]
    if old is not None and len(old):
        old = old[old["code"].isin(codes)]
        first = old["code"].map(lambda c: refetched.get(c, (dt.date.max, dt.date.max))[0])
        last = old["code"].map(lambda c: refetched.get(c, (dt.date.max, dt.date.max))[1])
        parts.insert(0, old[~((old["date"] >= first) & (old["date"] <= last))])
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["date"].isin(set(days))]
    return frame.drop_duplicates(["code", "date"], keep="last").sort_values(["date", "code"], ignore_index=True)


def merge_weights(old: pd.DataFrame | None, new: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """The head's snapshots of configured codes, each one the fetch answered replaced whole."""
    if old is None or not len(old):
        frame = new
    else:
        old = old[old["index_code"].isin(codes)]
        answered = set(zip(new["index_code"], new["date"]))
        kept = [key not in answered for key in zip(old["index_code"], old["date"])]
        frame = pd.concat([old[kept], new], ignore_index=True)
    frame = frame.drop_duplicates(["index_code", "date", "code"], keep="last")
    return frame.sort_values(["date", "index_code", "code"], ignore_index=True)


def late_snapshots(old: pd.DataFrame | None, new: pd.DataFrame, published_through: dt.date | None) -> list:
    """(index code, snapshot date, members) of snapshots new to the dataset yet dated on or before
    `published_through` (the previous watermark) for an index it already published."""
    if old is None or not len(old) or published_through is None:
        return []
    known = set(zip(old["index_code"], old["date"]))
    had = set(old["index_code"])
    sizes = new.groupby(["index_code", "date"]).size()
    keys: list[tuple[str, dt.date]] = list(sizes.index)
    return [
        (code, day, int(n))
        for (code, day), n in zip(keys, sizes.to_numpy(), strict=True)
        if code in had and (code, day) not in known and day <= published_through
    ]


def late_changes(late: list, run_id: str) -> pd.DataFrame:
    """meta/changes rows for late snapshots: code = the index, column = index_weights."""
    return pd.DataFrame(
        {
            "code": [code for code, _, _ in late],
            "date": [day for _, day, _ in late],
            "column": WEIGHTS_COLUMN,
            "old_value": float("nan"),
            "new_value": float("nan"),
            "old_text": None,
            "new_text": [f"snapshot of {n} members, published late" for _, _, n in late],
            "run_id": run_id,
        }
    )


def odd_sums(weights: pd.DataFrame) -> list[str]:
    """Snapshots whose weights sum outside 100 ± WEIGHT_SUM_TOLERANCE, as 'CODE YYYY-MM-DD (sum)'."""
    if not len(weights):
        return []
    sums = weights.groupby(["index_code", "date"])["weight"].sum()
    odd = sums[(sums - 100).abs() > WEIGHT_SUM_TOLERANCE]
    keys: list[tuple[str, dt.date]] = list(odd.index)
    return [f"{code} {day.isoformat()} ({total:.2f})" for (code, day), total in zip(keys, odd.to_numpy(), strict=True)]


def index_missing(prices: pd.DataFrame, days: Sequence[dt.date]) -> dict[dt.date, list[str]]:
    """Per published day, the codes without a bar on it after their first bar (sorted)."""
    if not len(prices):
        return {}
    have = set(zip(prices["code"], prices["date"]))
    first_bar = prices.groupby("code")["date"].min()
    first: dict[str, dt.date] = dict(zip(map(str, first_bar.index), first_bar.to_numpy(), strict=True))
    out: dict[dt.date, list[str]] = {}
    for day in days:
        lacking = sorted(code for code, since in first.items() if since < day and (code, day) not in have)
        if lacking:
            out[day] = lacking
    return out


def to_tables(prices: pd.DataFrame, weights: pd.DataFrame) -> tuple[pa.Table, pa.Table]:
    price_table = pa.Table.from_pandas(
        prices[INDEX_PRICES_SCHEMA.names], schema=INDEX_PRICES_SCHEMA, preserve_index=False
    )
    weight_table = pa.Table.from_pandas(
        weights[INDEX_WEIGHTS_SCHEMA.names], schema=INDEX_WEIGHTS_SCHEMA, preserve_index=False
    )
    return price_table.sort_by(INDEX_PRICES_SORT), weight_table.sort_by(INDEX_WEIGHTS_SORT)


def problems(tables: IndexTables, days: Sequence[dt.date]) -> list[str]:
    """The index tables' invariants: sorted, unique keys, no null keys, configured codes only, bars
    on published trading days only."""
    out = []
    for label, table, keys, sort in (
        ("index_prices", tables.prices, ["code", "date"], INDEX_PRICES_SORT),
        ("index_weights", tables.weights, ["index_code", "date", "code"], INDEX_WEIGHTS_SORT),
    ):
        frame = table.select(keys).to_pandas()
        if frame.isna().any().any():
            out.append(f"{label}: null keys")
        if frame.duplicated(keys).any():
            out.append(f"{label}: {int(frame.duplicated(keys).sum())} duplicate {tuple(keys)}")
        if not table.equals(table.sort_by(sort)):
            out.append(f"{label}: not sorted by {tuple(k for k, _ in sort)}")
        strangers = set(frame[keys[0]]) - set(tables.codes)
        if strangers:
            out.append(f"{label}: codes not in SYNC_INDEXES: {sorted(strangers)[:3]}")
    off = set(tables.prices.column("date").to_pylist()) - set(days)
    if off:
        out.append(f"index_prices: bars on {len(off)} day(s) that are not published trading days, first {min(off)}")
    return out


def with_index_missing(days: pa.Table, missing: Mapping[dt.date, list[str]]) -> pa.Table:
    """meta/days with its index_missing column set from `missing` (other days: an empty list)."""
    column = pa.array([missing.get(d, []) for d in days.column("date").to_pylist()], type=pa.list_(pa.string()))
    return days.set_column(days.schema.get_field_index("index_missing"), "index_missing", column)
