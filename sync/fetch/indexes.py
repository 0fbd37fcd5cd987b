"""Fetch the index tables: `index_basic` names, `index_daily` bars and `index_weight` snapshots, per code.

The rules (docs/tushare.md#indexes):

* `index_basic` once per configured code: an empty answer is a configuration error.
* `index_daily` per code in ranges of fewer trading days than its 8,000-row cap (one call covers
  about 30 years).
* `index_weight` per code in windows small enough to stay under its silent 6,000-row cut: the
  window's trading days × the index's members × its snapshots per trading day (every day until
  2011-09-02, a few a month after) stay under 80% of the cap. A reply of exactly the cap may have
  been cut, so its window is split in two and both halves are asked again (`Fetched.splits`).
* `ALIASES`: where the source keeps an index's history under another code of the same index, that
  code is asked too, for the dates before `until`; the configured code wins a snapshot date both
  answer, and the rows are published under it.

Each call is one request (`limit` = the cap): these interfaces are cut, not paged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from sync.core.clock import ymd
from sync.core.errors import ConfigError, SyncError
from sync.fetch.source import Source
from sync.tushare.apis import APIS
from sync.tushare.frames import typed_frame

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Alias:
    code: str  # the other code of the same index
    until: dt.date  # asked for snapshots dated before this day


ALIASES: Mapping[str, Alias] = {"000300.SH": Alias("399300.SZ", dt.date(2020, 3, 31))}
DAILY_SNAPSHOTS_UNTIL = dt.date(2011, 9, 2)
SNAPSHOTS_PER_DAY_LATER = 0.15  # two or three a month, counted generously
WINDOW_SHARE = 0.8  # of the cap a window is sized to fill
# Members per index, to size the first window (later windows use the largest snapshot seen).
MEMBERS: Mapping[str, int] = {
    "000001.SH": 2300,
    "399001.SZ": 500,
    "399006.SZ": 100,
    "000016.SH": 50,
    "000300.SH": 300,
    "399300.SZ": 300,
    "000905.SH": 500,
    "000852.SH": 1000,
    "000688.SH": 50,
}
DEFAULT_MEMBERS = 500


@dataclasses.dataclass(frozen=True)
class IndexInfo:
    code: str
    name: str
    first_day: dt.date | None  # index_basic's list_date, else base_date


@dataclasses.dataclass
class Fetched:
    daily: pd.DataFrame  # index_daily rows (requested fields)
    weights: pd.DataFrame  # index_weight rows, under the configured codes
    splits: int = 0  # index_weight windows asked again in halves after a reply at the cap


def resolve(source: Source, codes: Sequence[str]) -> dict[str, IndexInfo]:
    """index_basic for each configured code; a code it does not know is a configuration error.
    A token without the points raises `TusharePermissionError` (the caller skips the indexes)."""
    frames = source.query_many([("index_basic", {"ts_code": code}) for code in codes])
    unknown = [code for code, frame in zip(codes, frames, strict=True) if frame.empty]
    if unknown:
        raise ConfigError(
            f"SYNC_INDEXES names {', '.join(unknown)}, which Tushare's index_basic does not know; "
            "use codes like 000300.SH (index_basic lists them), or set SYNC_INDEXES= for none"
        )
    out = {}
    for code, frame in zip(codes, frames, strict=True):
        row = frame.iloc[0]
        first = row["list_date"] if pd.notna(row["list_date"]) else row["base_date"]
        out[code] = IndexInfo(code, str(row["name"]), first.date() if pd.notna(first) else None)
    return out


def daily_ranges(days: Sequence[dt.date], cap: int) -> list[tuple[dt.date, dt.date]]:
    """[start, end] ranges of `days` with fewer trading days than `cap` each."""
    step = max(1, cap - 1)
    return [(days[i], days[min(i + step, len(days)) - 1]) for i in range(0, len(days), step)]


def window_days(day: dt.date, members: int, cap: int) -> int:
    """Trading days a weight window starting its walk at `day` may span."""
    per_day = 1.0 if day <= DAILY_SNAPSHOTS_UNTIL else SNAPSHOTS_PER_DAY_LATER
    return max(1, math.floor(WINDOW_SHARE * cap / (max(members, 1) * per_day)))


Members = int | Callable[[dt.date], int]  # a count, or the count on a day (the planner's estimate)


def window_start(days: Sequence[dt.date], end: int, members: Members, cap: int) -> int:
    """Where the window ending before position `end` of `days` starts (it never spans both eras)."""
    count = members(days[end - 1]) if callable(members) else members
    start = max(0, end - window_days(days[end - 1], count, cap))
    if days[start] <= DAILY_SNAPSHOTS_UNTIL < days[end - 1]:  # a monthly-era size would overfill the daily era
        start = max(start, next(i for i, d in enumerate(days) if d > DAILY_SNAPSHOTS_UNTIL))
    return start


def weight_windows(days: Sequence[dt.date], members: Members, cap: int) -> list[tuple[dt.date, dt.date]]:
    """Windows over `days`, newest first, as `fetch` walks them with a fixed member count."""
    windows, end = [], len(days)
    while end > 0:
        start = window_start(days, end, members, cap)
        windows.append((days[start], days[end - 1]))
        end = start
    return windows


def fetch(source: Source, work: Mapping[str, tuple[dt.date, dt.date, dt.date]], days: Sequence[dt.date]) -> Fetched:
    """Bars from work[code][0] and snapshots from work[code][1], both through work[code][2], for each code,
    the codes concurrently (each interface paced at its own quota)."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(work), source.workers))) as pool:
        futures = {code: pool.submit(_one_code, source, code, *span, days) for code, span in work.items()}
        parts = {code: future.result() for code, future in futures.items()}
    daily = [p[0] for p in parts.values()]
    weights = [p[1] for p in parts.values()]
    return Fetched(
        pd.concat(daily, ignore_index=True) if daily else _empty("index_daily"),
        pd.concat(weights, ignore_index=True) if weights else _empty("index_weight"),
        sum(p[2] for p in parts.values()),
    )


def _one_code(
    source: Source, code: str, bars_from: dt.date, weights_from: dt.date, last: dt.date, days: Sequence[dt.date]
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    cap = source.client.row_caps["index_daily"]
    span = [d for d in days if bars_from <= d <= last]
    bars = [_bars(source, code, a, b, cap) for a, b in daily_ranges(span, cap)]
    own, splits = _weights(source, code, [d for d in days if weights_from <= d <= last])
    alias = ALIASES.get(code)
    if alias is not None and weights_from < alias.until:
        older, more = _weights(source, alias.code, [d for d in days if weights_from <= d < min(alias.until, last)])
        older = older[~older["trade_date"].isin(set(own["trade_date"]))].assign(index_code=code)
        own, splits = pd.concat([own, older], ignore_index=True), splits + more
    daily = pd.concat(bars, ignore_index=True) if bars else _empty("index_daily")
    return daily, own, splits


def _bars(source: Source, code: str, first: dt.date, last: dt.date, cap: int) -> pd.DataFrame:
    frame = _one_call(source, "index_daily", {"ts_code": code, "start_date": ymd(first), "end_date": ymd(last)})
    if len(frame) >= cap:
        raise SyncError(
            f"index_daily {code} {ymd(first)}..{ymd(last)} answered {len(frame)} rows, its cap: the range was "
            "meant to hold fewer; nothing was published"
        )
    return frame


def _weights(source: Source, code: str, days: Sequence[dt.date]) -> tuple[pd.DataFrame, int]:
    """Every snapshot of `code` on `days`, newest window first; windows at the cap split and asked again."""
    cap = source.client.row_caps["index_weight"]
    members = MEMBERS.get(code, DEFAULT_MEMBERS)
    parts: list[pd.DataFrame] = []
    splits, end = 0, len(days)
    while end > 0:
        start = window_start(days, end, members, cap)
        frame, more = _whole_window(source, code, list(days[start:end]), cap)
        splits += more
        if len(frame):
            parts.append(frame)
            members = int(frame.groupby("trade_date").size().max())  # the nearest snapshot sizes the next window
        end = start
    return (pd.concat(parts, ignore_index=True) if parts else _empty("index_weight")), splits


def _whole_window(source: Source, code: str, days: list[dt.date], cap: int) -> tuple[pd.DataFrame, int]:
    """The window's snapshots, whole: a reply of `cap` rows may have lost its oldest ones."""
    params = {"index_code": code, "start_date": ymd(days[0]), "end_date": ymd(days[-1])}
    frame = _one_call(source, "index_weight", params)
    if len(frame) < cap:
        return frame, 0
    if len(days) == 1:
        raise SyncError(
            f"index_weight {code} {ymd(days[0])} answered {len(frame)} rows for one snapshot, the cap: "
            "its members cannot be fetched whole; nothing was published"
        )
    log.info("index_weight %s %s..%s hit the %d-row cut; asking again in halves", code, days[0], days[-1], cap)
    middle = len(days) // 2
    newer, a = _whole_window(source, code, days[middle:], cap)
    older, b = _whole_window(source, code, days[:middle], cap)
    return pd.concat([newer, older], ignore_index=True), 1 + a + b


def _one_call(source: Source, api: str, params: dict) -> pd.DataFrame:
    """One request, never paged: the index interfaces cut silently rather than page."""
    return source.query(api, limit=source.client.row_caps[api], offset=0, **params)


def _empty(api: str) -> pd.DataFrame:
    return typed_frame(APIS[api].requested, [])


def estimate_calls(
    codes: Sequence[str],
    bars_days: Mapping[str, Sequence[dt.date]],
    weight_days: Mapping[str, Sequence[dt.date]],
    caps: Mapping[str, int] | None = None,
    members: Mapping[str, Members] | None = None,
) -> dict[str, int]:
    """Calls the plan counts: index_basic per code, index_daily ranges, index_weight windows (an
    alias's windows too) at `members` (default: the real counts of today, `MEMBERS`); splits are not
    foreseen, they are counted when they happen."""
    sizes = {**MEMBERS, **(members or {})}
    caps = {api: APIS[api].row_cap for api in ("index_daily", "index_weight")} | dict(caps or {})
    weight = 0
    for code in codes:
        span = list(weight_days.get(code, ()))
        weight += len(weight_windows(span, sizes.get(code, DEFAULT_MEMBERS), caps["index_weight"])) if span else 0
        alias = ALIASES.get(code)
        older = [d for d in span if alias is not None and d < alias.until]
        if alias is not None and older:
            weight += len(weight_windows(older, sizes.get(alias.code, DEFAULT_MEMBERS), caps["index_weight"]))
    daily = sum(len(daily_ranges(list(bars_days.get(code, ())), caps["index_daily"])) for code in codes)
    return {"index_basic": len(codes), "index_daily": daily, "index_weight": weight}
