"""A whole run retried when it failed on something that passes by itself, within a time budget.

The CLI's rule (docs/reliability.md#passing-failures): a run that fails on a passing failure (the
Hub's 5xx, 429, timeouts and dropped connections; Tushare's network errors, HTTP 5xx and its
`-1000` / `50101` faults once their own retries are spent) is run again after 30 s, 1 min,
2 min, ... (at most 5 min), for at most `budget_s` = 10 minutes of real elapsed time from the
first attempt; then the last error is raised (the CLI exits 1, and cron runs it again).

An attempt is started only if it can end within the budget at the pace of the previous one
(elapsed + the wait + the previous attempt's duration), so a run of retries stays within it.
Other failures are raised at once: a bad token, a missing permission, a daily quota, another sync
holding the repo, a head that moved (`is_passing`).

`sleep` and `clock` are injected (tenacity's own loop runs them), so tests skip the waits:

    result = retry_run(lambda: run(settings, request, now_from_env()), sleep=time.sleep, clock=time.monotonic)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import tenacity

from sync.core.errors import SyncError
from sync.targets.repo import ConcurrentWriteError, RepoBusyError
from sync.tushare.errors import TushareQuotaError

log = logging.getLogger(__name__)
T = TypeVar("T")

BUDGET_S = 600.0  # the CLI retries for at most 10 minutes
FIRST_WAIT_S, MAX_WAIT_S = 30.0, 300.0


def is_passing(error: BaseException) -> bool:
    """A failure that running again later may fix by itself.

    Not: another sync holding the repo or a head that moved (an answer, not an outage), a
    per-minute quota that refused for 30 minutes already, and every non-retryable error."""
    if isinstance(error, (RepoBusyError, ConcurrentWriteError, TushareQuotaError)):
        return False
    return isinstance(error, SyncError) and error.retryable


def wait_seconds(attempt: int) -> float:
    """Seconds before re-running after failed attempt number `attempt` (1-based): 30, 60, 120, 240, 300, ..."""
    return min(FIRST_WAIT_S * 2 ** (attempt - 1), MAX_WAIT_S)


def retry_run(
    attempt: Callable[[], T], *, sleep: Callable[[float], None], clock: Callable[[], float], budget_s: float = BUDGET_S
) -> T:
    """`attempt()`, run again after a passing failure while the budget allows; raises the last error."""
    started = clock()
    durations: list[float] = []

    def timed() -> T:
        begun = clock()
        try:
            return attempt()
        finally:
            durations.append(clock() - begun)

    def out_of_time(state: tenacity.RetryCallState) -> bool:
        elapsed = clock() - started
        return elapsed + (state.upcoming_sleep or 0.0) + durations[-1] > budget_s

    def announce(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "the run failed on something that usually passes (%s); running it again in %.0f s "
            "(attempt %d; retrying for at most %.0f min)",
            error,
            state.upcoming_sleep,
            state.attempt_number + 1,
            budget_s / 60,
        )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_passing),
        wait=lambda state: wait_seconds(state.attempt_number),
        stop=out_of_time,
        sleep=sleep,
        before_sleep=announce,
        reraise=True,
    )
    return retrying(timed)
