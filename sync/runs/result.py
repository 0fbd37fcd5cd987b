"""What a run reports: `RunResult`, returned by full and delta sync and shown by the CLI and the Space."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Mapping

from sync.core.progress import TRIGGERS, RunKind, RunStatus, Trigger
from sync.runs.history import run_row


@dataclasses.dataclass
class RunResult:
    kind: RunKind
    published: bool
    commit: str | None
    watermark_before: dt.date | None
    watermark: dt.date | None
    days: list[dt.date]
    rows: int
    bytes_written: int
    api_calls: Mapping[str, int]
    stopped: tuple[dt.date, str] | None = None
    run_id: str | None = None  # the run's row in meta/runs.parquet, when it published
    slowed: Mapping[str, int] = dataclasses.field(default_factory=dict)  # interface ("*": all) → lowest pace/min
    legacy_kept_at: str | None = None  # a migration: where the old all-prices.csv is kept
    legacy_kept_files: tuple[str, ...] = ()  # a migration: the maintainer's files it kept as they were

    def headline(self) -> str:
        """One line for humans, e.g. 'complete through 2024-04-12; 2024-04-15 not yet published'."""
        through = f"complete through {self.watermark.isoformat()}" if self.watermark else "no complete day"
        if self.stopped:
            day, reason = self.stopped
            line = f"{through}; {day.isoformat()} not yet published ({reason})"
        else:
            line = through if self.published else f"nothing new: {through}"
        return line + (f"; {slowed_note(self.slowed)}" if self.slowed else "")


def slowed_note(slowed: Mapping[str, int]) -> str:
    """'slowed by Tushare's per-minute quota (shared with another job?): daily to 98/min'."""
    paces = ", ".join(
        f"{'all interfaces together' if api == '*' else api} to {n}/min" for api, n in sorted(slowed.items())
    )
    return f"slowed by Tushare's per-minute quota (another job may share the token): {paces}"


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """Who started a run and when: the fixed part of its meta/runs.parquet row."""

    run_id: str
    trigger: Trigger
    kind: RunKind
    started_at: dt.datetime
    started_clock: float  # time.monotonic() at the start: finished_at = started_at + elapsed

    @classmethod
    def start(cls, kind: RunKind, trigger: Trigger, now: dt.datetime) -> RunInfo:
        if trigger not in TRIGGERS:
            raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}; got {trigger!r}")
        return cls(uuid.uuid4().hex[:12], trigger, kind, now, time.monotonic())

    def row(self, status: RunStatus, api_calls: Mapping[str, int], message: str, commit: str | None = None) -> dict:
        finished = self.started_at + dt.timedelta(seconds=time.monotonic() - self.started_clock)
        return run_row(
            self.run_id, self.trigger, self.kind, self.started_at, finished, status, api_calls, message, commit
        )
