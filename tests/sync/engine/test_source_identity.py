"""Source identity: the state records where the rows came from, and a run from another source
refuses before fetching, on a folder and on the Hub, from the CLI as from the engine."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from dataset_script.schema import STATE_PATH
from dataset_script.state import SourceIdentity, SyncState
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.engine.guards import SourceMismatchError
from sync.publish.plan import Commit
from sync.simulated import DEMO_START, DEMO_STOCKS, MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.targets import open_repo
from tests.support.cli import cli_env, sync
from tests.support.folders import snapshot
from tests.support.serving import at, served

TOKEN = "identity-test-token-5c1d"
START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 29)
TUSHARE_NOW = "2024-02-29T20:00"
DEMO_NOW = "2026-01-16T18:00"


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=30, seed=5))


@pytest.fixture
def tushare(market):
    """A Tushare-compatible server; runs against it with its token count as Tushare."""
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(END)) as server:
        yield server


def tushare_env(server, **extra) -> dict:
    return cli_env(**{"TUSHARE_TOKEN": TOKEN, "TUSHARE_API_URL": server.url, "SYNC_NOW": TUSHARE_NOW, **extra})


def no_token_env(**extra) -> dict:
    """What a missing CI secret gives: TUSHARE_TOKEN set to the empty string."""
    return cli_env(TUSHARE_TOKEN="", SYNC_NOW=TUSHARE_NOW, **extra)


def state_of(folder) -> dict:
    return json.loads((folder / STATE_PATH).read_text())


def assert_never_advises_unsetting(text: str) -> None:
    assert "unset it" not in text and "or neither" not in text, text


# -- folder ------------------------------------------------------------------------------------


def test_the_state_records_tushare_for_a_run_with_a_token(tmp_path, tushare):
    full = sync("full", "--start", "20240102", "--end", "20240131", cwd=tmp_path, env=tushare_env(tushare))
    assert full.returncode == 0, full.stderr
    assert state_of(tmp_path / "dataset")["source"] == {"kind": "tushare"}
    status = json.loads(sync("status", "--json", cwd=tmp_path, env=tushare_env(tushare)).stdout)
    assert status["source"] == {"kind": "tushare"}


def test_the_state_records_the_demo_market_and_its_spec(tmp_path):
    full = sync("full", "--start", "20260105", cwd=tmp_path, env=cli_env(SYNC_NOW=DEMO_NOW))
    assert full.returncode == 0, full.stderr
    assert state_of(tmp_path / "dataset")["source"] == {
        "kind": "synthetic",
        "spec": {"seed": 7, "start": DEMO_START.isoformat(), "stocks": DEMO_STOCKS},
    }


@pytest.mark.parametrize("command", [["delta"], ["full", "--start", "20240102"]])
def test_an_empty_token_over_a_tushare_folder_is_refused_and_changes_nothing(tmp_path, tushare, command):
    assert (
        sync("full", "--start", "20240102", "--end", "20240131", cwd=tmp_path, env=tushare_env(tushare)).returncode == 0
    )
    folder = tmp_path / "dataset"
    before = snapshot(folder)
    result = sync(*command, cwd=tmp_path, env=no_token_env())
    assert result.returncode == 1, result.stdout + result.stderr
    assert "holds Tushare data" in result.stderr
    assert "embedded synthetic (demo) market" in result.stderr  # both sources are named
    assert "set TUSHARE_TOKEN" in result.stderr
    assert_never_advises_unsetting(result.stderr)
    assert snapshot(folder) == before


def test_tushare_over_a_demo_folder_is_refused_naming_the_fix(tmp_path, tushare):
    assert sync("full", "--start", "20260105", cwd=tmp_path, env=cli_env(SYNC_NOW=DEMO_NOW)).returncode == 0
    folder = tmp_path / "dataset"
    before = snapshot(folder)
    result = sync("delta", cwd=tmp_path, env=tushare_env(tushare))
    assert result.returncode == 1
    assert f"folder {folder} holds the embedded synthetic (demo) market" in result.stderr
    assert "this run's source is Tushare" in result.stderr
    assert "publish this source's data to another target" in result.stderr and f"remove {folder}" in result.stderr
    assert snapshot(folder) == before


def test_sync_source_must_name_a_known_source(tmp_path):
    result = sync("delta", cwd=tmp_path, env=cli_env(SYNC_SOURCE="tushare-pro"))
    assert result.returncode == 2 and "SYNC_SOURCE must be one of tushare, synthetic" in result.stderr


def test_sync_source_tushare_without_a_token_names_the_token(tmp_path):
    result = sync("full", cwd=tmp_path, env=no_token_env(SYNC_SOURCE="tushare"))
    assert result.returncode == 1
    assert "SYNC_SOURCE=tushare but TUSHARE_TOKEN is not set" in result.stderr
    assert not (tmp_path / "dataset").exists()


def test_a_url_without_a_token_names_the_token_and_never_advises_unsetting(tmp_path, tushare):
    result = sync("full", cwd=tmp_path, env=no_token_env(TUSHARE_API_URL=tushare.url))
    assert result.returncode == 2 and "set TUSHARE_TOKEN" in result.stderr
    assert_never_advises_unsetting(result.stderr)


def test_a_rejected_token_never_advises_unsetting_it(tmp_path, tushare):
    result = sync(
        "full", "--start", "20240102", cwd=tmp_path, env=tushare_env(tushare, TUSHARE_TOKEN="not-the-token-93ab")
    )
    assert result.returncode == 1 and "Set TUSHARE_TOKEN to a valid Tushare Pro token" in result.stderr
    assert_never_advises_unsetting(result.stderr)


# -- Hub ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["full", "--start", "20260105"], ["delta"]])
def test_no_token_and_a_hub_target_is_refused_and_creates_nothing(tmp_path, hub_server, command):
    result = sync(
        *command,
        "--repo",
        "hf://datasets/someone/prices",
        cwd=tmp_path,
        env=cli_env(TUSHARE_TOKEN="", SYNC_NOW=DEMO_NOW),
    )
    assert result.returncode == 1
    assert "TUSHARE_TOKEN is not set" in result.stderr and "SYNC_SOURCE=synthetic" in result.stderr
    assert_never_advises_unsetting(result.stderr)
    assert hub_server.head("someone/prices") is None
    assert not (tmp_path / "dataset").exists()


def test_the_demo_market_publishes_to_the_hub_only_when_asked_explicitly(tmp_path, hub_server):
    result = sync(
        "full",
        "--start",
        "20260112",
        "--repo",
        "hf://datasets/someone/demo",
        cwd=tmp_path,
        env=cli_env(SYNC_SOURCE="synthetic", SYNC_NOW=DEMO_NOW),
    )
    assert result.returncode == 0, result.stderr
    state = json.loads(hub_server.files("someone/demo")[STATE_PATH])
    assert state["source"]["kind"] == "synthetic"


def test_synthetic_over_a_tushare_hub_repo_is_refused_even_when_asked(tmp_path, hub_server, tushare):
    repo = "hf://datasets/ellendan/a-share-prices"
    assert (
        sync(
            "full", "--start", "20240102", "--end", "20240131", "--repo", repo, cwd=tmp_path, env=tushare_env(tushare)
        ).returncode
        == 0
    )
    head, tags = hub_server.head("ellendan/a-share-prices"), hub_server.tags("ellendan/a-share-prices")
    for env in (no_token_env(), no_token_env(SYNC_SOURCE="synthetic")):
        result = sync("delta", "--repo", repo, cwd=tmp_path, env=env)
        assert result.returncode == 1
        assert "TUSHARE_TOKEN" in result.stderr
        assert_never_advises_unsetting(result.stderr)
    assert "holds Tushare data" in result.stderr  # the explicit run got as far as the recorded source
    assert hub_server.head("ellendan/a-share-prices") == head and hub_server.tags("ellendan/a-share-prices") == tags


# -- the engine: every caller obeys; states from before sources were recorded ------------------


def other_market() -> SyntheticMarket:
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=30, seed=6))


def strip_source(repo) -> None:
    """Make the head's state look like one written before sources were recorded."""
    head = repo.head()
    state = SyncState.from_json(repo.read(STATE_PATH, head))
    assert state.source is not None
    old = dataclasses.replace(state, source=None)
    repo.commit(Commit(adds={STATE_PATH: old.to_json().encode()}, deletes=(), message="an older sync"), parent=head)


def test_an_unrecorded_source_is_adopted_when_the_published_bars_are_this_sources(tmp_path, market):
    repo = open_repo(str(tmp_path / "dataset"))
    days = market.trade_dates()
    with served(market, at(END)) as (_, source):
        run_full(repo, source, Settings(), at(END), end=days[-3])
        strip_source(repo)
        result = run_delta(repo, source, Settings(), at(END))
    assert result.published
    assert SyncState.from_json(repo.read(STATE_PATH, repo.head())).source == SourceIdentity("tushare")


def test_an_unrecorded_source_whose_bars_differ_is_refused_before_fetching(tmp_path, market):
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, Settings(), at(END), end=market.trade_dates()[-3])
    strip_source(repo)
    head = repo.head()
    with served(other_market(), at(END)) as (_, other):
        with pytest.raises(SourceMismatchError, match="published before sources were recorded") as caught:
            run_delta(repo, other, Settings(), at(END))
        assert other.client.calls["daily"] == 1, "one probe of the newest published day, nothing else"
        assert dict(other.client.calls).keys() == {"daily"}
    assert "another target" in str(caught.value)
    assert repo.head() == head


def test_the_engine_refuses_a_synthetic_source_on_the_hub_for_every_caller(hub_server, market):
    """The Space's buttons, API and scheduler call run_full / run_delta: the rule is there."""
    from sync.fetch.source import synthetic_identity

    repo = open_repo("hf://datasets/someone/prices")
    with served(market, at(END)) as (_, source):
        demo = dataclasses.replace(source, identity=synthetic_identity(market.spec))
        for run in (run_full, run_delta):
            with pytest.raises(SourceMismatchError, match="never publishes to the Hub by itself"):
                run(repo, demo, Settings(), at(END), trigger="button")
        assert source.client.total_calls == 0
    assert hub_server.head("someone/prices") is None
