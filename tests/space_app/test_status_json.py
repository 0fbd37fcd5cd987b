"""The status JSON (/status, /healthz): every time in it is ISO 8601 with +08:00, whatever its source."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from dataset_script.schema import RUNS_SCHEMA
from space_app.repo_view import Facts
from space_app.run_slot import RunRecord
from space_app.status_json import interrupted_json, shanghai_iso, status_json
from sync.core.clock import SHANGHAI
from sync.engine.run import RunRequest
from sync.runs.history import run_row

NOW = dt.datetime(2024, 4, 15, 22, 0, tzinfo=SHANGHAI)
TIME_KEYS = {"started_at", "finished_at", "next_run", "now"}


def times(value, key: str | None = None):
    """Every value under a time key, anywhere in the JSON."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from times(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from times(v, key)
    elif key in TIME_KEYS and value is not None:
        yield key, value


def published_runs():
    """meta/runs.parquet as the engine writes it (UTC) and the repo view reads it."""
    rows = [
        run_row("r1", "schedule", "delta", NOW - dt.timedelta(days=3), NOW - dt.timedelta(days=3), "success", {}, "ok"),
        run_row("r2", "schedule", "delta", NOW - dt.timedelta(days=2), NOW - dt.timedelta(days=2), "failed", {}, "503"),
    ]
    return pa.Table.from_pylist(rows, schema=RUNS_SCHEMA).to_pandas()


def test_every_time_in_the_status_json_is_shanghai_time():
    facts = Facts(head="h", published=True, watermark=dt.date(2024, 4, 12), runs=published_runs())
    utc_record = RunRecord(
        RunRequest("delta", "button"),
        NOW.astimezone(dt.UTC) - dt.timedelta(hours=1),
        0.0,
        finished_at=NOW.astimezone(dt.UTC) - dt.timedelta(minutes=59),
        status="nothing new",
    )
    running = RunRecord(RunRequest("delta", "schedule"), NOW.astimezone(dt.UTC), 0.0)
    status = status_json(facts, running, [utc_record], NOW, (NOW, "retry"), None, 0.0, "Tushare Pro", "folder")
    status["interrupted"] = interrupted_json([{"run_id": "x", "started_at": "2024-04-14T13:00:00+00:00"}])
    found = list(times(status))
    assert {key for key, _ in found} == TIME_KEYS
    assert all(value.endswith("+08:00") for _, value in found), found
    assert status["last_error"]["finished_at"] == "2024-04-13T22:00:00+08:00"
    assert status["interrupted"][0]["started_at"] == "2024-04-14T21:00:00+08:00"


def test_a_naive_or_unreadable_time_is_never_shifted_twice_nor_lost():
    assert shanghai_iso("2024-04-12T13:05:00") == "2024-04-12T21:05:00+08:00"  # naive: UTC, as meta/runs
    assert shanghai_iso(dt.datetime(2024, 4, 12, 21, 5, tzinfo=SHANGHAI)) == "2024-04-12T21:05:00+08:00"
    assert shanghai_iso("yesterday") == "yesterday" and shanghai_iso(None) is None
