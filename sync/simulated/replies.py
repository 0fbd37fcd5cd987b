"""Replies of the Tushare-compatible server: the JSON envelope, and injected faults.

Kept apart from the server so the protocol's shapes can be read (and tested) on their own.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import uuid
from collections.abc import Collection

FAULT_KINDS = ("http_500", "http_429", "http_403", "not_json", "drop", "null_data")


@dataclasses.dataclass
class FaultPlan:
    """Injected failures: a seeded random `rate` over `kinds`, and/or an explicit schedule.

    >>> plan = FaultPlan()
    >>> plan.fail_next("http_500", count=2, api="daily")   # the next two daily requests get a 500
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    apis: Collection[str] | None = None  # None: every interface
    schedule: list[list] = dataclasses.field(default_factory=list)  # [api or None, kind, remaining]

    def __post_init__(self) -> None:
        unknown = [k for k in (*self.kinds, *(entry[1] for entry in self.schedule)) if k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; expected some of {FAULT_KINDS}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def fail_next(self, kind: str, count: int = 1, api: str | None = None) -> None:
        """Make the next `count` requests (to `api`, or to any interface) fail with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            self.schedule.append([api, kind, count])

    def draw(self, api: str) -> str | None:
        """The fault for this request, if any (scheduled ones first). Thread-safe."""
        with self._lock:
            for entry in self.schedule:
                if entry[0] in (None, api) and entry[2] > 0:
                    entry[2] -= 1
                    return entry[1]
            if self.rate > 0 and (self.apis is None or api in self.apis) and self._rng.random() < self.rate:
                return self._rng.choice(self.kinds)
        return None


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    drop: bool = False  # close the connection without answering


def envelope(code: int, msg: str, data: dict | None) -> Reply:
    payload = {"request_id": str(uuid.uuid4()), "code": code, "msg": msg, "data": data}
    return Reply(200, json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8"))


def fault_reply(kind: str) -> Reply:
    if kind == "drop":
        return Reply(0, b"", drop=True)
    if kind == "null_data":
        return envelope(0, "", None)
    if kind == "not_json":
        return Reply(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
    status = {"http_500": 500, "http_429": 429, "http_403": 403}[kind]
    return Reply(status, f"<html><body>{status}</body></html>".encode(), "text/html")
