"""Test-only crash points: `reached("phase")` SIGKILLs this process the n-th time a phase is reached.

Set `SYNC_KILL_AT=<point>:<n>` (e.g. `SYNC_KILL_AT=commit.after:1`) in the environment of a
`python -m sync ...` subprocess to simulate a power cut at that exact phase; the reliability tests
then check that readers see the old or the new dataset, never a mix, and that a re-run recovers.
The variable is read once per process; without it `reached` is one dict lookup and a return.

>>> reached("checkpoint.staged")   # no-op unless SYNC_KILL_AT names this point
"""

from __future__ import annotations

import os
import signal
import threading

_target: tuple[str, int] | None = None
_read = False
_counts: dict[str, int] = {}
_lock = threading.Lock()


def _parse(text: str) -> tuple[str, int] | None:
    point, _, count = text.strip().rpartition(":")
    if not point or not count.isdigit() or int(count) < 1:
        return None
    return point, int(count)


def reached(point: str) -> None:
    """Kill this process with SIGKILL when `point` is reached for the n-th time named by SYNC_KILL_AT."""
    global _target, _read
    if not _read:
        _target, _read = _parse(os.environ.get("SYNC_KILL_AT", "")), True
    if _target is None or _target[0] != point:
        return
    with _lock:
        _counts[point] = _counts.get(point, 0) + 1
        if _counts[point] == _target[1]:
            os.kill(os.getpid(), signal.SIGKILL)
