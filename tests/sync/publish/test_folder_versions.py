"""A local folder keeps the newest FOLDER_VERSIONS versions, its tags.json names only tags it can
still load, and its card's pinning snippet names the folder's real store (`.dataset.sync`)."""

import datetime as dt
import json

import pandas as pd
import pytest

from dataset_script.schema import CARD_PATH, FOLDER_VERSIONS
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.simulated import MarketSpec, SyntheticMarket
from sync.targets import open_repo
from tests.support.serving import at
from tests.support.snippets import python_blocks

SETTINGS = Settings(markets=("主板",))


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 31), n_stocks=12, seed=4))


def test_full_then_deltas_keep_the_newest_versions_and_every_listed_tag_loads(
    tmp_path, hf_home, source, market, monkeypatch
):
    import datasets

    days = market.trade_dates()
    repo = open_repo(str(tmp_path / "dataset"))
    first = len(days) - FOLDER_VERSIONS - 2
    run_full(repo, source, SETTINGS, at(days[-1]), end=days[first])
    for day in days[first + 1 :]:
        assert run_delta(repo, source, SETTINGS, at(days[-1]), end=day).published

    store = tmp_path / ".dataset.sync"
    tags = json.loads((store / "tags.json").read_text())
    assert sorted(tags) == [f"{d:%Y%m%d}" for d in days[-FOLDER_VERSIONS:]], "tags of removed versions are dropped"
    assert len(list((store / "versions").iterdir())) == FOLDER_VERSIONS

    card = repo.read(CARD_PATH, repo.head()).decode()
    [snippet] = [b for b in python_blocks(card) if "tags.json" in b]
    assert 'open(".dataset.sync/tags.json")' in snippet
    monkeypatch.chdir(tmp_path)
    newest = f"{days[-1]:%Y%m%d}"
    for tag in sorted(tags):  # the newest last
        namespace: dict = {}
        exec(snippet.replace(f"tags['{newest}']", f"tags['{tag}']"), namespace)  # noqa: S102 - the card's snippet
        loaded = namespace["pinned"].to_pandas()
        assert pd.Timestamp(loaded["date"].max()) == pd.Timestamp(dt.datetime.strptime(tag, "%Y%m%d")), tag
    assert datasets.load_dataset(str(repo.version_path()), split="train").num_rows == len(loaded)
