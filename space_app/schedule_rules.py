"""When the Space runs a sync: pure functions of (now, trading calendar, watermark, last outcome).

The scheduler thread only asks these functions and triggers what they say, so every decision is
tested with an injected clock (tests/space_app/test_schedule_rules.py). The rules:

- The daily delta runs at `SYNC_TIME` in `SYNC_TZ` on each trading day (the date in `SYNC_TZ`).
- On start, a delta catches up at once when the watermark is behind the newest trading day whose
  data could be complete: today once today's run time has passed (and never before the 15:30
  close gate), else the trading day before. A free Space sleeps and `schedule` forgets missed runs.
- A run that stopped before a day not yet published is retried every 30 minutes until midnight
  Asia/Shanghai of the day it ran; after that the next daily run takes over.
- A passing failure never costs a day: a run that failed on something that passes by itself
  (the Hub's 5xx, Tushare's -1000, a dropped connection), and the start-up's catch-up or resume
  when the repo could not be read, are retried after 1 minute, then 2, 4, 8, 16 and every 30
  minutes, until midnight Asia/Shanghai by the clock (`retry_delay`). The Space measures these
  delays in real elapsed time (time.monotonic), also when SYNC_NOW pins the clock; a pinned
  clock never reaches midnight, so its retries go on at 30 minutes.

    >>> days = [dt.date(2024, 4, 12), dt.date(2024, 4, 15)]           # a Friday, then Monday
    >>> now = dt.datetime(2024, 4, 12, 22, 0, tzinfo=SHANGHAI)
    >>> next_scheduled_run(now, days, "21:00", "Asia/Shanghai").isoformat()
    '2024-04-15T21:00:00+08:00'
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Sequence

from sync.core.clock import CLOSE_GATE, SHANGHAI, newest_allowed_day

RETRY_EVERY = dt.timedelta(minutes=30)  # after a stopped run; also the longest backoff
RETRY_FIRST = dt.timedelta(minutes=1)  # the first retry after a passing failure ("within 2 minutes")
HORIZON_DAYS = 400  # how far ahead to look for a trading day before giving up


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How the last run of this process ended, as far as scheduling cares."""

    kind: str  # "full" or "delta"
    trigger: str  # "schedule", "catch-up" or "button" (retries run as "schedule")
    finished_at: dt.datetime  # aware
    ok: bool  # False: the run raised
    stopped: bool = False  # True: it stopped before a day that is not yet published
    retryable: bool = False  # for a failure: whether running again may help
    failures: int = 1  # for a retryable failure: how many in a row (this one included), for the backoff


def run_time_on(day: dt.date, sync_time: str, tz: str) -> dt.datetime:
    """`day` at `sync_time` ("HH:MM") in zone `tz`, as an aware datetime."""
    clock = dt.datetime.strptime(sync_time, "%H:%M").time()
    return dt.datetime.combine(day, clock, tzinfo=zoneinfo.ZoneInfo(tz))


def is_trading_day(day: dt.date, open_days: Sequence[dt.date]) -> bool:
    """True when `day` is an SSE trading day; past the end of the known calendar, any weekday."""
    if open_days and day <= open_days[-1]:
        index = bisect.bisect_left(open_days, day)
        return index < len(open_days) and open_days[index] == day
    return day.weekday() < 5


def next_scheduled_run(now: dt.datetime, open_days: Sequence[dt.date], sync_time: str, tz: str) -> dt.datetime:
    """The first daily run strictly after `now`: `sync_time` in `tz` on a trading day."""
    day = now.astimezone(zoneinfo.ZoneInfo(tz)).date()
    for offset in range(HORIZON_DAYS):
        candidate = day + dt.timedelta(days=offset)
        at = run_time_on(candidate, sync_time, tz)
        if at > now and is_trading_day(candidate, open_days):
            return at
    raise ValueError(f"no trading day within {HORIZON_DAYS} days after {now.isoformat()}")


def newest_expected_day(now: dt.datetime, open_days: Sequence[dt.date], sync_time: str, tz: str) -> dt.date | None:
    """The newest trading day whose data could be complete at `now`; None before the calendar starts.

    Today counts once today's run time has passed and the 15:30 close gate too; before that, the
    trading day before today.
    """
    local = now.astimezone(SHANGHAI)
    today = local.date()
    today_ready = (
        now >= run_time_on(now.astimezone(zoneinfo.ZoneInfo(tz)).date(), sync_time, tz) and local.time() >= CLOSE_GATE
    )
    last = today if today_ready else today - dt.timedelta(days=1)
    if open_days and last <= open_days[-1]:
        index = bisect.bisect_right(open_days, last)
        return open_days[index - 1] if index else None
    while not is_trading_day(last, open_days):  # beyond the known calendar: weekdays
        last -= dt.timedelta(days=1)
    return last


def newer_day_publishable(now: dt.datetime, open_days: Sequence[dt.date], watermark: dt.date) -> bool:
    """True when a trading day after `watermark` may be published by the clock at `now`: today from
    the 15:30 close gate on, else up to yesterday (the engine's own gate, `newest_allowed_day`).

    >>> friday, monday = dt.date(2024, 4, 12), dt.date(2024, 4, 15)
    >>> at = lambda day, hh: dt.datetime.combine(day, dt.time(hh), tzinfo=SHANGHAI)
    >>> newer_day_publishable(at(monday, 15), [friday, monday], friday), newer_day_publishable(at(monday, 16), [friday, monday], friday)
    (False, True)
    """
    day, newest = watermark + dt.timedelta(days=1), newest_allowed_day(now)
    while day <= newest:
        if is_trading_day(day, open_days):
            return True
        if open_days and day <= open_days[-1]:  # jump to the next open day of the known calendar
            index = bisect.bisect_right(open_days, day)
            day = open_days[index] if index < len(open_days) else open_days[-1] + dt.timedelta(days=1)
        else:
            day += dt.timedelta(days=1)
    return False


def catch_up_needed(
    now: dt.datetime, open_days: Sequence[dt.date], watermark: dt.date | None, sync_time: str, tz: str
) -> bool:
    """True when a published watermark is behind the newest day that could be complete."""
    if watermark is None:
        return False
    expected = newest_expected_day(now, open_days, sync_time, tz)
    return expected is not None and watermark < expected


def startup_action(
    now: dt.datetime,
    open_days: Sequence[dt.date],
    watermark: dt.date | None,
    published: bool,
    embedded: bool,
    sync_time: str,
    tz: str,
) -> str | None:
    """What to start when the app starts: "full" (the demo), "delta" (catch up) or None.

    With the embedded market and nothing published, the demo dataset builds itself. With a real
    token and nothing published, nothing runs: the full sync is the maintainer's decision.
    """
    if not published:
        return "full" if embedded else None
    return "delta" if catch_up_needed(now, open_days, watermark, sync_time, tz) else None


def retry_cutoff(finished_at: dt.datetime) -> dt.datetime:
    """Midnight Asia/Shanghai after `finished_at`: retries stop there."""
    day = finished_at.astimezone(SHANGHAI).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=SHANGHAI)


def wants_retry(last: Outcome | None) -> bool:
    """A stopped run, or a failure that retrying may fix."""
    if last is None:
        return False
    return last.stopped if last.ok else last.retryable


def backoff(failures: int) -> dt.timedelta:
    """The wait after the `failures`-th passing failure in a row: 1, 2, 4, 8, 16, then 30 minutes.

    >>> [int(backoff(n).total_seconds() // 60) for n in range(1, 8)]
    [1, 2, 4, 8, 16, 30, 30]
    """
    return min(RETRY_FIRST * 2 ** min(max(failures, 1) - 1, 10), RETRY_EVERY)


def retry_delay(last: Outcome | None) -> dt.timedelta | None:
    """How long after `last` finished to retry it: 30 minutes after a stopped run, the backoff after a
    passing failure, None when it is not worth retrying."""
    if not wants_retry(last):
        return None
    assert last is not None
    return RETRY_EVERY if last.ok else backoff(last.failures)


def next_retry(now: dt.datetime, last: Outcome | None) -> dt.datetime | None:
    """When to retry `last` (now, when overdue), None when not wanted or past midnight after it finished."""
    delay = retry_delay(last)
    if delay is None or last is None:
        return None
    at = max(last.finished_at + delay, now)
    return at if at < retry_cutoff(last.finished_at) else None


def next_run(
    now: dt.datetime, open_days: Sequence[dt.date], last: Outcome | None, sync_time: str, tz: str
) -> tuple[dt.datetime, str]:
    """The next run the scheduler will start and its trigger: a pending retry or the daily run."""
    daily = next_scheduled_run(now, open_days, sync_time, tz)
    retry = next_retry(now, last)
    if retry is not None and retry < daily:
        return retry, "retry"
    return daily, "schedule"
