"""Xet storage for the test Hub: what the real Hub does with the files `.gitattributes` tracks.

The real Hub stores binary files with Xet (docs/hub.md#xet-storage). With `storage="xet"` the test
Hub (tests/support/hub_server.py) behaves the same way, backed by hf_xet's own code against a
file-backed CAS (`local://<dir>`), so the client's real Xet upload and download paths run:

- preupload answers `uploadMode: "lfs"` for the paths `.gitattributes` tracks (`filter=lfs`);
- `GET /api/{type}s/{repo}/xet-write-token/{rev}` and `…/xet-read-token/{rev}` answer
  `{"accessToken", "exp", "casUrl": "local://<dir>"}` (the read token also as `X-Xet-*` headers);
- a commit's `lfsFile {oid: sha256, size}` is resolved through the shards hf_xet uploaded to the
  CAS (`parse_shard`); an oid no shard knows is refused, as the Hub does;
- `/resolve` answers a Xet file with a 302 to a bridge URL on another origin (`localhost`), carrying
  `X-Xet-Hash`, `Link: <…/xet-read-token/{rev}>; rel="xet-auth"`, `X-Linked-Etag` (the sha256) and
  `X-Linked-Size`; the bridge serves the bytes, with Range, for plain-HTTP readers (HfFileSystem.open);
- tree and paths-info entries carry `lfs{oid,size,pointerSize}` and `xetHash`.

The CAS lives in one directory per server and is never emptied by `reset()`: like the Hub's, it is
content-addressed and shared, and hf_xet's process-wide session keeps a dedup cache of what it
uploaded, which an emptied CAS would contradict.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import importlib.util
import os
import shutil
import struct
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

Storage = Literal["xet", "regular"]
STORAGE_ENV = "HUB_TEST_STORAGE"  # "xet" (the default: the real Hub's) or "regular"
BRIDGE_HOST = "localhost"  # another origin than 127.0.0.1: the client does not follow the 302 on HEAD
BRIDGE_PREFIX = "xet-bridge"
TOKEN_LIFETIME = 3600  # seconds

_SHARD_HEADER = 48
_ENTRY = 48  # every entry of a shard's file-info section is 48 bytes
_END = b"\xff" * 32
_HAS_VERIFICATION, _HAS_METADATA = 1 << 31, 1 << 30


def default_storage() -> Storage:
    """`HUB_TEST_STORAGE`, else "xet" as the real Hub, unless hf_xet is missing (huggingface_hub
    installs it only on x86_64 and arm64; without it the client would take the LFS path)."""
    fallback = "xet" if importlib.util.find_spec("hf_xet") is not None else "regular"
    value = os.environ.get(STORAGE_ENV, fallback).strip().lower() or fallback
    if value not in ("xet", "regular"):
        raise ValueError(f"{STORAGE_ENV} must be 'xet' or 'regular', not {value!r}")
    return "xet" if value == "xet" else "regular"


@dataclasses.dataclass(frozen=True)
class XetFile:
    """One file in the CAS: its Xet hash (the file id), the sha256 of its bytes, and its size."""

    xet_hash: str
    sha256: str
    size: int

    @property
    def pointer_oid(self) -> str:
        """The git blob id of the pointer: a Xet file's `oid` in listings and its ETag."""
        return hashlib.sha1(b"blob %d\0" % len(self.pointer) + self.pointer).hexdigest()

    @property
    def pointer(self) -> bytes:
        """The git LFS pointer the repo's git tree holds in place of the bytes."""
        return b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (
            self.sha256.encode(),
            self.size,
        )


def _hex(raw: bytes) -> str:
    """A 32-byte hash as Xet prints it: four little-endian u64 words, 16 hex digits each."""
    return "".join(f"{word:016x}" for word in struct.unpack("<4Q", raw))


def parse_shard(data: bytes) -> Iterator[XetFile]:
    """The files a shard (`*.mdb`) describes: header, then per file a 48-byte info entry, its
    segments (each giving a byte count at 36..40), verification entries and a metadata entry
    holding the sha256 (when the flags say so), up to a 32 × 0xff terminator."""
    offset = _SHARD_HEADER
    while offset + 32 <= len(data) and data[offset : offset + 32] != _END:
        file_hash = _hex(data[offset : offset + 32])
        flags, segments = struct.unpack("<II", data[offset + 32 : offset + 40])
        offset += _ENTRY
        size = sum(
            struct.unpack("<I", data[offset + _ENTRY * i + 36 : offset + _ENTRY * i + 40])[0] for i in range(segments)
        )
        offset += _ENTRY * segments
        if flags & _HAS_VERIFICATION:
            offset += _ENTRY * segments
        if flags & _HAS_METADATA:
            yield XetFile(file_hash, _hex(data[offset : offset + 32]), size)
            offset += _ENTRY


def lfs_patterns(gitattributes: bytes) -> list[str]:
    """The patterns a `.gitattributes` hands to LFS (`filter=lfs`)."""
    patterns = []
    for line in gitattributes.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) > 1 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def tracked(path: str, patterns: list[str]) -> bool:
    """Git's rule, simplified: a pattern without `/` matches the file name at any depth."""
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path if "/" in p else name, p.lstrip("/")) for p in patterns)


class XetCas:
    """A file-backed CAS in `root`, written and read by hf_xet itself (`local://<root>`)."""

    def __init__(self, root: Path | None = None):
        self._owned = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="test-hub-cas-"))
        self.url = f"local://{self.root}"
        self._index: dict[str, XetFile] = {}  # sha256 -> file
        self._read_shards: set[str] = set()
        self._lock = threading.Lock()  # the index
        self._io = threading.Lock()  # the server's hf_xet session: one transfer at a time
        self._session = None

    def close(self) -> None:
        if self._owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def find(self, sha256: str) -> XetFile | None:
        """The file whose sha256 an uploaded shard names (what the Hub checks a commit's `lfsFile` against)."""
        with self._lock:
            if sha256 not in self._index:
                for shard in sorted((self.root / "xet" / "xorbs" / "shards").glob("*.mdb")):
                    if shard.name not in self._read_shards:
                        self._index.update((f.sha256, f) for f in parse_shard(shard.read_bytes()))
                        self._read_shards.add(shard.name)
            return self._index.get(sha256)

    def put(self, data: bytes) -> XetFile:
        """Upload `data` as hf_xet would for a client (used by the server's direct commits)."""
        import hf_xet

        with self._io:
            with self._xet_session().new_upload_commit(endpoint=self.url) as commit:
                handle = commit.start_upload_bytes(data, sha256=hf_xet.COMPUTE_SHA256)
        info = handle.result().xet_info
        found = self.find(info.sha256)
        assert found is not None and found.xet_hash == info.hash, "hf_xet wrote no shard naming the upload"
        return found

    def read(self, file: XetFile) -> bytes:
        """Rebuild the bytes from the CAS with hf_xet, and check them against the sha256."""
        import hf_xet

        with tempfile.TemporaryDirectory(prefix="test-hub-xet-") as tmp:
            target = Path(tmp) / "file"
            with self._io:
                with self._xet_session().new_file_download_group(endpoint=self.url) as group:
                    group.start_download_file(hf_xet.XetFileInfo(file.xet_hash, file.size), str(target))
            data = target.read_bytes()
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise ValueError(f"the CAS rebuilt {file.xet_hash} into bytes that do not match sha256 {file.sha256}")
        return data

    def _xet_session(self):  # -> hf_xet.XetSession; the server's own, apart from the client's
        import hf_xet

        if self._session is None:
            self._session = hf_xet.XetSession()
        return self._session


def token_answer(cas: XetCas, now: float | None = None) -> tuple[dict[str, object], dict[str, str]]:
    """The body and headers of a xet-read-token / xet-write-token answer (the Hub sends both)."""
    exp = int((now if now is not None else time.time()) + TOKEN_LIFETIME)
    token = hashlib.sha1(f"{cas.url}{exp}".encode()).hexdigest()
    body: dict[str, object] = {"accessToken": token, "exp": exp, "casUrl": cas.url}
    headers = {"X-Xet-Cas-Url": cas.url, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": str(exp)}
    return body, headers


def resolve_headers(file: XetFile, token_url: str, bridge_url: str) -> dict[str, str]:
    """The 302 the Hub answers on `/resolve` for a Xet file (metadata on the redirect itself)."""
    return {
        "Location": bridge_url,
        "X-Xet-Hash": file.xet_hash,
        "Link": f'<{token_url}>; rel="xet-auth"',
        "X-Linked-Etag": f'"{file.sha256}"',
        "X-Linked-Size": str(file.size),
        "ETag": f'"{file.pointer_oid}"',
    }


def tree_fields(file: XetFile) -> Mapping[str, object]:
    """What a tree / paths-info entry adds for a Xet file (its `oid` is the pointer's git id)."""
    return {
        "oid": file.pointer_oid,
        "lfs": {"oid": file.sha256, "size": file.size, "pointerSize": len(file.pointer)},
        "xetHash": file.xet_hash,
    }
