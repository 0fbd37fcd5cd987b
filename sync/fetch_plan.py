"""Plan a full sync's API calls: per trading day or per stock, whichever the busiest interface
needs fewer calls for. Pure: stock list and trading days in, chunks of calls out.

Per day, one call (or page) returns the whole market's cross-section, so its cost grows with the
number of days; per stock, one call returns up to a cap of one stock's days, so its cost grows
with the universe. A few stocks over many years favour per stock; the full market per day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence

import pandas as pd

from sync.clock import ymd
from sync.tushare.apis import DAY_APIS, ROW_CAPS
from sync.universe import listed_codes_per_day, listed_days_per_code

STOCKS_PER_CHUNK = 50


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A unit of fetching and checkpointing: its id names its staging folder."""

    id: str
    days: tuple[dt.date, ...]
    calls: tuple[tuple[str, dict], ...]


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
        calls = tuple((api, {"trade_date": ymd(d)}) for d in month_days for api in DAY_APIS)
        chunks.append(Chunk(f"{month_days[0]:%Y-%m}", tuple(month_days), calls))
    calls = {api: sum(max(1, math.ceil(n / ROW_CAPS[api])) for n in listed_codes_per_day(market, days)) for api in DAY_APIS}
    return FetchPlan("per-day", tuple(chunks), calls)


def _per_stock(days: Sequence[dt.date], universe: pd.DataFrame) -> FetchPlan:
    counts = {code: n for code, n in listed_days_per_code(universe, days).items() if n > 0}
    codes = list(counts)
    start, end = ymd(days[0]), ymd(days[-1])
    chunks = []
    for i in range(0, len(codes), STOCKS_PER_CHUNK):
        batch = codes[i:i + STOCKS_PER_CHUNK]
        calls = tuple((api, {"ts_code": code, "start_date": start, "end_date": end}) for code in batch for api in DAY_APIS)
        chunks.append(Chunk(f"stocks-{i // STOCKS_PER_CHUNK:05d}", tuple(days), calls))
    calls = {api: sum(max(1, math.ceil(counts[c] / ROW_CAPS[api])) for c in codes) for api in DAY_APIS}
    return FetchPlan("per-stock", tuple(chunks), calls)
