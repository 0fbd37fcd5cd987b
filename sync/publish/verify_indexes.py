"""`verify` for the index files (`index/prices.parquet`, `index/weights/YYYY.parquet`), from the files alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import pyarrow as pa

from dataset_script.schema import INDEX_PREFIX, INDEX_PRICES_PATH, INDEX_PRICES_SCHEMA, INDEX_WEIGHTS_SCHEMA
from dataset_script.state import SyncState
from sync.publish.head import Head
from sync.tables import indexes
from sync.tables.shards import from_parquet, sha256


def index_problems(head: Head, state: SyncState, trading_days: Collection[dt.date] | None) -> list[str]:
    """Unreadable, unrecorded or changed index files; the tables' invariants (sorted, unique keys,
    bars on published trading days only)."""
    paths = sorted(p for p in head.files if p.startswith(INDEX_PREFIX))
    problems: list[str] = []
    tables = {}
    for path in paths:
        data = head.read_bytes(path) or b""
        if state.files.get(path) != sha256(data):
            problems.append(f"{path}: not recorded in the state, or its content differs (sha256); run a delta")
        try:
            table = from_parquet(data)
        except (pa.ArrowException, OSError):
            problems.append(f"{path}: not a readable Parquet file; the next delta rewrites it")
            continue
        schema = INDEX_PRICES_SCHEMA if path == INDEX_PRICES_PATH else INDEX_WEIGHTS_SCHEMA
        if table.schema.remove_metadata() != schema:
            problems.append(f"{path}: columns or types differ from the contract")
            continue
        tables[path] = table
    prices = tables.pop(INDEX_PRICES_PATH, INDEX_PRICES_SCHEMA.empty_table())
    weights = pa.concat_tables(tables.values()) if tables else INDEX_WEIGHTS_SCHEMA.empty_table()
    codes = tuple(set(prices.column("code").to_pylist()) | set(weights.column("index_code").to_pylist()))
    days = trading_days if trading_days is not None else set(prices.column("date").to_pylist())
    return problems + indexes.problems(indexes.IndexTables(prices, weights, codes), list(days))
