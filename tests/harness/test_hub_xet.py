"""The test Hub stores files like the real Hub, with Xet: huggingface_hub 2.4 and hf_xet 1.8 run
their real upload and download paths against it (docs/hub.md#xet-storage)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys

import httpx2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, HfFileSystem
from huggingface_hub.errors import HfHubHTTPError

from tests.support.hub_xet import parse_shard

pytestmark = pytest.mark.hub_storage("xet")  # whatever HUB_TEST_STORAGE says

REPO = "ellendan/a-share-prices"


def shard(days: list[int]) -> bytes:
    dates = [f"2024-03-{d:02d}" for d in days]
    table = pa.table({"code": ["600000.SH"] * len(dates), "date": dates, "close": [float(d) for d in days]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@pytest.fixture
def api(hub_server) -> HfApi:
    return HfApi(endpoint=hub_server.url, token="hf_test")


def commit(api: HfApi, adds: dict[str, bytes]) -> str:
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=d) for p, d in adds.items()]
    return api.create_commit(REPO, ops, commit_message="add", repo_type="dataset").oid


def test_tracked_files_go_through_xet_and_the_rest_stays_inline(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    data = shard([1, 4])
    commit(api, {"data/2024/2024-03.parquet": data, "notes.txt": b"plain"})

    stored = hub_server.xet_file(REPO, "data/2024/2024-03.parquet")
    assert stored is not None and stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert hub_server.xet_file(REPO, "notes.txt") is None
    assert hub_server.files(REPO)["data/2024/2024-03.parquet"] == data, "the Hub rebuilt the bytes from the CAS"
    assert any("/xet-write-token/main" in p for _, p in hub_server.requests)
    on_disk = [
        f for s in (hub_server.cas.root / "xet" / "xorbs" / "shards").glob("*.mdb") for f in parse_shard(s.read_bytes())
    ]
    assert stored in on_disk, "hf_xet itself wrote the shard naming the file"


def test_listings_carry_the_xet_hash_and_the_lfs_pointer(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    data = shard([1])
    commit(api, {"data/2024/2024-03.parquet": data})
    stored = hub_server.xet_file(REPO, "data/2024/2024-03.parquet")

    [entry] = api.get_paths_info(REPO, ["data/2024/2024-03.parquet"], repo_type="dataset")
    assert entry.xet_hash == stored.xet_hash and entry.lfs.sha256 == stored.sha256 and entry.size == len(data)
    tree = {e.path: e for e in api.list_repo_tree(REPO, recursive=True, repo_type="dataset")}
    assert tree["data/2024/2024-03.parquet"].xet_hash == stored.xet_hash
    siblings = {s.rfilename: s for s in api.repo_info(REPO, repo_type="dataset", files_metadata=True).siblings}
    assert siblings["data/2024/2024-03.parquet"].lfs.sha256 == stored.sha256


def test_resolve_answers_a_302_with_the_xet_headers_like_the_hub(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    data = shard([1])
    head = commit(api, {"data/2024/2024-03.parquet": data})
    url = f"{hub_server.url}/datasets/{REPO}/resolve/main/data/2024/2024-03.parquet"

    answer = httpx2.head(url, follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["X-Xet-Hash"] == hub_server.xet_file(REPO, "data/2024/2024-03.parquet").xet_hash
    assert answer.headers["X-Linked-Etag"].strip('"') == hashlib.sha256(data).hexdigest()
    assert answer.headers["X-Linked-Size"] == str(len(data)) and answer.headers["X-Repo-Commit"] == head
    assert answer.links["xet-auth"]["url"].endswith(f"/api/datasets/{REPO}/xet-read-token/{head}")
    token = httpx2.get(answer.links["xet-auth"]["url"])
    assert token.json()["casUrl"] == hub_server.cas.url == token.headers["X-Xet-Cas-Url"]
    assert int(token.headers["X-Xet-Token-Expiration"]) == token.json()["exp"]


def test_downloads_go_through_the_read_token_and_ranged_reads_follow_the_redirect(api, hub_server, hf_home):
    api.create_repo(REPO, repo_type="dataset")
    data = shard([1, 4, 5])
    commit(api, {"data/2024/2024-03.parquet": data})
    hub_server.requests.clear()

    local = api.hf_hub_download(REPO, "data/2024/2024-03.parquet", repo_type="dataset")
    assert open(local, "rb").read() == data
    assert any("/xet-read-token/" in p for _, p in hub_server.requests), "downloaded with hf_xet"
    with HfFileSystem(endpoint=hub_server.url).open(f"datasets/{REPO}/data/2024/2024-03.parquet", "rb") as f:
        f.seek(len(data) - 8)
        assert f.read(8) == data[-8:]
    assert any(p.startswith("/xet-bridge/") for _, p in hub_server.requests), "the ranged read went to the bridge"


def test_unchanged_file_makes_no_commit(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    data = shard([1])
    first = commit(api, {"data/2024/2024-03.parquet": data})
    hub_server.requests.clear()
    assert commit(api, {"data/2024/2024-03.parquet": data}) == first
    # The client hashes a Xet upload while sending it (hf_xet dedups every chunk), then drops the no-op.
    assert not any("/commit/" in p for _, p in hub_server.requests)


def test_a_commit_naming_bytes_no_shard_holds_is_refused(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    lines = [
        {"key": "header", "value": {"summary": "forged"}},
        {"key": "lfsFile", "value": {"path": "x.parquet", "algo": "sha256", "oid": "ab" * 32, "size": 10}},
    ]
    body = "\n".join(json.dumps(line) for line in lines)
    answer = httpx2.post(f"{hub_server.url}/api/datasets/{REPO}/commit/main", content=body)
    assert answer.status_code == 422 and "does not exist" in answer.json()["error"]
    assert set(hub_server.files(REPO)) == {".gitattributes"}


def test_direct_commits_of_tracked_files_are_stored_on_xet_too(api, hub_server, hf_home):
    data = shard([7])
    hub_server.commit_files(REPO, {"data/2024/2024-03.parquet": data})
    assert hub_server.xet_file(REPO, "data/2024/2024-03.parquet") is not None
    local = api.hf_hub_download(REPO, "data/2024/2024-03.parquet", repo_type="dataset")
    assert open(local, "rb").read() == data


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_write_token_reaches_the_client_as_a_builtin_connection_error(api, hub_server, status):
    """What the Hub adapter has to map (sync/targets/hub.py): hf_xet raises no HfHubHTTPError."""
    api.create_repo(REPO, repo_type="dataset")
    hub_server.refuse_xet_token(status)
    with pytest.raises(ConnectionError) as e:
        commit(api, {"data/2024/2024-03.parquet": shard([1])})
    assert not isinstance(e.value, HfHubHTTPError) and str(status) in str(e.value)
    assert set(hub_server.files(REPO)) == {".gitattributes"}


@pytest.mark.hub_storage("regular")
def test_regular_storage_keeps_every_file_inline(api, hub_server):
    api.create_repo(REPO, repo_type="dataset")
    data = shard([1])
    commit(api, {"data/2024/2024-03.parquet": data})
    assert hub_server.xet_file(REPO, "data/2024/2024-03.parquet") is None
    assert hub_server.files(REPO)["data/2024/2024-03.parquet"] == data
    assert not any("xet" in p for _, p in hub_server.requests)


def test_a_fresh_interpreter_with_only_hf_endpoint_loads_xet_stored_shards(api, hub_server, tmp_path):
    """What a consumer runs: `datasets.load_dataset` with HF_ENDPOINT set, nothing else of ours."""
    api.create_repo(REPO, repo_type="dataset")
    commit(api, {"data/2024/2024-03.parquet": shard([1, 4, 5])})
    assert hub_server.xet_file(REPO, "data/2024/2024-03.parquet") is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUB_"))}
    env.update(HF_ENDPOINT=hub_server.url, HF_HOME=str(tmp_path / "home"))
    code = f"import datasets; print(list(datasets.load_dataset({REPO!r}, split='train')['date']))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "['2024-03-01', '2024-03-04', '2024-03-05']", done.stderr[-2000:]
    assert any("/xet-read-token/" in p for _, p in hub_server.requests), "read through hf_xet"
