"""Guards of the Admin actions: who may start a full sync, and with which input.

Pure, apart from `answered`, which sleeps. The admin token is compared in constant time and must
be at least `MIN_ADMIN_TOKEN` characters long. A wrong token is answered after `WRONG_TOKEN_DELAY`
seconds, waited on the event loop (no worker thread, no queue slot), so guessing a long token is
hopeless; there is no lockout, shared or per client, so a stranger's wrong tokens cannot lock the
maintainer out (a client address can be forged, so a per-client lockout could be aimed at them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hmac
from collections.abc import Mapping

from sync.core.clock import parse_ymd
from sync.core.config import parse_markets
from sync.core.errors import ConfigError

MIN_ADMIN_TOKEN = 16  # characters; a shorter SYNC_ADMIN_TOKEN is a configuration error
WRONG_TOKEN_DELAY = 1.0  # seconds a wrong admin token waits for its answer
WRONG_TOKEN = "refused: wrong admin token; nothing was started"


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


def admin_token_error(token: str | None) -> str | None:
    """A configured SYNC_ADMIN_TOKEN shorter than `MIN_ADMIN_TOKEN` characters: the error to show
    (admin actions are refused; the schedule runs on). The token itself is never in the text."""
    if not token or len(token) >= MIN_ADMIN_TOKEN:
        return None
    return (
        f"configuration error: SYNC_ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN} characters, so admin actions "
        "(full sync, migration) are refused; the daily schedule runs on. Set a longer secret in the Space settings "
        '(e.g. the output of: python -c "import secrets; print(secrets.token_urlsafe(24))") and restart the Space.'
    )


async def answered(message: str) -> str:
    """`message`, after `WRONG_TOKEN_DELAY` seconds when it refuses a wrong admin token. Awaited on the
    event loop: a pending wrong token holds no worker thread and no queue slot, so the right token
    is answered at once however many wrong ones wait."""
    if message == WRONG_TOKEN:
        await asyncio.sleep(WRONG_TOKEN_DELAY)
    return message
