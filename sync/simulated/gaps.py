"""What the real Tushare history does to a full sync from 2005, modelled in the synthetic market.

See docs/tushare.md#history-start-dates:

- An interface has nothing before its `history_start` (stk_limit: 2007-01-04); tables.py
  starts its table there.
- daily_basic lacks a few percent of the codes with a daily bar on every trading day of
  2005-2006 (waditu/tushare#1204): 3-5 %, varying by day, at least one code.
- Configurable permanent holes: `MarketSpec(holes={("adj_factor", date(2010, 3, 5)): 0.5})` makes
  that interface cover only half of the codes with a daily bar that day.
- Delisted stocks may carry a legacy (中小板) or empty `market` label in stock_basic.

Which codes go missing is a hash of (seed, interface, session, stock), never of a row position,
so a longer market keeps the same gaps on the same days.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Iterable, Mapping

import numpy as np

from sync.simulated.wire import Coded, WireTable
from sync.tushare.apis import DAY_APIS, EXCHANGE_SUFFIX, LEGACY_BOARDS

# waditu/tushare#1204: daily_basic lacks some codes around the share-structure reform.
DAILY_BASIC_GAP_YEARS = (2005, 2006)
DAILY_BASIC_GAP = (0.03, 0.05)  # share of codes missing on such a day, drawn per day
SME_LABEL = next(label for label, board in LEGACY_BOARDS.items() if board == "主板")  # 中小板
SME_PREFIX = "002"  # SZSE SME-board codes, merged into the main board in 2021
LEGACY_LABEL_DRAW = 18  # column of Universe.u that decides a delisted stock's label (never reuse)

Hole = tuple[tuple[str, dt.date], float]  # ((interface, day), coverage)
Holes = tuple[Hole, ...]


def normalise_holes(holes: Mapping[tuple[str, dt.date], float] | Iterable[Hole] | None) -> Holes:
    """Holes as a sorted, hashable tuple of ((api, day), fraction); raises on nonsense.

    >>> normalise_holes({("adj_factor", dt.date(2010, 3, 5)): 0.5})
    ((('adj_factor', datetime.date(2010, 3, 5)), 0.5),)
    """
    items = holes.items() if isinstance(holes, Mapping) else (holes or ())
    out: dict[tuple[str, dt.date], float] = {}
    for (api, day), fraction in items:
        if api not in DAY_APIS:
            raise ValueError(f"a hole needs one of the per-day interfaces {', '.join(DAY_APIS)}, not {api!r}")
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ValueError(f"a hole's day must be a datetime.date, got {day!r}")
        if not 0.0 <= float(fraction) <= 1.0:
            raise ValueError(f"a hole's coverage must be between 0 and 1, got {fraction!r} for {api} on {day}")
        out[(api, day)] = float(fraction)
    return tuple(sorted(out.items()))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread uint64 hash of uint64 values."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _day_key(seed: int, api: str, g: int) -> np.uint64:
    x = _mix(np.array([seed % 2**64], dtype=np.uint64))
    x = _mix(x ^ np.uint64(zlib.crc32(api.encode())))
    return _mix(x ^ np.uint64(g))[0]


def stock_ids(board: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A stock's identity that no extension of the market changes (its random streams' key)."""
    return (board.astype(np.uint64) << np.uint64(32)) | k.astype(np.uint64)


def _coverage(api: str, day: dt.date, key: np.uint64, holes: Mapping) -> tuple[float, bool] | None:
    """(share of codes kept, round the missing count up) on `day`, or None when nothing is missing."""
    if (api, day) in holes:
        return holes[(api, day)], False
    if api == "daily_basic" and day.year in DAILY_BASIC_GAP_YEARS:
        low, high = DAILY_BASIC_GAP
        return 1.0 - (low + (high - low) * float(key >> np.uint64(11)) / 2.0**53), True
    return None


def _day_rows(day_codes: np.ndarray, d: int) -> tuple[int, int]:
    """[lo, hi) rows of range day `d` in a day-sorted code array (searched in its own dtype: no copy)."""
    lo, hi = np.searchsorted(day_codes, np.array([d, d + 1], dtype=day_codes.dtype))
    return int(lo), int(hi)


def missing_rows(
    api: str,
    table: WireTable,
    bars: WireTable,
    ids: np.ndarray,
    dates: np.ndarray,
    start_g: int,
    seed: int,
    holes: Mapping[tuple[str, dt.date], float],
) -> np.ndarray:
    """Row positions of `table` that the real source would lack.

    `bars` is the daily table (coverage counts codes with a daily bar), `ids` the stock id of
    each layout column, `dates` the range sessions whose global index starts at `start_g`.
    """
    days, codes = table.columns["trade_date"], table.columns["ts_code"]
    bar_days, bar_codes = bars.columns["trade_date"], bars.columns["ts_code"]
    assert isinstance(days, Coded) and isinstance(codes, Coded)
    assert isinstance(bar_days, Coded) and isinstance(bar_codes, Coded)
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    wanted = {int(d) for d in np.flatnonzero(np.isin(years, DAILY_BASIC_GAP_YEARS))} if api == "daily_basic" else set()
    wanted |= {
        int(i)
        for (name, day), _ in holes.items()
        if name == api
        for i in np.flatnonzero(dates == np.datetime64(day, "D"))
    }
    removed = []
    for d in sorted(wanted):
        key = _day_key(seed, api, start_g + d)
        rule = _coverage(api, dates[d].item(), key, holes)
        lo, hi = _day_rows(days.codes, d)
        b_lo, b_hi = _day_rows(bar_days.codes, d)
        if rule is None or hi == lo:
            continue
        kept, round_up = rule
        with_bar = np.sort(_mix(ids[bar_codes.codes[b_lo:b_hi]] ^ key))
        n_missing = len(with_bar) - (math.floor(kept * len(with_bar)) if round_up else round(kept * len(with_bar)))
        if n_missing <= 0:
            continue
        cutoff = with_bar[len(with_bar) - n_missing]  # the codes hashing at or above it are missing
        hashes = _mix(ids[codes.codes[lo:hi]] ^ key)
        removed.append(lo + np.flatnonzero(hashes >= cutoff))
    return np.concatenate(removed) if removed else np.zeros(0, dtype=np.int64)


def market_label(label: str, code: str, delisted: bool, u: float) -> str | None:
    """stock_basic.market as the real source shows it: delisted stocks may keep an old label or none.

    Most delisted SME-board (002xxx.SZ) stocks still say 中小板; a few delisted stocks say "" or null.
    """
    if not delisted:
        return label
    if code.startswith(SME_PREFIX) and code.endswith("." + EXCHANGE_SUFFIX["SZSE"]):
        return SME_LABEL if u < 0.7 else "" if u < 0.8 else label
    return "" if u < 0.06 else None if u < 0.12 else label
