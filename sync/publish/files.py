"""Small file-system steps of the folder adapter: walk, compare, hard-link, write-new, fsync."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path


def walk(folder: Path) -> list[str]:
    """Every file below `folder` as a sorted POSIX path."""
    out = []
    for root, _, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        out += [name if rel == "." else f"{rel}/{name}".replace(os.sep, "/") for name in files]
    return sorted(out)


def same(file: Path, data: bytes) -> bool:
    return file.is_file() and file.stat().st_size == len(data) and file.read_bytes() == data


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        shutil.copy2(source, target)


def write_new(file: Path, data: bytes) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(file, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_tree(folder: Path) -> None:
    for root, _, _ in os.walk(folder):
        fsync_dir(Path(root))


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
