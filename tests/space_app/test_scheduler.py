"""The scheduler thread's wiring: its own `schedule.Scheduler`, the daily job, retries after a stopped run."""

import datetime as dt
import threading
import time

import schedule

from space_app.repo_view import Facts
from space_app.run_slot import RunRecord
from space_app.scheduler import SyncScheduler
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.engine.run import RunRequest
from sync.runs.result import RunResult

OPEN = (dt.date(2024, 9, 27), dt.date(2024, 9, 30), dt.date(2024, 10, 8))


class FakeView:
    def __init__(self, facts: Facts):
        self.facts = facts

    def get(self, force: bool = False) -> Facts:
        return self.facts


class FakeRunner:
    def __init__(self):
        self.requests = []
        self.history = []

    def start(self, request):
        self.requests.append(request)
        return True, "started"

    def snapshot(self):
        return None, self.history


def make(now: dt.datetime, facts: Facts, **settings):
    runner = FakeRunner()
    sched = SyncScheduler(runner, FakeView(facts), Settings(dataset_repo="/tmp/x", **settings), lambda: now)
    return sched, runner


class Mono:
    """Real elapsed seconds, moved by the test."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


class Clock:
    """The Space's clock, moved by the test (a pinned SYNC_NOW clock is a plain lambda)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def make_timed(clock, facts: Facts):
    runner, mono = FakeRunner(), Mono()
    now = clock if callable(clock) else (lambda: clock)
    sched = SyncScheduler(runner, FakeView(facts), Settings(dataset_repo="/tmp/x"), now, monotonic=mono)
    return sched, runner, mono


def failed(finished: dt.datetime, request: RunRequest | None = None, retryable: bool = True) -> RunRecord:
    return RunRecord(
        request or RunRequest("delta", "schedule"),
        finished,
        0.0,
        finished_at=finished,
        status="failed",
        message="the Hub kept answering HTTP 503",
        retryable=retryable,
    )


def finish(sched: SyncScheduler, runner: FakeRunner, record: RunRecord) -> None:
    """The runner's end of a run: its record joins the history, then the callback."""
    runner.requests.clear()
    runner.history.append(record)
    sched.after_run(record)


def run_until_started(sched, runner, mono, clock=None, step=None, done=None) -> float | None:
    """Tick every 5 s of real time (and of `clock`, when it moves) until something starts; the seconds waited."""
    step = step or sched.tick
    done = done or (lambda: bool(runner.requests))
    waited = 0.0
    while not done():
        if not sched.pending:
            return None
        mono.now += 5
        waited += 5
        if clock is not None:
            clock.now += dt.timedelta(seconds=5)
        step()
    return waited


def stopped(finished: dt.datetime) -> RunRecord:
    result = RunResult("delta", False, None, OPEN[0], OPEN[0], [], 0, 0, {}, stopped=(OPEN[1], "daily_basic 40%"))
    return RunRecord(
        RunRequest("delta", "schedule"), finished, 0.0, finished_at=finished, status="stopped", result=result
    )


def test_uses_its_own_scheduler_and_runs_the_daily_job_at_sync_time():
    now = dt.datetime(2024, 9, 30, 12, 0, tzinfo=SHANGHAI)
    sched, runner = make(now, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    sched.start()
    try:
        assert schedule.default_scheduler.jobs == []
        [job] = sched.scheduler.jobs
        assert job.at_time == dt.time(21, 0) and str(job.at_time_zone) == "Asia/Shanghai"
        assert runner.requests == []  # Friday is published; Monday's data is not due before 21:00
        sched.daily()
        assert runner.requests == [RunRequest("delta", "schedule")]
    finally:
        sched.stop()


def test_the_daily_job_skips_a_holiday():
    now = dt.datetime(2024, 10, 1, 21, 0, tzinfo=SHANGHAI)
    sched, runner = make(now, Facts(head="h", published=True, watermark=OPEN[1], open_days=OPEN))
    sched.daily()
    assert runner.requests == []


def test_a_stopped_run_is_retried_after_30_minutes_of_real_time():
    evening = dt.datetime(2024, 9, 30, 21, 5, tzinfo=SHANGHAI)
    sched, runner, mono = make_timed(evening, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    finish(sched, runner, stopped(evening))
    mono.now += 29 * 60
    sched.tick()
    assert runner.requests == []
    assert sched.next_run(evening, OPEN) == (evening + dt.timedelta(minutes=1), "retry")
    mono.now += 60
    sched.tick()
    assert runner.requests == [RunRequest("delta", "schedule")]


def test_a_late_stopped_run_is_not_retried_after_midnight():
    clock = Clock(dt.datetime(2024, 9, 30, 23, 50, tzinfo=SHANGHAI))
    sched, runner, mono = make_timed(clock, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    finish(sched, runner, stopped(clock.now))
    assert sched.next_run(clock.now, OPEN)[1] == "schedule"  # 00:20 is past the cut-off: not shown
    mono.now += 30 * 60
    clock.now += dt.timedelta(minutes=30)
    sched.tick()
    assert runner.requests == [] and sched.pending == {}


def test_a_passing_failure_is_retried_within_two_minutes_then_backs_off_to_thirty_until_midnight():
    clock = Clock(dt.datetime(2024, 9, 30, 21, 0, tzinfo=SHANGHAI))
    sched, runner, mono = make_timed(clock, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    starts = []
    finish(sched, runner, failed(clock.now))
    while run_until_started(sched, runner, mono, clock) is not None:
        starts.append(clock.now.strftime("%H:%M"))
        finish(sched, runner, failed(clock.now))  # every retry fails at once
    # 1, 2, 4, 8, 16 minutes, then every 30; the one due at 00:01 is dropped (the next daily run takes over)
    assert starts == ["21:01", "21:03", "21:07", "21:15", "21:31", "22:01", "22:31", "23:01", "23:31"]
    assert sched.pending == {} and clock.now.strftime("%H:%M") == "00:01"


def test_under_a_pinned_clock_retries_go_on_at_thirty_minutes():
    pinned = dt.datetime(2024, 9, 30, 23, 40, tzinfo=SHANGHAI)  # SYNC_NOW: the clock never moves
    sched, runner, mono = make_timed(pinned, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    waits = []
    finish(sched, runner, failed(pinned))
    for _ in range(10):
        waits.append(run_until_started(sched, runner, mono))
        finish(sched, runner, failed(pinned))
    assert [w / 60 for w in waits] == [1, 2, 4, 8, 16, 30, 30, 30, 30, 30]


def test_a_failed_admin_full_sync_is_retried_as_it_was_asked():
    now = dt.datetime(2024, 9, 30, 15, 0, tzinfo=SHANGHAI)
    sched, runner, mono = make_timed(now, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    asked = RunRequest("full", "button", dt.date(2024, 1, 2), None, ("主板",))
    finish(sched, runner, failed(now, asked))
    assert run_until_started(sched, runner, mono) == 60
    assert runner.requests == [asked]


def test_a_failure_that_does_not_pass_is_not_retried():
    now = dt.datetime(2024, 9, 30, 21, 0, tzinfo=SHANGHAI)
    sched, runner, mono = make_timed(now, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    finish(sched, runner, failed(now, retryable=False))
    assert sched.pending == {}


class FlakyView:
    """A repo that cannot be read `failures` times (a Hub outage), then can."""

    def __init__(self, facts: Facts, failures: int):
        self.facts, self.failures, self.reads = facts, failures, 0

    def get(self, force: bool = False) -> Facts:
        self.reads += 1
        if self.reads <= self.failures:
            return Facts(error="could not read the current commit: the Hub kept answering HTTP 503", error_passing=True)
        return self.facts


def test_a_start_up_that_cannot_read_the_repo_catches_up_as_soon_as_it_can():
    now = dt.datetime(2024, 9, 30, 22, 0, tzinfo=SHANGHAI)
    view = FlakyView(Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN), failures=3)
    sched, runner, mono = make_timed(now, view.facts)
    sched.view = view
    assert sched.start_up() is False and runner.requests == []
    assert sched.next_run(now, OPEN) == (now + dt.timedelta(minutes=1), "retry")
    waits = [run_until_started(sched, runner, mono, done=lambda n=n: view.reads > n) for n in (1, 2, 3)]
    assert waits == [60, 120, 240]
    assert runner.requests == [RunRequest("delta", "catch-up")] and sched.pending == {}


def test_a_resume_that_cannot_read_the_journal_is_tried_again_and_catch_up_waits_for_it():
    now = dt.datetime(2024, 9, 30, 22, 0, tzinfo=SHANGHAI)
    sched, runner, mono = make_timed(now, Facts(head="h", published=True, watermark=OPEN[1], open_days=OPEN))
    answers = [False, True]
    sched.resume = lambda: answers.pop(0)
    assert sched.start_up() is False and not sched.resumed and not sched.caught_up
    mono.now += 60
    sched.tick()
    assert sched.resumed and sched.caught_up and answers == [] and sched.pending == {}


def test_start_returns_at_once_while_the_start_up_read_hangs():
    now = dt.datetime(2024, 9, 30, 22, 0, tzinfo=SHANGHAI)
    release = threading.Event()

    class HangingView(FakeView):
        def get(self, force: bool = False) -> Facts:
            release.wait(10)
            return self.facts

    runner = FakeRunner()
    sched = SyncScheduler(
        runner,
        HangingView(Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN)),
        Settings(dataset_repo="/tmp/x"),
        lambda: now,
    )
    began = time.monotonic()
    sched.start()
    try:
        assert time.monotonic() - began < 1 and runner.requests == []
        release.set()
        sched.thread.join(0)  # the thread goes on to its loop; the catch-up is started from it
        deadline = time.monotonic() + 5
        while not runner.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runner.requests == [RunRequest("delta", "catch-up")]
    finally:
        sched.stop()


def test_on_start_the_demo_builds_itself_only_without_a_token():
    now = dt.datetime(2024, 9, 30, 12, 0, tzinfo=SHANGHAI)
    sched, runner = make(now, Facts())
    sched.catch_up()
    assert runner.requests == [RunRequest("full", "catch-up")]
    sched, runner = make(now, Facts(), tushare_token="real-token")
    sched.catch_up()
    assert runner.requests == []
    sched, runner = make(
        now, Facts(head="h", published=True, watermark=dt.date(2024, 9, 26), open_days=OPEN), tushare_token="real-token"
    )
    sched.catch_up()
    assert runner.requests == [RunRequest("delta", "catch-up")]
