"""Per-interface pacing under Tushare's per-minute quota, and how a refusal slows it down.

`RateLimiter` admits at most a pace of requests per rolling window and key (an interface, or
`ACCOUNT` for a quota shared by all interfaces); `TushareClient` lowers and restores that pace
as quota replies come (docs/tushare.md#quotas-and-points). The clock and sleep are injected, so tests skip
the waits.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable

PACING_WINDOW_S = 60.5  # our rolling window: a minute plus a margin for latency jitter
NUDGE, SLOW = 0.95, 0.7  # the pace after a refusal: x0.95 when it was our own pace, x0.7 when shared
RECOVER_AFTER_S = 120.0  # two refusal-free minutes: step back up by RECOVER_STEP of the configured pace
RECOVER_STEP = 0.1
FLOOR = 0.1  # never slower than 10% of the configured pace
ACCOUNT = "*"  # the limiter key of a quota shared by all interfaces (per account)


@dataclasses.dataclass
class Slowdown:
    """How a per-minute quota slowed one interface (or, as ACCOUNT, all of them) during a client's life."""

    refusals: int = 0
    lowest: int = 0  # the lowest pace it was slowed to, requests per minute
    shared: bool = False  # the evidence said someone else was using the quota


class RateLimiter:
    """At most `limit_for(key)` admissions per key in any rolling `window_s`; safe across threads.

    A sliding-window log per key (admission times within the window). Waits go through the
    injected `sleep`, times through the injected `clock`, so tests skip them. A limit can be
    lowered for good (`lower`: the server said its limit is lower), slowed down after a quota
    refusal (`slow_down`, stepping back up after RECOVER_AFTER_S quiet), and an ACCOUNT limit can be
    added that all keys share (`share_account`).
    """

    def __init__(
        self,
        limit_for: Callable[[str], int],
        *,
        window_s: float = PACING_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._limit_for = limit_for
        self._window = window_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._log: dict[str, collections.deque[float]] = {}
        self._nominal: dict[str, int] = {}  # the configured pace (or the server's lower stated limit)
        self._limits: dict[str, int] = {}  # the pace now
        self._changed_at: dict[str, float] = {}  # when a slowed key's pace last changed
        self.waited: collections.defaultdict[str, float] = collections.defaultdict(float)  # seconds slept per key
        self.slowed: dict[str, Slowdown] = {}

    def limit(self, key: str) -> int:
        with self._lock:
            return self._limit(key)

    def lower(self, key: str, limit: int) -> bool:
        """Tighten `key` to `limit` per window for good (never loosen). True if it changed."""
        with self._lock:
            if not 0 < limit < self._limit(key):
                return False
            self._limits[key] = self._nominal[key] = limit
            return True

    def recent(self, key: str) -> int:
        """Admissions of `key` within the window up to now (ACCOUNT: of every key together)."""
        with self._lock:
            now = self._clock()
            keys = [k for k in self._log if k != ACCOUNT] if key == ACCOUNT else [key]
            return sum(sum(1 for t in self._log.get(k, ()) if t > now - self._window) for k in keys)

    def slow_down(self, key: str, factor: float, *, shared: bool) -> int | None:
        """Pace `key` at `factor` of its pace (not below FLOOR of its nominal); at most once per window.
        Returns the new pace, or None when it was slowed within the last window already."""
        with self._lock:
            now = self._clock()
            record = self.slowed.setdefault(key, Slowdown(lowest=self._limit(key)))
            record.refusals += 1
            record.shared = record.shared or shared
            changed = self._changed_at.get(key)
            if changed is not None and now - changed < self._window and self._limit(key) < self._nominal[key]:
                return None
            limit = max(1, round(FLOOR * self._nominal[key]), int(self._limit(key) * factor))
            self._limits[key] = limit
            self._changed_at[key] = now
            record.lowest = min(record.lowest, limit)
            return limit

    def share_account(self, limit: int) -> bool:
        """From now on all keys together stay within `limit` (a per-account quota). True if new or tighter."""
        with self._lock:
            if ACCOUNT in self._limits and self._limits[ACCOUNT] <= limit:
                return False
            self._limits[ACCOUNT] = self._nominal[ACCOUNT] = max(1, limit)
            self._log.setdefault(ACCOUNT, collections.deque())
            return True

    def acquire(self, key: str) -> float:
        """Block (via `sleep`) until `key` has room; return the admission time in clock seconds."""
        while True:
            with self._lock:
                now = self._clock()
                keys = (key, ACCOUNT) if ACCOUNT in self._limits and key != ACCOUNT else (key,)
                wait_s = max(self._wait(k, now) for k in keys)
                if wait_s <= 0:
                    for k in keys:
                        self._log.setdefault(k, collections.deque()).append(now)
                    self._recover(key, now)
                    return now
                wait_s = max(wait_s, 0.001)
                self.waited[key] += wait_s
            self._sleep(wait_s)

    def _limit(self, key: str) -> int:
        if key not in self._limits:
            self._limits[key] = self._nominal[key] = self._limit_for(key)
        return self._limits[key]

    def _wait(self, key: str, now: float) -> float:
        """Seconds until `key` has room (<= 0: now). Forgets admissions older than the window."""
        log = self._log.setdefault(key, collections.deque())
        while log and log[0] <= now - self._window:
            log.popleft()
        limit = self._limit(key)
        if len(log) < limit:
            return 0.0
        return log[len(log) - limit] + self._window - now

    def _recover(self, key: str, now: float) -> None:
        """A slowed key steps back up by RECOVER_STEP of its nominal pace per RECOVER_AFTER_S without a refusal."""
        for k in (key, ACCOUNT):
            changed = self._changed_at.get(k)
            if changed is None or now - changed < RECOVER_AFTER_S or self._limits[k] >= self._nominal[k]:
                continue
            self._limits[k] = min(self._nominal[k], self._limits[k] + max(1, round(RECOVER_STEP * self._nominal[k])))
            self._changed_at[k] = now
