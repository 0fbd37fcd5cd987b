"""A deterministic synthetic A-share market: the embedded data source and the test backend.

No machine here reaches Tushare, so the project serves this market over the Tushare protocol
(see sync.simulated.server). It is built to look like the real thing where the sync engine
cares: the SSE calendar with real holidays, the four boards with their code prefixes and
price-limit rules, listings, delistings, paused listings, suspensions, renames into and out of
ST, ex-rights days with a cumulative adj_factor, and consistent units (vol in 手, amount in 千元,
shares in 万股). It also has the real history's flaws (gaps.py): stk_limit from 2007-01-04,
daily_basic gaps in 2005-2006, configured permanent holes (`MarketSpec.holes`), legacy or
empty market labels on delisted stocks, and funds and B shares in stk_limit (funds.py).

Same spec, same tables; and a longer `end` only adds days: every value of an earlier day stays
the same, because each stock draws from its own streams in time order (see listings.py).

    >>> market = SyntheticMarket(MarketSpec(dt.date(2024, 1, 2), dt.date(2024, 3, 29), n_stocks=50))
    >>> daily = market.table("daily")          # wire form: 'YYYYMMDD' strings, floats
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time

import numpy as np
import pandas as pd

from sync.simulated import funds, gaps, indexes, tables
from sync.simulated.bars import bar_rows, listed_rows, suspension_rows
from sync.simulated.calendar import FIRST_SESSION, calendar_frame, sse_sessions
from sync.simulated.layout import build_layout
from sync.simulated.life import lifecycle
from sync.simulated.listings import LIFE, build_universe, stock_rng
from sync.simulated.sim import fundamentals, run_prices, stock_parameters
from sync.simulated.wire import WireTable
from sync.tushare.apis import APIS as API_FACTS
from sync.tushare.apis import DAY_APIS, INDEX_APIS

logger = logging.getLogger(__name__)

DEMO_START = dt.date(2025, 11, 24)
DEMO_STOCKS = 120  # ~110 listed, over 60 of them on the main board
MARKET_VOLATILITY = 0.011  # daily volatility of the common market move
SERIES_APIS = ("daily", "daily_basic", "stk_limit", "adj_factor", "suspend_d")
APIS = ("stock_basic", "trade_cal", "namechange", *SERIES_APIS, *INDEX_APIS)

_BUILDERS = {
    "daily": tables.daily_table,
    "daily_basic": tables.daily_basic_table,
    "stk_limit": tables.stk_limit_table,
    "adj_factor": tables.adj_factor_table,
    "suspend_d": tables.suspend_table,
}


@dataclasses.dataclass(frozen=True)
class MarketSpec:
    """What to simulate.

    `n_stocks` sets the size: that many stocks have been listed (delisted ones included) by
    2025-12-31, following the real listing history, so a range ending earlier sees fewer and
    one ending later a few more.

    `holes` are permanent holes in the source's history: {(interface, day): coverage} makes a
    per-day interface (daily, daily_basic, stk_limit, adj_factor) cover only that share of the
    codes with a daily bar on that trading day, e.g. ``{("adj_factor", date(2010, 3, 5)): 0.5}``.
    They are stored as a sorted tuple of ((interface, day), coverage) so the spec stays hashable.

    `funds`: stk_limit also lists funds and B shares, as the real one does (funds.py): this many
    times our estimate of their real number, scaled to `n_stocks` (0: stocks only). They never
    appear in stock_basic or any other interface.
    """

    start: dt.date  # first day with bars
    end: dt.date  # last day with bars (inclusive)
    n_stocks: int = 100
    seed: int = 7
    holes: gaps.Holes = ()
    funds: float = 1.0
    index_holes: tuple[tuple[str, dt.date], ...] = ()  # (index code, day): index_daily lacks that bar

    def __post_init__(self) -> None:
        if self.funds < 0:
            raise ValueError(f"MarketSpec funds must be >= 0, got {self.funds}")
        if self.end < self.start:
            raise ValueError(f"MarketSpec end {self.end} is before start {self.start}")
        if self.start < FIRST_SESSION:
            raise ValueError(f"MarketSpec start must be on or after {FIRST_SESSION} (first SSE session)")
        if self.n_stocks < 1:
            raise ValueError(f"MarketSpec n_stocks must be at least 1, got {self.n_stocks}")
        object.__setattr__(self, "holes", gaps.normalise_holes(self.holes))
        object.__setattr__(self, "index_holes", tuple(sorted((str(c), d) for c, d in self.index_holes)))
        if self.holes:
            last = max(day for (_, day), _ in self.holes)
            sessions = sse_sessions(max(last.year, self.end.year + 1))
            closed = sorted(
                {day.strftime("%Y%m%d") for (_, day), _ in self.holes if np.datetime64(day, "D") not in sessions}
            )
            if closed:
                raise ValueError(f"MarketSpec holes on days that are not SSE trading days: {', '.join(closed)}")


def _market_moves(seed: int, start_g: int, end_g: int) -> np.ndarray:
    """Common market return per session, keyed by the global session index (start-independent)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(99,))))
    return MARKET_VOLATILITY * rng.standard_normal(end_g + 1)[start_g:]


def simulate(spec: MarketSpec) -> tables.Simulated:
    """Run the whole simulation for `spec` (seconds for a full market, see README benchmarks)."""
    started = time.perf_counter()
    sessions = sse_sessions(spec.end.year + 1)
    start_g = int(np.searchsorted(sessions, np.datetime64(spec.start, "D"), side="left"))
    end_g = int(np.searchsorted(sessions, np.datetime64(spec.end, "D"), side="right")) - 1
    universe = build_universe(spec.seed, spec.n_stocks, sessions, end_g)
    lives = [
        lifecycle(stock_rng(spec.seed, int(b), int(k), LIFE), int(g), b == 0, start_g, end_g)
        for b, k, g in zip(universe.board, universe.k, universe.list_g)
    ]
    stocks = stock_parameters(universe)
    ref_price = np.where(universe.list_g < start_g, stocks.level, stocks.issue * 1.3)
    last_year = int(str(sessions[max(end_g, 0)])[:4])
    fund = fundamentals(spec.seed, universe, ref_price, stocks.shares, last_year)
    layout = build_layout(spec.seed, universe, lives, fund, stocks, sessions, start_g, end_g)
    paths = run_prices(layout, universe, stocks, _market_moves(spec.seed, start_g, end_g))
    sim = tables.Simulated(
        universe=universe,
        lives=lives,
        sessions=sessions,
        dates=layout.dates,
        cols=layout.cols,
        fund=fund,
        ah_ratio=stocks.ah_ratio,
        listed=listed_rows(layout, paths, universe),
        bars=bar_rows(layout, paths, universe, stocks),
        suspensions=suspension_rows(layout.status),
    )
    logger.info(
        "simulated %d stocks × %d days (%d bars) in %.1fs",
        len(universe),
        len(layout.dates),
        len(sim.bars),
        time.perf_counter() - started,
    )
    return sim


class SyntheticMarket:
    """Tables of one simulated market, built on first use and cached (thread-safe)."""

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self._lock = threading.RLock()
        self._sim: tables.Simulated | None = None
        self._wire: dict[str, WireTable] = {}
        self._asof: dict[tuple[str, dt.date], WireTable] = {}
        self._frames: dict[str, pd.DataFrame] = {}
        self._indexes: indexes.IndexTables | None = None

    def __repr__(self) -> str:
        return f"SyntheticMarket({self.spec!r})"

    @property
    def simulated(self) -> tables.Simulated:
        with self._lock:
            if self._sim is None:
                self._sim = simulate(self.spec)
            return self._sim

    def trade_dates(self) -> list[dt.date]:
        """SSE trading days within [start, end]."""
        sessions = sse_sessions(self.spec.end.year + 1)
        days = sessions[(sessions >= np.datetime64(self.spec.start)) & (sessions <= np.datetime64(self.spec.end))]
        return [d.item() for d in days]

    def calendar(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """trade_cal wire rows (ascending cal_date) for any range within 1990-12-19 .. 31 Dec of end.year+1."""
        last = dt.date(self.spec.end.year + 1, 12, 31)
        return calendar_frame(start, min(end, last), sse_sessions(last.year))

    def wire_table(self, api: str) -> WireTable:
        """The compact wire table of a time-series interface (what the server queries)."""
        if api not in _BUILDERS:
            raise KeyError(f"no time-series table {api!r}; expected one of {', '.join(SERIES_APIS)}")
        with self._lock:
            if api not in self._wire:
                table = self._with_history(api, _BUILDERS[api](self.simulated))
                self._wire[api] = self._with_funds(table) if api == "stk_limit" else table
            return self._wire[api]

    def _with_funds(self, table: WireTable) -> WireTable:
        """stk_limit plus the funds' and B shares' rows (funds.py), from the interface's first day on."""
        sim, start = self.simulated, API_FACTS["stk_limit"].history_start
        if not len(sim.dates):
            return table
        start_g = int(np.searchsorted(sim.sessions, sim.dates[0]))
        first_day = int(np.searchsorted(sim.dates, np.datetime64(start, "D"), side="left")) if start else 0
        return funds.with_nonstocks(
            table, self.spec.seed, funds.scale_of(self.spec.funds, self.spec.n_stocks), sim.sessions, start_g, first_day
        )

    def _with_history(self, api: str, table: WireTable) -> WireTable:
        """The table less the rows the real source lacks (gaps.py): holes and old gaps."""
        if api not in DAY_APIS:
            return table
        sim, holes = self.simulated, dict(self.spec.holes)
        bars = table if api == "daily" else self.wire_table("daily")
        start_g = int(np.searchsorted(sim.sessions, sim.dates[0])) if len(sim.dates) else 0
        ids = gaps.stock_ids(sim.universe.board[sim.cols], sim.universe.k[sim.cols])
        missing = gaps.missing_rows(api, table, bars, ids, sim.dates, start_g, self.spec.seed, holes)
        if len(missing):
            logger.info("%s lacks %d rows, as the real history does", api, len(missing))
        return table.without_rows(missing)

    def index_tables(self) -> indexes.IndexTables:
        """index_basic, index_daily and index_weight, built from this market's stocks (indexes.py)."""
        with self._lock:
            if self._indexes is None:
                self._indexes = indexes.build(
                    self.table("daily"),
                    self.table("daily_basic"),
                    self.table("stock_basic"),
                    self.spec.seed,
                    self.spec.index_holes,
                )
            return self._indexes

    def asof_table(self, api: str, day: dt.date) -> WireTable:
        """stock_basic or namechange as known on `day` (clipped to the market's end)."""
        day = min(day, self.spec.end)
        builder = {"stock_basic": tables.stock_basic_asof, "namechange": tables.namechange_asof}[api]
        with self._lock:
            key = (api, day)
            if key not in self._asof:
                if len(self._asof) > 64:
                    self._asof.clear()
                self._asof[key] = builder(self.simulated, day)
            return self._asof[key]

    def table(self, api_name: str) -> pd.DataFrame:
        """The full table of an interface in wire form, with every documented field.

        Cached; each call returns a copy-on-write view, so callers may modify it freely.
        """
        with self._lock:
            if api_name not in self._frames:
                self._frames[api_name] = self._build_frame(api_name)
            return self._frames[api_name].copy(deep=False)

    def _build_frame(self, api_name: str) -> pd.DataFrame:
        if api_name in INDEX_APIS:
            tables = self.index_tables()
            return {"index_basic": tables.basic, "index_daily": tables.daily, "index_weight": tables.weight}[api_name]
        if api_name == "trade_cal":
            return self.calendar(FIRST_SESSION, dt.date(self.spec.end.year + 1, 12, 31))
        if api_name in ("stock_basic", "namechange"):
            return self.asof_table(api_name, self.spec.end).to_frame()
        return self.wire_table(api_name).to_frame()


def demo_market(today: dt.date) -> SyntheticMarket:
    """The embedded demo: ~100 stocks from DEMO_START (2025-11-24) to `today`."""
    return SyntheticMarket(MarketSpec(start=DEMO_START, end=max(today, DEMO_START), n_stocks=DEMO_STOCKS))
