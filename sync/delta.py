"""Delta sync: re-fetch the restatement window, add each new complete trading day, publish once.

The watermark only moves over a gap-free run of complete days: fetching stops at the first
day that is not complete yet, and that day is retried by the next run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from dataset_script.schema import PRICE_SCHEMA, REPO_ID, shard_path
from sync.config import Settings
from sync.meta import calendar_table, stocks_table, trading_days
from sync.commit import BuiltShard, PublishInput
from sync.publish import DatasetRepo
from sync.apply import apply_once, read_shard, read_state
from sync.clock import newest_allowed_day, ymd
from sync.day_status import incomplete_reason
from sync.errors import SyncError
from sync.runs import Progress, ProgressCallback, RunResult
from sync.shards import merge_shard, split_by_month
from sync.source import Source
from sync.tushare.apis import DAY_APIS
from sync.state import SyncState
from sync.transform import DayFrames, canonical_rows, carry_from, empty_carry, to_table
from sync.universe import select_stocks

log = logging.getLogger(__name__)
DAYS_PER_BATCH = 5  # days fetched concurrently; completeness is still judged in day order


@dataclasses.dataclass(frozen=True)
class Fetched:
    days: list[dt.date]                      # complete days, in order, gap-free
    frames: DayFrames | None
    stopped: tuple[dt.date, str] | None      # first day that was not complete, and why


def run_delta(
    repo: DatasetRepo, source: Source, settings: Settings, now: dt.datetime,
    end: dt.date | None = None, repo_id: str = REPO_ID, progress: bool = False, trigger: str = "cli",
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    with repo.lock():
        head = repo.head()
        state = read_state(repo, head)
        if state is None:
            raise SyncError(f"{repo.description} has no published data yet; run `python -m sync full` first")
        newest = newest_allowed_day(now, end)
        calendar = source.calendar(state.first_date, dt.date(max(newest, state.watermark).year, 12, 31))
        days = trading_days(calendar, state.first_date, max(newest, state.watermark))
        published = [d for d in days if d <= min(state.watermark, newest)]
        window = published[-settings.restatement_days:] if settings.restatement_days else []
        wanted = window + [d for d in days if state.watermark < d <= newest]
        report = on_progress or (lambda _: None)
        fetched = fetch_days(source, wanted, settings.completeness, progress, report)
        stocks = select_stocks(source.stocks(), state.markets)
        names = source.names()

        def build(head: str | None, previous: SyncState | None) -> PublishInput:
            previous = previous or state
            watermark = max([previous.watermark, *fetched.days])
            shards = merged_shards(repo, head, days, fetched, stocks, names)
            return PublishInput(
                shards=shards, stocks=stocks_table(stocks), calendar=calendar_table(calendar, previous.first_date),
                trading_days=[d for d in days if d <= watermark], first_date=previous.first_date,
                watermark=watermark, markets=previous.markets, full=False,
                run={"kind": "delta", "finished_at": now.isoformat(timespec="seconds"),
                     "days": [ymd(d) for d in fetched.days], "api_calls": dict(source.client.calls)},
            )

        report(Progress("publish", calls=source.client.total_calls))
        commit, written = apply_once(repo, build, repo_id)
        new_state = read_state(repo, repo.head()) if commit else state
        return RunResult(
            kind="delta", published=commit is not None, commit=commit, watermark_before=state.watermark,
            watermark=new_state.watermark, days=fetched.days, rows=new_state.rows, bytes_written=written,
            api_calls=dict(source.client.calls), stopped=fetched.stopped,
        )


def fetch_days(source: Source, days: list[dt.date], threshold: float, progress: bool,
               report: ProgressCallback = lambda _: None) -> Fetched:
    """Fetch each day's four interfaces; keep the complete days up to the first incomplete one."""
    complete: list[DayFrames] = []
    done: list[dt.date] = []
    bar = tqdm(total=len(days), desc="delta", unit="day", disable=not progress)
    for start in range(0, len(days), DAYS_PER_BATCH):
        report(Progress("fetch", start, len(days), "day", source.client.total_calls))
        batch = days[start:start + DAYS_PER_BATCH]
        calls = [(api, {"trade_date": ymd(day)}) for day in batch for api in DAY_APIS]
        results = source.query_many(calls)
        for i, day in enumerate(batch):
            frames = DayFrames.of(dict(zip(DAY_APIS, results[i * len(DAY_APIS):(i + 1) * len(DAY_APIS)], strict=True)))
            reason = incomplete_reason(frames, threshold)
            if reason:
                bar.close()
                return Fetched(done, DayFrames.concat(complete) if complete else None, (day, reason))
            complete.append(frames)
            done.append(day)
            bar.update()
    bar.close()
    return Fetched(done, DayFrames.concat(complete) if complete else None, None)


def merged_shards(repo, head, days, fetched: Fetched, stocks, names) -> dict[str, BuiltShard]:
    """The months touched by the fetched days, merged into their published shards."""
    if not fetched.days:
        return {}
    first = days.index(fetched.days[0])
    carry = carry_before(repo, head, days[first - 1] if first else None)
    rows = to_table(canonical_rows(fetched.days, stocks, names, fetched.frames, carry))
    fresh = split_by_month(rows)
    merged = {}
    for path in dict.fromkeys(shard_path(d) for d in fetched.days):
        replaced = [d for d in fetched.days if shard_path(d) == path]
        table = merge_shard(read_shard(repo, head, path), fresh.get(path, PRICE_SCHEMA.empty_table()), replaced)
        merged[path] = BuiltShard.build(path, table)
    return merged


def carry_before(repo: DatasetRepo, head: str, day: dt.date | None) -> pd.DataFrame:
    """(code, close, adj_factor) on the published trading day `day` (paused rows included)."""
    if day is None:
        return empty_carry()
    table = read_shard(repo, head, shard_path(day))
    if table is None:
        raise SyncError(f"the published shard {shard_path(day)} is missing; run `python -m sync verify`, then a full sync")
    rows = table.filter(pc.equal(table.column("date"), pa.scalar(day, pa.date32()))).to_pandas()
    return carry_from(rows) if len(rows) else empty_carry()
