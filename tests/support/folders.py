"""A folder target's every path and byte as one digest, to show a refused run changed nothing."""

import hashlib


def snapshot(folder) -> str:
    """Every path and byte under the folder's parent (the dataset, its store, its tags)."""
    digest = hashlib.sha256()
    for path in sorted(folder.parent.rglob("*")):
        if path.is_symlink():
            digest.update(f"{path} -> {path.readlink()}\n".encode())
        elif path.is_file() and not path.name.endswith(".lock"):
            digest.update(f"{path}\n".encode() + path.read_bytes())
    return digest.hexdigest()
