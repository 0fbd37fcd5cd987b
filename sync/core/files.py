"""Atomic local writes: a reader (or a crash) sees a file's old or new content, never a part of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes | str, *, temp_dir: Path | None = None, durable: bool = False) -> None:
    """Replace `path` with `data`: written to a temporary file (named `.tmp-*`, in `temp_dir` or
    beside `path`, on the same file system), then `os.replace`d. `durable` also fsyncs the file
    before and its folder after the swap, for bookkeeping that must survive a power cut.

        write_atomic(Path("state/tags.json"), json.dumps(tags))
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = temp_dir or path.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
