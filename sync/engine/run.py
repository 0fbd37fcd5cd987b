"""The one entry every caller runs a sync through: the CLI, the Space's scheduler, buttons and API.

`run` opens the target and the source, runs a full or a delta sync, and closes the source:

    result = run(Settings.from_env(), RunRequest("delta", trigger="schedule"), now)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sync.core.config import Settings
from sync.core.progress import ProgressCallback, RunKind, Trigger
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch.source import open_source
from sync.runs.result import RunResult
from sync.targets import dataset_id, open_repo

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """What to run: a full sync of [start, end] for `markets` (None: the defaults), or a delta up to `end`.

    `target` is a `--repo` value (None: the settings' DATASET_REPO).
    """

    kind: RunKind
    trigger: Trigger = "cli"
    start: dt.date | None = None
    end: dt.date | None = None
    markets: tuple[str, ...] | None = None
    target: str | None = None
    migrate_legacy: bool = (
        False  # full only: replace the old pipeline's all-prices.csv layout (`full --migrate-legacy`)
    )

    def describe(self) -> str:
        """'full sync (button; 2024-01-02 .. newest; 主板)' or 'delta sync (schedule)'."""
        details: list[str] = [self.trigger]
        if self.start or self.end:
            details.append(f"{self.start or 'default start'} .. {self.end or 'newest'}")
        if self.markets:
            details.append(",".join(self.markets))
        if self.migrate_legacy:
            details.append("migrating the legacy layout")
        return f"{self.kind} sync ({'; '.join(details)})"


def run(
    settings: Settings,
    request: RunRequest,
    now: dt.datetime,
    on_progress: ProgressCallback | None = None,
    progress_bar: bool = False,
) -> RunResult:
    """Open the target and the source, run `request`, close the source. `progress_bar`: a tqdm bar on stderr."""
    target = request.target or settings.dataset_repo
    repo = open_repo(target, hf_token=settings.hf_token)
    with open_source(settings, now.date()) as source:
        log.info("source: %s", source.description)
        log.info("target: %s", repo.description)
        if request.kind == "full":
            return run_full(
                repo,
                source,
                settings,
                now,
                start=request.start,
                end=request.end,
                markets=request.markets,
                repo_id=dataset_id(target),
                progress=progress_bar,
                trigger=request.trigger,
                on_progress=on_progress,
                migrate_legacy=request.migrate_legacy,
            )
        return run_delta(
            repo,
            source,
            settings,
            now,
            end=request.end,
            repo_id=dataset_id(target),
            progress=progress_bar,
            trigger=request.trigger,
            on_progress=on_progress,
        )
