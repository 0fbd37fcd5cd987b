"""The clock rules: Asia/Shanghai, the 15:30 close gate, the newest allowed day, YYYYMMDD, SYNC_NOW.

Expected values are written by hand from docs/operations.md: Shanghai is UTC+8 all year (no DST),
today's data is not fetched before 15:30 Shanghai time, and `SYNC_NOW` is an ISO time read as
Asia/Shanghai when it carries no offset.
"""

import datetime as dt
import zoneinfo

import pytest

from sync.core.clock import newest_allowed_day, now_from_env, parse_ymd, shanghai_date, ymd
from sync.core.errors import ConfigError

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
MON, TUE = dt.date(2024, 4, 15), dt.date(2024, 4, 16)
SUN = dt.date(2024, 4, 14)


def shanghai(day: dt.date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=SHANGHAI)


# -- the close gate ---------------------------------------------------------------------------


def test_newest_allowed_day_is_yesterday_one_minute_before_1530():
    assert newest_allowed_day(shanghai(TUE, 15, 29)) == MON


def test_newest_allowed_day_is_yesterday_one_microsecond_before_1530():
    assert newest_allowed_day(shanghai(TUE, 15, 29, 59, 999_999)) == MON


def test_newest_allowed_day_is_today_from_exactly_1530():
    assert newest_allowed_day(shanghai(TUE, 15, 30)) == TUE


def test_newest_allowed_day_is_today_one_minute_after_1530():
    assert newest_allowed_day(shanghai(TUE, 15, 31)) == TUE


def test_newest_allowed_day_is_yesterday_in_the_morning_and_today_late_at_night():
    assert newest_allowed_day(shanghai(TUE, 0, 0)) == MON
    assert newest_allowed_day(shanghai(TUE, 9, 30)) == MON
    assert newest_allowed_day(shanghai(TUE, 23, 59)) == TUE


def test_newest_allowed_day_before_the_gate_on_the_first_of_a_year_is_new_years_eve():
    assert newest_allowed_day(shanghai(dt.date(2025, 1, 1), 10, 0)) == dt.date(2024, 12, 31)


def test_newest_allowed_day_before_the_gate_on_the_first_of_march_in_a_leap_year_is_feb_29():
    assert newest_allowed_day(shanghai(dt.date(2024, 3, 1), 8, 0)) == dt.date(2024, 2, 29)


def test_newest_allowed_day_is_a_calendar_day_not_a_trading_day():
    # The clock rule does not know the calendar: on a Sunday evening it allows Sunday, and the
    # run then finds no trading day after Friday.
    assert newest_allowed_day(shanghai(SUN, 18, 0)) == SUN


# -- time zones: a UTC "now" --------------------------------------------------------------------


def test_a_utc_now_of_1700_is_already_0100_the_next_day_in_shanghai():
    now = dt.datetime(2024, 4, 15, 17, 0, tzinfo=UTC)  # = 2024-04-16 01:00 in Shanghai
    assert shanghai_date(now) == TUE
    # 01:00 on Tuesday is before Tuesday's close: Monday is the newest day, not Tuesday and not
    # Sunday (which a UTC-date-minus-one rule would give).
    assert newest_allowed_day(now) == MON


def test_a_utc_now_of_0730_is_exactly_the_shanghai_close():
    now = dt.datetime(2024, 4, 15, 7, 30, tzinfo=UTC)  # = 15:30 in Shanghai, exactly the gate
    assert newest_allowed_day(now) == MON
    assert newest_allowed_day(now - dt.timedelta(minutes=1)) == SUN


def test_a_utc_morning_is_the_same_day_in_shanghai():
    now = dt.datetime(2024, 4, 15, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert shanghai_date(now) == MON
    assert newest_allowed_day(now) == SUN


def test_a_new_york_evening_is_already_the_next_afternoon_in_shanghai():
    # 2024-04-15 04:00 in New York (EDT, UTC-4) = 08:00 UTC = 16:00 in Shanghai on the 15th.
    now = dt.datetime(2024, 4, 15, 4, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert newest_allowed_day(now) == MON


# -- capping at `end` -------------------------------------------------------------------------


def test_end_caps_the_newest_allowed_day():
    assert newest_allowed_day(shanghai(TUE, 18, 0), end=dt.date(2024, 4, 10)) == dt.date(2024, 4, 10)


def test_end_after_the_newest_allowed_day_does_not_move_it_forward():
    assert newest_allowed_day(shanghai(TUE, 10, 0), end=dt.date(2024, 12, 31)) == MON


def test_end_equal_to_the_newest_allowed_day_keeps_it():
    assert newest_allowed_day(shanghai(TUE, 15, 30), end=TUE) == TUE
    assert newest_allowed_day(shanghai(TUE, 15, 29), end=TUE) == MON


# -- YYYYMMDD ---------------------------------------------------------------------------------


def test_ymd_is_eight_digits_zero_padded():
    assert ymd(dt.date(2024, 4, 5)) == "20240405"
    assert ymd(dt.date(2005, 1, 1)) == "20050101"


@pytest.mark.parametrize(
    "day", [dt.date(2005, 1, 1), dt.date(2024, 2, 29), dt.date(2024, 12, 31), dt.date(1990, 12, 19)]
)
def test_ymd_and_parse_ymd_round_trip(day):
    assert parse_ymd(ymd(day), "x") == day


def test_parse_ymd_reads_yyyymmdd_and_ignores_surrounding_blanks():
    assert parse_ymd("20240412", "x") == dt.date(2024, 4, 12)
    assert parse_ymd(" 20240412\n", "x") == dt.date(2024, 4, 12)


@pytest.mark.parametrize("text", ["2024-04-12", "20240230", "202404120", "yesterday", ""])
def test_parse_ymd_names_its_source_and_shows_a_valid_example(text):
    with pytest.raises(ConfigError) as raised:
        parse_ymd(text, "SYNC_START_DATE")
    assert str(raised.value) == f"SYNC_START_DATE must be a date as YYYYMMDD, e.g. 20240105; got {text!r}"
    assert raised.value.exit_code == 2


@pytest.mark.parametrize("text", ["2024041", "2024412", "202441"])
def test_parse_ymd_refuses_a_date_with_fewer_than_eight_digits_instead_of_guessing(text):
    # strptime's %m and %d accept one digit, so "2024041" would silently become 2024-04-01
    # although the user may have meant 2024-04-10. YYYYMMDD is exactly eight digits.
    with pytest.raises(ConfigError, match="YYYYMMDD"):
        parse_ymd(text, "the date")


# -- SYNC_NOW ---------------------------------------------------------------------------------


def test_sync_now_without_an_offset_is_shanghai_time():
    now = now_from_env({"SYNC_NOW": "2024-04-15T18:00"})
    assert now == dt.datetime(2024, 4, 15, 10, 0, tzinfo=UTC)
    assert now.utcoffset() == dt.timedelta(hours=8)
    assert newest_allowed_day(now) == MON


def test_sync_now_with_seconds_and_surrounding_blanks():
    assert now_from_env({"SYNC_NOW": " 2024-04-15T15:30:00 "}) == shanghai(MON, 15, 30)


def test_sync_now_with_an_offset_is_that_moment():
    now = now_from_env({"SYNC_NOW": "2024-04-15T17:00:00+00:00"})
    assert now == dt.datetime(2024, 4, 16, 1, 0, tzinfo=SHANGHAI)
    assert newest_allowed_day(now) == MON


def test_sync_now_with_an_offset_is_returned_in_shanghai_so_its_date_is_the_shanghai_date():
    # now_from_env promises "now in Asia/Shanghai". Callers (the CLI builds the embedded market
    # with `now.date()`) rely on the date being the Shanghai date: 17:00 UTC is already the 16th.
    now = now_from_env({"SYNC_NOW": "2024-04-15T17:00:00+00:00"})
    assert now.utcoffset() == dt.timedelta(hours=8)
    assert now.date() == TUE


def test_sync_now_with_a_z_suffix_is_utc():
    assert now_from_env({"SYNC_NOW": "2024-04-15T07:30Z"}) == shanghai(MON, 15, 30)


@pytest.mark.parametrize("text", ["yesterday", "2024-04-15 6pm", "15/04/2024 18:00", "2024-13-01T00:00"])
def test_malformed_sync_now_is_a_config_error_that_shows_a_valid_example(text):
    with pytest.raises(ConfigError) as raised:
        now_from_env({"SYNC_NOW": text})
    assert str(raised.value) == f"SYNC_NOW must be an ISO time like 2024-04-15T18:00; got {text!r}"


@pytest.mark.parametrize("env", [{}, {"SYNC_NOW": ""}, {"SYNC_NOW": "   "}])
def test_unset_or_blank_sync_now_is_the_clock_in_shanghai(env):
    before = dt.datetime.now(UTC)
    now = now_from_env(env)
    after = dt.datetime.now(UTC)
    assert before <= now <= after
    assert now.utcoffset() == dt.timedelta(hours=8)


def test_now_from_env_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("SYNC_NOW", "2026-01-16T18:00")
    assert now_from_env() == shanghai(dt.date(2026, 1, 16), 18, 0)
