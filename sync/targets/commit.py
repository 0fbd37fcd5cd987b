"""The commit vocabulary every target applies: a `Commit` of adds and deletes, and `Content`.

Targets (a folder, the Hub) apply a `Commit` as one atomic change; the publish stage plans it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

_TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


_BLOCK = 1 << 20


Content = bytes | Path
"""A file's content in a commit: the bytes, or a local file that holds them (a month shard written
to disk as soon as it is built, so a long rebuild never holds every month in memory)."""


def content_size(content: Content) -> int:
    return len(content) if isinstance(content, bytes) else content.stat().st_size


def content_blocks(content: Content) -> Iterator[bytes]:
    """The content in blocks of at most 1 MiB, read from disk as they are consumed."""
    if isinstance(content, bytes):
        yield content
        return
    with open(content, "rb") as f:
        while block := f.read(_BLOCK):
            yield block


def content_bytes(content: Content) -> bytes:
    return content if isinstance(content, bytes) else content.read_bytes()


def content_digest(content: Content, algorithm: str = "sha256", prefix: bytes = b"") -> str:
    """hashlib digest of `prefix` + the content, streamed; e.g. a git blob id is
    `content_digest(c, "sha1", b"blob %d\\0" % content_size(c))`."""
    digest = hashlib.new(algorithm, prefix)
    for block in content_blocks(content):
        digest.update(block)
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class Commit:
    """One atomic change to a dataset repo, built as data and applied once by `DatasetRepo.commit`.

    `adds` maps repo paths (POSIX, relative, e.g. "data/2024/2024-01.parquet") to their full
    content: bytes, or the `Path` of a local file holding it (read only when applied); `deletes` lists files to remove (paths that are already absent are ignored, so the
    same plan can be applied twice; pass `()` for none). `tag` (e.g. "20241231") is created at the resulting
    commit when that commit changed something and the tag does not exist yet; an existing tag never moves.
    """

    adds: Mapping[str, Content]
    deletes: Sequence[str]
    message: str
    tag: str | None = None

    def __post_init__(self) -> None:
        for path in [*self.adds, *self.deletes]:
            check_repo_path(path)
        both = set(self.adds) & set(self.deletes)
        if both:
            raise ValueError(f"a commit cannot both add and delete {sorted(both)}")
        if not self.message.strip():
            raise ValueError("a commit needs a non-empty message")
        if self.tag is not None and not _TAG_RE.fullmatch(self.tag):
            raise ValueError(f"tag must be letters, digits, '.', '_' or '-', e.g. 20241231; got {self.tag!r}")


def check_repo_path(path: str) -> str:
    """A repo path must be relative POSIX without '.'/'..' parts, e.g. "meta/stocks.parquet"."""
    if "\\" in path or any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"not a valid path inside a dataset repo: {path!r} (use e.g. 'data/2024/2024-01.parquet')")
    return path
