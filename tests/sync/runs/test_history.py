"""What consumers see of the runs: meta/runs.parquet, meta/changes.parquet, tags, every config loading."""

import datetime as dt
import json

import datasets
import pandas as pd
import pytest

from dataset_script.schema import CHANGES_PATH, RUNS_PATH, RUNS_SCHEMA
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.simulated import MarketSpec, SyntheticMarket
from sync.targets import open_repo
from tests.support.serving import at, served, table_of

MAIN = Settings(markets=("主板",))
REPO_ID = "ellendan/a-share-prices"


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=dt.date(2024, 1, 2), end=dt.date(2024, 3, 29), n_stocks=50, seed=9))


@pytest.fixture(scope="module")
def days(market):
    return market.trade_dates()


def test_each_publishing_run_appends_one_row_and_a_run_with_nothing_new_adds_none(tmp_path, hf_home, source, days):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, MAIN, at(days[-1]), end=days[30])
    first_head = repo.head()
    run_delta(repo, source, MAIN, at(days[-1]), end=days[33], trigger="schedule")
    runs = table_of(repo, RUNS_PATH)
    assert list(runs.columns) == RUNS_SCHEMA.names
    assert runs["kind"].tolist() == ["full", "delta"] and runs["trigger"].tolist() == ["cli", "schedule"]
    assert runs["days_added"].tolist() == [31, 3]
    assert runs["status"].tolist() == ["success", "success"]
    assert runs["commit"].isna().iloc[0] and runs["commit"].iloc[1] == first_head, "each row names its parent"
    assert json.loads(runs["api_calls"].iloc[1])["daily"] == 3 + 3  # the 3-day restatement window + 3 new days
    assert (runs["finished_at"] >= runs["started_at"]).all()
    head = repo.head()
    result = run_delta(repo, source, MAIN, at(days[-1]), end=days[33])
    assert not result.published and repo.head() == head, "nothing new: no commit, no run row"


def test_a_failed_run_is_recorded_by_the_next_publishing_run(tmp_path, hf_home, market, days):
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(days[-1])) as (_, good):
        run_full(repo, good, MAIN, at(days[-1]), end=days[20])
    with served(market, at(days[-1]), drop_fields={"daily": {"close"}}) as (_, broken):
        with pytest.raises(Exception, match="close"):
            run_delta(repo, broken, MAIN, at(days[-1]), end=days[25], trigger="schedule")
    assert len(table_of(repo, RUNS_PATH)) == 1, "a failed run publishes nothing"
    with served(market, at(days[-1])) as (_, good):
        run_delta(repo, good, MAIN, at(days[-1]), end=days[25])
    runs = table_of(repo, RUNS_PATH)
    assert runs["status"].tolist() == ["success", "failed", "success"]
    assert "close" in runs["message"].iloc[1] and runs["trigger"].iloc[1] == "schedule"


def test_a_restatement_produces_exactly_the_expected_change_rows(tmp_path, hf_home, server, source, days):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, MAIN, at(days[-1]), end=days[30])
    prices = pd.concat([table_of(repo, f"data/2024/2024-0{m}.parquet") for m in (1, 2)], ignore_index=True)
    traded = prices[(prices["date"] == days[29]) & ~prices["is_paused"]]
    code, old = traded["code"].iloc[0], traded["adj_factor"].iloc[0]
    server.restate("adj_factor", code, days[29].strftime("%Y%m%d"), adj_factor=old * 2)
    server.restate("daily", code, days[29].strftime("%Y%m%d"), vol=traded["volume"].iloc[0] + 100)
    result = run_delta(repo, source, MAIN, at(days[-1]), end=days[30])
    assert result.published
    changes = table_of(repo, CHANGES_PATH)
    run_id = table_of(repo, RUNS_PATH)["run_id"].iloc[-1]
    new_volume = traded["volume"].iloc[0] + 100
    new_avg = traded["turnover"].iloc[0] * 10 / new_volume
    expected = pd.DataFrame(
        {
            "code": [code] * 3,
            "date": [days[29]] * 3,
            "column": ["adj_factor", "avg_price", "volume"],
            "old_value": [float(old), float(traded["avg_price"].iloc[0]), float(traded["volume"].iloc[0])],
            "new_value": [float(old * 2), float(new_avg), float(new_volume)],
            "old_text": pd.Series([None] * 3, dtype="str"),
            "new_text": pd.Series([None] * 3, dtype="str"),
            "run_id": [run_id] * 3,
        }
    )
    assert changes["old_value"].dtype == changes["new_value"].dtype == "float64", "numbers are typed"
    pd.testing.assert_frame_equal(changes, expected, check_dtype=False, rtol=1e-12)
    assert table_of(repo, RUNS_PATH)["rows_changed"].iloc[-1] == 1


def test_days_added_to_a_published_month_are_not_logged_as_changes(tmp_path, hf_home, source, days):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, MAIN, at(days[-1]), end=days[30])
    assert days[33].month == days[30].month, "the new days land in a month that is already published"
    result = run_delta(repo, source, MAIN, at(days[-1]), end=days[33])
    assert result.published and result.days[-1] == days[33]
    assert table_of(repo, CHANGES_PATH).empty, "an added day is not a restatement"
    assert table_of(repo, RUNS_PATH)["rows_changed"].iloc[-1] == 0


def test_every_config_loads_and_a_tag_pins_the_table_as_of_that_day(hub_server, source, days):
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    run_full(repo, source, MAIN, at(days[-1]), end=days[20])
    run_delta(repo, source, MAIN, at(days[-1]), end=days[25])
    for name in ("default", "stocks", "calendar", "days", "runs"):
        loaded = datasets.load_dataset(REPO_ID, name, split="train")
        assert loaded.num_rows > 0, name
    pinned = datasets.load_dataset(REPO_ID, split="train", revision=days[20].strftime("%Y%m%d")).to_pandas()
    assert pd.to_datetime(pinned["date"]).max().date() == days[20]
    latest = datasets.load_dataset(REPO_ID, split="train").to_pandas()
    assert pd.to_datetime(latest["date"]).max().date() == days[25]


def test_a_run_row_says_what_it_changed_and_which_tag_it_created(tmp_path, hf_home, source, days):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, MAIN, at(days[-1]), end=days[30])
    run_delta(repo, source, MAIN, at(days[-1]), end=days[33])
    runs = table_of(repo, RUNS_PATH)
    full, delta = runs.iloc[0], runs.iloc[1]
    assert pd.isna(full["watermark_before"]) and full["watermark_after"] == days[30]
    assert (delta["watermark_before"], delta["watermark_after"]) == (days[30], days[33])
    assert (full["tag"], delta["tag"]) == (f"{days[30]:%Y%m%d}", f"{days[33]:%Y%m%d}")
    assert {"data/2024/2024-01.parquet", "data/2024/2024-02.parquet", "README.md"} <= set(full["files_changed"])
    changed = set(delta["files_changed"])
    assert "data/2024/2024-02.parquet" in changed and "data/2024/2024-01.parquet" not in changed
    assert {RUNS_PATH, ".last_update_date", ".sync/state.json"} <= changed
    assert CHANGES_PATH not in changed, "no correction: the restatement log is unchanged"


def test_runs_and_changes_of_an_older_layout_are_upgraded_by_the_next_publish(tmp_path, hf_home, server, source, days):
    """Tables written before the typed columns existed still read: the next publish carries them over."""
    import pyarrow as pa

    from sync.tables.shards import to_parquet
    from sync.targets.commit import Commit

    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, MAIN, at(days[-1]), end=days[30])
    runs = table_of(repo, RUNS_PATH)
    old_runs = pa.Table.from_pandas(runs[RUNS_SCHEMA.names[:12]], preserve_index=False)  # before the last four
    old_changes = pa.table(
        {
            "code": ["600000.SH", "600000.SH"],
            "date": pa.array([days[1], days[1]], pa.date32()),
            "column": ["adj_factor", "name"],
            "old_value": ["1.5", "浦发银行"],
            "new_value": ["1.25", None],
            "run_id": ["r0", "r0"],
        }
    )
    adds = {RUNS_PATH: to_parquet(old_runs), CHANGES_PATH: to_parquet(old_changes)}
    repo.commit(Commit(adds=adds, deletes=(), message="an older release's tables"), parent=repo.head())

    prices = pd.concat([table_of(repo, f"data/2024/2024-0{m}.parquet") for m in (1, 2)], ignore_index=True)
    traded = prices[(prices["date"] == days[29]) & ~prices["is_paused"]]
    server.restate("daily", traded["code"].iloc[0], days[29].strftime("%Y%m%d"), vol=traded["volume"].iloc[0] + 1)
    assert run_delta(repo, source, MAIN, at(days[-1]), end=days[31]).published

    runs = table_of(repo, RUNS_PATH)
    assert list(runs.columns) == RUNS_SCHEMA.names
    assert pd.isna(runs["tag"].iloc[0]) and runs["files_changed"].iloc[0] is None, "not recorded back then"
    assert runs["tag"].iloc[1] == f"{days[31]:%Y%m%d}"
    changes = table_of(repo, CHANGES_PATH)
    old = changes[changes["run_id"] == "r0"].set_index("column")
    assert old.loc["adj_factor", "old_value"] == 1.5 and old.loc["adj_factor", "new_value"] == 1.25
    assert pd.isna(old.loc["adj_factor", "old_text"])
    assert old.loc["name", "old_text"] == "浦发银行" and pd.isna(old.loc["name", "old_value"])
    new = changes[changes["run_id"] == runs["run_id"].iloc[1]]
    assert set(new["column"]) >= {"volume"} and new["old_value"].notna().all()
