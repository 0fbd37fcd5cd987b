"""The background scheduler: a thin thread over its own `schedule.Scheduler`, deciding nothing itself.

Jobs: the daily delta at SYNC_TIME in SYNC_TZ (skipped on non-trading days); on start, off the
app's main thread, the resume of an interrupted full sync and the catch-up; and retries. A run
that stopped before an unpublished day is retried every 30 minutes; a run that failed on
something that passes by itself, and a start-up that could not read the repo, after 1 minute,
then 2, 4, 8, 16 and every 30 minutes; all until midnight Asia/Shanghai by the clock (see
`schedule_rules`). Retry delays are real elapsed time (the injected `monotonic`), also when
SYNC_NOW pins the clock. A job that cannot start (another run is going) says so in the log; a
failed run is kept by the runner as the last error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Literal

import schedule

from space_app import schedule_rules
from space_app.repo_view import RepoView
from space_app.run_slot import Clock, Runner, RunRecord
from space_app.status_json import outcome_of
from sync.core.config import Settings
from sync.engine.run import RunRequest
from sync.targets import is_hub

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0
Chain = Literal["start-up", "run"]  # what a pending retry repeats


@dataclasses.dataclass(frozen=True)
class Pending:
    """A retry waiting for its time: `due` in monotonic seconds; dropped once the clock reaches `cutoff`."""

    due: float
    cutoff: dt.datetime
    failures: int
    request: RunRequest | None = None  # the run to start again (None for the start-up)


class SyncScheduler:
    def __init__(
        self,
        runner: Runner,
        view: RepoView,
        settings: Settings,
        clock: Clock,
        monotonic: Callable[[], float] | None = None,
    ):
        self.runner, self.view, self.settings, self.clock = runner, view, settings, clock
        self.monotonic = monotonic or time.monotonic  # real elapsed time, whatever SYNC_NOW says
        self.scheduler = schedule.Scheduler()  # our own instance: nothing else can add or clear jobs
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.pending: dict[Chain, Pending] = {}
        self.resume: Callable[[], bool] = lambda: True
        self.resumed = self.caught_up = False  # start-up steps done
        self.startup_failures = 0

    @property
    def automatic(self) -> bool:
        """False for the synthetic market publishing to the Hub: never push demo data there unasked."""
        return not (self.settings.embedded_source and is_hub(self.settings.dataset_repo))

    def start(self, resume: Callable[[], bool] | None = None) -> None:
        """Schedule the daily run and start the thread, which first resumes (`resume()`: False when the
        repo could not be read, so it is tried again) and catches up. Returns at once: the app's HTTP
        answers while the start-up reads a slow or failing Hub."""
        self.resume = resume or self.resume
        if self.automatic:
            self.scheduler.every().day.at(self.settings.sync_time, self.settings.sync_tz).do(self.daily)
        else:
            log.warning("no TUSHARE_TOKEN while publishing to the Hub: no automatic syncs; set the secret and restart")
        self.thread = threading.Thread(target=self._main, name="sync-scheduler", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.scheduler.clear()

    def _main(self) -> None:
        self._guarded(self.start_up)
        while not self.stop_event.wait(TICK_SECONDS):
            self._guarded(self.tick)

    @staticmethod
    def _guarded(job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:  # a job raised before reaching the runner: log it, keep scheduling
            log.exception("scheduler job failed")

    # -- start-up ---------------------------------------------------------------------------
    def start_up(self) -> bool:
        """Resume an interrupted full sync, then catch up; a step that could not read the repo is
        retried later (steps already done are not repeated). True when both are done."""
        if not self.resumed:
            self.resumed = self.resume()
        if self.resumed and self.automatic and not self.caught_up:
            self.caught_up = self.catch_up()
        done = self.resumed and (self.caught_up or not self.automatic)
        if done:
            self.startup_failures = 0
        else:
            self.startup_failures += 1
            self._plan("start-up", schedule_rules.backoff(self.startup_failures), self.clock(), self.startup_failures)
        return done

    def catch_up(self) -> bool:
        """On start: the demo build, a catch-up delta, or nothing (see schedule_rules.startup_action).
        False when the repo could not be read for a reason that passes (it is tried again)."""
        facts = self.view.get(force=True)
        if facts.error:
            if facts.error_passing:
                log.warning("catching up later: the published repo could not be read (%s)", facts.error)
                return False
            log.error("not catching up: the published repo could not be read (%s)", facts.error)
            return True
        action = schedule_rules.startup_action(
            self.clock(),
            facts.open_days,
            facts.watermark,
            facts.published,
            self.settings.embedded_source,
            self.settings.sync_time,
            self.settings.sync_tz,
        )
        if action is None:
            if not facts.published:
                log.info("nothing published yet: start a full sync from the Admin tab")
            return True
        log.info("on start: %s", "building the demo dataset" if action == "full" else "catching up")
        started, message = self.runner.start(RunRequest(action, "catch-up"))
        if not started:
            log.warning("catch-up %s", message)
        return True

    # -- the daily run and retries ----------------------------------------------------------
    def daily(self) -> None:
        now = self.clock()
        facts = self.view.get()
        day = now.astimezone(zoneinfo.ZoneInfo(self.settings.sync_tz)).date()
        if not schedule_rules.is_trading_day(day, facts.open_days):
            log.info("daily run skipped: %s is not a trading day", day.isoformat())
            return
        self._start(RunRequest("delta", "schedule"), "daily run")

    def after_run(self, record: RunRecord) -> None:
        """Runner callback: retry a stopped run every 30 minutes, a passing failure with backoff."""
        with self.lock:
            self.pending.pop("run", None)
        if not self.automatic:
            return
        outcome = outcome_of(self.runner.snapshot()[1])
        delay = schedule_rules.retry_delay(outcome)
        if delay is None or outcome is None:
            return
        again = record.request if record.request.kind == "full" else RunRequest("delta", "schedule")
        self._plan("run", delay, record.started_at, outcome.failures, again)

    def tick(self) -> None:
        """One turn of the thread: the daily job when due, then any retry whose time has come."""
        self.scheduler.run_pending()
        now_mono = self.monotonic()
        with self.lock:
            due = {chain: p for chain, p in self.pending.items() if p.due <= now_mono}
            for chain in due:
                del self.pending[chain]
        for chain, pending in due.items():
            if self.clock() >= pending.cutoff:
                log.info("not retrying the %s: past midnight Asia/Shanghai; the next daily run takes over", chain)
            elif chain == "start-up":
                self.start_up()
            elif pending.request is not None:
                self._start(pending.request, "retry")

    def next_run(self, now: dt.datetime, open_days: Sequence[dt.date]) -> tuple[dt.datetime, str]:
        """The next run this scheduler will start and its trigger: the soonest pending retry, or the daily run."""
        daily = schedule_rules.next_scheduled_run(now, open_days, self.settings.sync_time, self.settings.sync_tz)
        now_mono = self.monotonic()
        with self.lock:
            retries = [
                (now + dt.timedelta(seconds=max(0.0, p.due - now_mono)), p.cutoff) for p in self.pending.values()
            ]
        soonest = min((at for at, cutoff in retries if at < cutoff), default=None)
        return (soonest, "retry") if soonest is not None and soonest < daily else (daily, "schedule")

    def _plan(
        self, chain: Chain, delay: dt.timedelta, since: dt.datetime, failures: int, request: RunRequest | None = None
    ) -> None:
        cutoff = schedule_rules.retry_cutoff(since)
        with self.lock:
            self.pending[chain] = Pending(self.monotonic() + delay.total_seconds(), cutoff, failures, request)
        what = "the start-up" if request is None else request.describe()
        log.info("will retry %s in %s (until %s)", what, _minutes(delay), cutoff.isoformat(timespec="minutes"))

    def _start(self, request: RunRequest, why: str) -> None:
        started, message = self.runner.start(request)
        if not started:
            log.warning("%s %s", why, message)


def _minutes(delay: dt.timedelta) -> str:
    minutes = delay.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{delay.total_seconds():.0f} s"
