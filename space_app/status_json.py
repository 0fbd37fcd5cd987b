"""The status JSON of `/status` and `GET /healthz`, and the run-history rows. Pure: data in, data out.

Every time in it is ISO 8601 in Shanghai (`+08:00`), whatever its source wrote (meta/runs holds UTC).

{"watermark": "2024-04-12", "behind_trading_days": 0, "partial_days": 0, "running": false,
 "current_run": null, "last_success": {...}, "last_error": null,
 "next_run": "2024-04-15T21:00:00+08:00", ...}
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import pandas as pd

from space_app import schedule_rules
from space_app.repo_view import Facts
from space_app.run_slot import RunRecord, eta_seconds, progress_text
from sync.core.clock import SHANGHAI

FAILED = ("failed", "failure", "error", "interrupted")
RUN_COLUMNS = [
    "started (Shanghai)",
    "finished (Shanghai)",
    "kind",
    "trigger",
    "status",
    "days added",
    "rows",
    "API calls",
    "message",
]


def behind(facts: Facts, expected: dt.date | None) -> int | None:
    """Trading days after the watermark up to the newest day that could be complete."""
    if not facts.published or expected is None:
        return None
    return sum(1 for d in facts.open_days if facts.watermark < d <= expected)


def current_run(record: RunRecord | None, phase_elapsed: float) -> dict | None:
    if record is None:
        return None
    progress = record.progress
    eta = eta_seconds(progress, phase_elapsed)
    return {
        "kind": record.request.kind,
        "trigger": record.request.trigger,
        "started_at": shanghai_iso(record.started_at),
        "phase": progress.phase if progress else "starting",
        "done": progress.done if progress else 0,
        "total": progress.total if progress else 0,
        "unit": progress.unit if progress else "",
        "calls": progress.calls if progress else 0,
        "progress": progress_text(progress) if progress else "starting",
        "eta_seconds": round(eta) if eta is not None else None,
    }


def run_summary(record: RunRecord) -> dict:
    return {
        "kind": record.request.kind,
        "trigger": record.request.trigger,
        "status": record.status,
        "started_at": shanghai_iso(record.started_at),
        "finished_at": shanghai_iso(record.finished_at),
        "message": record.message,
    }


def published_runs(facts: Facts) -> list[dict]:
    """Rows of meta/runs.parquet as summaries, oldest first; [] when the repo has none."""
    runs = facts.runs
    if runs is None or not len(runs):
        return []
    out = []
    for row in runs.astype(object).where(runs.notna(), None).to_dict("records"):  # NaN is not JSON: None
        out.append(
            {
                "run_id": row.get("run_id"),
                "kind": row.get("kind"),
                "trigger": row.get("trigger"),
                "status": str(row.get("status") or ""),
                "started_at": shanghai_iso(row.get("started_at")),
                "finished_at": shanghai_iso(row.get("finished_at")),
                "message": str(row.get("message") or ""),
                "commit": row.get("commit"),
                "days_added": _int(row.get("days_added")),
                "rows_added": _int(row.get("rows_added")),
                "api_calls": row.get("api_calls"),
            }
        )
    return sorted(out, key=lambda r: r["finished_at"] or "")


def last_runs(facts: Facts, history: Sequence[RunRecord]) -> tuple[dict | None, dict | None]:
    """(last success, last error), the newest of this process's runs and the published history."""
    runs = published_runs(facts) + [run_summary(r) for r in history]
    ok = [r for r in runs if r["status"].lower() not in FAILED and r["finished_at"]]
    bad = [r for r in runs if r["status"].lower() in FAILED and r["finished_at"]]
    return _newest(ok), _newest(bad)


def _newest(runs: list[dict]) -> dict | None:
    """The run that started last; on a tie (a pinned clock) the later in the list, i.e. this process's.

    Start times, not finish times: a published row's finish is its start plus the time it took,
    while this process's records on a pinned clock all finish at the pinned moment."""
    best = None
    for run in runs:
        if best is None or _moment(run["started_at"] or run["finished_at"]) >= _moment(
            best["started_at"] or best["finished_at"]
        ):
            best = run
    return best


def status_json(
    facts: Facts,
    current: RunRecord | None,
    history: Sequence[RunRecord],
    now: dt.datetime,
    next_run: tuple[dt.datetime, str] | None,
    expected: dt.date | None,
    phase_elapsed: float,
    source: str,
    target: str,
) -> dict:
    last_success, last_error = last_runs(facts, history)
    return {
        "published": facts.published,
        "watermark": facts.watermark.isoformat() if facts.watermark else None,
        "behind_trading_days": behind(facts, expected),
        "partial_days": facts.partial_days,
        "running": current is not None,
        "current_run": current_run(current, phase_elapsed),
        "last_success": last_success,
        "last_error": last_error,
        "next_run": shanghai_iso(next_run[0]) if next_run else None,
        "next_run_trigger": next_run[1] if next_run else None,
        "first_date": facts.first_date.isoformat() if facts.first_date else None,
        "rows": facts.rows,
        "markets": list(facts.markets),
        "source": source,
        "target": target,
        "now": shanghai_iso(now),
        "repo_error": facts.error,
    }


def runs_table(facts: Facts, history: Sequence[RunRecord], current: RunRecord | None) -> pd.DataFrame:
    """Published runs and this process's runs (the ones not already published), newest first."""
    published = published_runs(facts)
    run_ids = {r["run_id"] for r in published if r.get("run_id")}
    rows = [_row(r) for r in published]
    for record in [*history, *([current] if current else [])]:
        if record.result and record.result.published and record.result.run_id in run_ids:
            continue  # its row is in meta/runs already
        if record.status in ("failed",) and _already_recorded(record, published):
            continue
        result = record.result
        rows.append(
            _row(
                {
                    **run_summary(record),
                    "days_added": len(result.days) if result else None,
                    "rows_added": result.rows if result else None,
                    "api_calls": sum(result.api_calls.values()) if result else None,
                }
            )
        )
    rows.sort(key=lambda r: r[0] or "", reverse=True)
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def _already_recorded(record: RunRecord, published: list[dict]) -> bool:
    """A failure the sync itself wrote to meta/runs (same kind, finished within a minute)."""
    if record.finished_at is None:
        return False
    for run in published:
        if run["kind"] == record.request.kind and run["status"].lower() in FAILED and run["finished_at"]:
            if abs((_moment(run["finished_at"]) - record.finished_at).total_seconds()) < 60:
                return True
    return False


def _row(run: dict) -> list:
    return [
        _local(run.get("started_at")),
        _local(run.get("finished_at")),
        run.get("kind"),
        run.get("trigger"),
        run.get("status"),
        run.get("days_added"),
        run.get("rows_added"),
        _calls(run.get("api_calls")),
        run.get("message"),
    ]


def _calls(value) -> int | None:
    """Total API calls from an int, a mapping, or JSON text of a mapping."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict):
        return int(sum(int(v) for v in value.values()))
    return int(value)


def shanghai_iso(value) -> str | None:
    """A time (datetime, pandas Timestamp or ISO text; naive means UTC) as ISO 8601 in Shanghai, to the second.

    >>> shanghai_iso("2024-04-12T13:05:00+00:00")
    '2024-04-12T21:05:00+08:00'
    """
    if value is None or (not isinstance(value, (str, dt.datetime)) and pd.isna(value)):
        return None
    if isinstance(value, str):
        try:
            moment = _moment(value)
        except ValueError:
            return value  # not a time we can read: shown as it is
    else:
        moment = pd.Timestamp(value).to_pydatetime()
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def interrupted_json(items: Sequence[dict]) -> list[dict]:
    """The interrupted full syncs found on start, their times in Shanghai."""
    return [{**item, "started_at": shanghai_iso(item.get("started_at"))} for item in items]


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _local(text: str | None) -> str | None:
    return _moment(text).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if text else None


def outcome_of(history: Sequence[RunRecord]) -> schedule_rules.Outcome | None:
    """The last run as the schedule rules see it; `failures`: the retryable failures in a row that
    end the history, on the last one's day in Shanghai (a new day starts the backoff afresh)."""
    if not history or history[-1].finished_at is None:
        return None
    last = history[-1]
    day = last.finished_at.astimezone(SHANGHAI).date()
    failures = 0
    for record in reversed(history):
        same_day = record.finished_at is not None and record.finished_at.astimezone(SHANGHAI).date() == day
        if record.status != "failed" or not record.retryable or not same_day:
            break
        failures += 1
    return schedule_rules.Outcome(
        last.request.kind,
        last.request.trigger,
        last.finished_at,
        last.ok,
        stopped=last.status == "stopped",
        retryable=last.retryable,
        failures=max(failures, 1),
    )


def _int(value: object) -> int | None:
    return None if value is None else int(value)
