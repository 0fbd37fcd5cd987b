"""The synthetic market's indexes: index_basic, index_daily and index_weight, built from its stocks.

Each index has a universe (exchange, boards) and a slice of it by total market value, scaled to
the market's size (CSI 300 is the top 300 of ~5,500 stocks, so 7 of a 120-stock demo). Members are
chosen on rebalance days (the first trading day of June and December, and the index's first day)
and weighted by market value on each snapshot day, so weights sum to 100 (rounded to 2 decimals
until 2015, 4 from 2016, as the real ones). An index's daily return is the weighted return of its
members (weights of the day before), its volume and turnover their sums.

What the real source does, modelled here (docs/tushare.md, indexes):

* snapshot cadence by era: daily until 2011-09-02, then the last trading day of each month (a few
  first-day extras) until 2015, then the first and the last trading day of each month; no
  snapshot in 2021-10 and one each in 2020-07 and 2020-08;
* snapshots appear late: the one dated D is published `lag` days later (0 in the daily era, a
  seeded 2 to 20 days after it), so a delta meets snapshots dated in the past;
* 000300.SH answers no weights before 2020-03-31, 399300.SZ (the same index) answers them all;
* index bars missing on configured days (`MarketSpec.index_holes`).

Pure: a market's frames in, wire frames out (`IndexTables`); the server filters, orders and cuts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from sync.tushare.apis import APIS, FULL_MARKET_STOCKS, board_of


@dataclasses.dataclass(frozen=True)
class IndexDef:
    code: str
    name: str
    market: str  # index_basic's market: SSE, SZSE or CSI
    exchanges: tuple[str, ...]  # SH, SZ
    boards: tuple[str, ...]
    ranks: tuple[int, int | None]  # [first, last) by market value among the universe; None: all
    first_day: dt.date  # first bar, and first snapshot
    start_level: float  # pre_close of its first bar in the market (the level it starts from)
    weights_from: dt.date | None = None  # answers no weights before this day (000300.SH)


_BIG = ("主板", "创业板", "科创板")
INDEXES: tuple[IndexDef, ...] = (
    IndexDef("000001.SH", "上证指数", "SSE", ("SH",), ("主板", "科创板"), (0, None), dt.date(1990, 12, 19), 1260.0),
    IndexDef("399001.SZ", "深证成指", "SZSE", ("SZ",), ("主板", "创业板"), (0, 500), dt.date(1995, 1, 23), 3000.0),
    IndexDef("399006.SZ", "创业板指", "SZSE", ("SZ",), ("创业板",), (0, 100), dt.date(2010, 6, 1), 1000.0),
    IndexDef("000016.SH", "上证50", "SSE", ("SH",), ("主板",), (0, 50), dt.date(2004, 1, 2), 840.0),
    IndexDef(
        "000300.SH",
        "沪深300",
        "CSI",
        ("SH", "SZ"),
        _BIG,
        (0, 300),
        dt.date(2005, 1, 4),
        1000.0,
        weights_from=dt.date(2020, 3, 31),
    ),
    IndexDef("399300.SZ", "沪深300", "SZSE", ("SH", "SZ"), _BIG, (0, 300), dt.date(2005, 1, 4), 1000.0),
    IndexDef("000905.SH", "中证500", "CSI", ("SH", "SZ"), _BIG, (300, 800), dt.date(2005, 1, 4), 1000.0),
    IndexDef("000852.SH", "中证1000", "CSI", ("SH", "SZ"), _BIG, (800, 1800), dt.date(2005, 1, 4), 1000.0),
    IndexDef("000688.SH", "科创50", "SSE", ("SH",), ("科创板",), (0, 50), dt.date(2020, 7, 23), 1000.0),
)
BY_CODE = {index.code: index for index in INDEXES}
DAILY_ERA_END = dt.date(2011, 9, 2)  # the last daily snapshot
TWICE_MONTHLY_FROM = dt.date(2016, 1, 1)
FOUR_DECIMALS_FROM = dt.date(2016, 1, 1)
NO_SNAPSHOT_MONTHS = ((2021, 10),)  # real gaps
ONE_SNAPSHOT_MONTHS = ((2020, 7), (2020, 8))
MAX_LAG_DAYS = 20


@dataclasses.dataclass(frozen=True)
class IndexTables:
    """Wire frames: index_basic (every field), index_daily (every field, oldest first, by code),
    index_weight (every field plus `published`, the Shanghai date from which a snapshot is served)."""

    basic: pd.DataFrame
    daily: pd.DataFrame
    weight: pd.DataFrame


def scaled(count: int | None, n_stocks: int) -> int | None:
    """A real member count scaled to a market of `n_stocks` (at least 1)."""
    return None if count is None else max(1, round(count * n_stocks / FULL_MARKET_STOCKS))


def snapshot_days(days: list[dt.date], seed: int) -> list[dt.date]:
    """The snapshot dates among trading `days` (ascending), by era, with the real gaps."""
    rng = np.random.default_rng([seed, 24])
    by_month: dict[tuple[int, int], list[dt.date]] = {}
    for day in days:
        by_month.setdefault((day.year, day.month), []).append(day)
    out: list[dt.date] = []
    for month, month_days in by_month.items():
        if month in NO_SNAPSHOT_MONTHS:
            continue
        daily = [d for d in month_days if d <= DAILY_ERA_END]
        later = [d for d in month_days if d > DAILY_ERA_END]
        out += daily
        if not later:
            continue
        first, last = later[0], later[-1]
        chosen = {last}
        if month in ONE_SNAPSHOT_MONTHS:
            pass
        elif last >= TWICE_MONTHLY_FROM or rng.random() < 0.15:  # monthly era: a few first-day extras
            chosen.add(first)
        out += sorted(chosen)
    return sorted(out)


def publication_lag(day: dt.date, seed: int) -> int:
    """Days after its date that a snapshot is published: none in the daily era, else 2 to 20."""
    if day <= DAILY_ERA_END:
        return 0
    return 2 + int(np.random.default_rng([seed, 25, day.toordinal()]).integers(0, MAX_LAG_DAYS - 1))


def build(daily: pd.DataFrame, basic: pd.DataFrame, stocks: pd.DataFrame, seed: int, holes) -> IndexTables:
    """The three index tables of a market from its wire `daily`, `daily_basic` and `stock_basic` frames.

    `holes`: (index code, day) pairs whose bar the source lacks.
    """
    days = sorted(pd.to_datetime(daily["trade_date"], format="%Y%m%d").dt.date.unique())
    index_basic = _basic_frame()
    if not days:
        return IndexTables(index_basic, _empty("index_daily"), _empty_weight())
    pivot = _Pivots(daily, basic, days)
    board = {
        str(code): board_of(str(code), exchange, market)
        for code, exchange, market in zip(stocks["ts_code"], stocks["exchange"], stocks["market"])
    }
    n_stocks = len(stocks)
    snapshots = snapshot_days(days, seed)
    bars, weights = [], []
    for index in INDEXES:
        universe = np.array(
            [board.get(c) in index.boards and c.rsplit(".", 1)[1] in index.exchanges for c in pivot.codes]
        )
        live = [i for i, d in enumerate(days) if d >= index.first_day]
        if not universe.any() or not live:
            continue
        members = _members(pivot, universe, live, index.ranks, n_stocks)
        bars.append(_bars(index, pivot, members, live, {d for c, d in holes if c == index.code}))
        weights.append(_weights(index, pivot, members, [d for d in snapshots if d >= days[live[0]]], seed))
    daily_frame = pd.concat(bars, ignore_index=True) if bars else _empty("index_daily")
    weight_frame = pd.concat(weights, ignore_index=True) if weights else _empty_weight()
    return IndexTables(index_basic, daily_frame, weight_frame)


class _Pivots:
    """Day × stock matrices of the market (NaN where a stock has no bar)."""

    def __init__(self, daily: pd.DataFrame, basic: pd.DataFrame, days: list[dt.date]) -> None:
        self.days = days
        keys = [d.strftime("%Y%m%d") for d in days]
        self.codes = np.array(sorted(daily["ts_code"].unique()), dtype=object)

        def grid(frame: pd.DataFrame, name: str) -> np.ndarray:
            table = frame.pivot_table(index="trade_date", columns="ts_code", values=name, aggfunc="first")
            return table.reindex(index=keys, columns=self.codes).to_numpy(dtype="float64")

        self.close, self.pre = grid(daily, "close"), grid(daily, "pre_close")
        self.open, self.high, self.low = grid(daily, "open"), grid(daily, "high"), grid(daily, "low")
        self.vol, self.amount = grid(daily, "vol"), grid(daily, "amount")
        mv = pd.DataFrame(grid(basic, "total_mv")).ffill().to_numpy()
        traded = ~np.isnan(self.close)
        self.mv = np.where(np.isnan(mv), 0.0, mv)
        self.traded = traded
        # listed from its first bar to its last (a delisted stock leaves its indexes)
        ever = traded.cumsum(axis=0) > 0
        after = traded[::-1].cumsum(axis=0)[::-1] > 0
        self.listed = ever & after


def _members(pivot: _Pivots, universe: np.ndarray, live: list[int], ranks, n_stocks: int) -> np.ndarray:
    """Day × stock membership: chosen on rebalance days by market value, kept until the next one."""
    first, last = ranks
    lo, hi = scaled(first, n_stocks) if first else 0, scaled(last, n_stocks)
    out = np.zeros_like(pivot.traded)
    current = np.zeros(len(pivot.codes), dtype=bool)
    for position, i in enumerate(live):
        day = pivot.days[i]
        previous = pivot.days[live[position - 1]] if position else None
        if previous is None or (day.month in (6, 12) and previous.month != day.month):
            eligible = universe & pivot.traded[i] & (pivot.mv[i] > 0)
            order = [j for j in np.argsort(-pivot.mv[i], kind="stable") if eligible[j]]
            current = np.zeros(len(pivot.codes), dtype=bool)
            current[order[lo:hi]] = True
        out[i] = current & pivot.listed[i]
    return out


def _bars(index: IndexDef, pivot: _Pivots, members: np.ndarray, live: list[int], holes: set) -> pd.DataFrame:
    rows = []
    level = index.start_level
    for position, i in enumerate(live):
        weight = pivot.mv[live[position - 1] if position else i] * members[i]
        total = weight.sum()
        if total <= 0:
            continue
        w = weight / total
        traded = pivot.traded[i] & members[i]

        def move(values: np.ndarray, w=w, traded=traded, i=i) -> float:
            ratio = np.where(traded, values[i] / np.where(traded, pivot.pre[i], 1.0) - 1.0, 0.0)
            return float((w * ratio).sum())

        pre = level
        close = round(pre * (1 + move(pivot.close)), 4)
        open_ = round(pre * (1 + move(pivot.open)), 4)
        high = max(round(pre * (1 + move(pivot.high)), 4), open_, close)
        low = min(round(pre * (1 + move(pivot.low)), 4), open_, close)
        level = close
        day = pivot.days[i]
        if day in holes:
            continue
        rows.append(
            (
                index.code,
                day.strftime("%Y%m%d"),
                close,
                open_,
                high,
                low,
                pre,
                round(close - pre, 4),
                round((close / pre - 1) * 100, 4),
                round(float(np.nansum(pivot.vol[i] * members[i])), 2),
                round(float(np.nansum(pivot.amount[i] * members[i])), 3),
            )
        )
    frame = pd.DataFrame(rows, columns=list(APIS["index_daily"].fields))
    return frame.astype({f: "float64" for f in APIS["index_daily"].fields[2:]})


def _weights(index: IndexDef, pivot: _Pivots, members: np.ndarray, snapshots: list[dt.date], seed: int):
    rows = []
    position = {d: i for i, d in enumerate(pivot.days)}
    for day in snapshots:
        if index.weights_from and day < index.weights_from:
            continue
        i = position[day]
        mv = pivot.mv[i] * members[i]
        total = mv.sum()
        if total <= 0:
            continue
        places = 4 if day >= FOUR_DECIMALS_FROM else 2
        published = day + dt.timedelta(days=publication_lag(day, seed))
        for j in np.flatnonzero(mv > 0):
            rows.append(
                (index.code, pivot.codes[j], day.strftime("%Y%m%d"), round(100 * mv[j] / total, places), published)
            )
    frame = pd.DataFrame(rows, columns=[*APIS["index_weight"].fields, "published"])
    return frame.astype({"weight": "float64"})


def _basic_frame() -> pd.DataFrame:
    fields = APIS["index_basic"].fields
    rows = []
    for index in INDEXES:
        values = {
            "ts_code": index.code,
            "name": index.name,
            "fullname": f"{index.name}指数",
            "market": index.market,
            "publisher": "中证指数有限公司" if index.market == "CSI" else index.market,
            "index_type": "规模指数",
            "category": "规模指数",
            "base_date": index.first_day.strftime("%Y%m%d"),
            "base_point": 1000.0,
            "list_date": index.first_day.strftime("%Y%m%d"),
            "weight_rule": "市值加权",
            "desc": f"{index.name}: synthetic",
            "exp_date": None,
        }
        rows.append(tuple(values[f] for f in fields))
    return pd.DataFrame(rows, columns=list(fields))


def _empty(api: str) -> pd.DataFrame:
    return pd.DataFrame({f: pd.Series(dtype=object) for f in APIS[api].fields})


def _empty_weight() -> pd.DataFrame:
    return pd.DataFrame({f: pd.Series(dtype=object) for f in (*APIS["index_weight"].fields, "published")})


def select(tables: IndexTables, api: str, params: dict, visible_day: str, today: dt.date) -> pd.DataFrame:
    """The rows of one index query in wire order, before the cut: index_basic as listed;
    index_daily of one `ts_code` up to `visible_day`, newest first; index_weight of one
    `index_code` as published by `today`, newest snapshot first, each by weight descending.
    An unknown code, or a comma list of codes, matches nothing (the real server answers empty)."""

    def text(name: str) -> str | None:
        value = params.get(name)
        return str(value).strip() or None if value is not None else None

    if api == "index_basic":
        frame = tables.basic
        for name in ("ts_code", "name", "market", "publisher", "category"):
            if text(name):
                frame = frame[frame[name].isin(text(name).split(","))]  # type: ignore[union-attr]
        return frame
    key = "ts_code" if api == "index_daily" else "index_code"
    frame = tables.daily if api == "index_daily" else tables.weight
    frame = frame[frame[key] == text(key)]
    first = text("trade_date") or text("start_date")
    last = text("trade_date") or text("end_date")
    if first:
        frame = frame[frame["trade_date"] >= first]
    if last:
        frame = frame[frame["trade_date"] <= last]
    if api == "index_daily":
        frame = frame[frame["trade_date"] <= visible_day]
        return frame.sort_values("trade_date", ascending=False, kind="stable")
    frame = frame[frame["published"] <= today]
    return frame.sort_values(["trade_date", "weight", "con_code"], ascending=[False, False, True], kind="stable")
