"""Long-form rows of the synthetic market, derived from the day loop's dense paths.

`Rows` hold one entry per stock-day, in (day, ts_code) order, which is the storage order the
server indexes. Bars (traded days) get open/high/low around the simulated close, a volume
from a turnover rate on the free float, and an amount whose VWAP lies inside [low, high].
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sync.simulated.listings import Universe
from sync.simulated.sim import Paths, Stocks, limit_percent, limit_prices

if TYPE_CHECKING:
    from sync.simulated.model import Layout

FLAT_BOARD_VOLUME = 0.15  # a one-price limit day (一字板) trades far less
CHUNK_DAYS = 128  # rows are derived a block of days at a time to keep temporaries small


@dataclasses.dataclass
class Rows:
    """Column arrays of equal length; `day` indexes the range sessions, `col` the layout cols."""

    day: np.ndarray
    col: np.ndarray
    values: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.day)


def _limits(layout, universe: Universe, pre: np.ndarray, day: np.ndarray, col: np.ndarray, st: np.ndarray):
    return limit_prices(pre, limit_percent(universe.board[layout.cols[col]], st, layout.dates[day]))


def _listed_block(layout, paths: Paths, universe: Universe, listed: np.ndarray, a: int, b: int) -> dict:
    mask = listed[a:b]
    day, col = np.nonzero(mask)
    day += a
    pre = paths.pre[a:b][mask]
    up, down = _limits(layout, universe, pre, day, col, layout.st[a:b][mask])
    adj = paths.events.lookup(day, col, ("adj",))["adj"]
    return {"day": day, "col": col, "adj_factor": adj, "pre": pre, "up": up, "down": down}


def listed_rows(layout: Layout, paths: Paths, universe: Universe) -> Rows:
    """Every listed stock-day (suspended ones too): adj_factor and stk_limit."""
    listed = layout.status > 0
    out = _fill_blocks(
        int(listed.sum()),
        (
            ("day", np.int32),
            ("col", np.int32),
            ("adj_factor", float),
            ("pre", np.int32),
            ("up", np.int32),
            ("down", np.int32),
        ),
        lambda a, b: _listed_block(layout, paths, universe, listed, a, b),
        len(listed),
    )
    return Rows(out.pop("day"), out.pop("col"), out)


def _fill_blocks(total: int, fields, block, n_days: int) -> dict[str, np.ndarray]:
    """Preallocate the columns, then fill them one block of days at a time (small temporaries)."""
    out = {name: np.empty(total, dtype) for name, dtype in fields}
    at = 0
    for a in range(0, n_days, CHUNK_DAYS):
        values = block(a, min(a + CHUNK_DAYS, n_days))
        size = len(values["day"])
        for name, column in values.items():
            out[name][at : at + size] = column
        at += size
    return out


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


def limit_status(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    pre: np.ndarray,
    up: np.ndarray,
    down: np.ndarray,
) -> np.ndarray:
    """daily_basic.limit_status: 0 flat, 1 up, 2 limit up, 3 one-price limit up, 4 down, 5, 6."""
    one_price = (open_ == close) & (high == close) & (low == close)
    status = np.where(close > pre, 1, np.where(close < pre, 4, 0))
    status = np.where(close == up, np.where(one_price, 3, 2), status)
    status = np.where((close == down) & (close < pre), np.where(one_price, 6, 5), status)
    return status.astype(np.int8)


_FIELDS = (
    ("open", np.int32),
    ("high", np.int32),
    ("low", np.int32),
    ("close", np.int32),
    ("pre", np.int32),
    ("vol", np.int32),
    ("amount_yuan", np.int64),
    ("total_share", float),
    ("float_share", float),
    ("free_share", float),
    ("volume_ratio", float),
    ("limit_status", np.int8),
    ("div_cash", float),
    ("div_g", np.int32),
)


def _volume_ratio(
    vol_dense: np.ndarray, traded: np.ndarray, a: int, b: int, mask: np.ndarray, vol: np.ndarray
) -> np.ndarray:
    """Volume over the mean volume of the stock's trading days among the previous five sessions."""
    lo = max(a - 5, 0)
    pad = 5 - (a - lo)
    volumes = np.concatenate([np.zeros((pad, vol_dense.shape[1])), vol_dense[lo:b].astype(float)])
    counts = np.concatenate([np.zeros((pad, traded.shape[1]), dtype=bool), traded[lo:b]])
    n = b - a
    # the five windows k = 1..5 added in order, the first one (k = 1) as the start
    total = sum((volumes[5 - k : 5 - k + n] for k in range(2, 6)), volumes[4 : 4 + n])[mask]
    seen = sum((counts[5 - k : 5 - k + n].astype(np.int8) for k in range(2, 6)), counts[4 : 4 + n].astype(np.int8))[
        mask
    ]
    mean = total / np.maximum(seen, 1)
    return np.where(seen > 0, np.round(vol / np.where(mean > 0, mean, 1.0), 2), np.nan)


def _bar_block(
    layout, paths: Paths, universe: Universe, stocks: Stocks, traded: np.ndarray, vol_dense: np.ndarray, a: int, b: int
) -> dict:
    """All bar fields for the traded stock-days of range days [a, b), in (day, col) order."""
    mask = traded[a:b]
    day, col = np.nonzero(mask)
    day += a
    i = layout.cols[col]

    def pick(dense):
        return dense[a:b][mask]

    pre, close = pick(paths.pre).astype(float), pick(paths.close).astype(float)
    up, down = (x.astype(float) for x in _limits(layout, universe, pick(paths.pre), day, col, pick(layout.st)))
    z = layout.noise[:, a:b].transpose(1, 0, 2)[mask].astype(float)
    state = paths.events.lookup(day, col, ("shares", "cash", "g"))
    open_, high, low, flat = _wicks(pre, close, up, down, stocks.sigma[i], z)
    age = layout.start_g + day - universe.list_g[i]
    fraction = stocks.float_steps[i, np.searchsorted([243, 729], age, side="right")]
    shares = state["shares"]
    float_share = np.round(shares * fraction, 4)
    turnover = stocks.turnover[i] * np.exp(0.35 * z[:, 4] + 6 * np.abs(np.log(close / pre)))
    turnover *= (1 + 19 * np.exp(-age / 3.0)) * np.where(flat, FLAT_BOARD_VOLUME, 1.0)
    vol = np.maximum(np.rint(float_share * np.minimum(turnover, 80.0)), 1.0)
    vol_dense[a:b][mask] = vol
    vwap = low + (high - low) / (1.0 + np.exp(-z[:, 5]))
    return {
        "day": day,
        "col": col,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "pre": pre,
        "vol": vol,
        "amount_yuan": np.rint(vol * vwap),
        "total_share": shares,
        "float_share": float_share,
        "free_share": np.round(float_share * stocks.free_ratio[i], 4),
        "volume_ratio": _volume_ratio(vol_dense, traded, a, b, mask, vol),
        "limit_status": limit_status(open_, high, low, close, pre, up, down),
        "div_cash": state["cash"],
        "div_g": state["g"],
    }


def bar_rows(layout: Layout, paths: Paths, universe: Universe, stocks: Stocks) -> Rows:
    """daily / daily_basic rows: one per traded stock-day, filled block by block."""
    traded = layout.status == 1
    vol_dense = np.zeros(traded.shape, dtype=np.int32)
    fields = (("day", np.int32), ("col", np.int32), *_FIELDS)
    out = _fill_blocks(
        int(traded.sum()),
        fields,
        lambda a, b: _bar_block(layout, paths, universe, stocks, traded, vol_dense, a, b),
        len(traded),
    )
    return Rows(out.pop("day"), out.pop("col"), out)
