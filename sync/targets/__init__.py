"""Where a sync publishes: one `DatasetRepo` interface, a Hub and a local-folder implementation.

A run reads the current head, plans one `Commit` as data, and applies it once with that head as
the parent. Both adapters make that commit atomic (readers see the old or the new files, never a
mix) and refuse it with `ConcurrentWriteError` when another writer moved the head meanwhile:

    repo = open_repo("./dataset")                      # or "hf://datasets/ellendan/a-share-prices"
    with repo.lock():                                  # single-flight; RepoBusyError if taken
        head = repo.head()                             # None: nothing published yet
        state = repo.read(".sync/state.json", head) if head else None
        new_head = repo.commit(Commit(adds={...}, deletes=[...], message="delta: ..."), parent=head)

Implementations: `sync.targets.local.LocalFolderRepo` (a folder that looks exactly like the Hub
repo, swapped atomically) and `sync.targets.hub.HubRepo` (huggingface_hub `create_commit` with
`parent_commit`). `open_repo` picks one from a target string.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sync.core.errors import ConfigError
from sync.targets.repo import (
    ConcurrentWriteError, DatasetRepo, PublishError, RepoBusyError,
)

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["HUB_PREFIX", "ConcurrentWriteError", "DatasetRepo", "PublishError", "RepoBusyError", "open_repo"]

HUB_PREFIX = "hf://datasets/"


class BadTargetError(ConfigError, PublishError):
    """`--repo` / DATASET_REPO is not a usable target: a usage error (exit 2)."""
_REPO_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def open_repo(target: str, *, hf_token: str | None = None, hf_api: HfApi | None = None) -> DatasetRepo:
    """`hf://datasets/OWNER/NAME` → a Hub repo; anything else → a local folder (created when missing).

    No I/O happens here; the first call on the returned repo does it.
    """
    if target.startswith("hf://"):
        repo_id = target[len(HUB_PREFIX):].strip("/") if target.startswith(HUB_PREFIX) else ""
        if not _REPO_ID_RE.fullmatch(repo_id):
            raise BadTargetError(
                f"unsupported Hub target {target!r}: use hf://datasets/OWNER/NAME, "
                "e.g. hf://datasets/ellendan/a-share-prices"
            )
        from sync.targets.hub import HubRepo

        if hf_api is None:
            from huggingface_hub import HfApi

            hf_api = HfApi(token=hf_token)
        return HubRepo(repo_id, hf_api)
    from sync.targets.local import LocalFolderRepo

    return LocalFolderRepo(Path(target))
