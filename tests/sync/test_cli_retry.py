"""The CLI rides out passing failures for at most 10 minutes, then exits 1 (cron runs it again).

In process, against our Tushare-compatible server answering `-1000 系统内部错误` for a window of
its clock. Time is fake: every sleep (the client's and the CLI's) advances one clock that the
server also reads, so the tests assert the waits without waiting.
"""

from __future__ import annotations

import datetime as dt
import threading
import types
from pathlib import Path

import pytest

import sync.tushare.client
from sync import cli
from sync.core.clock import SHANGHAI
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.replies import FaultPlan
from sync.simulated.server import TushareServer

TOKEN = "cli-retry-token"
EVENING = dt.datetime(2024, 2, 29, 21, 0, tzinfo=SHANGHAI)  # 2024-02-29 is a trading day


class FakeTime:
    """Seconds that pass only when someone sleeps; thread-safe."""

    def __init__(self) -> None:
        self.now, self.sleeps, self._lock = 0.0, [], threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def moment(self) -> dt.datetime:
        return EVENING + dt.timedelta(seconds=self.clock())


@pytest.fixture
def fake(monkeypatch) -> FakeTime:
    fake = FakeTime()
    # The Tushare client's own waits, on the same fake time (only that module's view of `time`).
    monkeypatch.setattr(sync.tushare.client, "time", types.SimpleNamespace(sleep=fake.sleep, monotonic=fake.clock))
    return fake


@pytest.fixture
def setup(tmp_path, monkeypatch, fake):
    """A dataset published through the day before EVENING, and a server whose faults follow the fake clock."""
    market = SyntheticMarket(MarketSpec(dt.date(2024, 2, 1), dt.date(2024, 2, 29), n_stocks=12, seed=9))
    plan = FaultPlan()
    with TushareServer(market, tokens=(TOKEN,), faults=plan, clock=fake.moment) as server:
        monkeypatch.setenv("TUSHARE_TOKEN", TOKEN)
        monkeypatch.setenv("TUSHARE_API_URL", server.url)
        monkeypatch.setenv("SYNC_NOW", "2024-02-28T21:00")
        target = str(tmp_path / "dataset")
        assert cli.main(["full", "--start", "20240201", "--repo", target]) == 0
        monkeypatch.setenv("SYNC_NOW", EVENING.isoformat())
        yield plan, target


def watermark(target: str) -> str:
    return (Path(target) / ".last_update_date").read_text()


def test_a_tushare_fault_for_five_minutes_is_ridden_out_and_the_day_published(setup, fake):
    plan, target = setup
    plan.fail_between("internal_error", EVENING, EVENING + dt.timedelta(minutes=5))
    assert cli.main(["delta", "--repo", target], sleep=fake.sleep, clock=fake.clock) == 0
    assert watermark(target) == "20240229"
    assert 5 * 60 <= fake.now <= 10 * 60


def test_a_fault_that_persists_exits_1_within_ten_minutes_naming_the_call(setup, fake, capsys):
    plan, target = setup
    plan.fail_between("internal_error", EVENING, EVENING + dt.timedelta(hours=2))
    assert cli.main(["delta", "--repo", target], sleep=fake.sleep, clock=fake.clock) == 1
    assert fake.now <= 10 * 60
    err = capsys.readouterr().err
    assert "with -1000 系统内部错误 3 times in 4 min" in err and "running again later may help" in err
    assert "(trade_date=" in err or "(exchange=" in err, "the call is named with its parameters"
    assert TOKEN not in err
    assert watermark(target) == "20240228"


def test_a_failure_that_does_not_pass_is_not_retried(setup, fake, monkeypatch):
    plan, target = setup
    monkeypatch.setenv("TUSHARE_TOKEN", "wrong-token")
    assert cli.main(["delta", "--repo", target], sleep=fake.sleep, clock=fake.clock) == 1
    assert fake.sleeps == []
