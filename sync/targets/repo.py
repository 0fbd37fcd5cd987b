"""The repo protocol every publish target implements, its errors, and helpers both adapters share."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from dataset_script.schema import CALENDAR_CSV, LEGACY_CSV, STATE_PATH, foreign_files
from sync.core.errors import SyncError, TransientError
from sync.core.files import write_atomic
from sync.targets.commit import Commit, check_repo_path

_STAGE_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class PublishError(SyncError):
    """Publishing failed; the message says what to do. Never contains a token."""


class LegacyLayoutError(PublishError):
    """The target holds the old pipeline's layout (`all-prices.csv`, no state); only `full --migrate-legacy` replaces it."""

    def __init__(self, description: str, how: str):
        super().__init__(
            f"{description} holds the old pipeline's layout ({LEGACY_CSV} and no {STATE_PATH}), which this sync "
            f"does not update. Migrate it once with `python -m sync full --migrate-legacy`: it fetches the whole "
            f"history, then {how}. It keeps the old card's own front-matter keys (e.g. license) and every file of "
            f"yours (it lists them); a {CALENDAR_CSV} becomes the sync's, regenerated in its old format on every "
            "publish. Nothing was changed"
        )


FOREIGN_SHOWN = 10  # foreign files named in a refusal


class ForeignFilesError(PublishError):
    """The target has no state, no `all-prices.csv`, and files of someone else's: never published into."""

    def __init__(self, description: str, files: Sequence[str], remove: str):
        more = f", and {len(files) - FOREIGN_SHOWN} more" if len(files) > FOREIGN_SHOWN else ""
        super().__init__(
            f"{description} has no {STATE_PATH} and holds files that are not a dataset this sync published "
            f"({', '.join(files[:FOREIGN_SHOWN])}{more}), so it does not publish there. Publish to another target "
            f"(--repo or DATASET_REPO, e.g. a new or empty one), or {remove} first; nothing was changed"
        )


def foreign_refusal(description: str, files: Sequence[str]) -> ForeignFilesError | None:
    """The refusal of a target with no state and no `all-prices.csv` that holds foreign files; None otherwise."""
    if STATE_PATH in files or LEGACY_CSV in files:
        return None
    foreign = foreign_files(files)
    if not foreign:
        return None
    where = "delete them from the repo" if description.startswith("hf://") else "move them out of the folder"
    return ForeignFilesError(description, foreign, where)


@dataclasses.dataclass(frozen=True)
class Retired:
    """Where a migrated legacy layout's CSV is kept, and the old card (its own front matter is kept)."""

    location: str
    card: bytes | None


class ConcurrentWriteError(TransientError):
    """The repo's head moved since the run read it. Nothing was written: re-read, re-plan, retry."""


class RepoBusyError(TransientError):
    """Another sync holds the repo's lock. Wait for it to finish, then run again."""


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

    def legacy_layout(self) -> bool:
        """True when main holds the old pipeline's layout (see `dataset_script.schema.is_legacy_layout`)."""
        ...

    def legacy_files(self) -> list[str]:
        """The files at main while it is the legacy layout; [] when it is not."""
        ...

    def legacy_error(self) -> LegacyLayoutError:
        """The refusal of a run on the legacy layout, saying what `--migrate-legacy` does here."""
        ...

    def retire_legacy(self) -> Retired | None:
        """Set the legacy layout aside just before the migrating commit (None: main is not legacy).

        The Hub tags main `legacy-csv` (the commit then deletes the CSV); a folder moves its old
        files into its store, outside the published view. Called again after a lost commit race.
        """
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

    def stage_prune(self, max_age: dt.timedelta, now: dt.datetime) -> list[str]:
        """Drop every staging area whose last write is older than `max_age` before `now`; return their keys.

        A full sync calls this at its start, so checkpoints of runs abandoned long ago (which it
        would not reuse anyway) do not pile up: `repo.stage_prune(dt.timedelta(days=7), now)`.
        """
        ...


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


def check_stage_key(key: str) -> str:
    if not _STAGE_KEY_RE.fullmatch(key):
        raise ValueError(f"a staging key must be letters, digits, '.', '_' or '-', e.g. full-20050101; got {key!r}")
    return key


class FolderStaging:
    """Checkpoints in a plain folder, `<root>/<key>/<path>`; each file is written atomically.

    The Hub adapter falls back to this when the Hub it talks to cannot make branches; those
    checkpoints then survive a crash of the run but not the loss of the machine.
    """

    def __init__(self, root: Path):
        self.root = root

    def files(self, key: str) -> list[str]:
        folder = self.root / check_stage_key(key)
        return sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def write(self, key: str, files: Mapping[str, bytes]) -> None:
        folder = self.root / check_stage_key(key)
        for path, data in files.items():
            write_atomic(folder / check_repo_path(path), data)

    def read(self, key: str, path: str) -> bytes | None:
        target = self.root / check_stage_key(key) / check_repo_path(path)
        return target.read_bytes() if target.is_file() else None

    def drop(self, key: str) -> None:
        shutil.rmtree(self.root / check_stage_key(key), ignore_errors=True)

    def keys(self) -> list[str]:
        """The keys that have a folder here (possibly empty)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _STAGE_KEY_RE.fullmatch(p.name))

    def last_write(self, key: str) -> dt.datetime | None:
        """When a file of `key` was last written (UTC); None when nothing is staged under it."""
        folder = self.root / check_stage_key(key)
        if not folder.is_dir():
            return None
        newest = max((p.stat().st_mtime for p in [folder, *folder.rglob("*")]), default=folder.stat().st_mtime)
        return dt.datetime.fromtimestamp(newest, dt.UTC)
