"""Secrets: with distinctive TUSHARE_TOKEN, HF_TOKEN and SYNC_ADMIN_TOKEN set, successful and
failing runs (full, delta, status, verify) on a folder and on the Hub never put a token in a log
line, CLI output, error message, written file (target, its hidden `.<name>.sync` sibling, HF_HOME),
Hub commit or stored blob, or in `meta/runs.parquet`."""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataset_script.schema import RUNS_PATH
from sync import cli
from sync.core.clock import SHANGHAI
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from tests.support.cli import cli_env, sync

pytestmark = pytest.mark.slow  # full, delta, status and verify on a folder and the Hub, every output scanned

TUSHARE_TOKEN = "tushare-SECRET-5e1c9a0b7d"
WRONG_TUSHARE_TOKEN = "tushare-WRONG-SECRET-77f2e1"
HF_TOKEN = "hf_SECRETwriteToken7731aa"
ADMIN_TOKEN = "admin-SECRET-42d0ce19"
SECRETS = (TUSHARE_TOKEN, WRONG_TUSHARE_TOKEN, HF_TOKEN, ADMIN_TOKEN)
START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 29)
NOW = "2024-02-29T20:00"
HUB_REPO = "secrets/a-share-prices"


@pytest.fixture(scope="module")
def server():
    market = SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=30, seed=5))
    at = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)
    with TushareServer(market, tokens=(TUSHARE_TOKEN,), clock=lambda: at) as running:
        yield running


def texts(data: bytes) -> list[str]:
    """The raw bytes as text, and for Parquet (compressed) every value decoded."""
    out = [data.decode("utf-8", "replace")]
    if data[:4] == b"PAR1":
        try:
            out.append(str(pq.read_table(io.BytesIO(data)).to_pylist()))
        except Exception as error:  # a damaged file is reported by other suites; still scan its bytes
            out.append(repr(error))
    return out


def assert_no_secret(where: str, *chunks: str) -> None:
    for secret in SECRETS:
        for chunk in chunks:
            assert secret not in chunk, f"{where} shows a secret ({secret[:10]}...)"


def scan_tree(root: Path) -> int:
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    for file in files:
        assert_no_secret(str(file.relative_to(root)), *texts(file.read_bytes()))
    return len(files)


class Runner:
    """Runs the CLI with the secrets set; keeps every output for the scan."""

    def __init__(self, server, home: Path):
        self.server, self.home, self.outputs = server, home, []

    def __call__(self, *args, token: str = TUSHARE_TOKEN, expect: int = 0) -> str:
        env = cli_env(
            TUSHARE_TOKEN=token,
            TUSHARE_API_URL=self.server.url,
            HF_TOKEN=HF_TOKEN,
            SYNC_ADMIN_TOKEN=ADMIN_TOKEN,
            SYNC_NOW=NOW,
            HF_HOME=str(self.home),
        )
        result = sync(*args, cwd=self.home.parent, env=env)
        self.outputs.append((" ".join(args), result.stdout + result.stderr))
        assert result.returncode == expect, result.stderr[-2000:]
        return result.stdout + result.stderr

    def scan(self) -> None:
        for command, output in self.outputs:
            assert_no_secret(f"the output of `{command}`", output)


def test_folder_runs_and_failures_never_show_or_write_a_token(server, tmp_path, hf_home):
    run = Runner(server, hf_home)
    target = str(tmp_path / "dataset")
    run("full", "--start", "20240102", "--end", "20240131", "--repo", target)
    server.denied = frozenset({"daily"})  # failures that are not retried: no real backoff sleeps in the CLI
    failed = run("delta", "--repo", target, expect=1)
    assert "denied access to the interface daily" in failed
    server.denied = frozenset()
    run("delta", "--repo", target, token=WRONG_TUSHARE_TOKEN, expect=1)
    run("delta", "--repo", target)
    run("status", "--repo", target)
    run("status", "--json", "--repo", target)
    run("verify", "--repo", target)
    run.scan()
    runs = from_parquet((tmp_path / "dataset" / RUNS_PATH).read_bytes()).to_pylist()
    assert {r["status"] for r in runs} >= {"failed", "success"}, "failed runs reach the run history"
    assert_no_secret("meta/runs.parquet", str(runs))
    assert scan_tree(tmp_path) > 10  # the target, .dataset.sync/ and HF_HOME (failed-run rows) all live here


def test_hub_runs_and_failures_never_show_a_token_in_commits_blobs_or_files(server, hub_server, hf_home, tmp_path):
    hub_server.tokens = {HF_TOKEN: "write"}
    run = Runner(server, hf_home)
    target = f"hf://datasets/{HUB_REPO}"
    run("full", "--start", "20240102", "--end", "20240131", "--repo", target)
    hub_server.tokens = {HF_TOKEN: "read"}  # refused at the commit, after every read and fetch succeeded
    failed = run("delta", "--repo", target, expect=1)
    assert "write" in failed
    hub_server.tokens = {HF_TOKEN: "write"}
    run("delta", "--repo", target)
    run("status", "--json", "--repo", target)
    run("verify", "--repo", target)
    run.scan()
    repo = hub_server.repos[("dataset", HUB_REPO)]
    for commit in repo.commits.values():
        assert_no_secret(f"commit {commit.sha[:8]}", commit.title, commit.message)
    assert_no_secret("the Hub's refs", str(repo.branches), str(repo.tags))
    for blob, data in hub_server.blobs.items():
        assert_no_secret(f"blob {blob[:8]}", *texts(data))
    runs = from_parquet(hub_server.files(HUB_REPO)[RUNS_PATH]).to_pylist()
    assert {r["status"] for r in runs} >= {"failed", "success"}
    assert_no_secret("meta/runs.parquet on the Hub", str(runs))
    scan_tree(hf_home)  # staging checkpoints, locks, failed-run rows, hub cache


def test_debug_logs_of_an_in_process_run_never_show_a_token(server, tmp_path, hf_home, monkeypatch, caplog, capsys):
    """The CLI logs at INFO; here every logger is at DEBUG (httpx, huggingface_hub, tracebacks)."""
    for name, value in {
        "TUSHARE_TOKEN": TUSHARE_TOKEN,
        "TUSHARE_API_URL": server.url,
        "HF_TOKEN": HF_TOKEN,
        "SYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        "SYNC_NOW": NOW,
    }.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    target = str(tmp_path / "dataset")
    assert cli.main(["full", "--start", "20240201", "--repo", target]) == 0
    server.denied = frozenset({"daily"})
    try:
        assert cli.main(["delta", "--repo", target]) == 1
    finally:
        server.denied = frozenset()
    monkeypatch.setenv("TUSHARE_TOKEN", WRONG_TUSHARE_TOKEN)
    assert cli.main(["delta", "--repo", target]) == 1
    printed = capsys.readouterr()
    lines = [record.getMessage() for record in caplog.records]
    lines += [caplog.text, printed.out, printed.err]
    assert any("denied access to the interface daily" in line for line in lines), "the failures were logged"
    assert_no_secret("a DEBUG log line or the output", *lines)
