"""Monthly shards: split, merge, serialise and check the dataset invariants.

Pure functions over Arrow tables and bytes; the run module does the reading and publishing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_script.schema import PRICE_SCHEMA, SORT_KEYS, from_published, shard_month, shard_path, to_published


def split_by_month(table: pa.Table) -> dict[str, pa.Table]:
    """Rows grouped into their shard paths (`data/YYYY/YYYY-MM.parquet`)."""
    if table.num_rows == 0:
        return {}
    dates = table.column("date").to_pylist()
    paths = pa.array([shard_path(d) for d in dates])
    shards = {}
    for path in pc.unique(paths).to_pylist():
        shards[path] = table.filter(pc.equal(paths, path))
    return shards


def merge_shard(existing: pa.Table | None, fresh: pa.Table, replaced_dates: Iterable[dt.date]) -> pa.Table:
    """A month's rows after a run: rows of re-fetched dates replaced, all others kept; sorted.

    `replaced_dates` are the days this run fetched completely; old rows of those days go away even
    when the new data no longer has them (e.g. a stock that was wrongly listed).
    """
    parts = [fresh]
    if existing is not None and existing.num_rows:
        drop = pa.array(sorted(set(replaced_dates)), type=pa.date32())
        parts.insert(0, existing.filter(pc.invert(pc.is_in(existing.column("date"), value_set=drop))))
    merged = pa.concat_tables([p.select(PRICE_SCHEMA.names).cast(PRICE_SCHEMA) for p in parts])
    return merged.sort_by(SORT_KEYS)


# Encodings by what the values are (measured per column on full-market months; BENCHMARKS.md §3).
# Prices, limits, share counts, adj_factor, strings and dates repeat within a month: dictionary.
# Rates, valuations, turnover and market values are nearly all distinct: plain (a dictionary of
# distinct values only adds indices). volume and avg_price (a full-precision quotient) compress best
# byte-stream split, which lines up their exponent and high mantissa bytes for zstd.
PLAIN_COLUMNS = frozenset(
    {
        "quote_rate",
        "turnover",
        "turnover_rate",
        "turnover_rate_f",
        "pe",
        "pe_ttm",
        "pb",
        "ps",
        "ps_ttm",
        "dv_ratio",
        "dv_ttm",
        "total_mv",
        "circ_mv",
    }
)
SPLIT_COLUMNS = frozenset({"volume", "avg_price"})
ZSTD_LEVEL = 3
# A monthly shard: one row group per ISO week, at zstd level 5 (BENCHMARKS.md §7). On the Hub's
# Xet storage a daily rewrite then uploads about the current week's row group (1.5 MB a day on a
# full-market month, against 3.5 MB with one row group), for a file 6% larger.
SHARD_ZSTD_LEVEL = 5


def iso_week(day: dt.date) -> tuple[int, int]:
    """A shard's row group: the ISO (year, week) of its date, i.e. one trading week."""
    year, week, _ = day.isocalendar()
    return year, week


def shard_to_parquet(table: pa.Table, *, row_group_key: Callable[[dt.date], object] | None = iso_week) -> bytes:
    """A monthly shard's bytes (`to_parquet`, one row group per `row_group_key` of the date).

    Rows are sorted by (date, code), so a delta that adds a day changes only the last row group,
    and every earlier one keeps its bytes. `row_group_key` is there for the benchmarks (None: one
    row group); the dataset always groups by ISO week.
    """
    return to_parquet(table, SHARD_ZSTD_LEVEL, row_group_key=row_group_key)


def to_parquet(
    table: pa.Table,
    zstd_level: int = ZSTD_LEVEL,
    *,
    content_defined_chunking: bool = True,
    row_group_key: Callable[[dt.date], object] | None = None,
) -> bytes:
    """Deterministic Parquet bytes: zstd, per-column encodings, page index, content-defined chunking.

    Dates are written as timestamps (`dataset_script.schema.to_published`). One row group, or one
    per `row_group_key` of the `date` column (rows sorted by date; `shard_to_parquet`).
    Content-defined chunking keeps page boundaries where the values stay the same, but a row group
    that gains rows changes in every column chunk (its dictionary, its last pages): on the Hub's
    Xet storage a daily rewrite of a full-market month in one row group uploads about two thirds of
    the file again, not only the new day (BENCHMARKS.md §7). `zstd_level` and
    `content_defined_chunking` are there for the benchmarks.
    """
    bounds = _group_bounds(table, row_group_key)
    table = to_published(table)
    names = table.schema.names
    floats = {f.name for f in table.schema if pa.types.is_floating(f.type)}  # a damaged table may hold others
    encodings = {name: "PLAIN" for name in names if name in PLAIN_COLUMNS & floats}
    encodings |= {name: "BYTE_STREAM_SPLIT" for name in names if name in SPLIT_COLUMNS & floats}
    table = table.replace_schema_metadata(None)  # no pandas metadata: same rows, same bytes
    sink = io.BytesIO()
    with pq.ParquetWriter(
        sink,
        table.schema,
        compression="zstd",
        compression_level=zstd_level,
        use_dictionary=[name for name in names if name not in encodings],
        column_encoding=encodings or None,
        write_page_index=True,
        use_content_defined_chunking=content_defined_chunking,
        write_statistics=True,
    ) as writer:
        for offset, length in bounds:
            writer.write_table(table.slice(offset, length), row_group_size=max(length, 1))
    return sink.getvalue()


def _group_bounds(table: pa.Table, key: Callable[[dt.date], object] | None) -> list[tuple[int, int]]:
    """(offset, length) of consecutive rows sharing a key of their date; one slice for all rows when
    `key` is None or the dates are not clean dates sorted by key (a damaged table: shard_problems names it)."""
    whole = [(0, table.num_rows)]
    if key is None or table.num_rows == 0 or "date" not in table.schema.names:
        return whole
    dates = table.column("date")
    if not pa.types.is_date32(dates.type) or dates.null_count:
        return whole
    days = dates.to_pylist()
    if any(a > b for a, b in zip(days, days[1:], strict=False)):
        return whole
    keys = [key(d) for d in days]
    starts = [0] + [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]]
    return [(a, b - a) for a, b in zip(starts, [*starts[1:], len(keys)], strict=True)]


def from_parquet(data: bytes) -> pa.Table:
    """A published file in memory form (dates as date32; see `dataset_script.schema.from_published`)."""
    return from_published(pq.read_table(io.BytesIO(data)))


def published_nbytes(table: pa.Table) -> int:
    """The Arrow size in memory of `table` as it is published (what `datasets` loads)."""
    return to_published(table).nbytes


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shard_problems(path: str, table: pa.Table) -> list[str]:
    """Invariant violations inside one shard: schema, month, sort order, unique (code, date)."""
    problems = []
    if table.schema.remove_metadata() != PRICE_SCHEMA:
        problems.append(f"{path}: columns or types differ from the contract")
        return problems
    month = shard_month(path)
    if month is None:
        problems.append(f"{path}: not a shard path (data/YYYY/YYYY-MM.parquet)")
        return problems
    if table.num_rows == 0:
        problems.append(f"{path}: empty shard")
        return problems
    dates = table.column("date")
    if pc.any(pc.is_null(dates)).as_py() or pc.any(pc.is_null(table.column("code"))).as_py():
        problems.append(f"{path}: null code or date")
        return problems
    days = pc.unique(dates).to_pylist()
    if any((d.year, d.month) != month for d in days):
        problems.append(f"{path}: holds rows outside {month[0]:04d}-{month[1]:02d}")
    if not table.equals(table.sort_by(SORT_KEYS)):
        problems.append(f"{path}: rows are not sorted by (date, code)")
    keys = table.group_by(["code", "date"]).aggregate([([], "count_all")])
    if keys.num_rows != table.num_rows:
        problems.append(f"{path}: {table.num_rows - keys.num_rows} duplicate (code, date) rows")
    return problems


def coverage_problems(
    days_by_shard: Mapping[str, Sequence[dt.date]], trading_days: Sequence[dt.date], watermark: dt.date
) -> list[str]:
    """Every trading day from the first one up to the watermark present; nothing after it.

    `trading_days` are the SSE trading days from the dataset's first day through the watermark.
    """
    present = {d for days in days_by_shard.values() for d in days}
    expected = [d for d in trading_days if d <= watermark]
    problems = []
    missing = [d for d in expected if d not in present]
    if missing:
        shown = ", ".join(d.isoformat() for d in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        problems.append(f"trading days missing before the watermark {watermark.isoformat()}: {shown}{more}")
    late = sorted(d for d in present if d > watermark)
    if late:
        problems.append(f"rows after the watermark {watermark.isoformat()}: first {late[0].isoformat()}")
    closed = sorted(present - set(trading_days) - set(late))
    if closed:
        problems.append(f"rows on non-trading days: first {closed[0].isoformat()}")
    return problems


def shard_days(table: pa.Table) -> list[dt.date]:
    return sorted(pc.unique(table.column("date")).to_pylist())
