"""Trading-day and clock rules, and the one date format, in one place.

Tushare dates are `YYYYMMDD` strings; the market lives in Asia/Shanghai (UTC+8, no DST); a
trading day's bars are not fetched before the 15:30 close gate. "Now" is always passed in
(`now_from_env` reads `SYNC_NOW` once, at the edge), so every rule here is pure.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Mapping

from sync.core.errors import ConfigError

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CLOSE_GATE = dt.time(15, 30)  # today's bars are not fetched before this, Asia/Shanghai
YMD = "%Y%m%d"


def ymd(day: dt.date) -> str:
    """`2024-04-12` → `"20240412"`, the format of every Tushare date, tag and marker."""
    return day.strftime(YMD)


def parse_ymd(text: str, source: str) -> dt.date:
    """`"20240412"` → a date; a clear `ConfigError` naming `source` otherwise."""
    try:
        if not re.fullmatch(r"\d{8}", text.strip()):  # strptime alone reads "2024041" as 2024-04-01
            raise ValueError(text)
        return dt.datetime.strptime(text.strip(), YMD).date()
    except ValueError:
        raise ConfigError(f"{source} must be a date as YYYYMMDD, e.g. 20240105; got {text!r}") from None


def shanghai_date(now: dt.datetime) -> dt.date:
    """The calendar date in Shanghai at `now` (a UTC evening is already tomorrow there)."""
    return now.astimezone(SHANGHAI).date()


def newest_allowed_day(now: dt.datetime, end: dt.date | None = None) -> dt.date:
    """The newest day a run may fetch: today from the 15:30 close gate on, else yesterday; capped at `end`."""
    local = now.astimezone(SHANGHAI)
    newest = local.date() if local.time() >= CLOSE_GATE else local.date() - dt.timedelta(days=1)
    return min(newest, end) if end else newest


def now_from_env(env: Mapping[str, str] | None = None) -> dt.datetime:
    """Now in Asia/Shanghai; `SYNC_NOW` (ISO time, Shanghai when it has no offset) pins it."""
    env = os.environ if env is None else env
    pinned = env.get("SYNC_NOW", "").strip()
    if not pinned:
        return dt.datetime.now(SHANGHAI)
    try:
        moment = dt.datetime.fromisoformat(pinned)
    except ValueError:
        raise ConfigError(f"SYNC_NOW must be an ISO time like 2024-04-15T18:00; got {pinned!r}") from None
    return moment.astimezone(SHANGHAI) if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)
