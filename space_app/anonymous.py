"""When a stranger's "Sync now" may spend the maintainer's quota. Pure.

Anonymous means without a valid admin token: the Sync now button and `/sync_now` without one. A
no-op delta costs about 20 Tushare calls and 35 Hub requests (`whoami-v2` among them, which the
Hub rate-limits hard), so an anonymous Sync now starts a delta only when

- a trading day newer than the watermark may be published by the clock (today from the 15:30
  close gate on, by the trading calendar: `schedule_rules.newer_day_publishable`), and
- no run of any kind (scheduled, catch-up, resume, button) started in the last 30 minutes of
  real elapsed time (monotonic seconds, so also while SYNC_NOW pins the clock).

Otherwise it is answered from what the Space already holds: its last read of the repo (never a
new read) and its own runs, with no Tushare call and no Hub request.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from space_app import schedule_rules
from space_app.repo_view import Facts
from space_app.run_slot import RunRecord, busy_message

QUIET = 30 * 60.0  # seconds after any run's start during which an anonymous Sync now starts nothing
NOTHING_PUBLISHED = "nothing published yet: run a full sync first (Admin → Full sync)"
NOT_READ = "not started: the published dataset has not been read yet; try again in a minute"


def refusal(
    held: Facts | None, current: RunRecord | None, history: Sequence[RunRecord], now: dt.datetime, monotonic: float
) -> str | None:
    """Why an anonymous Sync now starts nothing, or None when it may start a delta.

    `held`: the repo as last read (None: not read yet); `history`: this process's finished runs;
    `monotonic`: now on the clock of their `started_mono`."""
    if held is None or (held.error and not held.published):
        return NOT_READ
    if not held.published or held.watermark is None:
        return NOTHING_PUBLISHED
    if current is not None:
        return f"not started: {busy_message(current)}"
    if not schedule_rules.newer_day_publishable(now, held.open_days, held.watermark):
        return f"not started: nothing new can be published yet; complete through {held.watermark.isoformat()}"
    last = max((record.started_mono for record in history), default=None)
    elapsed = None if last is None else monotonic - last
    if elapsed is not None and elapsed < QUIET:
        wait = math.ceil((QUIET - elapsed) / 60)
        return (
            f"not started: a run started {int(elapsed // 60)} min ago; Sync now waits 30 minutes after any run "
            f"(try again in {wait} min)"
        )
    return None
