"""How the `by_code` row-group size and a reader's block size set the bytes of a one-stock read.

One year of a published dataset is re-laid as a `by_code` year file at several row-group sizes; each
is read for a few stocks (5 columns, a filter on code) by pandas, polars over a pyarrow dataset, and
DuckDB, through `CountingFS` (fsspec's buffered file, as `HfFileSystem` reads the Hub) at several
block sizes. Prints a Markdown table: bytes per stock per file, and requests.

    python -m benchmarks.slices_sweep /tmp/a-share-explore/<size>/dataset 2024
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.slice_fs import CountingFS
from sync.tables import by_code
from sync.tables.shards import from_parquet

COLUMNS = ["code", "date", "close", "adj_factor", "volume"]
ROW_GROUPS = (8192, 16384, 32768, 65536)
BLOCKS = (None, 256 * 1024, 64 * 1024)  # None: fsspec's default, 5 MiB
STOCKS = 6


def readers(path: str, code: str, fs: CountingFS) -> dict:
    import duckdb
    import pandas as pd
    import polars as pl
    import pyarrow.dataset as ds

    return {
        "pandas": lambda: pd.read_parquet(path, filesystem=fs, columns=COLUMNS, filters=[("code", "==", code)]),
        "polars": lambda: (
            pl.scan_pyarrow_dataset(ds.dataset(path, filesystem=fs, format="parquet"))
            .filter(pl.col("code") == code)
            .select(COLUMNS)
            .collect()
        ),
        "duckdb": lambda: _duckdb(duckdb, fs, path, code),
    }


def _duckdb(duckdb, fs: CountingFS, path: str, code: str):
    con = duckdb.connect()
    con.register_filesystem(fs)
    sql = f"SELECT {', '.join(COLUMNS)} FROM read_parquet('counting://{path}') WHERE code = ?"
    return con.execute(sql, [code]).fetchall()


def sweep(folder: Path, year: int, scratch: Path) -> str:
    shards = sorted((folder / "data" / f"{year:04d}").glob("*.parquet"))
    table = by_code.order(pa.concat_tables([from_parquet(p.read_bytes()) for p in shards]))
    codes = pc.unique(table.column("code")).to_pylist()
    picked = codes[:: max(1, len(codes) // STOCKS)][:STOCKS]
    rows = []
    for target in ROW_GROUPS:
        data = by_code.to_parquet(table, target=target)
        path = scratch / f"by_code-{year}-{target}.parquet"
        path.write_bytes(data)
        footer = int.from_bytes(data[-8:-4], "little")
        row = [f"{target:,}", f"{len(data) / 1e6:.1f} MB", f"{footer / 1e3:.0f} kB"]
        for block in BLOCKS:
            for name in ("pandas", "polars", "duckdb"):
                fetched = requests = 0
                for code in picked:
                    fs = CountingFS(block_size=block)
                    readers(str(path), code, fs)[name]()
                    fetched, requests = fetched + fs.fetched, requests + fs.requests
                row.append(f"{fetched / len(picked) / 1e6:.2f} MB / {requests / len(picked):.0f}")
        rows.append(row)
        path.unlink()
    header = ["rows per group (at most)", "file", "footer"] + [
        f"{name}, block {'5 MiB (default)' if block is None else f'{block // 1024} KiB'}"
        for block in BLOCKS
        for name in ("pandas", "polars", "duckdb")
    ]
    shard_bytes = sum(p.stat().st_size for p in shards)
    intro = (
        f"{year}: {table.num_rows:,} rows, {len(codes):,} codes; its 12 monthly shards {shard_bytes / 1e6:.1f} MB. "
        f"Bytes and requests per stock per file, mean of {len(picked)} stocks:"
    )
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join([intro, "", *lines, *("| " + " | ".join(r) + " |" for r in rows)])


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        print(sweep(Path(sys.argv[1]), int(sys.argv[2]), Path(scratch)))
