"""Full sync: rebuild every shard from the start date, checkpointing as it goes, publish once.

Fetched chunks (a month of days, or a batch of stocks) are staged in the repo's staging area as
soon as they are complete, so an interrupted rebuild resumes without refetching them; on the Hub
the staging area is a side branch, so it survives a restart of the machine. Nothing is visible on
main until the one final commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from collections.abc import Iterator, Sequence

import pandas as pd
from tqdm import tqdm

from dataset_script.schema import ALL_MARKETS, REPO_ID, shard_path
from sync.config import DEFAULT_START, Settings
from sync.meta import calendar_table, stocks_table, trading_days
from sync.commit import BuiltShard, PublishInput
from sync.publish import DatasetRepo
from sync.apply import apply_once, read_state
from sync.clock import newest_allowed_day, ymd
from sync.day_status import incomplete_reason
from sync.errors import SyncError
from sync.runs import Progress, ProgressCallback, RunResult
from sync.source import Source
from sync.tushare.apis import DAY_APIS
from sync.fetch_plan import Chunk, FetchPlan, group_by_month, plan_fetch
from sync.transform import DayFrames, canonical_rows, carry_from, empty_carry, to_table
from sync.universe import listed_on, select_stocks

log = logging.getLogger(__name__)


def run_full(
    repo: DatasetRepo, source: Source, settings: Settings, now: dt.datetime,
    start: dt.date | None = None, end: dt.date | None = None, markets: Sequence[str] | None = None,
    repo_id: str = REPO_ID, progress: bool = False, trigger: str = "cli",
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    markets = tuple(markets or settings.markets)
    with repo.lock():
        before = read_state(repo, repo.head())
        newest = newest_allowed_day(now, end)
        start = start or settings.start_date or source.default_start or DEFAULT_START
        if start > newest:
            raise SyncError(f"the start {start.isoformat()} is after the newest day that can be fetched ({newest.isoformat()})")
        calendar = source.calendar(start, dt.date(newest.year, 12, 31))
        days = trading_days(calendar, start, newest)
        if not days:
            raise SyncError(f"no SSE trading day between {start.isoformat()} and {newest.isoformat()}; widen --start/--end")
        market = select_stocks(source.stocks(), ALL_MARKETS)
        stocks = market[market["market"].isin(markets)].reset_index(drop=True)
        names = source.names()
        plan = plan_fetch(days, market, stocks)
        log.info(plan.describe(source.rate_per_min))
        key = staging_key(start, markets, plan, source.description)
        report = on_progress or (lambda _: None)
        report(Progress("plan", calls=source.client.total_calls))
        loaded = Checkpoints(repo, key, source, settings.completeness)
        loaded.fetch_missing(plan, progress, report)
        report(Progress("build", calls=source.client.total_calls))
        shards, done, stopped = build_shards(days, plan, loaded, stocks, names, source, settings.completeness)
        if not done:
            raise SyncError(f"no complete trading day from {start.isoformat()}: {stopped[1] if stopped else 'no data'}; nothing was published")

        def build(head: str | None, previous) -> PublishInput:
            return PublishInput(
                shards=shards, stocks=stocks_table(stocks), calendar=calendar_table(calendar, done[0]),
                trading_days=[d for d in days if done[0] <= d <= done[-1]], first_date=done[0], watermark=done[-1],
                markets=markets, full=True,
                run={"kind": "full", "finished_at": now.isoformat(timespec="seconds"), "strategy": plan.strategy,
                     "start": ymd(start), "days": len(done), "api_calls": dict(source.client.calls)},
            )

        report(Progress("publish", calls=source.client.total_calls))
        commit, written = apply_once(repo, build, repo_id)
        repo.stage_drop(key)
        return RunResult(
            kind="full", published=commit is not None, commit=commit,
            watermark_before=before.watermark if before else None, watermark=done[-1], days=done,
            rows=sum(s.info.rows for s in shards.values()), bytes_written=written,
            api_calls=dict(source.client.calls), stopped=stopped,
        )


def staging_key(start: dt.date, markets: Sequence[str], plan: FetchPlan, source: str) -> str:
    """Same inputs → same key, so a re-run finds the checkpoints of an interrupted one."""
    ident = [ymd(start), ",".join(markets), plan.strategy, source]
    if plan.strategy == "per-stock":  # a stock chunk spans the whole range, so the end matters
        ident.append(ymd(plan.chunks[0].days[-1]) if plan.chunks else "")
    return "full-" + hashlib.sha1("|".join(ident).encode()).hexdigest()[:12]


class Checkpoints:
    """Fetched chunks: staged in the repo once complete, kept in memory otherwise."""

    def __init__(self, repo: DatasetRepo, key: str, source: Source, threshold: float):
        self.repo, self.key, self.source, self.threshold = repo, key, source, threshold
        self.unstaged: dict[str, DayFrames] = {}

    def fetch_missing(self, plan: FetchPlan, progress: bool, report: ProgressCallback) -> None:
        staged = set(self.repo.stage_files(self.key))
        todo = [c for c in plan.chunks if not self._is_staged(c, staged)]
        if len(todo) < len(plan.chunks):
            log.info("reusing %d of %d chunks already fetched by an earlier run", len(plan.chunks) - len(todo), len(plan.chunks))
        for done, chunk in enumerate(tqdm(todo, desc=f"full ({plan.strategy})", unit="chunk", disable=not progress)):
            report(Progress("fetch", done, len(todo), "chunk", self.source.client.total_calls))
            frames = self._fetch(chunk)
            if self._complete(frames, chunk.days):
                self.repo.stage_write(self.key, {**{f"{chunk.id}/{api}.parquet": _encode(frame) for api, frame in frames.by_api().items()},
                                                 f"{chunk.id}/days.txt": _days_text(chunk.days)})
            else:
                self.unstaged[chunk.id] = frames

    def load(self, chunk: Chunk) -> DayFrames:
        if chunk.id in self.unstaged:
            return self.unstaged[chunk.id]
        return DayFrames.of({api: _decode(self.repo.stage_read(self.key, f"{chunk.id}/{api}.parquet")) for api in DAY_APIS})

    def _fetch(self, chunk: Chunk) -> DayFrames:
        results = self.source.query_many(chunk.calls)
        by_api = {api: [frame for (name, _), frame in zip(chunk.calls, results, strict=True) if name == api] for api in DAY_APIS}
        return DayFrames.of({api: pd.concat(parts, ignore_index=True) for api, parts in by_api.items()})

    def _is_staged(self, chunk: Chunk, staged: set[str]) -> bool:
        needed = {f"{chunk.id}/{api}.parquet" for api in DAY_APIS} | {f"{chunk.id}/days.txt"}
        if not needed <= staged:
            return False
        return self.repo.stage_read(self.key, f"{chunk.id}/days.txt") == _days_text(chunk.days)

    def _complete(self, frames: DayFrames, days: Sequence[dt.date]) -> bool:
        """Stage only chunks whose every day (that has any bar) is complete: a partial day must be refetched."""
        with_bars = set(frames.daily["trade_date"].dt.date)
        checked = [d for d in days if d in with_bars]
        return bool(checked) and all(incomplete_reason(frames.on([d]), self.threshold) is None for d in checked)


def build_shards(days, plan: FetchPlan, loaded: Checkpoints, stocks, names, source: Source, threshold: float):
    """Canonical monthly shards in date order, carrying closes across months.

    Leading days on which the source has no bar at all (before its data begins) are skipped;
    after that, the first incomplete day ends the rebuild (the watermark stops before it).
    """
    shards: dict[str, BuiltShard] = {}
    done: list[dt.date] = []
    carry = None
    for month_days, frames in _month_frames(days, plan, loaded):
        complete, stopped = [], None
        for day in month_days:
            one_day = frames.on([day])
            if not done and not complete and one_day.daily.empty:
                continue  # the source's data has not begun yet
            reason = incomplete_reason(one_day, threshold)
            if reason:
                stopped = (day, reason)
                break
            complete.append(day)
        if complete:
            if carry is None:
                carry = seed_closes(source, stocks, frames.on([complete[0]]), complete[0])
            rows = canonical_rows(complete, stocks, names, frames.on(complete), carry)
            path = shard_path(complete[0])
            shards[path] = BuiltShard.build(path, to_table(rows))
            carry = pd.concat([carry, carry_from(rows)], ignore_index=True).drop_duplicates("code", keep="last")
            done += complete
        if stopped:
            return shards, done, stopped
    return shards, done, None


def seed_closes(source: Source, stocks: pd.DataFrame, first: DayFrames, day: dt.date) -> pd.DataFrame:
    """Last close before `day` of stocks listed earlier but without a bar on `day` (suspended)."""
    listed = stocks[listed_on(stocks, day - dt.timedelta(days=1)) & listed_on(stocks, day)]
    missing = sorted(set(listed["code"]) - set(first.daily["ts_code"]))
    if not missing:
        return empty_carry()
    before = ymd(day - dt.timedelta(days=1))
    bars = source.query_many([("daily", {"ts_code": code, "end_date": before}) for code in missing])
    found = pd.concat(bars, ignore_index=True).rename(columns={"ts_code": "code", "trade_date": "date"})
    found = found.assign(adj_factor=float("nan"))
    return carry_from(found[["code", "date", "close", "adj_factor"]]) if len(found) else empty_carry()


def _month_frames(days, plan: FetchPlan, loaded: Checkpoints) -> Iterator[tuple[list[dt.date], DayFrames]]:
    if plan.strategy == "per-day":
        for chunk in plan.chunks:
            yield list(chunk.days), loaded.load(chunk)
        return
    everything = DayFrames.concat([loaded.load(c) for c in plan.chunks]) if plan.chunks else None
    for month_days in group_by_month(days):
        yield month_days, everything.on(month_days)


def _encode(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False, compression="zstd")
    return sink.getvalue()


def _decode(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))


def _days_text(days: Sequence[dt.date]) -> bytes:
    return ",".join(ymd(d) for d in days).encode()
