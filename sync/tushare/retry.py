"""How one Tushare request rides out passing failures: tenacity, with the policy in one place.

Two kinds of failure are retried, each with its own budget, on the injected `sleep` and `clock`
(real elapsed time: `time.monotonic` unless a test passes its own), so tests skip the waits:

* transport and protocol failures (timeouts, dropped connections, HTTP 5xx, broken replies):
  exponential backoff with jitter (1 s, 2 s, 4 s, ... at most 30 s), up to `max_attempts`
  requests;
* Tushare's own fault codes, `-1000 系统内部错误` and `50101 系统未知错误`: they pass by themselves
  (waditu/tushare #754, #1397), but the same codes answer a malformed request (#1058, #1322),
  so a request gets at most `SERVER_FAULT_ATTEMPTS` = 3 attempts within 10 minutes (after 1 and
  then 3 minutes), then the run fails naming the call. The Space retries that run later
  (space_app/schedule_rules.py); the CLI within its own 10 minutes (sync/cli.py).

The per-minute quota (40203 "每分钟最多访问") is not handled here: the client waits for the
window and slows down (sync/tushare/client.py).

    retrying = RequestRetry("daily", {"trade_date": "20250110"}, max_attempts=6, sleep=time.sleep, clock=time.monotonic)
    page = retrying(post_once)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import tenacity

from sync.tushare.errors import RetriedError, TushareProtocolError, TushareServerFault, TushareTransportError

logger = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_MULTIPLIER_S, BACKOFF_MAX_S, BACKOFF_JITTER_S = 1.0, 30.0, 1.0
SERVER_FAULT_ATTEMPTS = 3  # -1000 / 50101: at most this many attempts of one request ...
SERVER_FAULT_WINDOW_S = 600.0  # ... within 10 minutes
SERVER_FAULT_WAITS_S = (60.0, 180.0)  # before the 2nd and the 3rd attempt


def is_transient(error: BaseException) -> bool:
    """Worth repeating the same request: a retryable transport/protocol failure or a server fault."""
    if isinstance(error, TushareServerFault):
        return True
    return isinstance(error, (TushareTransportError, TushareProtocolError)) and error.retryable


def describe_call(api: str, params: Mapping[str, Any]) -> str:
    """`daily(trade_date=20250110, limit=6000, offset=0)`: the call as a user would write it (no token)."""
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{api}({shown})"


class RequestRetry:
    """The retries of one request. Call it with the function that makes one attempt."""

    def __init__(
        self,
        api: str,
        params: Mapping[str, Any],
        *,
        max_attempts: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ):
        self.api, self.params = api, params
        self.max_attempts = max_attempts
        self.clock = clock
        self.faults = 0  # server-fault answers so far
        self.first_fault_at: float | None = None
        self._retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            after=self._count,
            wait=self._wait,
            stop=self._stop,
            sleep=sleep,
            before_sleep=self._log,
            retry_error_callback=self._give_up,
        )
        self._backoff = tenacity.wait_exponential_jitter(
            initial=BACKOFF_MULTIPLIER_S, max=BACKOFF_MAX_S, jitter=BACKOFF_JITTER_S
        )

    def __call__(self, attempt: Callable[[], T]) -> T:
        return self._retrying(attempt)

    def _count(self, state: tenacity.RetryCallState) -> None:
        if isinstance(_error(state), TushareServerFault):
            self.faults += 1
            if self.first_fault_at is None:
                self.first_fault_at = self.clock()

    def _wait(self, state: tenacity.RetryCallState) -> float:
        if isinstance(_error(state), TushareServerFault):
            return SERVER_FAULT_WAITS_S[min(self.faults, len(SERVER_FAULT_WAITS_S)) - 1]
        return self._backoff(state)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        if isinstance(_error(state), TushareServerFault):
            assert self.first_fault_at is not None  # set by _count, which runs first
            late = self.clock() - self.first_fault_at + (state.upcoming_sleep or 0.0) > SERVER_FAULT_WINDOW_S
            return self.faults >= SERVER_FAULT_ATTEMPTS or late
        return state.attempt_number >= self.max_attempts

    def _log(self, state: tenacity.RetryCallState) -> None:
        error = _error(state)
        detail = error.detail if isinstance(error, RetriedError) else f"{error.code} {error.server_msg}"
        logger.warning(
            "Tushare %s: %s; retry %d in %.1f s", self.api, detail, state.attempt_number, state.upcoming_sleep
        )

    def _give_up(self, state: tenacity.RetryCallState) -> Any:
        error = _error(state)
        if isinstance(error, TushareServerFault):
            first = self.first_fault_at
            seconds = 0.0 if first is None else self.clock() - first
            raise error.after_attempts(self.faults, seconds, describe_call(self.api, self.params))
        assert isinstance(error, RetriedError)
        raise error.after_attempts(state.attempt_number)


def _error(state: tenacity.RetryCallState) -> TushareServerFault | RetriedError:
    """The exception the attempt failed with. Tenacity calls these hooks only after a failed attempt whose
    exception `is_transient` accepted, so it is one of the two kinds."""
    error = state.outcome.exception() if state.outcome is not None else None
    assert isinstance(error, (TushareServerFault, RetriedError))
    return error
