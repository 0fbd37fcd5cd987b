"""The Space as one object: what the UI, the named API endpoints and /healthz all call.

Built from `Settings` and a clock; no Gradio here, so it is the same whether a button, a
gradio_client script or an uptime monitor asks.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from space_app import admin, explore, index_view, logs, schedule_rules, status_json
from space_app.redact import for_target
from space_app.repo_view import Facts, RepoView
from space_app.run_slot import Clock, Runner, RunRecord
from space_app.scheduler import SyncScheduler
from sync.core.config import Settings
from sync.core.errors import ConfigError
from sync.engine.run import RunRequest, run
from sync.runs import failures
from sync.targets import is_hub, open_repo

log = logging.getLogger(__name__)


class Space:
    """`config_error` (see `admin.space_config_error`): the Space is misconfigured; it then shows
    the error in its status, schedules nothing, and every button and API call refuses with it."""

    def __init__(self, settings: Settings, clock: Clock, config_error: str | None = None):
        self.settings, self.clock, self.config_error = settings, clock, config_error
        self.interrupted: list[dict] = []  # full syncs a restart cut off, found on start (shown, resumed)
        self.is_hub = is_hub(settings.dataset_repo)
        self.redactor = for_target(
            (settings.tushare_token, settings.hf_token, settings.admin_token), settings.dataset_repo
        )
        self.tail = logs.TailHandler(self.redactor)  # attached on start: constructing changes no global state
        self.view = RepoView(
            open_repo(settings.dataset_repo, hf_token=settings.hf_token), ttl=60.0 if self.is_hub else 3.0
        )
        self.runner = Runner(
            lambda request, on_progress: run(settings, request, clock(), on_progress),
            clock,
            self.redactor,
            on_finish=self._after_run,
        )
        self.scheduler = SyncScheduler(self.runner, self.view, settings, clock)
        self.limiter, self.cooldown = admin.FailureLimiter(), admin.Cooldown()
        # Per client, and a looser cap for everyone: a forwarded address can be forged.
        self.global_limiter = admin.FailureLimiter(limit=admin.MAX_FAILED_ATTEMPTS_ALL)
        self.source = "embedded synthetic market" if settings.embedded_source else "Tushare Pro"
        self.target = settings.dataset_repo if self.is_hub else "local folder"

    def start(self) -> None:
        logs.attach(self.tail)
        if self.config_error:
            log.error("%s", self.config_error)
            return
        self.resume_interrupted()
        self.scheduler.start()

    def resume_interrupted(self) -> None:
        """A full sync of this Space that a restart cut off (its mark in the run journal, see
        sync.runs.failures) is shown and started again with trigger `resume`; the resumed run
        records the interruption in meta/runs and reuses the checkpoints on the Hub."""
        try:
            marks = failures.interrupted(open_repo(self.settings.dataset_repo, hf_token=self.settings.hf_token))
        except Exception:  # noqa: BLE001 - a repo that cannot be read is shown by the status; the start goes on
            log.exception("could not read the run journal")
            return
        marks = [m for m in marks if m.get("kind") == "full"]
        if not marks:
            return
        self.interrupted = [
            {
                "run_id": m.get("run_id"),
                "kind": "full",
                "trigger": m.get("trigger"),
                "started_at": m.get("started_at"),
                "resumed": False,
            }
            for m in marks
        ]
        try:
            request = resume_request(marks[-1])
        except ConfigError as error:
            log.error("not resuming the interrupted full sync: %s", error)
            return
        started, message = self.runner.start(request)
        self.interrupted[-1]["resumed"] = started
        log.warning(
            "the full sync started %s (%s) was interrupted by a restart; %s",
            marks[-1].get("started_at"),
            marks[-1].get("trigger"),
            message,
        )

    def _after_run(self, record: RunRecord) -> None:
        self.scheduler.after_run(record)

    # -- status -----------------------------------------------------------------------------
    def status(self) -> dict:
        if self.config_error:
            return self._misconfigured_status()
        now = self.clock()
        facts = self.view.get()
        current, history = self.runner.snapshot()
        s = self.settings
        phase_elapsed = time.monotonic() - current.phase_mono if current else 0.0
        expected = (
            schedule_rules.newest_expected_day(now, facts.open_days, s.sync_time, s.sync_tz)
            if facts.open_days
            else None
        )
        nxt = (
            status_json.next_run_for(now, facts, history, s.sync_time, s.sync_tz) if self.scheduler.automatic else None
        )
        result = status_json.status_json(
            facts, current, history, now, nxt, expected, phase_elapsed, self.source, self.target
        )
        if result["repo_error"]:
            result["repo_error"] = self.redactor.text(result["repo_error"])
        return {**result, "config_error": None, "interrupted": list(self.interrupted)}

    def _misconfigured_status(self) -> dict:
        """The status JSON of a misconfigured Space: no repo is read, the error is the last error."""
        current, history = self.runner.snapshot()
        result = status_json.status_json(
            Facts(), current, history, self.clock(), None, None, 0.0, self.source, self.target
        )
        error = {
            "kind": None,
            "trigger": None,
            "status": "failed",
            "started_at": None,
            "finished_at": result["now"],
            "message": self.config_error,
        }
        return {**result, "last_error": error, "config_error": self.config_error, "interrupted": []}

    def runs(self) -> pd.DataFrame:
        current, history = self.runner.snapshot()
        return status_json.runs_table(Facts() if self.config_error else self.view.get(), history, current)

    def logs(self, lines: int = 200) -> str:
        return self.tail.tail(lines)

    # -- actions ----------------------------------------------------------------------------
    def full_sync_disabled(self) -> str | None:
        return self.config_error or admin.full_sync_disabled(
            self.is_hub, self.settings.admin_token, real_token=bool(self.settings.tushare_token)
        )

    def migrate_disabled(self) -> str | None:
        if self.config_error:
            return self.config_error
        return admin.migrate_disabled(self.settings.admin_token)

    def sync_now(self) -> str:
        """Start a delta in the background, or say why not."""
        if self.config_error:
            return f"refused: {self.config_error}"
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
        refused = self._admin_refusal(self.full_sync_disabled(), admin_token, client, "full sync")
        if refused:
            return refused
        try:
            chosen = admin.parse_full_input(start, end, markets)
        except ConfigError as error:
            return f"refused: {self.redactor.text(str(error))}; nothing was started"
        started, message = self.runner.start(RunRequest("full", "button", chosen.start, chosen.end, chosen.markets))
        return message

    def migrate_legacy(self, admin_token: str, client: str = "api") -> str:
        """Start `full --migrate-legacy` in the background (the old pipeline's all-prices.csv layout is
        replaced by this dataset's; the old head keeps tag legacy-csv), or refuse and change nothing."""
        refused = self._admin_refusal(self.migrate_disabled(), admin_token, client, "migration")
        if refused:
            return refused
        started, message = self.runner.start(RunRequest("full", "button", migrate_legacy=True))
        return message

    def _admin_refusal(self, disabled: str | None, admin_token: str, client: str, action: str) -> str | None:
        """Why an admin action is refused (disabled, too many wrong tokens, a wrong token), or None."""
        if disabled:
            return f"refused: {disabled}"
        now = time.monotonic()
        wait = max(self.limiter.wait_seconds(client, now), self.global_limiter.wait_seconds("*", now))
        if wait > 0:
            return f"refused: too many wrong admin tokens; try again in {wait / 60:.0f} min"
        if not admin.token_matches(admin_token, self.settings.admin_token):
            self.limiter.record_failure(client, now)
            self.global_limiter.record_failure("*", now)
            log.warning("%s refused: wrong admin token", action)
            return "refused: wrong admin token; nothing was started"
        return None

    # -- explore ----------------------------------------------------------------------------
    def stock_choices(self) -> list[tuple[str, str]]:
        """Stocks, then the published indexes (charted like a stock)."""
        facts = self.view.get()
        return explore.stock_choices(facts.stocks) + index_view.choices(facts.index_prices)

    def overlay_choices(self) -> tuple[list[tuple[str, str]], str]:
        """(choices, default) of the index overlaid on a stock's chart; "" means none."""
        prices = self.view.get().index_prices
        return [("—", index_view.NO_OVERLAY), *index_view.choices(prices)], index_view.default_overlay(prices)

    def default_stock(self) -> str | None:
        return explore.default_stock(self.view.get().stocks)

    def default_range(self) -> tuple[str, str]:
        facts = self.view.get()
        return explore.default_range(facts.first_date, facts.watermark)

    def chart(self, code: str | None, start: str, end: str, mode: str, overlay: str | None = None):
        """(figure or None, rows table, message) for one stock or index; `overlay`: an index code
        drawn over a stock's chart as % change ("": none; None: not chosen yet, the default one)."""
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
        if index_view.is_index(facts.index_prices, code):
            assert facts.index_prices is not None
            frame = index_view.rows(facts.index_prices, code, first, last)
            if not len(frame):
                return None, explore.table(frame), f"no rows for {code} between {first} and {last}"
            figure = explore.figure(frame, f"{code} {frame['name'].iloc[-1]}")
            figure.update_yaxes(title_text="points", row=1, col=1)
            return figure, explore.table(frame), f"{len(frame)} trading days"
        frame = self.view.prices(facts, code, first, last)
        adjusted = explore.adjust(frame, mode, frame.attrs.get("latest_adj_factor"))
        if not len(adjusted):
            return None, explore.table(adjusted), f"no rows for {code} between {first} and {last}"
        name = adjusted["name"].iloc[-1]
        title = f"{code} {name} · {explore.ADJUSTMENTS.get(mode, mode)}"
        figure = explore.figure(adjusted, title)
        if overlay is None:
            overlay = index_view.default_overlay(facts.index_prices)
        if overlay and index_view.is_index(facts.index_prices, overlay):
            assert facts.index_prices is not None
            index = index_view.rows(facts.index_prices, overlay, first, last)
            figure = index_view.overlay(figure, adjusted, index, code, overlay)
        return figure, explore.table(frame), f"{len(adjusted)} trading days"


def resume_request(mark: dict) -> RunRequest:
    """The full sync a run-journal mark describes, to start again with trigger `resume`."""
    given = mark.get("resume") or {}
    chosen = admin.parse_full_input(
        given.get("start") or "", given.get("end") or "", ",".join(given.get("markets") or [])
    )
    return RunRequest(
        "full", "resume", chosen.start, chosen.end, chosen.markets, migrate_legacy=bool(given.get("migrate_legacy"))
    )


def client_id(request) -> str:
    """Who is asking, for the failed-token limiter: the first forwarded address on Spaces, else the peer."""
    if request is None:
        return "api"
    forwarded = (request.headers.get("x-forwarded-for") or "").split(",")[0].strip()
    host = getattr(getattr(request, "client", None), "host", None)
    return forwarded or host or "unknown"
