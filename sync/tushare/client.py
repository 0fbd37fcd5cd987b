"""A strict client for the Tushare Pro HTTP API: typed frames, or a typed error — never "no data".

The official `tushare` SDK turns any HTTP status >= 400 into an empty DataFrame, which a sync
engine would publish as "nothing traded that day". This client checks every layer instead:
HTTP status, JSON, envelope, reply code, the shape of `data`. Every failure is a `TushareError`
(see `sync.tushare.errors`) that says what to do and whether retrying helps.

Waits live in one place and go through the injected `sleep` (and `clock`), so tests skip them:

* per-interface pacing: at most `rate_per_min` requests per rolling minute per interface,
  thread-safe, so a small thread pool can overlap latency without exceeding the quota;
* transient failures (HTTP errors, timeouts, dropped connections, broken replies): exponential
  backoff with jitter, up to `max_attempts` requests;
* Tushare's per-minute quota reply (40203 "每分钟最多访问…"): wait out the window, a bounded
  number of times, and pace the interface at the server's stated limit from then on.

Example::

    with TushareClient(settings.tushare_token, settings.tushare_api_url) as client:
        bars = client.query("daily", trade_date="20250110")   # all pages, typed columns
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import httpx
import pandas as pd
import tenacity
from pyrate_limiter import InMemoryBucket, Rate, RateItem

from sync.tushare.errors import (
    TushareAuthError,
    TushareError,
    TushareMissingFieldError,
    TusharePermissionError,
    TushareProtocolError,
    TushareQuotaError,
    TushareTransportError,
    _RetriedError,
    error_from_reply,
    quota_still_refused,
)
from sync.core.clock import ymd
from sync.core.scrub import display_url, scrub
from sync.tushare.apis import DEFAULT_RATE_OVERRIDES, DEFAULT_ROW_CAP, ROW_CAPS
from sync.core.config import OFFICIAL_URL
from sync.tushare.frames import typed_frame

__all__ = [
    "OFFICIAL_URL", "ROW_CAPS", "RateLimiter", "TushareClient", "typed_frame",
    "TushareError", "TushareAuthError", "TusharePermissionError", "TushareQuotaError",
    "TushareTransportError", "TushareProtocolError",
]

logger = logging.getLogger(__name__)
_E = TypeVar("_E", bound=BaseException)

MAX_PAGES = 10_000  # a server that ignores `offset` must not loop us forever

PACING_WINDOW_S = 60.5  # our rolling window: a minute plus a margin for latency jitter
QUOTA_WAIT_S = 61.0  # after a per-minute quota reply: the server's minute window plus a margin
MAX_QUOTA_WAITS = 3
BACKOFF_MULTIPLIER_S, BACKOFF_MAX_S, BACKOFF_JITTER_S = 1.0, 30.0, 1.0

# daily_basic answers nothing useful without one of these (docs/tushare.md#fields: "二选一").
REQUIRED_ONE_OF: dict[str, tuple[str, ...]] = {"daily_basic": ("ts_code", "trade_date")}


_API_NAME = re.compile(r"[a-z][a-z0-9_]*")


class RateLimiter:
    """At most `limit_for(key)` admissions per key in any rolling `window_s`; safe across threads.

    pyrate-limiter's `InMemoryBucket` (sliding-window log) does the counting and computes how
    long to wait. Its `Limiter` front end is not used: it sleeps with a hard-wired `time.sleep`,
    times deadlines with `time.monotonic` and starts a background leak thread, so tests could not
    skip its waits. The loop here is the small part it would do: put under a lock; when the
    bucket is full, sleep its `waiting()` through the injected `sleep` (outside the lock), retry.
    """

    def __init__(self, limit_for: Callable[[str], int], *, window_s: float = PACING_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._limit_for = limit_for
        self._window_ms = round(window_s * 1000)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, InMemoryBucket] = {}
        self.waited: collections.defaultdict[str, float] = collections.defaultdict(float)  # seconds slept per key

    def limit(self, key: str) -> int:
        with self._lock:
            return self._bucket(key).rates[0].limit

    def lower(self, key: str, limit: int) -> bool:
        """Tighten `key` to `limit` per window (never loosen). True if it changed."""
        with self._lock:
            bucket = self._bucket(key)
            if not 0 < limit < bucket.rates[0].limit:
                return False
            bucket.rates = [Rate(limit, self._window_ms)]
            return True

    def acquire(self, key: str) -> float:
        """Block (via `sleep`) until `key` has room; return the admission time in clock seconds."""
        while True:
            with self._lock:
                now_ms = int(self._clock() * 1000)
                bucket = self._bucket(key)
                bucket.leak(now_ms)  # forget requests older than the window; bounds memory
                item = RateItem(key, now_ms)
                if bucket.put(item):
                    return now_ms / 1000
                waiting = bucket.waiting(item)
                assert isinstance(waiting, int)  # an in-memory bucket answers at once, never with an awaitable
                wait_s = max(waiting, 1) / 1000
                self.waited[key] += wait_s
            self._sleep(wait_s)

    def _bucket(self, key: str) -> InMemoryBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = InMemoryBucket([Rate(self._limit_for(key), self._window_ms)])
        return bucket


class TushareClient:
    """Strict Tushare Pro client. Constructing it does no I/O; `query` does.

    `rate_per_min` paces every interface; `rate_overrides` sets other per-interface limits
    (default: stock_basic at min(50, rate_per_min), its documented quota). `calls`, `pages` and
    `rows` count HTTP requests (retries included), pages and rows per interface.
    """

    def __init__(
        self,
        token: str,
        url: str = OFFICIAL_URL,
        *,
        rate_per_min: int = 200,
        rate_overrides: Mapping[str, int] | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_attempts: int = 6,
        max_quota_waits: int = MAX_QUOTA_WAITS,
        timeout: float = 30.0,
    ):
        if not isinstance(token, str):
            raise TypeError("token must be a str")
        if rate_per_min < 1 or max_attempts < 1 or max_quota_waits < 0:
            raise ValueError("rate_per_min and max_attempts must be >= 1, max_quota_waits >= 0")
        self._token = token
        self._url = url.rstrip("/")
        self._shown_url = display_url(self._url)
        self._rates = {api: min(rate_per_min, n) for api, n in DEFAULT_RATE_OVERRIDES.items()}
        self._rates.update(rate_overrides or {})
        if any(n < 1 for n in self._rates.values()):
            raise ValueError("rate_overrides must all be >= 1 request per minute")
        self._rate_per_min = rate_per_min
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._max_quota_waits = max_quota_waits
        self._timeout = timeout
        self.limiter = RateLimiter(lambda api: self._rates.get(api, rate_per_min), clock=clock, sleep=sleep)
        self._lock = threading.Lock()
        self._server_caps: dict[str, int] = {}  # page sizes the server turned out to cap at
        self.calls: collections.Counter[str] = collections.Counter()
        self.pages: collections.Counter[str] = collections.Counter()
        self.rows: collections.Counter[str] = collections.Counter()

    @property
    def total_calls(self) -> int:
        """HTTP requests made so far, all interfaces together."""
        return sum(self.calls.values())

    def __repr__(self) -> str:
        token = "***" if self._token else ""
        return f"TushareClient(url={self._shown_url!r}, rate_per_min={self._rate_per_min}, token={token!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> TushareClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def query(self, api_name: str, fields: Sequence[str] | str | None = None, **params: Any) -> pd.DataFrame:
        """Fetch every row of `api_name` for `params` as a typed DataFrame (columns in reply order).

        Pages through the interface's row cap with limit/offset; pass `limit` or `offset`
        yourself to get exactly one page. None-valued params are dropped; dates may be given as
        `datetime.date`. Raises a `TushareError` subclass; an empty frame means the server said
        "no rows". Example::

            calendar = client.query("trade_cal", "cal_date,is_open", exchange="SSE", start_date="20250101")
        """
        if not isinstance(api_name, str) or not _API_NAME.fullmatch(api_name):
            raise ValueError(f"api_name must be a Tushare interface name like 'daily'; got {api_name!r}")
        params = {k: _param_value(v) for k, v in params.items() if v is not None}
        needed = REQUIRED_ONE_OF.get(api_name)
        if needed and not any(params.get(name) for name in needed):
            raise ValueError(f"{api_name} needs one of {', '.join(needed)}; Tushare answers nothing useful without")
        field_text = _field_text(fields)
        reply_fields, items = self._fetch_all(api_name, field_text, params)
        if not reply_fields and not items and field_text:
            reply_fields = field_text.split(",")
        missing = [name for name in field_text.split(",") if name and name not in reply_fields] if items else []
        if missing:  # padding with nulls would publish e.g. a month of null volumes as if it were data
            raise TushareMissingFieldError(missing, api_name=api_name)
        try:
            return typed_frame(reply_fields, items)
        except ValueError as exc:
            raise TushareProtocolError(self._scrub(str(exc)), api_name=api_name, retryable=False) from None

    # -- pages -------------------------------------------------------------------------------

    def _fetch_all(self, api: str, field_text: str, params: dict[str, Any]) -> tuple[list[str], list[list]]:
        if "limit" in params or "offset" in params:  # the caller pages: exactly one request
            fields, items, _ = self._request(api, field_text, params)
            self._count_page(api, len(items))
            return fields, items
        cap = ROW_CAPS.get(api, DEFAULT_ROW_CAP)
        server_cap = self._server_caps.get(api)
        fields = []
        rows: list[list] = []
        previous: list[list] | None = None
        for page in itertools.count():
            if page >= MAX_PAGES:
                raise TushareProtocolError(f"more than {MAX_PAGES} pages of {cap} rows; the server seems "
                                           "to ignore offset", api_name=api, retryable=False)
            page_fields, items, has_more = self._request(api, field_text, {**params, "limit": cap, "offset": len(rows)})
            if items and fields and page_fields != fields:
                raise TushareProtocolError(f"page {page + 1} has fields {page_fields}, page 1 had {fields}",
                                           api_name=api, retryable=False)
            if items and items == previous:
                raise TushareProtocolError(f"page {page + 1} repeats page {page}: the server ignores offset, "
                                           "so the rows past the first page cannot be fetched",
                                           api_name=api, retryable=False)
            fields = fields or page_fields
            rows.extend(items)
            self._count_page(api, len(items))
            if previous is not None and len(previous) < cap and items:  # not on the first page
                self._learn_server_cap(api, len(previous))  # a short page was followed by more rows
            if not _page_is_full(len(items), cap, server_cap, has_more):
                return fields, rows
            previous = items
        raise AssertionError("unreachable")

    def _learn_server_cap(self, api: str, rows: int) -> None:
        """The server capped a page below our limit (stk_limit has answered 4,800 of 5,800): remember it."""
        with self._lock:
            if rows > self._server_caps.get(api, 0):
                logger.warning("Tushare %s pages hold at most %d rows, below the documented %d", api, rows,
                               ROW_CAPS.get(api, DEFAULT_ROW_CAP))
                self._server_caps[api] = rows

    def _count_page(self, api: str, rows: int) -> None:
        with self._lock:
            self.pages[api] += 1
            self.rows[api] += rows

    # -- one page, with retries --------------------------------------------------------------

    def _request(self, api: str, field_text: str, params: dict[str, Any]) -> Page:
        body = {"api_name": api, "token": self._token, "params": params, "fields": field_text}
        transient = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._max_attempts),
            wait=tenacity.wait_exponential_jitter(multiplier=BACKOFF_MULTIPLIER_S, max=BACKOFF_MAX_S,
                                                  jitter=BACKOFF_JITTER_S),
            retry=tenacity.retry_if_exception(_is_transient),
            sleep=self._sleep,
            before_sleep=_log_retry,
            retry_error_callback=_give_up_transient,
        )
        quota = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._max_quota_waits + 1),
            wait=tenacity.wait_fixed(QUOTA_WAIT_S),
            retry=tenacity.retry_if_exception(_is_minute_quota),
            sleep=self._sleep,
            before_sleep=self._on_minute_quota,
            retry_error_callback=self._give_up_quota,
        )
        return quota(transient, self._post_once, api, body)

    def _on_minute_quota(self, state: tenacity.RetryCallState) -> None:
        error = _failure(state, TushareQuotaError)
        if error.limit and self.limiter.lower(error.api_name, error.limit):
            logger.warning("Tushare %s: server allows %d/min; pacing at that from now on", error.api_name, error.limit)
        logger.warning("Tushare %s: per-minute quota reached; waiting %.0f s for the window (wait %d of %d)",
                       error.api_name, QUOTA_WAIT_S, state.attempt_number, self._max_quota_waits)

    def _give_up_quota(self, state: tenacity.RetryCallState) -> None:
        error = _failure(state, TushareQuotaError)
        raise quota_still_refused(error, self._max_quota_waits, QUOTA_WAIT_S, self.limiter.limit(error.api_name))

    def _post_once(self, api: str, body: dict[str, Any]) -> Page:
        self.limiter.acquire(api)
        with self._lock:
            self.calls[api] += 1
        url = f"{self._url}/{api}"
        shown = f"{self._shown_url}/{api}"
        failure: TushareError | None = None
        # The exception is built inside `except` but raised outside it, so no httpx exception
        # (whose request holds the token) rides along as __context__ into tracebacks.
        try:
            response = self._http.post(url, json=body, timeout=self._timeout)
        except httpx.TimeoutException as exc:
            failure = TushareTransportError(f"no reply within {self._timeout:g} s ({type(exc).__name__}) "
                                            f"from {shown}", api_name=api)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            failure = TushareTransportError(f"{shown} is not a usable http(s) URL ({type(exc).__name__}); "
                                            "check TUSHARE_API_URL", api_name=api, retryable=False)
        except httpx.HTTPError as exc:
            failure = TushareTransportError(f"network error ({type(exc).__name__}) talking to {shown}",
                                            api_name=api)
        if failure is not None:
            raise failure
        return self._parse(api, shown, response)

    def _parse(self, api: str, shown: str, response: httpx.Response) -> Page:
        status = response.status_code
        if not response.is_success:
            hint = "; check TUSHARE_API_URL" if status in (404, 405) else ""
            raise TushareTransportError(f"HTTP {status} {response.reason_phrase} from {shown}{hint}",
                                        api_name=api, status=status)
        try:
            envelope = json.loads(response.content)
        except ValueError:
            kind = response.headers.get("content-type", "no content-type")
            start = self._scrub(response.content[:4096].decode("utf-8", "replace"))[:60]
            raise TushareTransportError(f"the reply from {shown} is not JSON (HTTP {status}, {kind}; "
                                        f"starts with {start!r})", api_name=api, status=status) from None
        code = envelope.get("code") if isinstance(envelope, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            raise TushareProtocolError('the reply is not a Tushare envelope (no integer "code")', api_name=api)
        if code != 0:
            msg = envelope.get("msg") or envelope.get("message") or ""
            raise error_from_reply(api, code, self._scrub(str(msg)), rate_per_min=self.limiter.limit(api))
        return _check_data(api, envelope.get("data"))

    def _scrub(self, text: str) -> str:
        """Server text could echo the request; make sure the token never reaches a message."""
        return scrub(text, [self._token])


def _page_is_full(page_rows: int, cap: int, server_cap: int | None, has_more: bool) -> bool:
    """Ask for the next page? When this one is full (our limit, or a cap the server showed earlier),
    when the server says `has_more`, or when it holds a round thousand rows (servers have capped at
    5,000 below a documented 6,000); an empty page ends the listing whatever `has_more` says."""
    return page_rows > 0 and (page_rows >= cap or page_rows == server_cap or has_more or page_rows % 1000 == 0)


class Page(NamedTuple):
    fields: list[str]
    items: list[list]
    has_more: bool


def _check_data(api: str, data: Any) -> Page:
    if data is None:
        raise TushareProtocolError('the reply has code 0 but "data" is null', api_name=api)
    fields = data.get("fields") if isinstance(data, dict) else None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(fields, list) or not isinstance(items, list):
        raise TushareProtocolError('"data" lacks a "fields" list or an "items" list', api_name=api)
    if not all(isinstance(f, str) for f in fields) or len(set(fields)) != len(fields):
        raise TushareProtocolError(f'"data.fields" must be distinct names; got {fields}', api_name=api)
    for i, row in enumerate(items):
        if not isinstance(row, list) or len(row) != len(fields):
            size = len(row) if isinstance(row, list) else type(row).__name__
            raise TushareProtocolError(f"row {i} has {size} values for {len(fields)} fields", api_name=api)
    return Page(fields, items, data.get("has_more") is True)


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, (TushareTransportError, TushareProtocolError)) and error.retryable


def _is_minute_quota(error: BaseException) -> bool:
    return isinstance(error, TushareQuotaError) and error.period == "minute"


def _failure(state: tenacity.RetryCallState, kind: type[_E]) -> _E:
    """The exception the attempt failed with. Tenacity calls its hooks only after a failed attempt whose
    exception the `retry` predicate accepted, so it is one of `kind`."""
    error = state.outcome.exception() if state.outcome is not None else None
    assert isinstance(error, kind)
    return error


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = _failure(state, _RetriedError)
    logger.warning("Tushare %s: %s; retry %d in %.1f s", error.api_name, error.detail,
                   state.attempt_number, state.upcoming_sleep)


def _give_up_transient(state: tenacity.RetryCallState) -> None:
    raise _failure(state, _RetriedError).after_attempts(state.attempt_number)


def _param_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return ymd(value)
    return value


def _field_text(fields: Sequence[str] | str | None) -> str:
    if fields is None:
        return ""
    names = fields.split(",") if isinstance(fields, str) else list(fields)
    if not all(isinstance(n, str) for n in names):
        raise TypeError("fields must be names: 'a,b' or ['a', 'b']")
    return ",".join(n.strip() for n in names if n.strip())
