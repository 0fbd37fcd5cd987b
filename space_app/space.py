"""The Space as one object: what the UI, the named API endpoints and /healthz all call.

Built from `Settings` and a clock; no Gradio here, so it is the same whether a button, a
gradio_client script or an uptime monitor asks.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from sync.core.config import Settings
from sync.core.errors import ConfigError
from sync.engine.run import RunRequest, run
from sync.targets import is_hub, open_repo

from space_app import admin, explore, logs, schedule_rules, status_json
from space_app.redact import for_target
from space_app.repo_view import RepoView
from space_app.run_slot import Clock, Runner, RunRecord
from space_app.scheduler import SyncScheduler

log = logging.getLogger(__name__)


class Space:
    def __init__(self, settings: Settings, clock: Clock):
        self.settings, self.clock = settings, clock
        self.is_hub = is_hub(settings.dataset_repo)
        self.redactor = for_target((settings.tushare_token, settings.hf_token, settings.admin_token), settings.dataset_repo)
        self.tail = logs.TailHandler(self.redactor)  # attached on start: constructing changes no global state
        self.view = RepoView(open_repo(settings.dataset_repo, hf_token=settings.hf_token), ttl=60.0 if self.is_hub else 3.0)
        self.runner = Runner(lambda request, on_progress: run(settings, request, clock(), on_progress), clock,
                             self.redactor, on_finish=self._after_run)
        self.scheduler = SyncScheduler(self.runner, self.view, settings, clock)
        self.limiter, self.cooldown = admin.FailureLimiter(), admin.Cooldown()
        # Per client, and a looser cap for everyone: a forwarded address can be forged.
        self.global_limiter = admin.FailureLimiter(limit=admin.MAX_FAILED_ATTEMPTS_ALL)
        self.source = "embedded synthetic market" if settings.embedded_source else "Tushare Pro"
        self.target = settings.dataset_repo if self.is_hub else "local folder"

    def start(self) -> None:
        logs.attach(self.tail)
        self.scheduler.start()

    def _after_run(self, record: RunRecord) -> None:
        self.scheduler.after_run(record)

    # -- status -----------------------------------------------------------------------------
    def status(self) -> dict:
        now = self.clock()
        facts = self.view.get()
        current, history = self.runner.snapshot()
        s = self.settings
        phase_elapsed = time.monotonic() - current.phase_mono if current else 0.0
        expected = schedule_rules.newest_expected_day(now, facts.open_days, s.sync_time, s.sync_tz) if facts.open_days else None
        nxt = status_json.next_run_for(now, facts, history, s.sync_time, s.sync_tz) if self.scheduler.automatic else None
        result = status_json.status_json(facts, current, history, now, nxt, expected, phase_elapsed, self.source, self.target)
        if result["repo_error"]:
            result["repo_error"] = self.redactor.text(result["repo_error"])
        return result

    def runs(self) -> pd.DataFrame:
        current, history = self.runner.snapshot()
        return status_json.runs_table(self.view.get(), history, current)

    def logs(self, lines: int = 200) -> str:
        return self.tail.tail(lines)

    # -- actions ----------------------------------------------------------------------------
    def full_sync_disabled(self) -> str | None:
        return admin.full_sync_disabled(self.is_hub, self.settings.admin_token)

    def sync_now(self) -> str:
        """Start a delta in the background, or say why not."""
        facts = self.view.get()
        if not facts.published:
            return "nothing published yet: run a full sync first (Admin → Full sync)"
        wait = self.cooldown.remaining(time.monotonic())
        if wait > 0:
            return f"Sync now was used moments ago; try again in {wait:.0f} s"
        started, message = self.runner.start(RunRequest("delta", "button"))
        if started:
            self.cooldown.mark(time.monotonic())
        return message

    def full_sync(self, start: str, end: str, markets: str, admin_token: str, client: str = "api") -> str:
        """Start a full sync in the background, or refuse and change nothing."""
        disabled = self.full_sync_disabled()
        if disabled:
            return f"refused: {disabled}"
        now = time.monotonic()
        wait = max(self.limiter.wait_seconds(client, now), self.global_limiter.wait_seconds("*", now))
        if wait > 0:
            return f"refused: too many wrong admin tokens; try again in {wait / 60:.0f} min"
        if not admin.token_matches(admin_token, self.settings.admin_token):
            self.limiter.record_failure(client, now)
            self.global_limiter.record_failure("*", now)
            log.warning("full sync refused: wrong admin token")
            return "refused: wrong admin token; nothing was started"
        try:
            chosen = admin.parse_full_input(start, end, markets)
        except ConfigError as error:
            return f"refused: {self.redactor.text(str(error))}; nothing was started"
        started, message = self.runner.start(RunRequest("full", "button", chosen.start, chosen.end, chosen.markets))
        return message

    # -- explore ----------------------------------------------------------------------------
    def stock_choices(self) -> list[tuple[str, str]]:
        return explore.stock_choices(self.view.get().stocks)

    def default_stock(self) -> str | None:
        return explore.default_stock(self.view.get().stocks)

    def default_range(self) -> tuple[str, str]:
        facts = self.view.get()
        return explore.default_range(facts.first_date, facts.watermark)

    def chart(self, code: str | None, start: str, end: str, mode: str):
        """(figure or None, rows table, message) for one stock."""
        facts = self.view.get()
        if not facts.published:
            return None, explore.table(pd.DataFrame()), "nothing published yet"
        if not code:
            return None, explore.table(pd.DataFrame()), "pick a stock (type a code or a name)"
        try:
            first = admin.parse_day(start, "start") or facts.first_date
            last = admin.parse_day(end, "end") or facts.watermark
        except ConfigError as error:
            return None, explore.table(pd.DataFrame()), str(error)
        frame = self.view.prices(facts, code, first, last)
        adjusted = explore.adjust(frame, mode, frame.attrs.get("latest_adj_factor"))
        if not len(adjusted):
            return None, explore.table(adjusted), f"no rows for {code} between {first} and {last}"
        name = adjusted["name"].iloc[-1]
        title = f"{code} {name} · {explore.ADJUSTMENTS.get(mode, mode)}"
        return explore.figure(adjusted, title), explore.table(frame), f"{len(adjusted)} trading days"


def client_id(request) -> str:
    """Who is asking, for the failed-token limiter: the first forwarded address on Spaces, else the peer."""
    if request is None:
        return "api"
    forwarded = (request.headers.get("x-forwarded-for") or "").split(",")[0].strip()
    host = getattr(getattr(request, "client", None), "host", None)
    return forwarded or host or "unknown"

