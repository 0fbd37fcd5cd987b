"""Consumers' pandas idioms on the loaded table (dates are datetime64, as with the old CSV), a clean
`load_dataset` (no warning), and the one-command rebuild of a repo of the previous schema version."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataset_script.schema import SCHEMA_VERSION, STATE_PATH, shard_month
from dataset_script.state import SyncState
from sync.core.config import Settings
from sync.core.errors import SyncError
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.publish.plan import Commit
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.tables.shards import from_parquet, sha256
from sync.targets import open_repo
from tests.support.serving import at, rows_of, served

START, END = dt.date(2024, 1, 2), dt.date(2024, 4, 30)


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=25, seed=11))


@pytest.fixture
def published(tmp_path, market):
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, Settings(), at(END))
    return repo


def load(path, config=None, caplog=None):
    import datasets

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any Python warning fails the test
        return datasets.load_dataset(str(path), config, split="train").to_pandas()


def test_dates_load_as_datetime64_and_the_csv_idioms_work(published, hf_home, caplog):
    with caplog.at_level(logging.WARNING):
        df = load(published.version_path(), caplog=caplog)
    assert "Ignoring part of dataset_info" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert pd.api.types.is_datetime64_dtype(df["date"]) and pd.api.types.is_datetime64_dtype(df["list_date"])

    jan2 = df[df.date == "2024-01-02"]
    assert len(jan2) > 0 and set(jan2["date"].dt.strftime("%Y-%m-%d")) == {"2024-01-02"}
    later = df[df.date >= "2024-03-01"]
    assert len(later) > 0 and later["date"].min() >= pd.Timestamp("2024-03-01")
    assert set(df.date.dt.year) == {2024} and set(df.date.dt.month) == {1, 2, 3, 4}
    march = df.set_index("date").loc["2024-03"]
    assert len(march) == int((df.date.dt.month == 3).sum()) > 0
    assert (df["list_date"] <= df["date"]).all()  # list_date compares with date as a datetime too


def test_the_stocks_table_dates_are_datetime64_too(published, hf_home):
    stocks = load(published.version_path(), "stocks")
    assert pd.api.types.is_datetime64_dtype(stocks["list_date"])
    assert pd.api.types.is_datetime64_dtype(stocks["delist_date"])
    assert len(stocks[stocks.list_date < "2024-01-01"]) > 0


def test_the_published_files_store_timestamps_and_the_card_says_what_changed(published):
    head = published.head()
    shard = next(p for p in published.list_files(head) if shard_month(p))
    stored = pq.read_schema(io.BytesIO(published.read(shard, head)))
    assert stored.field("date").type == pa.timestamp("ms") and stored.field("list_date").type == pa.timestamp("ms")
    card = published.read("README.md", head).decode()
    assert "| `date` | timestamp |" in card and "| `list_date` | timestamp |" in card
    assert "Type changes against the CSV" in card and 'revision="legacy-csv"' in card
    assert f"Schema version · 数据结构版本: **{SCHEMA_VERSION}**" in card


def as_version_1(repo) -> None:
    """Rewrite the head as the previous schema version wrote it: date32 shards, schema_version 1."""
    head = repo.head()
    state = SyncState.from_json(repo.read(STATE_PATH, head))
    adds, shards = {}, {}
    for path, info in state.shards.items():
        sink = io.BytesIO()
        pq.write_table(from_parquet(repo.read(path, head)), sink)  # date32 on disk
        adds[path] = sink.getvalue()
        shards[path] = dataclasses.replace(info, sha256=sha256(adds[path]), bytes=len(adds[path]))
    old = dataclasses.replace(state, shards=shards, schema_version=1)
    adds[STATE_PATH] = old.to_json().encode()
    repo.commit(Commit(adds=adds, deletes=(), message="written by schema version 1"), parent=head)


def test_a_repo_of_the_old_schema_version_is_rebuilt_by_the_one_command_it_names(published, market, hf_home):
    as_version_1(published)
    assert (
        pq.read_schema(
            io.BytesIO(
                published.read(
                    next(p for p in published.list_files(published.head()) if shard_month(p)), published.head()
                )
            )
        )
        .field("date")
        .type
        == pa.date32()
    )
    problems = verify_repo(published)
    assert any(
        "schema version 1, this sync writes 2" in p and "python -m sync full --start 20240102" in p for p in problems
    )
    head = published.head()
    with served(market, at(END)) as (_, source):
        with pytest.raises(SyncError, match=r"rebuild it once with `python -m sync full --start 20240102`"):
            run_delta(published, source, Settings(), at(END))
        assert published.head() == head and source.client.total_calls == 0
        before = rows_of(published)
        result = run_full(published, source, Settings(), at(END), start=dt.date(2024, 1, 2))
    assert result.published
    assert verify_repo(published) == []
    assert SyncState.from_json(published.read(STATE_PATH, published.head())).schema_version == SCHEMA_VERSION
    pd.testing.assert_frame_equal(rows_of(published), before)  # the same rows, rewritten
    df = load(published.version_path())
    assert pd.api.types.is_datetime64_dtype(df["date"])
