"""One stock's rows from one `by_code` file by ranged reads: the footer, then the one row group that
holds the code (its statistics say which), and only the byte ranges of the columns asked for.

A `by_code` file is sorted by (code, date) with each code in one row group
(`sync.tables.by_code`), so a 5-year chart costs, per file, a footer and a slice of one row group
instead of the whole file. `fetch(start, end)` reads bytes [start, end) of the file; on the Hub it
is an HTTP range request (`hub_fetcher`), on a folder a seek in the published file.

    table, fetched = read_code(fetch, size=1_234_567, code="600000.SH", columns=["code", "date", "close"])
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sync.targets import DatasetRepo

Fetch = Callable[[int, int], bytes]
# Bytes read from the end at first: a year's footer fits, so one request. At least the 64 KiB that
# pyarrow reads from the end of a file when it opens it.
FOOTER_GUESS = 256 * 1024
GAP = 128 * 1024  # column chunks closer than this are read in one request


class _Sparse(io.RawIOBase):
    """A read-only file of `size` bytes of which some ranges are known; a read elsewhere fetches it."""

    def __init__(self, size: int, fetch: Fetch):
        self.size, self.fetch, self.pos, self.fetched = size, fetch, 0, 0
        self.parts: list[tuple[int, bytes]] = []

    def load(self, start: int, end: int) -> None:
        data = self.fetch(start, end)
        self.fetched += len(data)
        self.parts.append((start, data))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        want = min(len(buffer), self.size - self.pos)
        if want <= 0:
            return 0
        for start, data in self.parts:
            if start <= self.pos and self.pos + want <= start + len(data):
                buffer[:want] = data[self.pos - start : self.pos - start + want]
                self.pos += want
                return want
        end = self.pos + want
        covered = [s for s, data in self.parts if self.pos < s < end <= s + len(data)]
        self.load(self.pos, min(covered) if covered else end)  # not planned for: one more request
        if covered:  # the part read now joins the one after it
            first, rest = self.parts.pop(), next(p for p in self.parts if p[0] == min(covered))
            self.parts.append((first[0], first[1] + rest[1]))
        return self.readinto(buffer)


def read_code(fetch: Fetch, size: int, code: str, columns: Sequence[str]) -> tuple[pa.Table, int]:
    """(the rows of `code` with `columns`, bytes fetched) from a `by_code` file of `size` bytes."""
    file = _Sparse(size, fetch)
    file.load(max(0, size - max(FOOTER_GUESS, 64 * 1024)), size)
    meta = pq.read_metadata(file)
    names = meta.schema.to_arrow_schema().names
    wanted = [c for c in columns if c in names]
    group = _group_of(meta, names.index("code"), code)
    if group is None:
        return meta.schema.to_arrow_schema().empty_table().select(wanted), file.fetched
    for start, end in _ranges(meta.row_group(group), [names.index(c) for c in wanted]):
        file.load(start, end)
    table = pq.ParquetFile(file, metadata=meta).read_row_group(group, columns=wanted)
    return table.filter(pc.equal(table.column("code"), code)), file.fetched


def _group_of(meta: pq.FileMetaData, column: int, code: str) -> int | None:
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(column).statistics
        if stats is None or not stats.has_min_max or stats.min <= code <= stats.max:
            return i
    return None


def _ranges(group: pq.RowGroupMetaData, columns: list[int]) -> list[tuple[int, int]]:
    """Byte ranges of the column chunks, merged where the gap between them is small."""
    spans = []
    for i in sorted(columns):
        chunk = group.column(i)
        start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
        spans.append((start, start + chunk.total_compressed_size))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= GAP:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def fetcher(repo: DatasetRepo, revision: str, path: str) -> Fetch:
    """Ranged reads of `path` at `revision`: HTTP range requests on the Hub, a seek in a folder."""
    from sync.targets.hub import HubRepo
    from sync.targets.local import LocalFolderRepo

    if isinstance(repo, HubRepo):
        return hub_fetcher(repo, revision, path)
    if isinstance(repo, LocalFolderRepo):
        return _file_fetcher(repo.version_path(revision) / path)
    data = repo.read(path, revision) or b""
    return lambda start, end: data[start:end]


def hub_fetcher(repo, revision: str, path: str) -> Fetch:
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_backoff

    url = hf_hub_url(repo.repo_id, path, repo_type="dataset", revision=revision, endpoint=repo.api.endpoint)

    def fetch(start: int, end: int) -> bytes:
        headers = {**build_hf_headers(token=repo.api.token), "Range": f"bytes={start}-{end - 1}"}
        response = http_backoff("GET", url, headers=headers)
        hf_raise_for_status(response)
        return response.content

    return fetch


def _file_fetcher(file: Path) -> Fetch:
    def fetch(start: int, end: int) -> bytes:
        with file.open("rb") as handle:
            handle.seek(start)
            return handle.read(end - start)

    return fetch
