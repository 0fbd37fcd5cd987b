"""Monthly shards kept on local disk by their sha256, so a new commit re-downloads only what it changed.

`.sync/state.json` records every shard's sha256. A shard is stored as `<sha256>.parquet`; a new
head that left a month unchanged names the same sha256, so the file on disk is used as it is,
and a one-day delta costs one download (its month). What is kept may be a re-laid copy
(`prepare`; Explore keeps its columns sorted by stock, see `repo_view.by_stock`). Files are written atomically (a temporary
file, then `os.replace`) and checked against their sha256 before they are kept. Downloads of the
shards a chart needs run concurrently, since on the Hub each costs a round trip or two.

On a HuggingFace Space with persistent storage the cache lives under `/data`, so it outlives a
restart; elsewhere under `~/.cache/a-share-prices/shards`.

    cache = ShardCache(Path("/tmp/shards"))
    paths = cache.fetch(repo, head, {"data/2024/2024-01.parquet": "9f2c..."})   # {path: local file}
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sync.targets import DatasetRepo

log = logging.getLogger(__name__)
WORKERS = 8  # concurrent downloads
SPACE_STORAGE = Path("/data")  # a Space's persistent storage, when it has one


def default_folder() -> Path:
    if SPACE_STORAGE.is_dir() and os.access(SPACE_STORAGE, os.W_OK):
        return SPACE_STORAGE / ".cache" / "a-share-prices" / "shards"
    return Path.home() / ".cache" / "a-share-prices" / "shards"


class ShardCache:
    """Shard files by sha256 in `folder`; `downloads` and `downloaded_bytes` count what came from the repo."""

    def __init__(
        self, folder: Path | None = None, workers: int = WORKERS, prepare: Callable[[bytes], bytes] | None = None
    ):
        """`prepare`: turns a downloaded (and checked) shard into what is kept, e.g. a layout for
        one-stock reads; the file is still named by the published shard's sha256."""
        self.folder = Path(folder) if folder is not None else default_folder()
        self.workers, self.prepare = workers, prepare
        self.downloads = 0
        self.downloaded_bytes = 0
        self._guard = threading.Lock()

    def file(self, sha256: str) -> Path:
        return self.folder / f"{sha256}.parquet"

    def fetch(self, repo: DatasetRepo, revision: str, wanted: Mapping[str, str]) -> dict[str, Path]:
        """{shard path: local file} for `wanted` ({shard path: sha256}); missing ones are downloaded.

        A shard the repo does not have at `revision` is left out."""
        found = {path: self.file(sha) for path, sha in wanted.items() if self.file(sha).exists()}
        missing = {path: sha for path, sha in wanted.items() if path not in found}
        if missing:
            self.folder.mkdir(parents=True, exist_ok=True)
            with ThreadPoolExecutor(max_workers=min(self.workers, len(missing))) as pool:
                for path, local in zip(
                    missing, pool.map(lambda item: self._download(repo, revision, *item), missing.items())
                ):
                    if local is not None:
                        found[path] = local
        return {path: found[path] for path in wanted if path in found}

    def _download(self, repo: DatasetRepo, revision: str, path: str, sha256: str) -> Path | None:
        data = repo.read(path, revision)
        with self._guard:
            self.downloads += 1
            self.downloaded_bytes += len(data or b"")
        if data is None:
            return None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:  # the state and the file disagree: keep the file under what it is
            log.warning("%s at %s has sha256 %s, the state says %s", path, revision[:12], actual[:12], sha256[:12])
        target = self.file(actual)
        if self.prepare is not None:
            data = self.prepare(data)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def prune(self, keep: set[str]) -> int:
        """Delete the cached shards whose sha256 is not in `keep` (no current shard); how many went."""
        if not self.folder.is_dir():
            return 0
        gone = 0
        for file in self.folder.glob("*.parquet"):
            if file.stem not in keep:
                file.unlink(missing_ok=True)
                gone += 1
        return gone


class SliceCache:
    """One stock's rows of one `by_code` file, kept on disk by (the file's sha256, the code).

    A `by_code` file is read by ranges (`space_app.by_code_reader`): its footer and the one row group
    that holds the code. What came back is kept as `<sha256>-<code>.parquet`, so a new head that
    left a file unchanged (the closed years, after a one-day delta) costs no request for it; only
    the recent file the delta rewrote is read again. `downloads` and `downloaded_bytes` count reads.

        cache = SliceCache(Path("/tmp/slices"))
        files = cache.fetch({"by_code/2023.parquet": ("9f2c...", 81_234_567)}, "600000.SH", columns, fetcher)
    """

    def __init__(self, folder: Path | None = None, workers: int = WORKERS):
        self.folder = Path(folder) if folder is not None else default_folder().with_name("slices")
        self.workers = workers
        self.downloads = 0
        self.downloaded_bytes = 0
        self._guard = threading.Lock()

    def file(self, sha256: str, code: str) -> Path:
        return self.folder / f"{sha256}-{code}.parquet"

    def fetch(
        self,
        wanted: Mapping[str, tuple[str, int]],
        code: str,
        columns: list[str],
        fetcher: Callable[[str], Callable[[int, int], bytes]],
    ) -> dict[str, Path]:
        """{by_code path: local file of `code`'s rows} for `wanted` ({path: (sha256, size)});
        `fetcher(path)` gives the ranged reader of a path the cache does not hold yet."""
        missing = {p: v for p, v in wanted.items() if not self.file(v[0], code).exists()}
        if missing:
            self.folder.mkdir(parents=True, exist_ok=True)
            with ThreadPoolExecutor(max_workers=min(self.workers, len(missing))) as pool:
                list(pool.map(lambda item: self._slice(item[0], *item[1], code, columns, fetcher), missing.items()))
        return {path: self.file(sha, code) for path, (sha, _) in wanted.items()}

    def _slice(self, path: str, sha256: str, size: int, code: str, columns: list[str], fetcher) -> None:
        import pyarrow.parquet as pq

        from space_app.by_code_reader import read_code

        table, fetched = read_code(fetcher(path), size, code, columns)
        with self._guard:
            self.downloads += 1
            self.downloaded_bytes += fetched
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".part-")
        os.close(handle)
        try:
            pq.write_table(table, temporary)
            os.replace(temporary, self.file(sha256, code))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def prune(self, keep: set[str]) -> int:
        """Delete the slices of files whose sha256 is not in `keep`; how many went."""
        if not self.folder.is_dir():
            return 0
        gone = 0
        for file in self.folder.glob("*.parquet"):
            if file.stem.split("-", 1)[0] not in keep:
                file.unlink(missing_ok=True)
                gone += 1
        return gone
