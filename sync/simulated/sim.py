"""The synthetic market's simulation: which stock trades when, and at what prices.

Day-major matrices (range days × stocks) hold the state; one loop over days, vectorised over
stocks, runs the only truly sequential part: the close-to-close price path, which must stay
inside each day's price limits and step through ex-rights days. Everything else (OHLC, volume,
amount, shares) is then derived in long form, one entry per traded stock-day.

Prices are kept as integer cents (exact limit arithmetic), amounts as integer yuan.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sync.simulated import life
from sync.simulated.listings import FUNDAMENTAL, Universe, stock_rng

if TYPE_CHECKING:
    from sync.simulated.model import Layout

GEM_REFORM = np.datetime64("2020-08-24", "D")  # 创业板 moved to ±20% (registration system)
FIRST_YEAR = 1990
N_NOISE = 6  # close, open, high wick, low wick, volume, vwap position
_ISSUE_PRICE = (10.0, 20.0, 30.0, 12.0)  # median issue price by board (yuan)
_SHARES = (50000.0, 15000.0, 30000.0, 8000.0)  # median total shares by board (万股)
_VOLATILITY = (0.020, 0.026, 0.028, 0.032)  # median daily volatility by board
_TURNOVER = (1.2, 2.5, 2.0, 1.8)  # median daily turnover by board (%)


@dataclasses.dataclass
class Stocks:
    """Per-stock parameters (arrays over the universe) drawn from the static uniforms/normals."""

    level: np.ndarray  # price at the range start for stocks listed before it (yuan)
    issue: np.ndarray  # issue price for stocks listing inside the range (yuan)
    shares: np.ndarray  # total shares when the range starts or at listing (万股)
    sigma: np.ndarray
    beta: np.ndarray
    turnover: np.ndarray
    float_steps: np.ndarray  # (n, 3) float fraction in year 1, years 2-3, afterwards
    free_ratio: np.ndarray
    p_div: np.ndarray
    adj_growth: np.ndarray
    ah_ratio: np.ndarray


def stock_parameters(universe: Universe) -> Stocks:
    u, z, board = universe.u, universe.z, universe.board
    f0 = 0.1 + 0.2 * u[:, 9]
    final = 0.85 + 0.15 * u[:, 10]
    return Stocks(
        level=np.clip(np.exp(np.log(11.0) + 0.6 * z[:, 0]), 2.0, 300.0),
        issue=np.clip(np.exp(np.log(np.take(_ISSUE_PRICE, board)) + 0.45 * z[:, 0]), 1.5, 200.0),
        shares=np.round(np.exp(np.log(np.take(_SHARES, board)) + 0.8 * z[:, 1]), 4),
        sigma=np.exp(np.log(np.take(_VOLATILITY, board)) + 0.25 * z[:, 2]),
        beta=0.6 + 0.8 * u[:, 8],
        turnover=np.exp(np.log(np.take(_TURNOVER, board)) + 0.5 * z[:, 3]),
        float_steps=np.stack([f0, (f0 + final) / 2, final], axis=1),
        free_ratio=0.35 + 0.6 * u[:, 11],
        p_div=0.3 + 0.65 * u[:, 13],
        adj_growth=0.005 + 0.04 * u[:, 14],
        ah_ratio=0.004 * u[:, 15],
    )


@dataclasses.dataclass
class Fundamentals:
    """Annual figures by (stock, year - 1990), in 万元."""

    profit: np.ndarray
    revenue: np.ndarray
    book: np.ndarray


def fundamentals(
    seed: int, universe: Universe, ref_price: np.ndarray, shares: np.ndarray, last_year: int
) -> Fundamentals:
    """Profit follows a stationary AR(1) around a level set by an initial P/E; some years lose.

    `ref_price` × `shares` is the market value the figures are scaled to (万元).
    """
    n_years = last_year - FIRST_YEAR + 1
    draws = (
        np.stack(
            [
                stock_rng(seed, b, k, FUNDAMENTAL).standard_normal((n_years, 3))
                for b, k in zip(universe.board, universe.k)
            ]
        )
        if len(universe)
        else np.zeros((0, n_years, 3))
    )
    u, z = universe.u, universe.z
    mv_ref = ref_price * shares
    base = mv_ref / np.exp(np.log(25.0) + 0.5 * z[:, 4])
    level = np.zeros_like(draws[:, :, 0])
    for year in range(1, n_years):
        level[:, year] = 0.7 * level[:, year - 1] + 0.3 * draws[:, year, 0]
    loss = draws[:, :, 1] < (-1.3 + 0.5 * z[:, 5])[:, None]
    profit = np.where(loss, -0.4 * base[:, None] * np.exp(0.5 * draws[:, :, 2]), base[:, None] * np.exp(level))
    revenue = (mv_ref / (0.5 + 6 * u[:, 17]))[:, None] * np.exp(0.8 * level + 0.1 * draws[:, :, 2])
    book = (mv_ref / (1.0 + 4 * u[:, 16]))[:, None] * np.exp(0.3 * level)
    return Fundamentals(np.round(profit, 2), np.round(revenue, 2), np.round(book, 2))


def limit_percent(board: np.ndarray, st: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Daily price limit in percent: the exchange rules as of `day` (scalar or per-row array).

    主板 ±10%, ±5% under ST/*ST; 创业板 ±20% from 2020-08-24 (before: as 主板);
    科创板 ±20%; 北交所 ±30%.
    """
    main_rules = (board == 0) | ((board == 1) & (day < GEM_REFORM))
    return np.where(main_rules, np.where(st, 5, 10), np.where(board == 3, 30, 20))


def limit_prices(pre_cents: np.ndarray, percent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(up, down) in cents: pre_close × (1 ± percent), rounded half up to 0.01, exactly."""
    pre = pre_cents.astype(np.int64)
    return (pre * (100 + percent) + 50) // 100, (pre * (100 - percent) + 50) // 100


@dataclasses.dataclass
class Paths:
    """Day loop output: dense (days × cols) prices, plus what changes only on ex-rights days.

    Values on days a stock is not listed are junk. The factor, share count and last dividend
    of a stock-day are those after its latest ex-rights event (see `EventLog.lookup`).
    """

    pre: np.ndarray  # ex-rights reference price (previous close, adjusted on ex days), cents
    close: np.ndarray  # cents
    events: EventLog


@dataclasses.dataclass
class EventLog:
    """State after each ex-rights event, sorted by (col, day), and each col's state before any."""

    n_days: int
    key: np.ndarray  # col * n_days + day
    after: dict[str, np.ndarray]  # adj, shares, cash, g
    initial: dict[str, np.ndarray]  # per col

    def lookup(self, day: np.ndarray, col: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        """`names` among adj, shares, cash (last dividend, 万元), g (its session) on each stock-day."""
        out = {name: self.initial[name][col] for name in names}
        if len(self.key):
            at = np.searchsorted(self.key, col.astype(np.int64) * self.n_days + day, side="right") - 1
            safe = np.maximum(at, 0)
            hit = (at >= 0) & (self.key[safe] // self.n_days == col)
            out = {name: np.where(hit, self.after[name][safe], values) for name, values in out.items()}
        return out


MEAN_REVERSION = 0.004  # daily pull of the log price towards the stock's anchor
TAIL_THRESHOLD, TAIL_SCALE = 2.2, 2.0  # news days: noise beyond 2.2σ is doubled (fat tails, limit hits)
IPO_BOOST = 0.15  # log-return pushed into the listing day (new stocks tend to open high)


def _apply_ex_rights(state: dict, events: dict[int, tuple[float, float]], g: int) -> np.ndarray:
    """Cash dividend and bonus shares: price drops to the ex-rights reference, factor steps up."""
    cols = np.fromiter(events, dtype=np.int64, count=len(events))
    cash = np.array([events[c][0] for c in cols.tolist()])
    bonus = np.array([events[c][1] for c in cols.tolist()])
    last = state["last"][cols]
    cash_cents = np.minimum(cash / state["shares"][cols] * 100.0, 0.1 * last)
    ex = np.maximum(np.floor((last - cash_cents) / (1.0 + bonus) + 0.5), 1.0)
    state["adj"][cols] *= last / ex
    state["shares"][cols] = np.round(state["shares"][cols] * (1.0 + bonus), 4)
    state["anchor"][cols] -= np.log1p(bonus)
    state["last"][cols] = ex
    state["cash"][cols] = cash
    state["g"][cols] = g
    return cols


def _initial_state(layout, stocks: Stocks) -> dict:
    i = layout.cols
    listed_before = layout.list_day < 0
    years_listed = np.maximum(-layout.list_day, 0) / life.YEAR
    price = np.where(listed_before, stocks.level[i], stocks.issue[i])
    return {
        "last": np.rint(price * 100.0),
        "adj": np.where(listed_before, np.round(np.exp(stocks.adj_growth[i] * years_listed), 3), 1.0),
        "shares": stocks.shares[i].copy(),
        "anchor": np.log(np.where(listed_before, price, price * 1.3)),
        "cash": layout.prior_div[:, 0].copy(),
        "g": np.nan_to_num(layout.prior_div[:, 1], nan=-1).astype(np.int64),
    }


def _event_log(n_days: int, initial: dict, records: list) -> EventLog:
    names = ("adj", "shares", "cash", "g")
    if records:
        key = np.concatenate([cols * n_days + day for day, cols, _ in records])
        after = {name: np.concatenate([values[name] for _, _, values in records]) for name in names}
        order = np.argsort(key, kind="stable")
        key, after = key[order], {name: values[order] for name, values in after.items()}
    else:
        key, after = np.zeros(0, dtype=np.int64), {name: np.zeros(0) for name in names}
    return EventLog(n_days, key, after, {name: initial[name] for name in names})


def run_prices(layout: Layout, universe: Universe, stocks: Stocks, market_moves: np.ndarray) -> Paths:
    """The close-to-close path of every stock, one vectorised step per day.

    `market_moves` is the common market return by range day. A stock's return mixes it with
    its own noise and a weak pull towards its anchor price, then the close is rounded to cents
    and clipped into [down_limit, up_limit] computed from the ex-rights previous close.
    """
    n_days, n_cols = layout.status.shape
    i = layout.cols
    board, sigma, beta = universe.board[i], stocks.sigma[i], stocks.beta[i]
    state = _initial_state(layout, stocks)
    initial = {name: values.copy() for name, values in state.items()}
    pre, close_out = np.zeros((n_days, n_cols), dtype=np.int32), np.zeros((n_days, n_cols), dtype=np.int32)
    records = []
    for t in range(n_days):
        if t in layout.ex_events:
            cols = _apply_ex_rights(state, layout.ex_events[t], layout.start_g + t)
            records.append((t, cols, {name: state[name][cols].copy() for name in ("adj", "shares", "cash", "g")}))
        last = state["last"]
        up, down = limit_prices(last, limit_percent(board, layout.st[t], layout.dates[t]))
        drift = np.where(layout.list_day == t, IPO_BOOST, -0.5 * sigma**2)
        pull = MEAN_REVERSION * (np.log(last / 100.0) - state["anchor"])
        z = layout.z_close[t]
        z = np.where(np.abs(z) > TAIL_THRESHOLD, TAIL_SCALE * z, z)
        move = drift + beta * market_moves[t] + sigma * z - pull
        close = np.clip(np.rint(last * np.exp(move)), down, up)
        pre[t], close_out[t] = last, close
        state["last"] = np.where(layout.status[t] == 1, close, last)
    return Paths(pre, close_out, _event_log(n_days, initial, records))
