"""Meta tables (`meta/stocks.parquet`, `meta/calendar.parquet`, `meta/days.parquet`). Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from dataset_script.schema import CALENDAR_CSV_FIRST, CALENDAR_SCHEMA, COVERAGE_APIS, DAYS_SCHEMA, STOCKS_SCHEMA
from sync.tables.day_status import DayCoverage


def stocks_table(stocks: pd.DataFrame) -> pa.Table:
    """Selected stocks (output of `universe.select_stocks`), sorted by code."""
    frame = stocks.sort_values("code", ignore_index=True)
    return pa.Table.from_pandas(frame[STOCKS_SCHEMA.names], schema=STOCKS_SCHEMA, preserve_index=False)


def calendar_table(trade_cal: pd.DataFrame, start: dt.date) -> pa.Table:
    """SSE calendar days from `start` on (future pre-announced days included), sorted by date."""
    frame = trade_cal.rename(columns={"cal_date": "date", "pretrade_date": "prev_trade_date"})
    frame = frame.astype({"date": "datetime64[us]", "prev_trade_date": "datetime64[us]"})
    frame = frame[frame["date"] >= pd.Timestamp(start)].drop_duplicates("date")
    frame = frame.assign(is_open=frame["is_open"].astype(int) == 1).sort_values("date", ignore_index=True)
    return pa.Table.from_pandas(frame[CALENDAR_SCHEMA.names], schema=CALENDAR_SCHEMA, preserve_index=False)


def calendar_span(
    first: dt.date, today: dt.date, *later: dt.date, calendar_csv: bool = False
) -> tuple[dt.date, dt.date]:
    """The days a run fetches the calendar for (and keeps in `meta/calendar.parquet`): from `first` (from
    2005 when the repo owns the old `calendar.csv`) through 31 December of the current year (`today`,
    Shanghai) or of a later day in `later`. `trade_cal` serves the pre-announced days of the year.

    >>> calendar_span(dt.date(2024, 1, 2), dt.date(2025, 6, 3), calendar_csv=True)
    (datetime.date(2005, 1, 1), datetime.date(2025, 12, 31))
    """
    start = min(first, CALENDAR_CSV_FIRST) if calendar_csv else first
    return start, dt.date(max([today, *later]).year, 12, 31)


def calendar_csv(calendar: pa.Table) -> bytes:
    """The old calendar flow's `calendar.csv` from `meta/calendar.parquet`: header `cal_date`, then one
    `YYYY-MM-DD` line per open day on or after 2005-01-01, through the calendar's last day; LF line ends.
    Pure; the calendar runs to 31 December of the current year (`calendar_span`)."""
    days = [
        d
        for d, is_open in zip(calendar.column("date").to_pylist(), calendar.column("is_open").to_pylist(), strict=True)
        if is_open and d >= CALENDAR_CSV_FIRST
    ]
    return "".join(["cal_date\n", *(f"{d.isoformat()}\n" for d in sorted(days))]).encode()


def trading_days(trade_cal: pd.DataFrame, start: dt.date, end: dt.date) -> list[dt.date]:
    """Open SSE days in [start, end], ascending."""
    opened = pd.to_datetime(trade_cal.loc[trade_cal["is_open"].astype(int) == 1, "cal_date"])
    days = sorted({d.date() for d in opened})
    return [d for d in days if start <= d <= end]


def day_rows(rows: pd.DataFrame, verdicts: Sequence[tuple[DayCoverage, str]]) -> pd.DataFrame:
    """Manifest rows (`meta/days.parquet`) for the judged days, with their rows and paused counts."""
    if not verdicts:
        return pd.DataFrame({f.name: pd.Series(dtype=f.type.to_pandas_dtype()) for f in DAYS_SCHEMA})
    counts = rows.groupby("date").agg(rows=("code", "size"), paused=("is_paused", "sum"))
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime([cov.day for cov, _ in verdicts]).astype("datetime64[us]"),
            "status": [status for _, status in verdicts],
            **{f"coverage_{api}": [cov.coverage.get(api) for cov, _ in verdicts] for api in COVERAGE_APIS},
        }
    )
    frame = frame.merge(counts.reset_index().astype({"date": "datetime64[us]"}), on="date", how="left")
    frame = frame.fillna({"rows": 0, "paused": 0}).astype({"rows": "int64", "paused": "int64"})
    return frame.assign(index_missing=pd.Series([[] for _ in range(len(frame))], index=frame.index, dtype=object))


def days_table(previous: pa.Table | None, fresh: pd.DataFrame, through: dt.date) -> pa.Table:
    """The manifest after a run: `fresh` days replace the previous rows of the same dates; days after
    `through` (the watermark) are dropped; sorted by date."""
    frame = _with_index_missing(fresh)[DAYS_SCHEMA.names]
    if previous is not None and previous.num_rows:
        old = _with_index_missing(previous.to_pandas().astype({"date": "datetime64[us]"}))
        frame = pd.concat([old[~old["date"].isin(frame["date"])], frame], ignore_index=True)
    frame = frame[frame["date"] <= pd.Timestamp(through)].sort_values("date", ignore_index=True)
    return pa.Table.from_pandas(frame[DAYS_SCHEMA.names], schema=DAYS_SCHEMA, preserve_index=False)


def _with_index_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """A manifest from before index_missing existed gains the column, empty (the publish fills it in)."""
    if "index_missing" in frame.columns:
        return frame
    return frame.assign(index_missing=pd.Series([[] for _ in range(len(frame))], index=frame.index, dtype=object))


def days_from_shard(table: pa.Table) -> pd.DataFrame:
    """Manifest rows for days published before the manifest existed: counts from the shard,
    status complete (they passed the old all-interfaces gate), coverage unknown."""
    rows = table.select(["date", "code", "is_paused"]).to_pandas()
    counts = rows.groupby("date").agg(rows=("code", "size"), paused=("is_paused", "sum")).reset_index()
    counts = counts.astype({"date": "datetime64[us]", "rows": "int64", "paused": "int64"}).assign(status="complete")
    for api in COVERAGE_APIS:
        counts[f"coverage_{api}"] = float("nan")
    return counts
