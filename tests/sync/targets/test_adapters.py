"""Both repo adapters behave the same: the local folder and the Hub (through the test Hub server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import traceback

import pytest
from huggingface_hub import HfApi

from dataset_script.schema import FOLDER_VERSIONS
from sync.targets import ConcurrentWriteError, PublishError, RepoBusyError, open_repo
from sync.targets.commit import Commit
from sync.targets.hub import HubRepo
from sync.targets.local import LocalFolderRepo
from tests.support import ROOT
from tests.support.repos import CARD, REPO_ID, TOKEN, first_commit, parquet


def visible(files: list[str]) -> list[str]:
    """Repo files without the `.gitattributes` that the Hub adds to every new repo."""
    return [f for f in files if f != ".gitattributes"]


@pytest.fixture(params=["local", "hub"])
def repo(request, tmp_path):
    if request.param == "local":
        return LocalFolderRepo(tmp_path / "dataset")
    server = request.getfixturevalue("hub_server")
    return HubRepo(REPO_ID, HfApi(endpoint=server.url, token=TOKEN), lock_dir=tmp_path / "locks", sleep=lambda s: None)


@pytest.fixture
def local(tmp_path) -> LocalFolderRepo:
    return LocalFolderRepo(tmp_path / "dataset")


@pytest.fixture
def waits() -> list[float]:
    """The seconds a HubRepo slept between commit retries (its `sleep`, which returns at once)."""
    return []


@pytest.fixture
def hub(hub_server, tmp_path, waits) -> HubRepo:
    return HubRepo(
        REPO_ID, HfApi(endpoint=hub_server.url, token=TOKEN), lock_dir=tmp_path / "locks", sleep=waits.append
    )


# -- behaviour shared by both adapters -----------------------------------------------------------
def test_new_repo_has_no_head_and_a_first_commit_reads_back(repo):
    assert repo.head() is None
    head = first_commit(repo)
    assert len(head) == 40 and head == head.lower() and repo.head() == head
    assert visible(repo.list_files(head)) == [".last_update_date", "README.md", "data/2024/2024-01.parquet"]
    assert repo.read(".last_update_date", head) == b"20240103"
    assert repo.read("meta/stocks.parquet", head) is None


def test_commit_applies_adds_and_deletes_at_once_and_the_old_revision_stays_readable(repo):
    old = first_commit(repo)
    new = repo.commit(
        Commit(
            adds={"data/2024/2024-02.parquet": parquet([1], 2), ".last_update_date": b"20240201"},
            deletes=["data/2024/2024-01.parquet"],
            message="second",
        ),
        parent=old,
    )
    assert new != old and repo.head() == new
    assert visible(repo.list_files(new)) == [".last_update_date", "README.md", "data/2024/2024-02.parquet"]
    assert repo.read(".last_update_date", new) == b"20240201"
    assert repo.read(".last_update_date", old) == b"20240103"
    assert repo.read("data/2024/2024-01.parquet", old) == parquet([2, 3])


def test_stale_parent_commit_is_refused_and_changes_nothing(repo):
    old = first_commit(repo)
    winner = repo.commit(Commit(adds={"a.txt": b"winner"}, deletes=(), message="other writer"), parent=old)
    with pytest.raises(ConcurrentWriteError, match="run the sync again") as e:
        repo.commit(Commit(adds={"a.txt": b"loser", "b.txt": b"b"}, deletes=["README.md"], message="late"), parent=old)
    assert "nothing was written" in str(e.value)
    assert repo.head() == winner
    assert repo.read("a.txt", winner) == b"winner" and "b.txt" not in repo.list_files(winner)
    assert "README.md" in repo.list_files(winner)


def test_commit_expecting_a_new_repo_is_refused_once_data_exists(repo):
    first_commit(repo)
    with pytest.raises(ConcurrentWriteError):
        repo.commit(Commit(adds={"x.txt": b"x"}, deletes=(), message="also first"), parent=None)


def test_recommitting_the_same_plan_is_a_no_op_returning_the_same_head(repo):
    old = first_commit(repo)
    plan = Commit(adds={"a.txt": b"a", "README.md": CARD}, deletes=["data/2024/2024-01.parquet"], message="m")
    new = repo.commit(plan, parent=old)
    assert repo.commit(plan, parent=new) == new == repo.head()


def test_a_file_on_disk_is_published_from_its_path_and_recommitting_it_is_a_no_op(repo, tmp_path):
    old = first_commit(repo)
    shard = tmp_path / "spill" / "feb.parquet"
    shard.parent.mkdir()
    shard.write_bytes(parquet([1, 2], 2))
    plan = Commit(adds={"data/2024/2024-02.parquet": shard}, deletes=(), message="from a path")
    new = repo.commit(plan, parent=old)
    assert new != old and repo.read("data/2024/2024-02.parquet", new) == shard.read_bytes()
    assert repo.commit(plan, parent=new) == new == repo.head()
    same_bytes = Commit(adds={"data/2024/2024-02.parquet": shard.read_bytes()}, deletes=(), message="from bytes")
    assert repo.commit(same_bytes, parent=new) == new, "a path and its bytes are the same content"


def test_no_op_commit_on_a_stale_parent_is_still_refused(repo):
    old = first_commit(repo)
    repo.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="m"), parent=old)
    with pytest.raises(ConcurrentWriteError):
        repo.commit(Commit(adds={"README.md": CARD}, deletes=(), message="nothing new"), parent=old)


def test_a_tag_names_its_first_commit_and_never_moves(repo):
    first = repo.commit(Commit(adds={"d.txt": b"1"}, deletes=(), message="m", tag="20240105"), parent=None)
    assert repo.read("d.txt", "20240105") == b"1"
    second = repo.commit(Commit(adds={"d.txt": b"2"}, deletes=(), message="m", tag="20240105"), parent=first)
    assert second != first and repo.read("d.txt", "20240105") == b"1"
    assert repo.read("d.txt", second) == b"2"
    assert repo.commit(Commit(adds={"d.txt": b"2"}, deletes=(), message="m", tag="20240106"), parent=second) == second
    with pytest.raises(PublishError):  # a commit that changes nothing creates no tag either
        repo.read("d.txt", "20240106")


def test_second_run_fails_fast_with_repo_busy_while_the_lock_is_held(repo):
    errors: list[BaseException] = []

    def second_run() -> None:
        try:
            with repo.lock():
                pass
        except BaseException as e:  # noqa: BLE001 - collected for the assertion below
            errors.append(e)

    with repo.lock():
        thread = threading.Thread(target=second_run)
        thread.start()
        thread.join(5)
        with pytest.raises(RepoBusyError, match="another sync is running on .*wait for it to finish"):
            with repo.lock():
                pass
    assert len(errors) == 1 and isinstance(errors[0], RepoBusyError)
    assert repo.description in str(errors[0])
    with repo.lock():  # released after the block
        pass


def test_lock_held_by_another_process_makes_this_one_fail_fast(repo, tmp_path):
    if isinstance(repo, HubRepo):
        make = f"HubRepo({REPO_ID!r}, HfApi(endpoint={repo.api.endpoint!r}), lock_dir=Path({str(repo.lock_dir)!r}))"
    else:
        make = f"LocalFolderRepo(Path({str(repo.path)!r}))"
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from huggingface_hub import HfApi
        from sync.targets.hub import HubRepo
        from sync.targets.local import LocalFolderRepo
        with {make}.lock():
            print("locked", flush=True)
            sys.stdin.read()
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(RepoBusyError):
            with repo.lock():
                pass
    finally:
        child.stdin.close()
        child.wait(10)
    with repo.lock():
        pass


def test_staging_round_trip_is_invisible_on_main_and_dropped_cleanly(repo):
    head = first_commit(repo)
    assert repo.stage_files("full-1") == []
    repo.stage_write("full-1", {"data/2024/2024-01.parquet": b"one", "meta/stocks.parquet": b"stocks"})
    repo.stage_write("full-1", {"data/2024/2024-02.parquet": b"two", "meta/stocks.parquet": b"stocks v2"})
    repo.stage_write("full-2", {"other.bin": b"o"})
    assert repo.stage_files("full-1") == [
        "data/2024/2024-01.parquet",
        "data/2024/2024-02.parquet",
        "meta/stocks.parquet",
    ]
    assert repo.stage_read("full-1", "meta/stocks.parquet") == b"stocks v2"
    assert repo.stage_read("full-2", "other.bin") == b"o"
    with pytest.raises(FileNotFoundError):
        repo.stage_read("full-1", "other.bin")
    assert repo.head() == head and repo.read("meta/stocks.parquet", head) is None
    repo.stage_drop("full-1")
    repo.stage_drop("full-1")
    assert repo.stage_files("full-1") == [] and repo.stage_files("full-2") == ["other.bin"]
    with pytest.raises(FileNotFoundError):
        repo.stage_read("full-1", "meta/stocks.parquet")


def test_staging_works_before_anything_is_published(repo):
    repo.stage_write("full-1", {"a.bin": b"a"})
    assert repo.stage_files("full-1") == ["a.bin"]
    assert repo.head() is None


def test_prune_drops_only_staging_areas_last_written_before_max_age(repo):
    import datetime as dt

    repo.stage_write("full-old", {"a.bin": b"a"})
    repo.stage_write("full-new", {"b.bin": b"b"})
    if isinstance(repo, LocalFolderRepo):  # age the old key's link (replaced on every write)
        link = repo.store / "staging" / "full-old"
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).timestamp()
        os.utime(link, (old, old), follow_symlinks=False)
        now = dt.datetime.now(dt.UTC)
    else:  # the Hub side is covered in test_publish_hub_limits; here both keys are equally old
        now = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    removed = repo.stage_prune(dt.timedelta(days=7), now)
    if isinstance(repo, LocalFolderRepo):
        assert removed == ["full-old"] and repo.stage_files("full-new") == ["b.bin"]
    else:
        assert removed == ["full-new", "full-old"]
    assert repo.stage_files("full-old") == []
    assert repo.stage_prune(dt.timedelta(days=7), now) == []


def test_invalid_paths_and_keys_are_rejected_before_any_io(repo):
    with pytest.raises(ValueError):
        Commit(adds={"../escape.txt": b"x"}, deletes=(), message="m")
    with pytest.raises(ValueError):
        Commit(adds={"a.txt": b"x"}, deletes=["a.txt"], message="m")
    with pytest.raises(ValueError):
        repo.stage_write("../x", {"a": b"a"})


# -- open_repo -------------------------------------------------------------------------------
def test_open_repo_picks_the_adapter_from_the_target_without_io(tmp_path):
    hub = open_repo("hf://datasets/ellendan/a-share-prices", hf_token=TOKEN)
    assert isinstance(hub, HubRepo) and hub.description == "hf://datasets/ellendan/a-share-prices"
    assert TOKEN not in hub.description and TOKEN not in repr(vars(hub).get("description"))
    folder = open_repo(str(tmp_path / "new" / "dataset"))
    assert isinstance(folder, LocalFolderRepo) and folder.description == f"folder {tmp_path / 'new' / 'dataset'}"
    assert not (tmp_path / "new").exists()
    with pytest.raises(PublishError, match="hf://datasets/OWNER/NAME"):
        open_repo("hf://models/gpt2")


# -- Hub specifics ---------------------------------------------------------------------------
def test_bad_token_gives_a_clear_error_that_never_shows_the_token(hub_server, hub):
    hub_server.tokens = {"hf_good": "write"}
    with pytest.raises(PublishError) as e:
        hub.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="m"), parent=None)
    text = str(e.value) + "".join(traceback.format_exception(e.value))
    assert "HF_TOKEN" in text and "write access" in text and "401" in text
    assert TOKEN not in text
    assert hub_server.repos == {}


def test_read_only_token_gives_a_clear_error_and_publishes_nothing(hub_server, tmp_path):
    hub_server.tokens = {TOKEN: "read", "hf_writer": "write"}
    hub_server.create_repo(REPO_ID)
    before = hub_server.head(REPO_ID)
    repo = HubRepo(REPO_ID, HfApi(endpoint=hub_server.url, token=TOKEN), lock_dir=tmp_path)
    with pytest.raises(PublishError, match="403.*HF_TOKEN to a token with write access") as e:
        repo.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="m"), parent=None)
    assert TOKEN not in str(e.value) and hub_server.head(REPO_ID) == before


def test_one_server_error_on_commit_is_retried_after_a_backoff(hub_server, hub, waits):
    head = first_commit(hub)
    hub_server.fail_next("POST", "/commit/", 500)
    new = hub.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="m"), parent=head)
    assert waits == [2.0] and hub_server.head(REPO_ID) == new != head


def test_server_errors_that_persist_publish_nothing_and_say_retry_later(hub_server, hub, waits):
    head = first_commit(hub)
    for _ in range(6):
        hub_server.fail_next("POST", "/commit/", 503)
    with pytest.raises(
        PublishError,
        match=r"kept answering HTTP 503 \(6 attempts, 62 s of waiting\); nothing was "
        r"published, retry later",
    ) as e:
        hub.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="m"), parent=head)
    assert e.value.retryable and waits == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert hub.head() == head


def test_unreachable_hub_says_check_the_network(tmp_path):
    repo = HubRepo(REPO_ID, HfApi(endpoint="http://127.0.0.1:9", token=TOKEN), lock_dir=tmp_path)
    with pytest.raises(PublishError, match="could not reach the Hub at http://127.0.0.1:9") as e:
        repo.head()
    assert TOKEN not in str(e.value)


def test_writer_committing_between_our_read_and_our_commit_is_detected(hub_server, hub):
    head = first_commit(hub)
    hub_server.before_next_commit(lambda: hub_server.commit_files(REPO_ID, {"theirs.txt": b"t"}))
    with pytest.raises(ConcurrentWriteError):
        hub.commit(Commit(adds={"mine.txt": b"m"}, deletes=(), message="m"), parent=head)
    assert set(hub_server.files(REPO_ID)) == {
        ".gitattributes",
        ".last_update_date",
        "README.md",
        "data/2024/2024-01.parquet",
        "theirs.txt",
    }


def test_hub_repo_holding_only_gitattributes_counts_as_new(hub_server, hub):
    hub_server.create_repo(REPO_ID)
    assert hub.head() is None
    head = first_commit(hub)
    assert hub_server.head(REPO_ID) == head


def test_hub_lock_defaults_to_a_file_under_hf_home_shared_by_every_repo_object(hub_server, hf_home):
    first = HubRepo(REPO_ID, HfApi(endpoint=hub_server.url, token=TOKEN))
    second = open_repo(f"hf://datasets/{REPO_ID}", hf_api=HfApi(endpoint=hub_server.url))
    with first.lock():
        assert list((hf_home / "locks" / "a-share-prices-sync").glob("*.lock"))
        with pytest.raises(RepoBusyError):
            with second.lock():
                pass


def test_staging_lives_on_a_side_branch_of_the_dataset_repo(hub_server, hub):
    hub.stage_write("full-1", {"a.bin": b"a"})
    assert "sync-staging/full-1" in hub_server.repos[("dataset", REPO_ID)].branches
    hub.stage_drop("full-1")
    assert set(hub_server.repos[("dataset", REPO_ID)].branches) == {"main"}


def test_published_hub_repo_loads_with_datasets(hub, hf_home):
    import datasets

    head = hub.commit(
        Commit(adds={"README.md": CARD, "data/2024/2024-02.parquet": parquet([1], 2)}, deletes=(), message="m"),
        parent=None,
    )
    hub.commit(Commit(adds={"data/2024/2024-01.parquet": parquet([2, 3])}, deletes=(), message="m"), parent=head)
    assert datasets.load_dataset(REPO_ID, split="train")["date"] == ["2024-01-02", "2024-01-03", "2024-02-01"]


# -- local folder specifics ------------------------------------------------------------------
def test_published_folder_has_the_repo_files_and_loads_with_datasets(local, hf_home):
    import datasets

    head = first_commit(local)
    local.commit(Commit(adds={"data/2024/2024-02.parquet": parquet([1], 2)}, deletes=(), message="m"), parent=head)
    folder = local.path
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert on_disk == [".last_update_date", "README.md", "data/2024/2024-01.parquet", "data/2024/2024-02.parquet"]
    assert datasets.load_dataset(str(folder), split="train")["date"] == ["2024-01-02", "2024-01-03", "2024-02-01"]


def test_loading_the_version_path_after_a_commit_sees_the_new_data(local, hf_home):
    # datasets 5.2 caches a local folder with YAML configs by path and card, not by file content,
    # so consumers that reload after a commit load the immutable version folder instead.
    import datasets

    head = first_commit(local)
    assert local.version_path() == local.path.resolve()
    assert len(datasets.load_dataset(str(local.version_path()), split="train")) == 2
    new = local.commit(
        Commit(adds={"data/2024/2024-01.parquet": parquet([2, 3, 4])}, deletes=(), message="m"), parent=head
    )
    assert local.version_path().name == new
    assert datasets.load_dataset(str(local.version_path()), split="train")["date"] == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]


def test_folder_with_foreign_files_is_refused_with_advice(tmp_path):
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "notes.txt").write_text("mine")
    repo = LocalFolderRepo(tmp_path / "dataset")
    with pytest.raises(PublishError, match=r"\(notes.txt\).*another target .*new or empty one"):
        repo.head()
    with pytest.raises(PublishError, match=r"\(notes.txt\).*another target .*new or empty one"):
        first_commit(repo)
    assert (tmp_path / "dataset" / "notes.txt").read_text() == "mine"


def test_empty_existing_folder_becomes_the_published_folder(tmp_path):
    (tmp_path / "dataset").mkdir()
    repo = LocalFolderRepo(tmp_path / "dataset")
    assert repo.head() is None
    head = first_commit(repo)
    assert (tmp_path / "dataset" / ".last_update_date").read_bytes() == b"20240103" and repo.head() == head


def test_unchanged_files_are_hard_linked_and_only_the_newest_versions_are_kept(local):
    heads = [first_commit(local)]
    old_inode = (local.path / "README.md").stat().st_ino
    for i in range(FOLDER_VERSIONS + 2):
        commit = Commit(adds={"n.txt": str(i).encode()}, deletes=(), message=f"m{i}")
        heads.append(local.commit(commit, parent=heads[-1]))
    assert (local.path / "README.md").stat().st_ino == old_inode
    kept = sorted(p.name for p in (local.store / "versions").iterdir())
    assert kept == sorted(heads[-FOLDER_VERSIONS:])
    for version in heads[-FOLDER_VERSIONS:]:
        assert local.read("README.md", version) == CARD


def test_tags_of_removed_versions_are_dropped_and_every_listed_tag_loads(local):
    head = first_commit(local)
    for i in range(FOLDER_VERSIONS + 1):
        commit = Commit(adds={"n.txt": str(i).encode()}, deletes=(), message=f"m{i}", tag=f"2024010{i}")
        head = local.commit(commit, parent=head)
    tags = local.tags()
    assert sorted(tags) == [f"2024010{i}" for i in range(1, FOLDER_VERSIONS + 1)], (
        "the oldest tag went with its version"
    )
    for tag in tags:
        assert local.read("n.txt", tag) == tag[-1].encode()
    assert json.loads((local.store / "tags.json").read_text()) == tags


CRASH_POINTS = {
    "linking an unchanged file": ("os", "link"),
    "writing a new file": ("sync.targets.local", "write_new"),
    "moving the version into place": ("os", "rename"),
    "making the new link": ("os", "symlink"),
    "swapping the link": ("os", "replace"),
}


@pytest.mark.parametrize("step", CRASH_POINTS)
def test_crash_mid_commit_leaves_the_old_version_whole_and_the_next_commit_works(local, hf_home, monkeypatch, step):
    import datasets

    head = first_commit(local)
    before = {f: local.read(f, head) for f in local.list_files(head)}
    module, name = CRASH_POINTS[step]
    target = sys.modules[module]
    real = getattr(target, name)
    calls = []

    def crash(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2 or name in ("rename", "symlink", "replace"):
            raise OSError(f"simulated crash while {step}")
        return real(*args, **kwargs)

    plan = Commit(
        adds={"data/2024/2024-02.parquet": parquet([1], 2), "new.txt": b"n"}, deletes=[".last_update_date"], message="m"
    )
    with monkeypatch.context() as patch:
        patch.setattr(target, name, crash)
        with pytest.raises(OSError, match="simulated crash"):
            local.commit(plan, parent=head)
    assert calls, f"the commit never reached the step: {step}"
    assert local.head() == head
    assert {
        p.relative_to(local.path).as_posix(): p.read_bytes() for p in local.path.rglob("*") if p.is_file()
    } == before
    assert datasets.load_dataset(str(local.path), split="train")["date"] == ["2024-01-02", "2024-01-03"]
    new = local.commit(plan, parent=head)
    assert local.read("new.txt", new) == b"n" and local.read(".last_update_date", new) is None
    assert list((local.store / "tmp").iterdir()) == []


def test_crash_after_the_swap_leaves_the_new_version_whole(local, monkeypatch):
    head = first_commit(local)
    monkeypatch.setattr(LocalFolderRepo, "_collect_garbage", lambda self: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError):
        local.commit(Commit(adds={"new.txt": b"n"}, deletes=(), message="m"), parent=head)
    new = local.head()
    assert new != head and (local.path / "new.txt").read_bytes() == b"n" and (local.path / "README.md").exists()


KILLED_WRITER = """
import sys
from pathlib import Path
from sync.targets.commit import Commit
from sync.targets.local import LocalFolderRepo
repo = LocalFolderRepo(Path(sys.argv[1]))
print("ready", flush=True)
for generation in range(10**6):
    adds = {f"data/f{i:02d}.bin": (b"%08d" % generation) * 8192 for i in range(12)}
    head = repo.head()
    repo.commit(Commit(adds=adds, deletes=(), message=f"generation {generation}"), parent=head)
"""


def test_writer_killed_with_sigkill_mid_commit_never_leaves_a_mix(local):
    for delay in (0.05, 0.13, 0.21, 0.34):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(local.path)], cwd=ROOT, stdout=subprocess.PIPE
        )
        try:
            assert child.stdout.readline().strip() == b"ready"
            threading.Event().wait(delay)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        head = local.head()
        if head is None:
            continue
        contents = {local.read(f, head) for f in local.list_files(head)}
        assert len(contents) == 1, f"mixed generations after SIGKILL at {delay} s"
        assert len(local.list_files(head)) == 12
    head = local.head()
    assert local.commit(Commit(adds={"after.txt": b"ok"}, deletes=(), message="after the crash"), parent=head)
    assert list((local.store / "tmp").iterdir()) == []
