"""Delta sync: re-fetch the restatement window, add each new trading day that may be published, publish once.

Each fetched day is judged by `sync.tables.day_status`. A new day is published when complete, or as
partial once it is settled; the run stops before a fresh day that is not complete yet, and that
day is retried by the next run. A re-fetched, already published day is replaced only by a complete
fetch, so a half-loaded source never overwrites good rows. The watermark only moves over a
gap-free run of published days.

A run whose first new day is fresh asks first whether that day's latest interface (daily_basic)
has any rows: when it has none the day is not published yet, and the run stops before it after
that one call, without re-fetching the window (a retry every 30 minutes on a late evening then
costs two calls, not 25; the window is re-fetched by the run that publishes the day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from dataset_script.schema import CALENDAR_CSV, PRICE_SCHEMA, REPO_ID, shard_path
from sync.core.clock import newest_allowed_day, shanghai_date, ymd
from sync.core.config import Settings
from sync.core.errors import SyncError
from sync.core.progress import Progress, ProgressCallback, RunStatus, Trigger
from sync.core.progress_log import reporting
from sync.engine import guards, preflight
from sync.engine.indexes import IndexRun
from sync.fetch.frames import DayFrames
from sync.fetch.listed_on_day import select_stocks
from sync.fetch.source import Source, calls_since, slowed_since
from sync.publish.apply import apply_once
from sync.publish.by_code import by_code_on_head
from sync.publish.head import Head
from sync.publish.merge import merge_months
from sync.publish.plan import BuiltShard, PublishInput
from sync.runs import failures
from sync.runs.result import RunInfo, RunResult, slowed_note
from sync.tables.day_status import COMPLETE, DayCoverage, NoBarsError, day_coverage, fresh_days, judge
from sync.tables.meta import calendar_span, calendar_table, day_rows, days_table, stocks_table, trading_days
from sync.tables.shards import split_by_month
from sync.tables.transform import canonical_rows, carry_from, empty_carry, to_table
from sync.targets import DatasetRepo
from sync.tushare.apis import APIS, DAY_APIS, ROW_APIS

log = logging.getLogger(__name__)
DAYS_PER_BATCH = 5  # days fetched concurrently; they are still judged in day order
# The last of a day's rows to appear (every row interface has a publication time).
LATEST_API = max(ROW_APIS, key=lambda api: APIS[api].published_at or dt.time.min)


@dataclasses.dataclass(frozen=True)
class Fetched:
    segments: list[list[dt.date]]  # runs of days to (re)build, each gap-free, in order
    verdicts: list[tuple[DayCoverage, str]]  # status of every day in the segments
    frames: DayFrames | None
    stopped: tuple[dt.date, str] | None  # the fresh day held back, and why

    @property
    def days(self) -> list[dt.date]:
        return [d for segment in self.segments for d in segment]


def run_delta(
    repo: DatasetRepo,
    source: Source,
    settings: Settings,
    now: dt.datetime,
    end: dt.date | None = None,
    repo_id: str = REPO_ID,
    progress: bool = False,
    trigger: Trigger = "cli",
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    """Re-fetch the window, add the new days, publish once. `progress`: draw a tqdm bar (a
    terminal); without, progress goes to the log at least every 30 s."""
    with reporting(progress, on_progress, lambda: source.client.total_calls) as report:
        return _delta(repo, source, settings, now, end, repo_id, progress, trigger, report)


def _delta(
    repo: DatasetRepo,
    source: Source,
    settings: Settings,
    now: dt.datetime,
    end: dt.date | None,
    repo_id: str,
    progress: bool,
    trigger: Trigger,
    report: ProgressCallback,
) -> RunResult:
    calls = calls_since(source)  # this run's calls, however long the client has been in use
    slowed = slowed_since(source)
    run = RunInfo.start("delta", trigger, now)
    guards.check_target(repo, source)
    preflight.check(repo, source, settings, now, run, calls)  # the Hub token can write: before any Tushare call
    with repo.lock(), failures.recorded(repo, run, calls):
        guards.check_layout(repo, migrate_legacy=False)
        start_head = Head.read(repo)
        guards.check_foreign(start_head)
        state = start_head.state
        if state is None:
            raise SyncError(f"{repo.description} has no published data yet; run `python -m sync full` first")
        guards.check_schema(repo, state)
        identity = guards.check_source(start_head, source)
        newest = newest_allowed_day(now, end)
        owns_csv = CALENDAR_CSV in state.files  # the old calendar.csv, regenerated where a migration found it
        calendar = source.calendar(
            *calendar_span(state.first_date, shanghai_date(now), newest, state.watermark, calendar_csv=owns_csv)
        )
        days = trading_days(calendar, state.first_date, max(newest, state.watermark))
        published = [d for d in days if d <= min(state.watermark, newest)]
        window = published[-settings.restatement_days :] if settings.restatement_days else []
        new = [d for d in days if state.watermark < d <= newest]
        today = shanghai_date(now)
        fresh = fresh_days(trading_days(calendar, state.first_date, today), today, settings.settle_days)
        probed = probe_first_new(source, new, fresh)
        if probed is not None and probed.empty:
            unpublished = (new[0], f"{LATEST_API} has no rows for it yet")
            log.info("%s is not published yet (%s); stopping before it", unpublished[0].isoformat(), unpublished[1])
            return RunResult(
                kind="delta",
                published=False,
                commit=None,
                watermark_before=state.watermark,
                watermark=state.watermark,
                days=[],
                rows=state.rows,
                bytes_written=0,
                api_calls=calls(),
                stopped=unpublished,
                run_id=run.run_id,
                slowed=slowed(),
            )
        # SYNC_INDEXES is checked here, after the one-call probe (a retry before publication stays cheap)
        index_run = IndexRun.prepare(source, settings, start_head, days, fresh)
        index_run.start()
        stocks = select_stocks(source.stocks(), state.markets)
        known = {} if probed is None else {(LATEST_API, new[0]): probed}  # the probe's rows are not fetched twice
        fetched = fetch_days(source, window, new, stocks, settings.completeness, fresh, progress, report, known)
        names = source.names()
        report(Progress("publish", calls=source.client.total_calls))

        # by_code files go to disk as they are built: a repo without them gets every year's file in one commit
        spill = tempfile.TemporaryDirectory(prefix="a-share-sync-")

        def build(head: Head) -> PublishInput:
            previous = head.state or state
            watermark = max([previous.watermark, *fetched.days])
            # Another writer may have published past this run's own end by now (a re-plan after a 412).
            head_days = trading_days(calendar, previous.first_date, max(watermark, days[-1]))
            rows = rebuilt_rows(head, days, fetched, stocks, names)
            built = {path: BuiltShard.build(path, table) for path, table in split_by_month(to_table(rows)).items()}
            shards, changes = merge_months(head, built, fetched.days, run.run_id)
            published_days = [d for d in head_days if d <= watermark]
            index_files, late = index_run.tables(head, published_days, run.run_id)
            by_code = by_code_on_head(head, shards, watermark, replace_all=False, spill=Path(spill.name))
            status, message = _outcome(fetched)
            message += f"; {index_files.note}" if index_files.note else ""
            if slowed():
                message += f"; {slowed_note(slowed())}"
            return PublishInput(
                shards=shards,
                changes=pd.concat([changes, late], ignore_index=True) if len(late) else changes,
                indexes=index_files,
                stocks=stocks_table(stocks),
                **head.run_history(run, status, calls(), message),
                calendar=calendar_table(calendar, calendar_span(previous.first_date, today, calendar_csv=owns_csv)[0]),
                calendar_csv=owns_csv,
                days=days_table(head.manifest(), day_rows(rows, fetched.verdicts), watermark),
                trading_days=published_days,
                first_date=previous.first_date,
                watermark=watermark,
                markets=previous.markets,
                replace_all=False,
                by_code=by_code.files,
                shard_digests=by_code.digests,
                source=identity,
                run={
                    "kind": "delta",
                    "trigger": trigger,
                    "finished_at": now.isoformat(timespec="seconds"),
                    "days": [ymd(d) for d in fetched.days],
                    "api_calls": calls(),
                },
            )

        with spill:
            commit, written = apply_once(repo, build, repo_id)
        new_state = Head.read(repo).state or state  # the head may have moved even when nothing was new
        return RunResult(
            kind="delta",
            published=commit is not None,
            commit=commit,
            watermark_before=state.watermark,
            watermark=new_state.watermark,
            days=fetched.days,
            rows=new_state.rows,
            bytes_written=written,
            api_calls=calls(),
            stopped=fetched.stopped,
            run_id=run.run_id,
            slowed=slowed(),
        )


def probe_first_new(source: Source, new: Sequence[dt.date], fresh: set[dt.date]) -> pd.DataFrame | None:
    """The first new day's rows of the interface published last, when that day is fresh (None: no
    probe). Empty rows mean the day is not published yet: the run stops after this one call."""
    if not new or new[0] not in fresh:
        return None
    return source.query(LATEST_API, trade_date=ymd(new[0]))


def fetch_days(
    source: Source,
    window: list[dt.date],
    new: list[dt.date],
    stocks: pd.DataFrame,
    threshold: float,
    fresh: set[dt.date],
    progress: bool = False,
    report: ProgressCallback = lambda _: None,
    known: Mapping[tuple[str, dt.date], pd.DataFrame] | None = None,
) -> Fetched:
    """Fetch the window and the new days in batches (except the (interface, day) rows already
    `known`); judge them; stop fetching after a held-back day."""
    known = known or {}
    wanted = window + new
    parts: list[DayFrames] = []
    coverages: list[DayCoverage] = []
    bar = tqdm(total=len(wanted), desc="delta", unit="day", disable=not progress)
    for start in range(0, len(wanted), DAYS_PER_BATCH):
        report(Progress("fetch", start, len(wanted), "day", source.client.total_calls))
        batch = wanted[start : start + DAYS_PER_BATCH]
        keys = [(api, day) for day in batch for api in DAY_APIS]
        todo = [key for key in keys if key not in known]
        got = dict(zip(todo, source.query_many([(api, {"trade_date": ymd(day)}) for api, day in todo]), strict=True))
        got.update((key, known[key]) for key in keys if key in known)
        frames = DayFrames.of(
            {
                api: pd.concat([got[(name, day)] for name, day in keys if name == api], ignore_index=True)
                for api in DAY_APIS
            }
        )
        parts.append(frames)
        coverages += day_coverage(batch, frames, stocks)
        bar.update(len(batch))
        held = [c for c in coverages if c.day in new and c.day in fresh and not c.complete(threshold)]
        if held:
            break
    bar.close()
    return _judged(window, new, coverages, DayFrames.concat(parts) if parts else None, threshold, fresh)


def _judged(window, new, coverages: list[DayCoverage], frames, threshold: float, fresh: set[dt.date]) -> Fetched:
    """Window days are replaced while their re-fetch is complete (the first one that is not keeps
    its published rows, and so do the window days after it); new days follow `judge`."""
    by_day = {c.day: c for c in coverages}
    redone = []
    for day in window:
        if not by_day[day].complete(threshold):
            log.warning(
                "%s: the re-fetch is not complete (%s); keeping its published rows",
                day.isoformat(),
                "; ".join(by_day[day].shortfalls(threshold)),
            )
            break
        redone.append((by_day[day], COMPLETE))
    try:
        verdicts = judge([by_day[d] for d in new if d in by_day], threshold, fresh, allow_leading_empty=False)
    except NoBarsError as error:
        raise SyncError(str(error)) from None
    added = verdicts.published
    if len(redone) == len(window):
        segments = [[c.day for c, _ in redone + added]]
    else:
        segments = [[c.day for c, _ in redone], [c.day for c, _ in added]]
    return Fetched([s for s in segments if s], redone + added, frames, verdicts.held_back)


def rebuilt_rows(
    head: Head, days: Sequence[dt.date], fetched: Fetched, stocks: pd.DataFrame, names: pd.DataFrame
) -> pd.DataFrame:
    """Canonical rows of every day to (re)build, each segment carrying closes from the day before it."""
    parts = []
    for segment in fetched.segments:
        first = days.index(segment[0])
        carry = carry_before(head, days[first - 1] if first else None)
        assert fetched.frames is not None  # None only when nothing was fetched, and then there is no segment
        parts.append(canonical_rows(segment, stocks, names, fetched.frames.on(segment), carry))
    return pd.concat(parts, ignore_index=True) if parts else PRICE_SCHEMA.empty_table().to_pandas()


def _outcome(fetched: Fetched) -> tuple[RunStatus, str]:
    """(status, message) of a delta for the run history."""
    added = f"{len(fetched.days)} trading day(s) fetched and published"
    if fetched.stopped:
        day, reason = fetched.stopped
        return "stopped", f"{added}; {day.isoformat()} not yet published ({reason})"
    return "success", added


def carry_before(head: Head, day: dt.date | None) -> pd.DataFrame:
    """(code, close, adj_factor) on the published trading day `day` (paused rows included)."""
    if day is None:
        return empty_carry()
    table = head.shard(shard_path(day))
    if table is None:
        raise SyncError(
            f"the published shard {shard_path(day)} is missing; run `python -m sync verify`, then a full sync"
        )
    rows = table.filter(pc.equal(table.column("date"), pa.scalar(day, pa.date32()))).to_pandas()
    return carry_from(rows) if len(rows) else empty_carry()
