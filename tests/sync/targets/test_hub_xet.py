"""The Hub adapter on the Hub's Xet storage: a refused Xet token is an auth error that names the fix,
and a Xet token route that keeps failing gives up in seconds, not minutes (sync/targets/hub_xet.py).

hf_xet raises builtin errors, not HfHubHTTPError; the test Hub answers its token route as told."""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi

from benchmarks.xet_token import seconds_to_fail
from sync.targets import PublishError
from sync.targets.commit import Commit
from sync.targets.hub import HubRepo
from sync.targets.hub_xet import XET_RETRY_ATTEMPTS_ENV, XET_RETRY_SECONDS, bound_xet_retries, xet_failure
from tests.support.repos import REPO_ID, TOKEN, first_commit, parquet

pytestmark = pytest.mark.hub_storage("xet")  # whatever HUB_TEST_STORAGE says


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def hub(hub_server, tmp_path, waits) -> HubRepo:
    return HubRepo(REPO_ID, HfApi(endpoint=hub_server.url, token=TOKEN), lock_dir=tmp_path, sleep=waits.append)


def a_shard() -> Commit:
    return Commit(adds={"data/2024/2024-02.parquet": parquet([1, 2], month=2)}, deletes=(), message="feb")


def test_the_adapter_publishes_shards_through_xet(hub_server, hub):
    head = first_commit(hub)
    new = hub.commit(a_shard(), parent=head)
    assert hub_server.head(REPO_ID) == new
    assert hub_server.xet_file(REPO_ID, "data/2024/2024-02.parquet") is not None
    assert hub.read("data/2024/2024-02.parquet", new) == parquet([1, 2], month=2)
    assert hub.commit(a_shard(), parent=new) == new, "an unchanged Xet file is recognised by its sha256"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_xet_token_is_an_auth_error_that_names_the_fix(hub_server, hub, waits, status):
    head = first_commit(hub)
    hub_server.refuse_xet_token(status)
    with pytest.raises(PublishError) as e:
        hub.commit(a_shard(), parent=head)
    message = str(e.value)
    assert f"HTTP {status} on xet-write-token" in message
    assert f"set HF_TOKEN to a token with write access to hf://datasets/{REPO_ID}" in message
    assert "could not reach" not in message and TOKEN not in message
    assert not e.value.retryable and waits == []
    tokens_asked = [p for _, p in hub_server.requests if "/xet-write-token/" in p]
    assert 1 <= len(tokens_asked) <= 2, "hf_xet may ask again once itself; the adapter never retries a refusal"
    assert hub_server.head(REPO_ID) == head


def test_a_failing_xet_token_route_is_transient_and_gives_up_within_the_bound(hub_server, hub, waits):
    head = first_commit(hub)
    hub_server.refuse_xet_token(503)
    with pytest.raises(PublishError) as e:
        hub.commit(a_shard(), parent=head)
    assert "the Hub's Xet storage kept answering HTTP 503" in str(e.value) and "retry later" in str(e.value)
    assert e.value.retryable and waits == [], "the run's retry policy takes over; the adapter does not loop"
    tokens_asked = [p for _, p in hub_server.requests if "/xet-write-token/" in p]
    assert len(tokens_asked) >= 2, "hf_xet retried it (how long: the slow test below, with the real waits)"
    assert hub_server.head(REPO_ID) == head


def test_other_connection_errors_are_not_taken_for_xet():
    assert xet_failure(ConnectionRefusedError("[Errno 111] Connection refused")) is None
    assert xet_failure(ConnectionError("Network error: Request error: timed out")) is None
    assert xet_failure(OSError("HTTP status client error (401 Unauthorized)")) is None
    refused = xet_failure(ConnectionError("Network error: Request error: HTTP status client error (403 Forbidden)"))
    assert refused is not None and refused.auth and not refused.transient


def test_the_retry_bound_leaves_an_operator_setting_alone():
    environ: dict[str, str] = {}
    bound_xet_retries(environ)
    assert environ == {XET_RETRY_ATTEMPTS_ENV: "3"}
    environ = {XET_RETRY_ATTEMPTS_ENV: "7"}
    bound_xet_retries(environ)
    assert environ == {XET_RETRY_ATTEMPTS_ENV: "7"}


@pytest.mark.slow
def test_a_persistent_503_on_the_xet_token_route_fails_in_seconds_with_the_real_waits(tmp_path):
    """In a fresh process, so hf_xet's session starts with the adapter's bound and its real waits
    (hf_xet's default, 5 attempts, took 99 to 243 s: docs/hub.md#xet-storage)."""
    seconds, retryable = seconds_to_fail(tmp_path)
    assert retryable and seconds <= 2 * XET_RETRY_SECONDS
