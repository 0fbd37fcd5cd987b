"""An in-memory, Hub-compatible HTTP server for tests (a fixture, not product code).

It speaks the subset of the Hugging Face Hub protocol that the real `huggingface_hub` client and
`datasets.load_dataset` use (see docs/hub.md#what-the-test-server-speaks), so the
real client code paths run without a network:

    server = HubServer().start()          # 127.0.0.1, free port
    os.environ["HF_ENDPOINT"] = server.url  # before importing huggingface_hub / datasets
    ...
    server.stop()

Knobs for tests:
- `tokens`: when not None, a dict token -> "read" | "write". A token that is not listed gets 401,
  a read token gets 403 on writes, and anonymous requests may only read. `GET /api/whoami-v2`
  answers like the Hub: 401 without a valid token, else `auth.accessToken.role` = the token's role.
- `fail_next(method, path_contains, status)`: the next matching request fails with that status.
- `down`: when set, a callable; every request gets 503 while it returns True (an outage).
- `before_next_commit(callback)`: runs `callback()` inside the next commit request, before its
  parent check; use it to simulate a concurrent writer (e.g. call `server.commit_files(...)`).
- `limit_commits(per_hour=N, retry_after=S)`: the Hub's commit quota. Once a repo has taken N
  commits (on any branch) through the commit endpoint in the last hour, further commits get 429
  with `Retry-After: S` (default: the seconds until the oldest of them leaves the hour) and
  change nothing. `limit_commits(None)` lifts it.
- `advance(seconds)`: moves the server's clock (commit dates, the commit quota's hour) forward,
  e.g. to age staging branches or to let a quota hour pass while a test's fake `sleep` waits.
- `commit_files(...)`, `files(...)`, `head(...)`: direct in-process access to the state.
- `requests`: a log of (method, path) for every request received.
- `set_visibility(repo_id, repo_type, private=, gated=)`: a repo's visibility as repo info shows it
  (`private`, `gated`: False, "auto" or "manual"), creating the repo when missing; a Space's info
  (`GET /api/spaces/OWNER/NAME`, `HfApi.space_info`) also carries `sdk`, `host`, `subdomain` and
  `runtime`, like the Hub's. Like the Hub, the info of a private repo asked without a token is 401
  `RepoNotFound`.
- `downloads`: the repo paths whose bytes a client fetched, in order, whatever the storage: a GET
  of `/resolve` for a regular file; for a Xet file, the HEAD of `/resolve` the client sends before
  it rebuilds the bytes from the CAS (which the server does not see).
- `storage`: "xet" (the default, like the real Hub: what `.gitattributes` tracks goes through Xet and
  hf_xet's file-backed CAS, see tests/support/hub_xet.py) or "regular" (every file inline in the
  commit); `reset()` restores the default, which the `HUB_TEST_STORAGE` environment variable sets.
- `refuse_xet_token(status, kind="write")`: every xet-write-token (or xet-read-token) request gets
  `status` until `refuse_xet_token(None)`.

Everything stays in memory; `reset()` forgets all repos and knobs.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote

from tests.support import hub_xet
from tests.support.hub_xet import BRIDGE_HOST, BRIDGE_PREFIX, Storage, XetCas, XetFile

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
PAGE_SIZE, PAGE_SIZE_EXPANDED = 1000, 50
_SHA_RE = re.compile(r"[0-9a-f]{5,40}")


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob, which the Hub uses as the ETag and `oid` of regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubError(Exception):
    """An error answer: HTTP status, JSON `{"error": message}`, and `X-Error-Code` when given."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        if status == 404 and code is None:
            code = "EntryNotFound"  # the clients map 404s by this header; never send one without it
        self.status, self.message, self.code = status, message, code
        self.headers = dict(headers or {})


@dataclasses.dataclass
class _Commit:
    sha: str
    parent: str | None
    tree: dict[str, str]  # path -> blob sha
    title: str
    message: str
    date: str


@dataclasses.dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool
    commits: dict[str, _Commit] = dataclasses.field(default_factory=dict)
    branches: dict[str, str] = dataclasses.field(default_factory=dict)
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    created: str = ""
    gated: bool | str = False  # False, "auto" or "manual" (see `set_visibility`)


class HubServer:
    """The server and its state. Thread-safe: every handler runs under one reentrant lock."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None):
        self._address = (host, port)
        self._socket = sock  # already bound (e.g. reserved before HF_ENDPOINT was set); listened on at start
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self.blobs: dict[str, bytes] = {}
        self.repos: dict[tuple[str, str], _Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.downloads: list[str] = []
        self.tokens: dict[str, str] | None = None
        self._failures: list[tuple[str, str, int]] = []
        self.down: Callable[[], bool] | None = None
        self._commit_hooks: list[Callable[[], object]] = []
        self.offset = 0.0  # seconds added to the wall clock (see `advance`)
        self._commit_limit: tuple[int, float | None] | None = None  # (per hour, fixed Retry-After)
        self._commit_times: dict[tuple[str, str], list[float]] = {}  # repo -> times of accepted commit POSTs
        self.throttled = 0  # commit POSTs answered 429 since the last reset
        self.storage: Storage = hub_xet.default_storage()
        self.xet_files: dict[str, XetFile] = {}  # blob sha1 -> the Xet file holding those bytes
        self._xet_refusals: dict[str, int] = {}  # "write"/"read" -> status for every token request
        self._cas: XetCas | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> HubServer:
        handler = type("Handler", (_Handler,), {"hub": self})
        if self._socket is None:
            self._httpd = ThreadingHTTPServer(self._address, handler)
        else:
            self._httpd = ThreadingHTTPServer(self._socket.getsockname(), handler, bind_and_activate=False)
            self._httpd.socket.close()
            self._httpd.socket = self._socket
            self._httpd.server_address = self._socket.getsockname()
            self._httpd.server_name, self._httpd.server_port = self._httpd.server_address[:2]
            self._httpd.server_activate()
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._cas is not None:
            self._cas.close()
            self._cas = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "call start() first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        with self._lock:
            self.blobs.clear()
            self.repos.clear()
            self.requests.clear()
            self.downloads.clear()
            self.tokens = None
            self._failures.clear()
            self.down = None
            self._commit_hooks.clear()
            self.offset = 0.0
            self._commit_limit = None
            self._commit_times.clear()
            self.throttled = 0
            self.storage = hub_xet.default_storage()
            self.xet_files.clear()
            self._xet_refusals.clear()

    # -- knobs -------------------------------------------------------------------------------
    def fail_next(self, method: str, path_contains: str, status: int = 500) -> None:
        """Make the next `method` request whose path contains `path_contains` fail with `status`."""
        with self._lock:
            self._failures.append((method.upper(), path_contains, status))

    def before_next_commit(self, callback: Callable[[], object]) -> None:
        """Run `callback` inside the next commit request, before its parent check."""
        with self._lock:
            self._commit_hooks.append(callback)

    def limit_commits(self, per_hour: int | None, retry_after: float | None = None) -> None:
        """Answer 429 + `Retry-After` to commits beyond `per_hour` per repo in the last hour (None: no limit)."""
        with self._lock:
            self._commit_limit = None if per_hour is None else (per_hour, retry_after)

    def refuse_xet_token(self, status: int | None, kind: str = "write") -> None:
        """Answer every xet-{kind}-token request with `status` (None: answer normally again)."""
        with self._lock:
            if status is None:
                self._xet_refusals.pop(kind, None)
            else:
                self._xet_refusals[kind] = status

    @property
    def cas(self) -> XetCas:
        """The Xet CAS behind the server (one per server, created on first use)."""
        with self._lock:
            if self._cas is None:
                self._cas = XetCas()
            return self._cas

    def xet_file(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "dataset") -> XetFile | None:
        """The Xet file behind `path` at `revision`; None when it is stored as a regular file."""
        with self._lock:
            commit = self._resolve(self.repos[(repo_type, repo_id)], revision)
            return self.xet_files.get(commit.tree[path])

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward (or back, with a negative value)."""
        with self._lock:
            self.offset += seconds

    def now(self) -> float:
        """The server's clock: the wall clock plus `advance`s, in seconds since the epoch."""
        return time.time() + self.offset

    def commit_dates(self, repo_id: str, branch: str = "main", repo_type: str = "dataset") -> list[str]:
        """Dates of the commits on `branch`, newest first."""
        with self._lock:
            repo = self.repos[(repo_type, repo_id)]
            commit: _Commit | None = repo.commits[repo.branches[branch]]
            dates = []
            while commit is not None:
                dates.append(commit.date)
                commit = repo.commits[commit.parent] if commit.parent else None
            return dates

    # -- direct state access for tests -------------------------------------------------------
    def create_repo(self, repo_id: str, repo_type: str = "dataset", private: bool = False) -> _Repo:
        with self._lock:
            key = (repo_type, repo_id)
            if key in self.repos:
                return self.repos[key]
            repo = _Repo(repo_type, repo_id, private, created=_iso(self.now()))
            self.repos[key] = repo
            attributes = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
            self._new_commit(repo, "main", None, {".gitattributes": attributes}, [], "initial commit")
            return repo

    def commit_files(
        self,
        repo_id: str,
        adds: Mapping[str, bytes],
        deletes: Sequence[str] = (),
        *,
        message: str = "direct commit",
        branch: str = "main",
        repo_type: str = "dataset",
    ) -> str:
        """Commit directly (as another writer would), creating the repo (and branch) if needed; returns the sha."""
        with self._lock:
            repo = self.create_repo(repo_id, repo_type)
            parent = repo.branches.get(branch, repo.branches["main"])  # a new branch forks from main
            return self._new_commit(repo, branch, parent, adds, deletes, message)

    def head(self, repo_id: str, branch: str = "main", repo_type: str = "dataset") -> str | None:
        with self._lock:
            repo = self.repos.get((repo_type, repo_id))
            return repo.branches.get(branch) if repo else None

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        with self._lock:
            repo = self.repos[(repo_type, repo_id)]
            commit = self._resolve(repo, revision)
            return {path: self.blobs[blob] for path, blob in commit.tree.items()}

    def tags(self, repo_id: str, repo_type: str = "dataset") -> dict[str, str]:
        with self._lock:
            return dict(self.repos[(repo_type, repo_id)].tags)

    def set_visibility(
        self, repo_id: str, repo_type: str = "dataset", *, private: bool | None = None, gated: bool | str | None = None
    ) -> None:
        """Make a repo private or public, gated ("auto", "manual") or not; creates it when missing."""
        with self._lock:
            repo = self.create_repo(repo_id, repo_type)
            repo.private = repo.private if private is None else private
            repo.gated = repo.gated if gated is None else gated

    # -- internals ---------------------------------------------------------------------------
    def _new_commit(
        self,
        repo: _Repo,
        branch: str,
        parent: str | None,
        adds: Mapping[str, bytes],
        deletes: Sequence[str],
        title: str,
        folder_deletes: Sequence[str] = (),
        message: str = "",
    ) -> str:
        tree = dict(repo.commits[parent].tree) if parent else {}
        for path in deletes:
            if path not in tree:
                raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            del tree[path]
        for folder in folder_deletes:
            prefix = folder.rstrip("/") + "/"
            doomed = [p for p in tree if p.startswith(prefix)]
            if not doomed:
                raise HubError(404, f"A folder with this name doesn't exist: {folder}", "EntryNotFound")
            for p in doomed:
                del tree[p]
        patterns = hub_xet.lfs_patterns(self.blobs[tree[".gitattributes"]]) if ".gitattributes" in tree else []
        for path, data in adds.items():
            blob = git_blob_sha1(data)
            self.blobs[blob] = data
            tree[path] = blob
            if self.storage == "xet" and data and blob not in self.xet_files and hub_xet.tracked(path, patterns):
                self.xet_files[blob] = self.cas.put(data)  # a direct commit stores like the Hub does
        seed = f"{repo.repo_id}\n{parent}\n{next(self._counter)}\n{sorted(tree.items())}\n{title}"
        sha = hashlib.sha1(seed.encode()).hexdigest()
        repo.commits[sha] = _Commit(sha, parent, tree, title, message, _iso(self.now()))
        repo.branches[branch] = sha
        return sha

    def _resolve(self, repo: _Repo, revision: str) -> _Commit:
        sha = repo.branches.get(revision) or repo.tags.get(revision)
        if sha is None and _SHA_RE.fullmatch(revision):
            matches = [s for s in repo.commits if s.startswith(revision)]
            sha = matches[0] if len(matches) == 1 else None
        if sha is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[sha]

    def _repo(self, repo_type: str, repo_id: str) -> _Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def _take_failure(self, method: str, path: str) -> int | None:
        if self.down is not None and self.down():
            return 503
        with self._lock:
            for i, (m, fragment, status) in enumerate(self._failures):
                if m == method and fragment in path:
                    del self._failures[i]
                    return status
        return None

    def _check_commit_quota(self, repo: _Repo) -> None:
        """Admit a commit POST under the quota, or raise the Hub's 429 (nothing is applied then)."""
        with self._lock:
            now = self.now()
            times = [t for t in self._commit_times.get((repo.repo_type, repo.repo_id), []) if t > now - 3600]
            self._commit_times[(repo.repo_type, repo.repo_id)] = times
            if self._commit_limit is not None and len(times) >= self._commit_limit[0]:
                per_hour, fixed = self._commit_limit
                wait = fixed if fixed is not None else max(1, math.ceil(times[-per_hour] + 3600 - now))
                self.throttled += 1
                raise HubError(
                    429,
                    "You have exceeded our hourly quotas for action: commit. We invite you to retry later.",
                    None,
                    {"Retry-After": str(int(wait))},
                )

    def _record_commit(self, repo: _Repo) -> None:
        with self._lock:
            self._commit_times.setdefault((repo.repo_type, repo.repo_id), []).append(self.now())

    def _take_commit_hook(self) -> Callable[[], object] | None:
        with self._lock:
            return self._commit_hooks.pop(0) if self._commit_hooks else None


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _last_change(repo: _Repo, commit: _Commit, path: str) -> _Commit:
    """The newest commit up to `commit` that changed `path` (a file, or anything below a folder)."""

    def view(c: _Commit) -> list[tuple[str, str]]:
        return sorted((p, b) for p, b in c.tree.items() if p == path or p.startswith(path + "/"))

    current = view(commit)
    while commit.parent is not None:
        parent = repo.commits[commit.parent]
        if view(parent) != current:
            break
        commit = parent
    return commit


def _children(tree: Mapping[str, str], base: str, recursive: bool) -> tuple[list[str], list[str]]:
    """Directories and files below `base` ("" = root) in a flat {path: blob} tree."""
    prefix = base + "/" if base else ""
    dirs: set[str] = set()
    files: list[str] = []
    for path in tree:
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        if recursive:
            files.append(path)
            dirs.update(prefix + "/".join(parts[:i]) for i in range(1, len(parts)))
        elif len(parts) == 1:
            files.append(path)
        else:
            dirs.add(prefix + parts[0])
    return sorted(dirs), sorted(files)


def _is_dir(tree: Mapping[str, str], path: str) -> bool:
    return any(p.startswith(path + "/") for p in tree)


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # silence stderr access logs
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    # -- dispatch ----------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        raw_path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.query = parse_qs(query, keep_blank_values=True)
        self.hub.requests.append((method, self.path))
        # Split the raw path first, then unquote each segment (revisions carry %2F).
        segments = [unquote(s) for s in raw_path.split("/")[1:]]
        try:
            status = self.hub._take_failure(method, raw_path)
            if status is not None:
                raise HubError(status, f"Injected failure ({status})")
            self._check_auth(method, segments)
            with self.hub._lock:
                self._route(method, segments)
        except HubError as e:
            headers = dict(e.headers)
            if e.code:
                headers["X-Error-Code"] = e.code
            headers["X-Error-Message"] = e.message
            self._send_json({"error": e.message}, e.status, headers)
        except Exception as e:  # a bug in this fixture: show it to the client, never hang
            self._send_json({"error": f"test server crashed: {e!r}"}, 500)

    def _check_auth(self, method: str, segments: list[str]) -> None:
        tokens = self.hub.tokens
        if tokens is None or segments[:2] == ["api", "agent-harnesses"]:
            return
        header = self.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        is_write = method in ("POST", "DELETE", "PUT") and segments[:2] != ["api", "validate-yaml"]
        is_write = is_write and not (len(segments) > 4 and segments[4] == "paths-info")
        is_write = is_write or (len(segments) > 4 and segments[4] == "xet-write-token")
        if token is not None and token not in tokens:
            raise HubError(401, "Invalid credentials in Authorization header")
        if is_write and (token is None or tokens[token] != "write"):
            raise HubError(403, "You don't have the rights to write to this repository")

    def _route(self, method: str, seg: list[str]) -> None:
        if seg[:1] == ["api"]:
            return self._route_api(method, seg[1:])
        if len(seg) >= 2 and seg[0] in ("datasets", "spaces") and seg[1:2] != [""]:
            repo_type, seg = REPO_TYPES[seg[0]], seg[1:]
        else:
            repo_type = "model"
        if len(seg) == 2 and seg[0] == BRIDGE_PREFIX and method in ("GET", "HEAD"):
            return self._xet_bridge(method, seg[1])
        if len(seg) >= 5 and seg[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve_file(method, repo_type, f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]))
        raise HubError(404, f"Not found: {method} {self.path}")

    def _route_api(self, method: str, seg: list[str]) -> None:
        if seg == ["agent-harnesses"]:
            return self._send_json({"standardEnvVars": [], "harnesses": {}})
        if seg == ["repos", "create"] and method == "POST":
            return self._create_repo()
        if seg == ["repos", "delete"] and method == "DELETE":
            return self._delete_repo()
        if seg == ["validate-yaml"] and method == "POST":
            return self._validate_yaml()
        if seg == ["whoami-v2"] and method == "GET":
            return self._whoami()
        if len(seg) < 3 or seg[0] not in REPO_TYPES:
            raise HubError(404, f"Not found: {method} {self.path}")
        repo_type, repo_id, rest = REPO_TYPES[seg[0]], f"{seg[1]}/{seg[2]}", seg[3:]
        repo = self.hub._repo(repo_type, repo_id)
        action, args = (rest[0], rest[1:]) if rest else ("", [])
        routes: dict[tuple[str, str], Callable[[_Repo, list[str]], None]] = {
            ("GET", ""): self._repo_info,
            ("GET", "revision"): self._repo_info,
            ("POST", "preupload"): self._preupload,
            ("POST", "commit"): self._commit,
            ("GET", "tree"): self._tree,
            ("POST", "paths-info"): self._paths_info,
            ("GET", "refs"): self._refs,
            ("GET", "commits"): self._commits,
            ("POST", "branch"): self._create_branch,
            ("DELETE", "branch"): self._delete_branch,
            ("POST", "tag"): self._create_tag,
            ("DELETE", "tag"): self._delete_tag,
            ("GET", "xet-write-token"): self._xet_write_token,
            ("GET", "xet-read-token"): self._xet_read_token,
        }
        handler = routes.get((method, action))
        if handler is None:
            raise HubError(404, f"Not found: {method} {self.path}")
        return handler(repo, args)

    # -- auth --------------------------------------------------------------------------------
    def _whoami(self) -> None:
        """Like the Hub: 401 without a (valid) token, else the user and the token's role ("read" or
        "write"; every token is "write" when the server checks no auth)."""
        header = self.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        if token is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        role = "write" if self.hub.tokens is None else self.hub.tokens[token]  # unknown tokens got 401 already
        self._send_json(
            {
                "type": "user",
                "id": "0" * 24,
                "name": "test-user",
                "fullname": "Test User",
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": role}},
            }
        )

    # -- repos -------------------------------------------------------------------------------
    def _repo_from_body(self) -> tuple[str, str, dict]:
        body = self._json_body()
        name, organization = body.get("name"), body.get("organization") or "user"
        if not name:
            raise HubError(400, "Missing repo name")
        return body.get("type") or "model", f"{organization}/{name}", body

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        prefix = {"dataset": "datasets/", "space": "spaces/"}.get(repo_type, "")
        return f"{self._base_url()}/{prefix}{repo_id}"

    def _create_repo(self) -> None:
        repo_type, repo_id, body = self._repo_from_body()
        url = self._repo_url(repo_type, repo_id)
        if (repo_type, repo_id) in self.hub.repos:
            raise_body = {"error": "You already created this dataset repo", "url": url}
            return self._send_json(raise_body, 409)
        private = body.get("private") or body.get("visibility") == "private"
        self.hub.create_repo(repo_id, repo_type, bool(private))
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self) -> None:
        repo_type, repo_id, _ = self._repo_from_body()
        if self.hub.repos.pop((repo_type, repo_id), None) is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        self._send_json({})

    def _validate_yaml(self) -> None:
        content = self._json_body().get("content", "")
        match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, re.S)
        if match:
            try:
                _load_yaml(match.group(1))
            except Exception as e:
                return self._send_json({"errors": [{"message": f"Invalid YAML: {e}"}]}, 400)
        self._send_json({"errors": [], "warnings": []})

    def _repo_info(self, repo: _Repo, args: list[str]) -> None:
        if repo.private and not self.headers.get("Authorization", "").startswith("Bearer "):
            raise HubError(401, "Repository not found", "RepoNotFound")  # the Hub hides a private repo
        commit = self.hub._resolve(repo, args[0] if args else "main")
        blobs = self.query.get("blobs", [""])[0].lower() in ("1", "true")
        siblings = []
        for path, blob in sorted(commit.tree.items()):
            entry: dict[str, object] = {"rfilename": path}
            if blobs:
                entry.update(size=len(self.hub.blobs[blob]), blobId=blob)
                stored = self.hub.xet_files.get(blob)
                if stored is not None:
                    lfs = {"size": stored.size, "sha256": stored.sha256, "pointerSize": len(stored.pointer)}
                    entry.update(blobId=stored.pointer_oid, lfs=lfs)
            siblings.append(entry)
        info = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.sha,
            "private": repo.private,
            "gated": repo.gated,
            "disabled": False,
            "lastModified": commit.date,
            "createdAt": repo.created,
            "tags": [],
            "downloads": 0,
            "likes": 0,
            "siblings": siblings,
        }
        info.update(_space_fields(repo))
        readme = commit.tree.get("README.md")
        card = _front_matter(self.hub.blobs[readme]) if readme else None
        if card is not None:
            info["cardData"] = card
        self._send_json(info)

    # -- commits -----------------------------------------------------------------------------
    def _branch_head(self, repo: _Repo, args: list[str]) -> tuple[str, str]:
        branch = args[0] if args else "main"
        if branch not in repo.branches:
            raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        return branch, repo.branches[branch]

    def _preupload(self, repo: _Repo, args: list[str]) -> None:
        if self.query.get("create_pr"):
            raise HubError(400, "Pull requests are not supported by the test server")
        _, head = self._branch_head(repo, args)
        tree = repo.commits[head].tree
        xet = self.hub.storage == "xet"
        patterns = hub_xet.lfs_patterns(self.hub.blobs[tree[".gitattributes"]]) if ".gitattributes" in tree else []
        files = []
        for f in self._json_body().get("files", []):
            path, existing = f["path"], tree.get(f["path"])
            lfs = xet and f.get("size", 0) > 0 and hub_xet.tracked(path, patterns)
            stored = self.hub.xet_files.get(existing) if existing else None
            oid = (stored.sha256 if stored else None) if lfs else existing
            files.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
        self._send_json({"files": files, "commitOid": head})

    def _commit(self, repo: _Repo, args: list[str]) -> None:
        if self.query.get("create_pr"):
            raise HubError(400, "Pull requests are not supported by the test server")
        try:
            lines = [json.loads(line) for line in self.body.decode().splitlines() if line.strip()]
        except ValueError as e:
            raise HubError(400, f"Malformed NDJSON body: {e}") from None
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The first NDJSON line must be the header")
        header = lines[0]["value"]
        self.hub._check_commit_quota(repo)
        hook = self.hub._take_commit_hook()
        if hook is not None:
            hook()
        branch, head = self._branch_head(repo, args)
        parent = header.get("parentCommit")
        if parent and not head.startswith(parent.lower()):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        adds: dict[str, bytes] = {}
        deletes: list[str] = []
        folders: list[str] = []
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, "Only base64 file content is supported")
                adds[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                deletes.append(value["path"])
            elif key == "deletedFolder":
                folders.append(value["path"])
            elif key == "lfsFile":
                adds[value["path"]] = self._xet_content(value)
            else:
                raise HubError(400, f"Unknown NDJSON line key {key!r}")
        title = header.get("summary") or "commit"
        # _new_commit builds the new tree on a copy, so a failing line leaves the repo unchanged.
        sha = self.hub._new_commit(repo, branch, head, adds, deletes, title, folders, header.get("description", ""))
        self.hub._record_commit(repo)
        url = f"{self._repo_url(repo.repo_type, repo.repo_id)}/commit/{sha}"
        self._send_json({"success": True, "commitOid": sha, "commitUrl": url, "hookOutput": "", "pullRequestUrl": None})

    # -- listings ----------------------------------------------------------------------------
    def _entry(
        self, commit: _Commit, path: str, is_dir: bool, expand: bool, repo: _Repo | None = None
    ) -> dict[str, object]:
        if is_dir:
            oid = hashlib.sha1(f"tree {commit.sha} {path}".encode()).hexdigest()
            entry: dict[str, object] = {"type": "directory", "oid": oid, "size": 0, "path": path}
        else:
            blob = commit.tree[path]
            entry = {"type": "file", "oid": blob, "size": len(self.hub.blobs[blob]), "path": path}
            if blob in self.hub.xet_files:
                entry.update(hub_xet.tree_fields(self.hub.xet_files[blob]))
        if expand:
            last = _last_change(repo, commit, path) if repo is not None else commit
            entry["lastCommit"] = {"id": last.sha, "title": last.title, "date": last.date}
        return entry

    def _tree(self, repo: _Repo, args: list[str]) -> None:
        if not args:
            raise HubError(400, "Missing revision")
        commit = self.hub._resolve(repo, args[0])
        path = "/".join(args[1:]).strip("/")
        recursive = self.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        expand = self.query.get("expand", ["false"])[0].lower() in ("1", "true")
        if path in commit.tree:  # listing a file returns the file itself
            entries = [self._entry(commit, path, False, expand, repo)]
        elif path and not _is_dir(commit.tree, path):
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        else:
            dirs, files = _children(commit.tree, path, recursive)
            entries = [self._entry(commit, d, True, expand, repo) for d in dirs]
            entries += [self._entry(commit, f, False, expand, repo) for f in files]
        size = PAGE_SIZE_EXPANDED if expand else PAGE_SIZE
        cursor = int(self.query.get("cursor", ["0"])[0] or 0)
        headers = {}
        if cursor + size < len(entries):
            raw_path = self.path.partition("?")[0]
            query = f"recursive={str(recursive).lower()}&expand={str(expand).lower()}&cursor={cursor + size}"
            headers["Link"] = f'<{self._base_url()}{raw_path}?{query}>; rel="next"'
        self._send_json(entries[cursor : cursor + size], headers=headers)

    def _paths_info(self, repo: _Repo, args: list[str]) -> None:
        commit = self.hub._resolve(repo, args[0] if args else "main")
        content_type = self.headers.get("Content-Type", "")
        if "json" in content_type:
            body = self._json_body()
            paths, expand = body.get("paths", []), bool(body.get("expand"))
        else:
            form = parse_qs(self.body.decode(), keep_blank_values=True)
            paths, expand = form.get("paths", []), form.get("expand", ["false"])[0].lower() == "true"
        entries = []
        for path in paths:
            path = path.strip("/")
            if path in commit.tree:
                entries.append(self._entry(commit, path, False, expand, repo))
            elif _is_dir(commit.tree, path):
                entries.append(self._entry(commit, path, True, expand, repo))
        self._send_json(entries)

    def _refs(self, repo: _Repo, args: list[str]) -> None:
        def refs(kind: str, names: Mapping[str, str]) -> list[dict[str, str]]:
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": s} for n, s in sorted(names.items())]

        data = {"branches": refs("heads", repo.branches), "tags": refs("tags", repo.tags), "converts": []}
        if self.query.get("include_prs"):
            data["pullRequests"] = []
        self._send_json(data)

    def _commits(self, repo: _Repo, args: list[str]) -> None:
        commit: _Commit | None = self.hub._resolve(repo, args[0] if args else "main")
        history = []
        while commit is not None:
            history.append(
                {
                    "id": commit.sha,
                    "title": commit.title,
                    "message": commit.message,
                    "authors": [{"user": "test"}],
                    "date": commit.date,
                }
            )
            commit = repo.commits[commit.parent] if commit.parent else None
        self._send_json(history)

    # -- branches and tags -------------------------------------------------------------------
    def _create_branch(self, repo: _Repo, args: list[str]) -> None:
        branch = "/".join(args)
        if not branch:
            raise HubError(400, "Missing branch name")
        if branch in repo.branches:
            raise HubError(409, f"Reference already exists: refs/heads/{branch}")
        start = self._json_body().get("startingPoint") or "main"
        repo.branches[branch] = self.hub._resolve(repo, start).sha
        self._send_json({})

    def _delete_branch(self, repo: _Repo, args: list[str]) -> None:
        branch = "/".join(args)
        if branch == "main":
            raise HubError(403, "Cannot delete the main branch")
        if repo.branches.pop(branch, None) is None:
            raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        self._send_json({})

    def _create_tag(self, repo: _Repo, args: list[str]) -> None:
        commit = self.hub._resolve(repo, "/".join(args) or "main")
        tag = self._json_body().get("tag")
        if not tag:
            raise HubError(400, "Missing tag name")
        if tag in repo.tags:
            raise HubError(409, f"Reference already exists: refs/tags/{tag}")
        repo.tags[tag] = commit.sha
        self._send_json({})

    def _delete_tag(self, repo: _Repo, args: list[str]) -> None:
        tag = "/".join(args)
        if repo.tags.pop(tag, None) is None:
            raise HubError(404, f"Invalid rev id: {tag}", "RevisionNotFound")
        self._send_json({})

    # -- file downloads ----------------------------------------------------------------------
    def _resolve_file(self, method: str, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        repo = self.hub._repo(repo_type, repo_id)
        commit = self.hub._resolve(repo, revision)
        if path not in commit.tree:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": commit.sha})
        blob = commit.tree[path]
        stored = self.hub.xet_files.get(blob)
        if method == ("HEAD" if stored is not None else "GET"):
            self.hub.downloads.append(path)
        if stored is not None:  # like the Hub: a 302 to the CAS bridge, the metadata on the redirect
            token_url = f"{self._base_url()}/api/{repo_type}s/{repo_id}/xet-read-token/{commit.sha}"
            port = self.server.server_address[1]
            bridge = f"http://{BRIDGE_HOST}:{port}/{BRIDGE_PREFIX}/{stored.xet_hash}"
            headers = {"X-Repo-Commit": commit.sha, **hub_xet.resolve_headers(stored, token_url, bridge)}
            return self._send(302, b"", headers, method)
        data = self.hub.blobs[blob]
        headers = {
            "X-Repo-Commit": commit.sha,
            "ETag": f'"{blob}"',
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'inline; filename="{quote(path.rsplit("/", 1)[-1])}"',
            "Content-Type": "application/octet-stream",
        }
        self._send_bytes(method, data, headers)

    def _send_bytes(self, method: str, data: bytes, headers: dict[str, str]) -> None:
        """200 with `data`, or 206 / 416 for a Range request."""
        headers = {"Accept-Ranges": "bytes", **headers}
        status, body = 200, data
        range_header = self.headers.get("Range")
        if range_header:
            bounds = _parse_range(range_header, len(data))
            if bounds is None:
                headers["Content-Range"] = f"bytes */{len(data)}"
                return self._send(416, b"", headers, method)
            start, end = bounds
            status, body = 206, data[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        self._send(status, body, headers, method)

    # -- Xet storage (see tests/support/hub_xet.py) --------------------------------------------
    def _xet_token(self, kind: str, repo: _Repo) -> None:
        refusal = self.hub._xet_refusals.get(kind)
        if refusal is not None:
            raise HubError(refusal, f"Refused the xet-{kind}-token request ({refusal})")
        body, headers = hub_xet.token_answer(self.hub.cas, self.hub.now())
        self._send_json(body, headers=headers)

    def _xet_write_token(self, repo: _Repo, args: list[str]) -> None:
        self._xet_token("write", repo)

    def _xet_read_token(self, repo: _Repo, args: list[str]) -> None:
        self._xet_token("read", repo)

    def _xet_content(self, value: Mapping[str, object]) -> bytes:
        """The bytes of a commit's `lfsFile`, found through the CAS's shards by their sha256."""
        oid, size = str(value.get("oid", "")), value.get("size")
        stored = self.hub.cas.find(oid) if self.hub.storage == "xet" else None
        if stored is None or stored.size != size:
            raise HubError(
                422, f"Your push was rejected because an LFS pointer pointed to a file that does not exist ({oid})"
            )
        data = self.hub.cas.read(stored)
        self.hub.xet_files[git_blob_sha1(data)] = stored
        return data

    def _xet_bridge(self, method: str, xet_hash: str) -> None:
        """The CAS bridge a Xet file's /resolve redirects to: the bytes over plain HTTP, with Range."""
        blob = next((b for b, f in self.hub.xet_files.items() if f.xet_hash == xet_hash), None)
        if blob is None:
            raise HubError(404, f"No such Xet file: {xet_hash}", "EntryNotFound")
        self._send_bytes(method, self.hub.blobs[blob], {"Content-Type": "application/octet-stream"})

    # -- plumbing ----------------------------------------------------------------------------
    def _base_url(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    def _json_body(self) -> dict:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as e:
            raise HubError(400, f"Malformed JSON body: {e}") from None
        return data if isinstance(data, dict) else {}

    def _send_json(self, data: object, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self._send(status, body, {"Content-Type": "application/json", **(headers or {})}, self.command)

    def _send(self, status: int, body: bytes, headers: Mapping[str, str], method: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """`bytes=a-b`, `bytes=a-` or `bytes=-n` -> inclusive (start, end); None when unsatisfiable."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return None
    return start, end


def _load_yaml(text: str) -> object:
    import yaml  # imported lazily: only the card endpoints need it

    return yaml.safe_load(text)


def _front_matter(readme: bytes) -> dict | None:
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", readme.decode(errors="replace"), re.S)
    if not match:
        return None
    try:
        data = _load_yaml(match.group(1))
    except Exception:
        return None
    return data if isinstance(data, dict) else None


def _space_fields(repo: _Repo) -> dict:
    """What the Hub adds to a Space's repo info (read by `HfApi.space_info`): SDK, host, runtime."""
    if repo.repo_type != "space":
        return {}
    name = repo.repo_id.replace("/", "-").lower()
    hardware = {"current": "cpu-basic", "requested": "cpu-basic"}
    runtime = {"stage": "RUNNING", "hardware": hardware, "storage": None, "replicas": {"current": 1, "requested": 1}}
    return {"sdk": "gradio", "subdomain": name, "host": f"https://{name}.hf.space", "runtime": runtime}
