"""Explore on a Hub target: one stock's rows are read from config by_code by ranges and kept on disk
by the file's sha256, so a restart reads none again and a one-day delta re-reads only its month
file; a repo without by_code is read from its shards, kept by their sha256. Against the local Hub
server, counting its downloads."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from dataset_script.schema import STATE_PATH, is_by_code, shard_path
from dataset_script.state import SyncState
from space_app.repo_view import RepoView, explore_cache
from space_app.shard_cache import ShardCache, SliceCache
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.targets import open_repo
from sync.targets.commit import Commit
from sync.tushare.client import TushareClient
from tests.support.serving import TOKEN, at

REPO_ID = "someone/a-share-prices"
START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 29)
SETTINGS = Settings(markets=("主板",))


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=30, seed=5))


@pytest.fixture
def source(market):
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(END)) as server:
        with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}) as client:
            yield Source(client, "test market", START)


def shard_downloads(hub_server) -> list[str]:
    """The shard files clients fetched from the Hub (on Xet or not)."""
    return [path for path in hub_server.downloads if path.startswith("data/")]


def listed_stock(view: RepoView) -> str:
    stocks = view.get(force=True).stocks
    listed = stocks[stocks["list_status"] == "L"].sort_values("code")
    return listed["code"].iloc[0]


def chart_rows(view: RepoView, code: str) -> pd.DataFrame:
    facts = view.get(force=True)
    return view.prices(facts, code, START, END)


def by_code_reads(hub_server) -> list[str]:
    """The by_code files the Hub served a range of (GET .../resolve/<rev>/by_code/...), once per request."""
    return [
        path.split("/resolve/", 1)[1].split("/", 1)[1]
        for method, path in hub_server.requests
        if method == "GET" and "/resolve/" in path and "/by_code/" in path
    ]


def explore_view(tmp_path) -> RepoView:
    return RepoView(
        open_repo(f"hf://datasets/{REPO_ID}"),
        ttl=0,
        cache=explore_cache(tmp_path / "shards"),
        slices=SliceCache(tmp_path / "slices"),
    )


def test_explore_reads_one_stock_from_by_code_and_a_delta_rereads_only_its_month_file(
    hub_server, source, market, tmp_path
):
    days = market.trade_dates()
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    run_full(repo, source, SETTINGS, at(END), end=days[-2])
    view = explore_view(tmp_path)
    code = listed_stock(view)

    hub_server.downloads.clear()
    first = chart_rows(view, code)
    months = ["by_code/2024/2024-01.parquet", "by_code/2024/2024-02.parquet", "by_code/2024/2024-03.parquet"]
    assert sorted(set(by_code_reads(hub_server))) == months
    assert shard_downloads(hub_server) == []  # no monthly shard
    assert view.slices.downloads == 3  # each file once, qfq's factor included
    assert len(first) == len(days) - 1 and set(first["code"]) == {code}
    assert list(first.columns) == [
        "code",
        "date",
        "name",
        "open",
        "high",
        "low",
        "close",
        "prev_close",
        "quote_rate",
        "volume",
        "turnover",
        "adj_factor",
        "is_paused",
        "is_st",
    ]  # not the ~40 of a shard

    hub_server.requests.clear()
    restarted = explore_view(tmp_path)
    pd.testing.assert_frame_equal(chart_rows(restarted, code), first)
    assert by_code_reads(hub_server) == []

    run_delta(repo, source, SETTINGS, at(END))  # adds the last day: only March changes
    hub_server.downloads.clear()
    after = chart_rows(restarted, code)
    assert set(by_code_reads(hub_server)) == {"by_code/2024/2024-03.parquet"}
    assert len(after) == len(days) and after["date"].iloc[-1] == days[-1]
    assert len(list((tmp_path / "slices").glob("*.parquet"))) == 3  # the replaced March was pruned


def test_a_repo_published_before_by_code_is_charted_from_its_shards(hub_server, source, market, tmp_path):
    days = market.trade_dates()
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    run_full(repo, source, SETTINGS, at(END), end=days[-2])
    view = explore_view(tmp_path)
    code = listed_stock(view)
    by_code = chart_rows(view, code)
    head = repo.head()
    state = SyncState.from_json(repo.read(STATE_PATH, head))
    old = [p for p in repo.list_files(head) if is_by_code(p)]
    adds = {STATE_PATH: dataclasses.replace(state, by_code={}).to_json().encode()}
    repo.commit(Commit(adds=adds, deletes=old, message="as before by_code"), parent=head)
    hub_server.requests.clear()
    from_shards = chart_rows(explore_view(tmp_path), code)
    assert sorted(set(shard_downloads(hub_server))) == [shard_path(d) for d in (days[0], days[25], days[-2])]
    pd.testing.assert_frame_equal(from_shards, by_code)


def test_a_folder_is_read_in_place_with_the_same_rows_as_the_hub(hub_server, source, market, tmp_path):
    hub, folder = open_repo(f"hf://datasets/{REPO_ID}"), open_repo(str(tmp_path / "dataset"))
    for repo in (hub, folder):
        run_full(repo, source, SETTINGS, at(END))
    local = RepoView(folder, ttl=0)
    assert local.cache is None and local.slices is None
    code = listed_stock(local)
    pd.testing.assert_frame_equal(chart_rows(local, code), chart_rows(explore_view(tmp_path), code))


def test_a_shard_whose_bytes_differ_from_the_state_is_not_kept_under_the_state_sha(tmp_path):
    class OneFile:
        def read(self, path, revision):
            return b"not what the state says"

    cache = ShardCache(tmp_path)
    found = cache.fetch(OneFile(), "rev", {"data/2024/2024-01.parquet": "0" * 64})
    assert not cache.file("0" * 64).exists()
    assert found["data/2024/2024-01.parquet"].read_bytes() == b"not what the state says"
    assert cache.fetch(OneFile(), "rev", {"data/2024/2024-01.parquet": "0" * 64}) and cache.downloads == 2


def test_a_kept_shard_holds_explores_columns_sorted_by_stock_in_small_row_groups(monkeypatch):
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from space_app import repo_view

    days = [dt.date(2024, 1, d) for d in (2, 3, 4)]
    published = pa.table(
        {
            "code": [c for _ in days for c in ("000001.SZ", "600000.SH")],
            "date": [d for d in days for _ in range(2)],
            "close": [1.0, 2.0, 1.1, 2.1, 1.2, 2.2],
            "pe": [9.0] * 6,
        }
    )  # sorted by (date, code), as published
    buffer = io.BytesIO()
    pq.write_table(published, buffer)
    monkeypatch.setattr(repo_view, "STOCK_ROW_GROUP", 3)
    kept = pq.ParquetFile(io.BytesIO(repo_view.by_stock(buffer.getvalue())))
    assert kept.schema_arrow.names == ["code", "date", "close"]  # no column Explore does not use
    assert kept.metadata.num_row_groups == 2  # one stock per group here
    table = kept.read()
    assert table.column("code").to_pylist() == ["000001.SZ"] * 3 + ["600000.SH"] * 3
    assert table.column("close").to_pylist() == [1.0, 1.1, 1.2, 2.0, 2.1, 2.2]
    stats = kept.metadata.row_group(1).column(0).statistics
    assert stats.min == stats.max == "600000.SH"  # what lets a filter skip the other group
