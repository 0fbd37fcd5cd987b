"""Replies of the Tushare-compatible server: the JSON envelope, and injected faults.

Kept apart from the server so the protocol's shapes can be read (and tested) on their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import threading
import uuid
from collections.abc import Collection

# Transport faults, then Tushare's own passing faults as the real server words them (HTTP 200,
# `{code, msg, data: null}`): -1000 系统内部错误 (waditu/tushare #754) and 50101 系统未知错误 (#1397).
TRANSPORT_FAULTS = ("http_500", "http_429", "http_403", "not_json", "drop", "null_data")
FAULT_KINDS = (*TRANSPORT_FAULTS, "internal_error", "unknown_error")
SERVER_FAULTS = {"internal_error": (-1000, "系统内部错误"), "unknown_error": (50101, "系统未知错误，欢迎上报！ 谢谢！")}


@dataclasses.dataclass
class FaultPlan:
    """Injected failures: a seeded random `rate` over `kinds`, and/or an explicit schedule by count
    or by a window of the server's time.

    >>> plan = FaultPlan()
    >>> plan.fail_next("http_500", count=2, api="daily")   # the next two daily requests get a 500
    >>> at = dt.datetime(2024, 4, 15, 21, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    >>> plan.fail_between("internal_error", at, at + dt.timedelta(minutes=20))   # -1000 for 20 minutes
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = TRANSPORT_FAULTS  # what `rate` draws from
    seed: int = 0
    apis: Collection[str] | None = None  # None: every interface
    schedule: list[list] = dataclasses.field(default_factory=list)  # [api or None, kind, remaining]
    windows: list[tuple[str | None, str, dt.datetime, dt.datetime]] = dataclasses.field(default_factory=list)

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

    def fail_between(self, kind: str, start: dt.datetime, end: dt.datetime, api: str | None = None) -> None:
        """Every request (to `api`, or to any interface) from `start` until before `end`, by the server's
        clock, fails with `kind` (aware times)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            self.windows.append((api, kind, start, end))

    def draw(self, api: str, now: dt.datetime | None = None) -> str | None:
        """The fault for this request at the server's `now`, if any (windows, then counted ones). Thread-safe."""
        with self._lock:
            for only, kind, start, end in self.windows:
                if only in (None, api) and now is not None and start <= now < end:
                    return kind
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
    if kind in SERVER_FAULTS:
        code, msg = SERVER_FAULTS[kind]
        request_id = str(uuid.uuid4())
        return envelope(code, f"{msg}request-id({request_id})" if code == 50101 else msg, None)
    if kind == "not_json":
        return Reply(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
    status = {"http_500": 500, "http_429": 429, "http_403": 403}[kind]
    return Reply(status, f"<html><body>{status}</body></html>".encode(), "text/html")
