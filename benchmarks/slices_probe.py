"""One consumer read in its own process, through `HF_ENDPOINT` (huggingface_hub reads it at import).
Prints one JSON line: seconds (from after the imports), rows.

    python -m benchmarks.slices_probe pandas --repo bench/prices --code 600000.SH --config by_code [--block 131072]
    python -m benchmarks.slices_probe day --repo bench/prices --day 2024-06-03   # its month's shard, filtered

The recipes are the card's: `pd.read_parquet("hf://datasets/…/by_code", columns=…, filters=…)`;
polars over a pyarrow dataset on `HfFileSystem`; DuckDB with `HfFileSystem` registered as its
fsspec filesystem; `datasets` streaming with `columns` and `filters`.
"""

from __future__ import annotations

import argparse
import json
import os
import time

COLUMNS = ["code", "date", "close", "adj_factor", "volume"]
FOLDERS = {"by_code": "by_code", "default": "data"}


def _fs(block: int | None):
    from huggingface_hub import HfFileSystem

    return HfFileSystem(**({"block_size": block} if block else {}))


def pandas(repo: str, code: str, config: str, block: int | None) -> int:
    import pandas as pd

    options = {"storage_options": {"block_size": block}} if block else {}
    frame = pd.read_parquet(
        f"hf://datasets/{repo}/{FOLDERS[config]}", columns=COLUMNS, filters=[("code", "==", code)], **options
    )
    return len(frame)


def polars(repo: str, code: str, config: str, block: int | None) -> int:
    import polars as pl
    import pyarrow.dataset as ds

    dataset = ds.dataset(f"datasets/{repo}/{FOLDERS[config]}", filesystem=_fs(block), format="parquet")
    return pl.scan_pyarrow_dataset(dataset).filter(pl.col("code") == code).select(COLUMNS).collect().height


def duckdb(repo: str, code: str, config: str, block: int | None) -> int:
    import duckdb as db

    db.register_filesystem(_fs(block))
    sql = f"SELECT {', '.join(COLUMNS)} FROM read_parquet('hf://datasets/{repo}/{FOLDERS[config]}/**/*.parquet') WHERE code = ? ORDER BY date"
    return len(db.execute(sql, [code]).fetchall())


def datasets_streaming(repo: str, code: str, config: str, block: int | None) -> int:
    import datasets

    datasets.disable_progress_bars()
    name = None if config == "default" else config
    stream = datasets.load_dataset(
        repo, name, split="train", streaming=True, columns=COLUMNS, filters=[("code", "==", code)]
    )
    return sum(1 for _ in stream)


def day(repo: str, when: str, block: int | None) -> int:
    """One day across all stocks through the default config: its month's shard, filtered on the date."""
    import pandas as pd

    options = {"storage_options": {"block_size": block}} if block else {}
    shard = f"hf://datasets/{repo}/data/{when[:4]}/{when[:7]}.parquet"
    frame = pd.read_parquet(shard, filters=[("date", "==", pd.Timestamp(when))], **options)
    return len(frame)


READERS = {"pandas": pandas, "polars": polars, "duckdb": duckdb, "datasets": datasets_streaming}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slices_probe")
    parser.add_argument("what", choices=(*READERS, "day"))
    parser.add_argument("--repo", required=True)
    parser.add_argument("--code")
    parser.add_argument("--config", default="by_code", choices=tuple(FOLDERS))
    parser.add_argument("--day")
    parser.add_argument("--block", type=int)
    args = parser.parse_args(argv)
    if args.what == "day":
        started = time.perf_counter()
        rows = day(args.repo, args.day, args.block)
    else:
        reader = READERS[args.what]
        started = time.perf_counter()
        rows = reader(args.repo, args.code, args.config, args.block)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}), flush=True)
    return 0


if __name__ == "__main__":
    # Leave without the interpreter's teardown: pyarrow's I/O threads over an fsspec filesystem can
    # abort the process at exit ("terminate called without an active exception") after the result.
    os._exit(main())
