"""Plan a full sync's API calls: per trading day or per stock, whichever the busiest interface
needs fewer calls for. Pure: stock list and trading days in, chunks of calls out.

Per day, one call (or page) returns the whole market's cross-section, so its cost grows with the
number of days; per stock, one call returns up to a cap of one stock's days, so its cost grows
with the universe. A few stocks over many years favour per stock; the full market per day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Sequence

import pandas as pd

from sync.core.clock import ymd
from sync.tushare.apis import APIS, DAY_APIS, ROW_CAPS, available
from sync.fetch.listed_on_day import listed_codes_per_day, listed_days_per_code

STOCKS_PER_CHUNK = 50


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A unit of fetching and checkpointing, identified by what it holds (its days and codes).

    `id` is derived from the content, so a checkpoint is reused only for exactly the same days and
    codes: a reordered stock list or a moved end date gives other ids, never a wrong reuse.
    """

    id: str
    days: tuple[dt.date, ...]
    codes: tuple[str, ...] | None     # None: every code of the market (a per-day chunk)
    calls: tuple[tuple[str, dict], ...]


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class FetchPlan:
    strategy: str                 # "per-day" or "per-stock"
    chunks: tuple[Chunk, ...]
    calls_per_api: dict[str, int]  # estimated HTTP calls (pages included) per interface

    def describe(self, rate_per_min: int | None) -> str:
        """The plan for humans; `rate_per_min` None means the source has no quota."""
        busiest = max(self.calls_per_api.values())
        calls = ", ".join(f"{api} {n:,}" for api, n in self.calls_per_api.items())
        pace = (f"; the busiest interface needs ~{math.ceil(busiest / rate_per_min)} min at {rate_per_min}/min"
                if rate_per_min else "")
        return f"planned {self.strategy} fetch: {calls} API calls{pace}"


def group_by_month(days: Sequence[dt.date]) -> list[list[dt.date]]:
    """Consecutive days grouped by calendar month, in order."""
    months: dict[tuple[int, int], list[dt.date]] = {}
    for day in days:
        months.setdefault((day.year, day.month), []).append(day)
    return list(months.values())


def plan_fetch(days: Sequence[dt.date], market: pd.DataFrame, universe: pd.DataFrame) -> FetchPlan:
    """The cheaper plan. `market`: every stock (all markets), `universe`: the selected ones."""
    per_day = _per_day(days, market)
    per_stock = _per_stock(days, universe)
    return per_stock if max(per_stock.calls_per_api.values()) < max(per_day.calls_per_api.values()) else per_day


def _per_day(days: Sequence[dt.date], market: pd.DataFrame) -> FetchPlan:
    chunks = []
    for month_days in group_by_month(days):
        calls = tuple((api, {"trade_date": ymd(d)}) for d in month_days for api in DAY_APIS if available(api, d))
        ident = f"days-{month_days[0]:%Y-%m}-{_digest(tuple(month_days))}"
        chunks.append(Chunk(ident, tuple(month_days), None, calls))
    sizes = dict(zip(days, listed_codes_per_day(market, days), strict=True))
    per_api = {api: sum(_pages(api, sizes[d]) for d in days if available(api, d)) for api in DAY_APIS}
    return FetchPlan("per-day", tuple(chunks), per_api)


def _per_stock(days: Sequence[dt.date], universe: pd.DataFrame) -> FetchPlan:
    counts = {str(code): int(n) for code, n in listed_days_per_code(universe, days).items() if n > 0}
    codes = sorted(counts)  # sorted: the chunks do not depend on the order stock_basic lists them in
    spans = {api: [d for d in days if available(api, d)] for api in DAY_APIS}
    chunks = []
    for i in range(0, len(codes), STOCKS_PER_CHUNK):
        batch = tuple(codes[i:i + STOCKS_PER_CHUNK])
        calls = tuple((api, {"ts_code": code, "start_date": ymd(spans[api][0]), "end_date": ymd(spans[api][-1])})
                      for code in batch for api in DAY_APIS if spans[api])
        chunks.append(Chunk(f"stocks-{_digest(batch, days[0], days[-1])}", tuple(days), batch, calls))
    per_api = {api: sum(_pages(api, min(counts[c], len(spans[api]))) for c in codes) if spans[api] else 0
               for api in DAY_APIS}
    return FetchPlan("per-stock", tuple(chunks), per_api)


def _pages(api: str, rows: int) -> int:
    """Calls for one request of up to `rows` rows: its pages (a sparse interface fits in one)."""
    return 1 if APIS[api].sparse else max(1, math.ceil(rows / ROW_CAPS[api]))
