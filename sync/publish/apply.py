"""Apply a planned commit once: read the head, plan on it, commit with it as parent.

When another writer moved the head meanwhile, the adapter refuses the commit
(`ConcurrentWriteError`); the plan is rebuilt on the new head and applied again, a bounded number
of times. Also the two reads every run starts from: the state and a shard at a revision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pandas as pd
import pyarrow as pa

from dataset_script.schema import CHANGES_PATH, DAYS_PATH, PRICE_SCHEMA, RUNS_PATH, STATE_PATH
from sync.publish.plan import PublishInput, plan_commit
from sync.targets.commit import content_size
from sync.runs import failures
from sync.core.errors import SyncError, TransientError
from sync.core.killpoints import reached
from sync.build.meta import days_from_shard, days_table
from sync.targets import ConcurrentWriteError, DatasetRepo
from sync.runs.result import RunInfo
from sync.build.shards import from_parquet
from dataset_script.state import SyncState

log = logging.getLogger(__name__)

COMMIT_ATTEMPTS = 3


REBUILD = "rebuild everything that is published with `python -m sync full`"


def read_state(repo: DatasetRepo, head: str | None) -> SyncState | None:
    """The state at `head`; a damaged one is a clear error naming the file and the fix."""
    data = repo.read(STATE_PATH, head) if head else None
    if not data:
        return None
    try:
        return SyncState.from_json(data)
    except (ValueError, KeyError, TypeError) as error:
        raise SyncError(f"{STATE_PATH} in {repo.description} is damaged ({type(error).__name__}); restore it from the "
                        f"previous commit, or {REBUILD} (run `python -m sync verify` to see what else is wrong)") from None


def read_table(repo: DatasetRepo, head: str | None, path: str) -> pa.Table | None:
    """A Parquet file of the repo at `head`, or None when absent; an unreadable one is a clear error."""
    data = repo.read(path, head) if head else None
    if not data:
        return None
    try:
        return from_parquet(data)
    except (pa.ArrowException, OSError) as error:
        raise SyncError(f"{path} in {repo.description} is not a readable Parquet file ({type(error).__name__}); "
                        f"run `python -m sync verify`, then {REBUILD}") from None


def read_shard(repo: DatasetRepo, head: str | None, path: str) -> pa.Table | None:
    """A published month shard; one without the contract's columns and types is refused, not merged into."""
    table = read_table(repo, head, path)
    if table is not None and table.schema.remove_metadata() != PRICE_SCHEMA:
        raise SyncError(f"{path} in {repo.description} does not have the contract's columns and types; "
                        f"run `python -m sync verify`, then {REBUILD}")
    return table


def read_manifest(repo: DatasetRepo, head: str | None, state: SyncState) -> pa.Table | None:
    """meta/days.parquet at `head`; for a repo published before it existed, rebuilt once from the
    shards (their days passed the old all-interfaces gate: complete, coverage unknown)."""
    manifest = read_table(repo, head, DAYS_PATH)
    if manifest is not None or not state.shards:
        return manifest
    parts = [days_from_shard(read_shard(repo, head, path)) for path in sorted(state.shards)]
    return days_table(None, pd.concat(parts, ignore_index=True), state.watermark)


def run_history(repo: DatasetRepo, head: str | None, run: RunInfo, status: str, api_calls: Mapping[str, int],
                message: str) -> dict:
    """The PublishInput fields of the run history: earlier failures from the run journal, then this run,
    planned on `head` (recorded as the run's parent commit), and the tables they append to."""
    before = read_table(repo, head, RUNS_PATH)
    known = set(before.column("run_id").to_pylist()) if before is not None else set()
    waiting = [r for r in failures.pending(repo) if r["run_id"] not in known]  # a lost `forget` never records twice
    rows = [*waiting, run.row(status, api_calls, message, commit=head)]
    return {"run_rows": rows, "runs_before": before,
            "changes_before": read_table(repo, head, CHANGES_PATH)}


def apply_once(
    repo: DatasetRepo, build: Callable[[str | None, SyncState | None], PublishInput], repo_id: str,
    *, damaged_state_ok: bool = False,
) -> tuple[str | None, int]:
    """Plan on the current head and commit with it as parent; re-plan when another writer won.

    Returns (commit id or None when nothing changed, bytes written).
    """
    for _ in range(COMMIT_ATTEMPTS):
        head = repo.head()
        try:
            previous = read_state(repo, head)
        except SyncError:
            if not damaged_state_ok:
                raise
            previous = None  # a rebuild of everything replaces a damaged state
        planned = build(head, previous)
        commit, _ = plan_commit(planned, previous, repo.list_files(head) if head else [], repo_id)
        if commit is None:
            return None, 0
        try:
            reached("commit.before")
            commit_id = repo.commit(commit, parent=head)
            reached("commit.after")
        except ConcurrentWriteError:
            log.warning("another writer committed to %s meanwhile; re-reading and re-planning", repo.description)
            continue
        recorded = planned.runs_before.column("run_id").to_pylist() if planned.runs_before is not None else []
        failures.forget(repo, [r["run_id"] for r in planned.run_rows[:-1]] + recorded)
        return commit_id, sum(content_size(data) for data in commit.adds.values())
    raise TransientError(f"{repo.description} kept changing under this run ({COMMIT_ATTEMPTS} attempts); nothing was published, run again")

