"""Measuring processes from the outside: /usr/bin/time for a run, /proc sampling for a server.

No psutil here (it is not a dependency): peak RSS and CPU come from GNU time's `-v` report and
from /proc/<pid>/stat and /proc/<pid>/status, which is all a Linux Space has anyway.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

GNU_TIME = "/usr/bin/time"
NICE = 5
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Timed:
    """One finished subprocess: its output, and what GNU time says it cost."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    started_at: float = 0.0  # time.monotonic() when it was started

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def check(self) -> Timed:
        if self.returncode != 0:
            raise RuntimeError(f"{' '.join(self.argv)} exited {self.returncode}:\n{self.stderr[-3000:]}")
        return self


def run_timed(argv: Sequence[str], env: Mapping[str, str], cwd: Path, scratch: Path) -> Timed:
    """Run `argv` at nice 5 under `/usr/bin/time -v`; its report goes to a file, not the run's stderr."""
    report = scratch / f"time-{time.monotonic_ns()}.txt"
    prefix = ["nice", "-n", str(NICE)] if shutil.which("nice") else []
    wrapped = [*prefix, GNU_TIME, "-v", "-o", str(report), *argv] if Path(GNU_TIME).exists() else [*prefix, *argv]
    started, started_at = time.perf_counter(), time.monotonic()
    done = subprocess.run(wrapped, env=dict(env), cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    facts = _gnu_time(report.read_text()) if report.exists() else {}
    report.unlink(missing_ok=True)
    return Timed(
        list(argv),
        done.returncode,
        done.stdout,
        done.stderr,
        facts.get("wall", wall),
        facts.get("user", float("nan")),
        facts.get("sys", float("nan")),
        facts.get("rss_mb", float("nan")),
        started_at,
    )


def _gnu_time(text: str) -> dict[str, float]:
    facts: dict[str, float] = {}
    for key, pattern in (
        ("user", r"User time \(seconds\): ([\d.]+)"),
        ("sys", r"System time \(seconds\): ([\d.]+)"),
        ("rss_kb", r"Maximum resident set size \(kbytes\): (\d+)"),
    ):
        found = re.search(pattern, text)
        if found:
            facts[key] = float(found.group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if wall:
        parts = [float(p) for p in wall.group(1).split(":")]
        facts["wall"] = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    if "rss_kb" in facts:
        facts["rss_mb"] = facts.pop("rss_kb") / 1024
    return facts


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of `pid` so far (its waited-for children included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / CLOCK_TICK


def process_rss_mb(pid: int) -> float:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) / 1024 if found else float("nan")


@dataclasses.dataclass
class Sample:
    at: float
    rss_mb: float
    cpu_s: float


class Sampler:
    """Samples a process's RSS and CPU every `every` seconds in a thread, until stopped.

    >>> with Sampler(pid) as sampler: ...
    >>> sampler.summary(since, until)  # {'rss_mean_mb': ..., 'rss_max_mb': ..., 'cpu_pct': ...}
    """

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(Sample(time.monotonic(), process_rss_mb(self.pid), process_cpu_s(self.pid)))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                return
            self._stop.wait(self.every)

    def summary(self, since: float, until: float) -> dict[str, float]:
        """RSS mean/max and CPU % of one core between two `time.monotonic()` instants."""
        inside = [s for s in self.samples if since <= s.at <= until]
        if len(inside) < 2:
            return {"rss_mean_mb": float("nan"), "rss_max_mb": float("nan"), "cpu_pct": float("nan"), "seconds": 0.0}
        span = inside[-1].at - inside[0].at
        return {
            "rss_mean_mb": sum(s.rss_mb for s in inside) / len(inside),
            "rss_max_mb": max(s.rss_mb for s in inside),
            "cpu_pct": 100 * (inside[-1].cpu_s - inside[0].cpu_s) / span if span else float("nan"),
            "seconds": span,
        }


def folder_files(root: Path) -> dict[str, tuple[int, int]]:
    """{relative path: (inode, size)} of every file under `root` (symlinks followed at the top)."""
    root = root.resolve()
    files = {}
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.stat()
            files[path.relative_to(root).as_posix()] = (stat.st_ino, stat.st_size)
    return files


def written_files(before: Mapping[str, tuple[int, int]], after: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """Files a commit wrote: new, or another inode (a local commit hard-links what it keeps)."""
    return {path: size for path, (inode, size) in after.items() if before.get(path, (None, None))[0] != inode}


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
