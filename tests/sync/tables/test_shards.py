"""Shard merging, serialisation and the per-shard invariants (the commit plan is in tests/sync/publish/test_plan.py)."""

import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq

from dataset_script.schema import shard_month, shard_path
from sync.tables.shards import (
    coverage_problems,
    from_parquet,
    merge_shard,
    shard_problems,
    shard_to_parquet,
    split_by_month,
    to_parquet,
)
from tests.support.tables import FEB1, JAN2, JAN3, JAN31, table


def test_shard_path_is_zero_padded_per_month_and_round_trips():
    assert shard_path(dt.date(2024, 3, 9)) == "data/2024/2024-03.parquet"
    assert shard_month("data/2024/2024-03.parquet") == (2024, 3)
    assert shard_month("data/2023/2024-03.parquet") is None
    assert shard_month("meta/stocks.parquet") is None


def test_split_by_month_crosses_the_year_boundary():
    shards = split_by_month(table([("A", dt.date(2023, 12, 29), 1), ("A", dt.date(2024, 1, 2), 2)]))
    assert sorted(shards) == ["data/2023/2023-12.parquet", "data/2024/2024-01.parquet"]


def test_merge_replaces_refetched_days_and_keeps_the_others_sorted():
    old = table([("B", JAN2, 1), ("A", JAN2, 1), ("A", JAN3, 5), ("GONE", JAN3, 9)])
    fresh = table([("A", JAN3, 6), ("B", JAN3, 7)])
    merged = merge_shard(old, fresh, [JAN3])
    assert [(r["code"], r["date"], r["close"]) for r in merged.select(["code", "date", "close"]).to_pylist()] == [
        ("A", JAN2, 1.0),
        ("B", JAN2, 1.0),
        ("A", JAN3, 6.0),
        ("B", JAN3, 7.0),
    ]


def test_parquet_bytes_are_deterministic_and_round_trip():
    shard = table([("A", JAN2, 1), ("B", JAN2, 2)])
    assert to_parquet(shard) == to_parquet(shard)
    assert from_parquet(to_parquet(shard)).equals(shard)


def test_shard_problems_catch_disorder_duplicates_and_foreign_months():
    path = "data/2024/2024-01.parquet"
    assert shard_problems(path, table([("A", JAN2, 1), ("B", JAN2, 1)])) == []
    assert any("not sorted" in p for p in shard_problems(path, table([("B", JAN2, 1), ("A", JAN2, 1)])))
    assert any("duplicate" in p for p in shard_problems(path, table([("A", JAN2, 1), ("A", JAN2, 2)])))
    assert any("outside 2024-01" in p for p in shard_problems(path, table([("A", JAN2, 1), ("A", FEB1, 1)])))


def test_coverage_problems_name_missing_days_and_rows_past_the_watermark():
    days = [JAN2, JAN3, JAN31]
    assert coverage_problems({"x": [JAN2, JAN3, JAN31]}, days, JAN31) == []
    assert "2024-01-03" in coverage_problems({"x": [JAN2, JAN31]}, days, JAN31)[0]
    assert "after the watermark" in coverage_problems({"x": [JAN2, JAN3, JAN31]}, days, JAN3)[0]


def test_to_parquet_writes_a_table_whose_columns_have_other_types():
    # verify and the damage tests must be able to write (and read back) a shard with a wrong type
    table = pa.table({"code": ["600000.SH"], "volume": ["12.5"], "avg_price": pa.array([None], pa.string())})
    assert from_parquet(to_parquet(table)).equals(table)


# -- the shard layout: one row group per ISO week (BENCHMARKS.md §7) ---------------------------------
MARCH = [dt.date(2024, 3, d) for d in (1, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18)]  # Fri; two full weeks; Mon


def march(days: list[dt.date]) -> pa.Table:
    return table([(code, day, i) for i, day in enumerate(days) for code in ("600000.SH", "600004.SH", "600007.SH")])


def column_chunks(data: bytes, row_group: int) -> list[bytes]:
    """The stored bytes of each column chunk of one row group."""
    meta = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(row_group)
    chunks = []
    for i in range(meta.num_columns):
        column = meta.column(i)
        start = min(o for o in (column.dictionary_page_offset, column.data_page_offset) if o is not None)
        chunks.append(data[start : start + column.total_compressed_size])
    return chunks


def test_a_shard_has_one_row_group_per_iso_week_and_round_trips():
    shard = march(MARCH)
    data = shard_to_parquet(shard)
    groups = pq.ParquetFile(io.BytesIO(data))
    weeks = [sorted(set(groups.read_row_group(i).column("date").to_pylist())) for i in range(groups.num_row_groups)]
    assert [[d.day for d in week] for week in weeks] == [[1], [4, 5, 6, 7, 8], [11, 12, 13, 14, 15], [18]]
    assert from_parquet(data).equals(shard) and data == shard_to_parquet(shard)


def test_a_day_added_to_a_shard_leaves_the_earlier_weeks_bytes_as_they_were():
    before, after = shard_to_parquet(march(MARCH[:-2])), shard_to_parquet(march(MARCH[:-1]))  # adds the 15th
    for week in range(2):
        assert column_chunks(before, week) == column_chunks(after, week)
    assert column_chunks(before, 2) != column_chunks(after, 2)


def test_meta_tables_and_damaged_shards_stay_one_row_group():
    assert pq.ParquetFile(io.BytesIO(to_parquet(march(MARCH)))).num_row_groups == 1
    unsorted = march([MARCH[-1], *MARCH[:-1]])
    assert pq.ParquetFile(io.BytesIO(shard_to_parquet(unsorted))).num_row_groups == 1
    assert from_parquet(shard_to_parquet(unsorted)).equals(unsorted)
