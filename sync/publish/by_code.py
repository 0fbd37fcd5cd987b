"""Config `by_code` planned on a head: which of its files a run rewrites, built from the monthly shards.

A `by_code` file is rebuilt when one of its months changed in this run, when it is new (a first
publish, a repo published before `by_code` existed, a month file compacted into its closed year),
or when what the state records for it no longer adds up to its months. Every other file is kept as
published. The files are built from the monthly shards alone (this run's, and the head's for the
months it did not touch), so a repo without `by_code` gets it without a Tushare call.

    planned = by_code_on_head(head, shards, watermark, replace_all=False)
    planned.files        # {by_code path: BuiltShard} to publish
    planned.digests      # {shard path: digest} of head shards whose state had none
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from dataset_script.schema import shard_month
from dataset_script.state import ShardInfo
from sync.core.errors import SyncError
from sync.publish.head import REBUILD, Head
from sync.publish.plan import BuiltShard
from sync.tables import by_code
from sync.tables.shards import from_parquet

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ByCodePlan:
    files: dict[str, BuiltShard]  # by_code files this run (re)builds
    digests: dict[str, str]  # shard path -> rows digest, for head shards read without one recorded


def by_code_on_head(
    head: Head, shards: Mapping[str, BuiltShard], watermark: dt.date, replace_all: bool, spill: Path | None = None
) -> ByCodePlan:
    """The `by_code` files to publish with `shards` (the months this run built) on top of `head`;
    `spill`: a folder to write them to, as for the shards (None: kept in memory)."""
    previous = head.state
    old_shards = previous.shards if previous is not None else {}
    kept = {} if replace_all or previous is None else dict(old_shards)
    infos: dict[str, ShardInfo] = {**kept, **{path: built.info for path, built in shards.items()}}
    by_month = {month: path for path in infos if (month := shard_month(path)) is not None}
    changed = {
        shard_month(path)
        for path, built in shards.items()
        if path not in old_shards or old_shards[path].sha256 != built.info.sha256
    }
    old_files = previous.by_code if previous is not None else {}
    files: dict[str, BuiltShard] = {}
    digests: dict[str, str] = {}
    for path, months in by_code.layout(by_month, watermark.year).items():
        rows = {m: infos[by_month[m]].rows for m in months}
        known = {m: infos[by_month[m]].digest for m in months if infos[by_month[m]].digest}
        expected = by_code.expected_counts(path, rows, known)
        old = old_files.get(path)
        if old is not None and not set(months) & changed and (old.rows, old.digest) == expected:
            continue
        tables = []
        for month in months:
            table = _month_table(head, shards, by_month[month])
            if not infos[by_month[month]].digest:
                digests[by_month[month]] = by_code.digest_text(by_code.rows_digest(table))
            tables.append(table)
        files[path] = build(path, pa.concat_tables(tables), spill)
        log.info("by_code: built %s (%d rows)", path, files[path].info.rows)
    return ByCodePlan(files, digests)


def build(path: str, table: pa.Table, spill: Path | None = None) -> BuiltShard:
    """One `by_code` file as it will be published, with its info (digest included) and its problems."""
    table = by_code.order(table)
    data = by_code.to_parquet(table)
    return BuiltShard.encoded(table, data, tuple(by_code.file_problems(path, data)), spill)


def _month_table(head: Head, shards: Mapping[str, BuiltShard], path: str) -> pa.Table:
    """A month's rows: this run's shard, else the head's (read without keeping it: a backfill reads every month)."""
    if path in shards:
        return from_parquet(shards[path].data)
    data = head.read_bytes(path)
    if not data:
        raise SyncError(f"the published shard {path} is missing; run `python -m sync verify`, then {REBUILD}")
    return from_parquet(data)
