"""The Space as it runs on HuggingFace (`SPACE_ID` set): what cannot be misconfigured, and what survives a restart.

The app runs as Spaces start it (`python space_app/app.py`, a subprocess) against our Tushare
server and the session's local Hub test server: a missing DATASET_REPO is shown and refused, a
real Tushare token needs the admin token whatever the target, a Space killed in the middle of a
full sync (SIGKILL at a kill point, see sync.core.killpoints) shows and resumes it on restart and
meta/runs records the interruption; failed-run rows survive a new machine (a fresh HF_HOME); a
read-only HF token fails before any Tushare call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from space_app.status_markdown import status_markdown
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.core.errors import SyncError
from sync.engine import preflight
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.targets import PublishError, open_repo
from sync.tushare.client import TushareClient
from tests.support import ROOT
from tests.support.hub import on_both_storages

TOKEN = "space-on-hf-tushare-token"
ADMIN = "space-on-hf-admin-token-0123"
WRITE, READ = "hf-write-token-for-tests", "hf-read-token-for-tests"
START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 8)  # 80 stocks: a per-day plan of 3 monthly chunks
NOW = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)
REPO_ID = "maintainer/a-share-prices"
SPACE_ID = "maintainer/a-share-prices-sync"
SECRETS = (
    "TUSHARE_TOKEN",
    "TUSHARE_API_URL",
    "SYNC_ADMIN_TOKEN",
    "DATASET_REPO",
    "SYNC_NOW",
    "HF_TOKEN",
    "SPACE_ID",
    "SYNC_KILL_AT",
    "HF_HOME",
)


@pytest.fixture(scope="module")
def server():
    market = SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=80, seed=21))
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: NOW) as running:
        yield running


def calls(server) -> int:
    return sum(server.calls.values())


# -- the app in a subprocess -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as reply:
            return json.load(reply)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for(condition, seconds: float, process, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"the app exited ({process.returncode}): {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)
    pytest.fail(f"timed out after {seconds} s\n{log.read_text(errors='replace')[-3000:]}")


def start_app(folder: Path, home: Path, **env: str) -> tuple[subprocess.Popen, str, Path]:
    """`python space_app/app.py` with SPACE_ID set, from `folder` (its ./dataset is the ephemeral disk)."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in SECRETS}
    environment.update(
        SPACE_ID=SPACE_ID,
        SYNC_NOW=NOW.strftime("%Y-%m-%dT%H:%M"),
        HF_HOME=str(home),
        GRADIO_SERVER_PORT=str(port),
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_ANALYTICS_ENABLED="False",
        SYNC_MARKETS="主板",
        SYNC_START_DATE=START.strftime("%Y%m%d"),
        **env,
    )
    log = folder / f"app-{port}.log"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "space_app" / "app.py")],
        cwd=folder,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}", log


@contextlib.contextmanager
def running_app(folder: Path, home: Path, **env: str):
    process, url, log = start_app(folder, home, **env)
    try:
        wait_for(lambda: health(url) is not None, 60, process, log)
        yield url, process, log
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


# -- 1. a Space without DATASET_REPO ----------------------------------------------------------------
def test_a_space_without_dataset_repo_shows_the_error_and_refuses_everything(tmp_path, server):
    before = calls(server)
    with running_app(
        tmp_path, tmp_path / "home", TUSHARE_TOKEN=TOKEN, TUSHARE_API_URL=server.url, SYNC_ADMIN_TOKEN=ADMIN
    ) as (url, _, _):
        status = health(url)
        api = client(url)
        same = api.predict(api_name="/status")
        refusals = [
            api.predict(api_name="/sync_now"),
            api.predict("", "", "", ADMIN, api_name="/full_sync"),
            api.predict(ADMIN, api_name="/migrate_legacy"),
        ]
        after = health(url)
    assert status["config_error"] and "DATASET_REPO is not set" in status["config_error"]
    assert "hf://datasets/OWNER/NAME" in status["config_error"] and "ephemeral" in status["config_error"]
    assert status["last_error"]["message"] == status["config_error"] == same["config_error"]
    assert status["next_run"] is None and status["running"] is False and status["current_run"] is None
    assert "DATASET_REPO is not set" in status_markdown(same)  # what the Status tab shows
    for message in refusals:
        assert message.startswith("refused: configuration error: DATASET_REPO is not set"), message
    assert after["running"] is False and after["last_success"] is None
    assert calls(server) == before, "no Tushare call was spent"
    assert not (tmp_path / "dataset").exists() and not (tmp_path / ".dataset.sync").exists(), (
        "nothing was written to the Space's ephemeral disk"
    )


# -- 2. a real Tushare token needs the admin token, whatever the target -------------------------------
def test_a_real_tushare_token_needs_the_admin_token_on_a_folder_target_too(tmp_path, server):
    before = calls(server)
    with running_app(
        tmp_path,
        tmp_path / "home",
        TUSHARE_TOKEN=TOKEN,
        TUSHARE_API_URL=server.url,
        DATASET_REPO=str(tmp_path / "dataset"),
    ) as (url, _, _):
        message = client(url).predict("", "", "", "", api_name="/full_sync")
        status = health(url)
    assert message.startswith("refused: full sync is disabled: this Space has a Tushare token")
    assert "SYNC_ADMIN_TOKEN" in message
    assert status["running"] is False and status["config_error"] is None
    assert calls(server) == before, "no Tushare call was spent"
    assert not (tmp_path / "dataset").exists()


def test_the_admin_rule_without_a_subprocess(tmp_path):
    from space_app.space import Space

    clock = lambda: NOW  # noqa: E731
    demo = Space(Settings(dataset_repo=str(tmp_path / "d")), clock)
    real = Space(Settings(tushare_token=TOKEN, dataset_repo=str(tmp_path / "d")), clock)
    guarded = Space(Settings(tushare_token=TOKEN, dataset_repo=str(tmp_path / "d"), admin_token=ADMIN), clock)
    assert demo.full_sync_disabled() is None, "the embedded demo market onto a folder needs no admin token"
    assert "SYNC_ADMIN_TOKEN" in real.full_sync_disabled()
    assert guarded.full_sync_disabled() is None
    assert guarded.full_sync("", "", "", "wrong") == "refused: wrong admin token; nothing was started"
    assert guarded.migrate_legacy("wrong").startswith("refused:")
    assert "SYNC_ADMIN_TOKEN" in demo.migrate_disabled() or "not available" in demo.migrate_disabled()


# -- 3. a Space killed in the middle of a full sync -------------------------------------------------
def runs_of(hub) -> list[dict]:
    data = hub.files(REPO_ID)["meta/runs.parquet"]
    return pq.read_table(io.BytesIO(data)).to_pylist()


@pytest.mark.slow  # a Space process killed and restarted: a kill-point test like tests/reliability/test_kills.py
def test_a_space_killed_mid_full_resumes_on_restart_and_meta_runs_records_it(tmp_path, server, hub_server):
    hub_server.tokens = {WRITE: "write"}
    env = dict(
        TUSHARE_TOKEN=TOKEN,
        TUSHARE_API_URL=server.url,
        SYNC_ADMIN_TOKEN=ADMIN,
        HF_TOKEN=WRITE,
        DATASET_REPO=f"hf://datasets/{REPO_ID}",
    )
    process, url, log = start_app(tmp_path, tmp_path / "home-1", SYNC_KILL_AT="checkpoint.staged:2", **env)
    try:
        wait_for(lambda: health(url) is not None, 60, process, log)
        assert client(url).predict("", "", "", ADMIN, api_name="/full_sync").startswith("started full sync (button")
        process.wait(120)
    finally:
        stop(process)
    assert process.returncode == -signal.SIGKILL, log.read_text(errors="replace")[-2000:]
    per_day = ("daily", "stk_limit", "daily_basic", "adj_factor", "suspend_d")  # each interface has its own chunks
    calls_before = sum(server.calls[api] for api in per_day)

    # A new machine: a fresh HF_HOME (the ephemeral disk is gone); the same Space.
    with running_app(tmp_path, tmp_path / "home-2", **env) as (url, process, log):
        # the start-up reads the journal in the scheduler's thread (HTTP answers meanwhile): shown within moments
        shown = wait_for(lambda: (lambda h: h if h and h["interrupted"] else None)(health(url)), 60, process, log)
        done = wait_for(
            lambda: (lambda h: h if h and not h["running"] and h["last_success"] else None)(health(url)),
            180,
            process,
            log,
        )
        resumed_log = log.read_text(errors="replace")
    assert shown["interrupted"] and shown["interrupted"][0]["trigger"] == "button"
    assert shown["interrupted"][0]["resumed"] is True
    assert done["last_success"]["trigger"] == "resume" and done["watermark"] == END.isoformat()
    runs = runs_of(hub_server)
    assert [(r["kind"], r["trigger"], r["status"]) for r in runs] == [
        ("full", "button", "interrupted"),
        ("full", "resume", "success"),
    ]
    assert runs[0]["message"].startswith("interrupted:") and runs[1]["run_id"] in runs[0]["message"]
    reused = re.search(r"reusing (\d+) of (\d+) chunks already fetched by an earlier run", resumed_log)
    assert reused and int(reused.group(1)) > 0, "the checkpoints staged on the Hub were reused, not fetched again"
    assert sum(server.calls[api] for api in per_day) > calls_before, "the rest was fetched"
    branches = [b.name for b in _refs().branches]
    assert branches == ["main"], "the journal and the checkpoints are cleared after the publish"


def _refs():
    from huggingface_hub import HfApi

    return HfApi(token=WRITE).list_repo_refs(REPO_ID, repo_type="dataset")


# -- 4. failed-run rows survive a new machine ---------------------------------------------------------
@contextlib.contextmanager
def _source(server):
    with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}, sleep=lambda s: None) as client:
        yield Source(client, "space on hf", START)


@on_both_storages
def test_a_failed_run_row_survives_a_fresh_hf_home_and_reaches_meta_runs(
    storage, server, hub_server, tmp_path, monkeypatch
):
    assert hub_server.storage == storage
    import huggingface_hub.constants as hub_constants

    target, settings = f"hf://datasets/{REPO_ID}", Settings(tushare_token=TOKEN, markets=("主板",))
    with _source(server) as source:
        run_full(open_repo(target), source, settings, NOW, start=dt.date(2024, 2, 1), end=END - dt.timedelta(days=1))
    server.denied = frozenset({"daily"})  # the next delta fails (not retried: no backoff sleeps)
    try:
        with _source(server) as source, pytest.raises(SyncError, match="daily"):
            run_delta(open_repo(target), source, settings, NOW)
    finally:
        server.denied = frozenset()
    assert [b.name for b in _refs().branches] == ["main", "sync-staging/runs"], "the failed row waits on the Hub"

    monkeypatch.setattr(hub_constants, "HF_HOME", str(tmp_path / "another-machine"))  # this machine is gone
    with _source(server) as source:
        assert run_delta(open_repo(target), source, settings, NOW).days[-1] == END  # a run that publishes
    runs = runs_of(hub_server)
    assert [(r["kind"], r["status"]) for r in runs] == [("full", "success"), ("delta", "failed"), ("delta", "success")]
    assert "daily" in runs[1]["message"] and TOKEN not in json.dumps(runs, default=str)
    assert [b.name for b in _refs().branches] == ["main"]


# -- 5. a read-only HF token fails before any Tushare call -------------------------------------------
@pytest.mark.parametrize(
    "token, words", [(READ, "read-only token"), ("not-a-token-at-all", "does not accept HF_TOKEN")]
)
def test_a_token_that_cannot_write_fails_before_any_tushare_call(server, hub_server, token, words):
    hub_server.tokens = {WRITE: "write", READ: "read"}
    before = calls(server)
    repo = open_repo(f"hf://datasets/{REPO_ID}", hf_token=token)
    with _source(server) as source, pytest.raises(PublishError) as raised:
        run_full(repo, source, Settings(tushare_token=TOKEN, markets=("主板",)), NOW)
    message = str(raised.value)
    assert words in message and preflight.TOKENS_URL in message and "HF_TOKEN" in message
    assert "nothing was fetched or changed" in message and token not in message
    assert calls(server) == before, "no Tushare call was spent"
    assert ("dataset", REPO_ID) not in hub_server.repos, "nothing was created"


def test_the_cli_with_a_read_only_token_exits_1_before_any_tushare_call(server, hub_server, tmp_path):
    hub_server.tokens = {WRITE: "write", READ: "read"}
    before = calls(server)
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update(
        PYTHONPATH=str(ROOT),
        TUSHARE_TOKEN=TOKEN,
        TUSHARE_API_URL=server.url,
        HF_TOKEN=READ,
        HF_HOME=str(tmp_path),
        SYNC_NOW=NOW.strftime("%Y-%m-%dT%H:%M"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "sync", "full", "--repo", f"hf://datasets/{REPO_ID}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "read-only token" in done.stderr and READ not in done.stderr + done.stdout
    assert calls(server) == before


def test_the_write_check_passes_a_write_token_and_reads_fine_grained_scopes(hub_server):
    hub_server.tokens = {WRITE: "write"}
    preflight.check_hub_write(open_repo(f"hf://datasets/{REPO_ID}", hf_token=WRITE))  # no error
    scoped = {
        "scoped": [
            {"entity": {"type": "user", "name": "maintainer"}, "permissions": ["repo.content.read", "repo.write"]}
        ]
    }
    elsewhere = {"scoped": [{"entity": {"type": "user", "name": "someone"}, "permissions": ["repo.write"]}]}
    reading = {"scoped": [{"entity": {"type": "dataset", "name": REPO_ID}, "permissions": ["repo.content.read"]}]}
    assert preflight._fine_grained_can_write(scoped, REPO_ID)
    assert not preflight._fine_grained_can_write(elsewhere, REPO_ID)
    assert not preflight._fine_grained_can_write(reading, REPO_ID)
    assert preflight._fine_grained_can_write(None, REPO_ID), "an unknown shape is left to the commit"


def test_a_wrong_tushare_token_fails_at_the_first_cheap_call(server, tmp_path):
    before = dict(server.calls)
    with (
        TushareClient(
            "not-the-token", server.url, rate_per_min=1_000_000, rate_overrides={}, sleep=lambda s: None
        ) as api,
        pytest.raises(SyncError, match="TUSHARE_TOKEN") as raised,
    ):
        run_full(
            open_repo(str(tmp_path / "dataset")),
            Source(api, "space on hf", START),
            Settings(tushare_token="not-the-token", markets=("主板",)),
            NOW,
        )
    spent = {k: v - before.get(k, 0) for k, v in server.calls.items() if v != before.get(k, 0)}
    assert set(spent) <= {"trade_cal", ""} and sum(spent.values()) == 1, spent
    assert "not-the-token" not in str(raised.value)


def test_the_admin_migrate_button_migrates_a_legacy_folder(tmp_path):
    from space_app.space import Space

    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "all-prices.csv").write_text("ts_code,trade_date,close\n600000.SH,20240102,7.0\n")
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# old card\n")
    (folder / ".last_update_date").write_text("20240102")
    space = Space(
        Settings(dataset_repo=str(folder), admin_token=ADMIN), lambda: dt.datetime(2026, 3, 13, 22, tzinfo=SHANGHAI)
    )
    assert space.migrate_legacy("wrong") == "refused: wrong admin token; nothing was started"
    assert space.migrate_legacy(ADMIN).startswith("started full sync (button; migrating the legacy layout)")
    # the run goes on in a thread; wait here (the test process must not shut down under it)
    assert space.runner.wait(300)
    record = space.runner.snapshot()[1][-1]
    assert record.status == "success", record.message
    assert not (folder / "all-prices.csv").exists() and (folder / ".sync" / "state.json").exists()
