"""Bad input through `python -m sync`: every case gets a clear message that says what to do,
nothing published is lost, and `verify` names the damage. Covers what tests/sync/test_cli.py,
tests/sync/core/test_config.py and tests/sync/publish/test_verify.py leave out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from sync.tables.shards import from_parquet, to_parquet
from sync.targets import open_repo
from sync.targets.commit import Commit
from sync.targets.files import walk
from tests.support.cli import cli_env, sync

pytestmark = pytest.mark.slow  # 42 runs of `python -m sync` on bad input, about two minutes

PUBLISHED_NOW = "2026-01-14T18:00"  # the embedded market, published 2026-01-05 .. 2026-01-14
LATER = "2026-01-16T18:00"  # two more trading days for a delta to add
JAN = "data/2026/2026-01.parquet"
HUB_REPO = "input/a-share-prices"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("input-base")
    result = sync(
        "full", "--start", "20260105", "--repo", str(home / "dataset"), cwd=home, env=cli_env(SYNC_NOW=PUBLISHED_NOW)
    )
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture
def copy(published, tmp_path) -> Path:
    shutil.copytree(published, tmp_path / "copy", symlinks=True)
    return tmp_path / "copy" / "dataset"


def run(*args, now: str = LATER, **env) -> tuple[int, str]:
    result = sync(*args, cwd=Path.cwd(), env=cli_env(SYNC_NOW=now, **env))
    return result.returncode, result.stdout + result.stderr


# -- dates, markets and targets -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, says",
    [
        (["full", "--end", "20260230"], ["YYYYMMDD", "20260230"]),  # no such day
        (["full", "--start", "20261301"], ["YYYYMMDD", "20261301"]),  # no such month
        (["delta", "--end", "2026/01/05"], ["YYYYMMDD", "e.g. 20240105"]),
        (["full", "--markets", "主板,nyse"], ["'all'", "nyse"]),  # one good, one unknown
        (["full", "--markets", ","], ["'all'"]),  # nothing named
    ],
)
def test_malformed_dates_and_markets_exit_2_and_show_a_valid_form(tmp_path, args, says):
    code, text = run(*args, "--repo", str(tmp_path / "new"))
    assert code == 2
    assert all(s in text for s in says), text
    assert not (tmp_path / "new").exists()


def test_an_unknown_market_in_the_environment_names_the_variable(tmp_path):
    code, text = run("full", "--repo", str(tmp_path / "new"), SYNC_MARKETS="nasdaq")
    assert code == 2 and "SYNC_MARKETS" in text and "'all'" in text and "nasdaq" in text
    assert not (tmp_path / "new").exists()


def test_end_before_start_says_to_swap_them_and_changes_nothing(copy):
    head = open_repo(str(copy)).head()
    code, text = run("full", "--start", "20260112", "--end", "20260106", "--repo", str(copy))
    assert open_repo(str(copy)).head() == head
    assert "--start" in text and "--end" in text, f"the message should name the options to fix: {text}"
    assert code == 2, "--end before --start is a usage error (exit 2 by the CLI contract)"


def test_a_start_in_the_future_says_which_start_to_use_and_changes_nothing(copy):
    head = open_repo(str(copy)).head()
    code, text = run("full", "--start", "20300101", "--repo", str(copy))
    assert code != 0 and open_repo(str(copy)).head() == head
    assert "2030-01-01" in text or "20300101" in text
    assert "--start" in text, f"the message should say what to do (an earlier --start): {text}"


def test_an_end_in_the_future_means_the_newest_day_that_may_be_published(tmp_path, copy):
    code, text = run("full", "--start", "20260105", "--end", "20300101", "--repo", str(tmp_path / "new"))
    assert code == 0, text
    assert (tmp_path / "new" / ".last_update_date").read_text() == "20260116"
    code, text = run("delta", "--end", "20300101", "--repo", str(copy))
    assert code == 0 and (copy / ".last_update_date").read_text() == "20260116"


BAD_REPO_IDS = [
    "hf://datasets/onlyowner",
    "hf://models/owner/name",
    "hf://datasets/a/b/c",
    "hf://datasets/-x/name",
    "hf://datasets/owner/na me",
]


@pytest.mark.parametrize("target", BAD_REPO_IDS)
@pytest.mark.parametrize("command", ["delta", "verify"])
def test_a_malformed_hub_repo_id_shows_the_form_to_use(command, target):
    code, text = run(command, "--repo", target)
    assert code != 0
    assert "use hf://datasets/OWNER/NAME" in text and "e.g. hf://datasets/ellendan/a-share-prices" in text
    assert "unexpected" not in text


@pytest.mark.parametrize("target", BAD_REPO_IDS[:2])
def test_a_malformed_hub_repo_id_is_a_usage_error(target):
    code, _ = run("status", "--repo", target)
    assert code == 2, "a malformed --repo is a usage error (exit 2 by the CLI contract)"


# -- tokens and permissions on the Hub --------------------------------------------------------------------
@pytest.mark.parametrize(
    "token, says",
    [(None, "HF_TOKEN"), ("hf_wrongTokenNeverShown", "HF_TOKEN"), ("hf_readOnlyTokenNeverShown", "write")],
)
def test_a_hub_repo_without_write_access_fails_clearly_and_keeps_its_data(hub_server, hf_home, published, token, says):
    version = published / "dataset"
    head = hub_server.commit_files(HUB_REPO, {p: (version / p).read_bytes() for p in walk(version)}, message="base")
    hub_server.tokens = {"hf_writeTokenNeverShown": "write", "hf_readOnlyTokenNeverShown": "read"}
    env = {"HF_TOKEN": token} if token else {}
    # The demo market's data, published to the Hub on purpose (the one opt-in for a Hub target).
    code, text = run(
        "delta", "--repo", f"hf://datasets/{HUB_REPO}", HF_HOME=str(hf_home), SYNC_SOURCE="synthetic", **env
    )
    assert code == 1, text
    assert says in text and "unexpected" not in text, text
    assert token is None or token not in text
    assert hub_server.head(HUB_REPO) == head, "nothing was published"


# -- foreign or damaged files in the dataset repo -----------------------------------------------------------
def _tamper(repo, what: str) -> str:
    """Commit one kind of damage as a foreign writer would; returns the path it damaged."""
    head = repo.head()
    table = from_parquet(repo.read(JAN, head))
    if what == "stray_shard":
        path, data = "data/2025/2025-06.parquet", to_parquet(table.slice(0, 10))
    elif what == "broken_state":
        path, data = ".sync/state.json", b'{"watermark": "2026011'
    elif what == "duplicate_rows":
        doubled = pa.concat_tables([table, table.slice(0, 1)]).sort_by([("date", "ascending"), ("code", "ascending")])
        path, data = JAN, to_parquet(doubled)
    elif what == "missing_column":
        path, data = JAN, to_parquet(table.drop_columns(["pe"]))
    elif what == "wrong_type":
        position = table.schema.get_field_index("volume")
        path, data = JAN, to_parquet(table.set_column(position, "volume", table.column("volume").cast(pa.string())))
    else:  # truncated
        whole = repo.read(JAN, head)
        path, data = JAN, whole[: len(whole) // 2]
    repo.commit(Commit(adds={path: data}, deletes=[], message=f"tamper: {what}"), parent=head)
    return path


DAMAGE = ["stray_shard", "broken_state", "duplicate_rows", "missing_column", "wrong_type", "truncated"]


@pytest.mark.parametrize("what", DAMAGE)
def test_verify_names_the_damaged_file(copy, what):
    path = _tamper(open_repo(str(copy)), what)
    code, text = run("verify", "--repo", str(copy))
    assert code == 1
    assert path in text, f"verify should name {path}: {text}"
    assert "unexpected" not in text, text


@pytest.mark.parametrize("what", DAMAGE)
def test_status_still_answers_on_a_damaged_repo(copy, what):
    _tamper(open_repo(str(copy)), what)
    code, text = run("status", "--repo", str(copy))
    assert "unexpected" not in text, text
    assert code in (0, 1)


@pytest.mark.parametrize("what", DAMAGE)
def test_a_delta_on_a_damaged_repo_repairs_it_or_refuses_naming_the_file_and_the_fix(copy, what):
    """Either outcome is fine: published and verify clean with no day lost, or refused with the file
    named, a command to run, and the repo unchanged. Never an "unexpected" crash, never a publish
    that leaves the damage in place."""
    repo = open_repo(str(copy))
    path = _tamper(repo, what)
    head = repo.head()
    code, text = run("delta", "--repo", str(copy))
    assert "unexpected" not in text, text
    if code == 0:
        verify_code, problems = run("verify", "--repo", str(copy))
        assert verify_code == 0, f"the delta published (exit 0) but left the damage in place:\n{problems}"
        assert (copy / ".last_update_date").read_text() == "20260116"
    else:
        assert code == 1 and repo.head() == head, "a refused run changes nothing"
        assert path in text and "python -m sync" in text, f"name {path} and the command that fixes it: {text}"
