"""A local stand-in for `HfFileSystem` that counts what a reader fetches: the same fsspec buffered
file (ranged reads through a readahead cache of `block_size`), backed by local files.

Used to choose the `by_code` layout (row-group size, time split) by measuring many variants
without uploading each to a Hub: the bytes a reader asks for here are the bytes it asks the Hub
for through `HfFileSystem`, which is the same `AbstractBufferedFile` over HTTP range requests.

    fs = CountingFS(block_size=1 << 20)
    pd.read_parquet("/data/by_code", filesystem=fs, columns=[...], filters=[("code", "==", "600000.SH")])
    fs.fetched, fs.requests
"""

from __future__ import annotations

import threading

from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractBufferedFile


class CountingFS(LocalFileSystem):
    """Listing as a local filesystem; reading through fsspec's buffered file, counting bytes and requests."""

    protocol = "counting"
    cachable = False  # a new instance per call: each measurement counts from zero

    def __init__(self, block_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.read_block = block_size
        self.fetched = 0
        self.requests = 0
        self._guard = threading.Lock()

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs):
        if "r" not in mode:
            return super()._open(path, mode, block_size, autocommit, cache_options, **kwargs)
        size = self.info(path)["size"]
        block = block_size if block_size not in (None, "default") else self.read_block
        return _CountingFile(self, path, mode=mode, size=size, **({"block_size": block} if block else {}))

    def count(self, n: int) -> None:
        with self._guard:
            self.fetched += n
            self.requests += 1


class _CountingFile(AbstractBufferedFile):
    def _fetch_range(self, start: int, end: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(start)
            data = handle.read(end - start)
        self.fs.count(len(data))
        return data
