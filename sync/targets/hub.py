"""The dataset repo on the Hugging Face Hub, through the real `huggingface_hub` client.

One `create_commit(..., parent_commit=parent)` per publish: the Hub applies all operations or
none, and answers 412 when another writer moved main meanwhile (→ `ConcurrentWriteError`).
Checkpoints of a long full sync are commits on a side branch `sync-staging/<key>` of the same
repo, so they survive a restart of the machine. The token never appears in an error message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import httpx2
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, RepoFile, constants, get_token
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from dataset_script.schema import LEGACY_CSV, LEGACY_TAG, is_legacy_layout
from sync.core.scrub import scrub
from sync.targets.commit import Commit, Content, check_repo_path, content_digest, content_size
from sync.targets.hub_retry import CommitRetry, GaveUp
from sync.targets.hub_staging import DEFAULT_STAGE_INTERVAL, HubStaging
from sync.targets.hub_xet import XET_RETRY_SECONDS, bound_xet_retries, xet_failure
from sync.targets.repo import (
    ConcurrentWriteError,
    LegacyLayoutError,
    PublishError,
    RepoBusyError,
    Retired,
    single_flight,
)

log = logging.getLogger(__name__)

REPO_TYPE = "dataset"
HUB_OWN_FILES = frozenset({".gitattributes"})  # the Hub creates it with every repo
T = TypeVar("T")


class HubRepo:
    """A `DatasetRepo` for `hf://datasets/<repo_id>`; `api` carries the endpoint and the token."""

    def __init__(
        self,
        repo_id: str,
        api: HfApi,
        *,
        lock_dir: Path | None = None,
        sleep: Callable[[float], None] | None = None,
        stage_interval: float = DEFAULT_STAGE_INTERVAL,
        clock: Callable[[], float] | None = None,
    ):
        """`sleep` waits between commit retries; `stage_interval` (seconds, by `clock`) spaces staging commits."""
        self.repo_id = repo_id
        self.api = api
        bound_xet_retries()  # before the process's first Xet transfer (see sync.targets.hub_xet)
        self.lock_dir = lock_dir  # None: <HF_HOME>/locks/a-share-prices-sync, looked up when locking
        self.description = f"hf://datasets/{repo_id}"
        sleep, clock = sleep or time.sleep, clock or time.monotonic  # real time unless a test passes its own
        self._retry = CommitRetry(sleep)
        self._staging = HubStaging(
            api,
            repo_id,
            root=self._staging_root,
            call=self._call,
            interval=stage_interval,
            clock=clock,
            download=lambda path, revision: self._download(path, revision, missing_revision_ok=True),
        )

    # -- reading -----------------------------------------------------------------------------
    def head(self) -> str | None:
        """main's commit id; None when the repo is missing or holds only the Hub's own files."""
        info = self._read("read the current commit", self._info_or_none)
        if info is None or not {s.rfilename for s in info.siblings or []} - HUB_OWN_FILES:
            return None
        return info.sha

    def list_files(self, revision: str) -> list[str]:
        return sorted(
            self._read(
                f"list the files at {revision}",
                lambda: self.api.list_repo_files(self.repo_id, repo_type=REPO_TYPE, revision=revision),
            )
        )

    def read(self, path: str, revision: str) -> bytes | None:
        return self._download(check_repo_path(path), revision)

    # -- writing -----------------------------------------------------------------------------
    def commit(self, commit: Commit, parent: str | None) -> str:
        if parent is None:
            parent = self._call("create the repo", self._adopt_empty_repo)
        remote = self._read(f"list the files at {parent}", lambda: self._tree_or_none(parent))
        if remote is None:
            raise self._moved(parent, "a history without that commit")
        changed = {p: d for p, d in commit.adds.items() if not _same(remote.get(p), d)}
        gone = sorted(set(commit.deletes) & set(remote))
        if not changed and not gone:
            head = self._read("read the current commit", self._info_or_none)
            if head is None or head.sha != parent:
                raise self._moved(parent, head.sha if head else "no repo")
            new = parent
        else:
            new = self._call("commit", lambda: self._create_commit(commit.message, changed, gone, parent))
            log.info("published %s as %s", self.description, new)
        if commit.tag and new != parent:
            self._tag_best_effort(commit.tag, new)
        return new

    def _tag_best_effort(self, tag: str, commit_id: str) -> None:
        """The data is published at this point; a tag that cannot be set is worth a warning, not a failure."""
        try:
            self._call(f"create tag {tag} at {commit_id}", lambda: self._create_tag(tag, commit_id))
        except PublishError as error:
            log.warning("published, but not tagged: %s", error)

    # -- the old pipeline's layout --------------------------------------------------------------
    def legacy_layout(self) -> bool:
        return bool(self.legacy_files())

    def legacy_files(self) -> list[str]:
        info = self._read("read the current commit", self._info_or_none)
        files = sorted(s.rfilename for s in info.siblings or []) if info is not None else []
        return files if is_legacy_layout(files) else []

    def legacy_error(self) -> LegacyLayoutError:
        return LegacyLayoutError(
            self.description,
            (
                f"tags the current commit `{LEGACY_TAG}` and, in one commit, adds the new layout and deletes "
                f'{LEGACY_CSV}; readers keep the old files with revision="{LEGACY_TAG}"'
            ),
        )

    def retire_legacy(self) -> Retired | None:
        """Tag main `legacy-csv` while it is the legacy layout (moved along if the old pipeline committed
        since an earlier attempt); the migrating commit then deletes the CSV on top of it."""
        info = self._read("read the current commit", self._info_or_none)
        if info is None or not is_legacy_layout(s.rfilename for s in info.siblings or []):
            return None
        self._call(f"tag the legacy layout {LEGACY_TAG}", lambda: self._move_tag(LEGACY_TAG, info.sha))
        log.info("tagged the legacy layout of %s (%s) as %s", self.description, info.sha, LEGACY_TAG)
        return Retired(
            f'{self.description} at revision="{LEGACY_TAG}" (file {LEGACY_CSV})', self._download("README.md", info.sha)
        )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """A lock file per repo on this machine; other machines are caught by `parent_commit`."""
        lock_dir = self.lock_dir or Path(constants.HF_HOME) / "locks" / "a-share-prices-sync"
        name = re.sub(r"[^A-Za-z0-9._-]", "_", self.repo_id)
        with single_flight(lock_dir / f"{name}-{self._machine_key}.lock", self.description):
            yield

    # -- staging: on this machine at once, on a side branch in batches (see hub_staging) ------
    def stage_write(self, key: str, files: Mapping[str, bytes]) -> None:
        self._staging.write(key, files)

    def stage_files(self, key: str) -> list[str]:
        return self._staging.files(key)

    def stage_read(self, key: str, path: str) -> bytes:
        data = self._staging.read(key, path)
        if data is None:
            raise FileNotFoundError(f"{path} is not staged under {key!r} in {self.description}")
        return data

    def stage_drop(self, key: str) -> None:
        self._staging.drop(key)

    def stage_prune(self, max_age: dt.timedelta, now: dt.datetime) -> list[str]:
        return self._staging.prune(max_age, now)

    # -- the run journal (see sync.runs.failures), beside the staging branches ----------------
    def journal_read(self) -> bytes | None:
        return self._staging.journal_read()

    def journal_write(self, data: bytes | None, *, create: bool = False) -> bool:
        return self._staging.journal_write(data, create=create)

    def _staging_root(self) -> Path:
        return Path(constants.HF_HOME) / "a-share-prices-sync" / "staging" / self._machine_key

    @property
    def _machine_key(self) -> str:
        """Names this repo's files on this machine: the same repo name on two endpoints differs."""
        return hashlib.sha1(f"{self.api.endpoint}/{self.repo_id}".encode()).hexdigest()[:12]

    # -- internals ---------------------------------------------------------------------------
    def _info_or_none(self):  # -> DatasetInfo | None
        try:
            return self.api.repo_info(self.repo_id, repo_type=REPO_TYPE)
        except RepositoryNotFoundError:
            return None

    def _tree_or_none(self, revision: str) -> dict[str, RepoFile] | None:
        """path -> RepoFile at `revision`; None when the revision does not exist."""
        try:
            entries = self.api.list_repo_tree(self.repo_id, recursive=True, repo_type=REPO_TYPE, revision=revision)
            return {e.path: e for e in entries if isinstance(e, RepoFile)}
        except (RepositoryNotFoundError, RevisionNotFoundError):
            return None

    def _adopt_empty_repo(self) -> str:
        """Create the repo when missing; return main's commit if it holds no data, else refuse."""
        info = self._info_or_none()
        if info is None:
            self.api.create_repo(self.repo_id, repo_type=REPO_TYPE, exist_ok=True)
            info = self.api.repo_info(self.repo_id, repo_type=REPO_TYPE)
        if {s.rfilename for s in info.siblings or []} - HUB_OWN_FILES:
            raise self._moved(None, info.sha)
        return info.sha

    def _create_commit(self, message: str, adds: Mapping[str, Content], deletes: list[str], parent: str) -> str:
        # A local file is uploaded from its path: the client streams it, never holding every shard at once.
        ops: list[CommitOperationAdd | CommitOperationDelete] = [
            CommitOperationAdd(path_in_repo=p, path_or_fileobj=d if isinstance(d, bytes) else str(d))
            for p, d in sorted(adds.items())
        ]
        ops += [CommitOperationDelete(path_in_repo=p) for p in deletes]
        try:
            info = self._retry(
                lambda: self.api.create_commit(
                    self.repo_id, ops, commit_message=message, repo_type=REPO_TYPE, parent_commit=parent
                )
            )
        except HfHubHTTPError as e:
            if e.response is not None and e.response.status_code == 412:
                raise self._moved(parent, "a newer commit") from None
            raise
        # If main moved to a state that already holds exactly these adds, the client skips the
        # commit and returns that head: nothing of the other writer was overwritten.
        return info.oid

    def _create_tag(self, tag: str, commit_id: str) -> None:
        """Tags are immutable: an existing tag is left where it is, whatever it names."""
        tags = {t.name for t in self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE).tags}
        if tag not in tags:
            self.api.create_tag(self.repo_id, tag=tag, revision=commit_id, repo_type=REPO_TYPE)

    def _move_tag(self, tag: str, commit_id: str) -> None:
        tags = {t.name: t.target_commit for t in self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE).tags}
        if tags.get(tag) == commit_id:
            return
        if tag in tags:
            self.api.delete_tag(self.repo_id, tag=tag, repo_type=REPO_TYPE)
        self.api.create_tag(self.repo_id, tag=tag, revision=commit_id, repo_type=REPO_TYPE)

    def _download(self, path: str, revision: str, *, missing_revision_ok: bool = False) -> bytes | None:
        def download() -> bytes | None:
            with tempfile.TemporaryDirectory(prefix="sync-read-") as cache:
                try:
                    local = self.api.hf_hub_download(
                        self.repo_id, path, repo_type=REPO_TYPE, revision=revision, cache_dir=cache
                    )
                except RemoteEntryNotFoundError:
                    return None
                except (RepositoryNotFoundError, RevisionNotFoundError):
                    if missing_revision_ok:
                        return None
                    raise
                return Path(local).read_bytes()

        return self._read(f"read {path} at {revision}", download)

    def _moved(self, parent: str | None, now: str) -> ConcurrentWriteError:
        expected = parent or "a new or empty repo"
        return ConcurrentWriteError(
            f"{self.description} changed since this run read it (expected {expected}, found {now}); "
            "nothing was written, run the sync again"
        )

    def _read(self, action: str, fn: Callable[[], T]) -> T:
        """A read rides out the Hub's 429 and 5xx answers like a commit does (reads have no side effect)."""
        return self._call(action, lambda: self._retry(fn))

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        """Run one client call; turn its failures into errors that say what to do, without the token."""
        try:
            return fn()
        except (ConcurrentWriteError, RepoBusyError, PublishError):
            raise
        except GaveUp as e:
            advice = (
                "the Hub kept answering HTTP {status} "
                + f"({e.attempts} attempts, {e.waited:.0f} s of waiting); "
                + ("it limits commits per repo and hour, " if e.status == 429 else "")
                + "nothing was published, retry later"
            )
            raise self._error(action, e.error, advice, status=e.status, retryable=True) from None
        except HfHubHTTPError as e:
            status = e.response.status_code if e.response is not None else None
            if status in (401, 403):
                raise self._error(
                    action,
                    e,
                    "the Hub refused the token (HTTP {status}); set HF_TOKEN to a token with write "
                    "access to {repo} (https://huggingface.co/settings/tokens)",
                    status=status,
                ) from None
            transient = status is None or status >= 500 or status == 429
            advice = "the Hub answered HTTP {status}; " + ("retry later" if transient else "check the repo, then retry")
            raise self._error(action, e, advice, status=status, retryable=transient) from None
        except (httpx2.HTTPError, OSError) as e:  # includes LocalEntryNotFoundError: no connection
            xet = xet_failure(e)
            if xet is not None:
                raise self._xet_error(action, e, xet.status, xet.auth, xet.transient) from None
            advice = "could not reach the Hub at {endpoint}; check the network and HF_ENDPOINT, then retry"
            raise self._error(action, e, advice, retryable=True) from None

    def _xet_error(self, action: str, e: Exception, status: int | None, auth: bool, transient: bool) -> PublishError:
        """hf_xet's failures (its errors are builtins, not HfHubHTTPError): see sync.targets.hub_xet."""
        if auth:
            refusal = "its Xet storage refused the token" if status is None else "HTTP {status} on xet-write-token"
            advice = (
                f"the Hub refused the token for its Xet storage ({refusal}); set HF_TOKEN "
                "to a token with write access to {repo} (https://huggingface.co/settings/tokens)"
            )
        elif transient:
            advice = (
                "the Hub's Xet storage kept answering HTTP {status} "
                + f"(retried for up to about {XET_RETRY_SECONDS} s); nothing was published, retry later"
            )
        else:
            advice = "the Hub's Xet storage answered HTTP {status}; check the repo, then retry"
        return self._error(action, e, advice, status=status, retryable=transient)

    def _error(
        self, action: str, e: Exception, advice: str, status: int | None = None, retryable: bool = False
    ) -> PublishError:
        detail = " ".join(str(e).split())[:500]
        advice = advice.format(endpoint=self.api.endpoint, status=status, repo=self.description)
        text = f"{self.description}: could not {action}: {advice} ({type(e).__name__}: {detail})"
        secrets = [self.api.token if isinstance(self.api.token, str) else None, get_token()]
        return PublishError(scrub(text, secrets), retryable=retryable)


def _same(remote: object, data: Content) -> bool:
    """Does the remote file (a RepoFile, or None) already hold exactly `data`?"""
    if remote is None:
        return False
    size = content_size(data)
    lfs = getattr(remote, "lfs", None)
    if lfs is not None:
        return lfs.size == size and lfs.sha256 == content_digest(data)
    return getattr(remote, "blob_id", None) == content_digest(data, "sha1", b"blob %d\0" % size)
