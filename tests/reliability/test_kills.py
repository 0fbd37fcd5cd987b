"""Kill points: `python -m sync full|delta` is SIGKILLed at the code's own phases (SYNC_KILL_AT,
see `sync.core.killpoints`), on a folder target and on the local Hub. After every kill the target shows
the old or the new complete dataset, never a mix (verify clean, rows equal to before or to the
golden run, and `load_dataset` agrees); the left-over lock does not block the next run; and that
re-run ends equal to the golden run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dataset_script.schema import REPO_ID, shard_month
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch.source import Source, open_source
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.targets.files import walk
from sync.tushare.client import TushareClient
from tests.support.cli import cli_env

pytestmark = pytest.mark.slow  # SIGKILL at every kill point, each followed by a re-run

TOKEN = "kill-points-token"
START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 8)  # 80 stocks: a per-day plan of 3 monthly chunks
NOW = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)
BASE_BACK = 8  # the starting repo is published through days[-BASE_BACK]
HUB_REPO = "kills/a-share-prices"
SETTINGS = Settings(markets=("主板",))


@dataclasses.dataclass(frozen=True)
class Kill:
    target: str  # "folder" or "hub"
    kind: str  # "full" or "delta"
    at: str  # SYNC_KILL_AT: "<point>:<n>"

    @property
    def id(self) -> str:
        return f"{self.target}-{self.kind}-{self.at.replace(':', '-')}"


KILLS = [
    # a full rebuild on a folder: staging of the 3 checkpoint chunks, the version build, the commit
    *(
        Kill("folder", "full", at)
        for at in (
            "checkpoint.staged:1",
            "checkpoint.staged:3",
            "local.stage_file_written:1",
            "local.stage_file_written:7",
            "local.stage_version_built:2",
            "local.staged:2",
            "local.main_file_written:1",
            "local.main_file_written:3",
            "local.main_version_built:1",
            "commit.before:1",
            "commit.after:1",
        )
    ),
    # a delta on a folder: the shards and meta files of the new version, the swap
    *(
        Kill("folder", "delta", at)
        for at in (
            "local.main_file_written:1",
            "local.main_file_written:2",
            "local.main_version_built:1",
            "commit.before:1",
            "commit.after:1",
        )
    ),
    # the Hub: checkpoints on this machine, the push to the staging branch, the one commit
    *(
        Kill("hub", "full", at)
        for at in (
            "hub.stage_local_written:1",
            "hub.stage_push.before:1",
            "hub.stage_push.after:1",
            "hub.stage_local_written:3",
            "checkpoint.staged:2",
            "commit.before:1",
            "commit.after:1",
        )
    ),
    *(Kill("hub", "delta", at) for at in ("commit.before:1", "commit.after:1")),
]


# -- golden runs, once per module ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    market = SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=80, seed=21))
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: NOW) as running:
        yield running


@pytest.fixture(scope="module")
def days(server):
    return server.market.trade_dates()


def rows_of(repo) -> pd.DataFrame:
    head = repo.head()
    frames = [from_parquet(repo.read(p, head)).to_pandas() for p in sorted(repo.list_files(head)) if shard_month(p)]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def golden(server, days, tmp_path_factory):
    """(rows of a clean full run, a folder published through days[-BASE_BACK], its rows)."""
    home = tmp_path_factory.mktemp("kills-golden")
    with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}, sleep=lambda s: None) as client:
        source = Source(client, "kill points", START)
        clean = open_repo(str(home / "clean" / "dataset"))
        run_full(clean, source, SETTINGS, NOW)
        base = open_repo(str(home / "base" / "dataset"))
        run_full(base, source, SETTINGS, NOW, end=days[-BASE_BACK])
    return rows_of(clean), home / "base", rows_of(base)


# -- running the CLI ------------------------------------------------------------------------------
def sync(kind: str, target: str, server, home: Path, kill: str | None = None) -> subprocess.CompletedProcess:
    env = cli_env(
        TUSHARE_TOKEN=TOKEN,
        TUSHARE_API_URL=server.url,
        SYNC_NOW=NOW.strftime("%Y-%m-%dT%H:%M"),
        HF_HOME=str(home),
        SYNC_MARKETS="主板",
    )
    if kill:
        env["SYNC_KILL_AT"] = kill
    args = ["--start", START.strftime("%Y%m%d")] if kind == "full" else []
    return subprocess.run(
        [sys.executable, "-m", "sync", kind, *args, "--repo", target],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def prepared_target(kill: Kill, base_folder: Path, tmp_path: Path) -> tuple[str, object]:
    """Both runs start from the base dataset (days before days[-BASE_BACK]): a rebuild must keep
    showing it until its one commit, a delta must not half-add the new days."""
    if kill.target == "folder":
        shutil.copytree(base_folder, tmp_path / "target", symlinks=True)
        folder = tmp_path / "target" / "dataset"
        return str(folder), open_repo(str(folder))
    from tests.support.hub import session_hub

    version = base_folder / "dataset"
    session_hub().commit_files(
        HUB_REPO, {path: (version / path).read_bytes() for path in walk(version)}, message="base"
    )
    target = f"hf://datasets/{HUB_REPO}"
    return target, open_repo(target)


def loaded_rows(kill: Kill, target: str, repo) -> pd.DataFrame:
    """What a consumer sees: `datasets.load_dataset` of the folder or the Hub repo (at its head)."""
    import datasets

    if kill.target == "folder":
        table = datasets.load_dataset(str(repo.version_path()), split="train")
    else:
        table = datasets.load_dataset(HUB_REPO, split="train", revision=repo.head())
    return table.to_pandas()


def assert_rows(actual: pd.DataFrame, wanted: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(actual.reset_index(drop=True), wanted.reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("kill", KILLS, ids=[k.id for k in KILLS])
def test_a_kill_leaves_the_old_or_the_new_dataset_and_a_rerun_equals_the_golden_run(
    kill, golden, server, tmp_path, hf_home, request, caplog
):
    if kill.target == "hub":
        request.getfixturevalue("hub_server")
    golden_rows, base_folder, base_rows = golden
    target, repo = prepared_target(kill, base_folder, tmp_path)
    head_before = repo.head()

    killed = sync(kill.kind, target, server, hf_home, kill=kill.at)
    assert killed.returncode == -signal.SIGKILL, f"{kill.at} was never reached:\n{killed.stderr[-2000:]}"

    # What readers see now: the old dataset or the new one, complete, never a mix.
    head = repo.head()
    assert verify_repo(repo) == [], f"after a kill at {kill.at}"
    rows = rows_of(repo)
    assert_rows(rows, base_rows if head == head_before else golden_rows)
    if kill.at.startswith(("commit.before", "checkpoint", "local.stage", "hub.stage")):
        assert head == head_before, "nothing is visible before the commit"
    if kill.at.startswith("commit.after"):
        assert head != head_before, "the commit had returned"
    if kill.target == "folder" or kill.at.startswith("commit."):  # the Hub's other points never touch main
        loaded = loaded_rows(kill, target, repo)
        # consumers see datetime64 dates; the engine's shards read back as Python dates
        as_dates = {col: (lambda f, c=col: pd.to_datetime(f[c]).dt.date) for col in ("date", "list_date")}
        assert_rows(loaded[list(rows.columns)].assign(**as_dates), rows)

    # The killed run's lock is left behind, yet the next run goes through and ends at the golden run.
    if kill.target == "folder":
        assert (Path(target).parent / ".dataset.sync" / "run.lock").exists()
    caplog.set_level(logging.INFO, logger="sync")
    rerun(kill, target, server)
    assert verify_repo(repo) == []
    assert_rows(rows_of(repo), golden_rows)
    if kill.kind == "full" and kill.at in ("checkpoint.staged:3", "local.staged:2", "hub.stage_local_written:3"):
        assert "chunks already fetched by an earlier run" in caplog.text, "the rebuild resumed from its checkpoints"


def rerun(kill: Kill, target: str, server) -> None:
    """The next run, in this process to save an interpreter start: the same source (so the same
    checkpoint key) as the CLI's, the same repo id, the same lock files under HF_HOME."""
    settings = Settings(tushare_token=TOKEN, tushare_api_url=server.url, markets=("主板",))
    repo_id = HUB_REPO if kill.target == "hub" else REPO_ID
    with open_source(settings, NOW.date()) as source:
        if kill.kind == "full":
            run_full(open_repo(target), source, settings, NOW, start=START, repo_id=repo_id)
        else:
            run_delta(open_repo(target), source, settings, NOW, repo_id=repo_id)
