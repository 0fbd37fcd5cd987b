"""Lay out the simulated range: who is listed, suspended or under ST on each day, the daily
noise and the ex-rights days, as day-major matrices over the stocks active in the range.

One pass over the active stocks, each reading its own random streams (see listings.py).
"""

from __future__ import annotations

import numpy as np

from sync.simulated import life
from sync.simulated.listings import DAILY, DIVIDEND, SUSPEND, Universe, stock_rng
from sync.simulated.model import Layout
from sync.simulated.sim import FIRST_YEAR, N_NOISE, Fundamentals, Stocks

_NEVER = 10**9


class _Draft:
    """Stock-major scratch matrices, transposed into a Layout once every stock is placed."""

    def __init__(self, n_cols: int, n_days: int) -> None:
        self.status = np.zeros((n_cols, n_days), dtype=np.int8)
        self.st = np.zeros((n_cols, n_days), dtype=bool)
        self.noise = np.zeros((n_cols, n_days, N_NOISE), dtype=np.float16)
        self.ex_events: dict[int, dict[int, tuple[float, float]]] = {}
        self.prior_div = np.full((n_cols, 2), np.nan)


def _mark_names(st: np.ndarray, names: tuple[life.NameRow, ...], start_g: int) -> None:
    for row, nxt in zip(names, names[1:] + (None,)):
        if row.st:
            end = len(st) if nxt is None else max(nxt.start_g - start_g, 0)
            st[max(row.start_g - start_g, 0) : end] = True


def _mark_suspensions(status: np.ndarray, spells, offset: int, stop: int) -> None:
    for a, b in spells:
        a, b = max(a - offset, 0), min(b - offset, stop)
        if a < b:
            status[a:b] = 2


def _place_dividends(
    draft: _Draft, col: int, events, sessions: np.ndarray, start_g: int, bounds: tuple[int, int, int]
) -> None:
    """Put a stock's dividends on trading days inside the range; keep the last earlier one.

    An ex day that falls on a suspension moves to the next trading day; two that meet on
    one day merge (cash adds up, bonus ratios compound).
    """
    list_g, first, stop = bounds
    status = draft.status[col]
    for year, offset, cash, bonus in events:
        g = int(np.searchsorted(sessions, np.datetime64(f"{year}-05-20", "D") + offset, side="left"))
        if g < list_g or g >= len(sessions):
            continue
        if g < start_g:
            draft.prior_div[col] = (cash, g)
            continue
        trading = np.flatnonzero(status[g - start_g : stop] == 1)
        day = g - start_g + int(trading[0]) if len(trading) else stop
        if first < day < stop:
            before = draft.ex_events.setdefault(day, {}).get(col, (0.0, 0.0))
            draft.ex_events[day][col] = (before[0] + cash, (1 + before[1]) * (1 + bonus) - 1)


def build_layout(
    seed: int,
    universe: Universe,
    lives: list[life.Life],
    fund: Fundamentals,
    stocks: Stocks,
    sessions: np.ndarray,
    start_g: int,
    end_g: int,
) -> Layout:
    """Status, ST flags, noise and dividends of every stock listed on some day in the range."""
    n_days = end_g - start_g + 1
    list_day = universe.list_g - start_g
    delist_day = np.array([_NEVER if x.delist_g is None else x.delist_g - start_g for x in lives], dtype=np.int64)
    cols = np.flatnonzero((list_day < n_days) & (delist_day > 0))
    draft = _Draft(len(cols), n_days)
    years = sessions.astype("datetime64[Y]").astype(int) + 1970
    n_years = int(years[end_g]) - FIRST_YEAR + 1
    for col, i in enumerate(cols):
        board, k, stock_life = int(universe.board[i]), int(universe.k[i]), lives[i]
        first, stop = max(int(list_day[i]), 0), int(min(delist_day[i], n_days))
        draft.status[col, first:stop] = 1
        _mark_suspensions(draft.status[col], stock_life.pauses, start_g, stop)
        spells = life.suspension_spells(stock_rng(seed, board, k, SUSPEND), first, n_days)
        _mark_suspensions(draft.status[col], spells, 0, stop)
        _mark_names(draft.st[col], stock_life.names, start_g)
        draft.noise[col, first:stop] = stock_rng(seed, board, k, DAILY).standard_normal(
            (stop - first, N_NOISE), dtype=np.float32
        )
        draws = stock_rng(seed, board, k, DIVIDEND).random((n_years, 4))
        events = life.dividend_plan(draws, fund.profit[i], int(years[universe.list_g[i]]), stocks.p_div[i], FIRST_YEAR)
        _place_dividends(draft, col, events, sessions, start_g, (int(universe.list_g[i]), first, stop))
    return Layout(
        dates=sessions[start_g : end_g + 1],
        start_g=start_g,
        cols=cols,
        status=np.ascontiguousarray(draft.status.T),
        st=np.ascontiguousarray(draft.st.T),
        noise=draft.noise,
        z_close=np.ascontiguousarray(draft.noise[:, :, 0].T, dtype=np.float32),
        ex_events=draft.ex_events,
        prior_div=draft.prior_div,
        list_day=list_day[cols],
    )
