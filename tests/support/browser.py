"""Debian's chromium for playwright, and our Tushare-compatible server in a subprocess for a Space to sync from."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def tushare_server(*extra: str, start: str = "20260105"):
    """`python -m sync.simulated.server` on a free port; yields its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sync.simulated.server",
            "--port",
            "0",
            "--stocks",
            "60",
            "--start",
            start,
            "--end",
            "20260313",
            "--token",
            "browser-tushare-token",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), "the Tushare-compatible server did not start"
        yield url
    finally:
        process.terminate()
        process.wait(10)
