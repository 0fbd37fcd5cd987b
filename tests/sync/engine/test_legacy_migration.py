"""The old pipeline's repo (`all-prices.csv` beside its card and `.last_update_date`): named by
status and verify, refused by delta and a plain full, migrated on purpose by `full --migrate-legacy`
on the Hub (the old file kept at tag `legacy-csv`) and on a folder (kept outside the published view)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dataset_script.schema import LEGACY_CSV, LEGACY_TAG, STATE_PATH
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.targets import open_repo
from tests.support.cli import cli_env, sync
from tests.support.folders import snapshot
from tests.support.old_pipeline import OLD_COLUMNS, all_prices_csv
from tests.support.serving import at, rows_of

TOKEN = "legacy-test-token-41f0"
START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 29)
REPO_ID = "ellendan/a-share-prices"
HUB_TARGET = f"hf://datasets/{REPO_ID}"

OLD_CARD = b"""---
license: cc-by-nc-4.0
maintainer_note: kept by hand
pretty_name: the old name
---

# A-share prices (old pipeline)
"""
OLD_CSV = all_prices_csv()  # as the old pipeline writes it
OLD_FILES = {"README.md": OLD_CARD, LEGACY_CSV: OLD_CSV, ".last_update_date": b"20240102"}


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=30, seed=5))


@pytest.fixture
def env(market):
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(END)) as server:
        yield cli_env(TUSHARE_TOKEN=TOKEN, TUSHARE_API_URL=server.url, SYNC_NOW="2024-02-29T20:00")


@pytest.fixture
def legacy_hub(hub_server):
    """The real repo as it is today, created with huggingface_hub like the old pipeline did."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi()
    api.create_repo(REPO_ID, repo_type="dataset")
    api.create_commit(
        REPO_ID,
        [CommitOperationAdd(path, data) for path, data in OLD_FILES.items()],
        commit_message="Upload all-prices.csv",
        repo_type="dataset",
    )
    return hub_server


@pytest.fixture
def legacy_folder(tmp_path):
    folder = tmp_path / "dataset"
    folder.mkdir()
    for path, data in OLD_FILES.items():
        (folder / path).write_bytes(data)
    return folder


def card_front_matter(card: bytes) -> dict:
    return yaml.safe_load(card.decode().split("---", 2)[1])


def assert_names_the_migration(text: str) -> None:
    assert "old pipeline's layout" in text and LEGACY_CSV in text
    assert "`python -m sync full --migrate-legacy`" in text


# -- refused until migrated on purpose ---------------------------------------------------------


def test_status_and_verify_name_the_legacy_layout_on_the_hub(tmp_path, legacy_hub, env):
    status = sync("status", "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert status.returncode == 0 and "legacy layout" in status.stdout
    assert_names_the_migration(status.stdout)
    assert f'revision="{LEGACY_TAG}"' in status.stdout
    facts = json.loads(sync("status", "--json", "--repo", HUB_TARGET, cwd=tmp_path, env=env).stdout)
    assert facts["legacy_layout"] is True and facts["published"] is False
    verify = sync("verify", "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert verify.returncode == 1
    assert_names_the_migration(verify.stdout)


@pytest.mark.parametrize("command", [["delta"], ["full", "--start", "20240102"]])
def test_delta_and_a_plain_full_refuse_the_legacy_hub_repo_and_change_nothing(tmp_path, legacy_hub, env, command):
    head = legacy_hub.head(REPO_ID)
    result = sync(*command, "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert_names_the_migration(result.stderr)
    assert f"tags the current commit `{LEGACY_TAG}`" in result.stderr  # what the migration does
    assert legacy_hub.head(REPO_ID) == head and legacy_hub.tags(REPO_ID) == {}


@pytest.mark.parametrize("command", [["delta"], ["full", "--start", "20240102"], ["verify"]])
def test_a_legacy_folder_is_named_and_refused_and_left_alone(tmp_path, legacy_folder, env, command):
    before = snapshot(legacy_folder)
    result = sync(*command, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert_names_the_migration(result.stdout + result.stderr)
    assert "outside the published folder" in result.stdout + result.stderr
    assert snapshot(legacy_folder) == before and {p.name for p in legacy_folder.iterdir()} == set(OLD_FILES)


# -- the migration -----------------------------------------------------------------------------


def test_migrating_the_hub_repo_tags_the_csv_and_replaces_it_in_one_commit(tmp_path, legacy_hub, env, hf_home):
    from huggingface_hub import hf_hub_download

    legacy_head = legacy_hub.head(REPO_ID)
    commits_before = len(legacy_hub.commit_dates(REPO_ID))
    result = sync(
        "full",
        "--migrate-legacy",
        "--start",
        "20240102",
        "--end",
        "20240227",
        "--repo",
        HUB_TARGET,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert f'revision="{LEGACY_TAG}"' in result.stdout  # the command says where the old file is

    assert legacy_hub.tags(REPO_ID)[LEGACY_TAG] == legacy_head
    assert len(legacy_hub.commit_dates(REPO_ID)) == commits_before + 1  # one commit adds and deletes
    old = hf_hub_download(REPO_ID, LEGACY_CSV, repo_type="dataset", revision=LEGACY_TAG, cache_dir=tmp_path / "c")
    assert Path(old).read_bytes() == OLD_CSV
    files = legacy_hub.files(REPO_ID)
    assert LEGACY_CSV not in files and STATE_PATH in files
    assert files[".last_update_date"] == b"20240227"
    front = card_front_matter(files["README.md"])
    assert front["license"] == "cc-by-nc-4.0" and front["maintainer_note"] == "kept by hand"
    assert front["pretty_name"] == "the old name"
    assert front["configs"][0]["config_name"] == "default"  # the generator's own keys are its own
    assert legacy_hub.tags(REPO_ID)["20240227"] == legacy_hub.head(REPO_ID)

    fresh = sync(
        "full",
        "--start",
        "20240102",
        "--end",
        "20240227",
        "--repo",
        "hf://datasets/someone/fresh",
        cwd=tmp_path,
        env=env,
    )
    assert fresh.returncode == 0, fresh.stderr
    pd.testing.assert_frame_equal(rows_of(open_repo(HUB_TARGET)), rows_of(open_repo("hf://datasets/someone/fresh")))
    verify = sync("verify", "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert verify.returncode == 0, verify.stdout

    # a maintainer's edit of the licence on the Hub survives the next publish
    legacy_hub.commit_files(REPO_ID, {"README.md": files["README.md"].replace(b"cc-by-nc-4.0", b"cc-by-4.0")})
    delta = sync("delta", "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert delta.returncode == 0, delta.stderr
    files = legacy_hub.files(REPO_ID)
    assert files[".last_update_date"] == b"20240229"
    assert card_front_matter(files["README.md"])["license"] == "cc-by-4.0"
    assert legacy_hub.tags(REPO_ID)[LEGACY_TAG] == legacy_head  # never moved again


def test_migrating_a_folder_keeps_the_csv_outside_the_published_view_and_says_where(tmp_path, legacy_folder, env):
    result = sync("full", "--migrate-legacy", "--start", "20240102", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    kept = tmp_path / ".dataset.sync" / LEGACY_TAG / LEGACY_CSV
    assert f"the old all-prices.csv is kept at {kept}" in result.stdout
    assert kept.read_bytes() == OLD_CSV
    assert LEGACY_CSV not in {p.name for p in legacy_folder.iterdir()}
    assert card_front_matter((legacy_folder / "README.md").read_bytes())["license"] == "cc-by-nc-4.0"
    assert sync("verify", cwd=tmp_path, env=env).returncode == 0

    other = tmp_path / "fresh"
    assert sync("full", "--start", "20240102", "--repo", str(other), cwd=tmp_path, env=env).returncode == 0
    pd.testing.assert_frame_equal(rows_of(open_repo(str(legacy_folder))), rows_of(open_repo(str(other))))
    # the published folder loads like the Hub repo: nothing of the old layout is mixed in
    import datasets

    loaded = datasets.load_dataset(str(open_repo(str(legacy_folder)).version_path()), split="train")
    assert loaded.num_rows == len(rows_of(open_repo(str(legacy_folder))))
    old = pd.read_csv(io.BytesIO(kept.read_bytes()))
    assert old.columns.tolist() == OLD_COLUMNS and old["code"].tolist() == ["600000.SH", "000001.SZ"] * 2
