"""Full sync: rebuild the trading days in [start, end], keep every published day outside, publish once.

Each interface is fetched on its own cheapest shape (`sync.fetch.plan`; stk_limit's funds counted
from one probed day, `plan_full`), all of them concurrently, each at its own quota. Fetched chunks
(one interface's month of days, or batch of stocks) are checkpointed as soon as they arrive
(see `sync.fetch.checkpoints`), so an interrupted rebuild resumes without refetching them. Each month is
built from a local spill as soon as its chunks are in (`MonthBuilder`, while the fetcher waits on
the quota) and written to disk at once, each day judged by `sync.tables.day_status`: complete and
settled-partial days are published, and the rebuild stops before a fresh day that is not
complete. Nothing is visible on main until the one final commit, and that commit never shrinks
what is published: days outside the rebuilt range stay, the watermark never moves back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import queue
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dataset_script.schema import (
    ALL_MARKETS,
    CALENDAR_CSV,
    LEGACY_CSV,
    REPO_ID,
    SCHEMA_VERSION,
    maintainer_files,
    shard_path,
)
from dataset_script.state import SyncState
from sync.core.clock import newest_allowed_day, shanghai_date, ymd
from sync.core.config import DEFAULT_START, Settings
from sync.core.errors import SyncError
from sync.core.progress import Progress, ProgressCallback, RunStatus, Trigger
from sync.core.progress_log import reporting
from sync.engine import guards, preflight
from sync.engine.indexes import IndexRun
from sync.fetch.checkpoints import Checkpoints
from sync.fetch.listed_on_day import listed_codes_per_day, listed_on, select_stocks
from sync.fetch.plan import FetchPlan, NonStock, group_by_month, plan_fetch, shape_costs
from sync.fetch.source import Source, calls_since, slowed_since
from sync.publish.apply import apply_once
from sync.publish.by_code import by_code_on_head
from sync.publish.head import Head
from sync.publish.merge import merge_months
from sync.publish.plan import BuiltShard, PublishInput
from sync.runs import failures
from sync.runs.result import RunInfo, RunResult, slowed_note
from sync.tables.day_status import NoBarsError, day_coverage, fresh_days, judge
from sync.tables.meta import calendar_span, calendar_table, day_rows, days_table, stocks_table, trading_days
from sync.tables.transform import canonical_rows, carry_from, empty_carry, to_table
from sync.targets import DatasetRepo
from sync.targets.repo import Retired
from sync.tushare.apis import FULL_MARKET_STOCKS, available, nonstock_listed, year_fraction

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Rebuilt:
    """What the fetch-and-build phase produced, before it is planned onto a head."""

    shards: dict[str, BuiltShard]
    days: list[dt.date]  # published days, in order, gap-free
    manifest: pd.DataFrame  # their meta/days.parquet rows
    stopped: tuple[dt.date, str] | None  # the fresh day held back, and why


def run_full(
    repo: DatasetRepo,
    source: Source,
    settings: Settings,
    now: dt.datetime,
    start: dt.date | None = None,
    end: dt.date | None = None,
    markets: Sequence[str] | None = None,
    repo_id: str = REPO_ID,
    progress: bool = False,
    trigger: Trigger = "cli",
    on_progress: ProgressCallback | None = None,
    migrate_legacy: bool = False,
) -> RunResult:
    """Rebuild [start, end] and publish once. `migrate_legacy`: the target may hold the old
    pipeline's layout (`all-prices.csv`), which this run replaces (see `DatasetRepo.retire_legacy`);
    without it such a target is refused before anything is fetched. `progress`: draw tqdm bars (a
    terminal); without, progress goes to the log at least every 30 s."""
    with reporting(progress, on_progress, lambda: source.client.total_calls) as report:
        return _full(
            repo, source, settings, now, start, end, markets, repo_id, progress, trigger, report, migrate_legacy
        )


def _full(
    repo: DatasetRepo,
    source: Source,
    settings: Settings,
    now: dt.datetime,
    start: dt.date | None,
    end: dt.date | None,
    markets: Sequence[str] | None,
    repo_id: str,
    progress: bool,
    trigger: Trigger,
    report: ProgressCallback,
    migrate_legacy: bool,
) -> RunResult:
    markets = tuple(markets or settings.markets)
    calls = calls_since(source)  # this run's calls, however long the client has been in use
    slowed = slowed_since(source)
    run = RunInfo.start("full", trigger, now)
    guards.check_target(repo, source)
    preflight.check(repo, source, settings, now, run, calls)  # the Hub token can write: before any Tushare call
    with (
        repo.lock(),
        failures.recorded(
            repo, run, calls, resume=failures.resume_input(start, end, markets, migrate_legacy=migrate_legacy)
        ),
    ):
        migrating = guards.check_layout(repo, migrate_legacy)
        legacy = repo.legacy_files() if migrating else []
        start_head = None if migrating else Head.read(repo, damaged_ok=True)
        if start_head is not None:
            guards.check_foreign(start_head)
        before = start_head.state if start_head else None
        # calendar.csv is ours where a migration finds it, and from then on (the state lists it)
        owns_csv = CALENDAR_CSV in legacy if migrating else bool(before and CALENDAR_CSV in before.files)
        identity = guards.check_source(start_head, source)
        newest = newest_allowed_day(now, end)
        start = start or settings.start_date or source.default_start or DEFAULT_START
        if start > newest:
            raise SyncError(
                f"--start {start.isoformat()} is after the newest day that can be fetched ({newest.isoformat()}); "
                f"use an earlier --start, e.g. --start {ymd(newest - dt.timedelta(days=30))}"
            )
        first = min(start, before.first_date) if before else start
        today = shanghai_date(now)
        later = [newest, before.watermark] if before else [newest]
        calendar = source.calendar(*calendar_span(first, today, *later, calendar_csv=owns_csv))
        days = trading_days(calendar, start, newest)
        if not days:
            raise SyncError(
                f"no SSE trading day between {start.isoformat()} and {newest.isoformat()}; widen --start/--end"
            )
        check_keepable(before, days, markets)
        index_run = IndexRun.prepare(source, settings, start_head, days, set(), rebuild_from=start)
        market = select_stocks(source.stocks(), ALL_MARKETS)
        stocks = market[market["market"].isin(markets)].reset_index(drop=True)
        plan = plan_full(source, days, market, stocks)
        log.info(plan.describe(source.rate_per_min))
        report(Progress("plan", 0, len(plan.chunks), "chunk", source.client.total_calls))
        _prune_old_checkpoints(repo, settings, now)
        fresh = fresh_days(trading_days(calendar, first, shanghai_date(now)), shanghai_date(now), settings.settle_days)
        # The scratch folder holds the fetched chunks by month and every built shard until the commit.
        with tempfile.TemporaryDirectory(prefix="a-share-sync-") as scratch:
            key = staging_key(markets, plan, source.description)
            checkpoints = Checkpoints(repo, key, Path(scratch) / "chunks", settings.checkpoint_max_age, now)
            builder = MonthBuilder(
                days, plan, checkpoints, stocks, source, settings.completeness, fresh, shards=Path(scratch) / "shards"
            )
            index_run.start()
            with builder:
                checkpoints.fetch(plan, source, report, progress, spilled=builder.spilled)
                rebuilt = builder.finish(report)
            if not rebuilt.days:
                reason = rebuilt.stopped[1] if rebuilt.stopped else "the source has no bars in the range"
                raise SyncError(
                    f"no trading day from {start.isoformat()} could be published ({reason}); nothing was published"
                )
            # Every known trading day (the calendar runs to the year's end): a concurrent writer may
            # have published days past this run's range by the time it commits.
            all_days = trading_days(calendar, first, dt.date.max)
            report(Progress("publish", calls=source.client.total_calls))

            status, message = _outcome(rebuilt)
            if slowed():
                message += f"; {slowed_note(slowed())}"
                log.warning("this run was %s", slowed_note(slowed()))

            def build(head: Head) -> PublishInput:
                planned = plan_on_head(
                    head,
                    rebuilt,
                    stocks,
                    calendar,
                    all_days,
                    markets,
                    run.run_id,
                    {
                        "kind": "full",
                        "trigger": trigger,
                        "finished_at": now.isoformat(timespec="seconds"),
                        "strategy": plan.strategy,
                        "start": ymd(start),
                        "days": len(rebuilt.days),
                        "api_calls": calls(),
                    },
                    builder.shards,
                )
                index_files, late = index_run.tables(head, planned.trading_days, run.run_id)
                note = f"; {index_files.note}" if index_files.note else ""
                changes = planned.changes
                if len(late):
                    changes = pd.concat([c for c in (changes, late) if c is not None], ignore_index=True)
                return dataclasses.replace(
                    planned,
                    indexes=index_files,
                    changes=changes,
                    **head.run_history(run, status, calls(), message + note),
                    source=identity,
                    retired=(LEGACY_CSV,) if migrating else (),
                    calendar=calendar_table(
                        calendar, calendar_span(planned.first_date, today, calendar_csv=owns_csv)[0]
                    ),
                    calendar_csv=owns_csv,
                )

            retired: list[Retired] = []

            def prepare() -> bytes | None:
                """Set the legacy layout aside right before the commit that replaces it."""
                if not migrating:
                    return None
                done = repo.retire_legacy()
                if done is not None:
                    retired.append(done)
                return done.card if done else None

            commit, written = apply_once(repo, build, repo_id, damaged_state_ok=before is None, prepare=prepare)
            kept_files = tuple(maintainer_files(legacy))
            if retired:
                log.info("migrated from the legacy layout: the old %s is kept at %s", LEGACY_CSV, retired[-1].location)
                log.info("kept the maintainer's files: %s", ", ".join(kept_files) or "none")
        repo.stage_drop(key)
        after = Head.read(repo, damaged_ok=True).state
        return RunResult(
            kind="full",
            published=commit is not None,
            commit=commit,
            watermark_before=before.watermark if before else None,
            watermark=after.watermark if after else None,
            days=rebuilt.days,
            rows=sum(s.info.rows for s in rebuilt.shards.values()),
            bytes_written=written,
            api_calls=calls(),
            stopped=rebuilt.stopped,
            run_id=run.run_id,
            slowed=slowed(),
            legacy_kept_at=retired[-1].location if retired else None,
            legacy_kept_files=kept_files if retired else (),
        )


def plan_full(source: Source, days: Sequence[dt.date], market: pd.DataFrame, stocks: pd.DataFrame) -> FetchPlan:
    """The fetch plan; stk_limit's funds and B shares are counted from one probed day when they
    could decide its shape (per day is cheaper than per stock before counting them)."""
    caps = source.client.row_caps
    stk = shape_costs(days, market, stocks, row_caps=caps)["stk_limit"]
    if not stk["per-day"] or stk["per-day"] >= stk["per-stock"]:
        return plan_fetch(days, market, stocks, row_caps=caps)  # per stock, which never sees a fund, wins anyway
    nonstock, calls = probe_nonstock(source, days, market)
    return plan_fetch(days, market, stocks, nonstock, probe_calls=calls, row_caps=caps)


def probe_nonstock(source: Source, days: Sequence[dt.date], market: pd.DataFrame) -> tuple[NonStock, int]:
    """Count the non-stock codes (funds, B shares) in stk_limit on the newest day it has, and scale
    our estimate of their history to it: (rows per day, calls the probe made)."""
    day = [d for d in days if available("stk_limit", d)][-1]
    before = source.client.calls["stk_limit"]
    rows = source.query("stk_limit", trade_date=ymd(day))
    calls = source.client.calls["stk_limit"] - before
    seen = int((~rows["ts_code"].isin(set(market["code"]))).sum())
    if len(rows):
        scale = seen / max(nonstock_listed(year_fraction(day)), 1.0)
    else:  # nothing published for that day yet: our estimate, scaled to the market's size
        scale = listed_codes_per_day(market, [day])[0] / FULL_MARKET_STOCKS
    log.info(
        "stk_limit lists %d codes that are not stocks on %s (funds, B shares); counting their pages",
        seen,
        day.isoformat(),
    )
    return (lambda d: scale * nonstock_listed(year_fraction(d))), calls


def check_keepable(before: SyncState | None, days: Sequence[dt.date], markets: Sequence[str]) -> None:
    """Refuse a partial rebuild whose kept days could not stay consistent with the new ones."""
    if before is None or (days[0] <= before.first_date and days[-1] >= before.watermark):
        return  # nothing published, or everything published is rebuilt
    span = f"--start {ymd(min(days[0], before.first_date))} --end {ymd(max(days[-1], before.watermark))}"
    if tuple(before.markets) != tuple(markets):
        raise SyncError(
            f"the published days are for markets {', '.join(before.markets)}, this rebuild is for "
            f"{', '.join(markets)}: rebuild everything that is published with {span}; nothing was published"
        )
    if before.schema_version != SCHEMA_VERSION:
        raise SyncError(
            f"the published days have schema version {before.schema_version}, this sync writes "
            f"{SCHEMA_VERSION}: rebuild everything that is published with {span}; nothing was published"
        )


def staging_key(markets: Sequence[str], plan: FetchPlan, source: str) -> str:
    """Where this kind of rebuild checkpoints; the chunks themselves carry their days and codes."""
    ident = "|".join([",".join(markets), plan.strategy, source])
    return "full-" + hashlib.sha1(ident.encode()).hexdigest()[:12]


class MonthBuilder:
    """Builds the rebuild's months in order on a worker thread, each as soon as its chunks are spilled.

    The fetcher spends most of a full sync waiting on the quota; building the months meanwhile
    leaves only the last month and the commit after the last API call. The months are built one
    at a time and in order, exactly as one loop after the fetch would (closes carried from each
    month to the next), so the shards are the same bytes. Each shard is written to `shards` as
    soon as it is built (`BuiltShard.build`), and memory holds its path and a few numbers: it
    stays flat however many months the rebuild holds.

        with MonthBuilder(days, plan, checkpoints, stocks, source, 0.98, fresh, shards=folder) as builder:
            checkpoints.fetch(plan, source, report, spilled=builder.spilled)
            rebuilt = builder.finish(report)
    """

    def __init__(
        self,
        days: Sequence[dt.date],
        plan: FetchPlan,
        checkpoints: Checkpoints,
        stocks: pd.DataFrame,
        source: Source,
        threshold: float,
        fresh: set[dt.date],
        shards: Path,
    ):
        self.months = group_by_month(days)
        self.checkpoints, self.stocks, self.source, self.threshold, self.fresh = (
            checkpoints,
            stocks,
            source,
            threshold,
            fresh,
        )
        self.shards = shards
        self.built = 0  # months done (built, or skipped after a held-back day)
        self.result = Rebuilt({}, [], pd.DataFrame(), None)
        self._needs = _chunks_per_month(self.months, plan)
        self._done: set[int] = set()
        self._lock = threading.Lock()
        self._queued = 0
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._manifests: list[pd.DataFrame] = []
        self._carry: pd.DataFrame | None = None
        self._names: pd.DataFrame | None = None
        self._thread = threading.Thread(target=self._work, name="build-months", daemon=True)

    def __enter__(self) -> MonthBuilder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # on an error: the month being built is finished, no other is started
        self._queue.put(None)
        self._thread.join()

    def spilled(self, chunk: int | None) -> None:
        """Chunk `chunk` of the plan is in the spill (from any fetching thread): queue, in order, the
        months whose chunks are all in. A failed build (e.g. a settled day without bars) stops the
        fetch here. None: every chunk is in."""
        self._raise()
        with self._lock:
            if chunk is not None:
                self._done.add(chunk)
            while self._queued < len(self.months) and (chunk is None or self._needs[self._queued] <= self._done):
                self._queue.put(self._queued)
                self._queued += 1

    def finish(self, report: ProgressCallback) -> Rebuilt:
        """Every chunk is spilled: build the months left, then return what the rebuild produced."""
        self.spilled(None)
        self._queue.put(None)
        shown = -1
        while self._thread.is_alive():
            if self.built != shown:
                shown = self.built
                report(Progress("build", shown, len(self.months), "month", self.source.client.total_calls))
            self._thread.join(timeout=0.2)
        self._raise()
        self.result.manifest = pd.concat(self._manifests, ignore_index=True) if self._manifests else pd.DataFrame()
        return self.result

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        try:
            while (i := self._queue.get()) is not None and not self._stop.is_set():
                if self.result.stopped is None:
                    self._build(self.months[i])
                self.built = i + 1
        except BaseException as error:  # noqa: BLE001 - handed to the fetching thread, raised there
            self._error = error

    def _build(self, month_days: list[dt.date]) -> None:
        """One month: judge its days, build its shard from the spill, carry its closes on."""
        result = self.result
        if self._names is None:
            self._names = self.source.names()
        frames = self.checkpoints.month(month_days)
        try:
            verdicts = judge(
                day_coverage(month_days, frames, self.stocks),
                self.threshold,
                self.fresh,
                allow_leading_empty=not result.days,
            )
        except NoBarsError as error:
            raise SyncError(str(error)) from None
        published = [cov.day for cov, _ in verdicts.published]
        if published:
            if self._carry is None:
                self._carry = seed_closes(self.source, self.stocks, frames.on([published[0]]).daily, published[0])
            rows = canonical_rows(published, self.stocks, self._names, frames.on(published), self._carry)
            path = shard_path(published[0])
            result.shards[path] = BuiltShard.build(path, to_table(rows), spill=self.shards)
            self._manifests.append(day_rows(rows, verdicts.published))
            self._carry = pd.concat([self._carry, carry_from(rows)], ignore_index=True).drop_duplicates(
                "code", keep="last"
            )
            result.days += published
        if verdicts.held_back:
            result.stopped = verdicts.held_back


def _chunks_per_month(months: Sequence[Sequence[dt.date]], plan: FetchPlan) -> list[set[int]]:
    """Per month, the chunks (indices in the plan) holding one of its days: a per-day or range chunk
    holds one month of one interface; a per-stock chunk holds every month."""
    month_of = {day: i for i, days in enumerate(months) for day in days}
    needs: list[set[int]] = [set() for _ in months]
    for index, chunk in enumerate(plan.chunks):
        for i in {month_of[d] for d in chunk.days if d in month_of}:
            needs[i].add(index)
    return needs


def plan_on_head(
    head: Head,
    rebuilt: Rebuilt,
    stocks: pd.DataFrame,
    calendar: pd.DataFrame,
    all_days: Sequence[dt.date],
    markets: Sequence[str],
    run_id: str,
    run: dict,
    spill: Path | None = None,
) -> PublishInput:
    """The rebuilt days merged onto whatever `head` publishes (re-run after another writer won);
    a merged month is written to `spill` like the built ones."""
    previous = head.state
    if previous is None:
        first, watermark = rebuilt.days[0], rebuilt.days[-1]
    else:
        check_keepable(previous, rebuilt.days, markets)
        published = [d for d in all_days if previous.first_date <= d <= previous.watermark]
        first, watermark = _joined_range(published, rebuilt.days, all_days)
    shards, changes = merge_months(head, rebuilt.shards, set(rebuilt.days), run_id, spill)
    kept = [d for d in all_days if first <= d <= watermark]
    replace_all = previous is None or (
        rebuilt.days[0] <= previous.first_date and rebuilt.days[-1] >= previous.watermark
    )
    by_code = by_code_on_head(head, shards, watermark, replace_all, spill)
    old_days = head.manifest() if previous is not None else None
    return PublishInput(
        shards=shards,
        stocks=stocks_table(stocks),
        calendar=calendar_table(calendar, first),
        days=days_table(old_days, rebuilt.manifest, watermark),
        trading_days=kept,
        first_date=first,
        watermark=watermark,
        markets=tuple(markets),
        run=run,
        replace_all=replace_all,
        changes=changes,
        by_code=by_code.files,
        shard_digests=by_code.digests,
    )


def _joined_range(
    published: Sequence[dt.date], rebuilt: Sequence[dt.date], all_days: Sequence[dt.date]
) -> tuple[dt.date, dt.date]:
    """(first day, watermark) of published ∪ rebuilt; refuse when they would leave a gap between them."""
    union = sorted(set(published) | set(rebuilt))
    position = {d: i for i, d in enumerate(all_days)}
    gaps = [b for a, b in zip(union, union[1:]) if position[b] != position[a] + 1]
    if gaps:
        raise SyncError(
            f"the rebuilt days ({rebuilt[0].isoformat()}..{rebuilt[-1].isoformat()}) and the published days "
            f"({published[0].isoformat()}..{published[-1].isoformat()}) would leave a gap before "
            f"{gaps[0].isoformat()}: choose a range that touches the published days; nothing was published"
        )
    return union[0], union[-1]


def _outcome(rebuilt: Rebuilt) -> tuple[RunStatus, str]:
    """(status, message) of a full sync for the run history."""
    partial = int((rebuilt.manifest["status"] == "partial").sum()) if len(rebuilt.manifest) else 0
    done = (
        f"rebuilt {rebuilt.days[0].isoformat()}..{rebuilt.days[-1].isoformat()} "
        f"({len(rebuilt.days)} trading days, {partial} partial)"
    )
    if rebuilt.stopped:
        day, reason = rebuilt.stopped
        return "stopped", f"{done}; {day.isoformat()} not yet published ({reason})"
    return "success", done


def _prune_old_checkpoints(repo: DatasetRepo, settings: Settings, now: dt.datetime) -> None:
    removed = repo.stage_prune(settings.checkpoint_max_age, now)
    if removed:
        log.info("removed %d checkpoint area(s) older than %s", len(removed), settings.checkpoint_max_age)


SEED_LOOKBACK_DAYS = 92  # the seed's one multi-code call looks this far back; older closes cost a call each


def seed_closes(source: Source, stocks: pd.DataFrame, daily: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Last close before `day` of stocks listed earlier but without a bar on `day` (suspended).

    One `daily` call for all of them (ts_code takes a comma-separated list) over the last
    SEED_LOOKBACK_DAYS, so the plan can count it; a stock suspended for longer costs one more call.
    """
    listed = stocks[listed_on(stocks, day - dt.timedelta(days=1)) & listed_on(stocks, day)]
    missing = sorted(set(listed["code"]) - set(daily["ts_code"]))
    if not missing:
        return empty_carry()
    before = ymd(day - dt.timedelta(days=1))
    recent = source.query(
        "daily", ts_code=",".join(missing), start_date=ymd(day - dt.timedelta(days=SEED_LOOKBACK_DAYS)), end_date=before
    )
    older = sorted(set(missing) - set(recent["ts_code"]))
    bars = [recent, *source.query_many([("daily", {"ts_code": code, "end_date": before}) for code in older])]
    found = pd.concat([b for b in bars if len(b)], ignore_index=True) if any(len(b) for b in bars) else recent
    found = found.sort_values("trade_date").drop_duplicates("ts_code", keep="last")
    found = found.rename(columns={"ts_code": "code", "trade_date": "date"}).assign(adj_factor=float("nan"))
    return carry_from(found[["code", "date", "close", "adj_factor"]]) if len(found) else empty_carry()
