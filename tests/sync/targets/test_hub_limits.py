"""The Hub adapter within the Hub's limits: commit retries on 429/5xx, batched staging, pruning.

Everything goes through the real huggingface_hub client against the test Hub; only `sleep` and
the staging clock are injected, so no test waits for real.
"""

from __future__ import annotations

import datetime as dt

import pytest
from huggingface_hub import HfApi

from sync.targets import ConcurrentWriteError, PublishError
from sync.targets.commit import Commit
from sync.targets.hub import HubRepo
from tests.support.repos import REPO_ID, TOKEN, first_commit

BRANCH = "sync-staging/full-1"


class FakeTime:
    """A clock for staging intervals and a `sleep` that records waits and lets the Hub's hour pass."""

    def __init__(self, hub_server=None):
        self.now, self.waits, self.hub_server = 0.0, [], hub_server

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.tick(seconds)

    def tick(self, seconds: float) -> None:
        self.now += seconds
        if self.hub_server is not None:
            self.hub_server.advance(seconds)


@pytest.fixture
def fake(hub_server) -> FakeTime:
    return FakeTime(hub_server)


def make_repo(hub_server, tmp_path, fake: FakeTime, token: str = TOKEN, **kwargs) -> HubRepo:
    return HubRepo(
        REPO_ID,
        HfApi(endpoint=hub_server.url, token=token),
        lock_dir=tmp_path / "locks",
        sleep=fake.sleep,
        clock=fake.clock,
        **kwargs,
    )


@pytest.fixture
def hub(hub_server, tmp_path, fake) -> HubRepo:
    return make_repo(hub_server, tmp_path, fake)


def branch_commits(hub_server, branch: str = BRANCH) -> int:
    """Commits on the staging branch since it forked from main (main does not move in these tests)."""
    if branch not in hub_server.repos[("dataset", REPO_ID)].branches:
        return 0
    return len(hub_server.commit_dates(REPO_ID, branch)) - len(hub_server.commit_dates(REPO_ID))


def main_commit_count(hub_server) -> int:
    return len(hub_server.commit_dates(REPO_ID))


# -- commit retries --------------------------------------------------------------------------
def test_commit_rides_out_429_with_retry_after(hub_server, hub, fake):
    head = first_commit(hub)
    hub_server.limit_commits(per_hour=1, retry_after=1800)
    new = hub.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="second"), parent=head)
    assert fake.waits == [1800.0, 1800.0], "each wait is the Hub's Retry-After"
    assert hub_server.throttled == 2
    assert hub_server.head(REPO_ID) == new and main_commit_count(hub_server) == 3, "the commit landed once"
    assert hub_server.files(REPO_ID)["a.txt"] == b"a"


def test_commit_waits_until_the_quota_hour_frees_a_slot_when_the_hub_says_so(hub_server, hub, fake):
    head = first_commit(hub)
    hub_server.limit_commits(per_hour=1)  # Retry-After: the seconds until the first commit leaves the hour
    hub.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="second"), parent=head)
    assert len(fake.waits) == 1 and 3590 <= fake.waits[0] <= 3600


def test_commit_gives_up_after_repeated_429_with_repo_unchanged(hub_server, tmp_path):
    waits: list[float] = []
    hub = HubRepo(REPO_ID, HfApi(endpoint=hub_server.url, token=TOKEN), lock_dir=tmp_path, sleep=waits.append)
    head = first_commit(hub)
    hub_server.limit_commits(per_hour=1, retry_after=60)
    with pytest.raises(PublishError) as e:
        hub.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="second"), parent=head)
    assert str(e.value).startswith(
        f"hf://datasets/{REPO_ID}: could not commit: the Hub kept answering HTTP 429 (6 attempts, 300 s of waiting); "
        "it limits commits per repo and hour, nothing was published, retry later"
    )
    assert e.value.retryable and TOKEN not in str(e.value)
    assert waits == [60.0] * 5 and hub_server.throttled == 6
    assert hub_server.head(REPO_ID) == head and "a.txt" not in hub_server.files(REPO_ID)


def test_a_stale_parent_412_is_not_retried(hub_server, hub, fake):
    head = first_commit(hub)
    hub_server.before_next_commit(lambda: hub_server.commit_files(REPO_ID, {"theirs.txt": b"t"}))
    with pytest.raises(ConcurrentWriteError):
        hub.commit(Commit(adds={"mine.txt": b"m"}, deletes=(), message="m"), parent=head)
    assert fake.waits == []


def test_an_auth_error_is_not_retried(hub_server, tmp_path, fake):
    hub_server.tokens = {TOKEN: "read", "hf_writer": "write"}
    hub_server.create_repo(REPO_ID)
    hub = make_repo(hub_server, tmp_path, fake)
    with pytest.raises(PublishError, match="403") as e:
        hub.commit(Commit(adds={"a.txt": b"a"}, deletes=(), message="m"), parent=None)
    assert fake.waits == [] and not e.value.retryable


# -- batched staging -------------------------------------------------------------------------
def chunk(i: int) -> dict[str, bytes]:
    return {f"chunk-{i:03d}/daily.parquet": b"d%d" % i, f"chunk-{i:03d}/days.txt": b"%d" % i}


def test_staging_makes_at_most_one_branch_commit_per_interval(hub_server, hub, fake):
    for i in range(10):  # one chunk every 30 s for 5 minutes
        hub.stage_write("full-1", chunk(i))
        fake.tick(30)
    assert branch_commits(hub_server) == 3, "pushed at 0 s, 120 s and 240 s"
    on_branch = {p.removeprefix("staging/") for p in hub_server.files(REPO_ID, BRANCH) if p.startswith("staging/")}
    assert on_branch == {p for i in range(9) for p in chunk(i)}, "the push at 240 s carried every chunk up to it"
    assert hub.stage_files("full-1") == sorted(p for i in range(10) for p in chunk(i))
    assert hub.stage_read("full-1", "chunk-009/days.txt") == b"9"
    assert hub_server.head(REPO_ID) is not None and main_commit_count(hub_server) == 1, "main untouched"


def test_an_hour_of_staging_stays_within_the_hub_commit_quota(hub_server, hub, fake):
    hub_server.limit_commits(per_hour=30)
    for i in range(240):  # a chunk every 15 s for an hour
        hub.stage_write("full-1", chunk(i))
        fake.tick(15)
    assert branch_commits(hub_server) == 30 and hub_server.throttled == 0
    assert len(hub.stage_files("full-1")) == 480


def test_staged_files_survive_a_restart_on_this_machine(hub_server, tmp_path, fake):
    first = make_repo(hub_server, tmp_path, fake)
    first.stage_write("full-1", chunk(0))  # pushed at once
    first.stage_write("full-1", chunk(1))  # within the interval: on this machine only
    del first  # the run crashes
    fake.tick(10)
    second = make_repo(hub_server, tmp_path, fake)
    assert second.stage_files("full-1") == sorted([*chunk(0), *chunk(1)])
    assert second.stage_read("full-1", "chunk-001/days.txt") == b"1"
    second.stage_write("full-1", chunk(2))  # a new process pushes at once: both unpushed chunks go along
    on_branch = {p.removeprefix("staging/") for p in hub_server.files(REPO_ID, BRANCH) if p.startswith("staging/")}
    assert on_branch == {*chunk(0), *chunk(1), *chunk(2)} and branch_commits(hub_server) == 2


def test_another_machine_resumes_from_the_branch(hub_server, tmp_path, fake, monkeypatch):
    import huggingface_hub.constants as hub_constants

    make_repo(hub_server, tmp_path, fake).stage_write("full-1", chunk(0))
    monkeypatch.setattr(hub_constants, "HF_HOME", str(tmp_path / "other-machine"))
    other = make_repo(hub_server, tmp_path, fake)
    assert other.stage_files("full-1") == sorted(chunk(0))
    assert other.stage_read("full-1", "chunk-000/daily.parquet") == b"d0"


def test_a_rewritten_staged_file_is_pushed_again(hub_server, hub, fake):
    hub.stage_write("full-1", {"a.txt": b"v1"})
    fake.tick(120)
    hub.stage_write("full-1", {"a.txt": b"v2"})
    assert hub_server.files(REPO_ID, BRANCH)["staging/a.txt"] == b"v2"
    assert hub.stage_read("full-1", "a.txt") == b"v2"


def test_a_throttled_staging_commit_keeps_files_here_and_waits_for_retry_after(hub_server, hub, fake, caplog):
    hub_server.create_repo(REPO_ID)
    hub_server.limit_commits(per_hour=0, retry_after=600)
    with caplog.at_level("WARNING"):
        hub.stage_write("full-1", chunk(0))
    assert "HTTP 429" in caplog.text and "pushed again in 600 s" in caplog.text
    assert hub.stage_files("full-1") == sorted(chunk(0)) and fake.waits == [], "the fetch is never held up"
    hub_server.limit_commits(None)
    fake.tick(300)
    hub.stage_write("full-1", chunk(1))
    assert branch_commits(hub_server) == 0, "not before Retry-After has passed"
    fake.tick(300)
    hub.stage_write("full-1", chunk(2))
    on_branch = {p.removeprefix("staging/") for p in hub_server.files(REPO_ID, BRANCH) if p.startswith("staging/")}
    assert on_branch == {*chunk(0), *chunk(1), *chunk(2)} and branch_commits(hub_server) == 1


# -- pruning ---------------------------------------------------------------------------------
def test_prune_removes_only_old_staging_branches(hub_server, tmp_path, fake):
    old = make_repo(hub_server, tmp_path, fake)
    first_commit(old)
    old.stage_write("full-old", chunk(0))  # branch commit now
    old.stage_write("full-local", chunk(1))  # within the interval: only on this machine
    hub_server.commit_files(REPO_ID, {"x.txt": b"x"}, branch="feature")  # not ours
    hub_server.advance(8 * 86400)
    fresh = make_repo(hub_server, tmp_path, FakeTime())
    fresh.stage_write("full-new", chunk(2))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=8, minutes=1)
    assert fresh.stage_prune(dt.timedelta(days=7), now) == ["full-local", "full-old"]
    branches = set(hub_server.repos[("dataset", REPO_ID)].branches)
    assert branches == {"main", "feature", "sync-staging/full-new"}
    assert fresh.stage_files("full-old") == [] and fresh.stage_files("full-local") == []
    assert fresh.stage_files("full-new") == sorted(chunk(2))
    assert fresh.stage_prune(dt.timedelta(days=7), now) == []


def test_prune_on_a_missing_repo_removes_nothing(hub_server, hub):
    assert hub.stage_prune(dt.timedelta(days=7), dt.datetime.now(dt.UTC)) == []


def test_prune_keeps_a_branch_written_recently_even_if_it_was_created_long_ago(hub_server, tmp_path, fake):
    repo = make_repo(hub_server, tmp_path, fake)
    repo.stage_write("full-1", chunk(0))
    hub_server.advance(8 * 86400)
    fake.tick(120)
    repo.stage_write("full-1", chunk(1))  # a resumed run wrote to it today
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=8, minutes=1)
    assert repo.stage_prune(dt.timedelta(days=7), now) == []


# -- read retries ----------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 503])
@pytest.mark.parametrize(
    "method, path", [("GET", f"/api/datasets/{REPO_ID}"), ("GET", "/resolve/"), ("HEAD", "/resolve/")]
)
def test_a_read_rides_out_a_transient_hub_answer(hub_server, hub, fake, method, path, status):
    head = first_commit(hub)
    hub_server.fail_next(method, path, status)
    assert hub.head() == head and hub.read(".last_update_date", head) == b"20240103"
    assert not hub_server._failures, f"the {status} on {method} {path} was met, and the read went on"
    # huggingface_hub backs off a download's 429/503 itself; every other transient answer is ours.
    assert len(fake.waits) <= 1


def test_a_read_that_keeps_failing_says_retry_later(hub_server, tmp_path, fake):
    hub = make_repo(hub_server, tmp_path, fake)
    head = first_commit(hub)
    for _ in range(6):
        hub_server.fail_next("GET", "/resolve/", 503)
    with pytest.raises(PublishError) as e:
        hub.read(".last_update_date", head)
    assert "the Hub kept answering HTTP 503 (6 attempts" in str(e.value) and e.value.retryable
    assert TOKEN not in str(e.value)
