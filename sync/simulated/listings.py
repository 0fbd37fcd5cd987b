"""Who is listed in the synthetic market: listing history, codes, names and static attributes.

The universe is a scaled replica of the real A-share listing history. Each board has its
yearly count of new listings (real figures, rounded); `n_stocks` sets the scale so that
`n_stocks` stocks have been listed by REFERENCE_DATE (2025-12-31), delisted ones included.
After that date listings continue at the 2025 pace, so the universe keeps growing slowly.

Stock k of a board lists where the board's cumulative curve reaches (k + jitter) / scale.
Every random draw of a stock comes from its own stream keyed by (seed, board, k, purpose),
so nothing about a stock depends on `end`: extending a market only adds later stocks.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import itertools

import numpy as np

from sync.simulated import names
from sync.tushare.apis import BOARD_PREFIXES, EXCHANGE_SUFFIX

MARKETS = ("主板", "创业板", "科创板", "北交所")
MARKET_OPEN = (dt.date(1990, 12, 19), dt.date(2009, 10, 30), dt.date(2019, 7, 22), dt.date(2021, 11, 15))
REFERENCE_DATE = dt.date(2025, 12, 31)

# New listings per calendar year and board (survivors plus delisted, rounded real figures).
_LISTINGS = (
    dict(
        zip(
            range(1990, 2026),
            (
                8,
                6,
                39,
                123,
                110,
                24,
                203,
                206,
                106,
                98,
                137,
                79,
                71,
                67,
                100,
                15,
                66,
                126,
                77,
                63,
                230,
                154,
                81,
                0,
                74,
                137,
                141,
                297,
                78,
                81,
                185,
                163,
                79,
                59,
                24,
                38,
            ),
        )
    ),
    dict(zip(range(2009, 2026), (36, 117, 128, 74, 0, 51, 86, 86, 141, 29, 52, 107, 199, 148, 110, 38, 33))),
    dict(zip(range(2019, 2026), (70, 145, 162, 123, 67, 15, 19))),
    dict(zip(range(2021, 2026), (82, 83, 77, 23, 26))),
)
REFERENCE_TOTAL = sum(sum(year.values()) for year in _LISTINGS)  # 5,872 stocks by 2025-12-31

# Code prefixes by board and exchange; the era decides which one a new listing takes and,
# when a prefix runs out of its 999 numbers, the next one in the tuple takes over.
_STATIC_UNIFORMS, _STATIC_NORMALS = 24, 8

# Purposes of per-stock random streams (part of the seed: never renumber).
STATIC, LIFE, SUSPEND, DIVIDEND, FUNDAMENTAL, DAILY = range(6)


def stock_rng(seed: int, board: int, k: int, purpose: int) -> np.random.Generator:
    """The independent random stream of one stock for one purpose."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(board, k, purpose))))


def listing_curve(board: int, sessions: np.ndarray) -> np.ndarray:
    """Expected real-market listings of `board` up to and including each session (cumulative)."""
    table = _LISTINGS[board]
    years = sessions.astype("datetime64[Y]").astype(int) + 1970
    open_day = np.datetime64(MARKET_OPEN[board], "D")
    counts = np.array([table.get(int(y), table[max(table)] if y > max(table) else 0) for y in years], dtype=float)
    eligible = sessions >= open_day
    per_year = np.bincount(years - years[0], weights=eligible.astype(float))
    weights = np.where(eligible, counts / np.maximum(per_year[years - years[0]], 1.0), 0.0)
    return np.cumsum(weights)


@dataclasses.dataclass(frozen=True)
class Universe:
    """Every stock listed by the market's end, sorted by ts_code; one array entry per stock."""

    board: np.ndarray  # int index into MARKETS
    k: np.ndarray  # rank within the board (identifies the stock's random streams)
    list_g: np.ndarray  # global session index of the listing day
    ts_code: np.ndarray
    symbol: np.ndarray
    exchange: np.ndarray
    industry: np.ndarray  # int index into names.INDUSTRIES
    head: np.ndarray
    head_pinyin: np.ndarray  # object array of (py1, py2)
    area: np.ndarray
    is_hs: np.ndarray
    act_name: np.ndarray
    act_ent_type: np.ndarray
    u: np.ndarray  # (n, 24) static uniforms (their uses: sim.stock_parameters and above)
    z: np.ndarray  # (n, 8) static normals

    def __len__(self) -> int:
        return len(self.ts_code)


def _roster(
    seed: int, n_stocks: int, sessions: np.ndarray, end_g: int
) -> list[tuple[int, int, int, np.ndarray, np.ndarray]]:
    """(board, k, list_g, uniforms, normals) for every stock listed on or before session `end_g`."""
    scale = n_stocks / REFERENCE_TOTAL
    stocks = []
    for board in range(len(MARKETS)):
        curve = listing_curve(board, sessions)
        for k in range(10**6):
            rng = stock_rng(seed, board, k, STATIC)
            u, z = rng.random(_STATIC_UNIFORMS), rng.standard_normal(_STATIC_NORMALS)
            list_g = int(np.searchsorted(curve, (k + u[0]) / scale, side="left"))
            if list_g > end_g or list_g >= len(sessions):
                break
            stocks.append((board, k, list_g, u, z))
    return stocks


def _exchange(board: int, u: float) -> str:
    return ("SSE" if u < 0.53 else "SZSE") if board == 0 else ("SZSE", "SSE", "BSE")[board - 1]


def _preferred_prefix(board: int, exchange: str, year: int, u: float) -> int:
    """Index into the prefix tuple that a listing of `year` would normally get."""
    if board == 0 and exchange == "SSE":
        return (
            0
            if year < 2006
            else (0 if u < 0.4 else 1)
            if year < 2011
            else (1 if u < 0.2 else 2)
            if year < 2020
            else (2 if u < 0.55 else 3)
        )
    if board == 0:
        return 0 if year < 2004 else 1 if year < 2021 else (2 if u < 0.6 else 3)
    if board == 1:
        return 0 if year < 2021 or u < 0.2 else 1
    return 0


def _assign_codes(stocks: list, sessions: np.ndarray) -> list[tuple[str, str]]:
    """(ts_code, exchange) per stock; numbers run up in listing order within each prefix."""
    used: dict[str, int] = {}
    years = sessions.astype("datetime64[Y]").astype(int) + 1970
    codes = []
    for board, _k, list_g, u, _z in stocks:
        exchange = _exchange(board, u[1])
        chain = BOARD_PREFIXES[(MARKETS[board], exchange)]
        first = _preferred_prefix(board, exchange, int(years[list_g]), u[2])
        for step in range(len(chain)):
            prefix = chain[(first + step) % len(chain)]
            if used.get(prefix, 0) < 999:
                break
        else:
            raise ValueError(f"universe too large: no free {MARKETS[board]} codes on {exchange}; use fewer stocks")
        used[prefix] = used.get(prefix, 0) + 1
        codes.append((f"{prefix}{used[prefix]:03d}.{EXCHANGE_SUFFIX[exchange]}", exchange))
    return codes


@functools.lru_cache(maxsize=8)
def _cumulative(weighted: tuple[tuple[str, int], ...]) -> list[float]:
    total = sum(w for _, w in weighted)
    return list(itertools.accumulate(w / total for _, w in weighted))


def _pick(weighted: tuple[tuple[str, int], ...], u: float) -> str:
    """The entry of a (value, weight) table that uniform `u` falls on."""
    index = bisect.bisect_right(_cumulative(weighted), u)
    return weighted[min(index, len(weighted) - 1)][0]


def build_universe(seed: int, n_stocks: int, sessions: np.ndarray, end_g: int) -> Universe:
    """All stocks listed by session `end_g` (delisted ones included), sorted by ts_code."""
    stocks = _roster(seed, n_stocks, sessions, end_g)
    stocks.sort(key=lambda s: (s[2], s[0], s[1]))  # listing order, which is stable under extension
    codes = _assign_codes(stocks, sessions)
    heads, served = [], [0] * len(names.INDUSTRIES)
    for _board, _k, _g, u, _z in stocks:
        industry = int(u[4] * len(names.INDUSTRIES))
        heads.append((industry, names.head_for(served[industry], industry)))
        served[industry] += 1
    order = sorted(range(len(stocks)), key=lambda i: codes[i][0])
    rows = []
    for i in order:
        board, k, list_g, u, z = stocks[i]
        code, exchange = codes[i]
        industry, (head, py1, py2) = heads[i]
        area = _pick(names.AREAS, u[3])
        kind = _pick(names.CONTROLLER_TYPES, u[6])
        hs = "N" if exchange == "BSE" or u[5] >= 0.55 else ("H" if exchange == "SSE" else "S")
        rows.append(
            (
                board,
                k,
                list_g,
                code,
                code[:6],
                exchange,
                industry,
                head,
                (py1, py2),
                area,
                hs,
                names.controller(kind, area, u[7]),
                kind,
                u,
                z,
            )
        )
    columns = list(zip(*rows)) if rows else [[] for _ in range(15)]

    def arr(values, dtype=object):
        if dtype is not object:
            return np.asarray(values, dtype=dtype)
        out = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):
            out[i] = value
        return out

    return Universe(
        board=arr(columns[0], np.int64),
        k=arr(columns[1], np.int64),
        list_g=arr(columns[2], np.int64),
        ts_code=arr(columns[3]),
        symbol=arr(columns[4]),
        exchange=arr(columns[5]),
        industry=arr(columns[6], np.int64),
        head=arr(columns[7]),
        head_pinyin=arr(columns[8]),
        area=arr(columns[9]),
        is_hs=arr(columns[10]),
        act_name=arr(columns[11]),
        act_ent_type=arr(columns[12]),
        u=np.array(columns[13], dtype=float).reshape(-1, _STATIC_UNIFORMS),
        z=np.array(columns[14], dtype=float).reshape(-1, _STATIC_NORMALS),
    )
