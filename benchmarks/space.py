"""Benchmark 5: the Space at rest and during a delta, so a maintainer knows a free Space suffices.

`python space_app/app.py` runs as a subprocess, as a Space starts it, on a free port with a
temporary DATASET_REPO and SYNC_NOW pinned, on the embedded market. The dataset is first built by
the CLI up to the day before, so the Space's start-up catch-up is a real delta that adds a day. Its
RSS and CPU are sampled from /proc every half second: starting up with that delta, at rest, during a
`/sync_now` delta started through gradio_client (nothing new by then), and at rest after it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.market import ROOT
from benchmarks.measure import NICE, Sampler, load_average
from benchmarks.report import Figure, Section, num, secs, table

PINNED_NOW = "2026-03-13T22:00"  # a Friday evening in Shanghai, as in tests/support/space.py
BUILT_TO = "20260312"  # the CLI builds through Thursday; the Space's catch-up delta adds Friday
REST_S = 20.0
FREE_SPACE = "a free CPU Space: 2 vCPU, 16 GB RAM"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], seconds: float, process: subprocess.Popen) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            raise RuntimeError(f"the Space exited with {process.returncode}")
        time.sleep(0.3)
    raise TimeoutError(f"the Space did not get there within {seconds:.0f} s")


def ended(log: Path, run: str) -> Callable[[], str | None]:
    """The message of the run `run` (e.g. "delta sync (button)") once the Space's log says it ended.

    The log, not /healthz, is watched: polling the app would add to the CPU being measured.
    """
    pattern = re.compile(rf"{re.escape(run)}[^\n]* (finished|failed): ([^\n]*)")

    def check():
        found = pattern.search(log.read_text(errors="replace"))
        if found and found.group(1) == "failed":
            raise RuntimeError(f"the Space's {run} failed: {found.group(2)}")
        return found.group(2) if found else None

    return check


def bench_space(scratch: Path) -> Section:
    from gradio_client import Client

    load_before = load_average()
    folder = scratch / "space"
    folder.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUSHARE_", "SYNC_")) and k != "DATASET_REPO"}
    env.update(
        DATASET_REPO=str(folder / "dataset"),
        SYNC_NOW=PINNED_NOW,
        GRADIO_SERVER_PORT=str(port),
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HOME=str(folder / "hf-home"),
    )
    url = f"http://127.0.0.1:{port}"
    subprocess.run(
        [sys.executable, "-m", "sync", "full", "--end", BUILT_TO, "--repo", env["DATASET_REPO"]],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    windows: dict[str, tuple[float, float]] = {}
    with open(folder / "app.log", "wb") as log:
        process = subprocess.Popen(
            ["nice", "-n", str(NICE), sys.executable, "space_app/app.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            with Sampler(process.pid) as sampler:
                started = time.monotonic()
                caught_up = wait_for(ended(folder / "app.log", "delta sync (catch-up)"), 180, process)
                windows["start-up, with the catch-up delta that adds a day"] = (started, time.monotonic())
                rest = time.monotonic()
                time.sleep(REST_S)
                windows["at rest (nobody visiting)"] = (rest, time.monotonic())
                client = Client(url, verbose=False)
                begun = time.monotonic()
                message = client.predict(api_name="/sync_now")
                outcome = wait_for(ended(folder / "app.log", "delta sync (button)"), 180, process)
                windows["during a /sync_now delta (nothing new)"] = (begun, time.monotonic())
                after = time.monotonic()
                time.sleep(REST_S)
                windows["at rest after the delta"] = (after, time.monotonic())
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    summaries = {name: sampler.summary(*span) for name, span in windows.items()}
    rows = [
        [
            name,
            secs(s["seconds"]),
            f"{num(s['rss_mean_mb'])} MB",
            f"{num(s['rss_max_mb'])} MB",
            f"{num(s['cpu_pct'], 1)}%",
        ]
        for name, s in summaries.items()
    ]
    peak = max(s["rss_max_mb"] for s in summaries.values())
    rest_cpu = summaries["at rest (nobody visiting)"]["cpu_pct"]
    section = Section(
        "5. The Space at rest and during a delta",
        f"`python space_app/app.py` with the embedded market (about 120 stocks), DATASET_REPO a temporary folder, "
        f"SYNC_NOW={PINNED_NOW}, the dataset built by the CLI through {BUILT_TO}. RSS and CPU (% of one core) "
        f"sampled from /proc every 0.5 s. The start-up catch-up delta ended: {caught_up[:100]}. The second delta "
        f"was started with `gradio_client` (it answered `{message[:70]}`) and ended: {outcome[:100]}.",
        load=f"{load_before} → {load_average()}",
        commands=[
            f"SYNC_NOW={PINNED_NOW} python -m sync full --end {BUILT_TO} --repo $TMP/dataset",
            f"DATASET_REPO=$TMP/dataset SYNC_NOW={PINNED_NOW} GRADIO_SERVER_PORT=<free port> nice -n 5 python space_app/app.py",
            'python -c \'from gradio_client import Client; Client("http://127.0.0.1:<port>").predict(api_name="/sync_now")\'',
        ],
    )
    section.tables.append(table(["phase", "length", "RSS mean", "RSS max", "CPU"], rows))
    section.figures += [
        Figure("peak RSS of the Space process", f"{num(peak)} MB", f"fits {FREE_SPACE}", peak < 16 * 1024),
        Figure("CPU at rest", f"{num(rest_cpu, 1)}% of one core", "a small share of 2 vCPU", rest_cpu < 25),
    ]
    section.notes.append(
        "With a real token the Space holds no synthetic market; the figures here include the "
        "embedded market's in-process server, so a real deployment needs less memory. The real delta "
        "costs what benchmark 2 measures (the sync runs in the Space's process)."
    )
    return section
