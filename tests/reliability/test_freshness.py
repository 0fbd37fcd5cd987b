"""Freshness replay (issue 10 part 6): 2024's trading evenings through the Space's scheduling
rules and the real delta, with drawn publication times (tests/support/freshness_replay.py). To stay within
CI's time, 21:00 is replayed over the first half-year and 17:30 over the first quarter (where the
late and next-morning days fall); `python -m tests.support.freshness_replay` replays the whole year.

Asserts the behaviour (no day missed, every day published, retries that track a late publication,
a woken Space catching up in one run, cheap retries; and through passing failures, issue 22: the
Hub down for an hour from start-up and Tushare answering -1000 for 20 minutes at 21:00 cost no
evening) and writes the figures to
test-artifacts/reliability/freshness.json and freshness.md.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from space_app.schedule_rules import RETRY_EVERY
from sync.simulated.calendar import sse_sessions
from tests.support import ROOT
from tests.support import freshness_replay as replay

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the replay itself: about 2-3 minutes on 2 idle cores
ARTIFACTS = ROOT / "test-artifacts" / "reliability"
SESSIONS_2024 = [d.item() for d in sse_sessions(2024) if d.item().year == 2024]
PROBE_CALLS = 2  # trade_cal, then daily_basic for the day: what a run costs while the day is not out


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, replay.Replay]:
    done = replay.run_all(scratch=tmp_path_factory.mktemp("freshness"))
    figures = [replay.figures(r) for r in done]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "freshness.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    (ARTIFACTS / "freshness.md").write_text(replay.markdown(figures) + "\n")
    return {r.scenario.name: r for r in done}


YEAR_LONG = [s.name for s in replay.SCENARIOS if s.asleep is None]
CLEAN = [s.name for s in replay.SCENARIOS if s is not replay.FAULTS]  # no injected failures


def test_the_replay_covers_the_2024_calendar_with_late_and_next_morning_days(results):
    assert len(SESSIONS_2024) == 242
    for name in YEAR_LONG:
        result = results[name]
        span = result.scenario
        assert [r.day for r in result.days] == [d for d in SESSIONS_2024 if span.first <= d <= span.last]
        assert set(result.publication.late) | {result.publication.next_morning} <= {r.day for r in result.days}
        assert len(result.publication.late) >= 3 and result.publication.next_morning in SESSIONS_2024
        for late in result.publication.late:
            assert result.publication.ready(late).time() > dt.time(21, 0)
        assert result.publication.ready(result.publication.next_morning).date() > result.publication.next_morning


@pytest.mark.parametrize("name", [s.name for s in replay.SCENARIOS])
def test_no_day_is_missed_and_every_day_is_published(results, name):
    result = results[name]
    if name in CLEAN:
        assert [r.error for r in result.runs if r.error] == []
    else:  # every failure was a passing one, which the Space retried
        assert [r.error for r in result.runs if r.error and not r.retryable] == []
    assert replay.missed(result) == []
    assert replay.lost_evenings(result) == []
    assert [r.day for r in result.days if r.committed is None] == []
    assert set(r.day for r in result.days) <= set(result.published_days)
    assert result.problems == []


@pytest.mark.parametrize("name", YEAR_LONG)
def test_a_day_is_committed_within_30_minutes_of_publication_or_its_run_time(results, name):
    lags = replay.figures(results[name])["lag_in_retry_window_min"]
    assert lags["p95"] <= RETRY_EVERY.total_seconds() / 60
    late = [r for r in results[name].days if r.day in results[name].publication.late]
    for record in late:  # published after 21:00: a retry picks it up within one interval
        assert record.committed.date() == record.day
        assert record.lag_in_window <= RETRY_EVERY + dt.timedelta(minutes=5), record


@pytest.mark.parametrize("name", YEAR_LONG)
def test_the_next_morning_day_is_published_by_the_next_run_after_it_appears(results, name):
    result = results[name]
    day = result.publication.next_morning
    appeared = result.publication.ready(day)
    first_after = next(run for run in result.runs if run.started >= appeared)
    assert first_after.watermark >= day
    assert {r.day: r for r in result.days}[day].committed == first_after.finished


def test_a_space_woken_after_three_days_catches_them_up_in_one_run(results):
    result = results[replay.ASLEEP.name]
    first, last = result.scenario.asleep
    slept = [r for r in result.days if r.slept]
    assert [r.day for r in slept] == [d for d in SESSIONS_2024 if first <= d <= last] and len(slept) == 3
    [catch_up] = [run for run in result.runs if run.trigger == "catch-up"]
    assert catch_up.watermark_before < first and catch_up.watermark >= last
    assert {r.committed for r in slept} == {catch_up.finished}
    assert not [run for run in result.runs if first <= run.started.date() <= last]  # asleep: nothing ran
    assert replay.figures(result)["asleep"]["caught_up_in_one_run"]


@pytest.mark.parametrize("name", CLEAN)
def test_a_run_before_publication_costs_one_probe(results, name):
    """Runs that publish nothing new: each that found its day not out made the probe and nothing else;
    and such runs happen only on days that were late against the schedule."""
    result = results[name]
    wasted = [run for run in result.runs if not run.published_new]
    probing = [run for run in wasted if run.target is not None]
    assert all(run.calls == PROBE_CALLS for run in probing), [(r.started, r.calls) for r in probing]
    by_day = {r.day: r for r in result.days}
    for run in probing:
        assert run.started < by_day[run.target].published
    # a run beyond the published calendar (it ends on 31 December) tries a holiday: at most one a year
    assert len([run for run in wasted if run.target is None]) <= 1
    figures = replay.figures(result)
    assert figures["wasted_calls"] <= PROBE_CALLS * len(probing) + sum(r.calls for r in wasted if r.target is None)
    assert figures["runs"] == figures["runs_publishing"] + len(wasted)


def test_an_earlier_sync_time_trades_calls_for_lag(results):
    at_nine, early = (replay.figures(results[name]) for name in YEAR_LONG)
    assert early["lag_from_publication_min"]["median"] < at_nine["lag_from_publication_min"]["median"]
    assert early["runs_wasted"] > at_nine["runs_wasted"]


# -- passing failures (issue 22, points 2 and 3) ------------------------------------------------------


def test_a_hub_down_for_an_hour_from_start_up_is_retried_from_within_two_minutes_and_caught_up(results):
    result = results[replay.FAULTS.name]
    wake = dt.datetime.combine(dt.date(2024, 6, 14), replay.FAULTS.wake_at, tzinfo=replay.SHANGHAI)
    back = wake + replay.FAULTS.hub_down
    tries = result.start_ups
    assert [ok for _, ok in tries][-1] and not any(ok for _, ok in tries[:-1]), "read once the Hub is back"
    assert tries[1][0] - tries[0][0] <= dt.timedelta(minutes=2) + dt.timedelta(seconds=90), "first retry"
    gaps = [b[0] - a[0] for a, b in zip(tries, tries[1:])]
    assert all(gap <= RETRY_EVERY + dt.timedelta(minutes=2) for gap in gaps), gaps
    assert back <= tries[-1][0] <= back + RETRY_EVERY + dt.timedelta(minutes=2)
    slept = [r for r in result.days if r.slept]
    woke = next(r for r in result.days if r.day == wake.date())
    assert woke.committed.date() == woke.day and all(r.committed.date() == woke.day for r in slept)


def test_tushare_answering_minus_1000_for_20_minutes_at_21_costs_no_evening(results):
    result = results[replay.FAULTS.name]
    failed = [r for r in result.runs if r.error]
    assert failed and all(
        "-1000 系统内部错误 3 times" in r.error and r.retryable for r in failed if "Hub" not in r.error
    )
    start, length = replay.FAULTS.tushare_fault
    for record in result.days:
        if record.slept or record.day == dt.date(2024, 6, 14):
            continue  # the start-up day is the Hub test's
        cleared = dt.datetime.combine(record.day, start, tzinfo=replay.SHANGHAI) + length
        # committed by the first retry after the fault clears: backoff 1, 2, 4, 8, ... minutes
        assert cleared <= record.committed <= cleared + dt.timedelta(minutes=16), record
