"""The SSE trading calendar behind the synthetic market, and `trade_cal` rows built from it.

Real holidays come from `exchange_calendars` (XSHG). That library only knows announced
holidays (today up to the end of 2026); later years are extrapolated as weekdays minus the
fixed-date closures (New Year's Day, 1-5 May, 1-7 October) so the embedded demo keeps running
after the library's horizon. Upgrading the library replaces the extrapolation with real days.

Dates inside the market are numpy ``datetime64[D]`` values; on the wire they are ``YYYYMMDD``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import warnings

import exchange_calendars as xcals
import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

FIRST_SESSION = dt.date(1990, 12, 19)  # first SSE trading day
_FIXED_CLOSURES = {(1, 1), (5, 1), (5, 2), (5, 3), (5, 4), (5, 5)} | {(10, d) for d in range(1, 8)}


def ymd(days: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` array → object array of ``YYYYMMDD`` strings (the wire format)."""
    text = np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D")
    return np.array([s.replace("-", "") for s in text.tolist()], dtype=object)


def ymd_int(days: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` → int ``YYYYMMDD``, handy for fast comparisons with wire dates."""
    days = np.asarray(days, dtype="datetime64[D]")
    years = days.astype("datetime64[Y]").astype(int) + 1970
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    dom = (days - days.astype("datetime64[M]")).astype(int) + 1
    return years * 10000 + months * 100 + dom


def to_day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


@functools.lru_cache(maxsize=4)
def _library_sessions() -> tuple[np.ndarray, dt.date]:
    """All XSHG sessions the installed library knows, and the last date it covers."""
    with warnings.catch_warnings():  # exchange_calendars 4.13 trips a pandas 3.1 deprecation
        warnings.filterwarnings("ignore", message="Series.values returning")
        calendar = xcals.get_calendar("XSHG", start=FIRST_SESSION.isoformat())
        bound = calendar.bound_max().date()
        if calendar.last_session.date() < bound:
            calendar = xcals.get_calendar("XSHG", start=FIRST_SESSION.isoformat(), end=bound.isoformat())
    sessions = np.array(calendar.sessions.strftime("%Y-%m-%d").tolist(), dtype="datetime64[D]")
    return sessions, bound


def _extrapolated_sessions(first: dt.date, last: dt.date) -> np.ndarray:
    """Weekdays without the fixed-date closures: a stand-in for years the library lacks."""
    if last < first:
        return np.array([], dtype="datetime64[D]")
    days = np.arange(to_day(first), to_day(last) + 1, dtype="datetime64[D]")
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday (3)
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    dom = (days - days.astype("datetime64[M]")).astype(int) + 1
    closed = np.array([(m, d) in _FIXED_CLOSURES for m, d in zip(months.tolist(), dom.tolist())], dtype=bool)
    return days[(weekday < 5) & ~closed]


@functools.lru_cache(maxsize=16)
def sse_sessions(last_year: int) -> np.ndarray:
    """Sorted SSE trading days from 1990-12-19 to 31 December of `last_year` (read-only)."""
    known, bound = _library_sessions()
    last = dt.date(last_year, 12, 31)
    if last > bound:
        logger.info("SSE holidays after %s are not in exchange_calendars; extrapolating", bound)
    extra = _extrapolated_sessions(bound + dt.timedelta(days=1), last)
    sessions = np.concatenate([known[known <= to_day(last)], extra])
    sessions.setflags(write=False)
    return sessions


def calendar_frame(start: dt.date, end: dt.date, sessions: np.ndarray) -> pd.DataFrame:
    """`trade_cal` wire rows (ascending) for every calendar day in [start, end].

    `pretrade_date` is the last open day strictly before `cal_date`, also on closed days,
    which is how Tushare fills it; it is null before the first session.
    """
    start = max(start, FIRST_SESSION)
    days = (
        np.arange(to_day(start), to_day(end) + 1, dtype="datetime64[D]")
        if end >= start
        else (np.array([], dtype="datetime64[D]"))
    )
    slot = np.searchsorted(sessions, days, side="left")
    is_open = (slot < len(sessions)) & (sessions[np.minimum(slot, len(sessions) - 1)] == days)
    previous = ymd(sessions[np.maximum(slot - 1, 0)]) if len(days) else np.array([], dtype=object)
    previous[slot == 0] = None
    return pd.DataFrame(
        {
            "exchange": np.full(len(days), "SSE", dtype=object),
            "cal_date": ymd(days),
            "is_open": is_open.astype(np.int64),
            "pretrade_date": previous,
        }
    )
