"""Shard merging, serialisation and the per-shard invariants (the commit plan is in tests/sync/publish/test_plan.py)."""

import datetime as dt

import pyarrow as pa

from dataset_script.schema import shard_month, shard_path
from sync.tables.shards import coverage_problems, from_parquet, merge_shard, shard_problems, split_by_month, to_parquet
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
