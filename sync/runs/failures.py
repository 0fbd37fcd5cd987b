"""Runs that failed, kept on this machine until the next run that publishes records them.

A failed run publishes nothing, so it cannot write its own row of meta/runs.parquet; it leaves it
in `<HF_HOME>/a-share-prices-sync/failed-runs/<repo key>.jsonl` instead, one JSON object a line,
written atomically. Never a secret: the message is scrubbed before it gets here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from huggingface_hub import constants

from sync.targets import RepoBusyError
from sync.runs.result import RunInfo
from sync.core.files import write_atomic
from sync.core.progress import RunStatus
from sync.core.scrub import scrub


def _file(repo_description: str) -> Path:
    key = hashlib.sha1(repo_description.encode()).hexdigest()[:16]
    return Path(constants.HF_HOME) / "a-share-prices-sync" / "failed-runs" / f"{key}.jsonl"


def record(repo_description: str, row: Mapping) -> None:
    path = _file(repo_description)
    rows = pending(repo_description) + [dict(row)]
    _write(path, rows)


def pending(repo_description: str) -> list[dict]:
    path = _file(repo_description)
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        for key in ("started_at", "finished_at"):
            row[key] = dt.datetime.fromisoformat(row[key])
    return rows


def forget(repo_description: str, run_ids: Sequence[str]) -> None:
    """Drop the rows that a publish has now recorded."""
    rows = [r for r in pending(repo_description) if r["run_id"] not in set(run_ids)]
    _write(_file(repo_description), rows)


def _write(path: Path, rows: list[dict]) -> None:
    write_atomic(path, "".join(json.dumps(r, default=lambda v: v.isoformat(), ensure_ascii=False) + "\n" for r in rows))


@contextlib.contextmanager
def recorded(repo_description: str, run: RunInfo, api_calls: Callable[[], Mapping[str, int]],
             secrets: Sequence[str | None] = ()) -> Iterator[None]:
    """Run the body; when it fails (other than "another sync is running"), keep its run row here."""
    try:
        yield
    except RepoBusyError:
        raise  # nothing ran: not a run of its own
    except BaseException as error:
        status: RunStatus = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
        message = scrub(str(error) or type(error).__name__, secrets)
        record(repo_description, run.row(status, api_calls(), message))
        raise
