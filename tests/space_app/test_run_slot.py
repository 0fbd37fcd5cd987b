"""The Space's run slot: one run at a time, failures kept and shown, secrets never in messages."""

import datetime as dt
import threading

from space_app.redact import Redactor
from space_app.run_slot import Runner, RunRecord, busy_message, eta_seconds
from space_app.status_json import outcome_of
from sync.core.clock import SHANGHAI
from sync.core.errors import TransientError
from sync.core.progress import Progress
from sync.engine.run import RunRequest
from sync.runs.result import RunResult

NOW = dt.datetime(2024, 4, 12, 21, 0, tzinfo=SHANGHAI)


def result(stopped=None) -> RunResult:
    return RunResult(
        "delta",
        True,
        "c0ffee",
        dt.date(2024, 4, 11),
        dt.date(2024, 4, 12),
        [dt.date(2024, 4, 12)],
        100,
        10,
        {"daily": 1},
        stopped=stopped,
    )


def test_a_second_request_is_told_what_is_running():
    release = threading.Event()

    def job(request, report):
        report(Progress("fetch", 3, 10, "day", 12))
        release.wait(5)
        return result()

    runner = Runner(job, lambda: NOW, Redactor())
    assert runner.start(RunRequest("full", "button"))[0]
    started, message = runner.start(RunRequest("delta", "schedule"))
    assert not started
    assert "full sync (button) is already running since 21:00:00" in message
    release.set()
    assert runner.wait(5)
    assert [r.status for r in runner.snapshot()[1]] == ["success"]
    assert runner.start(RunRequest("delta", "button"))[0]
    runner.wait(5)


def test_a_failure_is_kept_scrubbed_and_retryable():
    def job(request, report):
        raise TransientError("Hub busy for token hf_abcdefgh", hint="wait a minute")

    runner = Runner(job, lambda: NOW, Redactor(secrets=["hf_abcdefgh"]))
    runner.start(RunRequest("delta", "schedule"))
    runner.wait(5)
    record = runner.snapshot()[1][-1]
    assert record.status == "failed" and record.retryable
    assert record.message == "Hub busy for token ***; wait a minute (retrying may help)"
    assert outcome_of([record]).retryable and not outcome_of([record]).ok


def test_an_unexpected_error_is_shown_too():
    runner = Runner(lambda request, report: 1 / 0, lambda: NOW, Redactor())
    runner.start(RunRequest("delta", "button"))
    runner.wait(5)
    record = runner.snapshot()[1][-1]
    assert record.status == "failed" and not record.retryable
    assert record.message == "division by zero (unexpected error; nothing was published)"


def test_a_stopped_run_is_recorded_as_stopped():
    runner = Runner(
        lambda request, report: result(stopped=(dt.date(2024, 4, 15), "daily_basic 40%")), lambda: NOW, Redactor()
    )
    runner.start(RunRequest("delta", "schedule"))
    runner.wait(5)
    record = runner.snapshot()[1][-1]
    assert record.status == "stopped" and outcome_of([record]).stopped
    assert "2024-04-15 not yet published" in record.message


def test_eta_from_the_pace_of_the_phase():
    assert eta_seconds(Progress("fetch", 5, 20, "day", 40), 10.0) == 30.0
    assert eta_seconds(Progress("fetch", 0, 20, "day", 0), 10.0) is None
    assert eta_seconds(None, 10.0) is None


def test_busy_message_names_the_progress():
    record = RunRecord(RunRequest("delta", "schedule"), NOW, 0.0, progress=Progress("fetch", 2, 4, "day", 8))
    assert busy_message(record) == (
        "a delta sync (schedule) is already running since 21:00:00: "
        "fetch 2/4 day, 8 API calls; try again when it finishes"
    )


def test_the_runs_table_shows_a_run_once_when_meta_runs_already_holds_it():
    import pandas as pd

    from space_app.repo_view import Facts
    from space_app.status_json import runs_table

    started = dt.datetime(2024, 4, 12, 21, 0, tzinfo=SHANGHAI)
    published = pd.DataFrame(
        [
            {
                "run_id": "abc123",
                "trigger": "schedule",
                "kind": "delta",
                "started_at": started,
                "finished_at": started + dt.timedelta(seconds=9),
                "status": "success",
                "days_added": 1,
                "rows_added": 60,
                "rows_changed": 0,
                "api_calls": '{"daily": 4}',
                "commit": "parent-sha",
                "message": "1 trading day(s)",
            }
        ]
    )
    result = RunResult(
        kind="delta",
        published=True,
        commit="new-sha",
        watermark_before=dt.date(2024, 4, 11),
        watermark=dt.date(2024, 4, 12),
        days=[dt.date(2024, 4, 12)],
        rows=60,
        bytes_written=1,
        api_calls={"daily": 4},
        run_id="abc123",
    )
    record = RunRecord(
        RunRequest("delta", "schedule"), started, 0.0, finished_at=started, status="success", result=result
    )
    other = RunRecord(
        RunRequest("delta", "button"),
        started + dt.timedelta(hours=1),
        0.0,
        finished_at=started + dt.timedelta(hours=1),
        status="nothing new",
        result=RunResult(
            kind="delta",
            published=False,
            commit=None,
            watermark_before=None,
            watermark=dt.date(2024, 4, 12),
            days=[],
            rows=60,
            bytes_written=0,
            api_calls={},
            run_id="def456",
        ),
    )
    table = runs_table(Facts(head="h", published=True, runs=published), [record, other], None)
    assert len(table) == 2, "the published run once, plus the unpublished button run"
