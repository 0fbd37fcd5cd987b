"""`verify` for config by_code: every file there, compared row for row with the monthly shards of its months."""

from __future__ import annotations

import pyarrow as pa

from dataset_script.schema import PRICE_SCHEMA, STATE_PATH, is_by_code, shard_month
from dataset_script.state import SyncState
from sync.publish.head import Head
from sync.tables import by_code
from sync.tables.shards import from_parquet, sha256

NEXT_RUN = "the next `python -m sync delta` (or full) writes it from the monthly shards"


def by_code_problems(head: Head, state: SyncState, files: set[str]) -> list[str]:
    """The layout (one file per closed year, one per month of the watermark's year), each file's
    reading aids (`by_code.file_problems`), its record in the state, and its rows against the shards'."""
    shards = {month: path for path in files if (month := shard_month(path)) is not None}
    expected = by_code.layout(shards, state.watermark.year)
    present = {path for path in files if is_by_code(path)}
    problems = [f"{path}: missing from config by_code; {NEXT_RUN}" for path in sorted(set(expected) - present)]
    problems += [
        f"{path}: not a file of config by_code for these shards; the next sync deletes it"
        for path in sorted(present - set(expected))
    ]
    for path in sorted(present & set(expected)):
        data = head.read_bytes(path) or b""
        found = by_code.file_problems(path, data)
        problems += found
        if found and "readable" in found[0]:
            continue
        info = state.by_code.get(path)
        if info is None:
            problems.append(f"{path}: not recorded in {STATE_PATH}")
        elif info.sha256 != sha256(data):
            problems.append(f"{path}: content differs from {STATE_PATH} (sha256)")
        problems += _rows_problems(head, path, from_parquet(data), [shards[m] for m in expected[path]])
    return problems


def _rows_problems(head: Head, path: str, table: pa.Table, months: list[str]) -> list[str]:
    """The file's rows equal its months' shards' rows sorted by (code, date), value for value."""
    if table.schema.remove_metadata() != PRICE_SCHEMA:
        return [f"{path}: columns or types differ from the contract"]
    parts = []
    for month in months:
        try:
            part = from_parquet(head.read_bytes(month) or b"")
        except (pa.ArrowException, OSError):
            return []  # the shard itself is reported unreadable
        if part.schema.remove_metadata() != PRICE_SCHEMA:
            return []  # the shard itself is reported for its columns
        parts.append(part)
    shards = by_code.order(pa.concat_tables(parts))
    if table.num_rows != shards.num_rows:
        return [f"{path}: {table.num_rows} rows, the monthly shards of its months hold {shards.num_rows}; {NEXT_RUN}"]
    if not table.equals(shards):
        return [f"{path}: its rows differ from the monthly shards of its months; `python -m sync full` rebuilds it"]
    return []
