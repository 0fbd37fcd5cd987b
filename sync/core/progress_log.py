"""Progress as log lines, for runs without a terminal (cron, GitHub Actions, HF Jobs, the Space).

A progress bar (tqdm) needs a terminal; elsewhere a first full sync would stay silent for half an
hour. `ProgressLog` receives the run's `Progress` reports and logs one line at each new phase, and
a heartbeat at least every `interval` seconds from its own thread, even while the fetcher waits
on the quota:

    progress: fetch 12/48 chunks (25%), 340 API calls, ETA 4m10s

    with ProgressLog(calls=lambda: client.total_calls) as log_progress:
        run_full(..., on_progress=log_progress)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from sync.core.progress import Progress, ProgressCallback

log = logging.getLogger("sync.progress")

INTERVAL = 30.0  # seconds between two lines at most


class ProgressLog:
    """A `ProgressCallback` that logs; `clock` and the thread are injectable for tests (`start=False`)."""

    def __init__(
        self,
        interval: float = INTERVAL,
        calls: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ):
        self.interval, self.calls, self.clock, self.log = interval, calls, clock, logger
        self.latest: Progress | None = None
        self._phase_started = 0.0  # when the current phase began (for the ETA)
        self._last_line: float | None = None  # when the last line was logged
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="progress-log", daemon=True)

    def __enter__(self) -> ProgressLog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            now = self.clock()
            new_phase = self.latest is None or self.latest.phase != progress.phase
            if new_phase:
                self._phase_started = now
            self.latest = progress
            if new_phase:
                self._emit(now)

    def tick(self) -> None:
        """Log the newest report again when `interval` has passed since the last line."""
        with self._lock:
            now = self.clock()
            if self.latest is not None and self._last_line is not None and now - self._last_line >= self.interval:
                self._emit(now)

    def line(self, now: float | None = None) -> str:
        """The text of a line for the newest report."""
        p = self.latest
        assert p is not None, "a line needs a report first"  # callers emit only after one
        now = self.clock() if now is None else now
        parts = [f"progress: {p.phase}"]
        if p.total:
            parts[0] += (
                f" {p.done}/{p.total} {p.unit}{'s' if p.total != 1 and p.unit else ''} ({100 * p.done // p.total}%)"
            )
        calls = self.calls() if self.calls else p.calls
        parts.append(f"{calls} API calls")
        if p.total and p.done:
            remaining = (now - self._phase_started) / p.done * (p.total - p.done)
            parts.append(f"ETA {_duration(remaining)}")
        elif p.total:
            parts.append("ETA unknown")
        return ", ".join(parts)

    def _emit(self, now: float) -> None:
        self._last_line = now
        self.log.info(self.line(now))

    def _beat(self) -> None:
        while not self._stop.wait(min(self.interval, 5.0)):
            self.tick()


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def both(*callbacks: ProgressCallback | None) -> ProgressCallback:
    """One callback that calls each of `callbacks` (None ones skipped)."""
    chosen = [c for c in callbacks if c is not None]

    def call(progress: Progress) -> None:
        for callback in chosen:
            callback(progress)

    return call


@contextlib.contextmanager
def reporting(
    tty: bool, on_progress: ProgressCallback | None, calls: Callable[[], int] | None = None
) -> Iterator[ProgressCallback]:
    """The callback a run reports to: `on_progress`, plus log lines when there is no terminal
    (with one, tqdm draws the bars)."""
    if tty:
        yield on_progress or (lambda _: None)
        return
    with ProgressLog(calls=calls) as logger:
        yield both(on_progress, logger)
