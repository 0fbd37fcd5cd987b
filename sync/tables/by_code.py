"""Config `by_code`: the default config's rows re-laid for one-stock reads.

Pure functions over Arrow tables and bytes, like `sync.tables.shards`; `sync.publish.by_code` does
the reading and planning. Each file holds whole months (a closed year, or one month of the
watermark's year: `dataset_script.schema.by_code_path`), sorted by (code, date), in row groups cut
at code boundaries, so a reader that filters on `code` reads one row group per file: the statistics
of the others exclude the code. Same rows, same bytes.

A file is checked against the monthly shards by an order-free digest of its rows (`rows_digest`):
the digest of a file is the sum of the digests of the months it holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_script.schema import BY_CODE_SORT_KEYS, PRICE_SCHEMA, by_code_months, by_code_path, to_published
from sync.tables.shards import PLAIN_COLUMNS, SPLIT_COLUMNS, ZSTD_LEVEL

# Rows per row group, at most (a code's rows are never split, so a group may hold more when one
# code alone has more). Chosen by measuring one-stock reads at the full market over 20 years on a
# Hub with 100 ms latency (BENCHMARKS.md §7, docs/performance.md): smaller groups mean fewer bytes
# per read but a bigger footer, which every reader fetches whole.
ROW_GROUP_ROWS = 32_768
_NULL_WORD = np.uint64(0x9E3779B97F4A7C15)


def layout(months: Iterable[tuple[int, int]], watermark_year: int) -> dict[str, list[tuple[int, int]]]:
    """{by_code path: the months it holds}, for the months the monthly shards publish.

    >>> layout([(2023, 11), (2023, 12), (2024, 1)], 2024)
    {'by_code/2023.parquet': [(2023, 11), (2023, 12)], 'by_code/2024/2024-01.parquet': [(2024, 1)]}
    """
    files: dict[str, list[tuple[int, int]]] = {}
    for year, month in sorted(set(months)):
        files.setdefault(_path(year, month, watermark_year), []).append((year, month))
    return files


def _path(year: int, month: int, watermark_year: int) -> str:
    return by_code_path(year, month, dt.date(watermark_year, 12, 31))


def order(table: pa.Table) -> pa.Table:
    """Rows sorted by (code, date), in the contract's columns and types."""
    return table.select(PRICE_SCHEMA.names).cast(PRICE_SCHEMA).sort_by(BY_CODE_SORT_KEYS)


def row_groups(codes: pa.Array | pa.ChunkedArray, target: int = ROW_GROUP_ROWS) -> list[tuple[int, int]]:
    """(offset, length) of each row group over rows sorted by code: cut only where the code changes,
    each group as long as it can be without passing `target` rows (one code alone may pass it).

    >>> row_groups(pa.array(["a", "a", "b", "c", "c", "c"]), target=3)
    [(0, 3), (3, 3)]
    """
    if len(codes) == 0:
        return []
    runs = pc.run_end_encode(codes.combine_chunks() if isinstance(codes, pa.ChunkedArray) else codes)
    ends = runs.run_ends.to_numpy(zero_copy_only=False).tolist()
    groups, start, previous = [], 0, 0
    for end in ends:
        if end - start > target and previous > start:
            groups.append((start, previous - start))
            start = previous
        previous = end
    groups.append((start, len(codes) - start))
    return groups


def to_parquet(table: pa.Table, target: int = ROW_GROUP_ROWS) -> bytes:
    """Deterministic Parquet bytes of rows sorted by (code, date): the monthly shards' encodings,
    row groups cut at code boundaries (`row_groups`), statistics, a page index and the sort order."""
    table = to_published(table).replace_schema_metadata(None)
    names = table.schema.names
    encodings = {name: "PLAIN" for name in names if name in PLAIN_COLUMNS}
    encodings |= {name: "BYTE_STREAM_SPLIT" for name in names if name in SPLIT_COLUMNS}
    sink = io.BytesIO()
    sorting = [pq.SortingColumn(names.index("code")), pq.SortingColumn(names.index("date"))]
    with pq.ParquetWriter(
        sink,
        table.schema,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=[name for name in names if name not in encodings],
        column_encoding=encodings,
        write_page_index=True,
        write_statistics=True,
        sorting_columns=sorting,
    ) as writer:
        for offset, length in row_groups(table.column("code"), target):
            writer.write_table(table.slice(offset, length), row_group_size=length)
    return sink.getvalue()


def file_problems(path: str, data: bytes) -> list[str]:
    """What a reader filtering on `code` relies on: sorted by (code, date), each code in one row
    group, statistics on code and date, a page index."""
    try:
        file = pq.ParquetFile(io.BytesIO(data), page_checksum_verification=False)
    except (pa.ArrowException, OSError):
        return [f"{path}: not a readable Parquet file; `python -m sync full` rebuilds it"]
    meta = file.metadata
    problems = []
    code, date = file.schema_arrow.get_field_index("code"), file.schema_arrow.get_field_index("date")
    if code < 0 or date < 0:
        return [f"{path}: no code or date column"]
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    stats = [(g.column(code).statistics, g.column(date).statistics) for g in groups]
    if any(s is None or not s.has_min_max for pair in stats for s in pair):
        problems.append(f"{path}: a row group has no statistics on code and date")
    elif any(a[0].max >= b[0].min for a, b in zip(stats, stats[1:])):
        problems.append(f"{path}: a code's rows are in more than one row group (or groups are out of order)")
    if not all(g.column(code).has_column_index and g.column(code).has_offset_index for g in groups):
        problems.append(f"{path}: no page index")
    table = file.read(columns=["code", "date"])
    if not table.equals(table.sort_by(BY_CODE_SORT_KEYS)):
        problems.append(f"{path}: rows are not sorted by (code, date)")
    return problems


def rows_digest(table: pa.Table) -> int:
    """An order-free digest of the rows: the sum (mod 2**64) of one 64-bit hash per row over every
    column of the contract. Files holding the same rows in any order have the same digest, and the
    digest of a union of disjoint row sets is the sum of theirs (`add_digests`)."""
    table = table.select(PRICE_SCHEMA.names).cast(PRICE_SCHEMA)
    rows = np.full(table.num_rows, np.uint64(len(PRICE_SCHEMA)), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, name in enumerate(PRICE_SCHEMA.names):
            words = _words(table.column(name).combine_chunks())
            rows = _mix(rows ^ _mix(words + np.uint64(i + 1) * _NULL_WORD))
        return int(rows.sum(dtype=np.uint64))


def add_digests(digests: Iterable[int]) -> int:
    return sum(digests) % (1 << 64)


def digest_text(value: int) -> str:
    return f"{value:016x}"


def _words(column: pa.Array) -> np.ndarray:
    """One uint64 per value: floats by their bits, dates and booleans as integers, strings by a
    hash of their UTF-8 bytes; nulls as a fixed word."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        encoded = pc.dictionary_encode(column)
        uniques = [_text_word(v) for v in encoded.dictionary.to_pylist()]
        lookup = np.array(uniques or [0], dtype=np.uint64)
        words = lookup[encoded.indices.fill_null(0).to_numpy(zero_copy_only=False)]
    elif pa.types.is_floating(kind):
        words = column.fill_null(0.0).to_numpy(zero_copy_only=False).astype(np.float64).view(np.uint64)
    elif pa.types.is_boolean(kind):
        words = column.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint64)
    else:  # dates
        words = column.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
    words = np.array(words, dtype=np.uint64)
    if column.null_count:
        words[column.is_null().to_numpy(zero_copy_only=False)] = _NULL_WORD
    return words


def _text_word(text: str | None) -> int:
    return int.from_bytes(hashlib.blake2b((text or "").encode(), digest_size=8).digest(), "little")


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit moves every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def months_of(path: str) -> list[tuple[int, int]]:
    """The (year, month) keys a `by_code` path can hold."""
    span = by_code_months(path)
    if span is None:
        return []
    (year, first), (_, last) = span
    return [(year, m) for m in range(first, last + 1)]


def expected_counts(
    path: str, shard_rows: Mapping[tuple[int, int], int], shard_digests: Mapping[tuple[int, int], str]
) -> tuple[int, str | None]:
    """(rows, digest) that the `by_code` file `path` must hold: the sums over the months' shards;
    digest None when a month's digest is unknown."""
    months = [m for m in months_of(path) if m in shard_rows]
    digests = [shard_digests.get(m, "") for m in months]
    if any(not d for d in digests):
        return sum(shard_rows[m] for m in months), None
    return sum(shard_rows[m] for m in months), digest_text(add_digests(int(d, 16) for d in digests))
