"""The test Hub speaks the protocol the real clients use: huggingface_hub 2.4 and datasets 5.2."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, HfFileSystem
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

REPO = "ellendan/a-share-prices"

CARD = """---
configs:
- config_name: default
  default: true
  data_files:
  - split: train
    path: data/*/*.parquet
- config_name: stocks
  data_files:
  - split: train
    path: meta/stocks.parquet
---
# A-share prices (test)
"""


def parquet(table: dict) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(table), sink)
    return sink.getvalue()


def month(year: int, month: int, days: list[int]) -> bytes:
    dates = [f"{year}-{month:02d}-{d:02d}" for d in days]
    return parquet({"code": ["600000.SH"] * len(dates), "date": dates, "close": [float(d) for d in days]})


@pytest.fixture
def api(hub_server) -> HfApi:
    return HfApi(endpoint=hub_server.url, token="hf_test")


def add(path: str, data: bytes) -> CommitOperationAdd:
    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=data)


def test_endpoint_comes_from_the_session_server(hub_server):
    import huggingface_hub.constants

    assert os.environ["HF_ENDPOINT"] == hub_server.url == huggingface_hub.constants.ENDPOINT
    assert not hub_server.url.endswith("/")


def test_create_repo_twice_is_fine_with_exist_ok_and_starts_with_gitattributes(api):
    url = api.create_repo(REPO, repo_type="dataset")
    assert url.repo_id == REPO
    assert api.create_repo(REPO, repo_type="dataset", exist_ok=True).repo_id == REPO
    with pytest.raises(HfHubHTTPError) as e:
        api.create_repo(REPO, repo_type="dataset")
    assert e.value.response.status_code == 409
    assert api.list_repo_files(REPO, repo_type="dataset") == [".gitattributes"]


def test_commit_round_trip_with_adds_deletes_and_folder_deletes(api, hf_home):
    api.create_repo(REPO, repo_type="dataset")
    first = api.create_commit(
        REPO,
        [add("a.txt", b"A"), add("dir/b.txt", b"B"), add("dir/sub/c.txt", b"C"), add("README.md", CARD.encode())],
        commit_message="first",
        repo_type="dataset",
    )
    assert len(first.oid) == 40 and first.oid == first.oid.lower()
    assert api.repo_info(REPO, repo_type="dataset").sha == first.oid
    second = api.create_commit(
        REPO,
        [CommitOperationDelete("a.txt"), CommitOperationDelete("dir/sub/", is_folder=True)],
        commit_message="second",
        repo_type="dataset",
        parent_commit=first.oid,
    )
    assert sorted(api.list_repo_files(REPO, repo_type="dataset")) == [".gitattributes", "README.md", "dir/b.txt"]
    assert "a.txt" in api.list_repo_files(REPO, repo_type="dataset", revision=first.oid)
    path = api.hf_hub_download(REPO, "dir/b.txt", repo_type="dataset", revision=second.oid)
    assert open(path, "rb").read() == b"B"
    assert Path(path).is_relative_to(hf_home / "hub")  # the per-test cache, not the developer's
    info = api.dataset_info(REPO, files_metadata=True)
    assert {s.rfilename: s.size for s in info.siblings}["dir/b.txt"] == 1
    assert info.card_data["configs"][0]["config_name"] == "default"


def test_stale_parent_commit_is_refused_with_412_and_changes_nothing(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    old = hub_server.head(REPO)
    hub_server.commit_files(REPO, {"other.txt": b"someone else"})
    with pytest.raises(HfHubHTTPError) as e:
        api.create_commit(REPO, [add("mine.txt", b"x")], commit_message="m", repo_type="dataset", parent_commit=old)
    assert e.value.response.status_code == 412
    assert "A commit has happened since" in str(e.value)
    assert "mine.txt" not in hub_server.files(REPO)


def test_short_parent_commit_matches_by_prefix(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    info = api.create_commit(
        REPO, [add("x.txt", b"1")], commit_message="m", repo_type="dataset", parent_commit=hub_server.head(REPO)[:7]
    )
    assert hub_server.head(REPO) == info.oid


def test_deleting_a_missing_file_fails_atomically(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    before = hub_server.head(REPO)
    with pytest.raises(EntryNotFoundError):
        api.create_commit(
            REPO, [add("new.txt", b"n"), CommitOperationDelete("nope.txt")], commit_message="m", repo_type="dataset"
        )
    assert hub_server.head(REPO) == before and "new.txt" not in hub_server.files(REPO)


def test_unchanged_files_make_no_commit(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    first = api.create_commit(REPO, [add("x.txt", b"same")], commit_message="m", repo_type="dataset")
    again = api.create_commit(REPO, [add("x.txt", b"same")], commit_message="m", repo_type="dataset")
    assert again.oid == first.oid == hub_server.head(REPO)


def test_missing_repo_revision_and_file_map_to_the_client_error_types(api):
    with pytest.raises(RepositoryNotFoundError):
        api.repo_info(REPO, repo_type="dataset")
    api.create_repo(REPO, repo_type="dataset")
    with pytest.raises(RevisionNotFoundError):
        api.repo_info(REPO, repo_type="dataset", revision="nope")
    with pytest.raises(EntryNotFoundError):
        api.hf_hub_download(REPO, "missing.txt", repo_type="dataset")
    assert api.file_exists(REPO, ".gitattributes", repo_type="dataset")
    assert not api.file_exists(REPO, "missing.txt", repo_type="dataset")
    assert not api.file_exists("ellendan/nothing", "x", repo_type="dataset")


def test_tree_listing_paginates_with_link_headers(api, hub_server):
    hub_server.commit_files(REPO, {f"data/f{i:03d}.txt": b"x" for i in range(120)})
    files = api.list_repo_tree(REPO, repo_type="dataset", path_in_repo="data", expand=True)
    assert [f.path for f in files] == [f"data/f{i:03d}.txt" for i in range(120)]
    cursors = [p for m, p in hub_server.requests if "/tree/" in p and "cursor=" in p]
    assert len(cursors) == 2
    infos = api.get_paths_info(REPO, ["data", "data/f001.txt", "nope"], repo_type="dataset")
    assert sorted(type(i).__name__ for i in infos) == ["RepoFile", "RepoFolder"]


def test_ranged_reads_return_206_and_past_the_end_416(hub_server, hf_home):
    data = bytes(range(256)) * 40
    hub_server.commit_files(REPO, {"blob.bin": data})
    fs = HfFileSystem(endpoint=hub_server.url)
    with fs.open(f"datasets/{REPO}/blob.bin", "rb", block_size=1000) as f:
        f.seek(5000)
        assert f.read(300) == data[5000:5300]
    assert any(m == "GET" and "/resolve/" in p for m, p in hub_server.requests)
    import httpx

    url = f"{hub_server.url}/datasets/{REPO}/resolve/main/blob.bin"
    r = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert (
        r.status_code == 206 and r.content == data[10:20] and r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    )
    r = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"
    r = httpx.head(url)
    assert r.headers["X-Repo-Commit"] == hub_server.head(REPO) and r.headers["Content-Length"] == str(len(data))


def test_branches_can_be_created_committed_to_listed_and_deleted(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    api.create_branch(REPO, repo_type="dataset", branch="sync-staging/full-1")
    api.create_branch(REPO, repo_type="dataset", branch="sync-staging/full-1", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as e:
        api.create_branch(REPO, repo_type="dataset", branch="sync-staging/full-1")
    assert e.value.response.status_code == 409
    api.create_commit(
        REPO, [add("staged.txt", b"s")], commit_message="stage", repo_type="dataset", revision="sync-staging/full-1"
    )
    assert "staged.txt" in api.list_repo_files(REPO, repo_type="dataset", revision="sync-staging/full-1")
    assert "staged.txt" not in api.list_repo_files(REPO, repo_type="dataset")
    path = api.hf_hub_download(REPO, "staged.txt", repo_type="dataset", revision="sync-staging/full-1")
    assert open(path, "rb").read() == b"s"
    refs = api.list_repo_refs(REPO, repo_type="dataset")
    assert sorted(b.name for b in refs.branches) == ["main", "sync-staging/full-1"]
    api.delete_branch(REPO, repo_type="dataset", branch="sync-staging/full-1")
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files(REPO, repo_type="dataset", revision="sync-staging/full-1")
    start = api.create_commit(REPO, [add("y.txt", b"y")], commit_message="m", repo_type="dataset").oid
    api.create_branch(REPO, repo_type="dataset", branch="from-sha", revision=start)
    assert hub_server.head(REPO, "from-sha") == start


def test_tags_point_at_commits_and_can_be_moved(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    first = hub_server.head(REPO)
    api.create_tag(REPO, repo_type="dataset", tag="20241231", tag_message="day")
    with pytest.raises(HfHubHTTPError) as e:
        api.create_tag(REPO, repo_type="dataset", tag="20241231")
    assert e.value.response.status_code == 409
    second = api.create_commit(REPO, [add("z.txt", b"z")], commit_message="m", repo_type="dataset").oid
    api.delete_tag(REPO, repo_type="dataset", tag="20241231")
    api.create_tag(REPO, repo_type="dataset", tag="20241231", revision=second)
    assert hub_server.tags(REPO) == {"20241231": second}
    refs = api.list_repo_refs(REPO, repo_type="dataset")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("20241231", second)]
    assert api.list_repo_files(REPO, repo_type="dataset", revision="20241231") == [".gitattributes", "z.txt"]
    commits = api.list_repo_commits(REPO, repo_type="dataset")
    assert [c.commit_id for c in commits] == [second, first]


def test_bad_token_is_rejected_with_401_and_read_token_cannot_write(hub_server, hf_home):
    hub_server.tokens = {"hf_write": "write", "hf_read": "read"}
    HfApi(endpoint=hub_server.url, token="hf_write").create_repo(REPO, repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as e:
        HfApi(endpoint=hub_server.url, token="hf_bad").repo_info(REPO, repo_type="dataset")
    assert e.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as e:
        HfApi(endpoint=hub_server.url, token="hf_read").create_commit(
            REPO, [add("x", b"x")], commit_message="m", repo_type="dataset"
        )
    assert e.value.response.status_code == 403


def test_injected_failure_fails_only_the_next_matching_request(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    hub_server.fail_next("POST", "/commit/", 500)
    with pytest.raises(HfHubHTTPError) as e:
        api.create_commit(REPO, [add("x.txt", b"x")], commit_message="m", repo_type="dataset")
    assert e.value.response.status_code == 500
    assert "x.txt" not in hub_server.files(REPO)
    api.create_commit(REPO, [add("x.txt", b"x")], commit_message="m", repo_type="dataset")
    assert "x.txt" in hub_server.files(REPO)


def test_concurrent_writer_hook_runs_between_read_and_commit(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    parent = api.repo_info(REPO, repo_type="dataset").sha
    hub_server.before_next_commit(lambda: hub_server.commit_files(REPO, {"theirs.txt": b"t"}))
    with pytest.raises(HfHubHTTPError) as e:
        api.create_commit(REPO, [add("mine.txt", b"m")], commit_message="m", repo_type="dataset", parent_commit=parent)
    assert e.value.response.status_code == 412
    assert set(hub_server.files(REPO)) == {".gitattributes", "theirs.txt"}


def test_load_dataset_reads_monthly_shards_in_path_order_and_keeps_meta_apart(api, hub_server, hf_home):
    import datasets

    api.create_repo(REPO, repo_type="dataset")
    stocks = parquet({"code": ["600000.SH", "600004.SH"], "name": ["浦发银行", "白云机场"]})
    # Committed out of order, over three commits: 2024-03 and 2024-02 first, 2023-12 last.
    api.create_commit(
        REPO,
        [
            add("data/2024/2024-03.parquet", month(2024, 3, [1, 4])),
            add("data/2024/2024-02.parquet", month(2024, 2, [1, 2])),
        ],
        commit_message="two months",
        repo_type="dataset",
    )
    api.create_commit(
        REPO,
        [add("meta/stocks.parquet", stocks), add("README.md", CARD.encode())],
        commit_message="meta and card",
        repo_type="dataset",
    )
    head = api.create_commit(
        REPO, [add("data/2023/2023-12.parquet", month(2023, 12, [29]))], commit_message="late", repo_type="dataset"
    ).oid

    ds = datasets.load_dataset(REPO, split="train")
    assert ds["date"] == ["2023-12-29", "2024-02-01", "2024-02-02", "2024-03-01", "2024-03-04"]
    assert ds.column_names == ["code", "date", "close"]
    assert any(head in f["filename"] for f in ds.cache_files)
    assert all(Path(f["filename"]).is_relative_to(hf_home / "datasets") for f in ds.cache_files)
    names = datasets.load_dataset(REPO, "stocks", split="train")
    assert names["name"] == ["浦发银行", "白云机场"]
    streamed = datasets.load_dataset(REPO, split="train", streaming=True)
    assert [row["date"] for row in streamed] == ds["date"]


def test_commit_quota_answers_429_with_retry_after_and_changes_nothing(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    hub_server.limit_commits(per_hour=2)
    api.create_commit(REPO, [add("a.txt", b"1")], commit_message="one", repo_type="dataset")
    api.create_branch(REPO, branch="side", repo_type="dataset")
    api.create_commit(REPO, [add("b.txt", b"2")], commit_message="two", repo_type="dataset", revision="side")
    head = hub_server.head(REPO)
    with pytest.raises(HfHubHTTPError) as e:
        api.create_commit(REPO, [add("c.txt", b"3")], commit_message="three", repo_type="dataset")
    assert e.value.response.status_code == 429 and "hourly quotas for action: commit" in str(e.value)
    assert 3590 <= int(e.value.response.headers["Retry-After"]) <= 3600, "until the first commit leaves the hour"
    assert hub_server.head(REPO) == head and hub_server.throttled == 1
    hub_server.advance(3601)
    api.create_commit(REPO, [add("c.txt", b"3")], commit_message="three", repo_type="dataset")
    hub_server.limit_commits(per_hour=1, retry_after=42)
    with pytest.raises(HfHubHTTPError) as e:
        api.create_commit(REPO, [add("d.txt", b"4")], commit_message="four", repo_type="dataset")
    assert e.value.response.headers["Retry-After"] == "42"


def test_refs_and_folder_last_commit_give_the_dates_of_a_branch(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    api.create_branch(REPO, branch="sync-staging/k", repo_type="dataset")
    api.create_commit(
        REPO, [add("staging/a.txt", b"a")], commit_message="stage", repo_type="dataset", revision="sync-staging/k"
    )
    staged_at = hub_server.commit_dates(REPO, "sync-staging/k")[0]
    hub_server.advance(86400)
    api.create_commit(
        REPO, [add("other.txt", b"o")], commit_message="later", repo_type="dataset", revision="sync-staging/k"
    )
    refs = {b.name: b.target_commit for b in api.list_repo_refs(REPO, repo_type="dataset").branches}
    assert set(refs) == {"main", "sync-staging/k"}
    commits = api.list_repo_commits(REPO, repo_type="dataset", revision=refs["sync-staging/k"])
    assert commits[0].created_at - commits[1].created_at >= dt.timedelta(days=1)
    [folder] = api.get_paths_info(REPO, ["staging"], expand=True, repo_type="dataset", revision="sync-staging/k")
    assert folder.last_commit.title == "stage", "the last commit that changed the folder, not the head"
    assert folder.last_commit.date.isoformat().replace("+00:00", "Z")[:19] == staged_at[:19]
