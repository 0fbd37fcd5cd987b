"""Small file-system steps of the folder adapter: walk, compare, hard-link, write-new, fsync.

A file's new content is bytes or a local file (`sync.publish.plan.Content`); a file is compared and
copied block by block, never read whole.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from sync.core.files import fsync_dir
from sync.targets.commit import Content, content_blocks, content_size


def walk(folder: Path) -> list[str]:
    """Every file below `folder` as a sorted POSIX path."""
    out = []
    for root, _, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        out += [name if rel == "." else f"{rel}/{name}".replace(os.sep, "/") for name in files]
    return sorted(out)


def same(file: Path, data: Content) -> bool:
    if not file.is_file() or file.stat().st_size != content_size(data):
        return False
    if isinstance(data, bytes):
        return file.read_bytes() == data
    with open(file, "rb") as f:
        return all(f.read(len(block)) == block for block in content_blocks(data))


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        shutil.copy2(source, target)


def write_new(file: Path, data: Content) -> None:
    """A new file with `data`, on disk when this returns; a local file is hard-linked where it can be."""
    file.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, Path):
        link_or_copy(data, file)
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return
    with open(file, "xb") as f:
        for block in content_blocks(data):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())


def fsync_tree(folder: Path) -> None:
    for root, _, _ in os.walk(folder):
        fsync_dir(Path(root))
