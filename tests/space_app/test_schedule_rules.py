"""The Space's scheduling decisions with an injected clock: time zones, weekends, holidays, catch-up, retries."""

import dataclasses
import datetime as dt
import zoneinfo

import pytest

from space_app.schedule_rules import (
    Outcome,
    catch_up_needed,
    is_trading_day,
    newer_day_publishable,
    newest_expected_day,
    next_retry,
    next_run,
    next_scheduled_run,
    retry_cutoff,
    startup_action,
)

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
D = dt.date

# SSE, 2024-09-23 .. 2024-10-11: National Day closes Oct 1-7 (Tue..Mon).
OPEN = [D(2024, 9, d) for d in (23, 24, 25, 26, 27, 30)] + [D(2024, 10, d) for d in (8, 9, 10, 11)]


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_daily_run_is_later_today_before_sync_time():
    assert next_scheduled_run(sh(2024, 9, 24, 18, 0), OPEN, "21:00", "Asia/Shanghai") == sh(2024, 9, 24, 21, 0)


def test_daily_run_moves_to_next_trading_day_after_sync_time():
    assert next_scheduled_run(sh(2024, 9, 24, 21, 0), OPEN, "21:00", "Asia/Shanghai") == sh(2024, 9, 25, 21, 0)


def test_daily_run_skips_the_weekend():
    assert next_scheduled_run(sh(2024, 9, 27, 22, 0), OPEN, "21:00", "Asia/Shanghai") == sh(2024, 9, 30, 21, 0)


def test_daily_run_skips_the_national_day_holiday():
    assert next_scheduled_run(sh(2024, 9, 30, 21, 30), OPEN, "21:00", "Asia/Shanghai") == sh(2024, 10, 8, 21, 0)


def test_utc_evening_is_already_the_next_day_in_shanghai():
    # 14:00 UTC on Friday is 22:00 in Shanghai: Friday's run has passed.
    now = dt.datetime(2024, 9, 27, 14, 0, tzinfo=UTC)
    nxt = next_scheduled_run(now, OPEN, "21:00", "Asia/Shanghai")
    assert nxt == sh(2024, 9, 30, 21, 0)
    assert nxt.isoformat() == "2024-09-30T21:00:00+08:00"


def test_sync_time_in_another_zone():
    now = dt.datetime(2024, 9, 27, 12, 0, tzinfo=UTC)
    assert next_scheduled_run(now, OPEN, "13:00", "UTC") == dt.datetime(
        2024, 9, 27, 13, 0, tzinfo=zoneinfo.ZoneInfo("UTC")
    )


def test_beyond_the_known_calendar_weekdays_count_as_trading_days():
    assert is_trading_day(D(2024, 10, 14), OPEN)  # a Monday after the calendar ends
    assert not is_trading_day(D(2024, 10, 12), OPEN)  # a Saturday
    assert not is_trading_day(D(2024, 10, 1), OPEN)  # a holiday inside the calendar
    assert next_scheduled_run(sh(2024, 10, 11, 22, 0), OPEN, "21:00", "Asia/Shanghai") == sh(2024, 10, 14, 21, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (sh(2024, 9, 25, 20, 59), D(2024, 9, 24)),  # before today's run time: yesterday
        (sh(2024, 9, 25, 21, 0), D(2024, 9, 25)),  # from the run time on: today
        (sh(2024, 9, 28, 12, 0), D(2024, 9, 27)),  # Saturday: Friday
        (sh(2024, 9, 30, 9, 0), D(2024, 9, 27)),  # Monday morning: still Friday
        (sh(2024, 10, 8, 10, 0), D(2024, 9, 30)),  # the morning after the holiday: the day before it
        (dt.datetime(2024, 9, 25, 13, 30, tzinfo=UTC), D(2024, 9, 25)),  # 21:30 Shanghai
    ],
)
def test_newest_expected_day(now, expected):
    assert newest_expected_day(now, OPEN, "21:00", "Asia/Shanghai") == expected


def test_an_early_sync_time_still_waits_for_the_close():
    assert newest_expected_day(sh(2024, 9, 25, 10, 0), OPEN, "09:00", "Asia/Shanghai") == D(2024, 9, 24)
    assert newest_expected_day(sh(2024, 9, 25, 15, 30), OPEN, "09:00", "Asia/Shanghai") == D(2024, 9, 25)


def test_catch_up_when_behind_and_not_when_current():
    assert catch_up_needed(sh(2024, 9, 26, 8, 0), OPEN, D(2024, 9, 24), "21:00", "Asia/Shanghai")
    assert not catch_up_needed(sh(2024, 9, 26, 8, 0), OPEN, D(2024, 9, 25), "21:00", "Asia/Shanghai")
    # Woken on Tuesday after the holiday, before the run time, with Monday Sep 30 published: current.
    assert not catch_up_needed(sh(2024, 10, 8, 12, 0), OPEN, D(2024, 9, 30), "21:00", "Asia/Shanghai")
    # Woken on Sunday with Thursday published: Friday is missing.
    assert catch_up_needed(sh(2024, 9, 29, 12, 0), OPEN, D(2024, 9, 26), "21:00", "Asia/Shanghai")


def test_start_builds_the_demo_only_with_the_embedded_market():
    now = sh(2024, 9, 26, 8, 0)
    assert (
        startup_action(now, [], None, published=False, embedded=True, sync_time="21:00", tz="Asia/Shanghai") == "full"
    )
    assert startup_action(now, [], None, published=False, embedded=False, sync_time="21:00", tz="Asia/Shanghai") is None
    assert startup_action(now, OPEN, D(2024, 9, 20), True, False, "21:00", "Asia/Shanghai") == "delta"
    assert startup_action(now, OPEN, D(2024, 9, 25), True, True, "21:00", "Asia/Shanghai") is None


def stopped_at(moment: dt.datetime, **kw) -> Outcome:
    return Outcome("delta", "schedule", moment, ok=kw.pop("ok", True), stopped=kw.pop("stopped", True), **kw)


def test_a_stopped_run_is_retried_every_30_minutes():
    last = stopped_at(sh(2024, 9, 25, 21, 2))
    assert next_retry(sh(2024, 9, 25, 21, 10), last) == sh(2024, 9, 25, 21, 32)
    assert next_retry(sh(2024, 9, 25, 21, 40), last) == sh(2024, 9, 25, 21, 40)  # overdue: now
    assert next_run(sh(2024, 9, 25, 21, 10), OPEN, last, "21:00", "Asia/Shanghai") == (sh(2024, 9, 25, 21, 32), "retry")


def test_retries_stop_at_midnight_shanghai():
    last = stopped_at(sh(2024, 9, 25, 23, 40))
    assert retry_cutoff(last.finished_at) == sh(2024, 9, 26, 0, 0)
    assert next_retry(sh(2024, 9, 25, 23, 45), last) is None
    assert next_run(sh(2024, 9, 25, 23, 45), OPEN, last, "21:00", "Asia/Shanghai") == (
        sh(2024, 9, 26, 21, 0),
        "schedule",
    )


def test_the_cutoff_is_shanghai_midnight_even_for_a_utc_timestamp():
    # 15:50 UTC is 23:50 in Shanghai: ten minutes left, so no retry; at 15:00 UTC (23:00) one more.
    assert (
        next_retry(
            dt.datetime(2024, 9, 25, 15, 55, tzinfo=UTC), stopped_at(dt.datetime(2024, 9, 25, 15, 50, tzinfo=UTC))
        )
        is None
    )
    assert next_retry(
        dt.datetime(2024, 9, 25, 15, 1, tzinfo=UTC), stopped_at(dt.datetime(2024, 9, 25, 15, 0, tzinfo=UTC))
    ) == sh(2024, 9, 25, 23, 30)


def test_success_and_permanent_failures_are_not_retried():
    assert next_retry(sh(2024, 9, 25, 21, 10), stopped_at(sh(2024, 9, 25, 21, 2), stopped=False)) is None
    assert next_retry(sh(2024, 9, 25, 21, 10), stopped_at(sh(2024, 9, 25, 21, 2), ok=False, stopped=False)) is None
    assert next_retry(sh(2024, 9, 25, 21, 10), None) is None


@pytest.mark.parametrize(
    "now, watermark, publishable",
    [
        (sh(2024, 9, 30, 15, 29), D(2024, 9, 27), False),  # Monday before the close gate: Friday is the newest
        (sh(2024, 9, 30, 15, 30), D(2024, 9, 27), True),  # from 15:30 Monday may be published
        (sh(2024, 10, 6, 22, 0), D(2024, 9, 30), False),  # National Day: no trading day since
        (sh(2024, 10, 8, 16, 0), D(2024, 9, 30), True),
        (dt.datetime(2024, 10, 8, 7, 30, tzinfo=UTC), D(2024, 9, 30), True),  # 15:30 in Shanghai
        (sh(2024, 10, 14, 9, 0), D(2024, 10, 11), False),  # beyond the calendar: weekdays; Monday morning
        (sh(2024, 10, 15, 9, 0), D(2024, 10, 11), True),  # ... Monday the 14th may be published by Tuesday
    ],
)
def test_a_newer_day_is_publishable_by_the_engines_close_gate_and_the_calendar(now, watermark, publishable):
    assert newer_day_publishable(now, OPEN, watermark) is publishable


def test_a_passing_failure_is_retried_within_two_minutes_then_backs_off_to_thirty():
    failed = sh(2024, 9, 25, 21, 2)
    retryable = stopped_at(failed, ok=False, stopped=False, retryable=True)
    first = next_retry(failed, retryable)
    assert first is not None and first - failed <= dt.timedelta(minutes=2)
    waits = [
        next_retry(failed, dataclasses.replace(retryable, failures=n)) - failed  # type: ignore[operator]
        for n in range(1, 9)
    ]
    assert waits == sorted(waits) and waits[-1] == waits[-2] == dt.timedelta(minutes=30)
    assert all(later <= 2 * earlier for earlier, later in zip(waits, waits[1:]))
    assert next_run(failed, OPEN, retryable, "21:00", "Asia/Shanghai") == (first, "retry")


def test_passing_failures_are_retried_until_midnight_only():
    late = stopped_at(sh(2024, 9, 25, 23, 40), ok=False, stopped=False, retryable=True, failures=6)
    assert next_retry(sh(2024, 9, 25, 23, 40), late) is None  # 30 minutes later is tomorrow
    early = dataclasses.replace(late, failures=1)
    assert next_retry(sh(2024, 9, 25, 23, 40), early) == sh(2024, 9, 25, 23, 41)
