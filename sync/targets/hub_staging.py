"""Checkpoints of a long full sync for a Hub repo: on this machine at once, on a side branch in batches.

The Hub allows about 128 commits per repo and hour, so one commit per staged chunk would trip it
within minutes. Instead every `stage_write` lands in a `FolderStaging` under HF_HOME first (a
crash of the run loses nothing on this machine) and at most one commit per `interval` seconds
(default 120 s: 30 an hour) pushes every local file of that key that is not on the branch
`sync-staging/<key>` yet (so another machine can resume too). Which files are on the branch is
remembered in `<root>/.pushed/<key>.json`; a file leaves that list *before* it is rewritten
locally, so a crash can only make a file be pushed again (the Hub drops unchanged files), never
be taken for pushed when it is not.

A push that meets a 429/5xx is not waited out here: the files are safe locally, the fetch goes
on, and the next push is tried after `max(interval, Retry-After)`. When the Hub cannot make
branches at all, checkpoints stay on this machine (the files are already there).

The run journal (`sync.runs.failures`: failed runs not yet in meta/runs, and the full syncs
running now) lives beside them as `journal.json` on the branch `sync-staging/runs`, committed at
once on every change (a handful of commits per full sync); it is never pruned, and the branch is
deleted when the journal holds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from huggingface_hub import CommitOperationAdd, HfApi, RepoFile, RepoFolder
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from sync.core.files import write_atomic
from sync.core.killpoints import reached
from sync.targets.commit import check_repo_path
from sync.targets.hub_retry import is_transient, retry_after_seconds
from sync.targets.repo import FolderStaging, PublishError, check_stage_key

log = logging.getLogger(__name__)

REPO_TYPE = "dataset"
STAGING_PREFIX = "sync-staging/"
STAGING_DIR = "staging"
JOURNAL_KEY = "runs"  # the run journal's branch is sync-staging/runs; never a checkpoint key ("full-...")
JOURNAL_FILE = "journal.json"
PUSHED_DIR = ".pushed"  # not a valid staging key (keys start with a letter or digit)
DEFAULT_STAGE_INTERVAL = 120.0  # seconds between staging commits: 30 an hour, a quarter of the Hub's quota
T = TypeVar("T")
Call = Callable[[str, Callable[[], T]], T]
Download = Callable[[str, str], "bytes | None"]  # (path, revision) -> content; None when absent


def staging_branch(key: str) -> str:
    return STAGING_PREFIX + check_stage_key(key)


def unsupported(error: HfHubHTTPError) -> bool:
    """A Hub stand-in without this endpoint (the real Hub supports branches and tags)."""
    status = error.response.status_code if error.response is not None else None
    return status in (404, 405, 501) and not isinstance(error, (RepositoryNotFoundError, RevisionNotFoundError))


class HubStaging:
    """The staging half of `HubRepo`; `call` turns client failures into `PublishError`s."""

    def __init__(
        self,
        api: HfApi,
        repo_id: str,
        *,
        root: Callable[[], Path],
        call: Call,
        download: Download,
        interval: float,
        clock: Callable[[], float],
    ):
        self.api, self.repo_id, self._root, self._call, self._download = api, repo_id, root, call, download
        self.interval, self.clock = interval, clock
        self.branches_unsupported = False  # set when the Hub answers that it cannot make branches
        self._next_push = float("-inf")  # clock value before which no staging commit is made
        self._branches_made: set[str] = set()

    @property
    def local(self) -> FolderStaging:
        return FolderStaging(self._root())

    # -- the DatasetRepo staging calls -------------------------------------------------------
    def write(self, key: str, files: Mapping[str, bytes]) -> None:
        check_stage_key(key)
        for path in files:
            check_repo_path(path)
        if not files:
            return
        pushed = self._pushed(key)
        if pushed.keys() & files.keys():
            self._save_pushed(key, {p: s for p, s in pushed.items() if p not in files})
        self.local.write(key, files)
        reached("hub.stage_local_written")
        if not self.branches_unsupported and self.clock() >= self._next_push:
            self.push(key)

    def files(self, key: str) -> list[str]:
        return sorted(set(self._branch_files(key)) | set(self.local.files(key)))

    def read(self, key: str, path: str) -> bytes | None:
        data = self.local.read(key, path)
        if data is None:
            data = self._download(f"{STAGING_DIR}/{check_repo_path(path)}", staging_branch(key))
        return data

    def drop(self, key: str) -> None:
        """Forget the checkpoints; the data is already published, so a failure here only warns."""
        self.local.drop(key)
        (self._root() / PUSHED_DIR / f"{check_stage_key(key)}.json").unlink(missing_ok=True)
        self._branches_made.discard(key)
        try:
            self._call("drop staged files", lambda: self._delete_branch(staging_branch(key)))
        except PublishError as error:
            log.warning("could not delete the staging branch %s: %s", staging_branch(key), error)

    def prune(self, max_age: dt.timedelta, now: dt.datetime) -> list[str]:
        """Drop every key whose last write (on the branch or on this machine) is older than `max_age`."""
        last: dict[str, dt.datetime] = dict(self._call("list staging branches", self._branch_dates))
        for key in self.local.keys():
            written = self.local.last_write(key)
            if written is not None:
                last[key] = max(last.get(key, written), written)
        cutoff = now.astimezone(dt.UTC) - max_age
        stale = sorted(key for key, when in last.items() if when < cutoff)
        for key in stale:
            log.info("removing the staging area %s, last written %s", key, last[key].isoformat(timespec="seconds"))
            self.drop(key)
        return stale

    # -- the run journal ----------------------------------------------------------------------
    def journal_read(self) -> bytes | None:
        return self._download(JOURNAL_FILE, staging_branch(JOURNAL_KEY))

    def journal_write(self, data: bytes | None, *, create: bool) -> bool:
        """Commit the journal to its branch (None: delete the branch, nothing is left in it); False
        when the repo is missing (and not `create`) or the Hub cannot make branches. Raises
        `PublishError` when the Hub refuses."""
        branch = staging_branch(JOURNAL_KEY)

        def write() -> bool:
            try:
                if data is None:
                    self._delete_branch(branch)
                    return True
                if create:
                    self.api.create_repo(self.repo_id, repo_type=REPO_TYPE, exist_ok=True)
                try:
                    self.api.create_branch(self.repo_id, branch=branch, repo_type=REPO_TYPE, exist_ok=True)
                except HfHubHTTPError as e:
                    if not unsupported(e):
                        raise
                    self.branches_unsupported = True  # the checkpoints will not try either
                    log.warning(
                        "%s cannot make branches (HTTP %s); keeping checkpoints and the run journal on this machine",
                        self.repo_id,
                        e.response.status_code,
                    )
                    return False
                self.api.create_commit(
                    self.repo_id,
                    [CommitOperationAdd(path_in_repo=JOURNAL_FILE, path_or_fileobj=data)],
                    commit_message="run journal",
                    repo_type=REPO_TYPE,
                    revision=branch,
                )
                return True
            except RepositoryNotFoundError:
                return False

        return self._call("write the run journal", write)

    # -- pushing to the branch ---------------------------------------------------------------
    def push(self, key: str) -> None:
        """Commit every local file of `key` that is not on its branch yet, in one staging commit."""
        pushed = self._pushed(key)
        unpushed = {p: self.local.read(key, p) for p in self.local.files(key) if p not in pushed}
        pending = {p: d for p, d in unpushed.items() if d is not None}
        if not pending:
            return
        reached("hub.stage_push.before")
        outcome = self._call("stage files", lambda: self._push_now(key, pending))
        reached("hub.stage_push.after")
        now = self.clock()
        if isinstance(outcome, HfHubHTTPError):
            headers = outcome.response.headers if outcome.response is not None else {}
            wait = max(self.interval, retry_after_seconds(headers) or 0.0)
            self._next_push = now + wait
            log.warning(
                "the Hub answered HTTP %s to a staging commit; %d file(s) stay on this machine in %s "
                "and are pushed again in %.0f s",
                outcome.response.status_code if outcome.response is not None else "?",
                len(pending),
                self.local.root,
                wait,
            )
            return
        self._next_push = now + self.interval
        if outcome:
            self._save_pushed(key, {**pushed, **{p: _git_sha1(d) for p, d in pending.items()}})

    def _push_now(self, key: str, files: Mapping[str, bytes]) -> bool | HfHubHTTPError:
        """True when committed, False when the Hub cannot make branches, the error when it is transient."""
        branch = staging_branch(key)
        try:
            if key not in self._branches_made:
                self.api.create_repo(self.repo_id, repo_type=REPO_TYPE, exist_ok=True)
                try:
                    self.api.create_branch(self.repo_id, branch=branch, repo_type=REPO_TYPE, exist_ok=True)
                except HfHubHTTPError as e:
                    if not unsupported(e):
                        raise
                    self.branches_unsupported = True
                    log.warning(
                        "%s cannot make branches (HTTP %s); keeping checkpoints on this machine in %s",
                        self.repo_id,
                        e.response.status_code,
                        self.local.root,
                    )
                    return False
                self._branches_made.add(key)
            ops = [
                CommitOperationAdd(path_in_repo=f"{STAGING_DIR}/{p}", path_or_fileobj=d)
                for p, d in sorted(files.items())
            ]
            self.api.create_commit(
                self.repo_id,
                ops,
                commit_message=f"stage {key} ({len(ops)} files)",
                repo_type=REPO_TYPE,
                revision=branch,
            )
            return True
        except HfHubHTTPError as e:
            if is_transient(e):
                return e
            raise

    def _pushed(self, key: str) -> dict[str, str]:
        """Paths of `key` known to be on the branch -> their git blob id."""
        file = self._root() / PUSHED_DIR / f"{check_stage_key(key)}.json"
        try:
            return json.loads(file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _save_pushed(self, key: str, pushed: Mapping[str, str]) -> None:
        write_atomic(self._root() / PUSHED_DIR / f"{key}.json", json.dumps(dict(sorted(pushed.items()))))

    # -- reading the branches ----------------------------------------------------------------
    def _branch_files(self, key: str) -> list[str]:
        def listing() -> list[str]:
            try:
                entries = self.api.list_repo_tree(
                    self.repo_id,
                    path_in_repo=STAGING_DIR,
                    recursive=True,
                    repo_type=REPO_TYPE,
                    revision=staging_branch(key),
                )
                prefix = STAGING_DIR + "/"
                return [e.path[len(prefix) :] for e in entries if isinstance(e, RepoFile) and e.path.startswith(prefix)]
            except (RepositoryNotFoundError, RevisionNotFoundError, RemoteEntryNotFoundError):
                return []

        return self._call("list staged files", listing)

    def _branch_dates(self) -> dict[str, dt.datetime]:
        """staging key -> date of the last staging commit on its branch."""
        try:
            refs = self.api.list_repo_refs(self.repo_id, repo_type=REPO_TYPE)
        except RepositoryNotFoundError:
            return {}
        except HfHubHTTPError as e:
            if unsupported(e):
                return {}
            raise
        return {
            b.name[len(STAGING_PREFIX) :]: self._last_commit_date(b.name, b.target_commit)
            for b in refs.branches
            if b.name.startswith(STAGING_PREFIX) and b.name != staging_branch(JOURNAL_KEY)
        }

    def _last_commit_date(self, branch: str, sha: str) -> dt.datetime:
        # The folder's last commit (one request) is the last staging write; a branch that never got
        # one (a crash right after create_branch) falls back to its head commit's date.
        infos = self.api.get_paths_info(self.repo_id, [STAGING_DIR], expand=True, repo_type=REPO_TYPE, revision=sha)
        last = next((i.last_commit for i in infos if isinstance(i, RepoFolder) and i.last_commit is not None), None)
        if last is not None:
            return last.date
        return self.api.list_repo_commits(self.repo_id, repo_type=REPO_TYPE, revision=sha)[0].created_at

    def _delete_branch(self, branch: str) -> None:
        try:
            self.api.delete_branch(self.repo_id, branch=branch, repo_type=REPO_TYPE)
        except (RepositoryNotFoundError, RevisionNotFoundError):
            pass
        except HfHubHTTPError as e:
            if not unsupported(e):
                raise


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
