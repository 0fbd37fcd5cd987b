"""Riding out the Hub's rate limits and hiccups on commits and reads, in one place.

The Hub caps commits per repo (about 128 an hour) and answers 429 with `Retry-After` once a
repo is over it; it also has the odd 5xx. A commit that meets either is retried with
exponential backoff, waiting what `Retry-After` asks when the Hub says, a bounded number of
times. A 412 (another writer moved the branch) and other 4xx answers (a bad token, a bad
request) are never retried: waiting does not fix them.

    retry = CommitRetry(sleep=time.sleep)
    info = retry(lambda: api.create_commit(...))     # GaveUp after the last attempt

The policy (`retry_after_seconds`, `backoff`) is pure and kept apart from the loop, which is
tenacity's; `sleep` is injected so tests skip the waits and assert them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

import tenacity
from huggingface_hub.errors import HfHubHTTPError

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 6  # the first try and 5 retries
BACKOFF_BASE = 2.0  # seconds before the first retry when the Hub gives no Retry-After
BACKOFF_CAP = 120.0  # longest wait without a Retry-After
RETRY_AFTER_CAP = 3600.0  # the commit quota is hourly: never wait longer than the window
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class GaveUp(Exception):
    """Every attempt met a transient answer; `error` is the last one."""

    def __init__(self, error: HfHubHTTPError, attempts: int, waited: float):
        super().__init__(str(error))
        self.error, self.attempts, self.waited = error, attempts, waited

    @property
    def status(self) -> int | None:
        return status_of(self.error)


def status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return response.status_code if response is not None else None


def is_transient(error: BaseException) -> bool:
    """A 429 or 5xx answer from the Hub: the same request may succeed later."""
    return isinstance(error, HfHubHTTPError) and status_of(error) in TRANSIENT_STATUSES


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The delay-seconds form of `Retry-After` (the Hub's), capped at an hour; None when absent.

    >>> retry_after_seconds({"Retry-After": "30"})
    30.0
    """
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "").strip()
    if not value.isdigit():
        return None  # absent, or the HTTP-date form: fall back to exponential backoff
    return min(float(value), RETRY_AFTER_CAP)


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based) without a server hint: 2, 4, 8, ... ≤ 120."""
    return min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_CAP)


def _wait(state: tenacity.RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    response = getattr(error, "response", None)
    hinted = retry_after_seconds(response.headers) if response is not None else None
    return hinted if hinted is not None else backoff(state.attempt_number)


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "the Hub answered HTTP %s; retrying in %.0f s (attempt %d of %d)",
        status_of(error) if error else "?",
        state.upcoming_sleep,
        state.attempt_number + 1,
        MAX_ATTEMPTS,
    )


class CommitRetry:
    """Call a commit, retrying transient Hub answers; raise `GaveUp` when they never stop."""

    def __init__(self, sleep: Callable[[float], None], attempts: int = MAX_ATTEMPTS):
        self.sleep = sleep
        self.attempts = attempts

    def __call__(self, fn: Callable[[], T]) -> T:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=_wait,
            sleep=self.sleep,
            before_sleep=_log_retry,
        )
        try:
            return retrying(fn)
        except tenacity.RetryError as e:
            error = e.last_attempt.exception()
            assert isinstance(error, HfHubHTTPError)
            raise GaveUp(error, e.last_attempt.attempt_number, retrying.statistics.get("idle_for", 0.0)) from None
