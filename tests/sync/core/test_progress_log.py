"""Progress without a terminal: log lines at every phase and at least every 30 s (phase,
done/total, API calls, ETA); with a terminal the bars stay tqdm's."""

from __future__ import annotations

import logging
import re

from sync.core.progress import Progress
from sync.core.progress_log import INTERVAL, ProgressLog
from tests.support.cli import cli_env, sync

LINE = re.compile(r"progress: (plan|fetch|build|publish)( \d+/\d+ \w+ \(\d+%\))?, \d+ API calls(, ETA \S+)?$")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_line_at_each_phase_and_a_heartbeat_every_interval_with_an_eta(caplog):
    clock, calls = Clock(), [0]
    logger = ProgressLog(clock=clock, calls=lambda: calls[0])
    with caplog.at_level(logging.INFO, logger="sync.progress"):
        logger(Progress("plan", 0, 48, "chunk", 0))
        logger(Progress("fetch", 0, 48, "chunk", 3))
        clock.now += 10
        calls[0] = 120
        logger(Progress("fetch", 12, 48, "chunk", 120))  # same phase: no line yet
        logger.tick()
        assert len(caplog.records) == 2
        clock.now += INTERVAL - 10  # 30 s after the last line, with no new report meanwhile
        logger.tick()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "progress: plan 0/48 chunks (0%), 0 API calls, ETA unknown"
    assert lines[1] == "progress: fetch 0/48 chunks (0%), 0 API calls, ETA unknown"
    # 12 chunks in 30 s: 36 left take 90 s
    assert lines[2] == "progress: fetch 12/48 chunks (25%), 120 API calls, ETA 1m30s"
    assert INTERVAL <= 30


def test_a_cli_run_without_a_terminal_logs_progress_lines(tmp_path):
    result = sync("full", "--start", "20260105", cwd=tmp_path, env=cli_env(SYNC_NOW="2026-01-16T18:00"))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress: ")]
    assert {LINE.match(line).group(1) for line in lines} == {"plan", "fetch", "build", "publish"}, lines
    assert all(LINE.match(line) for line in lines), lines
    assert "\r" not in result.stderr  # no progress bar drawn into a log
