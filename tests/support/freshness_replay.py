"""Freshness replay: 2024's trading evenings through the Space's real scheduling rules and the real delta.

An event-driven loop with an injected clock: ask `space_app.schedule_rules.next_run` when the
Space runs next, jump the clock there, run `sync.engine.delta.run_delta` against our Tushare-compatible
server (its clock set to the same instant) publishing to a local folder, and feed the outcome back
as the `Outcome` the Space's runner would record. A woken Space asks `startup_action`, as
`SyncScheduler.catch_up` does. Only the clock is simulated: the market, the HTTP server, the client,
the delta and the commit are the product's own.

Each trading day's publication times are drawn (seeded) from the documented windows in
`sync.tushare.apis` (daily 15:00-17:00, daily_basic 15:00-19:00 and never before that day's daily),
with a few late days (daily_basic after 21:00) and one day whose data appears only the next
morning. stk_limit, adj_factor and suspend_d keep their documented pre-open times.

Per trading day it records when daily_basic appeared, when a commit made the day visible (the
injected clock at the end of that run), how many runs tried it, and the API calls of the runs that
found it not yet published (counted at the server). Used by tests/reliability/test_freshness.py;
`python -m tests.support.freshness_replay` prints the figures.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import logging
import multiprocessing
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dataset_script.schema import DAYS_PATH
from space_app import schedule_rules
from space_app.repo_view import Facts, RepoView
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.core.errors import SyncError
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.calendar import sse_sessions
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.tushare.apis import APIS
from tests.support.serving import served

log = logging.getLogger(__name__)

MARKET = MarketSpec(dt.date(2023, 11, 1), dt.date(2024, 12, 31), n_stocks=40, seed=2024)
SEED = 20240101
LATE_DAYS = 4  # daily_basic after 21:00 ...
LATE_WINDOW = (dt.time(21, 5), dt.time(23, 30))  # ... within the evening's retry window
MORNING_WINDOW = (dt.time(8, 0), dt.time(9, 0))  # the next-morning day's daily and daily_basic


# --- publication times ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Publication:
    """Drawn publication times per (interface, trading day); a `TushareServer` publication schedule."""

    times: dict[tuple[str, dt.date], dt.datetime]
    late: tuple[dt.date, ...]
    next_morning: dt.date

    def __call__(self, api: str, day: dt.date) -> dt.datetime | None:
        return self.times.get((api, day))

    def ready(self, day: dt.date) -> dt.datetime:
        """When the last of the day's interfaces appeared (daily_basic: never before daily)."""
        return max(self.times[("daily", day)], self.times[("daily_basic", day)])


def _in(rng: np.random.Generator, day: dt.date, window: tuple[dt.time, dt.time]) -> dt.datetime:
    """A whole minute drawn uniformly in `window` on `day`, Shanghai time."""
    start, end = (dt.datetime.combine(day, t, tzinfo=SHANGHAI) for t in window)
    return start + dt.timedelta(minutes=int(rng.integers(0, (end - start) // dt.timedelta(minutes=1) + 1)))


def draw_publication(
    days: Sequence[dt.date], seed: int = SEED, late: int = LATE_DAYS, within: tuple[dt.date, dt.date] | None = None
) -> Publication:
    """Seeded times: daily and daily_basic in their documented windows, `late` days with daily_basic
    after 21:00, and one day (followed by a trading day) published only the next morning; the late
    and next-morning days fall `within` (first, last), by default anywhere in `days`."""
    rng = np.random.default_rng(seed)
    daily_window, basic_window = APIS["daily"].published_window, APIS["daily_basic"].published_window
    times = {}
    for day in days:
        times[("daily", day)] = _in(rng, day, daily_window)
        times[("daily_basic", day)] = max(times[("daily", day)], _in(rng, day, basic_window))
    first, last = within or (days[0], days[-1])
    followed = [d for d, nxt in zip(days, days[1:]) if nxt - d == dt.timedelta(days=1) and first <= d <= last]
    morning = followed[int(rng.integers(len(followed) // 4, 3 * len(followed) // 4))]
    nxt = morning + dt.timedelta(days=1)
    times[("daily", morning)] = _in(rng, nxt, MORNING_WINDOW)
    times[("daily_basic", morning)] = max(times[("daily", morning)], _in(rng, nxt, MORNING_WINDOW))
    others = [d for d in days if abs((d - morning).days) > 3 and first <= d <= last]
    chosen = sorted(others[int(i)] for i in rng.choice(len(others), size=late, replace=False))
    for day in chosen:
        times[("daily_basic", day)] = _in(rng, day, LATE_WINDOW)
    return Publication(times, tuple(chosen), morning)


# --- the clock and the runs -------------------------------------------------------------------


class ReplayClock:
    """Now: the instant the replay jumped to, plus the real time elapsed since (a run takes its real time)."""

    def __init__(self, at: dt.datetime) -> None:
        self.jump(at)

    def jump(self, at: dt.datetime) -> None:
        self._at, self._since = at, time.monotonic()

    def __call__(self) -> dt.datetime:
        return self._at + dt.timedelta(seconds=time.monotonic() - self._since)


@dataclasses.dataclass(frozen=True)
class Run:
    trigger: str  # "schedule", "retry" or "catch-up"
    started: dt.datetime
    finished: dt.datetime
    watermark_before: dt.date
    watermark: dt.date
    target: dt.date | None  # the first trading day after the watermark it set out to publish
    stopped: dt.date | None  # the day it held back
    calls: int  # API calls it made, counted at the server
    error: str | None = None

    @property
    def published_new(self) -> bool:
        return self.watermark > self.watermark_before


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    sync_time: str
    first: dt.date  # first trading day replayed (the repo is synced up to the one before)
    last: dt.date  # last trading day replayed (its evening is replayed to midnight)
    asleep: tuple[dt.date, dt.date] | None = None  # first and last trading day the Space sleeps through
    wake_at: dt.time = dt.time(10, 0)  # the visit, on the trading day after `asleep`


@dataclasses.dataclass
class DayRecord:
    day: dt.date
    published: dt.datetime  # daily_basic (the day's last interface)
    scheduled: dt.datetime  # the day's daily run time
    committed: dt.datetime | None = None
    attempts: int = 0
    wasted_calls: int = 0
    slept: bool = False

    @property
    def lag(self) -> dt.timedelta | None:
        """From daily_basic's publication to the commit that made the day visible."""
        return None if self.committed is None else self.committed - self.published

    @property
    def lag_in_window(self) -> dt.timedelta | None:
        """From max(publication, the day's run time) to the commit: the scheduler's responsiveness."""
        return None if self.committed is None else self.committed - max(self.published, self.scheduled)


@dataclasses.dataclass
class Replay:
    scenario: Scenario
    days: list[DayRecord]
    runs: list[Run]
    publication: Publication
    seconds: float  # wall time of the replay
    published_days: list[dt.date]  # meta/days.parquet at the end
    problems: list[str]  # `sync verify` at the end


def replay(scenario: Scenario, market: SyntheticMarket, publication: Publication, scratch: Path) -> Replay:
    """Run `scenario`: a full sync up to the day before `first`, then every evening to `last`."""
    started_wall = time.monotonic()
    settings = Settings(markets=("主板",), sync_time=scenario.sync_time, tushare_token="replay")
    sessions = [d.item() for d in sse_sessions(scenario.last.year + 1)]
    base = sessions[sessions.index(scenario.first) - 1]
    clock = ReplayClock(dt.datetime.combine(base, dt.time(23, 0), tzinfo=SHANGHAI))
    end = dt.datetime.combine(scenario.last + dt.timedelta(days=1), dt.time(0, 0), tzinfo=SHANGHAI)
    repo = open_repo(str(scratch / scenario.name))
    view = RepoView(repo, ttl=0)
    with served(market, clock(), publication=publication) as (server, source):
        server.set_clock(clock)
        run_full(repo, source, settings, clock(), end=base)

        def attempt(trigger: str, facts: Facts) -> tuple[Run, schedule_rules.Outcome]:
            before, calls_before, now = facts.watermark, sum(server.calls.values()), clock()
            target = next((d for d in facts.open_days if d > before), None)
            try:
                result = run_delta(
                    repo, source, settings, now, trigger="catch-up" if trigger == "catch-up" else "schedule"
                )
                watermark, stopped, error, retryable = result.watermark, result.stopped, None, False
            except SyncError as failure:
                watermark, stopped, error, retryable = before, None, str(failure), failure.retryable
            finished = clock()
            run = Run(
                trigger,
                now,
                finished,
                before,
                watermark,
                target,
                stopped and stopped[0],
                sum(server.calls.values()) - calls_before,
                error,
            )
            outcome = schedule_rules.Outcome(
                "delta",
                "catch-up" if trigger == "catch-up" else "schedule",
                finished,
                ok=error is None,
                stopped=stopped is not None,
                retryable=retryable,
            )
            return run, outcome

        runs, last, now, asleep = [], None, clock(), scenario.asleep
        while True:
            facts = view.get(force=True)
            at, why = schedule_rules.next_run(now, facts.open_days, last, settings.sync_time, settings.sync_tz)
            if asleep and at >= _run_time(asleep[0], settings):
                wake = dt.datetime.combine(_next(sessions, asleep[1]), scenario.wake_at, tzinfo=SHANGHAI)
                asleep, last = None, None  # a restarted Space remembers no outcome
                clock.jump(wake)
                action = schedule_rules.startup_action(
                    wake,
                    facts.open_days,
                    facts.watermark,
                    facts.published,
                    settings.embedded_source,
                    settings.sync_time,
                    settings.sync_tz,
                )
                if action == "delta":
                    run, last = attempt("catch-up", facts)
                    runs.append(run)
                now = clock()
                continue
            if at >= end:
                break
            clock.jump(at)
            run, last = attempt(why, facts)
            runs.append(run)
            log.info(
                "%s %s %s → %s%s (%d calls)",
                scenario.name,
                why,
                at.isoformat(timespec="minutes"),
                run.watermark,
                f", stopped before {run.stopped}" if run.stopped else "",
                run.calls,
            )
            now = clock()
        manifest = from_parquet(repo.read(DAYS_PATH, repo.head())).to_pandas()
        published_days = sorted(pd.to_datetime(manifest["date"]).dt.date)
    days = _day_records(scenario, settings, sessions, publication, runs)
    return Replay(scenario, days, runs, publication, time.monotonic() - started_wall, published_days, verify_repo(repo))


def _run_time(day: dt.date, settings: Settings) -> dt.datetime:
    return schedule_rules.run_time_on(day, settings.sync_time, settings.sync_tz)


def _next(sessions: list[dt.date], day: dt.date) -> dt.date:
    return sessions[sessions.index(day) + 1]


def _day_records(
    scenario: Scenario, settings: Settings, sessions: list[dt.date], publication: Publication, runs: list[Run]
) -> list[DayRecord]:
    replayed = [d for d in sessions if scenario.first <= d <= scenario.last]
    asleep = scenario.asleep
    records = {
        d: DayRecord(
            d, publication.ready(d), _run_time(d, settings), slept=bool(asleep and asleep[0] <= d <= asleep[1])
        )
        for d in replayed
    }
    for run in runs:
        if run.target in records:
            records[run.target].attempts += 1
            if not run.published_new:
                records[run.target].wasted_calls += run.calls
        for day in replayed:
            if run.watermark_before < day <= run.watermark and records[day].committed is None:
                records[day].committed = run.finished
    return [records[d] for d in replayed]


# --- figures ----------------------------------------------------------------------------------


def _minutes(values: Sequence[dt.timedelta]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None, "max": None}
    m = np.array([v.total_seconds() / 60 for v in values])
    return {
        "median": round(float(np.median(m)), 1),
        "p95": round(float(np.percentile(m, 95, method="higher")), 1),
        "max": round(float(m.max()), 1),
    }


def missed(result: Replay) -> list[dt.date]:
    """Awake days not in the dataset by the end of the next trading day's daily run (or ever)."""
    sessions = [r.day for r in result.days]
    out = []
    for i, record in enumerate(result.days):
        if record.slept:
            continue
        if record.committed is None:
            out.append(record.day)
            continue
        if i + 1 < len(sessions):
            deadline = result.days[i + 1].scheduled + schedule_rules.RETRY_EVERY  # that run, with room to finish
            if record.committed > deadline:
                out.append(record.day)
    return out


def figures(result: Replay) -> dict:
    """The scenario's figures, JSON-ready (times in minutes)."""
    awake = [r for r in result.days if not r.slept]
    wasted = [r for r in result.runs if not r.published_new]
    by_day = {r.day: r for r in result.days}
    morning = by_day.get(result.publication.next_morning)
    slept = [r for r in result.days if r.slept]
    catch_ups = [r for r in result.runs if r.trigger == "catch-up"]
    return {
        "scenario": result.scenario.name,
        "sync_time": result.scenario.sync_time,
        "first": result.scenario.first.isoformat(),
        "last": result.scenario.last.isoformat(),
        "trading_days": len(result.days),
        "runs": len(result.runs),
        "runs_publishing": sum(r.published_new for r in result.runs),
        "runs_wasted": len(wasted),
        "wasted_calls": sum(r.calls for r in wasted),
        "max_calls_per_wasted_run": max((r.calls for r in wasted), default=0),
        "runs_beyond_published_calendar": [r.started.date().isoformat() for r in wasted if r.target is None],
        "calls": sum(r.calls for r in result.runs),
        "errors": [r.error for r in result.runs if r.error],
        "days_missed": [d.isoformat() for d in missed(result)],
        "days_missing": [r.day.isoformat() for r in result.days if r.committed is None],
        "attempts_per_day": {
            "mean": round(float(np.mean([r.attempts for r in awake])), 2) if awake else None,
            "max": max((r.attempts for r in awake), default=0),
        },
        "lag_from_publication_min": _minutes([r.lag for r in awake if r.lag is not None]),
        "lag_in_retry_window_min": _minutes([r.lag_in_window for r in awake if r.lag_in_window is not None]),
        "late_days": [
            {
                "day": d.isoformat(),
                "published": by_day[d].published.isoformat(timespec="minutes"),
                "committed": _iso(by_day[d].committed),
            }
            for d in result.publication.late
            if d in by_day
        ],
        "next_morning_day": None
        if morning is None
        else {
            "day": morning.day.isoformat(),
            "published": morning.published.isoformat(timespec="minutes"),
            "committed": _iso(morning.committed),
        },
        "asleep": None
        if not slept
        else {
            "days": [r.day.isoformat() for r in slept],
            "catch_up_runs": len(catch_ups),
            "caught_up_in_one_run": len({r.committed for r in slept}) == 1
            and bool(catch_ups)
            and slept[-1].committed == catch_ups[0].finished,
            "lag_from_publication_min": _minutes([r.lag for r in slept if r.lag is not None]),
        },
        "wall_seconds": round(result.seconds, 1),
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def markdown(all_figures: Sequence[dict]) -> str:
    """One table row per scenario, then the notable days."""
    lines = [
        "# Freshness replay (2024 trading calendar)",
        "",
        "Lag in minutes: from daily_basic's publication to the commit that made the day visible, and from "
        "max(publication, the day's scheduled run) to that commit (responsiveness within the retry window). "
        "Wasted: runs that published no new day, and their API calls (counted at the server).",
        "",
        "| scenario | SYNC_TIME | days | runs | lag median / p95 / max | in-window median / p95 / max "
        "| days missed | wasted runs | wasted calls | attempts/day mean (max) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in all_figures:
        lag, win = f["lag_from_publication_min"], f["lag_in_retry_window_min"]
        lines.append(
            f"| {f['scenario']} | {f['sync_time']} | {f['trading_days']} | {f['runs']} "
            f"| {lag['median']} / {lag['p95']} / {lag['max']} | {win['median']} / {win['p95']} / {win['max']} "
            f"| {len(f['days_missed'])} | {f['runs_wasted']} | {f['wasted_calls']} "
            f"| {f['attempts_per_day']['mean']} ({f['attempts_per_day']['max']}) |"
        )
    lines.append("")
    for f in all_figures:
        notes = [f"late day {d['day']}: published {d['published']}, committed {d['committed']}" for d in f["late_days"]]
        if f["next_morning_day"]:
            m = f["next_morning_day"]
            notes.append(f"next-morning day {m['day']}: published {m['published']}, committed {m['committed']}")
        if f["asleep"]:
            a = f["asleep"]
            notes.append(
                f"asleep through {', '.join(a['days'])}: caught up in one run: {a['caught_up_in_one_run']}; "
                f"lag median / max {a['lag_from_publication_min']['median']} / "
                f"{a['lag_from_publication_min']['max']} min"
            )
        if notes:
            lines += [f"**{f['scenario']}** ({f['wall_seconds']} s)", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


YEAR = (dt.date(2024, 1, 2), dt.date(2024, 12, 31))
Q1 = (YEAR[0], dt.date(2024, 3, 29))
FEATURED = Q1  # where the late days and the next-morning day fall, so every scenario below meets them
ASLEEP = Scenario(
    "asleep 3 days, 21:00",
    "21:00",
    dt.date(2024, 6, 3),
    dt.date(2024, 6, 21),
    asleep=(dt.date(2024, 6, 11), dt.date(2024, 6, 13)),
)
# Both schedules over the whole year: `python -m tests.support.freshness_replay` (~9 CPU-minutes).
YEAR_SCENARIOS = (Scenario("21:00, 2024", "21:00", *YEAR), Scenario("17:30, 2024", "17:30", *YEAR), ASLEEP)
# CI (tests/reliability/test_freshness.py): the whole year at the default 21:00; the earlier
# schedule, which runs about three times as often, over the first quarter (it holds every late day).
SCENARIOS = (Scenario("21:00, 2024", "21:00", *YEAR), Scenario("17:30, 2024 Q1", "17:30", *Q1), ASLEEP)


def run_group(scenarios: Sequence[Scenario], scratch: Path) -> list[Replay]:
    """Replay `scenarios` one after another (each on its own repo under `scratch`)."""
    market = SyntheticMarket(MARKET)
    publication = draw_publication([d for d in market.trade_dates() if d >= YEAR[0]], within=FEATURED)
    return [replay(s, market, publication, scratch) for s in scenarios]


def run_all(scenarios: Sequence[Scenario] = SCENARIOS, scratch: Path | None = None, processes: int = 2) -> list[Replay]:
    """Every scenario, in `processes` worker processes (longest first, each to the least loaded);
    results in the order of `scenarios`. Each process builds the same market and draws."""
    loads: list[list[Scenario]] = [[] for _ in range(max(1, processes))]
    for scenario in sorted(scenarios, key=lambda s: -(s.last - s.first).days):
        min(loads, key=lambda group: sum((s.last - s.first).days for s in group)).append(scenario)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(scratch or tmp)
        if processes <= 1:
            results = run_group(scenarios, folder)
        else:
            context = multiprocessing.get_context("spawn")  # no forking of the caller's server threads
            with concurrent.futures.ProcessPoolExecutor(len(loads), mp_context=context) as pool:
                futures = [pool.submit(run_group, group, folder) for group in loads if group]
                results = [r for future in futures for r in future.result()]
    by_name = {r.scenario.name: r for r in results}
    return [by_name[s.name] for s in scenarios]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(markdown([figures(r) for r in run_all(YEAR_SCENARIOS)]))
