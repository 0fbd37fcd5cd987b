"""Two runs sharing one token's per-minute quota both finish, slowed, and say so.

The two full syncs run at once in threads against one Tushare server that counts the quota per
token and interface. Time is compressed: the clients' clock and sleep and the server's clock run
SCALE times faster than the wall, so minutes of quota take seconds. Nothing in the sync is patched.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pytest

from dataset_script.schema import shard_month
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.tushare.client import TushareClient
from tests.support.expected import assert_same_rows, expected_rows

START, END = dt.date(2024, 1, 2), dt.date(2024, 1, 31)
QUOTA = 12  # per minute, per interface, for the token: each run alone would use all of it
SCALE = 20.0  # virtual seconds per wall second
EVENING = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)


class CompressedTime:
    """A clock and a sleep running SCALE times faster than the wall (thread-safe, monotonic)."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self.slept = 0.0
        self._lock = threading.Lock()

    def clock(self) -> float:
        return (time.monotonic() - self._start) * SCALE

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept += seconds
        time.sleep(seconds / SCALE)

    def now(self) -> dt.datetime:
        return EVENING + dt.timedelta(seconds=self.clock())


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=40, seed=9))


@pytest.mark.slow
def test_two_runs_sharing_a_quota_both_finish_and_say_they_were_slowed(market, tmp_path):
    timing = CompressedTime()
    with TushareServer(market, tokens=("shared",), clock=timing.now, quota_per_min=QUOTA) as server:

        def one_run(name: str):
            client = TushareClient(
                "shared", server.url, rate_per_min=QUOTA, rate_overrides={}, sleep=timing.sleep, clock=timing.clock
            )
            with client:
                repo = open_repo(str(tmp_path / name))
                result = run_full(
                    repo,
                    Source(client, "shared quota", START, rate_per_min=QUOTA),
                    Settings(markets=("主板",)),
                    EVENING,
                )
                return result, repo

        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(one_run, ["first", "second"]))
    assert sum(server.refused.values()) > 0, "the two runs did meet the shared quota"
    for result, repo in runs:
        assert result.published
        assert_same_rows(published(repo), expected_rows(market, result.days))
    slowed = [result for result, _ in runs if result.slowed]
    assert slowed, "a run that met the quota slows down"
    for result in slowed:
        assert "slowed by Tushare's per-minute quota (another job may share the token)" in result.headline()
        assert all(0 < pace < QUOTA for pace in result.slowed.values())


def published(repo) -> pd.DataFrame:
    head = repo.head()
    shards = sorted(p for p in repo.list_files(head) if shard_month(p))
    frame = pa.concat_tables([from_parquet(repo.read(p, head)) for p in shards]).to_pandas()
    return frame.assign(date=pd.to_datetime(frame["date"]))
