"""Concurrency matrix: two writers on one repo, a full sync racing a delta, the Space's scheduler
racing its full-sync button, and the Hub answering 429/5xx to a commit or an upload.

The interleavings are made from the code's own phases, never from sleeps: the second writer runs
to its end right before the first one's `commit` (or its first checkpoint) goes through, so the
first one meets a moved head (on the Hub, the server's 412) and must re-plan on it. Every outcome
is checked against a single-writer golden run, value for value (run metadata aside), and the
suite writes its figures to test-artifacts/reliability/concurrency.json.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import shutil
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from dataset_script.schema import (
    CARD_PATH,
    CHANGES_PATH,
    LAST_UPDATE_PATH,
    RUNS_PATH,
    STATE_PATH,
    is_by_code,
    shard_month,
    shard_path,
)
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.publish.head import Head
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from sync.targets import PublishError, RepoBusyError, open_repo
from sync.targets.files import walk
from sync.targets.local import LocalFolderRepo
from sync.tushare.client import TushareClient
from tests.support import ROOT

pytestmark = pytest.mark.slow  # the concurrency matrix: minutes of full and delta runs

TOKEN = "concurrency-token"
START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 8)  # the deltas cross a month boundary
NOW = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)
SETTINGS = Settings(markets=("主板",))
BASE_BACK = 8  # the starting repo is published through days[-BASE_BACK]
HUB_REPO = "concurrency/a-share-prices"
RUN_METADATA = (RUNS_PATH, CHANGES_PATH, CARD_PATH)  # differ between runs by nature (ids, times, counts)
ARTIFACT = ROOT / "test-artifacts" / "reliability" / "concurrency.json"


# -- figures: every scenario and its outcome -----------------------------------------------------
@pytest.fixture(scope="module")
def figures():
    results: list[dict] = []
    began = time.monotonic()
    yield results
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    groups: dict[str, dict[str, int]] = {}
    for entry in results:
        counts = groups.setdefault(entry["group"], {"scenarios": 0, "passed": 0, "known bug": 0, "failed": 0})
        counts["scenarios"] += 1
        counts[entry["outcome"]] += 1
    ARTIFACT.write_text(
        json.dumps(
            {
                "suite": "tests/reliability/test_concurrency.py",
                "scenarios": len(results),
                "passed": sum(e["outcome"] == "passed" for e in results),
                "known_bugs": sum(e["outcome"] == "known bug" for e in results),
                "failed": sum(e["outcome"] == "failed" for e in results),
                "seconds": round(time.monotonic() - began, 1),
                "groups": groups,
                "results": results,
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )


@pytest.fixture(autouse=True)
def scenario(request, figures):
    """Records this test's outcome (read from the session's failure count after the call phase)."""
    name = request.node.name
    group = request.node.originalname.removeprefix("test_")
    entry = {
        "group": GROUPS.get(group, group),
        "scenario": name.partition("[")[2].rstrip("]") or group,
        "test": request.node.originalname,
    }
    failed_before, began = request.session.testsfailed, time.monotonic()
    yield entry
    known = request.node.get_closest_marker("xfail")
    if request.session.testsfailed > failed_before:
        entry["outcome"] = "failed"
    elif known is not None:
        entry.update(outcome="known bug", bug=known.kwargs.get("reason", ""))
    else:
        entry["outcome"] = "passed"
    entry["seconds"] = round(time.monotonic() - began, 2)
    figures.append(entry)


GROUPS = {
    "two_writers_publish_every_day_once_and_both_runs_are_recorded": "two writers",
    "a_writer_on_the_same_machine_is_refused_and_changes_nothing": "two writers, same machine",
    "a_run_with_nothing_new_on_a_moved_head_reports_the_repo_watermark": "two writers",
    "a_delta_during_a_full_sync_survives_its_commit": "full racing delta",
    "scheduler_and_button_never_run_two_syncs_at_once": "scheduler and button",
    "the_hub_failing_a_commit_or_an_upload_is_backed_off_and_retried": "hub 429/5xx",
    "a_hub_that_keeps_failing_ends_with_a_clear_error_and_the_repo_unchanged": "hub 429/5xx, persistent",
}


# -- the market, golden runs ------------------------------------------------------------------
@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=20, seed=17))


@pytest.fixture(scope="module")
def days(market):
    return market.trade_dates()


@pytest.fixture(scope="module")
def tushare(market):
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: NOW) as server:
        yield server


def new_source(server: TushareServer) -> Source:
    """A source with its own client (each writer is its own process, with its own call counts)."""
    client = TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}, sleep=lambda s: None)
    return Source(client, "concurrency market", START)


@pytest.fixture(scope="module")
def golden(tushare, days, tmp_path_factory):
    """(the single-writer full run's dataset view, a folder published through days[-BASE_BACK])."""
    home = tmp_path_factory.mktemp("concurrency-golden")
    source = new_source(tushare)
    clean = open_repo(str(home / "clean" / "dataset"))
    run_full(clean, source, SETTINGS, NOW)
    run_full(open_repo(str(home / "base" / "dataset")), source, SETTINGS, NOW, end=days[-BASE_BACK])
    source.client.close()
    return dataset_view(clean), home / "base"


def dataset_view(repo, digests: bool = True) -> dict[str, object]:
    """What a consumer gets, by file: Parquet as frames, the state without its run summary; run
    metadata (meta/runs, meta/changes, the card) left out. `digests=False`: without the shards'
    checksums and sizes (for a dataset compared to a golden one with a value patched in)."""
    head = repo.head()
    view: dict[str, object] = {}
    for path in repo.list_files(head):
        if path in RUN_METADATA or path == ".gitattributes":
            continue
        data = repo.read(path, head)
        if path.endswith(".parquet"):
            view[path] = from_parquet(data).to_pandas()
        elif path == STATE_PATH:
            state = json.loads(data)
            state.pop("last_run", None)
            state["files"] = {p: d for p, d in state.get("files", {}).items() if p not in RUN_METADATA}
            view[path] = state
        else:
            view[path] = data
    return view if digests else strip_digests(view)


def strip_digests(view: dict[str, object]) -> dict[str, object]:
    """The view without what a patched value changes in the state: checksums, sizes and row digests
    of the shards and of the by_code files (their rows are compared as frames)."""
    state = json.loads(json.dumps(view[STATE_PATH]))
    for info in [*state["shards"].values(), *state.get("by_code", {}).values()]:
        for key in ("sha256", "bytes", "digest"):
            info.pop(key, None)
    return {**view, STATE_PATH: state}


def assert_same_dataset(actual: dict, wanted: dict) -> None:
    assert sorted(actual) == sorted(wanted), "the same files"
    for path, value in wanted.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(
                actual[path].reset_index(drop=True), value.reset_index(drop=True), check_exact=True, obj=path
            )
        else:
            assert actual[path] == value, path


def price_rows(repo) -> pd.DataFrame:
    head = repo.head()
    frames = [from_parquet(repo.read(p, head)).to_pandas() for p in repo.list_files(head) if shard_month(p)]
    return pd.concat(frames, ignore_index=True)


def run_ids(repo) -> list[str]:
    return from_parquet(repo.read(RUNS_PATH, repo.head())).column("run_id").to_pylist()


def watermark_of(repo) -> dt.date | None:
    state = Head.read(repo).state
    return state.watermark if state else None


# -- targets: a folder, or the local Hub; each writer its own handle ---------------------------------
class Sleeps:
    """The Hub adapter's `sleep` (and the client's own backoff): records every wait, never waits."""

    def __init__(self, on_sleep: Callable[[float], None] | None = None):
        self.waits: list[float] = []
        self.on_sleep = on_sleep or (lambda s: None)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.on_sleep(seconds)


@dataclasses.dataclass
class Target:
    kind: str  # "folder" or "hub"
    where: str  # the folder, or the Hub repo id
    tmp: Path

    def writer(self, machine: str, sleep: Callable[[float], None] = lambda s: None):
        """A repo handle of a writer on `machine`: writers on one machine share the run lock."""
        if self.kind == "folder":
            repo = LocalFolderRepo(Path(self.where))
            return repo if machine == "a" else OtherHost(repo)
        from huggingface_hub import HfApi

        from sync.targets.hub import HubRepo
        from tests.support.hub import session_hub

        return HubRepo(
            self.where, HfApi(endpoint=session_hub().url), lock_dir=self.tmp / f"locks-{machine}", sleep=sleep
        )


class OtherHost:
    """A folder writer on another host (a shared drive whose file locks this host does not see):
    its run lock does not exclude ours, so only the commit's parent check under the write lock
    stands between the two writers."""

    def __init__(self, repo: LocalFolderRepo):
        self.repo = repo

    def __getattr__(self, name: str):
        return getattr(self.repo, name)

    def lock(self):
        import contextlib

        return contextlib.nullcontext()


def prepared(kind: str, base: Path, tmp: Path, request) -> Target:
    """The target holding the base dataset (published through days[-BASE_BACK])."""
    if kind == "folder":
        shutil.copytree(base, tmp / "target", symlinks=True)
        return Target("folder", str(tmp / "target" / "dataset"), tmp)
    hub = request.getfixturevalue("hub_server")  # the session's local Hub, emptied for this test
    version = base / "dataset"
    hub.commit_files(HUB_REPO, {path: (version / path).read_bytes() for path in walk(version)}, message="base")
    return Target("hub", HUB_REPO, tmp)


class Raced:
    """`repo`, except that `other()` runs to its end right before the first call to `phase` (e.g.
    "commit": after this run planned on the head it read, before its commit lands).

    On the Hub this is the moment `HubServer.before_next_commit` names, one step earlier: that
    hook runs under the server's lock, so it can only take in-process commits, not a second
    writer that talks HTTP; here the second writer is the real run, through the real client.
    """

    def __init__(self, repo, phase: str, other: Callable[[], object]):
        self.repo, self.phase, self.other = repo, phase, other
        self.outcome: object = None
        self.fired = False

    def __getattr__(self, name: str):
        attr = getattr(self.repo, name)
        if name != self.phase or self.fired:
            return attr

        def raced(*args, **kwargs):
            if not self.fired:
                self.fired = True
                self.outcome = self.other()
            return attr(*args, **kwargs)

        return raced


# -- 1. two writers on one repo -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Writer:
    kind: str  # "full" or "delta"
    start: int | None = None  # index into the trading days (full only)
    end: int | None = None  # index into the trading days; None: the newest day

    def run(self, repo, source: Source, days: list[dt.date]):
        end = days[self.end] if self.end is not None else None
        if self.kind == "full":
            start = days[self.start] if self.start is not None else None
            return run_full(repo, source, SETTINGS, NOW, start=start, end=end, repo_id=HUB_REPO)
        return run_delta(repo, source, SETTINGS, NOW, end=end, repo_id=HUB_REPO)


def pair(name: str, first: Writer, second: Writer, adds: bool, **marks):
    """(the writer that meets the moved head, the writer that lands first, does the first add anything after it)."""
    return pytest.param(first, second, adds, id=name, **marks)


PAIRS = [
    # The outcome is the sequential one: a run that finds nothing new on the head it re-plans on
    # publishes nothing and leaves no trace, exactly as if it had run after the other.
    pair("delta-vs-delta", Writer("delta"), Writer("delta"), False),
    pair("delta-vs-delta-ending-earlier", Writer("delta"), Writer("delta", end=-4), True),
    pair("delta-ending-earlier-vs-delta", Writer("delta", end=-4), Writer("delta"), False),
    pair("full-vs-full-narrower", Writer("full"), Writer("full", start=10, end=-4), True),
    pair("full-narrower-vs-full", Writer("full", start=10, end=-4), Writer("full"), False),
    pair("full-vs-delta-ending-earlier", Writer("full"), Writer("delta", end=-4), True),
]
TARGETS = ("folder", "hub")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("first, second, adds", PAIRS)
def test_two_writers_publish_every_day_once_and_both_runs_are_recorded(
    first, second, adds, target, golden, tushare, days, tmp_path, hf_home, request, scenario
):
    wanted, base = golden
    where = prepared(target, base, tmp_path, request)
    a, b = new_source(tushare), new_source(tushare)
    theirs = where.writer("b")
    mine = Raced(where.writer("a"), "commit", lambda: second.run(theirs, b, days))
    result = first.run(mine, a, days)
    landed_first = mine.outcome

    repo = where.writer("a")
    assert mine.fired and landed_first.published and result.published == adds
    if not adds:
        assert result.commit is None and repo.head() == landed_first.commit, "no second commit"
    assert verify_repo(repo) == []
    rows = price_rows(repo)
    assert not rows.duplicated(["code", "date"]).any(), "no (code, date) twice"
    published = set(result.days) | set(landed_first.days)
    assert published <= set(rows["date"]), "every day either writer published is there"
    assert_same_dataset(dataset_view(repo), wanted)
    recorded = {landed_first.run_id, *([result.run_id] if adds else [])}
    assert recorded <= set(run_ids(repo)), "meta/runs records every run that published"
    assert watermark_of(repo) == days[-1], "the watermark never moves back"
    assert result.watermark == days[-1], "the run reports the repo's watermark"
    scenario.update(target=target, second_writer_published=adds, runs_recorded=len(recorded))


def test_a_run_with_nothing_new_on_a_moved_head_reports_the_repo_watermark(golden, tushare, days, tmp_path, scenario):
    _, base = golden
    where = prepared("folder", base, tmp_path, None)
    theirs = where.writer("b")
    mine = Raced(where.writer("a"), "commit", lambda: run_delta(theirs, new_source(tushare), SETTINGS, NOW))
    result = run_delta(mine, new_source(tushare), SETTINGS, NOW)
    assert not result.published
    assert result.watermark == days[-1], "the watermark the repo has, as a run after the other would say"


@pytest.mark.parametrize("target", TARGETS)
def test_a_writer_on_the_same_machine_is_refused_and_changes_nothing(
    target, golden, tushare, days, tmp_path, hf_home, request, scenario
):
    wanted, base = golden
    where = prepared(target, base, tmp_path, request)
    same_machine = where.writer("a") if target == "hub" else LocalFolderRepo(Path(where.where))
    heads = []

    def second():
        heads.append(same_machine.head())
        with pytest.raises(RepoBusyError, match="another sync is running"):
            run_delta(same_machine, new_source(tushare), SETTINGS, NOW, repo_id=HUB_REPO)
        heads.append(same_machine.head())

    mine = Raced(where.writer("a"), "commit", second)
    result = run_delta(mine, new_source(tushare), SETTINGS, NOW, repo_id=HUB_REPO)
    repo = where.writer("a")
    assert heads[0] == heads[1], "the refused run wrote nothing"
    assert result.published and verify_repo(repo) == []
    assert_same_dataset(dataset_view(repo), wanted)
    scenario.update(target=target)


# -- 2. a full sync racing a delta -------------------------------------------------------------------
RACES = {  # the full sync's phase right before which the delta lands
    "before-the-commit": "commit",
    "after-the-first-checkpoint": "stage_write",
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("phase", RACES, ids=list(RACES))
def test_a_delta_during_a_full_sync_survives_its_commit(
    phase, target, golden, market, days, tmp_path, hf_home, request, scenario
):
    """The full sync rebuilds [first day, days[-2]] and restates one published value (so it has
    something to commit); the delta publishes the newer days, up to days[-1], meanwhile."""
    wanted, base = golden
    where = prepared(target, base, tmp_path, request)
    month = shard_path(days[5])
    code = wanted[month].loc[wanted[month]["date"] == days[5], "code"].iloc[0]
    watermarks = []
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: NOW) as server:
        server.restate("adj_factor", code, days[5].strftime("%Y%m%d"), adj_factor=9.75)

        def delta():
            result = run_delta(where.writer("b"), new_source(server), SETTINGS, NOW, repo_id=HUB_REPO)
            watermarks.append(watermark_of(where.writer("a")))
            return result

        full = Raced(where.writer("a"), RACES[phase], delta)
        result = run_full(full, new_source(server), SETTINGS, NOW, end=days[-2], repo_id=HUB_REPO)
    repo = where.writer("a")
    delta_result = full.outcome
    assert full.fired and delta_result.published and delta_result.days[-1] == days[-1]
    assert watermarks == [days[-1]]
    assert result.published and result.watermark == days[-1], "the watermark never moves back"
    assert repo.read(LAST_UPDATE_PATH, repo.head()) == days[-1].strftime("%Y%m%d").encode()
    rows = price_rows(repo)
    assert days[-1] in set(rows["date"]), "the delta's day survives the full sync's commit"
    assert not rows.duplicated(["code", "date"]).any() and verify_repo(repo) == []
    restated = dict(wanted)
    for path in [month, *(p for p in wanted if is_by_code(p))]:  # the same row in the default and by_code configs
        restated[path] = frame = wanted[path].copy()
        frame.loc[(frame["code"] == code) & (frame["date"] == days[5]), "adj_factor"] = 9.75
    assert_same_dataset(dataset_view(repo, digests=False), strip_digests(restated))
    changes = from_parquet(repo.read(CHANGES_PATH, repo.head())).to_pandas()
    restatements = changes[changes["column"] != "(row)"]  # a delta also logs its new days' rows as "(row)"
    assert restatements[["code", "date", "column"]].values.tolist() == [[code, days[5], "adj_factor"]]
    assert {result.run_id, delta_result.run_id} <= set(run_ids(repo)), "meta/runs records both runs"
    scenario.update(target=target)


# -- 3. the Space: its scheduler and its full-sync button together -----------------------------------
ORDERS = ("button", "schedule", None)  # who fires first; None: both at once from a barrier
ROUNDS = 9


def test_scheduler_and_button_never_run_two_syncs_at_once(golden, tushare, days, tmp_path, hf_home, caplog, scenario):
    from space_app.space import Space

    wanted, base = golden
    shutil.copytree(base, tmp_path / "target", symlinks=True)
    folder = tmp_path / "target" / "dataset"
    settings = Settings(
        tushare_token=TOKEN,
        tushare_api_url=tushare.url,
        rate_per_min=1_000_000,
        dataset_repo=str(folder),
        markets=("主板",),
        admin_token="admin-secret-0123456",
    )
    space = Space(settings, lambda: NOW)
    job = space.runner.job
    running, overlaps, both_asked = [0], [], threading.Event()
    lock = threading.Lock()

    def guarded(request, report):  # starts only once both triggers have been answered
        both_asked.wait(10)
        with lock:
            running[0] += 1
            overlaps.append(running[0])
        try:
            return job(request, report)
        finally:
            with lock:
                running[0] -= 1

    space.runner.job = guarded
    caplog.set_level(logging.WARNING, logger="space_app")
    button_answers, starts_before = [], 0
    for i in range(ROUNDS):
        both_asked.clear()
        end = days[-BASE_BACK + i % BASE_BACK].strftime("%Y%m%d")
        first = ORDERS[i % len(ORDERS)]
        gate = threading.Barrier(1 if first else 2)  # "race": both released at once
        triggers = {
            "button": lambda end=end: button_answers.append(
                space.full_sync(START.strftime("%Y%m%d"), end, "", "admin-secret-0123456")
            ),
            "schedule": space.scheduler.daily,
        }
        threads = [
            threading.Thread(target=lambda fire=fire, gate=gate: (gate.wait(5), fire()))
            for fire in (
                [triggers[first], triggers[next(k for k in triggers if k != first)]] if first else triggers.values()
            )
        ]
        for t in threads:
            t.start()
            if first:  # the first trigger's run holds the slot (it waits for `both_asked`) before the second fires
                t.join(10)
        for t in threads:
            t.join(10)
        both_asked.set()
        assert space.runner.wait(60), f"round {i}: the run finished"
        history = space.runner.snapshot()[1]
        assert len(history) == starts_before + 1, f"round {i}: exactly one of the two started"
        starts_before = len(history)
        winner = history[-1]
        assert winner.status in ("success", "nothing new"), f"round {i}: {winner.status}: {winner.message}"
        if winner.request.kind == "delta":
            assert button_answers[-1].startswith("not started: a delta sync (schedule) is already running since")
        else:
            assert button_answers[-1].startswith("started full sync (button")

    history = space.runner.snapshot()[1]
    kinds = [r.request.kind for r in history]
    assert max(overlaps) == 1, "never two runs at once"
    refused = caplog.text.count("daily run not started: a full sync (button")
    assert refused == kinds.count("full"), "the scheduler's lost rounds say what is running"
    assert len(history) == ROUNDS and not [r for r in history if r.status == "failed"], "nothing lost"
    repo = open_repo(str(folder))
    assert verify_repo(repo) == [] and watermark_of(repo) == days[-1]
    assert_same_dataset(dataset_view(repo), wanted)
    published = [r.result.run_id for r in history if r.result and r.result.published]
    assert set(published) <= set(run_ids(repo)), "every published run is in meta/runs"
    scenario.update(
        target="folder", rounds=ROUNDS, won_by_schedule=kinds.count("delta"), won_by_button=kinds.count("full")
    )


# -- 4. the Hub answering 429 / 5xx -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class HubFault:
    name: str
    kind: str  # the run: "delta" or "full"
    method: str
    path: str  # fail_next's path fragment; "" for the commit quota (429 + Retry-After)
    status: int
    times: int = 2


HUB_FAULTS = [
    HubFault("commit-429-retry-after", "delta", "POST", "", 429, 1),
    *(HubFault(f"commit-{s}", "delta", "POST", "/commit/main", s) for s in (429, 500, 502, 503)),
    *(HubFault(f"preupload-{s}", "delta", "POST", "/preupload/main", s) for s in (429, 500, 503)),
    HubFault("validate-yaml-503", "delta", "POST", "/api/validate-yaml", 503),
    HubFault("full-commit-503", "full", "POST", "/commit/main", 503),
    *(HubFault(f"staging-push-{s}", "full", "POST", "/commit/sync-staging", s, 1) for s in (429, 503)),
    HubFault("staging-branch-503", "full", "POST", "/branch/", 503, 1),
    HubFault("staging-preupload-503", "full", "POST", "/preupload/sync-staging", 503, 1),  # the client's own retry
    HubFault("staging-push-503-persistent", "full", "POST", "/commit/sync-staging", 503, 200),  # stays local
]
RETRY_AFTER = 45


@pytest.fixture
def client_sleeps(monkeypatch) -> Sleeps:
    """huggingface_hub's own backoff (`http_backoff`, e.g. around preupload) sleeps here, not for real."""
    import huggingface_hub.utils._http as hub_http

    sleeps = Sleeps()
    monkeypatch.setattr(hub_http, "time", types.SimpleNamespace(**{**vars(time), "sleep": sleeps}))
    return sleeps


def inject(hub, fault: HubFault, times: int) -> None:
    if fault.path:
        for _ in range(times):
            hub.fail_next(fault.method, fault.path, fault.status)
    else:
        hub.limit_commits(per_hour=0, retry_after=RETRY_AFTER)


def faulted_run(fault: HubFault, where: Target, tushare, days, sleep: Callable[[float], None]):
    repo = where.writer("a", sleep=sleep)
    source = new_source(tushare)
    if fault.kind == "full":
        return repo, run_full(repo, source, SETTINGS, NOW, start=days[0], repo_id=HUB_REPO)
    return repo, run_delta(repo, source, SETTINGS, NOW, repo_id=HUB_REPO)


@pytest.mark.parametrize("fault", HUB_FAULTS, ids=[f.name for f in HUB_FAULTS])
def test_the_hub_failing_a_commit_or_an_upload_is_backed_off_and_retried(
    fault, golden, tushare, days, tmp_path, hub_server, client_sleeps, caplog, request, scenario
):
    wanted, base = golden
    where = prepared("hub", base, tmp_path, request)
    inject(hub_server, fault, fault.times)
    ours = Sleeps(lambda s: hub_server.limit_commits(None))  # the quota clears after the first wait
    caplog.set_level(logging.WARNING)
    repo, result = faulted_run(fault, where, tushare, days, ours)

    assert result.published and result.watermark == days[-1]
    assert fault.times > 10 or not hub_server._failures, "every injected failure was met"
    assert verify_repo(repo) == []
    assert_same_dataset(dataset_view(repo), wanted)
    waits = ours.waits + client_sleeps.waits
    if fault.path.startswith("/preupload/sync-staging"):
        assert ours.waits == [] and client_sleeps.waits == [1], "huggingface_hub's own backoff retried it"
    elif fault.path.startswith(("/commit/sync-staging", "/branch/")):
        assert waits == [] and f"HTTP {fault.status}" in caplog.text, "a staging push is deferred, not waited for"
    else:
        assert waits, "backed off before retrying"
    if not fault.path:
        assert ours.waits == [float(RETRY_AFTER)], "waited what Retry-After asked"
    scenario.update(target="hub", waits=waits, injected=fault.times)


PERSISTENT = [
    HubFault("commit-429-retry-after", "delta", "POST", "", 429),
    HubFault("commit-503", "delta", "POST", "/commit/main", 503),
    HubFault("preupload-500", "delta", "POST", "/preupload/main", 500),
    HubFault("full-commit-502", "full", "POST", "/commit/main", 502),
]


@pytest.mark.parametrize("fault", PERSISTENT, ids=[f.name for f in PERSISTENT])
def test_a_hub_that_keeps_failing_ends_with_a_clear_error_and_the_repo_unchanged(
    fault, golden, tushare, days, tmp_path, hub_server, client_sleeps, request, scenario
):
    _, base = golden
    where = prepared("hub", base, tmp_path, request)
    head, files = hub_server.head(HUB_REPO), hub_server.files(HUB_REPO)
    inject(hub_server, fault, 200)
    ours = Sleeps()
    with pytest.raises(PublishError) as raised:
        faulted_run(fault, where, tushare, days, ours)
    message = str(raised.value)
    assert f"the Hub kept answering HTTP {fault.status}" in message and "nothing was published, retry later" in message
    assert raised.value.retryable
    assert hub_server.head(HUB_REPO) == head and hub_server.files(HUB_REPO) == files, "the repo is unchanged"
    assert len(ours.waits) == 5, "backed off between attempts"
    scenario.update(target="hub", message=message[:200])
