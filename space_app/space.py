"""The Space as one object: what the UI, the named API endpoints and /healthz all call.

Built from `Settings` and a clock; no Gradio here, so it is the same whether a button, a
gradio_client script or an uptime monitor asks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pandas as pd

from space_app import admin, anonymous, explore, index_view, logs, schedule_rules, status_json, visibility
from space_app.redact import for_target
from space_app.repo_view import Facts, RepoView
from space_app.run_slot import Clock, Runner, RunRecord
from space_app.scheduler import SyncScheduler
from sync.core.config import Settings
from sync.core.errors import ConfigError
from sync.engine.retry import is_passing
from sync.engine.run import RunRequest, run
from sync.runs import failures
from sync.targets import hub_repo_id, is_hub, open_repo

log = logging.getLogger(__name__)


class Space:
    """`config_error` (see `admin.space_config_error`): the Space is misconfigured; it then shows
    the error in its status, schedules nothing, and every button and API call refuses with it.
    `admin_error` (a too short SYNC_ADMIN_TOKEN) only refuses the admin actions; the schedule runs on.
    `monotonic`: real elapsed seconds (injectable), for the "no run in the last 30 minutes" rule.
    `space_id`: SPACE_ID, whose visibility decides whether a private dataset's rows may be shown."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        config_error: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        space_id: str | None = None,
    ):
        self.settings, self.clock, self.config_error = settings, clock, config_error
        self.admin_error = admin.admin_token_error(settings.admin_token)
        self.monotonic = monotonic
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
            refresh=lambda: self.view.get(force=True),
        )
        self.scheduler = SyncScheduler(self.runner, self.view, settings, clock)
        self.rows_gate = visibility.RowsGate(
            hub_repo_id(settings.dataset_repo) if self.is_hub else None, space_id, settings.hf_token
        )
        self.source = "embedded synthetic market" if settings.embedded_source else "Tushare Pro"
        self.target = settings.dataset_repo if self.is_hub else "local folder"

    def start(self) -> None:
        logs.attach(self.tail)
        if self.config_error:
            log.error("%s", self.config_error)
            return
        self.scheduler.start(resume=self.resume_interrupted)  # in its thread: HTTP answers meanwhile

    def resume_interrupted(self) -> bool:
        """A full sync of this Space that a restart cut off (its mark in the run journal, see
        sync.runs.failures) is shown and started again with trigger `resume`; the resumed run
        records the interruption in meta/runs and reuses the checkpoints on the Hub. False when
        the journal could not be read for a reason that passes (the scheduler tries again)."""
        try:
            repo = open_repo(self.settings.dataset_repo, hf_token=self.settings.hf_token)
            marks = failures.interrupted(repo, strict=True)
        except Exception as error:  # noqa: BLE001 - a repo that cannot be read is shown by the status
            if is_passing(error):
                log.warning("could not read the run journal (%s); trying again later", self.redactor.text(str(error)))
                return False
            log.exception("could not read the run journal")
            return True
        marks = [m for m in marks if m.get("kind") == "full"]
        if not marks:
            return True
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
            return True
        started, message = self.runner.start(request)
        self.interrupted[-1]["resumed"] = started
        log.warning(
            "the full sync started %s (%s) was interrupted by a restart; %s",
            marks[-1].get("started_at"),
            marks[-1].get("trigger"),
            message,
        )
        return True

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
        nxt = self.scheduler.next_run(now, facts.open_days) if self.scheduler.automatic else None
        result = status_json.status_json(
            facts, current, history, now, nxt, expected, phase_elapsed, self.source, self.target
        )
        if result["repo_error"]:
            result["repo_error"] = self.redactor.text(result["repo_error"])
        if self.admin_error:  # shown until fixed: the admin actions stay refused, the schedule runs on
            result["last_error"] = _error_record(self.admin_error, result["now"])
            result["config_errors"] = [self.admin_error]
        return {**result, "config_error": None, "interrupted": status_json.interrupted_json(self.interrupted)}

    def _misconfigured_status(self) -> dict:
        """The status JSON of a misconfigured Space: no repo is read, the error is the last error."""
        current, history = self.runner.snapshot()
        result = status_json.status_json(
            Facts(), current, history, self.clock(), None, None, 0.0, self.source, self.target
        )
        error = _error_record(self.config_error, result["now"])
        return {**result, "last_error": error, "config_error": self.config_error, "interrupted": []}

    def runs(self) -> pd.DataFrame:
        current, history = self.runner.snapshot()
        return status_json.runs_table(Facts() if self.config_error else self.view.get(), history, current)

    def logs(self, lines: int = 200) -> str:
        return self.tail.tail(lines)

    # -- actions ----------------------------------------------------------------------------
    def full_sync_disabled(self) -> str | None:
        return (
            self.config_error
            or self.admin_error
            or admin.full_sync_disabled(
                self.is_hub, self.settings.admin_token, real_token=bool(self.settings.tushare_token)
            )
        )

    def migrate_disabled(self) -> str | None:
        return self.config_error or self.admin_error or admin.migrate_disabled(self.settings.admin_token)

    def sync_now(self, admin_token: str = "") -> str:
        """Start a delta in the background, or say why not.

        Anonymous (no admin token given, or none configured): a delta starts only when a trading
        day newer than the watermark may be published by the clock and no run of any kind started
        in the last 30 minutes; otherwise the answer comes from the status already held, with no
        Tushare call and no Hub request. With the right admin token a delta starts whenever the
        slot is free; a wrong one is refused (and answered late, see `admin.answered`)."""
        if self.config_error:
            return f"refused: {self.config_error}"
        if not (admin_token or "").strip() or not self.settings.admin_token:
            return self._anonymous_sync_now()
        refused = self._admin_refusal(self.admin_error, admin_token, "sync now")
        if refused:
            return refused
        if not self.view.get().published:
            return anonymous.NOTHING_PUBLISHED
        return self.runner.start(RunRequest("delta", "button"))[1]

    def _anonymous_sync_now(self) -> str:
        """The rules of `space_app.anonymous`: no Hub request (the repo as last read) and no Tushare call."""
        current, history = self.runner.snapshot()
        refused = anonymous.refusal(self.view.held(), current, history, self.clock(), self.monotonic())
        return refused or self.runner.start(RunRequest("delta", "button"))[1]

    def full_sync(self, start: str, end: str, markets: str, admin_token: str) -> str:
        """Start a full sync in the background, or refuse and change nothing."""
        refused = self._admin_refusal(self.full_sync_disabled(), admin_token, "full sync")
        if refused:
            return refused
        try:
            chosen = admin.parse_full_input(start, end, markets)
        except ConfigError as error:
            return f"refused: {self.redactor.text(str(error))}; nothing was started"
        started, message = self.runner.start(RunRequest("full", "button", chosen.start, chosen.end, chosen.markets))
        return message

    def migrate_legacy(self, admin_token: str) -> str:
        """Start `full --migrate-legacy` in the background (the old pipeline's all-prices.csv layout is
        replaced by this dataset's; the old head keeps tag legacy-csv), or refuse and change nothing."""
        refused = self._admin_refusal(self.migrate_disabled(), admin_token, "migration")
        if refused:
            return refused
        started, message = self.runner.start(RunRequest("full", "button", migrate_legacy=True))
        return message

    def _admin_refusal(self, disabled: str | None, admin_token: str, action: str) -> str | None:
        """Why an admin action is refused (disabled, a wrong token), or None. No lockout: a wrong
        token is slowed down by whoever answers it (`admin.answered`), never counted against others."""
        if disabled:
            return f"refused: {disabled}"
        if not admin.token_matches((admin_token or "").strip(), self.settings.admin_token):
            log.warning("%s refused: wrong admin token", action)
            return admin.WRONG_TOKEN
        return None

    # -- explore ----------------------------------------------------------------------------
    # A public Space never serves a private or gated dataset's rows (space_app.visibility).
    def rows_hidden(self) -> str | None:
        """Why no rows are shown (a private or gated dataset on a public Space), or None."""
        return self.rows_gate.refusal()

    def stock_choices(self) -> list[tuple[str, str]]:
        """Stocks, then the published indexes (charted like a stock)."""
        if self.rows_gate.refusal():
            return []
        facts = self.view.get()
        return explore.stock_choices(facts.stocks) + index_view.choices(facts.index_prices)

    def overlay_choices(self) -> tuple[list[tuple[str, str]], str]:
        """(choices, default) of the index overlaid on a stock's chart; "" means none."""
        prices = self.view.get().index_prices
        return [("—", index_view.NO_OVERLAY), *index_view.choices(prices)], index_view.default_overlay(prices)

    def default_stock(self) -> str | None:
        return None if self.rows_gate.refusal() else explore.default_stock(self.view.get().stocks)

    def default_range(self) -> tuple[str, str]:
        facts = self.view.get()
        return explore.default_range(facts.first_date, facts.watermark)

    def chart(self, code: str | None, start: str, end: str, mode: str, overlay: str | None = None):
        """(figure or None, rows table, message) for one stock or index; `overlay`: an index code
        drawn over a stock's chart as % change ("": none; None: not chosen yet, the default one)."""
        hidden = self.rows_gate.refusal()
        if hidden:
            return None, explore.table(pd.DataFrame()), hidden
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


def _error_record(message: str, now: str) -> dict:
    """A configuration error shown as the status JSON's `last_error`."""
    return {
        "kind": None,
        "trigger": None,
        "status": "failed",
        "started_at": None,
        "finished_at": now,
        "message": message,
    }
