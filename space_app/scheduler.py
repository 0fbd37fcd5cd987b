"""The background scheduler: a thin thread over its own `schedule.Scheduler`, deciding nothing itself.

Jobs: the daily delta at SYNC_TIME in SYNC_TZ (skipped on non-trading days) and, after a run that
stopped before an unpublished day, a retry every 30 minutes until midnight Asia/Shanghai. Which
day is a trading day, whether to catch up on start and whether to retry are answered by
`schedule_rules` from the injected clock. A job that cannot start (another run is going) says so
in the log; a failed run is kept by the runner as the last error.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zoneinfo

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


class SyncScheduler:
    def __init__(self, runner: Runner, view: RepoView, settings: Settings, clock: Clock):
        self.runner, self.view, self.settings, self.clock = runner, view, settings, clock
        self.scheduler = schedule.Scheduler()  # our own instance: nothing else can add or clear jobs
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def automatic(self) -> bool:
        """False for the synthetic market publishing to the Hub: never push demo data there unasked."""
        return not (self.settings.embedded_source and is_hub(self.settings.dataset_repo))

    def start(self) -> None:
        if not self.automatic:
            log.warning("no TUSHARE_TOKEN while publishing to the Hub: no automatic syncs; set the secret and restart")
            return
        self.scheduler.every().day.at(self.settings.sync_time, self.settings.sync_tz).do(self.daily)
        self.thread = threading.Thread(target=self._loop, name="sync-scheduler", daemon=True)
        self.thread.start()
        self.catch_up()

    def stop(self) -> None:
        self.stop_event.set()
        self.scheduler.clear()

    def _loop(self) -> None:
        while not self.stop_event.wait(TICK_SECONDS):
            try:
                self.scheduler.run_pending()
            except Exception:  # a job raised before reaching the runner: log it, keep scheduling
                log.exception("scheduler job failed")

    def catch_up(self) -> None:
        """On start: the demo build, a catch-up delta, or nothing (see schedule_rules.startup_action)."""
        facts = self.view.get(force=True)
        if facts.error:
            log.error("not catching up: the published repo could not be read (%s)", facts.error)
            return
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
            return
        log.info("on start: %s", "building the demo dataset" if action == "full" else "catching up")
        started, message = self.runner.start(RunRequest(action, "catch-up"))
        if not started:
            log.warning("catch-up %s", message)

    def daily(self) -> None:
        now = self.clock()
        facts = self.view.get()
        day = now.astimezone(zoneinfo.ZoneInfo(self.settings.sync_tz)).date()
        if not schedule_rules.is_trading_day(day, facts.open_days):
            log.info("daily run skipped: %s is not a trading day", day.isoformat())
            return
        self._start_delta("daily run")

    def after_run(self, record: RunRecord) -> None:
        """Runner callback: after a stopped (or retryable) run, retry every 30 minutes until midnight."""
        self.view.get(force=True)
        self.scheduler.clear("retry")
        if not self.automatic:
            return
        outcome = outcome_of([record])
        if not schedule_rules.wants_retry(outcome):
            return
        cutoff = schedule_rules.retry_cutoff(record.finished_at)
        if schedule_rules.next_retry(self.clock(), outcome) is None:
            log.info("not retrying: past midnight Asia/Shanghai; the next daily run takes over")
            return
        until = _machine_local(cutoff, self.clock(), dt.datetime.now().astimezone())
        every = int(schedule_rules.RETRY_EVERY.total_seconds() // 60)
        self.scheduler.every(every).minutes.until(until).do(self.retry).tag("retry")
        log.info("will retry every %d minutes until %s", every, cutoff.isoformat(timespec="minutes"))

    def retry(self):
        outcome = outcome_of(self.runner.snapshot()[1])
        if schedule_rules.next_retry(self.clock(), outcome) is None:
            return schedule.CancelJob
        self._start_delta("retry")
        return None

    def _start_delta(self, why: str) -> None:
        started, message = self.runner.start(RunRequest("delta", "schedule"))
        if not started:
            log.warning("%s %s", why, message)


def _machine_local(moment: dt.datetime, clock_now: dt.datetime, machine_now: dt.datetime) -> dt.datetime:
    """`moment` on the machine's naive local clock, which `schedule` uses; shifted when SYNC_NOW pins the app's clock."""
    return (machine_now + (moment - clock_now)).replace(tzinfo=None)
