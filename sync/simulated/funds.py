"""Funds and B-shares in the synthetic market's `stk_limit`, as the real interface has them.

Tushare documents `stk_limit` as covering the whole exchange market, A and B shares and funds
("全市场（包含A/B股和基金）", doc_id=183), so on a recent trading day its cross-section holds
more rows than the 5,800 a call returns, while `stock_basic` lists none of those codes. The
dataset must never show them; the sync must page for them.

How many such codes there are is not documented: `NONSTOCK_PER_YEAR` (sync.tushare.apis) is our
estimate at the real market's size, and `MarketSpec.funds` scales it (0: stk_limit has stocks
only, 1: the estimate, scaled to the market's `n_stocks`). The codes use prefixes no stock uses
(SH 900xxx and SZ 200xxx B shares, SH 51xxxx and SZ 16xxxx funds). Each one is listed from a
session drawn from the yearly counts and stays listed; its limit prices are ±10% of a smooth
price path with three decimals, and `pre_close` is null (the real reply gives it for stocks
only). Everything is a function of (seed, code number, global session), so a longer market
only adds days and the stocks' tables are untouched.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sync.simulated.wire import Coded, Column, Derived, Interleaved, Values, WireTable
from sync.tushare.apis import FULL_MARKET_STOCKS, NONSTOCK_PER_YEAR

FUND_STREAM = 131  # spawn key of the funds' random stream (the stocks use others)
EARLIEST_YEAR = 1992.0  # the first B shares
B_SHARES = 100  # of the codes listed before 2005 at full size, the B shares (the rest: closed-end funds)


@dataclasses.dataclass(frozen=True)
class NonStocks:
    codes: np.ndarray  # ts_code labels, sorted
    list_g: np.ndarray  # global session index of each code's first day
    base: np.ndarray  # price level (yuan)
    phase: np.ndarray


def roster(seed: int, scale: float, sessions: np.ndarray) -> NonStocks:
    """Every non-stock code of the market at `scale` (× the real count), listed by the last year of the
    estimate; the listing sessions follow the yearly counts. Independent of the market's range."""
    total = round(scale * max(NONSTOCK_PER_YEAR.values()))
    if total <= 0 or not len(sessions):
        return NonStocks(np.array([], dtype=object), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(FUND_STREAM,))))
    u = rng.random((total, 3))
    # listing rank k at the fractional year where the scaled estimate reaches k + 1/2 (linear between
    # year ends, as `nonstock_listed`); ranks below the first count are listed in the years before it
    ends = sorted(NONSTOCK_PER_YEAR)
    counts = np.array([scale * NONSTOCK_PER_YEAR[y] for y in ends])
    ranks = np.arange(total) + 0.5
    when = np.interp(ranks, counts, np.array(ends, dtype=float) + 1.0)
    early = ranks < counts[0]
    when[early] = EARLIEST_YEAR + (ends[0] + 1.0 - EARLIEST_YEAR) * ranks[early] / counts[0]
    starts = np.array([f"{int(y)}-01-01" for y in np.floor(when)], dtype="datetime64[D]")
    dates = starts + np.floor((when - np.floor(when)) * 365.25).astype("timedelta64[D]")
    list_g = np.searchsorted(sessions, dates, side="left").astype(np.int64)
    n_b = min(total, round(scale * B_SHARES))
    codes, sh, sz = [], 0, 0
    for i in range(total):
        if i < n_b:
            codes.append(f"900{901 + i // 2:03d}.SH" if i % 2 == 0 else f"200{2 + i // 2:03d}.SZ")
        elif i % 2 == 0:
            sh += 1
            codes.append(f"51{sh:04d}.SH")
        else:
            sz += 1
            codes.append(f"16{sz:04d}.SZ")
    order = np.argsort(np.array(codes, dtype=object).astype(str), kind="stable")
    return NonStocks(
        np.array(codes, dtype=object)[order],
        list_g[order],
        np.round(0.6 + 3.0 * u[order, 1], 3),
        2 * np.pi * u[order, 2],
    )


def scale_of(funds: float, n_stocks: int) -> float:
    """The share of the real market's non-stock codes a market of `n_stocks` carries."""
    return funds * n_stocks / FULL_MARKET_STOCKS


def with_nonstocks(
    table: WireTable, seed: int, scale: float, sessions: np.ndarray, start_g: int, first_day: int
) -> WireTable:
    """The stocks' stk_limit table plus the funds' and B shares' rows, in (trade_date, ts_code) order.

    `first_day`: the first range day with stk_limit history; `start_g`: the global index of range day 0.
    """
    days, stock_codes = table.columns["trade_date"], table.columns["ts_code"]
    assert isinstance(days, Coded) and isinstance(stock_codes, Coded)
    n_days = len(days.labels)
    extra = roster(seed, scale, sessions)
    if not len(extra.codes) or n_days <= first_day:
        return table
    first = np.maximum(extra.list_g - start_g, first_day)  # range day each code's rows start on
    per_day = np.bincount(np.minimum(first, n_days), minlength=n_days + 1)[:n_days].cumsum()
    listed_day = np.repeat(np.arange(n_days), per_day)
    # codes listed by day d, in listing order, are those with first <= d: rows (d, code) for each
    by_start = np.argsort(first, kind="stable")
    fund_rows = np.concatenate([by_start[:n] for n in per_day.tolist()]) if len(listed_day) else np.zeros(0, np.int64)
    labels = np.union1d(stock_codes.labels.astype(str), extra.codes.astype(str)).astype(object)
    stock_id = np.searchsorted(labels.astype(str), stock_codes.labels.astype(str))
    fund_id = np.searchsorted(labels.astype(str), extra.codes.astype(str))
    day_all = np.concatenate([days.codes.astype(np.int64), listed_day])
    code_all = np.concatenate([stock_id[stock_codes.codes], fund_id[fund_rows]])
    order = np.lexsort((code_all, day_all))
    from_funds = order >= table.n_rows
    position = np.where(from_funds, order - table.n_rows, order)
    f_day, f_code = Values(listed_day), Values(fund_rows)

    def price(day: np.ndarray, code: np.ndarray, lag: int) -> np.ndarray:
        g = (start_g + day - lag).astype(float)
        return np.round(extra.base[code] * (1 + 0.15 * np.sin(g / 90.0 + extra.phase[code])), 3)

    fund_columns = {
        "pre_close": Derived(lambda d: np.full(len(d), np.nan), (f_day,)),
        "up_limit": Derived(lambda d, c: np.round(price(d, c, 1) * 1.1, 3), (f_day, f_code)),
        "down_limit": Derived(lambda d, c: np.round(price(d, c, 1) * 0.9, 3), (f_day, f_code)),
    }
    columns: dict[str, Column] = {
        "ts_code": Coded(code_all[order].astype(np.int32), labels),
        "trade_date": Coded(day_all[order].astype(np.int32), days.labels),
    }
    for name in ("pre_close", "up_limit", "down_limit"):
        columns[name] = Interleaved(table.columns[name], fund_columns[name], from_funds, position.astype(np.int64))
    return WireTable(table.api, columns, len(order))
