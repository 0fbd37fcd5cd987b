"""What a run reports: `RunResult`, returned by full and delta sync and shown by the CLI and the Space."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping


@dataclasses.dataclass
class RunResult:
    kind: str
    published: bool
    commit: str | None
    watermark_before: dt.date | None
    watermark: dt.date | None
    days: list[dt.date]
    rows: int
    bytes_written: int
    api_calls: Mapping[str, int]
    stopped: tuple[dt.date, str] | None = None

    def headline(self) -> str:
        """One line for humans, e.g. 'complete through 2024-04-12; 2024-04-15 not yet published'."""
        through = f"complete through {self.watermark.isoformat()}" if self.watermark else "no complete day"
        if self.stopped:
            day, reason = self.stopped
            return f"{through}; {day.isoformat()} not yet published ({reason})"
        return through if self.published else f"nothing new: {through}"
