"""The machine and library versions the figures were measured on."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import re
from pathlib import Path

from benchmarks.report import secs, table

LIBRARIES = ("pandas", "pyarrow", "datasets", "huggingface_hub", "duckdb", "gradio", "httpx")


def memory_gib() -> float:
    found = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    return int(found.group(1)) / 1024**2 if found else float("nan")


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_section(command: str, size: str, elapsed_s: float, load: str) -> str:
    rows = [
        ["cores (nproc)", len(os.sched_getaffinity(0))],
        ["memory", f"{memory_gib():.1f} GiB"],
        ["CPU", platform.processor() or platform.machine()],
        ["OS", platform.platform()],
        ["Python", platform.python_version()],
        *[[name, _version(name)] for name in LIBRARIES],
        ["load average (1/5/15 min), start → end", load],
    ]
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "Written by `python -m benchmarks` (folder `benchmarks/`); do not edit by hand. Every figure below is "
            "measured by that run; goals come from issue 11. Timings are measurements, not tests: another "
            "engineer's measurements may share this machine, so the load average is given per benchmark.",
            "",
            f"Run {dt.datetime.now().astimezone().isoformat(timespec='seconds')}, size `{size}`, {secs(elapsed_s)} in all:",
            "",
            "```bash",
            command,
            "```",
            "",
            table(["machine", ""], rows),
            "",
        ]
    )
