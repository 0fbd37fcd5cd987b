"""`python space_app/app.py` in a subprocess, exactly as a Space starts it, and waiting on its /healthz."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import ROOT

PINNED_NOW = "2026-03-13T22:00"  # a Friday evening in Shanghai
WATERMARK = "2026-03-13"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(folder: Path, **env: str):
    """`python space_app/app.py` on a free port; yields its base URL; stops it (by its own pid) after."""
    port = free_port()
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TUSHARE_TOKEN", "TUSHARE_API_URL", "SYNC_ADMIN_TOKEN", "DATASET_REPO", "SYNC_NOW")
    }
    environment.update(
        DATASET_REPO=str(folder / "dataset"),
        SYNC_NOW=PINNED_NOW,
        GRADIO_SERVER_PORT=str(port),
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_ANALYTICS_ENABLED="False",
        **env,
    )
    log = open(folder / "app.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "space_app/app.py"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: health(url) is not None, 60, process, folder)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def health(url: str, query: str = "") -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz{query}", timeout=5) as reply:
            return json.load(reply)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for(condition, seconds: float, process=None, folder: Path | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            pytest.fail(f"the app exited: {(folder / 'app.log').read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)
    log = (folder / "app.log").read_text(errors="replace")[-3000:] if folder else ""
    pytest.fail(f"timed out after {seconds} s\n{log}")
