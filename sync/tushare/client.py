"""A strict client for the Tushare Pro HTTP API: typed frames, or a typed error — never "no data".

The official `tushare` SDK turns any HTTP status >= 400 into an empty DataFrame, which a sync
engine would publish as "nothing traded that day". This client checks every layer instead:
HTTP status, JSON, envelope, reply code, the shape of `data`. Every failure is a `TushareError`
(see `sync.tushare.errors`) that says what to do and whether retrying helps.

Waits live in one place and go through the injected `sleep` (and `clock`), so tests skip them:

* per-interface pacing: at most `rate_per_min` requests per rolling minute per interface,
  thread-safe, so a small thread pool can overlap latency without exceeding the quota;
* transient failures (HTTP errors, timeouts, dropped connections, broken replies): exponential
  backoff with jitter, up to `max_attempts` requests; Tushare's passing faults `-1000` and
  `50101`: at most 3 attempts within 10 minutes (see `sync.tushare.retry`);
* Tushare's per-minute quota reply (40203 "每分钟最多访问…"): the quota belongs to the token,
  which another job may be using too, so the client slows down and carries on. It paces the
  interface at the server's stated limit if that is lower than its own; when its own recent
  calls explain the refusal (it used ~all of the limit itself) it slows that interface a little,
  otherwise (someone else is using the quota) to 70%; when its calls to *all* interfaces together
  have just reached the limit (not more: more accepted would prove a per-interface quota) while
  this interface's alone have not, the quota looks per account, and it paces all interfaces
  together under it. It retries after a short wait, and steps back up
  towards the configured pace after every two minutes without a refusal. It gives up only when
  one request has been refused for `quota_patience_s` (30 min by default). `slowed` says what
  was slowed, and how far, for the run's result.

Pages: a page is asked for only after a full one (it holds the `limit` asked for, a cap the
server showed earlier, or a round thousand of rows, which servers have capped at below the
documented cap). `has_more` and `count` are never trusted: the real server has said `has_more:
true` on a complete 3-row page and `count: 0` on a 241-row one.

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
from typing import Any, NamedTuple

import httpx
import pandas as pd

from sync.core.clock import ymd
from sync.core.config import OFFICIAL_URL
from sync.core.scrub import display_url, scrub
from sync.tushare.apis import DEFAULT_RATE_OVERRIDES, DEFAULT_ROW_CAP, ROW_CAPS
from sync.tushare.errors import (
    TushareAuthError,
    TushareError,
    TushareMissingFieldError,
    TusharePermissionError,
    TushareProtocolError,
    TushareQuotaError,
    TushareTransportError,
    error_from_reply,
    quota_still_refused,
)
from sync.tushare.frames import typed_frame
from sync.tushare.pacing import ACCOUNT, NUDGE, SLOW, RateLimiter, Slowdown
from sync.tushare.retry import RequestRetry

__all__ = [
    "OFFICIAL_URL",
    "ROW_CAPS",
    "RateLimiter",
    "Slowdown",
    "TushareClient",
    "typed_frame",
    "TushareError",
    "TushareAuthError",
    "TusharePermissionError",
    "TushareQuotaError",
    "TushareTransportError",
    "TushareProtocolError",
]

logger = logging.getLogger(__name__)

MAX_PAGES = 10_000  # a server that ignores `offset` must not loop us forever
ROUND_PAGE, ROUND_PAGE_MIN = 100, 1000  # a short page of k x 100 >= 1,000 rows may be a lower server cap

QUOTA_WAIT_S = 61.0  # the longest wait after a per-minute quota reply: the server's minute plus a margin
QUOTA_PATIENCE_S = 1800.0  # one request refused this long (30 min) fails the run
OWN_SHARE = 0.9  # a refusal when our own calls were >= 90% of the limit: our pace, not someone else's

# daily_basic answers nothing useful without one of these (docs/tushare.md#fields: "二选一").
REQUIRED_ONE_OF: dict[str, tuple[str, ...]] = {"daily_basic": ("ts_code", "trade_date")}


_API_NAME = re.compile(r"[a-z][a-z0-9_]*")


class TushareClient:
    """Strict Tushare Pro client. Constructing it does no I/O; `query` does.

    `rate_per_min` paces every interface; `rate_overrides` sets other per-interface limits
    (default: stock_basic at min(50, rate_per_min), its documented quota). `row_caps` overrides the
    documented rows per call of some interfaces (pages are asked for only after a full one). `calls`, `pages` and
    `rows` count HTTP requests (retries included), pages and rows per interface.
    """

    def __init__(
        self,
        token: str,
        url: str = OFFICIAL_URL,
        *,
        rate_per_min: int = 200,
        rate_overrides: Mapping[str, int] | None = None,
        row_caps: Mapping[str, int] | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        max_attempts: int = 6,
        quota_patience_s: float = QUOTA_PATIENCE_S,
        timeout: float = 30.0,
    ):
        if not isinstance(token, str):
            raise TypeError("token must be a str")
        if rate_per_min < 1 or max_attempts < 1 or quota_patience_s < 0:
            raise ValueError("rate_per_min and max_attempts must be >= 1, quota_patience_s >= 0")
        self._token = token
        self._url = url.rstrip("/")
        self._shown_url = display_url(self._url)
        self._rates = {api: min(rate_per_min, n) for api, n in DEFAULT_RATE_OVERRIDES.items()}
        self._rates.update(rate_overrides or {})
        if any(n < 1 for n in self._rates.values()):
            raise ValueError("rate_overrides must all be >= 1 request per minute")
        self._rate_per_min = rate_per_min
        self.row_caps = {**ROW_CAPS, **(row_caps or {})}
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        sleep = sleep or time.sleep  # real elapsed time unless a test passes its own
        clock = clock or time.monotonic
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._quota_patience_s = quota_patience_s
        self._clock = clock
        self._timeout = timeout
        self.limiter = RateLimiter(lambda api: self._rates.get(api, rate_per_min), clock=clock, sleep=sleep)
        self._lock = threading.Lock()
        self._server_caps: dict[str, int] = {}  # page sizes the server turned out to cap at
        self.calls: collections.Counter[str] = collections.Counter()
        self.pages: collections.Counter[str] = collections.Counter()
        self.rows: collections.Counter[str] = collections.Counter()

    @property
    def slowed(self) -> dict[str, Slowdown]:
        """Interfaces (ACCOUNT: all together) a per-minute quota slowed, and how far; empty if none."""
        return dict(self.limiter.slowed)

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
        fields: list[str] = []
        if "limit" in params or "offset" in params:  # the caller pages: exactly one request
            fields, items = self._request(api, field_text, params)
            self._count_page(api, len(items))
            return fields, items
        cap = self.row_caps.get(api, DEFAULT_ROW_CAP)
        rows: list[list] = []
        previous: list[list] | None = None
        for page in itertools.count():
            if page >= MAX_PAGES:
                raise TushareProtocolError(
                    f"more than {MAX_PAGES} pages of {cap} rows; the server seems to ignore offset",
                    api_name=api,
                    retryable=False,
                )
            page_fields, items = self._request(api, field_text, {**params, "limit": cap, "offset": len(rows)})
            if items and fields and page_fields != fields:
                raise TushareProtocolError(
                    f"page {page + 1} has fields {page_fields}, page 1 had {fields}", api_name=api, retryable=False
                )
            if items and items == previous:
                raise TushareProtocolError(
                    f"page {page + 1} repeats page {page}: the server ignores offset, "
                    "so the rows past the first page cannot be fetched",
                    api_name=api,
                    retryable=False,
                )
            fields = fields or page_fields
            rows.extend(items)
            self._count_page(api, len(items))
            if previous is not None and len(previous) < cap and items:  # not on the first page
                self._learn_server_cap(api, len(previous))  # a short page was followed by more rows
            if not _page_is_full(len(items), cap, self._server_caps.get(api)):
                return fields, rows
            previous = items
        raise AssertionError("unreachable")

    def _learn_server_cap(self, api: str, rows: int) -> None:
        """The server capped a page below our limit (stk_limit has answered 4,800 of 5,800): remember it."""
        with self._lock:
            if rows > self._server_caps.get(api, 0):
                logger.warning(
                    "Tushare %s pages hold at most %d rows, below the documented %d",
                    api,
                    rows,
                    ROW_CAPS.get(api, DEFAULT_ROW_CAP),
                )
                self._server_caps[api] = rows

    def _count_page(self, api: str, rows: int) -> None:
        with self._lock:
            self.pages[api] += 1
            self.rows[api] += rows

    # -- one page, with retries --------------------------------------------------------------

    def _request(self, api: str, field_text: str, params: dict[str, Any]) -> Page:
        body = {"api_name": api, "token": self._token, "params": params, "fields": field_text}
        refused_since: float | None = None
        refusals = 0
        while True:
            try:
                retrying = RequestRetry(
                    api, params, max_attempts=self._max_attempts, sleep=self._sleep, clock=self._clock
                )
                return retrying(lambda: self._post_once(api, body))
            except TushareQuotaError as error:
                if error.period != "minute":
                    raise
                now = self._clock()
                refused_since = now if refused_since is None else refused_since
                refusals += 1
                if now - refused_since >= self._quota_patience_s:
                    raise quota_still_refused(error, refusals, now - refused_since, self.limiter.limit(api)) from None
                self._sleep(self._on_minute_quota(error, refusals))

    def _on_minute_quota(self, error: TushareQuotaError, refusals: int) -> float:
        """Slow down as the evidence says (see the module docstring); the seconds to wait before retrying."""
        api, stated = error.api_name, error.limit
        if stated and self.limiter.lower(api, stated):
            logger.warning("Tushare %s: the server allows %d/min; pacing at that from now on", api, stated)
        limit = self.limiter.limit(api)
        # this window's calls before the refused one (which the limiter counted too)
        ours, everyone = self.limiter.recent(api) - 1, self.limiter.recent(ACCOUNT) - 1
        quota = stated or limit
        # Per account: refused just as our calls to all interfaces together reached the limit. More
        # than that accepted in the window proves the quota is per interface.
        if ours < OWN_SHARE * quota <= everyone <= quota / OWN_SHARE:
            if not self.limiter.share_account(int(OWN_SHARE * quota)):
                self.limiter.slow_down(ACCOUNT, NUDGE, shared=False)  # already shared: a little slower
            else:
                self.limiter.slowed.setdefault(ACCOUNT, Slowdown(1, int(OWN_SHARE * quota)))
                logger.warning(
                    "Tushare %s: per-minute quota refused after %d calls to it but %d to all interfaces "
                    "in the last minute: the quota looks per account; pacing all interfaces together "
                    "at %d/min",
                    api,
                    ours,
                    everyone,
                    int(OWN_SHARE * quota),
                )
        else:
            shared = ours < OWN_SHARE * quota
            slowed = self.limiter.slow_down(api, SLOW if shared else NUDGE, shared=shared)
            if slowed is not None:
                why = (
                    f"only {ours} of them were ours in the last minute, so another job seems to share the token"
                    if shared
                    else "this client's own pace reached it"
                )
                logger.warning(
                    "Tushare %s: per-minute quota (%d/min) refused a request; %s; slowing %s to %d/min and carrying on",
                    api,
                    quota,
                    why,
                    api,
                    slowed,
                )
        wait = min(QUOTA_WAIT_S, (60.0 / max(self.limiter.limit(api), 1)) * 2 ** min(refusals - 1, 10))
        logger.info("Tushare %s: retrying in %.1f s (refusal %d of this request)", api, wait, refusals)
        return wait

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
            failure = TushareTransportError(
                f"no reply within {self._timeout:g} s ({type(exc).__name__}) from {shown}", api_name=api
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            failure = TushareTransportError(
                f"{shown} is not a usable http(s) URL ({type(exc).__name__}); check TUSHARE_API_URL",
                api_name=api,
                retryable=False,
            )
        except httpx.HTTPError as exc:
            failure = TushareTransportError(f"network error ({type(exc).__name__}) talking to {shown}", api_name=api)
        if failure is not None:
            raise failure
        return self._parse(api, shown, response)

    def _parse(self, api: str, shown: str, response: httpx.Response) -> Page:
        status = response.status_code
        if not response.is_success:
            hint = "; check TUSHARE_API_URL" if status in (404, 405) else ""
            raise TushareTransportError(
                f"HTTP {status} {response.reason_phrase} from {shown}{hint}", api_name=api, status=status
            )
        try:
            envelope = json.loads(response.content)
        except ValueError:
            kind = response.headers.get("content-type", "no content-type")
            start = self._scrub(response.content[:4096].decode("utf-8", "replace"))[:60]
            raise TushareTransportError(
                f"the reply from {shown} is not JSON (HTTP {status}, {kind}; starts with {start!r})",
                api_name=api,
                status=status,
            ) from None
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


def _page_is_full(page_rows: int, cap: int, server_cap: int | None) -> bool:
    """Ask for the next page? Only when this one may be full: it holds our limit, or a cap the server
    showed earlier, or a round number of rows (a multiple of 100, at least 1,000), as caps are:
    servers have capped daily at 5,000 below a documented 6,000, and stk_limit at 4,800 below
    5,800. That probe costs a call on about 1 page in 100. `has_more` is not consulted: the real
    server says `true` on complete pages."""
    return page_rows > 0 and (page_rows >= cap or page_rows == server_cap or is_round_page(page_rows))


def is_round_page(rows: int) -> bool:
    """A page size a server cap could be (the planner counts the extra call it costs)."""
    return rows >= ROUND_PAGE_MIN and rows % ROUND_PAGE == 0


class Page(NamedTuple):
    fields: list[str]
    items: list[list]


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
    return Page(fields, items)  # data.has_more / data.count are unreliable on the real server: ignored


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
