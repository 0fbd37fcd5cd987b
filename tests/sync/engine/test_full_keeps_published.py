"""A full sync never shrinks what is published: it replaces the days of its range and keeps the rest,
refuses a range whose kept days would not stay consistent, and keeps what a concurrent writer added."""

import datetime as dt

import pandas as pd
import pytest

from dataset_script.schema import DAYS_PATH, LAST_UPDATE_PATH
from sync.core.config import Settings
from sync.core.errors import SyncError
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from tests.support.serving import at, rows_of

START, END = dt.date(2024, 1, 2), dt.date(2024, 4, 30)
SETTINGS = Settings(markets=("主板",))
REPO_ID = "ellendan/a-share-prices"


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=50, seed=5))


@pytest.fixture(scope="module")
def days(market):
    return market.trade_dates()


def test_full_sync_over_a_range_inside_the_published_one_keeps_the_rest(tmp_path, source, days):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, SETTINGS, at(END), end=days[60])
    before = rows_of(repo)
    result = run_full(repo, source, SETTINGS, at(END), start=days[20], end=days[35])
    assert result.watermark == days[60], "the watermark never moves back"
    after = rows_of(repo)
    assert sorted(after["date"].unique()) == days[:61], "every published day is still there"
    pd.testing.assert_frame_equal(before, after)  # the same source gives the same rows
    assert repo.read(LAST_UPDATE_PATH, repo.head()) == days[60].strftime("%Y%m%d").encode()
    assert verify_repo(repo) == []


def test_full_sync_that_starts_later_keeps_the_earlier_history(tmp_path, source, days):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, SETTINGS, at(END), end=days[40])
    run_full(repo, source, SETTINGS, at(END), start=days[30])
    after = rows_of(repo)
    assert sorted(after["date"].unique()) == days
    manifest = from_parquet(repo.read(DAYS_PATH, repo.head()))
    assert manifest.column("date").to_pylist() == days
    assert verify_repo(repo) == []


def test_partial_rebuild_for_other_markets_is_refused_with_the_range_to_use(tmp_path, source, days):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, SETTINGS, at(END), end=days[40])
    head = repo.head()
    with pytest.raises(SyncError, match=f"--start {days[0]:%Y%m%d} --end {days[40]:%Y%m%d}"):
        run_full(repo, source, SETTINGS, at(END), start=days[10], end=days[20], markets=("主板", "创业板"))
    assert repo.head() == head, "nothing was published"


def test_a_range_that_would_leave_a_gap_is_refused(tmp_path, source, days):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, SETTINGS, at(END), start=days[30], end=days[40])
    head = repo.head()
    with pytest.raises(SyncError, match="gap"):
        run_full(repo, source, SETTINGS, at(END), start=days[0], end=days[10])
    assert repo.head() == head


def test_a_delta_published_during_a_full_sync_is_kept(hub_server, server, source, days):
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    run_full(repo, source, SETTINGS, at(END), end=days[50])
    # What another machine's delta to days[52] commits, worked out on a twin repo of the same data.
    twin = open_repo("hf://datasets/ellendan/twin")
    run_full(twin, source, SETTINGS, at(END), end=days[50])
    run_delta(twin, source, SETTINGS, at(END), end=days[52])
    theirs = hub_server.files("ellendan/twin")
    code = rows_of(repo)["code"].iloc[0]
    server.restate("adj_factor", code, days[20].strftime("%Y%m%d"), adj_factor=9.75)  # the rebuild changes a row

    def other_writer():  # runs inside the full sync's commit to main, before its parent check
        if not hub_server.requests[-1][1].endswith("/commit/main"):
            hub_server.before_next_commit(other_writer)  # a staging commit: wait for the one to main
            return
        hub_server.commit_files(REPO_ID, theirs, message="delta from another machine")

    hub_server.before_next_commit(other_writer)
    result = run_full(repo, source, SETTINGS, at(END), start=days[10], end=days[30])
    assert result.published
    rows = rows_of(repo)
    assert rows.loc[(rows["code"] == code) & (rows["date"] == days[20]), "adj_factor"].item() == 9.75
    assert sorted(rows["date"].unique()) == days[:53], "the concurrent delta's days survive"
    assert repo.read(LAST_UPDATE_PATH, repo.head()) == days[52].strftime("%Y%m%d").encode()
    assert verify_repo(repo) == []
