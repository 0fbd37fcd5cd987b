"""What full and delta sync share: the close gate, day completeness, reading the repo, publishing.

Everything here either is pure or goes through the `DatasetRepo` and `Source` adapters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dataset_script.schema import STATE_PATH, shard_path
from sync.plan import PublishInput, plan_commit
from sync.publish import ConcurrentWriteError, DatasetRepo
from sync.shards import from_parquet
from sync.state import SyncState
from sync.transform import DayFrames, carry_from, empty_carry

log = logging.getLogger(__name__)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CLOSE_GATE = dt.time(15, 30)  # today's bars are not fetched before this, Asia/Shanghai
COMMIT_ATTEMPTS = 3


class SyncError(RuntimeError):
    """A run failed; the repo is unchanged. The message says what to do."""


@dataclasses.dataclass
class RunResult:
    kind: str
    published: bool
    commit: str | None
    watermark_before: dt.date | None
    watermark: dt.date | None
    days: list[dt.date]
    rows: int
    bytes_written: int
    api_calls: Mapping[str, int]
    stopped: tuple[dt.date, str] | None = None

    def headline(self) -> str:
        """One line for humans, e.g. 'complete through 2024-04-12; 2024-04-15 not yet published'."""
        through = f"complete through {self.watermark.isoformat()}" if self.watermark else "no complete day"
        if self.stopped:
            day, reason = self.stopped
            return f"{through}; {day.isoformat()} not yet published ({reason})"
        return through if self.published else f"nothing new: {through}"


def newest_allowed_day(now: dt.datetime, end: dt.date | None = None) -> dt.date:
    """The newest day a run may fetch: today after the 15:30 close gate, else yesterday."""
    local = now.astimezone(SHANGHAI)
    newest = local.date() if local.time() >= CLOSE_GATE else local.date() - dt.timedelta(days=1)
    return min(newest, end) if end else newest


def incomplete_reason(frames: DayFrames, threshold: float) -> str | None:
    """Why one day's frames are not complete yet, or None when they are.

    Complete: `daily` has rows and daily_basic, stk_limit and adj_factor each cover at least
    `threshold` of the codes that have a daily bar.
    """
    codes = set(frames.daily["ts_code"])
    if not codes:
        return "daily has no rows yet"
    for api in ("daily_basic", "stk_limit", "adj_factor"):
        covered = len(codes & set(getattr(frames, api)["ts_code"])) / len(codes)
        if covered < threshold:
            return f"{api} covers {covered:.0%} of the codes with a daily bar, below {threshold:.0%}"
    return None


def read_state(repo: DatasetRepo, head: str | None) -> SyncState | None:
    data = repo.read(STATE_PATH, head) if head else None
    return SyncState.from_json(data) if data else None


def read_shard(repo: DatasetRepo, head: str | None, path: str) -> pa.Table | None:
    data = repo.read(path, head) if head else None
    return from_parquet(data) if data else None


def carry_before(repo: DatasetRepo, head: str, day: dt.date | None) -> pd.DataFrame:
    """(code, close, adj_factor) on the published trading day `day` (paused rows included)."""
    if day is None:
        return empty_carry()
    table = read_shard(repo, head, shard_path(day))
    if table is None:
        raise SyncError(f"the published shard {shard_path(day)} is missing; run `python -m sync verify`, then a full sync")
    rows = table.filter(pc.equal(table.column("date"), pa.scalar(day, pa.date32()))).to_pandas()
    return carry_from(rows) if len(rows) else empty_carry()


def publish(
    repo: DatasetRepo, build: Callable[[str | None, SyncState | None], PublishInput], repo_id: str
) -> tuple[str | None, int]:
    """Plan on the current head and commit with it as parent; re-plan when another writer won.

    Returns (commit id or None when nothing changed, bytes written).
    """
    for _ in range(COMMIT_ATTEMPTS):
        head = repo.head()
        previous = read_state(repo, head)
        planned = build(head, previous)
        commit, _ = plan_commit(planned, previous, repo.list_files(head) if head else [], repo_id)
        if commit is None:
            return None, 0
        try:
            commit_id = repo.commit(commit, parent=head)
        except ConcurrentWriteError:
            log.warning("another writer committed to %s meanwhile; re-reading and re-planning", repo.description)
            continue
        return commit_id, sum(len(data) for data in commit.adds.values())
    raise SyncError(f"{repo.description} kept changing under this run ({COMMIT_ATTEMPTS} attempts); nothing was published, run again")

