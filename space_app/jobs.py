"""The one place the Space calls the sync engine: open the repo and the source, run full or delta."""

from __future__ import annotations

import inspect

from dataset_script.schema import REPO_ID
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.targets import HUB_PREFIX, open_repo
from sync.runs.result import RunResult
from sync.core.progress import ProgressCallback
from sync.fetch.source import open_source

from space_app.run_slot import Clock, Job, RunRequest


def repo_id_of(target: str) -> str:
    """The dataset id a run names in its card: the Hub repo's own, else the public dataset's."""
    return target[len(HUB_PREFIX):].strip("/") if target.startswith(HUB_PREFIX) else REPO_ID


def can_migrate() -> bool:
    """Whether this engine offers `run_full(..., migrate_legacy=True)`."""
    return "migrate_legacy" in inspect.signature(run_full).parameters


def make_job(settings: Settings, clock: Clock) -> Job:
    """A job for `Runner`: each run opens its own repo handle and source, and closes the source after."""

    def job(request: RunRequest, on_progress: ProgressCallback) -> RunResult:
        now = clock()
        repo = open_repo(settings.dataset_repo, hf_token=settings.hf_token)
        repo_id = repo_id_of(settings.dataset_repo)
        with open_source(settings, now.date()) as source:
            if request.kind == "full":
                more = {"migrate_legacy": True} if request.migrate_legacy else {}  # only asked for by the admin button
                return run_full(repo, source, settings, now, start=request.start, end=request.end,
                                markets=request.markets, repo_id=repo_id, trigger=request.trigger,
                                on_progress=on_progress, **more)
            return run_delta(repo, source, settings, now, end=request.end, repo_id=repo_id,
                             trigger=request.trigger, on_progress=on_progress)

    return job
