"""`python -m benchmarks` at its tiny size: it writes BENCHMARKS.md-style tables full of figures.

A smoke test of the runner, not of the timings: nothing here asserts how fast anything is.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow  # `python -m benchmarks` at its tiny size still runs every benchmark


def test_tiny_run_writes_every_table_with_figures(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--size",
            "tiny",
            "--only",
            "first,full,delta,consumer,growth",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    for title in (
        "# Benchmarks",
        "## 1. Full sync",
        "## 2. Delta of one trading day",
        "## 3. Consumer load",
        "## 4. Growth",
    ):
        assert title in text
    assert re.search(r"\| cores \(nproc\) \| \d+ \|", text)
    assert re.search(r"\| API calls made, per-day interfaces \(server count\) \| [\d,]+ \(plan [\d,]+", text)
    assert re.search(r"\| quota errors \(40203 replies at the server\) \| \d+ \|", text)
    assert re.search(r"\| window 0: API calls \| \d+ ", text)
    assert re.search(r"\| bytes: shards vs\. CSV \| [\d.,]+ [kM]B vs [\d.,]+ [kM]B", text)
    assert re.search(r"\| load_dataset\(folder\), fresh cache \| [\d.,]+ s \| [\d,]+ \|", text)
    assert "## 0. Predicted first full sync on the real API" in text
    assert re.search(r"\| 主板 \([\d,]+ stocks\): calls, and wall at 200/min \| [\d,]+ calls; busiest", text)
    assert re.search(r"\| calls vs plan, worst interface \| [a-z_]+: [\d,]+ vs [\d,]+", text)
    assert text.count("| predicted for |") == 1 and "full market (~5,500 stocks)" in text
    assert "python -m sync full" in text and "| nan" not in text
