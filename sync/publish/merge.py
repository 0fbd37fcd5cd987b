"""The one merge of rebuilt months onto the published head, shared by full and delta sync.

A rebuilt month replaces the head's rows of the days it rebuilt and keeps the head's other days
of that month (a range edge, or days that a concurrent writer published); the published values it
changed become rows of the restatement log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd

from sync.publish.head import Head
from sync.publish.plan import BuiltShard
from sync.tables.restatements import diff_rows, no_changes
from sync.tables.shards import from_parquet, merge_shard


def merge_months(
    head: Head, rebuilt: Mapping[str, BuiltShard], replaced: Collection[dt.date], run_id: str, spill: Path | None = None
) -> tuple[dict[str, BuiltShard], pd.DataFrame]:
    """Each rebuilt month merged onto the head's shard of that month, and the restatement log rows.

    A month the head does not publish, or publishes with the same bytes, is taken as built; a merged
    month is written to `spill` like the built ones (None: kept in memory).
    """
    shards: dict[str, BuiltShard] = {}
    changes = [no_changes()]
    for path, built in rebuilt.items():
        info = head.state.shards.get(path) if head.state else None
        if info is None or info.sha256 == built.info.sha256:
            shards[path] = built
            continue
        published, ours = head.shard(path), from_parquet(built.data)
        in_month = [d for d in built.days if d in replaced]
        changes.append(diff_rows(published, ours, in_month, run_id))
        # the head's days of a month are gap-free, so counting the rebuilt ones among them tells whether all are
        covers_head = sum(info.first_date <= d <= info.last_date for d in built.days) == info.days
        shards[path] = (
            built if covers_head else BuiltShard.build(path, merge_shard(published, ours, in_month), spill=spill)
        )
    return shards, pd.concat(changes, ignore_index=True)
