"""`.sync/state.json`: the watermark and per-shard bookkeeping that travel with the data.

It never holds a secret. It holds only facts about the data, plus the summary of the run that
produced this commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Literal

from dataset_script.schema import SCHEMA_VERSION

SourceKind = Literal["tushare", "synthetic"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("tushare", "synthetic")


@dataclasses.dataclass(frozen=True)
class SourceIdentity:
    """Where every published row came from: Tushare (any Tushare-compatible server with a real
    token), or a synthetic market and the spec that makes its prices (seed, size, first day).

    Two runs may publish to the same repo only when their identities are equal:

    >>> SourceIdentity("synthetic", {"seed": 7}) == SourceIdentity("synthetic", {"seed": 7})
    True
    """

    kind: SourceKind
    spec: Mapping = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.kind, **({"spec": dict(sorted(self.spec.items()))} if self.spec else {})}

    @classmethod
    def from_json(cls, data: Mapping) -> SourceIdentity:
        kind = data["kind"]
        if kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {kind!r}")
        return cls(kind, dict(data.get("spec", {})))

    def describe(self) -> str:
        """For messages, e.g. 'Tushare' or 'the embedded synthetic (demo) market (seed 7, 100 stocks from 2025-11-24)'."""
        if self.kind == "tushare":
            return "Tushare"
        facts = ", ".join(f"{k} {v}" for k, v in sorted(self.spec.items()))
        return "the embedded synthetic (demo) market" + (f" ({facts})" if facts else "")


TUSHARE = SourceIdentity("tushare")


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    rows: int
    sha256: str
    first_date: dt.date
    last_date: dt.date
    days: int
    bytes: int = 0
    memory_bytes: int = 0  # the table's Arrow size in memory (the card's num_bytes)
    # Order-free digest of the rows (`sync.tables.by_code.rows_digest`): a `by_code` file's equals the
    # sum of its months' shards' digests. "" in a state written before `by_code` existed.
    digest: str = ""

    def to_json(self) -> dict:
        return {
            "rows": self.rows,
            "sha256": self.sha256,
            "days": self.days,
            "bytes": self.bytes,
            "memory_bytes": self.memory_bytes,
            "first_date": self.first_date.isoformat(),
            "last_date": self.last_date.isoformat(),
            **({"digest": self.digest} if self.digest else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping) -> ShardInfo:
        return cls(
            rows=int(data["rows"]),
            sha256=data["sha256"],
            days=int(data["days"]),
            bytes=int(data.get("bytes", 0)),
            memory_bytes=int(data.get("memory_bytes", 0)),
            first_date=dt.date.fromisoformat(data["first_date"]),
            last_date=dt.date.fromisoformat(data["last_date"]),
            digest=data.get("digest", ""),
        )


@dataclasses.dataclass(frozen=True)
class SyncState:
    watermark: dt.date
    first_date: dt.date
    markets: tuple[str, ...]
    shards: Mapping[str, ShardInfo]
    files: Mapping[str, str] = dataclasses.field(default_factory=dict)  # meta/card path -> sha256
    last_run: Mapping = dataclasses.field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    # None: a state written before sources were recorded (see sync.engine.guards.check_source)
    source: SourceIdentity | None = None
    by_code: Mapping[str, ShardInfo] = dataclasses.field(default_factory=dict)  # config by_code's files

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.shards.values())

    def to_json(self) -> str:
        data = {
            "schema_version": self.schema_version,
            "watermark": self.watermark.isoformat(),
            "first_date": self.first_date.isoformat(),
            "markets": list(self.markets),
            **({"source": self.source.to_json()} if self.source else {}),
            "rows": self.rows,
            "shards": {path: info.to_json() for path, info in sorted(self.shards.items())},
            **(
                {"by_code": {path: info.to_json() for path, info in sorted(self.by_code.items())}}
                if self.by_code
                else {}
            ),
            "files": dict(sorted(self.files.items())),
            "last_run": dict(self.last_run),
        }
        return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> SyncState:
        data = json.loads(text)
        return cls(
            watermark=dt.date.fromisoformat(data["watermark"]),
            first_date=dt.date.fromisoformat(data["first_date"]),
            markets=tuple(data["markets"]),
            shards={path: ShardInfo.from_json(info) for path, info in data["shards"].items()},
            files=data.get("files", {}),
            last_run=data.get("last_run", {}),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            source=SourceIdentity.from_json(data["source"]) if data.get("source") else None,
            by_code={path: ShardInfo.from_json(info) for path, info in data.get("by_code", {}).items()},
        )
