"""Publishing to the Hub for real (huggingface_hub → the local Hub server) and reading it back
with `datasets.load_dataset`, the way consumers do."""

import datetime as dt

import pandas as pd
import pytest

from dataset_script.schema import PRICE_SCHEMA, STATE_PATH
from dataset_script.state import SyncState
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.targets import PublishError, open_repo
from sync.tushare.client import TushareClient
from tests.support.hub import on_both_storages
from tests.support.serving import TOKEN, at

REPO_ID = "ellendan/a-share-prices"
START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 29)
SETTINGS = Settings(markets=("主板",))


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=40, seed=3))


@pytest.fixture
def source(market):
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(END)) as server:
        with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}) as client:
            yield Source(client, "test market", START)


def load(path: str) -> pd.DataFrame:
    import datasets

    return datasets.load_dataset(path, split="train").to_pandas()


@on_both_storages
def test_hub_and_folder_load_as_the_same_date_sorted_table(storage, hub_server, source, tmp_path, market):
    assert hub_server.storage == storage
    days = market.trade_dates()
    hub, folder = open_repo(f"hf://datasets/{REPO_ID}"), open_repo(str(tmp_path / "dataset"))
    for repo in (hub, folder):
        run_full(repo, source, SETTINGS, at(END), end=days[15])
        run_delta(repo, source, SETTINGS, at(END))
    from_hub, from_folder = load(REPO_ID), load(str(tmp_path / "dataset"))
    assert list(from_hub.columns) == PRICE_SCHEMA.names  # meta tables are not mixed in
    pd.testing.assert_frame_equal(from_hub, from_folder)
    keys = list(zip(from_hub["date"], from_hub["code"]))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    state = SyncState.from_json(hub.read(STATE_PATH, hub.head()))
    assert len(from_hub) == state.rows and state.watermark == days[-1]
    assert set(hub.list_files(hub.head())) - {".gitattributes"} == set(folder.list_files(folder.head()))
    shards_on_xet = [p for p in hub_server.files(REPO_ID) if hub_server.xet_file(REPO_ID, p) is not None]
    assert bool(shards_on_xet) == (storage == "xet") and all(p.endswith(".parquet") for p in shards_on_xet)


def test_meta_configs_load_their_own_tables(hub_server, source):
    run_full(open_repo(f"hf://datasets/{REPO_ID}"), source, SETTINGS, at(END))
    import datasets

    stocks = datasets.load_dataset(REPO_ID, "stocks", split="train").to_pandas()
    calendar = datasets.load_dataset(REPO_ID, "calendar", split="train").to_pandas()
    assert set(stocks["market"]) == {"主板"} and stocks["code"].is_unique
    assert {"date", "is_open", "prev_trade_date"} == set(calendar.columns)


def test_each_publish_is_one_commit_on_main_tagged_with_its_watermark(hub_server, source, market):
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    days = market.trade_dates()
    run_full(repo, source, SETTINGS, at(END), end=days[10])
    first = repo.head()
    run_delta(repo, source, SETTINGS, at(END))
    from huggingface_hub import HfApi

    commits = HfApi().list_repo_commits(REPO_ID, repo_type="dataset")
    assert len(commits) == 3  # the repo's initial commit, the full sync, the delta
    tags = hub_server.tags(REPO_ID)
    assert tags[days[10].strftime("%Y%m%d")] == first
    assert tags[days[-1].strftime("%Y%m%d")] == repo.head()
    assert not [ref for ref in HfApi().list_repo_refs(REPO_ID, repo_type="dataset").branches if ref.name != "main"]


def test_a_concurrent_writer_is_detected_and_never_overwritten(hub_server, source):
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    run_full(repo, source, SETTINGS, at(END), end=dt.date(2024, 2, 20))
    hub_server.before_next_commit(lambda: hub_server.commit_files(REPO_ID, {"NOTES.md": b"another writer"}))
    result = run_delta(repo, source, SETTINGS, at(END))
    assert result.published and result.watermark == dt.date(2024, 2, 29)
    files = hub_server.files(REPO_ID)
    assert files["NOTES.md"] == b"another writer"
    assert files[".last_update_date"] == b"20240229"


def test_failed_publish_leaves_main_unchanged_and_the_rerun_reuses_the_staged_fetch(hub_server, source):
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    hub_server.limit_commits(per_hour=0, retry_after=0)  # every commit refused with 429, retries spent
    with pytest.raises(PublishError):
        run_full(repo, source, SETTINGS, at(END))
    hub_server.limit_commits(None)
    assert repo.head() is None, "nothing is visible on main"
    calls_before = source.client.calls["daily"]
    result = run_full(repo, source, SETTINGS, at(END))
    assert result.published
    assert source.client.calls["daily"] == calls_before, "the staged chunks were not fetched again"


def test_reloading_a_folder_after_a_restatement_sees_the_new_value(hf_home, tmp_path, market):
    """datasets caches a local folder by its card: the card's fingerprint must change with the data."""
    days = market.trade_dates()
    folder = tmp_path / "dataset"
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(END)) as server:
        with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}) as client:
            source = Source(client, "test market", START)
            run_full(open_repo(str(folder)), source, SETTINGS, at(END))
            before = load(str(folder))
            code = before.loc[before["date"] == pd.Timestamp(days[-1]), "code"].iloc[0]
            server.restate("adj_factor", code, days[-1].strftime("%Y%m%d"), adj_factor=77.0)
            assert run_delta(open_repo(str(folder)), source, SETTINGS, at(END)).published
    after = load(str(folder))
    hit = (after["code"] == code) & (after["date"] == pd.Timestamp(days[-1]))
    assert after.loc[hit, "adj_factor"].tolist() == [77.0]


def test_a_hub_without_branches_or_tags_still_gets_one_published_commit(hub_server, source, caplog):
    """A Hub stand-in that lacks the branch and tag endpoints: checkpoints stay on this machine."""
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    hub_server.fail_next("POST", "/branch/", 404)
    hub_server.fail_next("GET", "/refs", 404)  # pruning old checkpoints at the start
    hub_server.limit_commits(per_hour=0, retry_after=0)  # the publish is refused, retries spent
    with caplog.at_level("WARNING"), pytest.raises(PublishError):
        run_full(repo, source, SETTINGS, at(END))
    hub_server.limit_commits(None)
    calls_before = source.client.calls["daily"]
    hub_server.fail_next("GET", "/refs", 404)
    hub_server.fail_next("GET", "/refs", 404)
    with caplog.at_level("WARNING"):
        result = run_full(open_repo(f"hf://datasets/{REPO_ID}"), source, SETTINGS, at(END))
    assert source.client.calls["daily"] == calls_before, "the locally kept checkpoints were reused"
    assert result.published and hub_server.files(REPO_ID)[".last_update_date"] == b"20240229"
    assert "cannot make branches" in caplog.text and "not tagged" in caplog.text
    from huggingface_hub import HfApi

    assert [b.name for b in HfApi().list_repo_refs(REPO_ID, repo_type="dataset").branches] == ["main"]
