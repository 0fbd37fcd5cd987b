"""The published files as a consumer sees them, and the old approach's one CSV of the same rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def shard_files(repo: Path) -> list[Path]:
    """The data shards (`data/YYYY/YYYY-MM.parquet`) in date order."""
    return sorted(repo.resolve().glob("data/*/*.parquet"))


def published_rows(repo: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(path) for path in shard_files(repo)])


def write_history_csv(repo: Path, out: Path, shuffle: bool = True, seed: int = 0) -> tuple[int, int]:
    """Every published row as one CSV (the old `all-prices.csv`), rows shuffled: (rows, bytes)."""
    frame = published_rows(repo).to_pandas()
    if shuffle:
        frame = frame.iloc[np.random.default_rng(seed).permutation(len(frame))]
    frame.to_csv(out, index=False)
    return len(frame), out.stat().st_size


def kind_of(path: str) -> str:
    """data shard, by_code file, meta table, card, or state (what a commit's bytes are made of)."""
    if path.startswith("data/"):
        return "shard"
    if path.startswith("by_code/"):
        return "by_code"
    if path.startswith("meta/"):
        return "meta"
    if path == "README.md":
        return "card"
    return "state"
