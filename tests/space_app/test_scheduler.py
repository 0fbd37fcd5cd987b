"""The scheduler thread's wiring: its own `schedule.Scheduler`, the daily job, retries after a stopped run."""

import datetime as dt

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


def test_a_stopped_run_schedules_retries_and_a_late_one_does_not():
    evening = dt.datetime(2024, 9, 30, 21, 5, tzinfo=SHANGHAI)
    sched, runner = make(evening, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    sched.after_run(stopped(evening))
    [retry] = sched.scheduler.get_jobs("retry")
    assert retry.interval == 30 and retry.unit == "minutes"
    runner.history = [stopped(evening)]
    sched.retry()
    assert runner.requests == [RunRequest("delta", "schedule")]

    late = dt.datetime(2024, 9, 30, 23, 50, tzinfo=SHANGHAI)
    sched, runner = make(late, Facts(head="h", published=True, watermark=OPEN[0], open_days=OPEN))
    sched.after_run(stopped(late))
    assert sched.scheduler.get_jobs("retry") == []


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
