"""Turn the simulated market into the wire tables of each Tushare interface.

Time series (daily, daily_basic, stk_limit, adj_factor, suspend_d) are stored in
(trade_date, ts_code) order with coded dates and codes; the server indexes that order.
stock_basic and namechange are small and built "as of" a date, so a server whose clock is
before the market's end shows the listing state and names known on that day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from sync.simulated import gaps, names
from sync.simulated.bars import Rows
from sync.simulated.calendar import ymd
from sync.simulated.life import Life
from sync.simulated.listings import MARKETS, Universe
from sync.simulated.sim import FIRST_YEAR, Fundamentals
from sync.simulated.wire import FIELDS, Coded, Derived, Scaled, Values, WireTable
from sync.tushare.apis import APIS as API_FACTS

AH_START = np.datetime64("2026-07-06", "D")  # first day Tushare reports after-hours volume


@dataclasses.dataclass
class Simulated:
    """Everything the tables are made of."""

    universe: Universe
    lives: list[Life]
    sessions: np.ndarray
    dates: np.ndarray  # range sessions
    cols: np.ndarray  # universe index of each plan col
    fund: Fundamentals
    ah_ratio: np.ndarray  # per universe stock
    listed: Rows
    bars: Rows
    suspensions: Rows


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Valuation multiple rounded to 4 places; null when the denominator is not positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, np.round(numerator / denominator, 4), np.nan)


def _keys(sim: Simulated, rows: Rows) -> dict:
    return {
        "ts_code": Coded(rows.col, sim.universe.ts_code[sim.cols].astype(object)),
        "trade_date": Coded(rows.day, ymd(sim.dates)),
    }


def daily_table(sim: Simulated) -> WireTable:
    bars = sim.bars.values
    close, pre, vol = Scaled(bars["close"], 100), Scaled(bars["pre"], 100), Scaled(bars["vol"], 1)
    day, col = Values(sim.bars.day), Values(sim.bars.col)
    ah_on = sim.dates >= AH_START
    ah_ok = sim.universe.exchange[sim.cols] != "BSE"
    ah_ratio = sim.ah_ratio[sim.cols]

    def ah_vol(v, d, c):
        return np.where(ah_on[d] & ah_ok[c], np.rint(v * ah_ratio[c]), np.nan)

    ah = Derived(ah_vol, (vol, day, col))
    columns = {
        **_keys(sim, sim.bars),
        "open": Scaled(bars["open"], 100),
        "high": Scaled(bars["high"], 100),
        "low": Scaled(bars["low"], 100),
        "close": close,
        "pre_close": pre,
        "change": Derived(lambda c, p: np.round(c - p, 2), (close, pre)),
        "pct_chg": Derived(lambda c, p: np.round((c - p) / p * 100, 4), (close, pre)),
        "vol": vol,
        "amount": Scaled(bars["amount_yuan"], 1000),
        "ah_vol": ah,
        "ah_amount": Derived(lambda a, c: np.round(a * c / 10, 3), (ah, close)),
    }
    return WireTable("daily", columns, len(sim.bars))


def _valuation(sim: Simulated, total_mv, day: Values, col: Values) -> dict:
    """pe, pe_ttm, pb, ps, ps_ttm from annual figures: last year's, or interpolated to the quarter."""
    years = sim.dates.astype("datetime64[Y]").astype(int) + 1970 - FIRST_YEAR
    last = np.maximum(years - 1, 0)
    quarter = (sim.dates.astype("datetime64[M]").astype(int) % 12) // 3 / 4.0
    stock = sim.cols

    def annual(table):
        return lambda mv, d, c: _ratio(mv, table[stock[c], last[d]])

    def ttm(table):
        return lambda mv, d, c: _ratio(
            mv, table[stock[c], last[d]] + quarter[d] * (table[stock[c], years[d]] - table[stock[c], last[d]])
        )

    inputs = (total_mv, day, col)
    return {
        "pe": Derived(annual(sim.fund.profit), inputs),
        "pe_ttm": Derived(ttm(sim.fund.profit), inputs),
        "pb": Derived(annual(sim.fund.book), inputs),
        "ps": Derived(annual(sim.fund.revenue), inputs),
        "ps_ttm": Derived(ttm(sim.fund.revenue), inputs),
    }


def _dividend_yield(sim: Simulated, total_mv, day: Values, cash: Values, paid: Values, window: int) -> Derived:
    """Last dividend (万元) over today's market value, in %, while it is at most `window` days old."""

    def fn(mv, d, c, g):
        age = (sim.dates[d] - sim.sessions[np.maximum(g, 0)]).astype(int)
        return np.where((g >= 0) & (age <= window), _ratio(c * 100, mv), np.nan)

    return Derived(fn, (total_mv, day, cash, paid))


def daily_basic_table(sim: Simulated) -> WireTable:
    bars = sim.bars.values
    close = Scaled(bars["close"], 100)
    shares = {name: Values(bars[name]) for name in ("total_share", "float_share", "free_share")}
    day, col, vol = Values(sim.bars.day), Values(sim.bars.col), Scaled(bars["vol"], 1)
    total_mv = Derived(lambda c, s: np.round(c * s, 4), (close, shares["total_share"]))
    cash, paid = Values(bars["div_cash"]), Values(bars["div_g"])
    columns = {
        **_keys(sim, sim.bars),
        "close": close,
        "turnover_rate": Derived(lambda v, s: np.round(v / s, 4), (vol, shares["float_share"])),
        "turnover_rate_f": Derived(lambda v, s: np.round(v / s, 4), (vol, shares["free_share"])),
        "volume_ratio": Values(bars["volume_ratio"]),
        **_valuation(sim, total_mv, day, col),
        "dv_ratio": _dividend_yield(sim, total_mv, day, cash, paid, 550),
        "dv_ttm": _dividend_yield(sim, total_mv, day, cash, paid, 365),
        **shares,
        "total_mv": total_mv,
        "circ_mv": Derived(lambda c, s: np.round(c * s, 4), (close, shares["float_share"])),
        "limit_status": Derived(lambda s: s.astype(np.int64), (Values(bars["limit_status"]),)),
    }
    return WireTable("daily_basic", columns, len(sim.bars))


def _since(sim: Simulated, rows: Rows, first: dt.date | None) -> Rows:
    """The rows on or after `first`: a suffix in (day, ts_code) order, so views, not copies."""
    if first is None:
        return rows
    at = int(np.searchsorted(rows.day, np.searchsorted(sim.dates, np.datetime64(first, "D"), side="left")))
    return Rows(rows.day[at:], rows.col[at:], {name: values[at:] for name, values in rows.values.items()})


def stk_limit_table(sim: Simulated) -> WireTable:
    """Limit prices of every listed stock-day, from the interface's first day of history on."""
    listed = _since(sim, sim.listed, API_FACTS["stk_limit"].history_start)
    rows = listed.values
    columns = {
        **_keys(sim, listed),
        "pre_close": Scaled(rows["pre"], 100),
        "up_limit": Scaled(rows["up"], 100),
        "down_limit": Scaled(rows["down"], 100),
    }
    return WireTable("stk_limit", columns, len(listed))


def adj_factor_table(sim: Simulated) -> WireTable:
    columns = {**_keys(sim, sim.listed), "adj_factor": Values(sim.listed.values["adj_factor"])}
    return WireTable("adj_factor", columns, len(sim.listed))


def suspend_table(sim: Simulated) -> WireTable:
    kind = Values(sim.suspensions.values["kind"])
    columns = {
        **_keys(sim, sim.suspensions),
        "suspend_timing": Derived(lambda k: np.full(len(k), None, dtype=object), (kind,)),
        "suspend_type": kind,
    }
    return WireTable("suspend_d", columns, len(sim.suspensions))


def _session_at(sessions: np.ndarray, day: dt.date) -> int:
    """Index of the last session on or before `day` (-1 before the first)."""
    return int(np.searchsorted(sessions, np.datetime64(day, "D"), side="right")) - 1


def _status_at(stock_life: Life, g: int) -> str:
    if stock_life.delist_g is not None and stock_life.delist_g <= g:
        return "D"
    return "P" if any(a <= g < b for a, b in stock_life.pauses) else "L"


def _object_table(api: str, records: list[tuple], fields: tuple[str, ...]) -> WireTable:
    columns = {}
    for j, name in enumerate(fields):
        data = np.empty(len(records), dtype=object)
        data[:] = [r[j] for r in records]
        columns[name] = Values(data)
    return WireTable(api, columns, len(records))


def stock_basic_asof(sim: Simulated, day: dt.date) -> WireTable:
    """stock_basic for every stock listed on or before `day`, with its status and name then.

    A stock delisted by `day` may show a legacy or empty market label (see gaps.market_label).
    """
    g, u, dates = _session_at(sim.sessions, day), sim.universe, ymd(sim.sessions)
    records = []
    for i in np.flatnonzero(u.list_g <= g):
        stock_life = sim.lives[i]
        row = [r for r in stock_life.names if r.start_g <= g][-1]
        industry, status = int(u.industry[i]), _status_at(stock_life, g)
        records.append(
            (
                u.ts_code[i],
                u.symbol[i],
                names.short_name(u.head[i], industry, row.tail, row.st),
                u.area[i],
                names.INDUSTRIES[industry][0],
                names.full_name(u.head[i], industry),
                names.english_name(u.head_pinyin[i], industry),
                names.cnspell(u.head_pinyin[i], industry, row.tail, row.st),
                gaps.market_label(MARKETS[u.board[i]], u.ts_code[i], status == "D", u.u[i, gaps.LEGACY_LABEL_DRAW]),
                u.exchange[i],
                "CNY",
                status,
                dates[u.list_g[i]],
                dates[stock_life.delist_g] if status == "D" else None,
                u.is_hs[i],
                u.act_name[i],
                u.act_ent_type[i],
            )
        )
    return _object_table("stock_basic", records, FIELDS["stock_basic"])


def namechange_asof(sim: Simulated, day: dt.date) -> WireTable:
    """Name history known on `day`: the name in force then has a null end_date."""
    g, u, dates = _session_at(sim.sessions, day), sim.universe, sim.sessions
    records = []
    for i in np.flatnonzero(u.list_g <= g):
        rows = [r for r in sim.lives[i].names if r.start_g <= g]
        for row, nxt in zip(rows, rows[1:] + [None]):
            end = None if nxt is None else ymd(np.array([dates[nxt.start_g] - 1]))[0]
            name = names.short_name(u.head[i], int(u.industry[i]), row.tail, row.st)
            records.append(
                (
                    u.ts_code[i],
                    name,
                    ymd(dates[row.start_g : row.start_g + 1])[0],
                    end,
                    ymd(dates[row.ann_g : row.ann_g + 1])[0],
                    row.reason,
                )
            )
    return _object_table("namechange", records, FIELDS["namechange"])
