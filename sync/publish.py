"""Where a sync publishes: one `DatasetRepo` interface, a Hub and a local-folder implementation.

A run reads the current head, plans one `Commit` as data, and applies it once with that head as
the parent. Both adapters make that commit atomic (readers see the old or the new files, never a
mix) and refuse it with `ConcurrentWriteError` when another writer moved the head meanwhile:

    repo = open_repo("./dataset")                      # or "hf://datasets/ellendan/a-share-prices"
    with repo.lock():                                  # single-flight; RepoBusyError if taken
        head = repo.head()                             # None: nothing published yet
        state = repo.read(".sync/state.json", head) if head else None
        new_head = repo.commit(Commit(adds={...}, deletes=[...], message="delta: ..."), parent=head)

Implementations: `sync.publish_local.LocalFolderRepo` (a folder that looks exactly like the Hub
repo, swapped atomically) and `sync.publish_hub.HubRepo` (huggingface_hub `create_commit` with
`parent_commit`). `open_repo` picks one from a target string.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from huggingface_hub import HfApi

HUB_PREFIX = "hf://datasets/"
_REPO_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
_STAGE_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class PublishError(Exception):
    """Publishing failed; the message says what to do. Never contains a token."""


class ConcurrentWriteError(Exception):
    """The repo's head moved since the run read it. Nothing was written: re-read, re-plan, retry."""


class RepoBusyError(Exception):
    """Another sync holds the repo's lock. Wait for it to finish, then run again."""


@dataclass(frozen=True)
class Commit:
    """One atomic change to a dataset repo, built as data and applied once by `DatasetRepo.commit`.

    `adds` maps repo paths (POSIX, relative, e.g. "data/2024/2024-01.parquet") to their full
    content; `deletes` lists files to remove (paths that are already absent are ignored, so the
    same plan can be applied twice; pass `()` for none). `tag` (e.g. "20241231") is pointed at the resulting commit,
    moving it if it exists.
    """

    adds: Mapping[str, bytes]
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


class DatasetRepo(Protocol):
    """A dataset repository a sync publishes to (the Hub, or a local folder that mirrors it)."""

    description: str  # "folder /abs/path" or "hf://datasets/owner/name"; never a token

    def head(self) -> str | None:
        """The current commit id of main; None when nothing exists there yet."""
        ...

    def list_files(self, revision: str) -> list[str]:
        """All file paths at `revision` (a commit id from `head()`), sorted."""
        ...

    def read(self, path: str, revision: str) -> bytes | None:
        """The content of `path` at `revision`; None when the file is absent."""
        ...

    def commit(self, commit: Commit, parent: str | None) -> str:
        """Apply `commit` atomically on top of `parent` (None: the repo must be new or empty).

        Returns the new head (the parent itself when nothing changed). Raises
        `ConcurrentWriteError` when the head is not `parent`; then nothing was written.
        """
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Hold the single-flight lock; a second concurrent run fails fast with `RepoBusyError`."""
        ...

    def stage_files(self, key: str) -> list[str]:
        """Paths staged under `key` (checkpoints of a long full sync); [] when none."""
        ...

    def stage_write(self, key: str, files: Mapping[str, bytes]) -> None:
        """Add or replace staged files under `key`; all of them or none survive a crash."""
        ...

    def stage_read(self, key: str, path: str) -> bytes:
        """A staged file's content; FileNotFoundError when it was not staged."""
        ...

    def stage_drop(self, key: str) -> None:
        """Forget everything staged under `key` (no error when there is nothing)."""
        ...


def open_repo(target: str, *, hf_token: str | None = None, hf_api: HfApi | None = None) -> DatasetRepo:
    """`hf://datasets/OWNER/NAME` → a Hub repo; anything else → a local folder (created when missing).

    No I/O happens here; the first call on the returned repo does it.
    """
    if target.startswith("hf://"):
        repo_id = target[len(HUB_PREFIX):].strip("/") if target.startswith(HUB_PREFIX) else ""
        if not _REPO_ID_RE.fullmatch(repo_id):
            raise PublishError(
                f"unsupported Hub target {target!r}: use hf://datasets/OWNER/NAME, "
                "e.g. hf://datasets/ellendan/a-share-prices"
            )
        from sync.publish_hub import HubRepo

        if hf_api is None:
            from huggingface_hub import HfApi

            hf_api = HfApi(token=hf_token)
        return HubRepo(repo_id, hf_api)
    from sync.publish_local import LocalFolderRepo

    return LocalFolderRepo(Path(target))


@contextlib.contextmanager
def single_flight(lock_file: Path, description: str) -> Iterator[None]:
    """Hold `lock_file` for the duration of a run; fail fast when another run holds it."""
    import filelock

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(lock_file, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise RepoBusyError(
            f"another sync is running on {description} (lock {lock.lock_file}); wait for it to finish"
        ) from None
    try:
        yield
    finally:
        lock.release()


def check_repo_path(path: str) -> str:
    """A repo path must be relative POSIX without '.'/'..' parts, e.g. "meta/stocks.parquet"."""
    if "\\" in path or any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"not a valid path inside a dataset repo: {path!r} (use e.g. 'data/2024/2024-01.parquet')")
    return path


def check_stage_key(key: str) -> str:
    if not _STAGE_KEY_RE.fullmatch(key):
        raise ValueError(f"a staging key must be letters, digits, '.', '_' or '-', e.g. full-20050101; got {key!r}")
    return key


def scrub(text: str, secret: str | None) -> str:
    """`text` with `secret` replaced by `***` (error texts may echo request details)."""
    return text.replace(secret, "***") if secret else text


class FolderStaging:
    """Checkpoints in a plain folder, `<root>/<key>/<path>`; each file is written atomically.

    The Hub adapter falls back to this when the Hub it talks to cannot make branches; those
    checkpoints then survive a crash of the run but not the loss of the machine.
    """

    def __init__(self, root: Path):
        self.root = root

    def files(self, key: str) -> list[str]:
        folder = self.root / check_stage_key(key)
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))

    def write(self, key: str, files: Mapping[str, bytes]) -> None:
        import os
        import tempfile

        folder = self.root / check_stage_key(key)
        for path, data in files.items():
            target = folder / check_repo_path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temp, target)

    def read(self, key: str, path: str) -> bytes | None:
        target = self.root / check_stage_key(key) / check_repo_path(path)
        return target.read_bytes() if target.is_file() else None

    def drop(self, key: str) -> None:
        import shutil

        shutil.rmtree(self.root / check_stage_key(key), ignore_errors=True)
