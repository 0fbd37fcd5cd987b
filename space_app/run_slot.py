"""One sync at a time, in a background thread, shared by the scheduler, the buttons and the API.

A request while a run is going is refused with what is running. Every run ends as a `RunRecord`
(success, stopped, nothing new or failed); a failure is logged with its message and kept as the
last error, never swallowed. The run continues when the browser that started it goes away.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from space_app.redact import Redactor
from sync.core.errors import SyncError
from sync.core.progress import Progress, ProgressCallback
from sync.engine.run import RunRequest
from sync.runs.result import RunResult

log = logging.getLogger(__name__)
HISTORY = 50  # runs of this process kept in memory


@dataclasses.dataclass
class RunRecord:
    """A run of this process: live while it runs, then its outcome."""

    request: RunRequest
    started_at: dt.datetime
    started_mono: float
    progress: Progress | None = None
    phase_mono: float = 0.0
    finished_at: dt.datetime | None = None
    status: str = "running"  # running, success, nothing new, stopped, failed
    message: str = ""
    retryable: bool = False
    result: RunResult | None = None

    @property
    def ok(self) -> bool:
        return self.status not in ("running", "failed")


Job = Callable[[RunRequest, ProgressCallback], RunResult]
Clock = Callable[[], dt.datetime]


class Runner:
    """Single-flight run slot. `start` returns at once; the run goes on in a daemon thread."""

    def __init__(
        self,
        job: Job,
        clock: Clock,
        redactor: Redactor,
        on_finish: Callable[[RunRecord], None] | None = None,
        refresh: Callable[[], object] | None = None,
    ):
        """`refresh` runs after the job and before its record is shown as finished (the Space re-reads
        the repo there, so a finished run is never shown beside the head from before it)."""
        self.job, self.clock, self.redactor = job, clock, redactor
        self.on_finish = on_finish or (lambda record: None)
        self.refresh = refresh or (lambda: None)
        self.guard = threading.Lock()
        self.current: RunRecord | None = None
        self.history: list[RunRecord] = []  # newest last
        self.thread: threading.Thread | None = None

    def start(self, request: RunRequest) -> tuple[bool, str]:
        """(True, "started ...") or (False, "a ... is already running ...")."""
        with self.guard:
            if self.current is not None:
                return False, f"not started: {busy_message(self.current)}"
            record = RunRecord(request, self.clock(), time.monotonic(), phase_mono=time.monotonic())
            self.current = record
            self.thread = threading.Thread(target=self._run, args=(record,), name=f"sync-{request.kind}", daemon=True)
            self.thread.start()
        log.info("started %s", request.describe())
        return True, f"started {request.describe()}; follow it in Status and Logs"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run (tests and shutdown); True when none is running afterwards."""
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
        return self.current is None

    def snapshot(self) -> tuple[RunRecord | None, list[RunRecord]]:
        with self.guard:
            current = dataclasses.replace(self.current) if self.current else None
            return current, list(self.history)

    def _progress(self, record: RunRecord, progress: Progress) -> None:
        with self.guard:
            if record.progress is None or record.progress.phase != progress.phase:
                record.phase_mono = time.monotonic()
            record.progress = progress

    def _run(self, record: RunRecord) -> None:
        try:
            result = self.job(record.request, lambda p: self._progress(record, p))
            record.result = result
            record.status = "stopped" if result.stopped else ("success" if result.published else "nothing new")
            record.message = self.redactor.text(result.headline())
            log.info("%s finished: %s", record.request.describe(), record.message)
        except BaseException as error:  # noqa: BLE001 - shown and kept as last error; a thread has no caller
            record.status = "failed"
            record.message = self.redactor.text(error_text(error))
            record.retryable = isinstance(error, SyncError) and error.retryable
            log.error(
                "%s failed: %s", record.request.describe(), record.message, exc_info=not isinstance(error, SyncError)
            )
        finally:
            record.finished_at = self.clock()
            try:
                self.refresh()
            except Exception:
                log.exception("after %s: could not re-read the repo", record.request.describe())
            with self.guard:
                self.current = None
                self.history = (self.history + [record])[-HISTORY:]
            try:
                self.on_finish(record)
            except Exception:
                log.exception("after %s", record.request.describe())


def error_text(error: BaseException) -> str:
    """What the user reads: the message, its hint, and whether retrying helps."""
    text = str(error) or type(error).__name__
    if isinstance(error, SyncError):
        text += f"; {error.hint}" if error.hint else ""
        text += " (retrying may help)" if error.retryable and "retry" not in text.lower() else ""
    else:
        text += " (unexpected error; nothing was published)"
    return text


def busy_message(record: RunRecord) -> str:
    """'a full sync (button) is running since 21:00:03: fetch 12/64 chunk' — what a second request is told."""
    where = f": {progress_text(record.progress)}" if record.progress else ""
    since = record.started_at.strftime("%H:%M:%S")
    return f"a {record.request.describe()} is already running since {since}{where}; try again when it finishes"


def progress_text(progress: Progress) -> str:
    if progress.total:
        return f"{progress.phase} {progress.done}/{progress.total} {progress.unit}, {progress.calls} API calls"
    return f"{progress.phase}, {progress.calls} API calls"


def eta_seconds(progress: Progress | None, phase_elapsed: float) -> float | None:
    """Seconds left in the fetch phase at the pace so far; None when nothing measurable is done yet."""
    if progress is None or not progress.total or progress.done <= 0 or phase_elapsed <= 0:
        return None
    return phase_elapsed / progress.done * (progress.total - progress.done)
