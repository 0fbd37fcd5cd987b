"""Long-form rows of the synthetic market, derived from the day loop's dense paths.

`Rows` hold one entry per stock-day, in (day, ts_code) order, which is the storage order the
server indexes. Bars (traded days) get open/high/low around the simulated close, a volume
from a turnover rate on the free float, and an amount whose VWAP lies inside [low, high].
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sync.market_sim import Paths, Stocks
from sync.market_universe import Universe

FLAT_BOARD_VOLUME = 0.15  # a one-price limit day (一字板) trades far less


@dataclasses.dataclass
class Rows:
    """Column arrays of equal length; `day` indexes the range sessions, `col` the plan cols."""

    day: np.ndarray
    col: np.ndarray
    values: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.day)


def listed_rows(status: np.ndarray, paths: Paths) -> Rows:
    """Every listed stock-day (suspended ones too): adj_factor and stk_limit."""
    day, col = np.nonzero(status > 0)
    return Rows(day.astype(np.int32), col.astype(np.int32), {
        "adj_factor": paths.adj[day, col], "pre": paths.pre[day, col],
        "up": paths.up[day, col], "down": paths.down[day, col]})


def suspension_rows(status: np.ndarray) -> Rows:
    """S on each suspended day; R on the first trading day after a suspension."""
    resumed = np.zeros_like(status, dtype=bool)
    resumed[1:] = (status[1:] == 1) & (status[:-1] == 2)
    day, col = np.nonzero((status == 2) | resumed)
    kind = np.where(status[day, col] == 2, "S", "R").astype(object)
    return Rows(day.astype(np.int32), col.astype(np.int32), {"kind": kind})


def _wicks(pre, close, up, down, sigma, z):
    """Open, high, low (cents) around the close; a one-price day when open and close sit on a limit."""
    move = np.log(close / pre)
    open_ = np.clip(np.rint(pre * np.exp(0.4 * sigma * z[:, 1] + 0.3 * move)), down, up)
    high = np.minimum(np.maximum(open_, close) + np.rint(np.abs(z[:, 2]) * 0.5 * sigma * pre), up)
    low = np.maximum(np.minimum(open_, close) - np.rint(np.abs(z[:, 3]) * 0.5 * sigma * pre), down)
    flat_up = (open_ == up) & (close == up) & (z[:, 2] < 0)
    flat_down = (open_ == down) & (close == down) & (z[:, 3] < 0)
    low = np.where(flat_up, up, low)
    high = np.where(flat_down, down, high)
    return open_, high, low, flat_up | flat_down


def limit_status(open_, high, low, close, pre, up, down) -> np.ndarray:
    """daily_basic.limit_status: 0 flat, 1 up, 2 limit up, 3 one-price limit up, 4 down, 5, 6."""
    one_price = (open_ == close) & (high == close) & (low == close)
    status = np.where(close > pre, 1, np.where(close < pre, 4, 0))
    status = np.where(close == up, np.where(one_price, 3, 2), status)
    status = np.where((close == down) & (close < pre), np.where(one_price, 6, 5), status)
    return status.astype(np.int8)


def _volume_ratio(status: np.ndarray, day: np.ndarray, col: np.ndarray, vol: np.ndarray) -> np.ndarray:
    """Volume over the mean volume of the previous five trading days (null without any)."""
    dense = np.zeros(status.shape)
    dense[day, col] = vol
    sums = np.concatenate([np.zeros((6, status.shape[1])), np.cumsum(dense, axis=0)])
    counts = np.concatenate([np.zeros((6, status.shape[1]), dtype=np.int32),
                             np.cumsum(status == 1, axis=0, dtype=np.int32)])
    del dense
    n = counts[day + 5, col] - counts[day, col]
    mean = (sums[day + 5, col] - sums[day, col]) / np.maximum(n, 1)
    return np.where(n > 0, np.round(vol / np.where(mean > 0, mean, 1.0), 2), np.nan)


def bar_rows(plan, paths: Paths, universe: Universe, stocks: Stocks) -> Rows:
    """daily / daily_basic rows: one per traded stock-day."""
    day, col = np.nonzero(plan.status == 1)
    i = plan.cols[col]
    pre, close = paths.pre[day, col].astype(float), paths.close[day, col].astype(float)
    up, down = paths.up[day, col].astype(float), paths.down[day, col].astype(float)
    z = plan.noise[day, col].astype(float)
    open_, high, low, flat = _wicks(pre, close, up, down, stocks.sigma[i], z)
    age = plan.start_g + day - universe.list_g[i]
    fraction = stocks.float_steps[i, np.searchsorted([243, 729], age, side="right")]
    shares = paths.shares[day, col]
    float_share = np.round(shares * fraction, 4)
    turnover = stocks.turnover[i] * np.exp(0.35 * z[:, 4] + 6 * np.abs(np.log(close / pre)))
    turnover *= (1 + 19 * np.exp(-age / 3.0)) * np.where(flat, FLAT_BOARD_VOLUME, 1.0)
    vol = np.maximum(np.rint(float_share * np.minimum(turnover, 80.0)), 1.0)
    vwap = low + (high - low) / (1.0 + np.exp(-z[:, 5]))
    cents = {name: values.astype(np.int32) for name, values in
             (("open", open_), ("high", high), ("low", low), ("close", close), ("pre", pre))}
    values = {
        **cents, "vol": vol.astype(np.int32), "amount_yuan": np.rint(vol * vwap).astype(np.int64),
        "total_share": shares, "float_share": float_share,
        "free_share": np.round(float_share * stocks.free_ratio[i], 4),
        "volume_ratio": _volume_ratio(plan.status, day, col, vol),
        "limit_status": limit_status(open_, high, low, close, pre, up, down),
        "div_cash": paths.div_cash[day, col], "div_g": paths.div_g[day, col],
    }
    return Rows(day.astype(np.int32), col.astype(np.int32), values)
