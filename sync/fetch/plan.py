"""Plan a full sync's API calls: each interface on its own cheapest shape, counted in pages. Pure:
stock list and trading days in, chunks of calls out.

Each Tushare interface has its own per-minute quota, so each one picks the shape that needs the
fewest calls for it, and the full sync is bounded by the busiest interface. The shapes:

* per day: one `trade_date` call returns the whole market's cross-section (every board, and for
  stk_limit the funds and B shares too), in ceil(rows / cap) pages; its cost grows with the days.
* per stock: one `ts_code` call over the range returns up to a cap of one stock's days (about 23
  years of daily), so its cost grows with the selected stocks, and never sees a fund.
* range (suspend_d only, a sparse interface: a few dozen rows a day): one `start_date`..`end_date`
  call per month, usually one page.

A few stocks over many years favour per stock; the whole market over a few years, per day.
Pages are counted as the client asks for them: ceil(rows / cap), where a day's rows are the
stocks listed that day (all markets) plus, for stk_limit, the estimated non-stock codes
(`nonstock`, from one probed day; see `sync.engine.full`). The plan's counts are what the run's
calls should come to, within a few percent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from sync.core.clock import ymd
from sync.fetch.listed_on_day import listed_codes_per_day, listed_days_per_code
from sync.tushare.apis import APIS, DAY_APIS, ROW_CAPS, available

STOCKS_PER_CHUNK = 50
SHAPES = ("per-day", "per-stock", "range")
# The shapes each interface allows. per day and per stock are documented for all five; a date range
# without ts_code or trade_date only where every input is optional and the rows are few (suspend_d):
# how the real server pages a many-day cross-section by offset is not documented.
ALLOWED: Mapping[str, tuple[str, ...]] = {
    api: ("per-day", "per-stock", "range") if APIS[api].sparse else ("per-day", "per-stock") for api in DAY_APIS
}
# Rows of a sparse interface (suspend_d) per listed stock-day, to count a month's range pages:
# suspensions are typically tens of names a day (more in a crash, e.g. July 2015).
SPARSE_SHARE = 0.02
SEED_CALLS = 1  # daily: the last closes of the stocks suspended on the first day (sync.engine.full.seed_closes)

NonStock = Callable[[dt.date], float]  # estimated non-stock rows in a day's stk_limit cross-section


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A unit of fetching and checkpointing of one interface, identified by what it holds.

    `id` is derived from the content (interface, shape, days, codes), so a checkpoint is reused only
    for exactly the same calls: a reordered stock list or a moved end date gives other ids, never
    a wrong reuse.
    """

    id: str
    api: str
    days: tuple[dt.date, ...]
    codes: tuple[str, ...] | None  # None: every code of the market (a per-day or range chunk)
    calls: tuple[tuple[str, dict], ...]


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class FetchPlan:
    shapes: dict[str, str]  # per interface: "per-day", "per-stock" or "range"
    chunks: tuple[Chunk, ...]
    calls_per_api: dict[str, int]  # estimated HTTP calls (pages, and the probe) per interface
    probe_calls: int = 0  # stk_limit calls spent before planning to count its non-stock rows

    @property
    def strategy(self) -> str:
        """The shapes in one word when they agree ("per-day"), else per interface."""
        shapes = {self.shapes[api] for api in self.shapes}
        if len(shapes) == 1:
            return shapes.pop()
        return ",".join(f"{api}:{shape}" for api, shape in self.shapes.items())

    def describe(self, rate_per_min: int | None) -> str:
        """The plan for humans; `rate_per_min` None means the source has no quota."""
        busiest = max(self.calls_per_api.values())
        calls = ", ".join(f"{api} {self.shapes[api]} {n:,}" for api, n in self.calls_per_api.items())
        pace = (
            f"; the busiest interface needs ~{math.ceil(busiest / rate_per_min)} min at {rate_per_min}/min"
            if rate_per_min
            else ""
        )
        probe = f" (stk_limit includes {self.probe_calls} probe call(s))" if self.probe_calls else ""
        return f"planned fetch: {calls} API calls (pages){probe}{pace}"


def group_by_month(days: Sequence[dt.date]) -> list[list[dt.date]]:
    """Consecutive days grouped by calendar month, in order."""
    months: dict[tuple[int, int], list[dt.date]] = {}
    for day in days:
        months.setdefault((day.year, day.month), []).append(day)
    return list(months.values())


def plan_fetch(
    days: Sequence[dt.date],
    market: pd.DataFrame,
    universe: pd.DataFrame,
    nonstock: NonStock | None = None,
    *,
    probe_calls: int = 0,
    force: str | None = None,
    row_caps: Mapping[str, int] = ROW_CAPS,
) -> FetchPlan:
    """The cheapest shape per interface. `market`: every stock (all markets), `universe`: the
    selected ones; `nonstock`: stk_limit's extra rows per day (None: none); `force`: one shape for
    every interface that allows it (tests); `row_caps`: the rows per page the client asks for."""
    costs = shape_costs(days, market, universe, nonstock, row_caps)
    shapes = {}
    for api in DAY_APIS:
        options = {shape: n for shape, n in costs[api].items() if force is None or shape == force} or costs[api]
        shapes[api] = min(options, key=lambda shape: (options[shape], SHAPES.index(shape)))
    calls = {api: costs[api][shapes[api]] + (probe_calls if api == "stk_limit" else 0) for api in DAY_APIS}
    calls["daily"] += SEED_CALLS
    chunks = tuple(chunk for api in DAY_APIS for chunk in _chunks(api, shapes[api], days, universe))
    return FetchPlan(shapes, chunks, calls, probe_calls)


def shape_costs(
    days: Sequence[dt.date],
    market: pd.DataFrame,
    universe: pd.DataFrame,
    nonstock: NonStock | None = None,
    row_caps: Mapping[str, int] = ROW_CAPS,
) -> dict[str, dict[str, int]]:
    """Pages each allowed shape needs, per interface."""
    sizes = dict(zip(days, listed_codes_per_day(market, days), strict=True))
    out: dict[str, dict[str, int]] = {}
    for api in DAY_APIS:
        span = [d for d in days if available(api, d)]
        extra = nonstock if api == "stk_limit" and nonstock else (lambda _: 0.0)
        cap = row_caps.get(api, ROW_CAPS[api])
        costs = {"per-day": sum(_pages(api, sizes[d] + round(extra(d)), cap) for d in span)}
        per_code = listed_days_per_code(universe, span) if span else pd.Series(dtype=int)
        costs["per-stock"] = sum(_pages(api, int(n), cap) for n in per_code if n > 0)
        if "range" in ALLOWED[api]:
            costs["range"] = sum(
                max(1, math.ceil(SPARSE_SHARE * sum(sizes[d] for d in month) / cap)) for month in group_by_month(span)
            )
        out[api] = {shape: n for shape, n in costs.items() if shape in ALLOWED[api]}
    return out


def _chunks(api: str, shape: str, days: Sequence[dt.date], universe: pd.DataFrame) -> list[Chunk]:
    span = [d for d in days if available(api, d)]
    if not span:
        return []
    if shape == "per-stock":
        counts = listed_days_per_code(universe, span)
        codes = sorted(str(c) for c, n in counts.items() if n > 0)  # sorted: independent of stock_basic's order
        chunks = []
        for i in range(0, len(codes), STOCKS_PER_CHUNK):
            batch = tuple(codes[i : i + STOCKS_PER_CHUNK])
            calls = tuple(
                (api, {"ts_code": code, "start_date": ymd(span[0]), "end_date": ymd(span[-1])}) for code in batch
            )
            chunks.append(
                Chunk(f"{api}-stocks-{_digest(api, batch, span[0], span[-1])}", api, tuple(span), batch, calls)
            )
        return chunks
    chunks = []
    for month in group_by_month(span):
        if shape == "range":
            calls = ((api, {"start_date": ymd(month[0]), "end_date": ymd(month[-1])}),)
        else:
            calls = tuple((api, {"trade_date": ymd(d)}) for d in month)
        ident = f"{api}-{'range' if shape == 'range' else 'days'}-{month[0]:%Y-%m}-{_digest(api, shape, tuple(month))}"
        chunks.append(Chunk(ident, api, tuple(month), None, calls))
    return chunks


def _pages(api: str, rows: int, cap: int) -> int:
    """Calls for one request of up to `rows` rows: its pages (a sparse interface fits in one), and the
    client's probe after a page of exactly `cap` rows."""
    return 1 if APIS[api].sparse else rows // cap + 1 if rows and rows % cap == 0 else max(1, math.ceil(rows / cap))
