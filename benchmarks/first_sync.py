"""Benchmark 0: the predicted cost of the first full sync on the real API, from 2005, per market selection.

No calls are made: the planner (`sync.fetch.plan`) counts the pages on the synthetic universe at
the real market's size (5,500 stocks listed by 2025, its listing and delisting dates), over the
real SSE calendar, with the real interfaces' caps, stk_limit's funds and B shares at our estimate
(`NONSTOCK_PER_YEAR`), and the real quota (200/min per interface; stock_basic 50/min). The old
planner's figures are shown beside it: one shape for all interfaces, and a `has_more: true` on
every page doubling each interface's calls.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from benchmarks.report import Figure, Section, num, table
from sync.core.config import DEFAULT_INDEXES
from sync.fetch import indexes as index_fetch
from sync.fetch.listed_on_day import select_stocks
from sync.fetch.plan import plan_fetch, shape_costs
from sync.simulated.calendar import sse_sessions
from sync.simulated.life import lifecycle
from sync.simulated.listings import LIFE, MARKETS, build_universe, stock_rng
from sync.tushare.apis import DAY_APIS, FULL_MARKET_STOCKS, nonstock_listed, year_fraction

START, END = dt.date(2005, 1, 4), dt.date(2025, 12, 31)
RATE = 200
OTHER_CALLS = 3 + 1 + 2  # stock_basic L/D/P, trade_cal, namechange (two pages of 10,000)


def universe(n_stocks: int = FULL_MARKET_STOCKS, seed: int = 7) -> tuple[pd.DataFrame, list[dt.date]]:
    """stock_basic-like rows (code, exchange, market, list/delist dates) and the trading days."""
    sessions = sse_sessions(END.year + 1)
    end_g = int(np.searchsorted(sessions, np.datetime64(END, "D"), side="right")) - 1
    start_g = int(np.searchsorted(sessions, np.datetime64(START, "D"), side="left"))
    u = build_universe(seed, n_stocks, sessions, end_g)
    lives = [
        lifecycle(stock_rng(seed, int(b), int(k), LIFE), int(g), b == 0, start_g, end_g)
        for b, k, g in zip(u.board, u.k, u.list_g)
    ]
    day = lambda g: pd.Timestamp(sessions[g]) if g is not None and g < len(sessions) else pd.NaT  # noqa: E731
    frame = pd.DataFrame(
        {
            "ts_code": u.ts_code.astype(str),
            "exchange": u.exchange.astype(str),
            "market": [MARKETS[b] for b in u.board],
            "list_date": [day(int(g)) for g in u.list_g],
            "delist_date": [day(life.delist_g) for life in lives],
            "name": "",
            "list_status": "L",
        }
    )
    days = [d.item() for d in sessions[start_g : end_g + 1]]
    return frame, days


INDEX_FIRST = {"399006.SZ": dt.date(2010, 6, 1), "000688.SH": dt.date(2020, 7, 23)}  # later first days
DELTA_WEIGHT_DAYS = 75  # a delta asks from the newest snapshot (up to ~15 days old) minus 60 days


def index_costs(frame: pd.DataFrame, days: list[dt.date]) -> dict[str, dict[str, int]]:
    """Planned calls of the index interfaces for SYNC_INDEXES' default: a first full sync from START,
    and one evening's delta. 000001.SH's members are the SSE stocks listed on each day (it holds them
    all); the others at their fixed size (index_fetch.MEMBERS)."""
    sse = frame[frame["ts_code"].str.endswith(".SH") & frame["market"].isin(("主板", "科创板"))]
    listed = np.sort(sse["list_date"].dropna().to_numpy(dtype="datetime64[D]"))
    gone = np.sort(sse["delist_date"].dropna().to_numpy(dtype="datetime64[D]"))

    def sse_listed(day: dt.date) -> int:
        at = np.datetime64(day, "D")
        return int(np.searchsorted(listed, at, side="right") - np.searchsorted(gone, at, side="right"))

    spans = {code: [d for d in days if d >= INDEX_FIRST.get(code, START)] for code in DEFAULT_INDEXES}
    full = index_fetch.estimate_calls(DEFAULT_INDEXES, spans, spans, members={"000001.SH": sse_listed})
    recent = [d for d in days if d > END - dt.timedelta(days=DELTA_WEIGHT_DAYS)]
    delta = index_fetch.estimate_calls(
        DEFAULT_INDEXES, {c: recent[-5:] for c in DEFAULT_INDEXES}, {c: recent for c in DEFAULT_INDEXES}
    )
    return {"full": full, "delta": delta}


def predict() -> dict[str, dict]:
    frame, days = universe()
    market = select_stocks(frame, MARKETS)
    scale = 1.0  # the estimate at the real market's size
    nonstock = lambda d: scale * nonstock_listed(year_fraction(d))  # noqa: E731
    out: dict[str, dict] = {"indexes": index_costs(frame, days)}
    for label, boards in (("主板", ("主板",)), ("all markets", MARKETS)):
        stocks = market[market["market"].isin(boards)].reset_index(drop=True)
        plan = plan_fetch(days, market, stocks, nonstock, probe_calls=2)
        costs = shape_costs(days, market, stocks, nonstock)
        old_shape = (
            "per-day"
            if max(c["per-day"] for c in costs.values()) <= max(c["per-stock"] for c in costs.values())
            else "per-stock"
        )
        old_without_funds = shape_costs(days, market, stocks)
        out[label] = {
            "plan": plan,
            "costs": costs,
            "days": len(days),
            "stocks": len(stocks),
            "old_shape": old_shape,
            "old_printed": {api: c[old_shape] for api, c in old_without_funds.items()},
            "old_real": {api: 2 * c[old_shape] for api, c in costs.items()},
        }
    return out


def bench_first_sync() -> Section:
    found = predict()
    section = Section(
        "0. Predicted first full sync on the real API",
        f"Planned, not run: the planner on the synthetic universe at the real size ({FULL_MARKET_STOCKS:,} stocks "
        f"listed by 2025, delisted ones included) over the SSE calendar {START} .. {END} ({found['主板']['days']:,} "
        f"trading days), the interfaces' documented caps (stk_limit 5,800 with funds and B shares at our estimate: "
        f"{nonstock_listed(2008.0):,.0f} in 2007 to {nonstock_listed(2026.0):,.0f} at the end of 2025), "
        f"{RATE}/min per interface. Each interface takes its cheapest shape; the run is bounded by the busiest one. "
        f"Other calls: {OTHER_CALLS} (stock_basic, trade_cal, namechange), plus 2 stk_limit probe pages.",
    )
    indexes = found.pop("indexes")
    rows = []
    for label, f in found.items():
        plan = f["plan"]
        busiest = max(plan.calls_per_api, key=plan.calls_per_api.get)
        total = sum(plan.calls_per_api.values()) + OTHER_CALLS
        old_real_busiest = max(f["old_real"].values())
        section.figures.append(
            Figure(
                f"{label} ({f['stocks']:,} stocks): calls, and wall at {RATE}/min",
                f"{total:,} calls; busiest {busiest} {plan.calls_per_api[busiest]:,} → {math.ceil(plan.calls_per_api[busiest] / RATE)} min "
                f"(before: {f['old_shape']} for all, printed {sum(f['old_printed'].values()) + OTHER_CALLS:,} calls / "
                f"{math.ceil(max(f['old_printed'].values()) / RATE)} min, really ~{sum(f['old_real'].values()) + OTHER_CALLS:,} / "
                f"{math.ceil(old_real_busiest / RATE)} min with has_more trusted)",
            )
        )
        for api in DAY_APIS:
            c = f["costs"][api]
            rows.append(
                [
                    label,
                    api,
                    plan.shapes[api],
                    num(plan.calls_per_api[api]),
                    num(c["per-day"]),
                    num(c["per-stock"]),
                    num(c["range"]) if "range" in c else "",
                    f"{plan.calls_per_api[api] / RATE:.1f} min",
                ]
            )
    section.tables.append(
        table(
            [
                "selection",
                "interface",
                "shape",
                "planned calls",
                "per day",
                "per stock",
                "range (month)",
                f"at {RATE}/min",
            ],
            rows,
        )
    )
    index_busiest = max(indexes["full"].values())
    for label, f in found.items():
        busiest = max(f["plan"].calls_per_api.values())
        total = sum(f["plan"].calls_per_api.values()) + OTHER_CALLS + sum(indexes["full"].values())
        section.figures.append(
            Figure(
                f"{label} with the {len(DEFAULT_INDEXES)} default indexes: calls, and wall at {RATE}/min",
                f"{total:,} calls; index_basic {indexes['full']['index_basic']}, index_daily "
                f"{indexes['full']['index_daily']}, index_weight {indexes['full']['index_weight']:,} "
                f"({math.ceil(index_busiest / RATE)} min on its own quota, concurrently) → still "
                f"{math.ceil(max(busiest, index_busiest) / RATE)} min, bounded by the busiest interface",
            )
        )
    section.figures.append(
        Figure(
            "indexes: a delta's extra calls per evening",
            f"{sum(indexes['delta'].values())} calls (index_basic {indexes['delta']['index_basic']}, index_daily "
            f"{indexes['delta']['index_daily']}, index_weight {indexes['delta']['index_weight']}: snapshots from the "
            f"newest minus 60 days, in windows under the 6,000-row cut)",
        )
    )
    section.notes.append(
        "Indexes: index_weight windows are sized so that trading days × members × snapshots per day (1 until "
        "2011-09-02, 0.15 after) stay under 80% of its silent 6,000-row cut; 000001.SH holds every SSE stock "
        "(~2,300 today), so it needs two-day windows in the daily era. 000300.SH's snapshots before 2020-03-31 are "
        "asked under 399300.SZ as well. Splits after a reply at the cut are not foreseen; the run counts them."
    )
    section.notes.append(
        "stk_limit per day needs two pages from about 2022 (stocks + funds > 5,800 rows); per stock it needs one call "
        "per code and never sees a fund. The funds' count is our estimate (docs/tushare.md); the sync measures it on one "
        "probed day and scales the estimate, so the printed plan follows the real count."
    )
    section.commands.append("python -m benchmarks --only first")
    return section
