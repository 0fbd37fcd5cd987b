"""A run retried after a passing failure: within 10 minutes of real elapsed time, on injected time."""

from __future__ import annotations

import pytest

from sync.engine.retry import BUDGET_S, is_passing, retry_run, wait_seconds
from sync.targets.repo import ConcurrentWriteError, PublishError, RepoBusyError
from sync.tushare.errors import error_from_reply


class Clock:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(clock: Clock, error: Exception, seconds: float, succeed_after: int | None = None):
    """An attempt that takes `seconds` and fails with `error` (until attempt `succeed_after`)."""
    attempts = []

    def attempt() -> str:
        attempts.append(clock.now)
        clock.now += seconds
        if succeed_after is not None and len(attempts) > succeed_after:
            return "published"
        raise error

    return attempt, attempts


HUB_503 = PublishError("hf://datasets/o/r: could not commit: the Hub kept answering HTTP 503", retryable=True)


def test_waits_double_from_30_s_to_at_most_5_min():
    assert [wait_seconds(n) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_a_passing_failure_is_retried_until_the_run_succeeds():
    clock = Clock()
    attempt, attempts = failing(clock, HUB_503, 60.0, succeed_after=2)
    assert retry_run(attempt, sleep=clock.sleep, clock=lambda: clock.now) == "published"
    assert len(attempts) == 3 and clock.sleeps == [30, 60]


@pytest.mark.parametrize("run_seconds", [1.0, 62.0, 240.0, 500.0])
def test_retries_stop_within_ten_minutes_then_the_last_error_is_raised(run_seconds):
    clock = Clock()
    attempt, attempts = failing(clock, HUB_503, run_seconds)
    with pytest.raises(PublishError):
        retry_run(attempt, sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.now <= BUDGET_S
    assert len(attempts) >= 2 or run_seconds * 2 + 30 > BUDGET_S  # it did retry whenever one more fitted


@pytest.mark.parametrize(
    "error",
    [
        RepoBusyError("another sync holds the repo"),
        ConcurrentWriteError("the head moved"),
        error_from_reply("daily", 40101, "您的token不对，请确认。"),
        error_from_reply("daily", 40203, "抱歉，您每天最多访问该接口1000次"),
        error_from_reply("daily", 40203, "抱歉，您没有接口(daily)访问权限"),
        ValueError("a bug"),
    ],
)
def test_failures_that_do_not_pass_by_themselves_are_raised_at_once(error):
    clock = Clock()
    attempt, attempts = failing(clock, error, 1.0)
    assert not is_passing(error)
    with pytest.raises(type(error)):
        retry_run(attempt, sleep=clock.sleep, clock=lambda: clock.now)
    assert len(attempts) == 1 and clock.sleeps == []


def test_tushare_faults_and_hub_outages_are_passing():
    assert is_passing(HUB_503)
    assert is_passing(error_from_reply("daily", -1000, "系统内部错误"))
    assert is_passing(error_from_reply("daily", 50101, "系统未知错误，欢迎上报！ 谢谢！"))
