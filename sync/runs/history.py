"""Run history (`meta/runs.parquet`): one row per run that published, plus the failed runs before it.

A run row is written by the run that publishes, in the same commit as its data; runs that failed
before it on this machine ride along (see `sync.runs.failures`). Pure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import pyarrow as pa

from dataset_script.schema import RUNS_SCHEMA
from sync.core.progress import RunKind, RunStatus, Trigger


def run_row(
    run_id: str,
    trigger: Trigger,
    kind: RunKind,
    started_at: dt.datetime,
    finished_at: dt.datetime,
    status: RunStatus,
    api_calls: Mapping[str, int],
    message: str,
    commit: str | None = None,
    days_added: int = 0,
    rows_added: int = 0,
    rows_changed: int = 0,
) -> dict:
    """One row of meta/runs.parquet; times are stored in UTC."""
    return {
        "run_id": run_id,
        "trigger": trigger,
        "kind": kind,
        "started_at": started_at.astimezone(dt.UTC),
        "finished_at": finished_at.astimezone(dt.UTC),
        "status": status,
        "days_added": days_added,
        "rows_added": rows_added,
        "rows_changed": rows_changed,
        "api_calls": json.dumps(dict(sorted(api_calls.items()))),
        "commit": commit,
        "message": message,
    }


def runs_table(previous: pa.Table | None, rows: Sequence[Mapping]) -> pa.Table:
    """The run history with `rows` appended, oldest first; an older table gains the newer columns."""
    fresh = pa.Table.from_pylist([dict(r) for r in rows], schema=RUNS_SCHEMA)
    return pa.concat_tables([upgraded_runs(previous), fresh]) if previous is not None else fresh


def upgraded_runs(table: pa.Table) -> pa.Table:
    """A runs table of any earlier layout in today's: columns it lacks (`watermark_before`,
    `watermark_after`, `tag`, `files_changed`, added later) are null, since those runs did not record them.

    >>> old = pa.table({"run_id": ["r1"]})
    >>> upgraded_runs(old).column("files_changed").to_pylist()
    [None]
    """
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in RUNS_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=RUNS_SCHEMA)
