"""A local folder that looks exactly like the Hub repo and changes atomically, even under kill -9.

Layout for a target `./dataset`:

    dataset -> .dataset.sync/versions/<commit id>     the visible folder is a symlink
    .dataset.sync/versions/<commit id>/...            one complete file tree per version
    .dataset.sync/staging/<key> -> ../versions/<id>   checkpoints of a long full sync
    .dataset.sync/tmp/                                versions and links being built
    .dataset.sync/tags.json, kept.json                tag -> commit id; main's kept versions, oldest first
    .dataset.sync/run.lock, write.lock                single-flight lock; short lock per change

A commit builds the new version in `tmp/` (unchanged files hard-linked from the current version,
new ones written), renames it into `versions/`, then swaps the `dataset` symlink with one
`os.replace`. A crash at any moment leaves the old or the new version visible, never a mix; the
leftovers in `tmp/` are removed by the next change. The commit id is the version's folder name, so
`head()` is one `readlink` and nothing extra appears inside the visible folder. The newest
FOLDER_VERSIONS versions of main are kept (readers of an older one keep working, and a tag can be
loaded while its version is kept); older ones are removed, and so are their tags. Unchanged files
are hard links between versions, so a kept version costs only the files it changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import filelock

from dataset_script.schema import FOLDER_VERSIONS, LEGACY_CSV, LEGACY_TAG, STATE_PATH
from sync.core.files import fsync_dir, write_atomic
from sync.core.killpoints import reached
from sync.targets import adopt
from sync.targets.commit import Commit, Content, check_repo_path, content_digest
from sync.targets.files import fsync_tree, link_or_copy, same, walk, write_new
from sync.targets.repo import (
    ConcurrentWriteError,
    LegacyLayoutError,
    PublishError,
    RepoBusyError,
    Retired,
    check_stage_key,
    single_flight,
)

log = logging.getLogger(__name__)

MAIN = "main"
WRITE_LOCK_TIMEOUT = 120.0  # seconds another process may spend on one commit or stage_write
_ID_RE = re.compile(r"[0-9a-f]{40}")


def store_of(folder: Path) -> Path:
    """Where a folder target keeps its versions, lock and staging: `.<name>.sync` beside it."""
    return folder.parent / f".{folder.name}.sync"


class LocalFolderRepo:
    """A `DatasetRepo` in a local folder; `datasets.load_dataset(str(path))` reads it like the Hub repo."""

    def __init__(self, path: Path):
        self.path = Path(os.path.abspath(path))
        self.store = store_of(self.path)
        self.description = f"folder {self.path}"
        self._plain_cache: tuple[tuple, adopt.PlainFolder] | None = None

    # -- reading -----------------------------------------------------------------------------
    def head(self) -> str | None:
        path = self.path
        if path.is_symlink():
            target = os.readlink(path)
            version = target.removeprefix(f"{self.store.name}/versions/")
            if not _ID_RE.fullmatch(version):
                raise PublishError(
                    f"{path} is a symlink to {target}, which this sync does not manage; "
                    "point DATASET_REPO (or --repo) at an empty or new folder instead"
                )
            if not (self.store / "versions" / version).is_dir():
                raise PublishError(
                    f"{path} points to version {version}, which is missing from {self.store}; "
                    f"restore that folder, or remove {path} and run a full sync"
                )
            return version
        if not path.exists():
            return None
        if path.is_dir() and not any(path.iterdir()):
            return None
        if not path.is_dir():
            raise PublishError(f"{path} is a file, not a folder; point DATASET_REPO (or --repo) at a folder")
        if self.legacy_layout():
            raise self.legacy_error()
        return self._plain().id

    # -- the old pipeline's layout --------------------------------------------------------------
    def legacy_layout(self) -> bool:
        folder = self._visible()
        return folder is not None and (folder / LEGACY_CSV).is_file() and not (folder / STATE_PATH).is_file()

    def legacy_files(self) -> list[str]:
        folder = self._visible()
        return adopt.walk(folder) if folder is not None and self.legacy_layout() else []

    def legacy_error(self) -> LegacyLayoutError:
        return LegacyLayoutError(
            self.description,
            f"keeps a copy of the old files, {LEGACY_CSV} included, in {self.store / LEGACY_TAG} (outside the "
            f"published folder) and, in one step, publishes the new layout in {self.path} without {LEGACY_CSV}",
        )

    def retire_legacy(self) -> Retired | None:
        """Keep a copy of the legacy files outside the published view (hard links: no extra space); a
        plain legacy folder first becomes a version of its own, so the migrating commit builds on it and
        carries every file it does not replace. Safe to call again after a crash or a lost race."""
        with self._write_lock():
            if not self.legacy_layout():
                return None
            if self._is_plain():
                self._swap_in(adopt.legacy(self.path))
            version = self.store / "versions" / (self.head() or "")
            keep = adopt.keep_copy(version, self.store, LEGACY_TAG)
            log.info("kept the legacy layout of %s in %s", self.description, keep)
            card = version / "README.md"
            return Retired(str(keep / LEGACY_CSV), card.read_bytes() if card.is_file() else None)

    def _visible(self) -> Path | None:
        """The folder readers see: the plain folder, or main's version; None when there is none."""
        if self.path.is_symlink():
            version = self.head()
            return self.store / "versions" / version if version else None
        return self.path if self._is_plain() else None

    def _plain(self) -> adopt.PlainFolder:
        """The plain (not yet adopted) folder at `path`, checked once per content; PublishError if foreign."""
        key = adopt.fingerprint(self.path)
        if self._plain_cache is None or self._plain_cache[0] != key:
            self._plain_cache = (key, adopt.inspect(self.path))
        return self._plain_cache[1]

    def _is_plain(self) -> bool:
        return self.path.is_dir() and not self.path.is_symlink() and any(self.path.iterdir())

    def list_files(self, revision: str) -> list[str]:
        folder = self._version_dir(revision)
        return list(self._plain().files) if folder == self.path else walk(folder)

    def read(self, path: str, revision: str) -> bytes | None:
        file = self._version_dir(revision) / check_repo_path(path)
        return file.read_bytes() if file.is_file() else None

    def version_path(self, revision: str = MAIN) -> Path:
        """The immutable folder of one version (like a Hub snapshot), kept while it is one of the newest FOLDER_VERSIONS.

        Load this with `datasets.load_dataset(str(path))` rather than the folder itself: datasets
        5.2 keys its cache for a local folder with YAML `configs:` by the folder path and the card,
        not by the files, so loading the same folder after a commit can serve the old build.
        """
        return self._version_dir(revision)

    def tags(self) -> dict[str, str]:
        """tag -> commit id, for the tags whose version is still kept (the others are pruned with it)."""
        file = self.store / "tags.json"
        return json.loads(file.read_text()) if file.is_file() else {}

    def kept_versions(self) -> list[str]:
        """Main's kept versions, oldest first, the current one last (at most FOLDER_VERSIONS)."""
        file = self.store / "kept.json"
        if file.is_file():
            return list(json.loads(file.read_text()))
        previous = self.store / "previous"  # written by earlier releases, which kept one previous version
        return [previous.read_text().strip()] if previous.is_file() else []

    def _kept_versions(self, current: str | None, new: str) -> list[str]:
        """The kept versions once main moves from `current` to `new`: the newest FOLDER_VERSIONS."""
        before = self.kept_versions()
        if current and current not in before:
            before.append(current)
        return [v for v in before if v != new][-(FOLDER_VERSIONS - 1) :] + [new]

    # -- writing -----------------------------------------------------------------------------
    def commit(self, commit: Commit, parent: str | None) -> str:
        with self._write_lock():
            self._adopt_if_plain()
            current = self.head()
            if current != parent:
                raise ConcurrentWriteError(
                    f"{self.description} changed since this run read it (expected {parent or 'no version'}, "
                    f"found {current or 'no version'}); nothing was written, run the sync again"
                )
            new = self._build(MAIN, current, commit.adds, commit.deletes, commit.message)
            if new != current:
                self._point(MAIN, new)
                self._write_atomic("kept.json", json.dumps(self._kept_versions(current, new)).encode())
                log.info("published %s as %s", self.description, new)
            if commit.tag and new != current:
                self._set_tag(commit.tag, new)
            self._collect_garbage()
            return new

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Single-flight; a plain dataset folder is adopted into the versioned layout here."""
        with single_flight(self.store / "run.lock", self.description):
            if self._is_plain() and not self.legacy_layout():  # a legacy folder is only ever migrated
                with self._write_lock():
                    self._adopt_if_plain()
            yield

    # -- staging -----------------------------------------------------------------------------
    def stage_files(self, key: str) -> list[str]:
        version = self._staged(check_stage_key(key))
        return walk(self.store / "versions" / version) if version else []

    def stage_write(self, key: str, files: Mapping[str, bytes]) -> None:
        ref = f"staging/{check_stage_key(key)}"
        with self._write_lock():
            current = self._staged(key)
            if current is None and not files:
                return
            new = self._build(ref, current, files, (), f"stage {key}")
            if new != current:
                self._point(ref, new)
                reached("local.staged")
                self._collect_garbage()

    def stage_read(self, key: str, path: str) -> bytes:
        version = self._staged(check_stage_key(key))
        file = self.store / "versions" / version / check_repo_path(path) if version else None
        if file is None or not file.is_file():
            raise FileNotFoundError(f"{path} is not staged under {key!r} in {self.description}")
        return file.read_bytes()

    def stage_drop(self, key: str) -> None:
        link = self.store / "staging" / check_stage_key(key)
        with self._write_lock():
            if link.is_symlink():
                link.unlink()
                fsync_dir(link.parent)
            self._collect_garbage()

    def stage_prune(self, max_age: dt.timedelta, now: dt.datetime) -> list[str]:
        """Drop staging keys last written (their link replaced) before `now - max_age`."""
        staging = self.store / "staging"
        if not staging.is_dir():
            return []
        cutoff = (now.astimezone(dt.UTC) - max_age).timestamp()
        removed = []
        with self._write_lock():
            for link in sorted(staging.iterdir()):
                if link.is_symlink() and link.lstat().st_mtime < cutoff:
                    link.unlink()
                    removed.append(link.name)
            if removed:
                fsync_dir(staging)
                log.info("removed staging areas older than %s from %s: %s", max_age, self.description, removed)
                self._collect_garbage()
        return removed

    # -- internals ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Serialise changes between processes; then clear what a crashed change left in tmp/."""
        self.store.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(self.store / "write.lock", timeout=WRITE_LOCK_TIMEOUT)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise RepoBusyError(
                f"another process has been writing to {self.description} for {WRITE_LOCK_TIMEOUT:.0f} s "
                f"(lock {lock.lock_file}); wait for it to finish"
            ) from None
        try:
            self._recover_adoption()
            shutil.rmtree(self.store / "tmp", ignore_errors=True)
            (self.store / "tmp").mkdir()
            yield
        finally:
            lock.release()

    def _version_dir(self, revision: str) -> Path:
        version = self.head() if revision in (MAIN, "HEAD") else self.tags().get(revision, revision)
        if version and self._is_plain() and version == self._plain().id:
            return self.path
        folder = self.store / "versions" / version if version and _ID_RE.fullmatch(version) else None
        if folder is None or not folder.is_dir():
            raise PublishError(
                f"revision {revision!r} is not available in {self.description} "
                f"(only the newest {FOLDER_VERSIONS} versions are kept, and tags of removed ones are dropped); "
                "read at head() instead"
            )
        return folder

    # -- adopting a plain dataset folder ----------------------------------------------------
    def _adopt_if_plain(self) -> None:
        """Move a valid plain folder into the layout: build its version, then swap a symlink into its place.

        Readers see the old folder or the new symlink (to the same files), never a mix. A crash
        while building leaves the folder untouched (tmp/ is cleared by the next change). The swap
        is one renameat2(RENAME_EXCHANGE): afterwards `adopting/` holds the old folder, removed
        at once or by the next change. Where the exchange is unavailable it takes two renames
        (folder -> adopting/, link -> folder); a crash between them leaves no folder for a moment,
        and `_recover_adoption` (first thing under the next write lock) moves the folder back;
        the next adoption then reuses the version already built (its id is the same).
        """
        if self._is_plain():
            self._swap_in(self._plain())

    def _swap_in(self, plain: adopt.PlainFolder) -> None:
        """Build the version of a plain folder (hard links) and swap a symlink to it into its place."""
        final = self.store / "versions" / plain.id
        if not final.is_dir():
            build = self.store / "tmp" / f"adopt-{plain.id}-{uuid.uuid4().hex[:8]}"
            build.mkdir(parents=True)
            for path in plain.files:
                link_or_copy(self.path / path, build / path)
            fsync_tree(build)
            final.parent.mkdir(exist_ok=True)
            os.rename(build, final)
            fsync_dir(final.parent)
        holding = self.store / "adopting"
        holding.mkdir(exist_ok=True)
        link = holding / f"link-{uuid.uuid4().hex[:8]}"
        os.symlink(f"{self.store.name}/versions/{plain.id}", link)
        if not adopt.exchange(link, self.path):
            os.rename(self.path, holding / f"folder-{plain.id}")
            os.replace(link, self.path)
        fsync_dir(self.path.parent)
        self._plain_cache = None
        shutil.rmtree(holding, ignore_errors=True)
        log.info("adopted the plain dataset folder %s as version %s", self.path, plain.id)

    def _recover_adoption(self) -> None:
        """Finish what a crashed adoption left: put a moved-away folder back, drop leftovers."""
        holding = self.store / "adopting"
        if not holding.is_dir():
            return
        if not os.path.lexists(self.path):
            folders = [p for p in holding.iterdir() if p.is_dir() and not p.is_symlink()]
            if folders:
                os.rename(folders[0], self.path)
                fsync_dir(self.path.parent)
        shutil.rmtree(holding, ignore_errors=True)

    def _staged(self, key: str) -> str | None:
        link = self.store / "staging" / key
        return os.path.basename(os.readlink(link)) if link.is_symlink() else None

    def _build(
        self, ref: str, base: str | None, adds: Mapping[str, Content], deletes: Sequence[str], message: str
    ) -> str:
        """Create the version `base` + changes and return its id (`base` itself when nothing changes)."""
        base_dir = self.store / "versions" / base if base else None
        base_files = walk(base_dir) if base_dir else []
        for path in adds:
            check_repo_path(path)
        gone = sorted(set(deletes) & set(base_files))
        changed = {p: d for p, d in adds.items() if not (base_dir and same(base_dir / p, d))}
        if base and not changed and not gone:
            return base
        version = _commit_id(ref, base, changed, gone, message)
        final = self.store / "versions" / version
        if final.is_dir():  # built completely by an attempt that crashed before switching to it
            return version
        build = self.store / "tmp" / f"{version}-{uuid.uuid4().hex[:8]}"
        build.mkdir(parents=True)
        if base_dir is not None:
            for path in base_files:
                if path not in changed and path not in gone:
                    link_or_copy(base_dir / path, build / path)
        for path, data in changed.items():
            write_new(build / path, data)
            reached("local.main_file_written" if ref == MAIN else "local.stage_file_written")
        fsync_tree(build)
        final.parent.mkdir(exist_ok=True)
        os.rename(build, final)
        fsync_dir(final.parent)
        reached("local.main_version_built" if ref == MAIN else "local.stage_version_built")
        return version

    def _point(self, ref: str, version: str) -> None:
        """Atomically switch `ref` (main = the visible folder, or staging/<key>) to `version`."""
        tmp_link = self.store / "tmp" / f"link-{uuid.uuid4().hex[:8]}"
        if ref == MAIN:
            os.symlink(f"{self.store.name}/versions/{version}", tmp_link)
            if self.path.is_dir() and not self.path.is_symlink():
                self.path.rmdir()  # an empty folder (head() refuses non-empty ones)
            os.replace(tmp_link, self.path)
            fsync_dir(self.path.parent)
        else:
            os.symlink(f"../versions/{version}", tmp_link)
            link = self.store / ref
            link.parent.mkdir(exist_ok=True)
            os.replace(tmp_link, link)
            fsync_dir(link.parent)

    def _set_tag(self, tag: str, version: str) -> None:
        """Create `tag` at `version`; a tag that exists is never moved (`revision=tag` stays reproducible)."""
        tags = self.tags()
        if tag not in tags:
            tags[tag] = version
            self._write_atomic("tags.json", json.dumps(tags, indent=1, sort_keys=True).encode())

    def _write_atomic(self, name: str, data: bytes) -> None:
        """Replace a small bookkeeping file in the store (under the write lock)."""
        write_atomic(self.store / name, data, temp_dir=self.store / "tmp", durable=True)

    def _collect_garbage(self) -> None:
        """Remove versions that neither main, main's kept versions nor a staging key uses, and the
        tags of removed versions (tags.json names only versions that can still be loaded)."""
        keep = {None if self._is_plain() else self.head(), *self.kept_versions()}  # a plain folder has no version yet
        staging = self.store / "staging"
        if staging.is_dir():
            keep.update(self._staged(link.name) for link in staging.iterdir())
        tags = self.tags()
        if any(version not in keep for version in tags.values()):
            kept_tags = {tag: version for tag, version in tags.items() if version in keep}
            self._write_atomic("tags.json", json.dumps(kept_tags, indent=1, sort_keys=True).encode())
        versions = self.store / "versions"
        for folder in versions.iterdir() if versions.is_dir() else []:
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def _commit_id(ref: str, base: str | None, changed: Mapping[str, Content], gone: Sequence[str], message: str) -> str:
    """Deterministic 40-hex id: the same change on the same base always names the same tree."""
    digest = hashlib.sha1(f"ref {ref}\nparent {base or ''}\nmessage {message}\n".encode())
    for path in sorted(changed):
        digest.update(f"add {path} {content_digest(changed[path], 'sha1')}\n".encode())
    for path in gone:
        digest.update(f"delete {path}\n".encode())
    return digest.hexdigest()
