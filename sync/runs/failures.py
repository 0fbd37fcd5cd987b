"""The run journal: runs that have not reached meta/runs yet, kept with the repo's staging data.

A failed run publishes nothing, so it cannot write its own row of meta/runs.parquet; the next run
that publishes records it. Until then the row waits in the run journal. For a Hub repo that is
`journal.json` beside the full-sync checkpoints, on the branch `sync-staging/runs` (the adapter's
`journal_read` / `journal_write`), so a new machine (a restarted Space gets a fresh disk) still
records it; when it cannot be written there (a read-only token, the Hub down, a repo that does
not exist yet) it is kept in `<HF_HOME>/a-share-prices-sync/journal/` on this machine and merged
in at the next read. A folder target lives on this machine, so its journal is that local file
(outside the folder: a refused run leaves the target's files untouched). Never a secret:
messages are scrubbed first.

Restarts. A full sync marks itself running in the journal when it starts, with its origin (the
Space's `SPACE_ID`, else this host's name) and its input, and clears the mark when it ends,
whatever the outcome. A run holds the repo lock of its machine, and a Space runs on one machine at
a time, so a mark of this run's own origin that a new run finds belongs to a process that died
(a Space restart, a kill, a power cut). The new run records it as `interrupted` in meta/runs; the
Space reads the marks on start (`interrupted`) to show the interruption and resume the full sync
with trigger `resume`. A mark whose run is already in meta/runs or waits as a failed row is not
an interruption (only its clearing was lost) and is dropped.

    journal.json = {"version": 1, "pending": [<meta/runs row>, ...], "running": [<mark>, ...]}

An empty journal is removed (on the Hub: the branch is deleted), so a repo at rest has no extra branch.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import cast

import pyarrow.parquet as pq
from huggingface_hub import constants

from dataset_script.schema import RUNS_PATH
from sync.core.errors import SyncError
from sync.core.files import write_atomic
from sync.core.progress import RUN_KINDS, TRIGGERS, RunKind, RunStatus, Trigger
from sync.core.scrub import scrub
from sync.runs.history import run_row
from sync.runs.result import RunInfo
from sync.targets import DatasetRepo, RepoBusyError

log = logging.getLogger(__name__)
VERSION = 1


def origin() -> str:
    """Who runs syncs here: `space:<SPACE_ID>` on a Space (the same across restarts), else `host:<name>`."""
    space = os.environ.get("SPACE_ID", "").strip()
    return f"space:{space}" if space else f"host:{socket.gethostname()}"


# -- the journal document ------------------------------------------------------------------------
def _local_file(repo: DatasetRepo) -> Path:
    key = hashlib.sha1(repo.description.encode()).hexdigest()[:16]
    return Path(constants.HF_HOME) / "a-share-prices-sync" / "journal" / f"{key}.json"


def _parse(data: bytes | None, where: str) -> dict:
    if not data:
        return {"pending": [], "running": []}
    try:
        doc = json.loads(data)
        return {"pending": list(doc.get("pending", [])), "running": list(doc.get("running", []))}
    except (ValueError, AttributeError):
        log.warning("the run journal in %s is not readable JSON; starting a new one", where)
        return {"pending": [], "running": []}


def _union(*lists: Sequence[dict]) -> list[dict]:
    seen, out = set(), []
    for items in lists:
        for item in items:
            if item.get("run_id") not in seen:
                seen.add(item.get("run_id"))
                out.append(item)
    return out


def _load(repo: DatasetRepo, strict: bool = False) -> dict:
    """The repo's journal merged with what waits on this machine; a journal that cannot be read is
    left out with a warning (the run itself does not depend on it), or raised when `strict`."""
    read = getattr(repo, "journal_read", None)  # only a Hub repo keeps one beside its staging data
    try:
        shared = _parse(read() if read else None, repo.description)
    except (SyncError, OSError) as error:
        if strict:
            raise
        log.warning("could not read the run journal of %s: %s", repo.description, error)
        shared = {"pending": [], "running": []}
    file = _local_file(repo)
    local = _parse(file.read_bytes() if file.is_file() else None, str(file))
    return {key: _union(shared[key], local[key]) for key in ("pending", "running")}


def _save(repo: DatasetRepo, doc: dict, *, create: bool = False) -> None:
    """Write the journal to the repo; when that fails, keep it on this machine. Never raises."""
    empty = not doc["pending"] and not doc["running"]
    data = json.dumps({"version": VERSION, **doc}, default=_iso, ensure_ascii=False, sort_keys=True).encode()
    file = _local_file(repo)
    write = getattr(repo, "journal_write", None)
    try:
        if write is not None and write(None if empty else data, create=create):
            file.unlink(missing_ok=True)
            return
        reason = f"{repo.description} does not exist yet or cannot hold it" if write else None
    except (SyncError, OSError) as error:
        reason = str(error)
    if reason:
        log.warning("the run journal stays on this machine (%s): %s", file, reason)
    if empty:
        file.unlink(missing_ok=True)
        return
    try:
        write_atomic(file, data)
    except OSError as error:
        log.warning("could not keep the run journal on this machine either: %s", error)


def _iso(value: object) -> str:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _typed(row: Mapping) -> dict:
    row = dict(row)
    for key in ("started_at", "finished_at"):
        if isinstance(row.get(key), str):
            row[key] = dt.datetime.fromisoformat(row[key])
    return row


# -- failed runs ---------------------------------------------------------------------------------
def pending(repo: DatasetRepo) -> list[dict]:
    """meta/runs rows of runs that failed or were interrupted since the last publish, oldest first."""
    return [_typed(r) for r in _load(repo)["pending"]]


def record(repo: DatasetRepo, row: Mapping) -> None:
    doc = _load(repo)
    doc["pending"] = _union(doc["pending"], [dict(row)])
    _save(repo, doc)


def forget(repo: DatasetRepo, run_ids: Sequence[str]) -> None:
    """Drop the rows that a publish has now recorded."""
    if not run_ids:
        return
    doc = _load(repo)
    gone = set(run_ids)
    if any(r.get("run_id") in gone for r in doc["pending"]):
        doc["pending"] = [r for r in doc["pending"] if r.get("run_id") not in gone]
        _save(repo, doc)


# -- running full syncs --------------------------------------------------------------------------
def interrupted(repo: DatasetRepo, doc: dict | None = None, *, strict: bool = False) -> list[dict]:
    """Marks of full syncs of this origin that stopped without ending (see the module doc), oldest first.

    `strict`: a repo that cannot be read raises (the Space's start-up retries it) instead of
    counting as "nothing interrupted"."""
    doc = _load(repo, strict) if doc is None else doc
    mine = [m for m in doc["running"] if m.get("origin") == origin()]
    waiting = {r.get("run_id") for r in doc["pending"]}
    mine = [m for m in mine if m.get("run_id") not in waiting]
    if not mine:
        return []
    published = _published_run_ids(repo, strict)
    return [m for m in mine if m.get("run_id") not in published]


def _published_run_ids(repo: DatasetRepo, strict: bool = False) -> set[str]:
    try:
        head = repo.head()
        data = repo.read(RUNS_PATH, head) if head else None
        return set(pq.read_table(io.BytesIO(data), columns=["run_id"]).column("run_id").to_pylist()) if data else set()
    except Exception as error:  # noqa: BLE001 - a damaged meta/runs is the run's business, not the journal's
        if strict and isinstance(error, SyncError):
            raise
        log.warning("could not read %s of %s: %s", RUNS_PATH, repo.description, error)
        return set()


def _mark(run: RunInfo, resume: Mapping[str, object]) -> dict:
    return {
        "run_id": run.run_id,
        "kind": run.kind,
        "trigger": run.trigger,
        "origin": origin(),
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "resume": dict(resume),
    }


def _interruption_row(mark: Mapping, by: RunInfo) -> dict:
    started = dt.datetime.fromisoformat(str(mark["started_at"]))
    resumed = "resumed by" if by.trigger == "resume" else "noticed by"
    message = (
        f"interrupted: the process running this {mark.get('kind', 'full')} sync stopped before it finished "
        f"(a restart, a kill or a crash); {resumed} run {by.run_id}"
    )
    # the mark is JSON written by this code: an unknown value (a newer version's) falls back to the defaults
    trigger = cast(Trigger, mark["trigger"]) if mark.get("trigger") in TRIGGERS else "cli"
    kind = cast(RunKind, mark["kind"]) if mark.get("kind") in RUN_KINDS else "full"
    return run_row(str(mark["run_id"]), trigger, kind, started, max(by.started_at, started), "interrupted", {}, message)


def _begin(repo: DatasetRepo, run: RunInfo, resume: Mapping[str, object] | None) -> None:
    """Record the interruptions of this origin; mark a full sync as running. Never raises."""
    try:
        doc = _load(repo)
        stale = [m for m in doc["running"] if m.get("origin") == origin()]
        dead = interrupted(repo, doc) if stale else []
        for mark in dead:
            log.warning(
                "run %s (%s sync started %s) was interrupted; recording it",
                mark.get("run_id"),
                mark.get("kind"),
                mark.get("started_at"),
            )
        stale_ids = {m.get("run_id") for m in stale}
        doc["running"] = [m for m in doc["running"] if m.get("run_id") not in stale_ids]
        doc["pending"] = _union(doc["pending"], [_interruption_row(m, run) for m in dead])
        if resume is not None:
            doc["running"].append(_mark(run, resume))
        if stale or resume is not None:
            _save(repo, doc, create=resume is not None)
    except Exception:  # noqa: BLE001 - bookkeeping must never stop a run
        log.exception("could not update the run journal of %s", repo.description)


def _end(repo: DatasetRepo, run: RunInfo, marked: bool, row: Mapping | None) -> None:
    """Clear this run's mark and keep its failed row. Never raises."""
    if not marked and row is None:
        return
    try:
        doc = _load(repo)
        doc["running"] = [m for m in doc["running"] if m.get("run_id") != run.run_id]
        if row is not None:
            doc["pending"] = _union(doc["pending"], [dict(row)])
        _save(repo, doc)
    except Exception:  # noqa: BLE001 - the run's own outcome matters more than its bookkeeping
        log.exception("could not update the run journal of %s", repo.description)


@contextlib.contextmanager
def recorded(
    repo: DatasetRepo,
    run: RunInfo,
    api_calls: Callable[[], Mapping[str, int]],
    resume: Mapping[str, object] | None = None,
    secrets: Sequence[str | None] = (),
) -> Iterator[None]:
    """Run the body inside the journal: earlier interruptions of this origin are recorded first; with
    `resume` (a full sync's input, as JSON values) the run is marked running until it ends; when the
    body fails (other than "another sync is running"), its row waits for the next publish."""
    _begin(repo, run, resume)
    marked = resume is not None
    try:
        yield
    except RepoBusyError:
        _end(repo, run, marked, None)
        raise  # nothing ran: not a run of its own
    except BaseException as error:
        status: RunStatus = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
        message = scrub(str(error) or type(error).__name__, secrets)
        _end(repo, run, marked, run.row(status, api_calls(), message))
        raise
    else:
        _end(repo, run, marked, None)


def resume_input(start: dt.date | None, end: dt.date | None, markets: Sequence[str] | None, **more: object) -> dict:
    """A full sync's input as the JSON values its mark keeps (dates as YYYYMMDD, None = default)."""

    def day(d: dt.date | None) -> str | None:
        return d.strftime("%Y%m%d") if d else None

    return {"start": day(start), "end": day(end), "markets": list(markets) if markets else None, **more}
