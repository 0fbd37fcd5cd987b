"""Guards of the Admin actions: who may start a full sync, how often, and with which input.

Pure apart from the clock you pass in. The admin token is compared in constant time; failed
attempts are limited per client (a few per window), so guessing a long token is hopeless and a
stranger's failures cannot lock the maintainer out.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hmac
import threading
from collections.abc import Mapping

from sync.core.clock import parse_ymd
from sync.core.config import parse_markets
from sync.core.errors import ConfigError

SYNC_NOW_COOLDOWN = 60.0  # seconds between two "Sync now" starts
MAX_FAILED_ATTEMPTS = 5  # wrong admin tokens per client per window
MAX_FAILED_ATTEMPTS_ALL = 30  # wrong admin tokens from all clients together per window
FAILED_WINDOW = 600.0  # seconds


@dataclasses.dataclass(frozen=True)
class FullSyncInput:
    start: dt.date | None
    end: dt.date | None
    markets: tuple[str, ...] | None


def parse_day(text: str, name: str) -> dt.date | None:
    """'' → None; '20240412' or '2024-04-12' → a date; else ConfigError naming the field."""
    text = (text or "").strip()
    if not text:
        return None
    return parse_ymd(text.replace("-", ""), name)


def parse_full_input(start: str, end: str, markets: str) -> FullSyncInput:
    """Validated full-sync input; empty strings mean the defaults. Raises ConfigError."""
    first, last = parse_day(start, "start"), parse_day(end, "end")
    if first and last and first > last:
        raise ConfigError(f"start {first.isoformat()} is after end {last.isoformat()}")
    chosen = parse_markets(markets, "markets") if (markets or "").strip() else None
    return FullSyncInput(first, last, chosen)


def full_sync_disabled(target_is_hub: bool, admin_token: str | None, real_token: bool = False) -> str | None:
    """Why full sync is off, or None. It needs SYNC_ADMIN_TOKEN when it publishes to the Hub, and
    whenever a real TUSHARE_TOKEN is configured (the quota is the maintainer's), whatever the target;
    only the embedded demo market onto a local folder runs without one."""
    if admin_token:
        return None
    if real_token:
        return (
            "full sync is disabled: this Space has a Tushare token (its quota is the maintainer's) and no "
            "admin token. Add a secret named SYNC_ADMIN_TOKEN in the Space settings and restart it to enable it."
        )
    if target_is_hub:
        return (
            "full sync is disabled: this Space publishes to the Hub and has no admin token. "
            "Add a secret named SYNC_ADMIN_TOKEN in the Space settings and restart it to enable it."
        )
    return None


def migrate_disabled(admin_token: str | None) -> str | None:
    """Migrating the old pipeline's layout always needs SYNC_ADMIN_TOKEN: it rewrites the whole repo."""
    if not admin_token:
        return (
            "migration is disabled: it needs an admin token. Add a secret named SYNC_ADMIN_TOKEN in the "
            "Space settings and restart it to enable it."
        )
    return None


def space_config_error(env: Mapping[str, str]) -> str | None:
    """On a HuggingFace Space (SPACE_ID is set) DATASET_REPO must be set: the default ./dataset is
    the Space's ephemeral disk, lost at every restart."""
    if not env.get("SPACE_ID", "").strip() or env.get("DATASET_REPO", "").strip():
        return None
    return (
        "configuration error: DATASET_REPO is not set. On a Space the default ./dataset is the Space's ephemeral "
        "disk, wiped at every restart, so nothing is scheduled or published. Add a variable DATASET_REPO = "
        "hf://datasets/OWNER/NAME in the Space settings (with a secret HF_TOKEN that can write to it), then "
        "restart the Space."
    )


def token_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; with no token configured (a local folder) anything passes."""
    if not expected:
        return True
    return hmac.compare_digest((given or "").encode(), expected.encode())


class FailureLimiter:
    """At most `limit` failed attempts per client in a sliding `window` of seconds."""

    def __init__(self, limit: int = MAX_FAILED_ATTEMPTS, window: float = FAILED_WINDOW):
        self.limit, self.window = limit, window
        self.failures: dict[str, collections.deque[float]] = {}
        self.guard = threading.Lock()

    def wait_seconds(self, client: str, now: float) -> float:
        """0 when `client` may try; else how long until its oldest failure leaves the window."""
        with self.guard:
            recent = self._recent(client, now)
            return 0.0 if len(recent) < self.limit else recent[0] + self.window - now

    def record_failure(self, client: str, now: float) -> None:
        with self.guard:
            self._recent(client, now).append(now)

    def _recent(self, client: str, now: float) -> collections.deque[float]:
        recent = self.failures.setdefault(client, collections.deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(self.failures) > 10_000:  # bound memory against many clients
            self.failures = {k: v for k, v in self.failures.items() if v}
        return recent


class Cooldown:
    """'Sync now' at most once per `seconds`."""

    def __init__(self, seconds: float = SYNC_NOW_COOLDOWN):
        self.seconds = seconds
        self.last: float | None = None
        self.guard = threading.Lock()

    def remaining(self, now: float) -> float:
        with self.guard:
            return 0.0 if self.last is None else max(0.0, self.last + self.seconds - now)

    def mark(self, now: float) -> None:
        with self.guard:
            self.last = now
