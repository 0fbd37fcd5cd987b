"""The closed sets a run is described with, and `Progress`, what a run reports while it works.

Run kinds, triggers, statuses and phases are `Literal` types, so the type checker catches a
misspelt "delat" wherever one is written; the tuples list them for checks at run time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal, get_args

RunKind = Literal["full", "delta"]
Trigger = Literal["cli", "schedule", "button", "catch-up"]
RunStatus = Literal["success", "stopped", "failed", "interrupted"]
"""A row of meta/runs.parquet: published everything it could fetch (success), published and stopped
before a day that is not yet complete (stopped), or failed / interrupted before publishing."""
Phase = Literal["plan", "fetch", "build", "publish"]

RUN_KINDS: tuple[RunKind, ...] = get_args(RunKind)
TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
PHASES: tuple[Phase, ...] = get_args(Phase)


@dataclasses.dataclass(frozen=True)
class Progress:
    """Where a run is, for a progress bar or the Space's status: `done` of `total` `unit`s in `phase`.

    Phases in order: "plan", "fetch", "build", "publish". `calls` counts the API calls made so far.
    """

    phase: Phase
    done: int = 0
    total: int = 0
    unit: str = ""
    calls: int = 0


ProgressCallback = Callable[[Progress], None]
