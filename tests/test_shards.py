"""Shard merging, serialisation and the invariants checked before every publish."""

import datetime as dt

import pyarrow as pa
import pytest

from dataset_script.schema import PRICE_SCHEMA, STATE_PATH, shard_month, shard_path
from sync.commit import BuiltShard, InvariantError, PublishInput, plan_commit
from sync.shards import coverage_problems, from_parquet, merge_shard, shard_problems, split_by_month, to_parquet

JAN2, JAN3, JAN31, FEB1 = dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 31), dt.date(2024, 2, 1)


def table(rows):
    """rows: (code, date, close) triples; other columns null."""
    columns = {name: [None] * len(rows) for name in PRICE_SCHEMA.names}
    columns["code"] = [r[0] for r in rows]
    columns["date"] = [r[1] for r in rows]
    columns["close"] = [float(r[2]) for r in rows]
    columns["is_paused"] = [False] * len(rows)
    return pa.table(columns, schema=PRICE_SCHEMA)


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
        ("A", JAN2, 1.0), ("B", JAN2, 1.0), ("A", JAN3, 6.0), ("B", JAN3, 7.0)]


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


def publish_input(shards, days, watermark, full=True):
    stocks = pa.table({n: pa.array([], type=t) for n, t in zip(["code"], [pa.string()])})
    calendar = pa.table({"date": pa.array(days, pa.date32())})
    shards = {path: BuiltShard.build(path, t) for path, t in shards.items()}
    return PublishInput(shards=shards, stocks=stocks, calendar=calendar, trading_days=days, first_date=days[0],
                        watermark=watermark, markets=("主板",), run={"kind": "test"}, full=full)


def test_plan_refuses_to_publish_a_gap_before_the_watermark():
    jan = table([("A", JAN2, 1), ("A", JAN31, 1)])  # JAN3 missing
    with pytest.raises(InvariantError, match="2024-01-03"):
        plan_commit(publish_input({"data/2024/2024-01.parquet": jan}, [JAN2, JAN3, JAN31], JAN31), None, [], "o/n")


def test_full_plan_deletes_stale_shards_and_loading_scripts_in_the_same_commit():
    jan = table([("A", JAN2, 1)])
    existing = ["data/2023/2023-12.parquet", "data/2024/2024-01.parquet", "a-share-prices.py", "README.md"]
    commit, state = plan_commit(publish_input({"data/2024/2024-01.parquet": jan}, [JAN2], JAN2), None, existing, "o/n")
    assert sorted(commit.deletes) == ["a-share-prices.py", "data/2023/2023-12.parquet"]
    assert {".last_update_date", STATE_PATH, "README.md", "data/2024/2024-01.parquet"} <= set(commit.adds)
    assert commit.adds[".last_update_date"] == b"20240102"
    assert commit.tag == "20240102"
    assert state.watermark == JAN2 and state.shards["data/2024/2024-01.parquet"].rows == 1


def test_plan_is_empty_when_nothing_changed():
    jan = table([("A", JAN2, 1)])
    planned = publish_input({"data/2024/2024-01.parquet": jan}, [JAN2], JAN2)
    _, state = plan_commit(planned, None, [], "o/n")
    commit, again = plan_commit(planned, state, ["data/2024/2024-01.parquet"], "o/n")
    assert commit is None and again is state
    changed = publish_input({"data/2024/2024-01.parquet": table([("A", JAN2, 2)])}, [JAN2], JAN2)
    commit, _ = plan_commit(changed, state, ["data/2024/2024-01.parquet"], "o/n")
    assert "data/2024/2024-01.parquet" in commit.adds
