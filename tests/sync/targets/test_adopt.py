"""A plain folder holding a published dataset (copied, restored, downloaded) is read, then adopted."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from dataset_script.state import ShardInfo, SyncState
from sync.targets import PublishError
from sync.targets.commit import Commit
from sync.targets.local import LocalFolderRepo
from tests.support import ROOT
from tests.support.repos import CARD, parquet

SHARDS = {"data/2024/2024-01.parquet": ([2, 3], 1), "data/2024/2024-02.parquet": ([1, 2], 2)}


def dataset_files() -> dict[str, bytes]:
    """A small dataset whose .sync/state.json describes its files exactly."""
    files = {"README.md": CARD, ".last_update_date": b"20240202", "meta/stocks.parquet": parquet([1], 3)}
    shards = {}
    for path, (days, month) in SHARDS.items():
        files[path] = data = parquet(days, month)
        shards[path] = ShardInfo(
            rows=len(days),
            sha256=hashlib.sha256(data).hexdigest(),
            days=len(days),
            first_date=dt.date(2024, month, days[0]),
            last_date=dt.date(2024, month, days[-1]),
        )
    state = SyncState(
        watermark=dt.date(2024, 2, 2),
        first_date=dt.date(2024, 1, 2),
        markets=("主板",),
        shards=shards,
        files={
            p: hashlib.sha256(files[p]).hexdigest() for p in ("README.md", ".last_update_date", "meta/stocks.parquet")
        },
    )
    files[".sync/state.json"] = state.to_json().encode()
    return files


@pytest.fixture
def published(tmp_path) -> LocalFolderRepo:
    repo = LocalFolderRepo(tmp_path / "dataset")
    repo.commit(Commit(adds=dataset_files(), deletes=(), message="full"), parent=None)
    return repo


@pytest.fixture
def copy(published, tmp_path):
    """`cp -r dataset/ copy`: a plain folder with the dataset's files."""
    target = tmp_path / "copy"
    shutil.copytree(published.path, target)
    assert not target.is_symlink()
    return target


def tree(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cp_r_copy_of_a_dataset_folder_is_adopted_and_committed_to(published, copy):
    original = tree(published.path)
    repo = LocalFolderRepo(copy)
    head = repo.head()
    assert head is not None and len(head) == 40
    with repo.lock():
        assert copy.is_symlink(), "adopted when the run takes the lock"
        assert repo.head() == head, "the same commit id before and after adoption"
        new = repo.commit(
            Commit(adds={"data/2024/2024-03.parquet": parquet([1], 3)}, deletes=(), message="delta"), parent=head
        )
    assert repo.head() == new != head
    assert tree(copy) == {**original, "data/2024/2024-03.parquet": parquet([1], 3)}
    assert repo.read(".last_update_date", head) == b"20240202", "the adopted version stays readable"
    assert tree(published.path) == original, "the source of the copy is untouched"
    assert not (repo.store / "adopting").exists()


def test_reading_a_plain_dataset_folder_works_before_adoption(copy):
    repo = LocalFolderRepo(copy)
    head = repo.head()
    assert repo.list_files(head) == sorted(dataset_files())
    assert repo.read(".last_update_date", head) == b"20240202" and repo.read("nope.txt", head) is None
    assert not copy.is_symlink() and not repo.store.exists(), "reading changes nothing"


def test_status_of_a_copied_folder_works_from_the_command_line(copy):
    env = {**os.environ, "SYNC_NOW": "2024-02-05T20:00:00"}
    out = subprocess.run(
        [sys.executable, "-m", "sync", "status", "--json", "--repo", str(copy)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["watermark"] == "2024-02-02"
    assert not copy.is_symlink()


def test_first_commit_on_a_plain_folder_adopts_it(copy):
    repo = LocalFolderRepo(copy)
    head = repo.head()
    new = repo.commit(Commit(adds={"meta/runs.parquet": parquet([1])}, deletes=(), message="m"), parent=head)
    assert copy.is_symlink() and repo.head() == new
    assert repo.read("data/2024/2024-01.parquet", new) == dataset_files()["data/2024/2024-01.parquet"]


def test_a_hub_snapshot_downloaded_into_a_folder_is_adopted(hub_server, tmp_path):
    from huggingface_hub import HfApi, snapshot_download

    api = HfApi(endpoint=hub_server.url, token="hf_test")
    hub_server.commit_files("ellendan/a-share-prices", dataset_files())
    folder = tmp_path / "download"
    snapshot_download("ellendan/a-share-prices", repo_type="dataset", local_dir=folder, endpoint=api.endpoint)
    assert (folder / ".gitattributes").is_file() and (folder / ".cache" / "huggingface").is_dir()
    repo = LocalFolderRepo(folder)
    head = repo.head()
    assert ".gitattributes" in repo.list_files(head) and not any(f.startswith(".cache") for f in repo.list_files(head))
    with repo.lock():
        pass
    assert folder.is_symlink() and not (folder / ".cache").exists(), "the download bookkeeping stays behind"
    assert set(tree(folder)) == {*dataset_files(), ".gitattributes"}


def test_folder_with_stray_files_in_the_sync_s_own_folders_is_still_refused(copy):
    (copy / "data" / "2024" / "scratch.csv").write_text("x")
    repo = LocalFolderRepo(copy)
    with pytest.raises(PublishError) as e:
        repo.head()
    assert str(e.value) == (
        f"{copy} already holds files in the sync's own folders that it does not manage (data/2024/scratch.csv); "
        "there a dataset folder holds only meta/*.parquet, data/YYYY/YYYY-MM.parquet, by_code/*, index/prices.parquet "
        "and index/weights/YYYY.parquet. Move those files away, or point DATASET_REPO (or --repo) at an empty or new folder"
    )
    with pytest.raises(PublishError, match="does not manage"):
        with repo.lock():
            pass
    assert not copy.is_symlink() and (copy / "data" / "2024" / "scratch.csv").read_text() == "x"


def test_the_maintainer_s_files_beside_a_published_dataset_are_adopted_and_carried_forward(copy):
    (copy / "notes.txt").write_text("mine")
    (copy / "images").mkdir()
    (copy / "images" / "chart.png").write_bytes(b"\x89PNG not really")
    repo = LocalFolderRepo(copy)
    head = repo.head()
    assert {"notes.txt", "images/chart.png"} <= set(repo.list_files(head))
    new = repo.commit(Commit(adds={"meta/x.parquet": b"x"}, deletes=(), message="m"), parent=head)
    assert copy.is_symlink() and new != head
    assert (copy / "notes.txt").read_text() == "mine"
    assert (copy / "images" / "chart.png").read_bytes() == b"\x89PNG not really"


def test_plain_folder_with_a_tampered_shard_is_refused(copy):
    (copy / "data" / "2024" / "2024-01.parquet").write_bytes(parquet([2, 3, 4]))
    repo = LocalFolderRepo(copy)
    with pytest.raises(PublishError) as e:
        repo.commit(Commit(adds={"x.parquet": b"x"}, deletes=(), message="m"), parent=None)
    assert str(e.value) == (
        f"{copy} does not match its .sync/state.json (data/2024/2024-01.parquet has another sha256 than the state "
        "records): it changed after it was published. Copy or download the dataset again, or move this folder away "
        "and run `python -m sync full`"
    )
    assert not copy.is_symlink() and "x.parquet" not in tree(copy)


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda f: (f / "data" / "2024" / "2024-02.parquet").unlink(), "data/2024/2024-02.parquet is missing"),
        (
            lambda f: (f / "data" / "2024" / "2024-05.parquet").write_bytes(parquet([6], 5)),
            "data/2024/2024-05.parquet is not listed in the state",
        ),
        (lambda f: (f / ".last_update_date").write_text("20991231"), ".last_update_date has another sha256"),
        (lambda f: (f / ".sync" / "state.json").write_text("{"), ".sync/state.json is unreadable"),
    ],
)
def test_plain_folder_that_disagrees_with_its_state_is_refused(copy, change, problem):
    change(copy)
    with pytest.raises(PublishError, match="does not match its .sync/state.json") as e:
        LocalFolderRepo(copy).head()
    assert problem in str(e.value)


def test_plain_folder_without_a_state_is_refused_naming_its_files(copy):
    shutil.rmtree(copy / ".sync")
    with pytest.raises(PublishError) as e:
        LocalFolderRepo(copy).head()
    assert str(e.value) == (
        f"folder {copy} has no .sync/state.json and holds files that are not a dataset this sync published "
        "(data/2024/2024-01.parquet, data/2024/2024-02.parquet, meta/stocks.parquet), so it does not publish there. "
        "Publish to another target (--repo or DATASET_REPO, e.g. a new or empty one), or move those files out of "
        f"{copy} first; nothing was changed"
    )


def test_crash_between_the_two_renames_of_the_fallback_swap_is_recovered(copy, monkeypatch):
    """Without renameat2 the swap takes two renames; a crash between them puts the folder back."""
    import sync.targets.adopt as adopt
    import sync.targets.local as local

    original = tree(copy)
    repo = LocalFolderRepo(copy)
    head = repo.head()
    real_replace = os.replace

    def crash(src, dst, *args, **kwargs):
        if os.fspath(dst) == str(copy):
            raise OSError("simulated crash while swapping the link in")
        return real_replace(src, dst, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(adopt, "exchange", lambda a, b: False)
        patch.setattr(local.os, "replace", crash)
        with pytest.raises(OSError, match="simulated crash"):
            repo.commit(Commit(adds={"meta/runs.parquet": b"r"}, deletes=(), message="m"), parent=head)
    assert not os.path.lexists(copy), "the moment the fallback leaves no folder"
    again = LocalFolderRepo(copy)
    new = again.commit(Commit(adds={"meta/runs.parquet": parquet([1])}, deletes=(), message="m"), parent=head)
    assert copy.is_symlink() and again.head() == new
    assert tree(copy) == {**original, "meta/runs.parquet": parquet([1])}
