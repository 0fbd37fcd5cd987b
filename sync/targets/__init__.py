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

from dataset_script.schema import REPO_ID
from sync.core.errors import ConfigError
from sync.targets.repo import ConcurrentWriteError, DatasetRepo, PublishError, RepoBusyError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = [
    "HUB_PREFIX",
    "ConcurrentWriteError",
    "DatasetRepo",
    "PublishError",
    "RepoBusyError",
    "dataset_id",
    "hub_repo_id",
    "is_hub",
    "open_repo",
]

HUB_PREFIX = "hf://datasets/"


class BadTargetError(ConfigError, PublishError):
    """`--repo` / DATASET_REPO is not a usable target: a usage error (exit 2)."""


_REPO_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def is_hub(target: str) -> bool:
    """Whether a target string names the Hub (`hf://...`) rather than a local folder."""
    return target.startswith("hf://")


def hub_repo_id(target: str) -> str | None:
    """ "OWNER/NAME" of `hf://datasets/OWNER/NAME`; None for a folder; a malformed Hub target is a usage error."""
    if not is_hub(target):
        return None
    repo_id = target[len(HUB_PREFIX) :].strip("/") if target.startswith(HUB_PREFIX) else ""
    if not _REPO_ID_RE.fullmatch(repo_id):
        raise BadTargetError(
            f"unsupported Hub target {target!r}: use hf://datasets/OWNER/NAME, "
            "e.g. hf://datasets/ellendan/a-share-prices"
        )
    return repo_id


def dataset_id(target: str) -> str:
    """The dataset id a publish names in its card: the Hub repo's own, else the public dataset's."""
    return hub_repo_id(target) or REPO_ID


def open_repo(target: str, *, hf_token: str | None = None, hf_api: HfApi | None = None) -> DatasetRepo:
    """`hf://datasets/OWNER/NAME` → a Hub repo; anything else → a local folder (created when missing).

    No I/O happens here; the first call on the returned repo does it.
    """
    repo_id = hub_repo_id(target)
    if repo_id is not None:
        from sync.targets.hub import HubRepo

        if hf_api is None:
            from huggingface_hub import HfApi

            hf_api = HfApi(token=hf_token)
        return HubRepo(repo_id, hf_api)
    from sync.targets.local import LocalFolderRepo

    return LocalFolderRepo(Path(target))
