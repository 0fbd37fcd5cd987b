"""`python -m sync` as a user runs it: real subprocesses, exit codes, messages and files."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.targets.local import LocalFolderRepo
from tests.support import ROOT
from tests.support.cli import cli_env, sync


def all_bytes_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


# The embedded demo market, pinned to a known "now" so the test does not depend on today's date.
PINNED = cli_env(SYNC_NOW="2026-01-16T18:00")


def test_full_on_the_embedded_market_then_status_verify_and_a_noop_delta(tmp_path):
    full = sync("full", "--start", "20251201", cwd=tmp_path, env=PINNED)
    assert full.returncode == 0, full.stderr
    assert "embedded synthetic market" in full.stderr
    assert "complete through 2026-01-16" in full.stdout
    assert 'load_dataset("' in full.stdout
    folder = tmp_path / "dataset"
    assert (folder / ".last_update_date").read_text() == "20260116"
    assert sorted(p.name for p in (folder / "data").rglob("*.parquet")) == ["2025-12.parquet", "2026-01.parquet"]
    assert (folder / "meta" / "stocks.parquet").is_file() and (folder / "meta" / "calendar.parquet").is_file()

    status = sync("status", "--json", cwd=tmp_path, env=PINNED)
    facts = json.loads(status.stdout)
    assert status.returncode == 0 and facts["watermark"] == "2026-01-16" and facts["trading_days_behind"] == 0
    verify = sync("verify", cwd=tmp_path, env=PINNED)
    assert verify.returncode == 0 and "every invariant holds" in verify.stdout

    delta = sync("delta", cwd=tmp_path, env=PINNED)
    assert delta.returncode == 0 and "nothing new" in delta.stdout


def test_delta_adds_the_next_day(tmp_path):
    assert sync("full", "--start", "20260105", cwd=tmp_path, env=cli_env(SYNC_NOW="2026-01-14T18:00")).returncode == 0
    delta = sync("delta", cwd=tmp_path, env=cli_env(SYNC_NOW="2026-01-15T18:00"))
    assert delta.returncode == 0, delta.stderr
    assert (tmp_path / "dataset" / ".last_update_date").read_text() == "20260115"


@pytest.mark.parametrize(
    "args, says",
    [
        (["full", "--start", "2024-01-01"], "YYYYMMDD"),
        (["full", "--markets", "纳斯达克"], "主板"),
        (["delta", "--unknown"], "unrecognized arguments"),
        ([], "required"),
    ],
)
def test_usage_errors_exit_2_and_say_what_is_expected(tmp_path, args, says):
    result = sync(*args, cwd=tmp_path)
    assert result.returncode == 2 and says in result.stderr
    assert not (tmp_path / "dataset").exists()


def test_api_url_without_a_token_is_a_usage_error(tmp_path):
    result = sync("delta", cwd=tmp_path, env=cli_env(TUSHARE_API_URL="http://127.0.0.1:9/dataapi"))
    assert result.returncode == 2 and "TUSHARE_TOKEN" in result.stderr


def test_delta_on_an_empty_folder_says_to_run_full_first(tmp_path):
    result = sync("delta", "--repo", str(tmp_path / "fresh"), cwd=tmp_path, env=PINNED)
    assert result.returncode == 1 and "python -m sync full" in result.stderr


def test_a_second_concurrent_run_fails_fast(tmp_path):
    with LocalFolderRepo(tmp_path / "dataset").lock():
        started = time.monotonic()
        result = sync("full", "--start", "20260105", cwd=tmp_path, env=PINNED)
    assert result.returncode == 1 and "another sync" in result.stderr
    assert time.monotonic() - started < 60


@pytest.fixture
def small_server():
    market = SyntheticMarket(
        MarketSpec(
            start=__import__("datetime").date(2024, 1, 2),
            end=__import__("datetime").date(2024, 2, 29),
            n_stocks=30,
            seed=5,
        )
    )
    with TushareServer(market, tokens=("secret-tushare-token-8f3a",)) as server:
        yield server


def test_bad_token_fails_clearly_and_never_prints_the_token(tmp_path, small_server):
    env = cli_env(TUSHARE_TOKEN="wrong-secret-token-77aa", TUSHARE_API_URL=small_server.url)
    result = sync("full", "--start", "20240102", "--end", "20240131", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "TUSHARE_TOKEN" in result.stderr
    assert "wrong-secret-token-77aa" not in result.stderr + result.stdout
    assert not (tmp_path / "dataset" / ".last_update_date").exists()


def test_tokens_never_reach_output_or_written_files(tmp_path, small_server):
    token, hf_token = "secret-tushare-token-8f3a", "hf_secretTokenNeverWritten"
    env = cli_env(TUSHARE_TOKEN=token, TUSHARE_API_URL=small_server.url, HF_TOKEN=hf_token)
    full = sync("full", "--start", "20240102", "--end", "20240131", cwd=tmp_path, env=env)
    delta = sync("delta", "--end", "20240229", cwd=tmp_path, env=env)
    status = sync("status", "--json", cwd=tmp_path, env=env)
    assert full.returncode == delta.returncode == status.returncode == 0, full.stderr + delta.stderr
    printed = "".join(r.stdout + r.stderr for r in (full, delta, status))
    written = all_bytes_under(tmp_path)
    for secret in (token, hf_token):
        assert secret not in printed
        assert secret.encode() not in written
    assert (tmp_path / "dataset" / ".last_update_date").read_text() == "20240229"


def start_server_process(*args) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.simulated.server", "--port", "0", *args],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return process, process.stdout.readline().strip()


@pytest.mark.slow  # two real CLI processes, one killed: a kill-point test like tests/reliability/test_kills.py
def test_killed_full_sync_resumes_without_refetching_and_matches_a_clean_run(tmp_path):
    # More stocks than days: a per-day fetch in three monthly chunks, each checkpointed.
    server, url = start_server_process(
        "--stocks", "150", "--start", "20240102", "--end", "20240329", "--token", "tok", "--latency", "0.05"
    )
    try:
        env = cli_env(TUSHARE_TOKEN="tok", TUSHARE_API_URL=url)
        args = ("full", "--start", "20240102", "--end", "20240329", "--markets", "all")
        clean = sync(*args, "--repo", str(tmp_path / "clean"), cwd=tmp_path, env=env)
        assert clean.returncode == 0, clean.stderr

        run = subprocess.Popen(
            [sys.executable, "-m", "sync", *args, "--repo", str(tmp_path / "resumed")],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        staging = tmp_path / ".resumed.sync" / "staging"
        deadline = time.monotonic() + 120
        while run.poll() is None and not (staging.is_dir() and any(staging.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert not (tmp_path / "resumed" / ".last_update_date").exists(), "killed before publishing"

        resumed = sync(*args, "--repo", str(tmp_path / "resumed"), cwd=tmp_path, env=env)
        assert resumed.returncode == 0, resumed.stderr
        assert "chunks already fetched by an earlier run" in resumed.stderr

        def calls(folder):
            return json.loads((folder / ".sync" / "state.json").read_text())["last_run"]["api_calls"]

        per_day = ("daily", "stk_limit", "daily_basic", "adj_factor", "suspend_d")  # each interface has its chunks
        assert sum(calls(tmp_path / "resumed").get(a, 0) for a in per_day) < sum(
            calls(tmp_path / "clean")[a] for a in per_day
        )
        for shard in sorted((tmp_path / "clean" / "data").rglob("*.parquet")):
            twin = tmp_path / "resumed" / shard.relative_to(tmp_path / "clean")
            assert twin.read_bytes() == shard.read_bytes(), f"{shard.name} differs after resuming"
    finally:
        server.kill()
        server.wait()
