"""Plain dataset folders: recognise one (copied, restored, downloaded), check it, swap it atomically.

A `LocalFolderRepo` normally owns a symlink into its versions store. A user may instead point it
at a plain folder that holds a published dataset: `cp -r dataset copy`, a restored backup, or a
Hub snapshot downloaded with `hf download --local-dir`. Such a folder is read as it is, and
adopted into the versioned layout on the next write, when:

- it holds `.sync/state.json`, and every shard and file the state lists is there with the sha256
  (and rows) the state records, and no shard the state does not list; within the project's own
  folders `data/` and `meta/` it holds only shards and meta tables; files of the maintainer's elsewhere
  (an image for the card) are kept; `.cache/huggingface/` is the Hub client's download
  bookkeeping and is left out;
- or it holds no state and nothing foreign (a card, `.gitattributes`): a full sync publishes there.

Anything else is refused with what to do. The checks read every byte once; `LocalFolderRepo`
caches the result while the folder's listing (paths, sizes, mtimes) stays the same.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import errno
import hashlib
import os
import re
import uuid
from pathlib import Path

import pyarrow.parquet as pq

from dataset_script.schema import STATE_PATH, foreign_files, is_by_code, shard_month
from dataset_script.state import SyncState
from sync.core.files import fsync_dir
from sync.targets.files import fsync_tree, link_or_copy
from sync.targets.files import walk as walk_all
from sync.targets.repo import ForeignFilesError, PublishError

TOOL_DIR = ".cache/huggingface/"  # huggingface_hub's download metadata inside a --local-dir
DATASET_FILES = (  # what the sync's own folders may hold
    "meta/*.parquet, data/YYYY/YYYY-MM.parquet, by_code/*, index/prices.parquet and index/weights/YYYY.parquet"
)
_ROOT_FILES = frozenset({"README.md", ".last_update_date", ".gitattributes"})
_META_RE = re.compile(r"meta/[^/]+\.parquet")
_INDEX_RE = re.compile(r"index/(prices|weights/\d{4})\.parquet")
_SHOWN = 5  # problems or foreign files named in a message
_CHECKED_FOLDERS = ("data/", "meta/", "index/", "by_code/")  # own folders whose every file must be one of DATASET_FILES


@dataclasses.dataclass(frozen=True)
class PlainFolder:
    """A valid plain dataset folder: its commit id (stable while its content is) and its files."""

    id: str
    files: tuple[str, ...]


def is_dataset_file(path: str) -> bool:
    return (
        path in _ROOT_FILES
        or path.startswith(".sync/")
        or bool(_META_RE.fullmatch(path))
        or bool(_INDEX_RE.fullmatch(path))
        or shard_month(path) is not None
        or is_by_code(path)
    )


def walk(folder: Path) -> list[str]:
    """Every file below `folder` as a sorted POSIX path, without the Hub client's bookkeeping."""
    return [p for p in walk_all(folder) if not p.startswith(TOOL_DIR)]


def fingerprint(folder: Path) -> tuple:
    """Cheap identity of a folder's content (paths, sizes, mtimes): the cache key for `inspect`."""
    entries = []
    for path in walk(folder):
        stat = (folder / path).stat()
        entries.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


def inspect(folder: Path) -> PlainFolder:
    """Check a non-empty plain folder; raise `PublishError` saying what to do when it cannot be adopted.

    Files outside the project's own paths (`dataset_script.schema.OWN_FOLDERS`, e.g. the maintainer's
    image beside a downloaded dataset) are adopted as they are and carried into every later version.
    A folder without a state is adopted only when nothing in it is foreign (`foreign_files`).
    """
    files = walk(folder)
    state_file = folder / STATE_PATH
    if not state_file.is_file():
        foreign = foreign_files(files)
        if foreign:
            raise ForeignFilesError(f"folder {folder}", foreign, f"move those files out of {folder}")
        return PlainFolder(_plain_id(b"plain folder without a state\n", folder, files), tuple(files))
    strays = [p for p in files if p.startswith(_CHECKED_FOLDERS) and not is_dataset_file(p)]
    if strays:
        raise PublishError(
            f"{folder} already holds files in the sync's own folders that it does not manage ({_some(strays)}); "
            f"there a dataset folder holds only {DATASET_FILES}. Move those files away, or point DATASET_REPO "
            "(or --repo) at an empty or new folder"
        )
    raw = state_file.read_bytes()
    try:
        state = SyncState.from_json(raw)
    except (ValueError, KeyError, TypeError) as e:
        problems = [f"{STATE_PATH} is unreadable ({type(e).__name__}: {e})"]
    else:
        problems = _state_problems(folder, files, state)
    if problems:
        raise PublishError(
            f"{folder} does not match its {STATE_PATH} ({_some(problems)}): it changed after it was published. "
            "Copy or download the dataset again, or move this folder away and run `python -m sync full`"
        )
    return PlainFolder(_plain_id(b"adopted folder\n" + raw, folder, files), tuple(files))


def legacy(folder: Path) -> PlainFolder:
    """The old pipeline's plain folder (`all-prices.csv`, no state) as it is, to become a version of its own."""
    files = walk(folder)
    return PlainFolder(_plain_id(b"legacy folder\n", folder, files), tuple(files))


def keep_copy(version: Path, store: Path, name: str) -> Path:
    """`<store>/<name>` (or `<name>-2`, ...): a copy of a version's files in hard links, made once
    (an earlier identical copy is reused), built in `<store>/tmp` and renamed into place."""
    files = walk(version)
    sizes = [(p, (version / p).stat().st_size) for p in files]
    n = 1
    while True:
        keep = store / (name if n == 1 else f"{name}-{n}")
        if not os.path.lexists(keep):
            break
        if keep.is_dir() and [(p, (keep / p).stat().st_size) for p in walk(keep)] == sizes:
            return keep
        n += 1
    build = store / "tmp" / f"keep-{uuid.uuid4().hex[:8]}"
    for path in files:
        link_or_copy(version / path, build / path)
    fsync_tree(build)
    os.rename(build, keep)
    fsync_dir(store)
    return keep


def _plain_id(prefix: bytes, folder: Path, files: list[str]) -> str:
    digest = hashlib.sha1(prefix)
    for path in files:
        digest.update(f"{path} {(folder / path).stat().st_size}\n".encode())
    return digest.hexdigest()


def _state_problems(folder: Path, files: list[str], state: SyncState) -> list[str]:
    present = set(files)
    problems = [f"{p} is not listed in the state" for p in files if shard_month(p) and p not in state.shards]
    problems += [f"{p} is not listed in the state" for p in files if is_by_code(p) and p not in state.by_code]
    for path, info in sorted({**state.shards, **state.by_code}.items()):
        if path not in present:
            problems.append(f"{path} is missing")
        elif _sha256(folder / path) != info.sha256:
            problems.append(f"{path} has another sha256 than the state records")
        elif pq.read_metadata(folder / path).num_rows != info.rows:
            problems.append(f"{path} has another row count than the state records")
    for path, digest in sorted(state.files.items()):
        if path not in present:
            problems.append(f"{path} is missing")
        elif _sha256(folder / path) != digest:
            problems.append(f"{path} has another sha256 than the state records")
    return problems


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _some(items: list[str]) -> str:
    more = f", and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


_RENAME_EXCHANGE = 2  # linux/fs.h


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where that is unavailable."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name, use_errno=True) if name else None
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # an old kernel, or a filesystem without exchange
    raise OSError(code, os.strerror(code), str(a), None, str(b))
