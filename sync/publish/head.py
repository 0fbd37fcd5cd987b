"""`Head`: what a run (or a reader: verify, status, the Space) sees of the published repo at one commit.

Read once per attempt: the commit id, the state and the file list up front; every table (a month
shard, meta/days, meta/runs, meta/changes, the calendar) on first use and then kept, so no code
path reads the same file twice or threads a `repo, head` pair through its helpers:

    head = Head.read(repo)                 # head.commit is None: nothing published yet
    if head.state is not None:
        shard = head.shard("data/2024/2024-01.parquet")
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

from dataset_script.schema import CALENDAR_PATH, CHANGES_PATH, DAYS_PATH, PRICE_SCHEMA, RUNS_PATH, STATE_PATH
from dataset_script.state import SyncState
from sync.core.errors import SyncError
from sync.core.progress import RunStatus
from sync.runs import failures
from sync.runs.result import RunInfo
from sync.tables.meta import days_from_shard, days_table
from sync.tables.shards import from_parquet
from sync.targets import DatasetRepo

log = logging.getLogger(__name__)

REBUILD = "rebuild everything that is published with `python -m sync full`"


@dataclasses.dataclass
class Head:
    """The repo at commit `commit` (None: nothing published). `state` is None when there is none,
    or, read with `damaged_ok`, when it is damaged (`damage` then says how)."""

    repo: DatasetRepo
    commit: str | None
    state: SyncState | None
    damage: str | None = None
    _tables: dict[str, pa.Table | None] = dataclasses.field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, repo: DatasetRepo, *, damaged_ok: bool = False) -> Head:
        """The current head of `repo`. A damaged state is a clear error naming the file and the fix,
        unless `damaged_ok` (a full rebuild replaces it)."""
        return cls.at(repo, repo.head(), damaged_ok=damaged_ok)

    @classmethod
    def at(cls, repo: DatasetRepo, commit: str | None, *, damaged_ok: bool = False) -> Head:
        """The repo at a commit id already known (e.g. one `repo.head()` just returned)."""
        if commit is None:
            return cls(repo, None, None)
        try:
            return cls(repo, commit, _state(repo, commit))
        except SyncError as error:
            if not damaged_ok:
                raise
            log.warning("%s; rebuilding from scratch", error)
            return cls(repo, commit, None, damage=str(error))

    @functools.cached_property
    def files(self) -> tuple[str, ...]:
        """Every file path of the head (one listing, on first use)."""
        return tuple(self.repo.list_files(self.commit)) if self.commit else ()

    @property
    def description(self) -> str:
        return self.repo.description

    def read_bytes(self, path: str) -> bytes | None:
        return self.repo.read(path, self.commit) if self.commit else None

    def table(self, path: str) -> pa.Table | None:
        """A Parquet file of the head, or None when absent; an unreadable one is a clear error."""
        if path not in self._tables:
            self._tables[path] = self._parquet(path)
        return self._tables[path]

    def shard(self, path: str) -> pa.Table | None:
        """A published month shard; one without the contract's columns and types is refused, not merged into."""
        table = self.table(path)
        if table is not None and table.schema.remove_metadata() != PRICE_SCHEMA:
            raise SyncError(
                f"{path} in {self.description} does not have the contract's columns and types; "
                f"run `python -m sync verify`, then {REBUILD}"
            )
        return table

    def manifest(self) -> pa.Table | None:
        """meta/days.parquet; for a repo published before it existed, rebuilt once from the shards
        (their days passed the old all-interfaces gate: complete, coverage unknown)."""
        manifest = self.table(DAYS_PATH)
        if manifest is not None or self.state is None or not self.state.shards:
            return manifest
        parts = [days_from_shard(self.shard(path)) for path in sorted(self.state.shards)]
        return days_table(None, pd.concat(parts, ignore_index=True), self.state.watermark)

    def calendar(self) -> pa.Table | None:
        return self.table(CALENDAR_PATH)

    def run_history(self, run: RunInfo, status: RunStatus, api_calls: Mapping[str, int], message: str) -> dict:
        """The PublishInput fields of the run history: earlier failures from the run journal, then this
        run, planned on this head (recorded as the run's parent commit), and the tables they append to."""
        before = self.table(RUNS_PATH)
        known = set(before.column("run_id").to_pylist()) if before is not None else set()
        waiting = [
            r for r in failures.pending(self.repo) if r["run_id"] not in known
        ]  # a lost `forget` never records twice
        rows = [*waiting, run.row(status, api_calls, message, commit=self.commit)]
        return {"run_rows": rows, "runs_before": before, "changes_before": self.table(CHANGES_PATH)}

    def _parquet(self, path: str) -> pa.Table | None:
        data = self.read_bytes(path)
        if not data:
            return None
        try:
            return from_parquet(data)
        except (pa.ArrowException, OSError) as error:
            raise SyncError(
                f"{path} in {self.description} is not a readable Parquet file ({type(error).__name__}); "
                f"run `python -m sync verify`, then {REBUILD}"
            ) from None


def _state(repo: DatasetRepo, commit: str) -> SyncState | None:
    data = repo.read(STATE_PATH, commit)
    if not data:
        return None
    try:
        return SyncState.from_json(data)
    except (ValueError, KeyError, TypeError) as error:
        raise SyncError(
            f"{STATE_PATH} in {repo.description} is damaged ({type(error).__name__}); restore it from the "
            f"previous commit, or {REBUILD} (run `python -m sync verify` to see what else is wrong)"
        ) from None
